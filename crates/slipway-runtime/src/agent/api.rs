//! What a caller of the agent loop hands it and gets back: the run's model
//! and limits, why it stopped, what it reports as it goes and at its end,
//! and the handle that cancels it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use slipway_policy::AgentRole;
use slipway_types::{TaskId, TokenCounts};
use tokio::sync::Notify;

/// A model, as `[models]` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelChoice {
    pub provider: String,
    pub model: String,
}

impl ModelChoice {
    /// Returns `provider:model`.
    #[must_use]
    pub fn key(&self) -> String {
        format!("{}:{}", self.provider, self.model)
    }
}

/// The limits and settings of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub role: AgentRole,
    pub model: ModelChoice,
    pub task_id: Option<TaskId>,
    /// Model calls at most.
    pub max_steps: u32,
    /// Output tokens per model call.
    pub max_output_tokens: u32,
    /// All tokens of the run, across calls.
    pub token_budget: Option<u64>,
    /// Cost of the run in micro-dollars.
    pub cost_budget_micros: Option<i64>,
    /// Cost of the whole task in micro-dollars, and what its earlier runs spent.
    pub task_budget: Option<TaskBudget>,
    /// The model's context window, in tokens.
    pub context_window: u64,
    /// Compaction starts when a call's context passes this share of the window, in percent.
    pub compact_at_percent: u8,
    /// Whether prompts and responses are stored in the trace.
    pub capture: bool,
    /// Values removed from everything stored, whatever their shape.
    pub secrets: crate::SecretValues,
    /// Whether model calls stream.
    pub stream: bool,
    /// What follows when a tool result holds a likely prompt injection.
    pub on_detect: slipway_config::OnDetect,
}

impl RunOptions {
    /// Returns options with Slipway's defaults for `role` and `model`.
    #[must_use]
    pub fn new(role: AgentRole, model: ModelChoice) -> Self {
        Self {
            role,
            model,
            task_id: None,
            max_steps: 200,
            max_output_tokens: 8192,
            token_budget: None,
            cost_budget_micros: None,
            task_budget: None,
            context_window: 200_000,
            compact_at_percent: 80,
            capture: true,
            secrets: crate::SecretValues::default(),
            stream: true,
            on_detect: slipway_config::OnDetect::Mark,
        }
    }
}

/// A task's cost limit, checked across all of its runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskBudget {
    /// The task's limit, in micro-dollars.
    pub limit_micros: i64,
    /// What the task's earlier runs cost, in micro-dollars.
    pub spent_micros: i64,
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The model ended its turn.
    Finished,
    StepLimit,
    TokenBudget,
    CostBudget,
    TaskBudget,
    /// A tool result held a likely prompt injection and `[guard] on_detect`
    /// is `stop`.
    Injection,
    Cancelled,
}

impl Stop {
    /// Returns the reason as recorded in the trace, or `None` for a finished run.
    #[must_use]
    pub fn reason(self, options: &RunOptions) -> Option<String> {
        match self {
            Self::Finished => None,
            Self::StepLimit => Some(format!(
                "stopped: the step limit of {} model calls was reached",
                options.max_steps
            )),
            Self::TokenBudget => Some(format!(
                "stopped: the token budget of {} was reached",
                options.token_budget.unwrap_or_default()
            )),
            Self::CostBudget => Some(format!(
                "stopped: the cost budget of ${:.2} was reached",
                micros_to_usd(options.cost_budget_micros.unwrap_or_default())
            )),
            Self::TaskBudget => {
                let budget = options.task_budget.map_or(0, |b| b.limit_micros);
                Some(format!(
                    "stopped: the task's cost budget of ${:.2} was reached",
                    micros_to_usd(budget)
                ))
            }
            Self::Injection => Some(
                "stopped: a tool result held a likely prompt injection ([guard] on_detect = \"stop\"); \
                 `slipway trace show` has it"
                    .to_owned(),
            ),
            Self::Cancelled => Some("stopped: cancelled".to_owned()),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub trace_id: slipway_types::TraceId,
    pub stop: Stop,
    /// The model's last text.
    pub text: String,
    pub tokens: TokenCounts,
    /// `None` when a model's price is unknown.
    pub cost_micros: Option<i64>,
    pub steps: u32,
    pub tool_calls: u32,
    pub denied: u32,
}

/// What a run reports as it goes, for a person watching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEvent {
    Text(String),
    ToolCall {
        name: String,
        arguments: String,
    },
    ToolResult {
        name: String,
        is_error: bool,
        denied: bool,
        text: String,
    },
    Compacted {
        before: usize,
        after: usize,
    },
    Warning(String),
}

/// Receives a run's events.
pub trait Observer: Send + Sync {
    fn event(&self, event: RunEvent);
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {
    fn event(&self, _event: RunEvent) {}
}

/// Stops a run between steps, or during a model call; the helpers a run
/// delegated to stop with it.
#[derive(Debug, Default)]
pub struct Cancel {
    inner: Arc<CancelState>,
}

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    notify: Notify,
}

impl Cancel {
    /// Asks the run to stop.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Returns once the run is cancelled, at once if it already is.
    ///
    /// The waiter is registered before the flag is read: `cancel` sets the
    /// flag before it wakes the waiters, so a cancel is never missed, even
    /// one that comes before this is first polled.
    pub(crate) async fn cancelled(&self) {
        let notified = self.inner.notify.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        if !self.is_cancelled() {
            notified.await;
        }
    }

    /// Returns a handle on the same cancellation, for a helper's run.
    pub(crate) fn share(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// Returns micro-dollars as dollars.
#[must_use]
pub fn micros_to_usd(micros: i64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "display only")]
    let usd = micros as f64 / 1_000_000.0;
    usd
}
