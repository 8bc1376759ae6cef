//! `slipway agent run`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use clap::Args;
use slipway_config::ModelRef;
use slipway_policy::{AgentRole, Grant};
use slipway_runtime::{
    Agent, Cancel, ModelChoice, Observer, RunEvent, RunOptions, RunReport, RuntimeError,
    SecretValues, Stop, SubAgents, TaskBudget, micros_to_usd, system_prompt,
};
use slipway_store::{CostGroup, Store};
use slipway_tools::{ToolBox, Workspace};
use slipway_types::TaskId;

use super::setup;
use crate::Outcome;
use crate::commands::GlobalArgs;
use crate::output;
use crate::project::Project;

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// What the agent is for: explorer, planner, reviewer, coder, debugger or fixer
    #[arg(long)]
    role: AgentRole,
    /// The lane a coder, debugger or fixer may write
    #[arg(long)]
    lane: Option<String>,
    /// The task the run belongs to: its cost counts toward the task's, and `[budget] task_usd` applies
    #[arg(long, value_name = "ID")]
    task: Option<TaskId>,
    /// Use this model (`provider:model`) for the run and its helpers instead of the configured ones
    #[arg(long, value_name = "PROVIDER:MODEL")]
    model: Option<String>,
    /// Wait for each model reply whole instead of streaming it
    #[arg(long)]
    no_stream: bool,
    /// What the agent is to do, in plain words
    prompt: String,
}

/// Prints a run as it happens: the model's text on stdout, tool calls on stderr.
pub(crate) struct Printer {
    at_line_start: Mutex<bool>,
    /// What the trace never stores is not printed either.
    secrets: SecretValues,
}

impl Printer {
    pub(crate) fn new(secrets: SecretValues) -> Self {
        Self {
            at_line_start: Mutex::new(true),
            secrets,
        }
    }

    /// Ends the model's text with a newline, unless it ended with one.
    pub(crate) fn end_line(&self) {
        let mut at_start = self
            .at_line_start
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = std::io::stdout().lock();
        newline(&mut out, &mut at_start);
        let _ = out.flush();
    }

    /// Prints `text` on stderr on a line of its own.
    fn note(&self, text: &str) {
        self.end_line();
        eprintln!("{text}");
    }
}

/// Ends the model's text on stdout with a newline, unless it ended with one.
fn newline(out: &mut std::io::StdoutLock<'_>, at_start: &mut bool) {
    if !*at_start {
        let _ = writeln!(out);
        *at_start = true;
    }
}

impl Observer for Printer {
    fn event(&self, event: RunEvent) {
        let mut at_start = self
            .at_line_start
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = std::io::stdout().lock();
        match event {
            RunEvent::Text(text) if text.is_empty() => {}
            RunEvent::Text(text) => {
                let _ = write!(out, "{}", output::clean(&text));
                *at_start = text.ends_with('\n');
            }
            RunEvent::ToolCall { name, arguments } => {
                newline(&mut out, &mut at_start);
                let _ = out.flush();
                eprintln!(
                    "→ {} {}",
                    output::clean(&name),
                    output::clean(&preview(&self.secrets.scrub(&arguments), 160))
                );
            }
            RunEvent::ToolResult {
                name,
                is_error,
                denied,
                text,
            } => {
                let verdict = if denied {
                    "denied"
                } else if is_error {
                    "error"
                } else {
                    "ok"
                };
                let detail = if is_error || denied {
                    format!(
                        ": {}",
                        output::clean(&preview(&self.secrets.scrub(&text), 200))
                    )
                } else {
                    format!(" ({} bytes)", text.len())
                };
                eprintln!("← {} {verdict}{detail}", output::clean(&name));
            }
            RunEvent::Compacted { before, after } => {
                newline(&mut out, &mut at_start);
                eprintln!("· compacted the context: {before} messages → {after}");
            }
            RunEvent::Warning(text) => {
                newline(&mut out, &mut at_start);
                eprintln!("warning: {text}");
            }
        }
        let _ = out.flush();
    }
}

fn preview(text: &str, limit: usize) -> String {
    let one_line = text.replace('\n', " ");
    if one_line.chars().count() > limit {
        one_line.chars().take(limit).collect::<String>() + "…"
    } else {
        one_line
    }
}

