//! The one error type of the crate: what went wrong with a git command or
//! its input, worded so that the reader knows what to do next.

use std::path::PathBuf;

use crate::Sha;

/// A git command that could not run, failed, or was given bad input.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The `git` program could not be started.
    #[error("could not run `{command}`: {source}; install git (2.40 or later) and put it on PATH")]
    Spawn {
        /// The command line, without the settings every command carries.
        command: String,
        /// Why the process did not start.
        #[source]
        source: std::io::Error,
    },
    /// Git ran and failed.
    #[error("`{command}` failed in {}{}: {stderr}", dir.display(), code.map(|c| format!(" (exit {c})")).unwrap_or_default())]
    Failed {
        /// The command line, without the settings every command carries.
        command: String,
        /// The directory it ran in.
        dir: PathBuf,
        /// Its exit code; `None` when a signal ended it.
        code: Option<i32>,
        /// What git wrote to stderr, trimmed.
        stderr: String,
    },
    /// Git printed something this crate cannot read.
    #[error(
        "cannot read the output of `{command}`: {detail}; this is a bug in Slipway or an unsupported git version"
    )]
    Parse {
        /// The command line.
        command: String,
        /// What was wrong with the output.
        detail: String,
    },
    /// The directory is not in a git repository.
    #[error("{} is not a git repository: run `git init` there, or run Slipway in the repository's root", path.display())]
    NotARepository {
        /// The directory given.
        path: PathBuf,
    },
    /// The directory is a bare repository or inside `.git`.
    #[error("{} has no work tree (a bare repository, or inside `.git`): run Slipway in a checked-out repository's root", path.display())]
    NoWorkTree {
        /// The directory given.
        path: PathBuf,
    },
    /// The directory is inside a repository but not its root.
    #[error("{} is inside the git repository at {}, not its root: run Slipway in {}", path.display(), root.display(), root.display())]
    NotRoot {
        /// The directory given.
        path: PathBuf,
        /// The repository's root.
        root: PathBuf,
    },
    /// The repository has no commit, so there is nothing to branch from.
    #[error("the repository at {} has no commits yet: commit something first", path.display())]
    NoCommits {
        /// The repository's root.
        path: PathBuf,
    },
    /// A string that is not a commit id.
    #[error("`{value}` is not a commit id: expected 40 or 64 hex digits")]
    InvalidSha {
        /// The string given.
        value: String,
    },
    /// A branch, tag, remote or refspec that git would misread.
    #[error("`{value}` is not a valid {what}: {why}")]
    InvalidName {
        /// What the name is for: "branch name", "tag name", "remote", "refspec".
        what: &'static str,
        /// The name given.
        value: String,
        /// The rule it breaks.
        why: &'static str,
    },
    /// A clone lacks the branch to fetch.
    #[error("the clone at {} has no branch `{branch}`: the agent has not committed yet, or deleted it", clone.display())]
    NoSuchBranch {
        /// The clone.
        clone: PathBuf,
        /// The branch asked for.
        branch: String,
    },
    /// A clone whose `.git` is not a plain directory, so git could be led elsewhere.
    #[error("refusing to read the clone at {}: {why}; remove the workspace and make a new one", clone.display())]
    UnsafeClone {
        /// The clone.
        clone: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A file listed to copy into a workspace cannot be copied.
    #[error(
        "cannot copy `{path}` into the workspace: {why}; fix `[workspace] copy` in slipway.toml"
    )]
    Copy {
        /// The path as listed.
        path: String,
        /// Why it cannot be copied.
        why: String,
    },
    /// The tag exists and names another commit.
    #[error(
        "tag `{name}` already exists at {at}: choose another name, or delete the tag if it is wrong"
    )]
    TagConflict {
        /// The tag.
        name: String,
        /// The commit it names.
        at: Sha,
    },
    /// The remote refused some of the pushed refs.
    #[error("`{remote}` refused {}: fetch from it and look at what changed there before pushing again", refs.join(", "))]
    PushRejected {
        /// The remote.
        remote: String,
        /// Each refused refspec with git's reason.
        refs: Vec<String>,
    },
    /// A path git reported is not UTF-8, so it cannot be checked against lanes.
    #[error("the change to `{path}` cannot be checked: its name is not UTF-8; rename the file")]
    NonUtf8Path {
        /// The path, with the bytes that are not UTF-8 replaced.
        path: String,
    },
    /// An I/O error of this crate's own (not of git).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl GitError {
    /// Returns git's stderr when git ran and failed.
    #[must_use]
    pub fn stderr(&self) -> Option<&str> {
        match self {
            Self::Failed { stderr, .. } => Some(stderr),
            _ => None,
        }
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}
