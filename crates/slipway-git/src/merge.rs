//! Merging without a work tree: `git merge-tree --write-tree` computes the
//! merged tree (or the conflicts), `git commit-tree` records it. Nothing is
//! checked out and no ref moves; the caller moves the branch with
//! [`Repo::move_branch`].

use crate::{GitError, Identity, Repo, Sha};

/// What merging a commit onto another gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    /// A new merge commit whose parents are the two commits.
    Merged(Sha),
    /// The commit is already in the history of the one to merge onto.
    AlreadyMerged,
    /// The merge conflicts on these paths (sorted, each once).
    Conflict(Vec<String>),
}

impl Repo {
    /// Merges `commit` onto `onto` and records the result as a commit with
    /// `message` by `identity`, parents `onto` then `commit`.
    pub async fn merge(
        &self,
        onto: &Sha,
        commit: &Sha,
        message: &str,
        identity: &Identity,
    ) -> Result<Merge, GitError> {
        if self.is_ancestor(commit, onto).await? {
            return Ok(Merge::AlreadyMerged);
        }
        let out = self
            .git()
            .args([
                "merge-tree",
                "--write-tree",
                "-z",
                "--name-only",
                "--no-messages",
            ])
            .args([onto.as_str(), commit.as_str()])
            .output()
            .await?;
        // With `-z` and `--no-messages`: `TREE\0` and, on conflict, `PATH\0` each.
        let mut fields = out.stdout.split(|&b| b == 0).filter(|f| !f.is_empty());
        let tree = match out.code {
            Some(0) => Sha::from_stdout(fields.next().unwrap_or_default(), &out.command)?,
            Some(1) => {
                let mut paths: Vec<String> = fields
                    .skip(1)
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
                paths.sort();
                paths.dedup();
                return Ok(Merge::Conflict(paths));
            }
            _ => return Err(out.into_error()),
        };
        let stdout = self
            .git()
            .args([
                "commit-tree",
                "--no-gpg-sign",
                "-p",
                onto.as_str(),
                "-p",
                commit.as_str(),
            ])
            .args(["-m", message, tree.as_str()])
            .env("GIT_AUTHOR_NAME", &identity.name)
            .env("GIT_AUTHOR_EMAIL", &identity.email)
            .env("GIT_COMMITTER_NAME", &identity.name)
            .env("GIT_COMMITTER_EMAIL", &identity.email)
            .run()
            .await?;
        Ok(Merge::Merged(Sha::from_stdout(&stdout, "git commit-tree")?))
    }
}
