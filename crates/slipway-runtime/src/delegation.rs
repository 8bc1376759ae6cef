//! `delegate`: a subagent with a fresh context and read-only tools, recorded
//! as an `invoke_agent` span under the tool call that started it, whose short
//! summary is all the parent's context receives.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use slipway_policy::AgentRole;
use slipway_tools::{Delegate, DelegateError};
use slipway_types::SpanId;

use crate::agent::{Agent, Cancel, Quiet};
use crate::prompts::system_prompt;
use crate::recorder::Recorder;

/// The longest summary handed back to the parent, in characters.
const SUMMARY_LIMIT: usize = 4000;

tokio::task_local! {
    /// The trace and tool span a delegated run nests under.
    static CURRENT: (Arc<Recorder>, SpanId);
}

/// Runs `call` with `recorder` and `span` as the place delegated runs nest.
pub(crate) async fn within<F: Future>(
    recorder: &Arc<Recorder>,
    span: &SpanId,
    call: F,
) -> F::Output {
    CURRENT
        .scope((Arc::clone(recorder), span.clone()), call)
        .await
}

/// Starts subagents: read-only roles only, on the parent's workspace.
pub struct SubAgents {
    agent: Agent,
    agents_md: Option<String>,
}

impl SubAgents {
    /// Returns a delegate that runs `agent` (configured with read-only tools and
    /// its own model) for each delegated task.
    #[must_use]
    pub fn new(agent: Agent, agents_md: Option<String>) -> Self {
        Self { agent, agents_md }
    }
}

#[async_trait]
impl Delegate for SubAgents {
    async fn delegate(&self, task: &str, role: AgentRole) -> Result<String, DelegateError> {
        if !matches!(role, AgentRole::Explorer | AgentRole::Reviewer) {
            return Err(DelegateError::new(format!(
                "a helper can be an explorer or a reviewer, not a {role}: ask for one of those"
            )));
        }
        let mut options = self.agent.options.clone();
        options.role = role;
        let agent = Agent {
            provider: Arc::clone(&self.agent.provider),
            tools: Arc::clone(&self.agent.tools),
            store: Arc::clone(&self.agent.store),
            prices: Arc::clone(&self.agent.prices),
            system: system_prompt(role, self.agents_md.as_deref()),
            options,
        };
        let cancel = Cancel::default();
        let report = match CURRENT.try_with(|(recorder, span)| (Arc::clone(recorder), span.clone()))
        {
            Ok((recorder, span)) => agent
                .run_in(task, &recorder, Some(&span), &Quiet, &cancel)
                .await
                .map_err(|(e, _, _)| DelegateError::new(e.to_string()))?,
            Err(_) => agent
                .run(task, &Quiet, &cancel)
                .await
                .map_err(|e| DelegateError::new(e.to_string()))?,
        };
        let mut summary = report.text;
        if summary.chars().count() > SUMMARY_LIMIT {
            summary = summary.chars().take(SUMMARY_LIMIT).collect::<String>() + " …[summary cut]";
        }
        if summary.trim().is_empty() {
            summary = format!("(the {role} finished without a summary)");
        }
        Ok(summary)
    }
}
