//! The few git operations the foundation needs, run with the real `git`.
//!
//! Every call disables hooks and fsmonitor so that a repository's own
//! configuration cannot make Slipway run code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};

fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args([
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.fsmonitor=",
            "-c",
            "commit.gpgsign=false",
        ])
        .env("GIT_TERMINAL_PROMPT", "0");
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Result<Output> {
    git(dir).args(args).output().with_context(|| {
        format!(
            "cannot run `git {}`: is git installed and on PATH?",
            args.join(" ")
        )
    })
}

/// Runs git in `dir`, fails with its stderr when it fails, and returns its stdout.
pub(crate) fn stdout_of(dir: &Path, args: &[&str]) -> Result<String> {
    let out = run(dir, args)?;
    if !out.status.success() {
        bail!(
            "`git {}` failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .trim_end_matches('\n')
        .to_owned())
}

/// Returns the root of the git working tree holding `dir`.
pub(crate) fn toplevel(dir: &Path) -> Result<PathBuf> {
    let out = run(dir, &["rev-parse", "--show-toplevel"])?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("not a git repository") {
            bail!(
                "{} is not inside a git repository: run `git init` and make a first commit, then `slipway init`",
                dir.display()
            );
        }
        bail!(
            "git cannot open the repository at {}: {}",
            dir.display(),
            stderr.trim()
        );
    }
    let root = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if root.is_empty() {
        bail!(
            "{} is inside a bare git repository: Slipway needs a working tree",
            dir.display()
        );
    }
    Ok(PathBuf::from(root))
}

/// Returns the commit HEAD points at, or `None` in a repository with no commit.
pub(crate) fn head(root: &Path) -> Result<Option<String>> {
    let out = run(root, &["rev-parse", "--verify", "-q", "HEAD^{commit}"])?;
    if out.status.success() {
        return Ok(Some(String::from_utf8_lossy(&out.stdout).trim().to_owned()));
    }
    // HEAD naming an unborn branch is the one expected failure; anything else is git's to explain.
    let unborn = run(root, &["symbolic-ref", "-q", "HEAD"])?;
    if unborn.status.success() {
        Ok(None)
    } else {
        bail!(
            "git cannot read HEAD in {}: {}",
            root.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
    }
}

/// Returns the commit a local branch points at, if the branch exists.
pub(crate) fn branch(root: &Path, name: &str) -> Result<Option<String>> {
    let refname = format!("refs/heads/{name}");
    let out = run(root, &["rev-parse", "--verify", "-q", &refname])?;
    Ok(out
        .status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned()))
}

/// Creates branch `name` at `commit`, failing if it exists (no overwrite, even in a race).
pub(crate) fn create_branch(root: &Path, name: &str, commit: &str) -> Result<()> {
    let refname = format!("refs/heads/{name}");
    let zero = "0".repeat(commit.len());
    stdout_of(
        root,
        &["update-ref", "-m", "slipway init", &refname, commit, &zero],
    )
    .map(drop)
}

/// Returns true when git ignores `path` (relative to the root).
pub(crate) fn is_ignored(root: &Path, path: &str) -> Result<bool> {
    let out = run(root, &["check-ignore", "-q", "--no-index", path])?;
    match out.status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => bail!(
            "`git check-ignore {path}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
}

/// Returns the tracked paths, as `git ls-files` lists them.
pub(crate) fn tracked_files(root: &Path) -> Result<Vec<String>> {
    let out = run(root, &["ls-files", "-z", "--full-name"])?;
    if !out.status.success() {
        bail!(
            "`git ls-files` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

/// Returns the user's name from git's configuration, if set.
pub(crate) fn user_name(root: &Path) -> Option<String> {
    stdout_of(root, &["config", "user.name"])
        .ok()
        .filter(|n| !n.is_empty())
}
