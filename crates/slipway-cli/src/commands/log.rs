//! `slipway log`: the append-only task event log.

use anyhow::Result;
use clap::Args;
use slipway_types::{TaskEvent, TaskId};

use crate::commands::GlobalArgs;
use crate::project::Project;
use crate::{Outcome, output};

#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// Only this task's events
    #[arg(long)]
    task: Option<TaskId>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: &LogArgs, global: &GlobalArgs) -> Result<Outcome> {
    let project = Project::open(global)?;
    let store = project.store().await?;
    if let Some(id) = args.task {
        // Names a missing task instead of printing an empty log.
        store.task(id).await?;
    }
    let events = store.events(args.task).await?;
    if args.json {
        output::json(&events)?;
    } else if events.is_empty() {
        output::line("no events yet")?;
    } else {
        for event in &events {
            output::line(event_line(event, args.task.is_none()))?;
        }
    }
    Ok(Outcome::Success)
}

/// Returns one event as a line: time, task, from → to, actor, reason.
pub(crate) fn event_line(event: &TaskEvent, with_task: bool) -> String {
    let from = event
        .from
        .map_or_else(|| "new".to_owned(), |s| s.to_string());
    let task = if with_task {
        format!("task {:<4} ", event.task_id.to_string())
    } else {
        String::new()
    };
    let reason = if event.reason.is_empty() {
        String::new()
    } else {
        format!(": {}", event.reason)
    };
    format!(
        "{}  {task}{from} → {}  by {}{reason}",
        output::when(event.at),
        event.to,
        event.actor
    )
}
