//! `slipway init`: sets up Slipway in a git repository, idempotently.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::Args;
use slipway_config::CONFIG_FILE;
use slipway_store::StoreLocation;

use crate::commands::GlobalArgs;
use crate::project::{DB_FILE, STATE_DIR, load_config, root, store_location};
use crate::{Outcome, git, output};

#[derive(Debug, Args)]
pub(crate) struct InitArgs {}

/// The branches promotion moves; agents never write them.
const ENVIRONMENTS: [&str; 2] = ["staging", "production"];

const AGENTS_FILE: &str = "AGENTS.md";

const AGENTS_TEMPLATE: &str = "# Agents

Every Slipway agent reads this file first. Write here what an engineer new to
this codebase must know: how to build and test it, its conventions, and what
not to touch.

## State

<!-- slipway:state:begin -->
<!-- slipway:state:end -->
";

pub(crate) async fn run(_args: &InitArgs, global: &GlobalArgs) -> Result<Outcome> {
    let root = root(global)?;
    let Some(head) = git::head(&root)? else {
        bail!(
            "the repository at {} has no commit yet: commit something first \
             (for example `git commit --allow-empty -m initial`), then run `slipway init` again",
            root.display()
        );
    };
    let mut changes: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // Everything that can fail is checked before anything is written.
    let config_path = root.join(CONFIG_FILE);
    if config_path.exists() {
        load_config(&config_path)
            .context("`slipway init` keeps an existing slipway.toml: fix it, then run it again")?;
    }
    prepare_state_dir(&root, &mut changes)?;
    let location = store_location(&root, global);
    if let StoreLocation::Sqlite(path) = &location
        && !path.exists()
    {
        changes.push(format!("created the store {STATE_DIR}/{DB_FILE}"));
    }
    let store = slipway_store::open(&location)
        .await
        .with_context(|| format!("cannot open the store at {}", location.describe()))?;
    let version = store.schema_version().await?;
    let db_note = format!(
        "store: {} ({}, schema {version})",
        location.describe(),
        store.backend()
    );

    if !config_path.exists() {
        write_config(&root, &config_path, &mut changes, &mut notes)?;
    }

    if slipway_server::ensure_token(&root)?.1 {
        changes.push(format!(
            "created the access token {} (mode 0600) for `slipway up`",
            slipway_server::TOKEN_FILE
        ));
    }

    for name in ENVIRONMENTS {
        if git::branch(&root, name)?.is_none() {
            git::create_branch(&root, name, &head)?;
            changes.push(format!("created branch `{name}` at {}", short(&head)));
        }
    }

    let agents = root.join(AGENTS_FILE);
    if !agents.exists() {
        write_new(&agents, AGENTS_TEMPLATE)?;
        changes.push(format!("created {AGENTS_FILE} with an empty State section"));
    }

    if changes.is_empty() {
        output::line(format!(
            "Slipway is already set up in {}; nothing changed.",
            root.display()
        ))?;
    } else {
        output::line(format!("Set up Slipway in {}:", root.display()))?;
        for change in &changes {
            output::line(format!("  {change}"))?;
        }
    }
    output::line(format!("  {db_note}"))?;
    for note in &notes {
        output::line(format!("note: {note}"))?;
    }
    if !changes.is_empty() {
        output::line(format!(
            "Next: commit {CONFIG_FILE} and {AGENTS_FILE}, then run `slipway lanes check`."
        ))?;
    }
    Ok(Outcome::Success)
}

/// Creates `.slipway/` (private, git-ignored through its own `.gitignore`), or
/// checks the one there is a real, untracked, ignored directory.
fn prepare_state_dir(root: &Path, changes: &mut Vec<String>) -> Result<()> {
    let state_dir = root.join(STATE_DIR);
    match fs::symlink_metadata(&state_dir) {
        Ok(meta) if !meta.is_dir() => bail!(
            "{} is not a directory (a symlink or a file): remove it, then run `slipway init` again",
            state_dir.display()
        ),
        Ok(_) => {}
        Err(_) => {
            fs::create_dir(&state_dir)
                .with_context(|| format!("cannot create {}", state_dir.display()))?;
            restrict(&state_dir)?;
            changes.push(format!("created {STATE_DIR}/"));
        }
    }
    if git::tracked_files(root)?
        .iter()
        .any(|p| p.split('/').next() == Some(STATE_DIR))
    {
        bail!(
            "{STATE_DIR}/ holds files tracked by git: untrack them (`git rm -r --cached {STATE_DIR}`), then run `slipway init` again"
        );
    }
    // Git ignores a directory holding a `.gitignore` of `*`; the user's own `.gitignore` is left alone.
    let ignore_file = state_dir.join(".gitignore");
    if fs::symlink_metadata(&ignore_file).is_err() {
        write_new(&ignore_file, "*\n")?;
        changes.push(format!(
            "git-ignored {STATE_DIR}/ (with {STATE_DIR}/.gitignore)"
        ));
    }
    if !git::is_ignored(root, &format!("{STATE_DIR}/{DB_FILE}"))? {
        bail!(
            "git does not ignore {STATE_DIR}/ even with {STATE_DIR}/.gitignore: check for a `!{STATE_DIR}` rule in your ignore files"
        );
    }
    Ok(())
}

/// Writes the commented `slipway.toml`, with the test command guessed from the repository.
fn write_config(
    root: &Path,
    config_path: &Path,
    changes: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let tests = guess_test_command(root);
    let name = root
        .file_name()
        .map_or_else(|| "project".into(), |n| n.to_string_lossy().into_owned());
    write_new(config_path, &slipway_config::template(&name, tests))?;
    if let Some(cmd) = tests {
        changes.push(format!(
            "created {CONFIG_FILE} (one lane `main`; tests: `{cmd}`)"
        ));
    } else {
        changes.push(format!(
            "created {CONFIG_FILE} (one lane `main`; test command to fill in)"
        ));
        notes.push(format!(
            "could not guess how this project runs its tests: set `tests` under [gates] in {CONFIG_FILE}"
        ));
    }
    Ok(())
}

/// Returns the test command the repository's files suggest.
fn guess_test_command(root: &Path) -> Option<&'static str> {
    let has = |name: &str| root.join(name).is_file();
    if has("Cargo.toml") {
        Some("cargo test")
    } else if has("go.mod") {
        Some("go test ./...")
    } else if has("package.json") {
        Some("npm test")
    } else if [
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "pytest.ini",
        "tox.ini",
    ]
    .iter()
    .any(|f| has(f))
    {
        Some("pytest")
    } else {
        None
    }
}

/// Writes a file that must not exist yet, so a concurrent writer's file is never replaced.
fn write_new(path: &Path, contents: &str) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(unix)]
fn restrict(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict {}", dir.display()))
}

#[cfg(not(unix))]
fn restrict(_dir: &Path) -> Result<()> {
    Ok(())
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
