//! `run_command {command, timeout_secs?}`: runs a shell command in the run's
//! clone, always in the OS sandbox (DESIGN §5), for the roles that may run
//! commands.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use slipway_policy::{Grant, check_command};
use slipway_sandbox::{Limits, Outcome as Ran, Sandbox, SpecBuilder};

use super::{Failure, Outcome};
use crate::args;

/// Characters kept of the start and of the end of each output stream.
const KEEP: usize = 6000;

/// What `run_command` runs with: the sandbox, and a template of the spec
/// (the clone, the user, what else is shown, the limits) whose command each
/// call replaces.
#[derive(Debug, Clone)]
pub struct Commands {
    sandbox: Sandbox,
    template: SpecBuilder,
    limits: Limits,
}

impl Commands {
    /// Commands run by `sandbox` with `template`'s clone and settings, under
    /// `limits` (a call may ask for a shorter wall clock, never a longer one).
    #[must_use]
    pub fn new(sandbox: Sandbox, template: SpecBuilder, limits: Limits) -> Self {
        Commands {
            sandbox,
            template,
            limits,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    command: String,
    #[serde(default)]
    timeout_secs: Option<u64>,
}

pub(super) fn describe() -> (String, serde_json::Value) {
    (
        "Runs a shell command (`sh -c`) in the root of your clone, in a sandbox: no network \
         beyond loopback, a private /tmp and HOME, and only your clone writable. Use it to \
         build, run tests and inspect output. Answers with the exit code and the start and \
         end of stdout and stderr. Changes outside your lane are refused when your diff is \
         checked, so keep them in your lane."
            .to_owned(),
        json!({
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "The shell command"},
                "timeout_secs": {"type": "integer", "minimum": 1, "description": "Seconds before it is killed (default and maximum: the configured limit)"}
            },
            "required": ["command"],
            "additionalProperties": false
        }),
    )
}

pub(crate) async fn run(
    commands: Option<&Commands>,
    grant: &Grant,
    args: &serde_json::Value,
) -> Outcome {
    let args: Args = args::parse("run_command", args)?;
    if args.command.trim().is_empty() {
        return Err(Failure::Error(
            "bad arguments for run_command: field `command` is empty; give a shell command"
                .to_owned(),
        ));
    }
    check_command(grant, &args.command)?;
    let Some(commands) = commands else {
        return Err(Failure::Error(
            "run_command is not available in this run; use the file tools".to_owned(),
        ));
    };
    let mut limits = commands.limits.clone();
    if let Some(secs) = args.timeout_secs.filter(|s| *s > 0) {
        limits.wall = limits.wall.min(Duration::from_secs(secs));
    }
    let spec = commands
        .template
        .clone()
        .argv(vec!["sh".into(), "-c".into(), args.command])
        .limits(limits)
        .build()
        .map_err(|e| Failure::Error(format!("run_command cannot start: {e}")))?;
    let ran =
        commands.sandbox.run(&spec).await.map_err(|e| {
            Failure::Error(format!("run_command failed before the command ran: {e}"))
        })?;
    let text = report(&ran);
    if ran.exit.success() {
        Ok(text)
    } else {
        Err(Failure::Error(text))
    }
}

/// The answer: how it ended, then both streams, each cut in the middle
/// when long.
fn report(ran: &Ran) -> String {
    let confinement = if ran.sandboxed {
        format!("sandboxed, Landlock {}", ran.landlock)
    } else {
        "NOT sandboxed".to_owned()
    };
    let mut text = format!(
        "{} · {:.2} s · {confinement}",
        ran.exit,
        ran.elapsed.as_secs_f64()
    );
    if ran.dropped_bytes > 0 {
        let _ = write!(text, " · {} bytes of output dropped", ran.dropped_bytes);
    }
    for (name, bytes) in [("stdout", &ran.stdout), ("stderr", &ran.stderr)] {
        if !bytes.is_empty() {
            let _ = write!(
                text,
                "\n{name}:\n{}",
                middle_cut(&String::from_utf8_lossy(bytes))
            );
        }
    }
    text
}

fn middle_cut(text: &str) -> String {
    let count = text.chars().count();
    if count <= 2 * KEEP {
        return text.to_owned();
    }
    let head: String = text.chars().take(KEEP).collect();
    let tail: String = text.chars().skip(count - KEEP).collect();
    format!("{head}\n… [{} characters cut] …\n{tail}", count - 2 * KEEP)
}

#[cfg(test)]
mod tests {
    use super::middle_cut;

    #[test]
    fn long_output_keeps_its_start_and_end() {
        let text = format!(
            "{}{}{}",
            "a".repeat(7000),
            "b".repeat(5000),
            "c".repeat(7000)
        );
        let cut = middle_cut(&text);
        assert!(cut.starts_with(&"a".repeat(6000)));
        assert!(cut.ends_with(&"c".repeat(6000)));
        assert!(
            cut.contains("[7000 characters cut]"),
            "{}",
            &cut[5990..6040]
        );
        assert_eq!(middle_cut("short"), "short");
    }
}
