//! `slipway task add|list|show|cancel|retry`.

mod add;
mod cancel;
mod list;
mod retry;
mod show;

use anyhow::Result;
use clap::Subcommand;

use crate::Outcome;
use crate::commands::GlobalArgs;
use crate::project::Project;

#[derive(Debug, Subcommand)]
pub(crate) enum TaskCommand {
    /// Add a task to a lane
    Add(add::AddArgs),
    /// List tasks
    List(list::ListArgs),
    /// Show a task and its events
    Show(show::ShowArgs),
    /// Cancel a task, with the reason
    Cancel(cancel::CancelArgs),
    /// Resume a task that needs a person or failed, from the stage it stopped in or an earlier one
    Retry(retry::RetryArgs),
}

pub(crate) async fn run(cmd: TaskCommand, global: &GlobalArgs) -> Result<Outcome> {
    let project = Project::open(global)?;
    let store = project.store().await?;
    match cmd {
        TaskCommand::Add(args) => add::run(args, &project, store.as_ref()).await,
        TaskCommand::List(args) => list::run(&args, store.as_ref()).await,
        TaskCommand::Show(args) => show::run(&args, store.as_ref()).await,
        TaskCommand::Cancel(args) => cancel::run(&args, &project, store.as_ref()).await,
        TaskCommand::Retry(args) => retry::run(&args, &project).await,
    }
}
