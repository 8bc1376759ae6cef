//! What the tools tell the runtime: their descriptions and their answers.

use serde::{Deserialize, Serialize};
use slipway_policy::Denial;

/// A tool as offered to the model: the runtime maps it to the model API's
/// own tool type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// A JSON schema of the arguments object.
    pub input_schema: serde_json::Value,
}

/// The answer to one tool call.
///
/// `text` is raw: file contents, search hits and helper summaries are
/// untrusted, and the runtime passes every `text` through
/// `slipway_policy::mark_untrusted` before it enters a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolOutcome {
    pub text: String,
    /// Whether the call failed: bad arguments, a missing file, a denial.
    pub is_error: bool,
    /// Set when policy refused the call (then `is_error` is true and `text`
    /// is the denial's sentence): the runtime records it as a span.
    pub denial: Option<Denial>,
}

impl ToolOutcome {
    /// A successful answer.
    #[must_use]
    pub fn ok(text: impl Into<String>) -> Self {
        ToolOutcome {
            text: text.into(),
            is_error: false,
            denial: None,
        }
    }

    /// A failed call that policy did not refuse.
    #[must_use]
    pub fn error(text: impl Into<String>) -> Self {
        ToolOutcome {
            text: text.into(),
            is_error: true,
            denial: None,
        }
    }

    /// A call policy refused.
    #[must_use]
    pub fn denied(denial: Denial) -> Self {
        ToolOutcome {
            text: denial.to_string(),
            is_error: true,
            denial: Some(denial),
        }
    }
}
