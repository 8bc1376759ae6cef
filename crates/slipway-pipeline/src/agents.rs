//! What the pipeline asks of whoever runs its agents, and what it reports
//! as it goes. The binary implements [`Agents`] with the configured models;
//! tests and the demo give it scripted ones.

use std::path::PathBuf;

use async_trait::async_trait;
use slipway_policy::AgentRole;
use slipway_runtime::RunReport;
use slipway_types::TaskId;

use crate::PipelineError;

/// One agent run a stage needs.
#[derive(Debug, Clone)]
pub struct AgentJob {
    pub role: AgentRole,
    pub task: TaskId,
    /// The task's lane: what a coder or debugger may write.
    pub lane: String,
    /// Seam entries whose leases the task holds.
    pub seams: Vec<String>,
    /// The task's clone, where the agent's tools work.
    pub workdir: PathBuf,
    /// The stage's instructions; untrusted material inside is marked.
    pub prompt: String,
}

/// Runs agents for the pipeline.
#[async_trait]
pub trait Agents: Send + Sync {
    /// Runs `job` to its end and returns what it did; the trace is recorded
    /// in the store under the job's task.
    async fn run(&self, job: &AgentJob) -> Result<RunReport, PipelineError>;
}

/// Receives one line per thing the pipeline did, for a person watching.
pub trait Progress: Send + Sync {
    fn note(&self, task: Option<TaskId>, text: &str);
}
