//! Slipway's shared vocabulary: task ids, the task state machine of DESIGN §2,
//! task events and leases, and the traces and spans every run records.
//!
//! This crate is pure: no I/O, no async. Storage lives in `slipway-store`,
//! configuration in `slipway-config`, policy decisions in `slipway-policy`.

mod pipeline;
mod secret;
mod state;
mod task;
mod trace;

pub use pipeline::{
    Finding, NewRelease, Release, ReleaseKind, Severity, StageRecord, StageResult, TestCounts,
    UnknownSeverity, blocking_count, task_branch,
};
pub use secret::{SECRET_NAME_PARTS, is_secret_name};
pub use state::{LEGAL_TRANSITIONS, TaskState, TransitionError, UnknownState};
pub use task::{
    BadTaskId, Lease, NewTask, ReplayError, Task, TaskEvent, TaskId, replay, seam_lease_name,
};
pub use trace::{
    BadTraceValue, ContentDirection, ContentId, ContentKind, ContentRef, Span, SpanId, SpanStatus,
    TokenCounts, Trace, TraceId, attributes, operations,
};
