//! The pipeline's error: what stopped a stage or a human gate, with what to do.

use slipway_git::GitError;
use slipway_runtime::RuntimeError;
use slipway_sandbox::SandboxError;
use slipway_store::StoreError;
use slipway_types::{TaskId, TaskState};

/// Why the pipeline could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("the agent run failed: {0}")]
    Agent(#[from] RuntimeError),
    #[error("task {id} is `{state}`: {what}")]
    WrongState {
        id: TaskId,
        state: TaskState,
        what: String,
    },
    #[error(
        "another scheduler holds this project ({holder}, until {until}): stop it, or wait for its lease to expire"
    )]
    SchedulerBusy { holder: String, until: String },
    /// What a person saw before pressing a gate's button moved on.
    #[error("{0}")]
    Changed(String),
    #[error("{0}")]
    Other(String),
}

impl From<std::io::Error> for PipelineError {
    fn from(err: std::io::Error) -> Self {
        Self::Other(err.to_string())
    }
}
