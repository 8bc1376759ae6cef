//! The `slipway` binary: parses the command line, resolves the project once,
//! and wires the concrete store, configuration and policy together.
//!
//! Exit codes: 0 success; 1 a check found problems (`lanes check`); 2 an
//! error, printed with its causes and what to do; 130 a run cancelled with
//! Ctrl-C; `sandbox run` exits with its command's code (124 when it timed
//! out, 125 when it printed past the output cap).

mod agents;
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
#[command(name = "slipway", version, max_term_width = 100)]
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
    /// A person stopped the command with Ctrl-C, and it wound down cleanly.
    Interrupted,
    /// The command passes on another program's exit code (`sandbox run`).
    Code(u8),
}

/// The exit code of a command stopped with Ctrl-C: 128 + SIGINT, as shells report it.
pub(crate) const INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    // The sandbox re-runs this executable as its helper processes.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = slipway_sandbox::helper_main(&args) {
        return code;
    }
    let cli = Cli::parse();
    match commands::run(cli.command, &cli.global) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Ok(Outcome::Interrupted) => ExitCode::from(INTERRUPTED),
        Ok(Outcome::Code(code)) => ExitCode::from(code),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let _ = std::io::stdout().flush();
            eprintln!("error: {}", chain(&err));
            ExitCode::from(2)
        }
    }
}

/// Returns the error and its causes joined by `: `, as `{:#}` does, leaving
/// out a cause whose text the message before it already ends with (an error
/// that prints its source as well as returning it).
fn chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::chain;

    /// An error that prints its source and returns it too.
    #[derive(Debug)]
    struct Repeats(std::io::Error);

    impl std::fmt::Display for Repeats {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "the call failed: {}", self.0)
        }
    }

    impl std::error::Error for Repeats {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_is_printed_once() {
        let io = || std::io::Error::other("HTTP 400: bad max_tokens");
        let err = anyhow::Error::new(Repeats(io())).context("the run failed");
        assert_eq!(
            chain(&err),
            "the run failed: the call failed: HTTP 400: bad max_tokens"
        );
        let err = anyhow::Error::new(io()).context("cannot open the store");
        assert_eq!(
            chain(&err),
            "cannot open the store: HTTP 400: bad max_tokens"
        );
    }
}
