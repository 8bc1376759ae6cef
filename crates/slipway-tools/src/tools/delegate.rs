//! `delegate {task, role?}`: hands a question to a read-only helper agent
//! that the runtime runs.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;
use slipway_policy::{AgentRole, Grant};

use super::{Failure, Outcome};
use crate::args;

/// Runs helper agents for the `delegate` tool; the runtime implements it.
#[async_trait]
pub trait Delegate: Send + Sync {
    /// Runs a helper of `role` on `task` (its whole assignment: the helper
    /// sees nothing else of the caller's conversation) and returns the
    /// helper's short summary.
    async fn delegate(&self, task: &str, role: AgentRole) -> Result<String, DelegateError>;
}

/// A helper run that failed; the message goes back to the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the helper failed: {message}")]
pub struct DelegateError {
    pub message: String,
}

impl DelegateError {
    /// An error with this message (say what happened and whether retrying helps).
    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        DelegateError {
            message: message.into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    task: String,
    #[serde(default)]
    role: Option<String>,
}

pub(super) fn describe() -> (String, serde_json::Value) {
    (
        "Hands a self-contained question to a helper agent that reads the repository and \
         answers with a short summary: role `explorer` (the default) to find and explain \
         code, `reviewer` to look for problems. The helper cannot write files and does not \
         see this conversation: put everything it needs in `task`."
            .to_owned(),
        json!({
            "type": "object",
            "properties": {
                "task": {"type": "string", "description": "The helper's whole assignment"},
                "role": {"type": "string", "enum": ["explorer", "reviewer"], "description": "The helper's role (default: explorer)"}
            },
            "required": ["task"],
            "additionalProperties": false
        }),
    )
}

/// Every role may delegate, but only to read-only helpers
/// ([`AgentRole::can_delegate_to`]), so delegating never widens a run's reach.
pub(crate) async fn run(
    delegate: Option<&dyn Delegate>,
    grant: &Grant,
    args: &serde_json::Value,
) -> Outcome {
    let args: Args = args::parse("delegate", args)?;
    if args.task.trim().is_empty() {
        return Err(Failure::Error(
            "bad arguments for delegate: field `task` is empty; describe what the helper \
             should find out"
                .to_owned(),
        ));
    }
    let role = match args.role.as_deref() {
        None => AgentRole::Explorer,
        Some(name) => name.parse::<AgentRole>().map_err(|err| {
            Failure::Error(format!("bad arguments for delegate: field `role`: {err}"))
        })?,
    };
    if !grant.role.can_delegate_to(role) {
        return Err(Failure::Error(format!(
            "bad arguments for delegate: field `role`: a helper may only be an explorer or a \
             reviewer, never a {role}, because helpers do not write; do the writing yourself"
        )));
    }
    let Some(delegate) = delegate else {
        return Err(Failure::Error(
            "delegate is not available in this run; do the work yourself".to_owned(),
        ));
    };
    delegate
        .delegate(&args.task, role)
        .await
        .map_err(|err| Failure::Error(err.to_string()))
}
