//! `slipway demo`: a tour of Slipway on a sample project it creates, running
//! the real commands against the sample's own embedded store. The demo never
//! touches the store `SLIPWAY_DATABASE_URL` names: that one holds real work.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser};

use crate::commands::{Command, GlobalArgs, block_on_threads};

mod pipeline;
use crate::{Cli, Outcome, git, output};

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Create the sample project here (a new or empty directory); default: a new temporary directory
    #[arg(long, value_name = "PATH")]
    dir: Option<PathBuf>,
}

const FILES: &[(&str, &str)] = &[
    (
        "README.md",
        "# Tally\n\nA small counter service with a web page.\n",
    ),
    (
        "pyproject.toml",
        "[project]\nname = \"tally\"\nversion = \"0.1.0\"\n",
    ),
    (
        "db/schema.sql",
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);\n",
    ),
    (
        "api/server.py",
        "def increment(counters, name):\n    counters[name] = counters.get(name, 0) + 1\n    return counters[name]\n",
    ),
    ("api/__init__.py", ""),
    (
        "api/test_server.py",
        "import unittest\n\nfrom api.server import increment\n\n\nclass CounterTest(unittest.TestCase):\n    def test_increment(self):\n        self.assertEqual(increment({}, \"a\"), 1)\n",
    ),
    (
        "web/index.html",
        "<!doctype html>\n<title>Tally</title>\n<script src=\"app.js\"></script>\n",
    ),
    (
        "web/app.js",
        "export function show(count) {\n  return `count: ${count}`;\n}\n",
    ),
];

const DEFAULT_LANE: &str = "[lanes.main]\nowns = [\"**\"]\n";

const DEMO_LANES: &str = "[lanes.api]\nowns = [\"api/\"]\n\n[lanes.web]\nowns = [\"web/\"]\n\n\
                          [lanes.docs]\nowns = [\"README.md\", \"docs/\"]\n";

/// The sample's test command: Python's own runner, so the demo needs nothing installed.
const DEMO_TESTS: &str = "python3 -m unittest discover -v";

