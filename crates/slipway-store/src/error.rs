//! The one error type of the store, with messages that say what to do.

use std::path::PathBuf;
use std::time::Duration;

use slipway_types::{ContentId, SpanId, TaskId, TaskState, TraceId, TransitionError};

/// Everything that can go wrong opening or using a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "`{}` is not a readable Slipway database (corrupt, or not SQLite): move it aside (nothing is deleted) and run `slipway init` to create a fresh one",
        path.display()
    )]
    Corrupt { path: PathBuf },

    #[error(
        "{location} holds tables that are not Slipway's ({tables}): give Slipway a database of its own; nothing was changed"
    )]
    Foreign { location: String, tables: String },

    #[error(
        "`{}` is locked by another process (waited {}): stop the other slipway process, or try again",
        path.display(),
        seconds(*waited)
    )]
    Locked { path: PathBuf, waited: Duration },

    #[error(
        "cannot open `{}` as a database: {reason}; check the path and its permissions, or run `slipway init`",
        path.display()
    )]
    CannotOpen { path: PathBuf, reason: String },

    #[error(
        "cannot reach PostgreSQL at {url}: {detail}; check the server is running and the --database-url / SLIPWAY_DATABASE_URL value"
    )]
    Unreachable { url: String, detail: String },

    #[error(
        "{location} was written by a newer Slipway (schema {found}; this build knows up to {supported}): upgrade slipway; nothing was changed"
    )]
    NewerSchema {
        location: String,
        found: i64,
        supported: i64,
    },

    #[error("no task {id}: `slipway task list` shows the tasks")]
    UnknownTask { id: TaskId },

    #[error("no trace {id}: `slipway trace list` shows the recorded runs")]
    UnknownTrace { id: TraceId },

    #[error(
        "no span {id} (in that trace): `slipway trace show TRACE` lists a run's spans; a span is started before it is finished or linked to"
    )]
    UnknownSpan { id: SpanId },

    #[error("no stored content {id}: store the body with `put_content` and link the id it returns")]
    UnknownContent { id: ContentId },

    #[error(transparent)]
    IllegalTransition(#[from] TransitionError),

    #[error(
        "task {id} is `{actual}`, not `{expected}`: someone else changed it meanwhile; run `slipway task show {id}` and decide again"
    )]
    Conflict {
        id: TaskId,
        expected: TaskState,
        actual: TaskState,
    },

    #[error(
        "release-{number} is already recorded (another release was recorded meanwhile): nothing was written; `slipway releases` lists them, release again to take the next number"
    )]
    ReleaseExists { number: i64 },

    #[error(
        "`{holder}` no longer holds the lease `{name}` (it expired or was taken over): stop the work it guarded and acquire it again"
    )]
    LeaseLost { name: String, holder: String },

    #[error("cannot take or renew lease `{name}`: {reason}")]
    BadLease { name: String, reason: &'static str },

    #[error("{context}: {source}")]
    Database {
        context: String,
        #[source]
        source: sqlx::Error,
    },

    /// A batch of trace records broke a rule of the trace tables; nothing of it was written.
    #[error("cannot record the trace: {detail}; nothing of the batch was written")]
    InvalidBatch { detail: String },

    #[error(
        "the database holds a value Slipway cannot read ({context}: {detail}); was it edited by hand or written by a newer Slipway? upgrade slipway, or restore a backup"
    )]
    CorruptRow { context: String, detail: String },
}

impl StoreError {
    /// Returns true when the same call may succeed if tried again later
    /// (the database was busy, or the state moved under the caller).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Locked { .. } | Self::Conflict { .. } | Self::Unreachable { .. }
        )
    }

    /// Returns true when a write was refused because what it builds on moved
    /// under the caller (a task's state, the last release number); nothing
    /// was written: read again and decide again.
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. } | Self::ReleaseExists { .. })
    }

    /// Returns true when the task named does not exist.
    #[must_use]
    pub fn is_unknown_task(&self) -> bool {
        matches!(self, Self::UnknownTask { .. })
    }

    /// Returns true when the task, trace, span or content named does not exist.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::UnknownTask { .. }
                | Self::UnknownTrace { .. }
                | Self::UnknownSpan { .. }
                | Self::UnknownContent { .. }
        )
    }

    pub(crate) fn database(context: impl Into<String>, source: sqlx::Error) -> Self {
        Self::Database {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn corrupt_row(context: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self::CorruptRow {
            context: context.into(),
            detail: detail.to_string(),
        }
    }
}

/// Formats a wait as people say it: "5 s", "0.2 s".
fn seconds(waited: Duration) -> String {
    format!("{} s", waited.as_secs_f64())
}

/// Refuses lease arguments no caller means: an unnamed lease or holder, or a
/// lease that expires as it is taken.
pub(crate) fn check_lease(name: &str, holder: &str, ttl: Duration) -> Result<(), StoreError> {
    let reason = if name.trim().is_empty() {
        "the lease has no name; name the seam it guards"
    } else if holder.trim().is_empty() {
        "the holder is empty; name who takes it (an agent or task id)"
    } else if ttl.is_zero() {
        "a zero duration would expire at once; give it a positive time to live"
    } else {
        return Ok(());
    };
    Err(StoreError::BadLease {
        name: name.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_thing_and_the_fix() {
        let locked = StoreError::Locked {
            path: "/p/slipway.db".into(),
            waited: Duration::from_millis(200),
        };
        assert_eq!(
            locked.to_string(),
            "`/p/slipway.db` is locked by another process (waited 0.2 s): stop the other slipway process, or try again"
        );
        let unknown = StoreError::UnknownTask { id: TaskId(7) };
        assert_eq!(
            unknown.to_string(),
            "no task 7: `slipway task list` shows the tasks"
        );
        let conflict = StoreError::Conflict {
            id: TaskId(3),
            expected: TaskState::Queued,
            actual: TaskState::Planning,
        };
        let text = conflict.to_string();
        assert!(
            text.contains("`planning`") && text.contains("`queued`"),
            "{text}"
        );
        assert!(conflict.is_retryable());
        assert!(unknown.is_unknown_task() && !unknown.is_retryable());
        assert!(conflict.is_conflict() && !unknown.is_conflict());
        let taken = StoreError::ReleaseExists { number: 4 };
        assert!(taken.is_conflict() && !taken.is_retryable());
        assert!(
            taken
                .to_string()
                .starts_with("release-4 is already recorded")
        );
    }
}
