//! Tasks, their append-only events, and rebuilding a task's state from its events.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::state::{TaskState, TransitionError};

/// A task's number, unique within a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskId(pub i64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A task id that is not a positive number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a task id: use the number `slipway task list` shows, like 12")]
pub struct BadTaskId(pub String);

impl FromStr for TaskId {
    type Err = BadTaskId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.trim().trim_start_matches('#');
        match digits.parse::<i64>() {
            Ok(n) if n > 0 => Ok(TaskId(n)),
            _ => Err(BadTaskId(s.to_owned())),
        }
    }
}

/// A unit of work in one lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub id: TaskId,
    pub title: String,
    pub body: String,
    pub lane: String,
    pub state: TaskState,
    pub depends_on: Vec<TaskId>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

/// What a person or the planner asks for when adding a task.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewTask {
    pub title: String,
    pub body: String,
    pub lane: String,
    pub depends_on: Vec<TaskId>,
}

/// One change of a task's state: the append-only record behind every task.
///
/// The first event of a task has `from: None` and `to: queued`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskEvent {
    pub id: i64,
    pub task_id: TaskId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub actor: String,
    pub from: Option<TaskState>,
    pub to: TaskState,
    pub reason: String,
}

/// An event log that does not describe a legal life of a task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("the event log of task {task} is empty")]
    Empty { task: TaskId },
    #[error("the first event of task {task} must create it in `queued`, not move it to `{to}`")]
    BadStart { task: TaskId, to: TaskState },
    #[error("event {event} of task {task} starts from `{recorded}`, but the task was `{actual}`")]
    Gap {
        task: TaskId,
        event: i64,
        recorded: TaskState,
        actual: TaskState,
    },
    #[error("event {event} of task {task}: {source}")]
    Illegal {
        task: TaskId,
        event: i64,
        source: TransitionError,
    },
}

/// Rebuilds a task's state from its events, checking every step against the rules.
pub fn replay<'a>(
    task: TaskId,
    events: impl IntoIterator<Item = &'a TaskEvent>,
) -> Result<TaskState, ReplayError> {
    let mut events = events.into_iter();
    let first = events.next().ok_or(ReplayError::Empty { task })?;
    if first.from.is_some() || first.to != TaskState::Queued {
        return Err(ReplayError::BadStart { task, to: first.to });
    }
    let mut state = TaskState::Queued;
    for event in events {
        let recorded = event
            .from
            .ok_or(ReplayError::BadStart { task, to: event.to })?;
        if recorded != state {
            return Err(ReplayError::Gap {
                task,
                event: event.id,
                recorded,
                actual: state,
            });
        }
        state = state
            .transition(event.to)
            .map_err(|source| ReplayError::Illegal {
                task,
                event: event.id,
                source,
            })?;
    }
    Ok(state)
}

/// A time-limited, exclusive claim on a named resource (a seam, the scheduler).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    pub acquired_at: Timestamp,
    pub expires_at: Timestamp,
    /// The fencing token: rises every time the lease changes hands (never on
    /// renewal), so work guarded by an older generation can be refused.
    pub generation: i64,
}

/// The lease name that serializes writes to a seam path.
#[must_use]
pub fn seam_lease_name(seam: &str) -> String {
    format!("seam:{seam}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, from: Option<TaskState>, to: TaskState) -> TaskEvent {
        TaskEvent {
            id,
            task_id: TaskId(1),
            at: Timestamp::UNIX_EPOCH,
            actor: "test".into(),
            from,
            to,
            reason: String::new(),
        }
    }

    #[test]
    fn task_ids_parse_plain_and_hashed_numbers() {
        assert_eq!("12".parse::<TaskId>(), Ok(TaskId(12)));
        assert_eq!("#7".parse::<TaskId>(), Ok(TaskId(7)));
        for bad in ["", "0", "-3", "abc", "1.5"] {
            let err = bad.parse::<TaskId>().unwrap_err();
            assert!(err.to_string().contains("slipway task list"), "{err}");
        }
    }

    #[test]
    fn replay_follows_the_log() {
        use TaskState::{Cancelled, Planning, Queued};
        let log = [
            event(1, None, Queued),
            event(2, Some(Queued), Planning),
            event(3, Some(Planning), Cancelled),
        ];
        assert_eq!(replay(TaskId(1), &log), Ok(Cancelled));
    }

    #[test]
    fn replay_rejects_bad_logs() {
        use TaskState::{Coding, Planning, Queued, Released};
        assert!(matches!(
            replay(TaskId(1), &[]),
            Err(ReplayError::Empty { .. })
        ));
        assert!(matches!(
            replay(TaskId(1), &[event(1, None, Planning)]),
            Err(ReplayError::BadStart { .. })
        ));
        let gap = [event(1, None, Queued), event(2, Some(Planning), Coding)];
        assert!(matches!(
            replay(TaskId(1), &gap),
            Err(ReplayError::Gap { .. })
        ));
        let illegal = [event(1, None, Queued), event(2, Some(Queued), Released)];
        assert!(matches!(
            replay(TaskId(1), &illegal),
            Err(ReplayError::Illegal { .. })
        ));
    }
}
