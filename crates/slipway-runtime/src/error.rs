//! The runtime's errors.

use slipway_llm::LlmError;
use slipway_store::StoreError;

/// A run that could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("the trace could not be recorded: {0}")]
    Store(#[from] StoreError),
    #[error(
        "`{model}` has no price, so a cost budget cannot be kept: add `[prices.\"{model}\"]` to slipway.toml, or remove the budget"
    )]
    Unpriced { model: String },
    #[error("the model call to `{provider}` failed: {source}")]
    Model {
        provider: String,
        #[source]
        source: LlmError,
    },
}

/// Returns the `error.type` attribute for a failed model call.
pub(crate) fn llm_error_type(err: &LlmError) -> &'static str {
    match err {
        LlmError::Http { .. } => "http",
        LlmError::Timeout { .. } => "timeout",
        LlmError::Connect { .. } => "connect",
        LlmError::Protocol { .. } => "protocol",
        LlmError::StreamClosed { .. } => "stream_closed",
        LlmError::Provider { .. } => "provider",
        LlmError::NoKey { .. } => "no_key",
        LlmError::Settings { .. } => "settings",
        LlmError::ScriptExhausted { .. } => "script_exhausted",
        #[expect(unreachable_patterns, reason = "LlmError may grow")]
        _ => "other",
    }
}
