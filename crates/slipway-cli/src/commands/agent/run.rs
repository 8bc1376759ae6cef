//! `slipway agent run`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use clap::Args;
use slipway_config::ModelRef;
use slipway_policy::{AgentRole, Grant};
use slipway_runtime::{
    Agent, Cancel, ModelChoice, Observer, RunEvent, RunOptions, Stop, SubAgents, micros_to_usd,
    system_prompt,
};
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
    /// The task the run belongs to (its cost counts toward the task's)
    #[arg(long)]
    task: Option<TaskId>,
    /// Use this model (`provider:model`) instead of the role's configured one
    #[arg(long)]
    model: Option<String>,
    /// Wait for each model reply whole instead of streaming it
    #[arg(long)]
    no_stream: bool,
    /// What to do
    prompt: String,
}

/// Prints a run as it happens: the model's text on stdout, tool calls on stderr.
struct Printer {
    at_line_start: Mutex<bool>,
}

impl Observer for Printer {
    fn event(&self, event: RunEvent) {
        let mut at_start = self
            .at_line_start
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = std::io::stdout().lock();
        let newline = |out: &mut std::io::StdoutLock<'_>, at_start: &mut bool| {
            if !*at_start {
                let _ = writeln!(out);
                *at_start = true;
            }
        };
        match event {
            RunEvent::Text(text) => {
                let _ = write!(out, "{}", output::clean(&text));
                *at_start = text.ends_with('\n');
            }
            RunEvent::ToolCall { name, arguments } => {
                newline(&mut out, &mut at_start);
                let _ = out.flush();
                eprintln!("→ {name} {}", output::clean(&preview(&arguments, 160)));
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
                    format!(": {}", output::clean(&preview(&text, 200)))
                } else {
                    format!(" ({} bytes)", text.len())
                };
                eprintln!("← {name} {verdict}{detail}");
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
    let explorer_model = config
        .model_for("explorer")
        .cloned()
        .unwrap_or_else(|| model.clone());
    let store: Arc<dyn slipway_store::Store> = Arc::from(project.store().await?);
    if let Some(id) = args.task {
        store.task(id).await?;
    }
    let prices = Arc::new(config.prices.clone());
    let ownership = Arc::new(project.ownership()?);
    let agents_md = std::fs::read_to_string(project.root.join("AGENTS.md")).ok();

    let options = |role: AgentRole, model: &ModelRef| {
        let mut options = RunOptions::new(
            role,
            ModelChoice {
                provider: model.provider.clone(),
                model: model.model.clone(),
            },
        );
        options.task_id = args.task;
        options.max_steps = config.budget.max_steps;
        options.token_budget = config.budget.run_tokens;
        options.cost_budget_micros = config.budget.run_usd.map(usd_to_micros);
        options.stream = !args.no_stream;
        options
    };
    let workspace = || Workspace::open(&project.root).map_err(|e| anyhow::anyhow!("{e}"));
    let helper = Agent::new(
        setup::provider(config, &explorer_model)?,
        Arc::new(ToolBox::new(
            workspace()?,
            Grant::new(AgentRole::Explorer),
            Arc::clone(&ownership),
        )),
        Arc::clone(&store),
        Arc::clone(&prices),
        system_prompt(AgentRole::Explorer, agents_md.as_deref()),
        options(AgentRole::Explorer, &explorer_model),
    );
    let mut grant = Grant::new(args.role);
    if let Some(lane) = &args.lane {
        grant = grant.with_lane(lane.clone());
    }
    let tools = ToolBox::new(workspace()?, grant, ownership)
        .with_delegate(Arc::new(SubAgents::new(helper, agents_md.clone())));
    let agent = Agent::new(
        setup::provider(config, &model)?,
        Arc::new(tools),
        Arc::clone(&store),
        prices,
        system_prompt(args.role, agents_md.as_deref()),
        options(args.role, &model),
    );
    eprintln!("{} on {} · trace follows", args.role, model);
    let printer = Printer {
        at_line_start: Mutex::new(true),
    };
    let cancel = Cancel::default();
    let report = agent.run(&args.prompt, &printer, &cancel).await;
    printer.event(RunEvent::Text(String::new()));
    let _ = writeln!(std::io::stdout());
    let report = match report {
        Ok(report) => report,
        Err(err) => {
            return Err(anyhow::Error::new(err)
                .context("the run failed; `slipway trace list` shows its trace"));
        }
    };
    print_report(&report);
    match report.stop {
        Stop::Finished => Ok(Outcome::Success),
        stop => {
            let options = options(args.role, &model);
            bail!("{}", stop.reason(&options).unwrap_or_default())
        }
    }
}

/// Prints what a finished run did and cost, and how to see its trace.
fn print_report(report: &slipway_runtime::RunReport) {
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

fn usd_to_micros(usd: f64) -> i64 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "budgets are far below i64::MAX micro-dollars"
    )]
    let micros = (usd * 1_000_000.0).round() as i64;
    micros
}
