//! Making clones of the main repository: a task's workspace (a branch at
//! its base, the committer identity, copies of untracked files) and scratch
//! clones (a detached checkout).
//!
//! A workspace is a new repository into which the main repository pushes
//! only the base commit's history: it holds copies of those objects (no
//! hard link, no alternates), never the user's other branches, stashes or
//! unpruned objects, and it works inside the sandbox, where the main
//! repository is not visible. Scratch clones, which only the orchestrator
//! checks out before tests run in them, borrow the main repository's
//! objects with `--shared`. These run before a clone is handed over;
//! afterwards see `clone.rs`.

use std::path::{Path, PathBuf};

use crate::command::Git;
use crate::{GitError, Identity, Repo, Sha, copy, names};

impl Repo {
    /// Makes a task's workspace in `dir` (which must not exist, or be
    /// empty): a repository holding `base`'s history only, with `branch` checked out at `base`,
    /// `identity` as its committer, and a copy of each path in `copy`
    /// (relative to the root; files or directories, which must be inside
    /// the root). On failure after the clone exists, removes `dir`.
    pub async fn create_workspace(
        &self,
        dir: &Path,
        branch: &str,
        base: &Sha,
        identity: &Identity,
        copy: &[String],
    ) -> Result<(), GitError> {
        names::branch(branch)?;
        for path in copy {
            copy::check_listed(path)?;
        }
        let dir = &absolute(dir)?;
        if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
            return Err(GitError::io(
                format!(
                    "{} already exists and is not empty: remove it first",
                    dir.display()
                ),
                std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            ));
        }
        Git::new(self.root())
            // HEAD starts on a placeholder, so that the push below does not
            // update the checked-out branch (which git refuses).
            .args(["init", "-q", "--template=", "-b", "slipway-unborn", "--"])
            .arg(dir)
            .run()
            .await?;
        let filled = async {
            for (key, value) in [
                ("user.name", &identity.name),
                ("user.email", &identity.email),
            ] {
                Git::new(dir)
                    .safe_directory(dir)
                    .args(["config", key, value])
                    .run()
                    .await?;
            }
            // The objects cross a local pipe once: packing them without delta
            // search or compression is several times faster than making a
            // small pack, and the workspace is thrown away after the task.
            self.git()
                .args(["-c", "pack.window=0", "-c", "pack.compression=0"])
                .args(["push", "-q", "--no-verify", "--"])
                .arg(dir)
                .arg(format!("{}:refs/heads/{branch}", base.as_str()))
                .run()
                .await?;
            Git::new(dir)
                .safe_directory(dir)
                .args(["checkout", "-q", "-f", branch, "--"])
                .run()
                .await?;
            let (root, dir, paths) = (self.root().to_owned(), dir.to_owned(), copy.to_vec());
            tokio::task::spawn_blocking(move || copy::copy_all(&root, &dir, &paths))
                .await
                .map_err(|e| GitError::io("copying files into the workspace", e.into()))?
        };
        cleanup_on_error(dir, filled.await).await
    }

    /// Makes a scratch clone in `dir` with `sha` checked out, detached.
    pub async fn create_scratch(&self, dir: &Path, sha: &Sha) -> Result<(), GitError> {
        let dir = &absolute(dir)?;
        self.clone_into(dir).await?;
        let done = Git::new(dir)
            .safe_directory(dir)
            .args(["checkout", "-q", "--detach", sha.as_str(), "--"])
            .run()
            .await
            .map(drop);
        cleanup_on_error(dir, done).await
    }

    /// Makes a scratch clone of `sha` as [`Repo::create_scratch`] does, with
    /// the files `paths` as they are in the commit `from` (each must exist
    /// there). Paths are taken literally, never as patterns.
    pub async fn create_scratch_overlay(
        &self,
        dir: &Path,
        sha: &Sha,
        from: &Sha,
        paths: &[String],
    ) -> Result<(), GitError> {
        self.create_scratch(dir, sha).await?;
        if paths.is_empty() {
            return Ok(());
        }
        let dir = &absolute(dir)?;
        let done = Git::new(dir)
            .safe_directory(dir)
            .args(["--literal-pathspecs", "checkout", "-q", from.as_str(), "--"])
            .args(paths)
            .run()
            .await
            .map(drop);
        cleanup_on_error(dir, done).await
    }

    /// `git clone --shared --no-checkout --no-tags`, without templates (no
    /// sample hooks).
    async fn clone_into(&self, dir: &Path) -> Result<(), GitError> {
        self.git()
            .args([
                "clone",
                "-q",
                "--shared",
                "--no-checkout",
                "--no-tags",
                "--template=",
                "--",
            ])
            .arg(self.root())
            .arg(dir)
            .run()
            .await
            .map(drop)
    }
}

/// Makes `dir` absolute against the current directory, as the commands run elsewhere.
fn absolute(dir: &Path) -> Result<PathBuf, GitError> {
    std::path::absolute(dir)
        .map_err(|e| GitError::io(format!("cannot make {} absolute", dir.display()), e))
}

/// Removes a half-made clone, so that the caller can try again.
async fn cleanup_on_error(dir: &Path, result: Result<(), GitError>) -> Result<(), GitError> {
    if result.is_err() {
        let dir = dir.to_owned();
        // The first error is the one worth reporting; a leftover directory
        // makes the next attempt fail with a message naming it.
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
    }
    result
}