/// Returns `config` with the `[gates] tests` line set to `command`.
fn with_tests(config: &str, command: &str) -> String {
    config
        .lines()
        .map(|line| {
            if line.starts_with("tests = ") {
                format!("tests = \"{command}\"")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

const DEMO_SEAMS: &str = "paths = [\"db/schema.sql\", \"pyproject.toml\"]";

/// Runs `slipway ARGS` in the sample project at `here`, showing the command first.
fn slipway_at(here: &str, args: &[&str]) -> Result<Outcome> {
    let shown: Vec<String> = args.iter().map(|a| shell_word(a)).collect();
    output::line(format!("$ slipway {}", shown.join(" ")))?;
    let command_line = ["slipway", "-C", here]
        .into_iter()
        .chain(args.iter().copied());
    let cli = Cli::try_parse_from(command_line).context("the demo's command line")?;
    let global = GlobalArgs {
        project: cli.global.project,
        database_url: None,
    };
    let outcome = super::run(cli.command, &global)?;
    output::line("")?;
    Ok(outcome)
}

/// Runs the tour. Each step runs a real `slipway` command in the sample project.
pub(crate) fn run(args: &DemoArgs, _global: &GlobalArgs) -> Result<Outcome> {
    let dir = prepare_dir(args.dir.as_deref())?;
    let here = dir.to_string_lossy().into_owned();
    set_up(&dir, &here)?;
    rehearse(&here)
}

/// Steps 1 to 4: the sample project, its configuration and its tasks.
fn set_up(dir: &Path, here: &str) -> Result<()> {
    let slipway = |args: &[&str]| slipway_at(here, args);
    step("1. A sample project, Tally: an API, a web page, docs, a shared schema")?;
    make_repo(dir)?;
    output::line(format!("created a git repository in {here}\n"))?;

    step("2. Set Slipway up")?;
    slipway(&["init"])?;

    step("3. Divide the code into lanes, with the schema and the manifest as seams")?;
    let config = dir.join("slipway.toml");
    let text = fs::read_to_string(&config).context("read the generated slipway.toml")?;
    let text = text
        .replacen(DEFAULT_LANE, DEMO_LANES, 1)
        .replacen("paths = []", DEMO_SEAMS, 1)
        .replacen(
            "default = \"anthropic:claude-sonnet-4-5\"",
            &format!("default = \"{}\"", pipeline::MODEL),
            1,
        );
    let text = with_tests(&text, DEMO_TESTS) + pipeline::PRICE;
    fs::write(&config, text).context("write slipway.toml")?;
    git::stdout_of(dir, &["add", "-A"])?;
    git::stdout_of(
        dir,
        &["commit", "-q", "-m", "Set up Slipway with three lanes"],
    )?;
    if slipway(&["lanes", "check"])? != Outcome::Success {
        bail!("the demo's lanes are not MECE; this is a bug in the demo");
    }
    slipway(&[
        "lanes",
        "which",
        "api/server.py",
        "db/schema.sql",
        "slipway.toml",
    ])?;

    step("4. File two tasks, each in its lane; the page's waits for the API's")?;
    slipway(&[
        "task",
        "add",
        "Add a decrement that stops at zero",
        "--lane",
        "api",
    ])?;
    slipway(&[
        "task",
        "add",
        "Show the count in the page title",
        "--lane",
        "web",
        "--depends-on",
        "1",
    ])?;

    Ok(())
}

/// Steps 5 to 12: the pipeline, the human gates, a release, a task left ready, a rollback.
fn rehearse(here: &str) -> Result<Outcome> {
    let slipway = |args: &[&str]| slipway_at(here, args);
    let confined = sandbox_available();
    if !confined {
        output::line(
            "(the sandbox needs root, which this is not: the rehearsal runs the sample's tests \
             unconfined, with --no-sandbox; its agents are scripted and run no commands)\n",
        )?;
    }
    let no_sandbox: &[&str] = if confined { &[] } else { &["--no-sandbox"] };
    let scripted = pipeline::scripted();
    let run = || -> Result<Outcome> {
        let mut args = vec!["run", "--agents", "2", "--until-idle"];
        args.extend_from_slice(no_sandbox);
        output::line(format!("$ slipway {}", args.join(" ")))?;
        let line = ["slipway", "-C", here]
            .into_iter()
            .chain(args.iter().copied());
        let cli = Cli::try_parse_from(line).context("the demo's command line")?;
        let Command::Run(run_args) = cli.command else {
            bail!("the demo's run command did not parse as `run`; this is a bug in the demo");
        };
        let global = GlobalArgs {
            project: cli.global.project,
            database_url: None,
        };
        let outcome = block_on_threads(super::run::run_with(&run_args, &global, scripted.clone()))?;
        output::line("")?;
        Ok(outcome)
    };
    let with_sandbox = |args: &[&str]| -> Result<Outcome> {
        let mut all = args.to_vec();
        all.extend_from_slice(no_sandbox);
        slipway(&all)
    };

    step("5. Run the pipeline, rehearsed: plan, review, code, test, debug, review")?;
    output::line(format!(
        "(every agent runs on `{}`, a scripted model in this process: no key, no network. \
         With [models] set to a real provider, the same pipeline runs for real.)",
        pipeline::MODEL
    ))?;
    expect(run()?, Outcome::Success, "the first run")?;

    step("6. What the gates recorded: the plan, each review's findings, the test runs")?;
    slipway(&["task", "show", "1"])?;

    step("7. A person approves: the reviewed commit is merged into staging and tested there")?;
    expect(
        with_sandbox(&["approve", "1"])?,
        Outcome::Success,
        "approving task 1",
    )?;

    step("8. A person releases: production fast-forwards to staging, tagged release-1")?;
    slipway(&["release", "--note", "decrement"])?;

    step("9. The page's task waited for the API's; now it runs, is approved and released")?;
    expect(run()?, Outcome::Success, "the second run")?;
    expect(
        with_sandbox(&["approve", "2"])?,
        Outcome::Success,
        "approving task 2",
    )?;
    slipway(&["release", "--note", "count in the title"])?;

    step("10. A third task, for the docs: it runs up to `ready` and waits for a person")?;
    slipway(&[
        "task",
        "add",
        "Document decrement in the README",
        "--lane",
        "docs",
    ])?;
    expect(run()?, Outcome::Success, "the third run")?;

    step("11. Roll production back to release-1; staging keeps both changes")?;
    slipway(&["rollback"])?;
    slipway(&["releases"])?;
    slipway(&["log"])?;
    slipway(&["status"])?;

    step("12. Every agent run is a trace of spans with tokens and cost, in plain SQL")?;
    slipway(&["trace", "list"])?;
    slipway(&["cost", "--by", "role"])?;

    output::line(format!(
        "That was a rehearsal on a scripted model. The project stays in {here}: see a task with \
         `slipway -C {here} task show 1`, a run with `slipway -C {here} trace show ID --full` \
         (ids from `trace list`); the SQL behind the traces is in docs/tracing.md."
    ))?;
    output::line(format!(
        "Next: `cd {here} && slipway up`, open http://127.0.0.1:7777/ and log in with the token it \
         prints. Task 3 waits there for you to approve it, and you can release and roll back."
    ))?;
    Ok(Outcome::Success)
}

fn expect(got: Outcome, want: Outcome, what: &str) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        bail!("{what} ended {got:?}, not {want:?}; this is a bug in the demo")
    }
}

/// Whether the sandbox can start here (it needs root).
fn sandbox_available() -> bool {
    slipway_sandbox::Helper::current_exe()
        .and_then(slipway_sandbox::Sandbox::new)
        .is_ok()
}

/// Returns `word` as a shell would need it typed.
fn shell_word(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c))
        && !word.is_empty()
    {
        word.to_owned()
    } else {
        let mut quoted = String::from("\"");
        for c in word.chars() {
            if matches!(c, '\\' | '"' | '$' | '`') {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
        quoted
    }
}

fn step(title: &str) -> Result<()> {
    output::line(format!("== {title}"))
}

/// Returns the directory to build the sample project in: new or empty.
fn prepare_dir(dir: Option<&Path>) -> Result<PathBuf> {
    let dir = match dir {
        Some(dir) => {
            if dir.exists()
                && fs::read_dir(dir)
                    .with_context(|| format!("cannot read {}", dir.display()))?
                    .next()
                    .is_some()
            {
                bail!(
                    "{} is not empty: give --dir a new or empty directory",
                    dir.display()
                );
            }
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            dir.to_path_buf()
        }
        None => tempfile_dir()?,
    };
    dir.canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))
}

