//! `slipway demo`: a tour of Slipway on a sample project it creates, running
//! the real commands against the sample's own embedded store. The demo never
//! touches the store `SLIPWAY_DATABASE_URL` names: that one holds real work.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser};
use jiff::Timestamp;
use slipway_store::LeaseGrant;
use slipway_types::seam_lease_name;

use crate::commands::{GlobalArgs, block_on};

mod explorer;
use crate::project::Project;
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
    (
        "api/test_server.py",
        "from api.server import increment\n\n\ndef test_increment():\n    assert increment({}, \"a\") == 1\n",
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

const DEMO_SEAMS: &str = "paths = [\"db/schema.sql\", \"pyproject.toml\"]";

/// Runs the tour. Each step runs a real `slipway` command in the sample project.
pub(crate) fn run(args: &DemoArgs, _global: &GlobalArgs) -> Result<Outcome> {
    let dir = prepare_dir(args.dir.as_deref())?;
    let here = dir.to_string_lossy().into_owned();
    let slipway = |args: &[&str]| -> Result<Outcome> {
        let shown: Vec<String> = args.iter().map(|a| shell_word(a)).collect();
        output::line(format!("$ slipway {}", shown.join(" ")))?;
        let command_line = ["slipway", "-C", here.as_str()]
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
    };

    step("1. A sample project, Tally: an API, a web page, docs, a shared schema")?;
    make_repo(&dir)?;
    output::line(format!("created a git repository in {here}\n"))?;

    step("2. Set Slipway up")?;
    slipway(&["init"])?;

    step("3. Divide the code into lanes, with the schema and the manifest as seams")?;
    let config = dir.join("slipway.toml");
    let text = fs::read_to_string(&config).context("read the generated slipway.toml")?;
    let text = text
        .replacen(DEFAULT_LANE, DEMO_LANES, 1)
        .replacen("paths = []", DEMO_SEAMS, 1)
        + explorer::PRICE;
    fs::write(&config, text).context("write slipway.toml")?;
    git::stdout_of(&dir, &["add", "-A"])?;
    git::stdout_of(
        &dir,
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

    step("4. File tasks, each in one lane; the page and the docs wait for the API")?;
    slipway(&["task", "add", "Add a /health endpoint", "--lane", "api"])?;
    slipway(&[
        "task",
        "add",
        "Show the service health on the page",
        "--lane",
        "web",
        "--depends-on",
        "1",
    ])?;
    slipway(&[
        "task",
        "add",
        "Document the health check",
        "--lane",
        "docs",
        "--depends-on",
        "1",
    ])?;
    slipway(&["task", "list"])?;

    step("5. Two tasks want the shared schema: one lease, one holder at a time")?;
    block_on(lease_race(&dir))?;

    step("6. Cancel a task, with the reason on record")?;
    slipway(&[
        "task",
        "cancel",
        "3",
        "--why",
        "the README already covers it",
    ])?;

    step("7. Every change of state is an event")?;
    slipway(&["log"])?;

    step("8. An explorer agent studies the code: it may read, never write")?;
    let trace = explorer::tour(&dir)?;

    step("9. Every run is a trace of spans with tokens and cost, in plain SQL")?;
    slipway(&["trace", "list"])?;
    slipway(&["trace", "show", &trace.to_string()])?;
    slipway(&["cost", "--by", "role"])?;

    output::line(format!(
        "The project stays in {here}. Look around with `slipway -C {here} task show 1`, \
         `slipway -C {here} trace show {trace} --full` or `slipway -C {here} config show`; \
         the SQL behind the traces is in docs/tracing.md."
    ))?;
    Ok(Outcome::Success)
}

async fn lease_race(dir: &Path) -> Result<Outcome> {
    let demo_global = GlobalArgs {
        project: Some(dir.to_path_buf()),
        database_url: None,
    };
    let project = Project::open(&demo_global)?;
    let store = project.store().await?;
    let seam = seam_lease_name("db/schema.sql");
    let ttl = Duration::from_mins(10);
    for holder in ["task:1", "task:2"] {
        match store
            .acquire_lease(&seam, holder, ttl, Timestamp::now())
            .await?
        {
            LeaseGrant::Acquired(lease) => output::line(format!(
                "{holder} acquires {seam}: granted until {}",
                output::when(lease.expires_at)
            ))?,
            LeaseGrant::HeldBy(lease) => {
                output::line(format!(
                    "{holder} acquires {seam}: refused, {} holds it",
                    lease.holder
                ))?;
            }
        }
    }
    store.release_lease(&seam, "task:1").await?;
    output::line(format!("task:1 releases {seam}"))?;
    if let LeaseGrant::Acquired(_) = store
        .acquire_lease(&seam, "task:2", ttl, Timestamp::now())
        .await?
    {
        output::line(format!("task:2 acquires {seam}: granted"))?;
    }
    store.release_lease(&seam, "task:2").await?;
    output::line("")?;
    Ok(Outcome::Success)
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
