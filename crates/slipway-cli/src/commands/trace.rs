//! `slipway trace list|show`: runs and their spans, from the store.

mod list;
mod show;

use anyhow::Result;
use clap::Subcommand;

use crate::Outcome;
use crate::commands::GlobalArgs;
use crate::project::Project;

#[derive(Debug, Subcommand)]
pub(crate) enum TraceCommand {
    /// List runs, newest first
    List(list::ListArgs),
    /// Show a run as a tree of spans with durations, tokens and cost
    Show(show::ShowArgs),
}

pub(crate) async fn run(cmd: TraceCommand, global: &GlobalArgs) -> Result<Outcome> {
    let project = Project::open(global)?;
    let store = project.store().await?;
    match cmd {
        TraceCommand::List(args) => list::run(&args, store.as_ref()).await,
        TraceCommand::Show(args) => show::run(&args, store.as_ref()).await,
    }
}

/// Returns micro-dollars as `$0.0123`, or `unknown`.
pub(crate) fn cost(micros: Option<i64>) -> String {
    micros.map_or_else(
        || "unknown".to_owned(),
        |c| format!("${:.4}", slipway_runtime::micros_to_usd(c)),
    )
}

/// Returns micro-dollars as dollars for JSON, or null.
pub(crate) fn cost_json(micros: Option<i64>) -> serde_json::Value {
    micros.map_or(serde_json::Value::Null, |c| {
        serde_json::json!(slipway_runtime::micros_to_usd(c))
    })
}
