//! `slipway task show`.

use anyhow::Result;
use clap::Args;
use serde_json::json;
use slipway_store::Store;
use slipway_types::TaskId;

use crate::commands::log::event_line;
use crate::{Outcome, output};

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The task's id
    id: TaskId,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: &ShowArgs, store: &dyn Store) -> Result<Outcome> {
    let task = store.task(args.id).await?;
    let events = store.events(Some(args.id)).await?;
    if args.json {
        output::json(&json!({ "task": task, "events": events }))?;
        return Ok(Outcome::Success);
    }
    output::line(format!("task {}: {}", task.id, task.title))?;
    output::line(format!("  state:   {}", task.state))?;
    output::line(format!("  lane:    {}", task.lane))?;
    if !task.depends_on.is_empty() {
        let deps: Vec<String> = task.depends_on.iter().map(ToString::to_string).collect();
        output::line(format!("  after:   {}", deps.join(", ")))?;
    }
    output::line(format!("  created: {}", output::when(task.created_at)))?;
    output::line(format!("  updated: {}", output::when(task.updated_at)))?;
    if !task.body.trim().is_empty() {
        output::line("")?;
        for line in task.body.trim_end().lines() {
            output::line(format!("  {line}"))?;
        }
    }
    output::line("")?;
    output::line("events:")?;
    for event in &events {
        output::line(format!("  {}", event_line(event, false)))?;
    }
    Ok(Outcome::Success)
}
