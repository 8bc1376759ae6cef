//! The task state machine of DESIGN §2: every state, every legal transition,
//! and the typed error for an illegal one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a task is on its way from spec to production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TaskState {
    Queued,
    Planning,
    PlanReview,
    Coding,
    Testing,
    Debugging,
    CodeReview,
    Ready,
    Staged,
    Released,
    NeedsHuman,
    Failed,
    Cancelled,
}

/// Every legal transition, as listed in DESIGN §2, with who makes it.
///
/// Cancellation (from any state but `released` and `cancelled`) and failure
/// (from any work stage) are listed here too, expanded state by state, so this
/// table is the whole machine.
pub const LEGAL_TRANSITIONS: &[(TaskState, TaskState, &str)] = {
    use TaskState::{
        Cancelled, CodeReview, Coding, Debugging, Failed, NeedsHuman, PlanReview, Planning, Queued,
        Ready, Released, Staged, Testing,
    };
    &[
        (
            Queued,
            Planning,
            "scheduler: lane free, dependencies staged",
        ),
        (Planning, PlanReview, "planner finished"),
        (
            PlanReview,
            Planning,
            "plan review found critical or high findings",
        ),
        (
            PlanReview,
            Coding,
            "plan review found no critical or high findings",
        ),
        (PlanReview, NeedsHuman, "plan review passes exhausted"),
        (Coding, Testing, "coder finished"),
        (Testing, CodeReview, "tests green"),
        (Testing, Debugging, "tests red"),
        (Testing, NeedsHuman, "debug tries exhausted"),
        (Debugging, Testing, "debugger finished"),
        (
            CodeReview,
            Coding,
            "code review found critical or high findings",
        ),
        (
            CodeReview,
            Ready,
            "code review found no critical or high findings",
        ),
        (CodeReview, NeedsHuman, "code review passes exhausted"),
        (Ready, Staged, "approved: merge into staging green"),
        (Ready, Coding, "rejected, or merge into staging red"),
        (Staged, Released, "released"),
        (NeedsHuman, Planning, "retry"),
        (NeedsHuman, PlanReview, "retry"),
        (NeedsHuman, Coding, "retry"),
        (NeedsHuman, Testing, "retry"),
        (NeedsHuman, Debugging, "retry"),
        (NeedsHuman, CodeReview, "retry"),
        (Failed, Planning, "retry"),
        (Failed, PlanReview, "retry"),
        (Failed, Coding, "retry"),
        (Failed, Testing, "retry"),
        (Failed, Debugging, "retry"),
        (Failed, CodeReview, "retry"),
        (Planning, Failed, "unrecoverable error"),
        (PlanReview, Failed, "unrecoverable error"),
        (Coding, Failed, "unrecoverable error"),
        (Testing, Failed, "unrecoverable error"),
        (Debugging, Failed, "unrecoverable error"),
        (CodeReview, Failed, "unrecoverable error"),
        (Queued, Cancelled, "cancel"),
        (Planning, Cancelled, "cancel"),
        (PlanReview, Cancelled, "cancel"),
        (Coding, Cancelled, "cancel"),
        (Testing, Cancelled, "cancel"),
        (Debugging, Cancelled, "cancel"),
        (CodeReview, Cancelled, "cancel"),
        (Ready, Cancelled, "cancel"),
        (Staged, Cancelled, "cancel"),
        (NeedsHuman, Cancelled, "cancel"),
        (Failed, Cancelled, "cancel"),
    ]
};

/// A transition the rules of DESIGN §2 do not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a task cannot move from `{from}` to `{to}`{}", hint(*.from, *.to))]
pub struct TransitionError {
    pub from: TaskState,
    pub to: TaskState,
}

fn hint(from: TaskState, to: TaskState) -> String {
    let next: Vec<&str> = from.successors().map(TaskState::as_str).collect();
    if next.is_empty() {
        format!(" (`{from}` is final)")
    } else if from == to {
        format!(" (it is already `{to}`)")
    } else {
        format!("; from `{from}` it can move to: {}", next.join(", "))
    }
}

