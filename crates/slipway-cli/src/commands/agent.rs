//! `slipway agent run`: one agent of a role on a prompt, streamed live and traced.

mod run;
pub(crate) mod setup;

pub(crate) use run::{run_options, secret_values, task_budget};
pub(crate) use setup::provider;

use anyhow::Result;
use clap::Subcommand;

use crate::Outcome;
use crate::commands::GlobalArgs;

const RUN_HELP: &str = "\
Examples:
  slipway agent run --role explorer \"Where are retries configured?\"
  slipway agent run --role coder --lane api --task 3 \"Add the /health endpoint\"

The model's text goes to stdout; tool calls, the trace id and the cost go to stderr.
Ctrl-C cancels the run and keeps its trace. Limits come from [budget] in slipway.toml.
Exit status: 0 finished, 2 failed or stopped by a limit, 130 cancelled.";

#[derive(Debug, Subcommand)]
pub(crate) enum AgentCommand {
    /// Run one agent of a role on PROMPT in this repository, streaming what it does
    #[command(after_help = RUN_HELP)]
    Run(run::RunArgs),
}

pub(crate) async fn run(cmd: AgentCommand, global: &GlobalArgs) -> Result<Outcome> {
    match cmd {
        AgentCommand::Run(args) => run::run(args, global).await,
    }
}