pub(crate) async fn run(args: RunArgs, global: &GlobalArgs) -> Result<Outcome> {
    let project = Project::open(global)?;
    let config = &project.config;
    let model = choose_model(&args, config)?;
    // Helpers use the configured explorer model, unless --model chose one for the whole run
    // (so that it needs no key for a provider it does not use).
    let helper_model = match &args.model {
        Some(_) => model.clone(),
        None => config
            .model_for("explorer")
            .cloned()
            .unwrap_or_else(|| model.clone()),
    };
    let store: Arc<dyn Store> = Arc::from(project.store().await?);
    let task_budget = match args.task {
        Some(id) => {
            store.task(id).await?;
            task_budget(store.as_ref(), id, config.budget.task_usd).await?
        }
        None => None,
    };
    let prices = Arc::new(config.prices.clone());
    let ownership = Arc::new(project.ownership()?);
    let agents_md = std::fs::read_to_string(project.root.join("AGENTS.md")).ok();

    let secrets = secret_values(config);
    let options = |role: AgentRole, model: &ModelRef| {
        let mut options = run_options(config, args.task, !args.no_stream, task_budget, role, model);
        options.secrets = secrets.clone();
        options
    };
    let workspace = || Workspace::open(&project.root).map_err(|e| anyhow::anyhow!("{e}"));
    let provider = setup::provider(config, &model)?;
    let helper = Agent::new(
        setup::provider(config, &helper_model)?,
        Arc::new(ToolBox::new(
            workspace()?,
            Grant::new(AgentRole::Explorer),
            Arc::clone(&ownership),
        )),
        Arc::clone(&store),
        Arc::clone(&prices),
        system_prompt(AgentRole::Explorer, agents_md.as_deref()),
        options(AgentRole::Explorer, &helper_model),
    );
    let mut grant = Grant::new(args.role);
    if let Some(lane) = &args.lane {
        grant = grant.with_lane(lane.clone());
    }
    let tools = ToolBox::new(workspace()?, grant, ownership)
        .with_delegate(Arc::new(SubAgents::new(helper, agents_md.clone())));
    let agent = Agent::new(
        provider,
        Arc::new(tools),
        Arc::clone(&store),
        prices,
        system_prompt(args.role, agents_md.as_deref()),
        options(args.role, &model),
    );
    eprintln!("{} on {} · trace follows", args.role, model);
    let printer = Printer::new(secrets.clone());
    let report = run_interruptible(&agent, &args.prompt, &printer).await;
    printer.end_line();
    let report = match report {
        Ok(report) => report,
        Err(err) => {
            return Err(anyhow::Error::new(err)
                .context("the run failed; `slipway trace list` shows its trace"));
        }
    };
    print_report(&report);
    let reason = report
        .stop
        .reason(&options(args.role, &model))
        .unwrap_or_default();
    match report.stop {
        Stop::Finished => Ok(Outcome::Success),
        Stop::Cancelled => {
            eprintln!("{reason}");
            Ok(Outcome::Interrupted)
        }
        _ => bail!("{reason}"),
    }
}

/// Returns the settings of a run of `role` on `model` for `task`, from the configuration.
pub(crate) fn run_options(
    config: &slipway_config::Config,
    task: Option<TaskId>,
    stream: bool,
    task_budget: Option<TaskBudget>,
    role: AgentRole,
    model: &ModelRef,
) -> RunOptions {
    let mut options = RunOptions::new(
        role,
        ModelChoice {
            provider: model.provider.clone(),
            model: model.model.clone(),
        },
    );
    options.task_id = task;
    options.max_steps = config.budget.max_steps;
    options.token_budget = config.budget.run_tokens;
    options.cost_budget_micros = config.budget.run_usd.map(usd_to_micros);
    options.task_budget = task_budget;
    options.context_window = config.context.window_tokens;
    options.compact_at_percent = config.context.compact_at_percent;
    options.capture = config.trace.capture;
    options.on_detect = config.guard.on_detect;
    options.stream = stream;
    options
}

/// Returns the secret values in this process's environment: every
/// `*_API_KEY` and the variables providers name in `api_key_env`. The trace
/// never stores them, whatever their shape.
pub(crate) fn secret_values(config: &slipway_config::Config) -> SecretValues {
    let named: Vec<&str> = config
        .providers
        .values()
        .filter_map(|p| p.api_key_env.as_deref())
        .collect();
    SecretValues::new(
        std::env::vars()
            .filter(|(name, _)| name.ends_with("_API_KEY") || named.contains(&name.as_str()))
            .map(|(_, value)| value),
    )
}

/// Runs `agent` on `prompt`; the first Ctrl-C cancels the run, which ends
/// its trace as cancelled, and a second one quits at once.
async fn run_interruptible(
    agent: &Agent,
    prompt: &str,
    printer: &Printer,
) -> Result<RunReport, RuntimeError> {
    let cancel = Cancel::default();
    let run = agent.run(prompt, printer, &cancel);
    tokio::pin!(run);
    let interrupted = tokio::select! {
        report = &mut run => return report,
        signal = tokio::signal::ctrl_c() => signal.is_ok(),
    };
    if !interrupted {
        // Ctrl-C cannot be caught here; it ends the process as it would have anyway.
        return run.await;
    }
    printer.note("· cancelling: the run stops and its trace is kept (Ctrl-C again quits at once)");
    cancel.cancel();
    tokio::select! {
        report = &mut run => report,
        _ = tokio::signal::ctrl_c() => std::process::exit(i32::from(crate::INTERRUPTED)),
    }
}