/// A state name that Slipway does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown task state `{0}`; known states: {known}", known = TaskState::ALL.map(TaskState::as_str).join(", "))]
pub struct UnknownState(pub String);

impl TaskState {
    /// Every state, in pipeline order.
    pub const ALL: [TaskState; 13] = [
        Self::Queued,
        Self::Planning,
        Self::PlanReview,
        Self::Coding,
        Self::Testing,
        Self::Debugging,
        Self::CodeReview,
        Self::Ready,
        Self::Staged,
        Self::Released,
        Self::NeedsHuman,
        Self::Failed,
        Self::Cancelled,
    ];

    /// The work stages: states in which an agent runs for the task.
    pub const STAGES: [TaskState; 6] = [
        Self::Planning,
        Self::PlanReview,
        Self::Coding,
        Self::Testing,
        Self::Debugging,
        Self::CodeReview,
    ];

    /// Returns the state's name as stored and printed (`plan_review`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Planning => "planning",
            Self::PlanReview => "plan_review",
            Self::Coding => "coding",
            Self::Testing => "testing",
            Self::Debugging => "debugging",
            Self::CodeReview => "code_review",
            Self::Ready => "ready",
            Self::Staged => "staged",
            Self::Released => "released",
            Self::NeedsHuman => "needs_human",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Returns true for states no transition leaves.
    #[must_use]
    pub fn is_final(self) -> bool {
        self.successors().next().is_none()
    }

    /// Returns true while an agent works on the task (a stage of DESIGN §2).
    #[must_use]
    pub fn is_stage(self) -> bool {
        Self::STAGES.contains(&self)
    }

    /// Returns the states this one may move to.
    pub fn successors(self) -> impl Iterator<Item = TaskState> {
        LEGAL_TRANSITIONS
            .iter()
            .filter(move |(from, _, _)| *from == self)
            .map(|(_, to, _)| *to)
    }

    /// Returns true when the rules allow `self → to`.
    #[must_use]
    pub fn can_move_to(self, to: TaskState) -> bool {
        LEGAL_TRANSITIONS
            .iter()
            .any(|(from, next, _)| *from == self && *next == to)
    }

    /// Returns `to` when the rules allow `self → to`, a typed error naming both states otherwise.
    pub fn transition(self, to: TaskState) -> Result<TaskState, TransitionError> {
        if self.can_move_to(to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == wanted)
            .ok_or_else(|| UnknownState(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in TaskState::ALL {
            assert_eq!(state.as_str().parse::<TaskState>(), Ok(state));
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        assert_eq!(
            "Plan-Review".parse::<TaskState>(),
            Ok(TaskState::PlanReview)
        );
        assert!("done".parse::<TaskState>().is_err());
    }

    #[test]
    fn only_released_and_cancelled_are_final() {
        let finals: Vec<_> = TaskState::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, [TaskState::Released, TaskState::Cancelled]);
    }

    #[test]
    fn illegal_transition_names_both_states() {
        let err = TaskState::Queued
            .transition(TaskState::Released)
            .unwrap_err();
        assert_eq!(err.from, TaskState::Queued);
        assert_eq!(err.to, TaskState::Released);
        let text = err.to_string();
        assert!(
            text.contains("`queued`") && text.contains("`released`"),
            "{text}"
        );
        assert!(
            text.contains("planning"),
            "should list what is possible: {text}"
        );
        let text = TaskState::Released
            .transition(TaskState::Cancelled)
            .unwrap_err()
            .to_string();
        assert!(text.contains("final"), "{text}");
    }

    #[test]
    fn transition_table_has_no_duplicates() {
        for (i, (a, b, _)) in LEGAL_TRANSITIONS.iter().enumerate() {
            for (c, d, _) in &LEGAL_TRANSITIONS[i + 1..] {
                assert!(!(a == c && b == d), "{a} -> {b} listed twice");
            }
        }
    }
}
