//! Slipway's agent runtime: the loop that runs one agent of a role on a task
//! (model call → tool calls → results → …), its system prompts, context
//! compaction, delegation to subagents, and the recorder that writes every run
//! as a trace of spans with tokens and cost.
//!
//! Providers live in `slipway-llm`, tools in `slipway-tools`, the rules in
//! `slipway-policy`, storage in `slipway-store`.

mod agent;
mod compaction;
mod delegation;
mod error;
mod ids;
mod prompts;
mod recorder;
mod redact;

pub use agent::{
    Agent, Cancel, ModelChoice, Observer, Quiet, RunEvent, RunOptions, RunReport, Stop, TaskBudget,
    micros_to_usd,
};
pub use delegation::SubAgents;
pub use error::RuntimeError;
pub use ids::boundary;
pub use prompts::{role_prompt, system_prompt};
pub use redact::{REDACTED, SecretValues, redact};

use slipway_llm::{ToolSpec, Usage};
use slipway_types::TokenCounts;

/// Returns a tool's description in the model API's terms.
pub(crate) fn tool_spec(spec: slipway_tools::ToolSpec) -> ToolSpec {
    ToolSpec {
        name: spec.name,
        description: spec.description,
        input_schema: spec.input_schema,
    }
}

/// Returns a call's usage as the token counts Slipway stores.
pub(crate) fn tokens(usage: &Usage) -> TokenCounts {
    TokenCounts {
        input: usage.input_tokens,
        cache_read: usage.cache_read_tokens,
        cache_write: usage.cache_write_tokens,
        output: usage.output_tokens,
        reasoning: usage.reasoning_tokens,
    }
}
