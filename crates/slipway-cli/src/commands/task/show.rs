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
    let stages = store.stage_results(args.id).await?;
    let seams = store.task_seams(args.id).await?;
    if args.json {
        output::json(&json!({ "task": task, "seams": seams, "stages": stages, "events": events }))?;
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
    if !seams.is_empty() {
        output::line(format!("  seams:   {}", seams.join(", ")))?;
    }
    if !stages.is_empty() {
        output::line("")?;
        output::line("stages (what agents wrote is shown as it is: untrusted text):")?;
    }
    for record in &stages {
        let r = &record.result;
        let verdict = if r.passed { "ok " } else { "NO " };
        output::line(format!(
            "  {} {verdict} {:<12} {}",
            output::when(record.at),
            r.stage,
            output::clean(&r.summary)
        ))?;
        for f in &r.findings {
            let place = if f.location.is_empty() {
                String::new()
            } else {
                format!(" ({})", output::clean(&f.location))
            };
            output::line(format!(
                "      [{}] {}{place}",
                f.severity,
                output::clean(&f.title)
            ))?;
        }
        if r.stage == "planning" && !r.body.is_empty() {
            for line in r.body.lines().take(40) {
                output::line(format!("      │ {}", output::clean(line)))?;
            }
        }
    }
    output::line("")?;
    output::line("events:")?;
    for event in &events {
        output::line(format!("  {}", event_line(event, false)))?;
    }
    Ok(Outcome::Success)
}
