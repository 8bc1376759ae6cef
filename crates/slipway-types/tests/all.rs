//! Property tests of the task state machine: random attempts never reach a
//! state the rules forbid, and replaying the accepted events rebuilds the state.

use jiff::Timestamp;
use proptest::prelude::*;
use slipway_types::{TaskEvent, TaskId, TaskState, replay};

fn any_state() -> impl Strategy<Value = TaskState> {
    prop::sample::select(TaskState::ALL.to_vec())
}

/// The rules restated from DESIGN §2 as predicates, independently of the table.
#[expect(
    clippy::unnested_or_patterns,
    clippy::match_same_arms,
    reason = "one arm per row of DESIGN's table reads best"
)]
fn allowed(from: TaskState, to: TaskState) -> bool {
    use TaskState::*;
    match (from, to) {
        (Released | Cancelled, _) => false,
        (_, Cancelled) => true,
        (f, Failed) => f.is_stage(),
        (NeedsHuman | Failed, t) => t.is_stage(),
        (Queued, Planning)
        | (Planning, PlanReview)
        | (PlanReview, Planning | Coding | NeedsHuman)
        | (Coding, Testing)
        | (Testing, CodeReview | Debugging | NeedsHuman)
        | (Debugging, Testing)
        | (CodeReview, Coding | Ready | NeedsHuman)
        | (Ready, Staged | Coding)
        | (Staged, Released) => true,
        _ => false,
    }
}

#[test]
fn table_agrees_with_the_rules_on_every_pair() {
    for from in TaskState::ALL {
        for to in TaskState::ALL {
            assert_eq!(from.can_move_to(to), allowed(from, to), "{from} -> {to}");
        }
    }
}

proptest! {
    #[test]
    fn random_attempts_stay_legal_and_replay(attempts in prop::collection::vec(any_state(), 0..200)) {
        let task = TaskId(1);
        let mut state = TaskState::Queued;
        let mut log = vec![TaskEvent {
            id: 1, task_id: task, at: Timestamp::UNIX_EPOCH, actor: "t".into(),
            from: None, to: TaskState::Queued, reason: String::new(),
        }];
        let mut staged_seen = false;
        for to in attempts {
            match state.transition(to) {
                Ok(next) => {
                    prop_assert!(allowed(state, next));
                    // Released is reachable only through staged.
                    if next == TaskState::Released { prop_assert!(staged_seen); }
                    if next == TaskState::Staged { staged_seen = true; }
                    log.push(TaskEvent {
                        id: i64::try_from(log.len()).unwrap() + 1, task_id: task,
                        at: Timestamp::UNIX_EPOCH, actor: "t".into(),
                        from: Some(state), to: next, reason: String::new(),
                    });
                    state = next;
                }
                Err(err) => {
                    prop_assert!(!allowed(state, to));
                    prop_assert_eq!((err.from, err.to), (state, to));
                }
            }
            prop_assert_eq!(replay(task, &log), Ok(state));
        }
        if state.is_final() {
            for to in TaskState::ALL { prop_assert!(state.transition(to).is_err()); }
        }
    }
}
