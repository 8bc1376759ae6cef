//! `slipway cost`: spend by model, role, task or day.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use jiff::Timestamp;
use serde_json::json;
use slipway_store::CostGroup;

use crate::commands::GlobalArgs;
use crate::commands::trace::{cost, cost_json};
use crate::project::Project;
use crate::{Outcome, output};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum By {
    Model,
    Role,
    Task,
    Day,
}

#[derive(Debug, Args)]
pub(crate) struct CostArgs {
    /// What to group runs by
    #[arg(long, value_enum, default_value_t = By::Model)]
    by: By,
    /// Only runs started on or after DATE (YYYY-MM-DD, UTC)
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: &CostArgs, global: &GlobalArgs) -> Result<Outcome> {
    let project = Project::open(global)?;
    let store = project.store().await?;
    let since = match &args.since {
        None => None,
        Some(date) => Some(
            format!("{date}T00:00:00Z")
                .parse::<Timestamp>()
                .ok()
                .with_context(|| {
                    format!("--since `{date}` is not a date: write it as YYYY-MM-DD")
                })?,
        ),
    };
    let group = match args.by {
        By::Model => CostGroup::Model,
        By::Role => CostGroup::Role,
        By::Task => CostGroup::Task,
        By::Day => CostGroup::Day,
    };
    let rows = store.cost_by(group, since).await?;
    if args.json {
        let list: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "key": r.key, "runs": r.runs, "cost_usd": cost_json(r.cost_micros),
                    "unknown_cost_runs": r.unknown_cost_runs,
                    "input_tokens": r.tokens.input, "output_tokens": r.tokens.output,
                    "cache_read_tokens": r.tokens.cache_read, "cache_write_tokens": r.tokens.cache_write,
                    "reasoning_tokens": r.tokens.reasoning,
                })
            })
            .collect();
        output::json(&list)?;
        return Ok(Outcome::Success);
    }
    if rows.is_empty() {
        output::line("no runs yet")?;
        return Ok(Outcome::Success);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let unknown = if r.unknown_cost_runs > 0 {
                format!(" (+{} unpriced)", r.unknown_cost_runs)
            } else {
                String::new()
            };
            vec![
                if r.key.is_empty() {
                    "-".to_owned()
                } else {
                    r.key.clone()
                },
                r.runs.to_string(),
                (r.tokens.input + r.tokens.cache_write).to_string(),
                r.tokens.output.to_string(),
                r.tokens.cache_read.to_string(),
                format!("{}{unknown}", cost(r.cost_micros)),
            ]
        })
        .collect();
    output::table(
        &[by_name(args.by), "RUNS", "IN", "OUT", "CACHED", "COST"],
        &table,
    )?;
    Ok(Outcome::Success)
}

fn by_name(by: By) -> &'static str {
    match by {
        By::Model => "MODEL",
        By::Role => "ROLE",
        By::Task => "TASK",
        By::Day => "DAY",
    }
}
