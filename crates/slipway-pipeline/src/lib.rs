//! Slipway's pipeline (DESIGN §2, docs/design/pipeline.md): the stages a
//! task goes through, the gates between them, the scheduler that runs
//! several tasks at once, and the human gates of promotion.
//!
//! Agents are run through [`Agents`], which the binary implements with the
//! configured models; git through `slipway-git`; commands through the
//! sandbox; everything is recorded in the store.

mod agents;
mod error;
mod findings;
mod gates;
mod pipeline;
mod promotion;
mod prompts;
mod proposal;
mod scheduler;
mod stages;
mod state;
mod test_counts;
mod test_results;
mod testing;
mod tests_first;
mod trim;
mod workspace;

pub use agents::{AgentJob, Agents, Progress};
pub use error::PipelineError;
pub use findings::{FindingsError, findings_schema_hint, parse_findings};
pub use gates::{TestVerdict, judge_tests, ownership_findings};
pub use pipeline::{Parts, Pipeline, holder_is_gone, holder_name, hostname};
pub use promotion::{Approval, Gate, PROMOTION_LEASE, Released, ReviewedChange};
pub use prompts::{plan_seams, stage_key};
pub use proposal::{MAX_PROPOSED, PROPOSAL_HINT, ProposalError, ProposedTask, parse_proposal};
pub use scheduler::{RunSettings, RunSummary, SCHEDULER_LEASE, pick};
pub use stages::{Step, holder as seam_holder};
pub use state::{AGENTS_FILE, STATE_BEGIN, STATE_END, render_state};
pub use test_counts::parse_test_counts;
pub use test_results::{TestOutcome, TestResult, parse_test_results};
pub use trim::trim_failure;
