//! `delegate`: a subagent with a fresh context and read-only tools, recorded
//! as an `invoke_agent` span under the tool call that started it, whose short
//! summary is all the parent's context receives. The subagent stops when its
//! parent is cancelled, and what it spends counts toward the parent's budgets.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use slipway_policy::AgentRole;
use slipway_tools::{Delegate, DelegateError};
use slipway_types::{SpanId, TokenCounts};

use crate::agent::{Agent, Cancel, Quiet, RunReport, TaskBudget};
use crate::prompts::system_prompt;
use crate::recorder::Recorder;

/// The longest summary handed back to the parent, in characters.
const SUMMARY_LIMIT: usize = 4000;

/// Where a delegated run nests: the caller's trace and tool span, the
/// caller's cancellation, and what the helpers started there spent.
struct Scope {
    recorder: Arc<Recorder>,
    span: SpanId,
    cancel: Cancel,
    remaining: Remaining,
    spent: Mutex<Spent>,
}

/// What is left of the caller's budgets when it starts a helper: the helper
/// may spend no more than that.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Remaining {
    pub(crate) tokens: Option<u64>,
    pub(crate) cost_micros: Option<i64>,
    pub(crate) task: Option<TaskBudget>,
}

/// What helper runs spent: tokens, and cost (`None` when a price was unknown).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spent {
    pub(crate) tokens: TokenCounts,
    pub(crate) cost: Option<i64>,
    /// The part of the cost whose price was known.
    pub(crate) known_cost: i64,
}

impl Default for Spent {
    fn default() -> Self {
        Self {
            tokens: TokenCounts::default(),
            cost: Some(0),
            known_cost: 0,
        }
    }
}

tokio::task_local! {
    static CURRENT: Arc<Scope>;
}

/// Runs `call` with `recorder` and `span` as the place delegated runs nest,
/// stopping with `cancel`; returns its output and what the helpers it
/// started spent.
pub(crate) async fn within<F: Future>(
    recorder: &Arc<Recorder>,
    span: &SpanId,
    cancel: &Cancel,
    remaining: Remaining,
    call: F,
) -> (F::Output, Spent) {
    let scope = Arc::new(Scope {
        recorder: Arc::clone(recorder),
        span: span.clone(),
        cancel: cancel.share(),
        remaining,
        spent: Mutex::new(Spent::default()),
    });
    let output = CURRENT.scope(Arc::clone(&scope), call).await;
    let spent = *scope.spent.lock().unwrap_or_else(PoisonError::into_inner);
    (output, spent)
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
        if let Err(err) = agent.check_priced() {
            return Err(DelegateError::new(err.to_string()));
        }
        let Ok(scope) = CURRENT.try_with(Arc::clone) else {
            // Outside a run: the helper's run is a trace of its own.
            let report = agent
                .run(task, &Quiet, &Cancel::default())
                .await
                .map_err(|e| DelegateError::new(e.to_string()))?;
            return Ok(summary(role, &report, &agent));
        };
        let mut agent = agent;
        let limits = &mut agent.options;
        limits.token_budget = tighter(limits.token_budget, scope.remaining.tokens);
        limits.cost_budget_micros = tighter(limits.cost_budget_micros, scope.remaining.cost_micros);
        limits.task_budget = scope.remaining.task.or(limits.task_budget);
        let result = agent
            .run_in(
                task,
                &scope.recorder,
                Some(&scope.span),
                &Quiet,
                &scope.cancel,
            )
            .await;
        let (tokens, cost) = match &result {
            Ok(report) => (report.tokens, report.cost_micros),
            Err((_, tokens, cost)) => (*tokens, *cost),
        };
        {
            let mut spent = scope.spent.lock().unwrap_or_else(PoisonError::into_inner);
            spent.tokens += tokens;
            spent.cost = spent.cost.zip(cost).map(|(a, b)| a.saturating_add(b));
            spent.known_cost = spent.known_cost.saturating_add(cost.unwrap_or(0));
        }
        let report = result.map_err(|(e, _, _)| DelegateError::new(e.to_string()))?;
        Ok(summary(role, &report, &agent))
    }
}

/// Returns the smaller of two optional limits; `None` is no limit.
fn tighter<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Returns what the caller is told of a helper's run: its last text, cut to
/// [`SUMMARY_LIMIT`], and why it stopped when it did not finish.
fn summary(role: AgentRole, report: &RunReport, agent: &Agent) -> String {
    let mut summary = report.text.clone();
    if summary.chars().count() > SUMMARY_LIMIT {
        summary = summary.chars().take(SUMMARY_LIMIT).collect::<String>() + " …[summary cut]";
    }
    match report.stop.reason(&agent.options) {
        None if summary.trim().is_empty() => format!("(the {role} finished without a summary)"),
        None => summary,
        Some(reason) => format!(
            "{summary}\n\n(the {role} did not finish, so its answer may be incomplete: {reason})"
        ),
    }
}
