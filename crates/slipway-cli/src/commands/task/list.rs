//! `slipway task list`.

use anyhow::Result;
use clap::Args;
use slipway_store::{Store, TaskFilter};
use slipway_types::TaskState;

use crate::{Outcome, output};

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only tasks in this state (queued, planning, coding, ready, staged, …)
    #[arg(long)]
    state: Option<TaskState>,
    /// Only tasks in this lane
    #[arg(long)]
    lane: Option<String>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: &ListArgs, store: &dyn Store) -> Result<Outcome> {
    let filter = TaskFilter {
        state: args.state,
        lane: args.lane.clone(),
    };
    let tasks = store.tasks(&filter).await?;
    if args.json {
        output::json(&tasks)?;
        return Ok(Outcome::Success);
    }
    if tasks.is_empty() {
        output::line("no tasks; add one with `slipway task add \"TITLE\" --lane LANE`")?;
        return Ok(Outcome::Success);
    }
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|t| {
            let deps: Vec<String> = t.depends_on.iter().map(ToString::to_string).collect();
            vec![
                t.id.to_string(),
                t.state.to_string(),
                t.lane.clone(),
                if deps.is_empty() {
                    "-".to_owned()
                } else {
                    deps.join(",")
                },
                t.title.clone(),
            ]
        })
        .collect();
    output::table(&["ID", "STATE", "LANE", "AFTER", "TITLE"], &rows)?;
    Ok(Outcome::Success)
}
