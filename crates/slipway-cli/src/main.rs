//! The `slipway` binary: parses the command line, resolves the project once,
//! and wires the concrete store, configuration and policy together.
//!
//! Exit codes: 0 success; 1 a check found problems (`lanes check`); 2 an
//! error, printed with its causes and what to do.

mod commands;
mod git;
mod output;
mod project;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::commands::{Command, GlobalArgs};

/// Runs a team of AI coding agents on one codebase like a disciplined engineering team
#[derive(Debug, Parser)]
#[command(name = "slipway", version, about, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// What a command reports besides success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    /// The command ran and found problems (for example lanes that are not MECE).
    Problems,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli.command, &cli.global) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let _ = std::io::stdout().flush();
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
