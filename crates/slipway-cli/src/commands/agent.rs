//! `slipway agent run`: one agent of a role on a prompt, streamed live and traced.

mod run;
mod setup;

use anyhow::Result;
use clap::Subcommand;

use crate::Outcome;
use crate::commands::GlobalArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum AgentCommand {
    /// Run one agent of a role on PROMPT in this repository, streaming what it does
    Run(run::RunArgs),
}

pub(crate) async fn run(cmd: AgentCommand, global: &GlobalArgs) -> Result<Outcome> {
    match cmd {
        AgentCommand::Run(args) => run::run(args, global).await,
    }
}