/// Returns the task's cost limit and what its earlier runs spent, when
/// `[budget] task_usd` is set.
pub(crate) async fn task_budget(
    store: &dyn Store,
    task: TaskId,
    limit_usd: Option<f64>,
) -> Result<Option<TaskBudget>> {
    let Some(limit_usd) = limit_usd else {
        return Ok(None);
    };
    let key = task.to_string();
    let row = store
        .cost_by(CostGroup::Task, None)
        .await?
        .into_iter()
        .find(|row| row.key == key);
    let unpriced = row.as_ref().map_or(0, |row| row.unknown_cost_runs);
    if unpriced > 0 {
        eprintln!(
            "warning: {unpriced} earlier run(s) of task {task} have no known cost (still running, or ended without one): [budget] task_usd counts only the priced ones"
        );
    }
    Ok(Some(TaskBudget {
        limit_micros: usd_to_micros(limit_usd),
        spent_micros: row.and_then(|row| row.cost_micros).unwrap_or(0),
    }))
}

/// Prints what a finished run did and cost, and how to see its trace.
pub(crate) fn print_report(report: &RunReport) {
    let cost = report.cost_micros.map_or_else(
        || "unknown".to_owned(),
        |c| format!("${:.4}", micros_to_usd(c)),
    );
    eprintln!(
        "trace {} · {} model calls · {} tool calls ({} denied) · {} tokens in, {} out, {} cached · cost {cost}",
        report.trace_id,
        report.steps,
        report.tool_calls,
        report.denied,
        report.tokens.input + report.tokens.cache_write,
        report.tokens.output,
        report.tokens.cache_read,
    );
    eprintln!("see it with `slipway trace show {}`", report.trace_id);
}

/// Checks the role's lane and returns the model the run uses.
fn choose_model(args: &RunArgs, config: &slipway_config::Config) -> Result<ModelRef> {
    let needs_lane = matches!(
        args.role,
        AgentRole::Coder | AgentRole::Debugger | AgentRole::Fixer
    );
    match (&args.lane, needs_lane) {
        (None, true) => bail!("a {} writes only its lane: pass --lane LANE", args.role),
        (Some(lane), _) if !config.lanes.contains_key(lane) => {
            let lanes: Vec<&str> = config.lanes.keys().map(String::as_str).collect();
            bail!(
                "no lane `{lane}` in slipway.toml; lanes: {}",
                lanes.join(", ")
            );
        }
        _ => {}
    }
    Ok(match &args.model {
        Some(text) => match text.split_once(':') {
            Some((p, m)) if !p.is_empty() && !m.is_empty() => ModelRef {
                provider: p.to_owned(),
                model: m.to_owned(),
            },
            _ => bail!("--model `{text}` does not name its provider: write it as `provider:model`"),
        },
        None => config
            .model_for(&args.role.to_string())
            .cloned()
            .context("no model configured")?,
    })
}

pub(crate) fn usd_to_micros(usd: f64) -> i64 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "budgets are far below i64::MAX micro-dollars"
    )]
    let micros = (usd * 1_000_000.0).round() as i64;
    micros
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use slipway_policy::AgentRole;
    use slipway_runtime::{ModelChoice, RunOptions};

    /// A setting left out of slipway.toml means what the runtime means by default.
    #[test]
    fn configuration_defaults_are_the_runtime_defaults() {
        let config = slipway_config::parse("", Path::new("slipway.toml")).unwrap();
        let runtime = RunOptions::new(
            AgentRole::Explorer,
            ModelChoice {
                provider: "anthropic".to_owned(),
                model: "claude-sonnet-4-5".to_owned(),
            },
        );
        assert_eq!(config.budget.max_steps, runtime.max_steps);
        assert_eq!(config.budget.run_tokens, runtime.token_budget);
        assert_eq!(config.context.window_tokens, runtime.context_window);
        assert_eq!(
            config.context.compact_at_percent,
            runtime.compact_at_percent
        );
        assert_eq!(config.trace.capture, runtime.capture);
    }

    #[test]
    fn dollars_become_micro_dollars() {
        assert_eq!(super::usd_to_micros(0.01), 10_000);
        assert_eq!(super::usd_to_micros(20.0), 20_000_000);
    }
}