fn tempfile_dir() -> Result<PathBuf> {
    let base = std::env::temp_dir();
    for n in 0..1000u32 {
        let dir = base.join(format!("slipway-demo-{}-{n}", std::process::id()));
        if fs::create_dir(&dir).is_ok() {
            return Ok(dir);
        }
    }
    bail!(
        "cannot create a directory under {}: pass --dir PATH",
        base.display()
    )
}

fn make_repo(dir: &Path) -> Result<()> {
    for (path, contents) in FILES {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&file, contents).with_context(|| format!("cannot write {}", file.display()))?;
    }
    git::stdout_of(dir, &["init", "-q", "-b", "main"])?;
    git::stdout_of(dir, &["config", "user.name", "Slipway Demo"])?;
    git::stdout_of(dir, &["config", "user.email", "demo@slipway.invalid"])?;
    git::stdout_of(dir, &["add", "-A"])?;
    git::stdout_of(dir, &["commit", "-q", "-m", "Tally: a counter service"]).map(drop)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(super::shell_word("lanes"), "lanes");
        assert_eq!(super::shell_word("a b"), "\"a b\"");
        assert_eq!(super::shell_word("say \"$x\""), "\"say \\\"\\$x\\\"\"");
        assert_eq!(super::shell_word(""), "\"\"");
    }
}
