//! The main repository: opening it, reading and moving its refs (the
//! `staging` and `production` environments, release tags), pushing them to
//! a remote, and its work tree's uncommitted paths.

use std::path::{Path, PathBuf};

use crate::command::Git;
use crate::{GitError, Sha, names, status};

/// How long git waits for another process's lock on a ref before failing.
const REF_LOCK_TIMEOUT_MS: &str = "2000";

/// The main repository, by its work tree's root.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
    objects: PathBuf,
}

/// The heads of the two environment branches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environments {
    /// The head of `staging`.
    pub staging: Sha,
    /// The head of `production`.
    pub production: Sha,
}

/// Who commits: the name and email git records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `user.name`.
    pub name: String,
    /// `user.email`.
    pub email: String,
}

impl Repo {
    /// Opens the repository whose work tree's root is `root`. Refuses a
    /// directory that is not a repository, a subdirectory of one, a bare
    /// repository and a repository without commits.
    pub async fn open(root: &Path) -> Result<Self, GitError> {
        if !root.is_dir() {
            return Err(GitError::NotARepository {
                path: root.to_owned(),
            });
        }
        let out = Git::new(root)
            .args(["rev-parse", "--path-format=absolute", "--show-toplevel"])
            .args(["--git-path", "objects"])
            .output()
            .await?;
        if !out.success() {
            return Err(if out.stderr.contains("not a git repository") {
                GitError::NotARepository {
                    path: root.to_owned(),
                }
            } else if out.stderr.contains("must be run in a work tree") {
                GitError::NoWorkTree {
                    path: root.to_owned(),
                }
            } else {
                out.into_error()
            });
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let (Some(top), Some(objects)) = (lines.next(), lines.next()) else {
            return Err(GitError::Parse {
                command: out.command,
                detail: format!("expected two lines, got `{}`", text.escape_debug()),
            });
        };
        let top = PathBuf::from(top);
        let given = root
            .canonicalize()
            .map_err(|e| GitError::io(format!("cannot resolve {}", root.display()), e))?;
        if given != top {
            return Err(GitError::NotRoot {
                path: root.to_owned(),
                root: top,
            });
        }
        let repo = Self {
            root: top,
            objects: PathBuf::from(objects),
        };
        if repo.resolve("HEAD").await?.is_none() {
            return Err(GitError::NoCommits {
                path: repo.root.clone(),
            });
        }
        Ok(repo)
    }

    /// Returns the work tree's root, absolute and with symlinks resolved.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Returns the repository's object directory (the one clones borrow).
    pub(crate) fn objects(&self) -> &Path {
        &self.objects
    }

    pub(crate) fn git(&self) -> Git {
        Git::new(&self.root)
    }

    /// Returns the commit `rev` names, or `None` when it names none.
    pub async fn resolve(&self, rev: &str) -> Result<Option<Sha>, GitError> {
        let out = self
            .git()
            .args(["rev-parse", "--verify", "-q", "--end-of-options"])
            .arg(format!("{rev}^{{commit}}"))
            .output()
            .await?;
        match out.code {
            Some(0) => Sha::from_stdout(&out.stdout, &out.command).map(Some),
            Some(1) => Ok(None),
            _ => Err(out.into_error()),
        }
    }

    /// Returns whether `ancestor` is `of` or one of its ancestors.
    pub async fn is_ancestor(&self, ancestor: &Sha, of: &Sha) -> Result<bool, GitError> {
        let out = self
            .git()
            .args([
                "merge-base",
                "--is-ancestor",
                ancestor.as_str(),
                of.as_str(),
            ])
            .output()
            .await?;
        match out.code {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(out.into_error()),
        }
    }

    /// Returns how many files (blobs, symlinks and submodules) commit `sha` holds.
    pub async fn file_count(&self, sha: &Sha) -> Result<usize, GitError> {
        let stdout = self
            .git()
            .args(["ls-tree", "-r", "-z", "--name-only", "--full-tree"])
            .arg(sha.as_str())
            .run()
            .await?;
        Ok(stdout.split(|&b| b == 0).filter(|f| !f.is_empty()).count())
    }

    /// Makes `staging` and `production` branches at `HEAD` when missing;
    /// returns both heads. A branch that exists is left where it is.
    pub async fn ensure_environments(&self) -> Result<Environments, GitError> {
        let head = self
            .resolve("HEAD")
            .await?
            .ok_or_else(|| GitError::NoCommits {
                path: self.root.clone(),
            })?;
        Ok(Environments {
            staging: self.ensure_branch("staging", &head).await?,
            production: self.ensure_branch("production", &head).await?,
        })
    }

    /// Creates `refs/heads/<name>` at `at` unless it exists; returns its head.
    async fn ensure_branch(&self, name: &str, at: &Sha) -> Result<Sha, GitError> {
        let full = format!("refs/heads/{name}");
        if let Some(head) = self.resolve(&full).await? {
            return Ok(head);
        }
        // An empty old value: create only, so a concurrent creator wins cleanly.
        let out = self.update_ref(&full, at, "").output().await?;
        match self.resolve(&full).await? {
            Some(head) => Ok(head),
            None => Err(out.into_error()),
        }
    }

    fn update_ref(&self, full: &str, new: &Sha, old: &str) -> Git {
        self.git()
            .config("core.filesRefLockTimeout", REF_LOCK_TIMEOUT_MS)
            .args([
                "update-ref",
                "--no-deref",
                "-m",
                "slipway",
                full,
                new.as_str(),
                old,
            ])
    }

    /// Moves branch `name` to `new` if it still points at `old` (a
    /// compare-and-swap): `Ok(true)` when it moved, `Ok(false)` when it
    /// pointed elsewhere (or did not exist).
    pub async fn move_branch(&self, name: &str, new: &Sha, old: &Sha) -> Result<bool, GitError> {
        names::branch(name)?;
        let full = format!("refs/heads/{name}");
        let out = self.update_ref(&full, new, old.as_str()).output().await?;
        if out.success() {
            return Ok(true);
        }
        // Judge by the ref itself, not by git's wording.
        if self.resolve(&full).await?.as_ref() == Some(old) {
            Err(out.into_error())
        } else {
            Ok(false)
        }
    }

    /// Creates the lightweight tag `name` at `sha`. Succeeds when the tag
    /// already names `sha`; refuses when it names another commit.
    pub async fn tag(&self, name: &str, sha: &Sha) -> Result<(), GitError> {
        names::tag(name)?;
        let full = format!("refs/tags/{name}");
        let out = self.update_ref(&full, sha, "").output().await?;
        if out.success() {
            return Ok(());
        }
        match self.resolve(&full).await? {
            Some(at) if at == *sha => Ok(()),
            Some(at) => Err(GitError::TagConflict {
                name: name.to_owned(),
                at,
            }),
            None => Err(out.into_error()),
        }
    }

    /// Writes a bundle of the commit `tip`, as `refs/slipway/bundles/TIP`,
    /// to `out`, without the history `since` already has: for a clone that
    /// holds `since` to fetch exactly `tip` from, whatever the branches do.
    pub async fn bundle(&self, out: &Path, tip: &Sha, since: &Sha) -> Result<(), GitError> {
        let name = format!("refs/slipway/bundles/{}", tip.as_str());
        self.git()
            .args(["update-ref", &name, tip.as_str()])
            .run()
            .await?;
        let made = self
            .git()
            .args(["bundle", "create", "-q"])
            .arg(out)
            .arg(&name)
            .arg(format!("^{}", since.as_str()))
            .run()
            .await
            .map(drop);
        let removed = self
            .git()
            .args(["update-ref", "-d", &name])
            .run()
            .await
            .map(drop);
        made.and(removed)
    }

    /// Pushes `refspecs` to `remote` (a configured remote's name, a URL or
    /// a path). Runs without the user's global git config, so credentials
    /// must come from ssh or the repository's own config.
    pub async fn push(&self, remote: &str, refspecs: &[String]) -> Result<(), GitError> {
        names::not_an_option(remote, "remote")?;
        if refspecs.is_empty() {
            return Err(GitError::InvalidName {
                what: "list of refspecs",
                value: String::new(),
                why: "it is empty",
            });
        }
        for spec in refspecs {
            names::not_an_option(spec, "refspec")?;
        }
        let out = self
            .git()
            .args([
                "push",
                "--porcelain",
                "--no-verify",
                "--recurse-submodules=no",
            ])
            .arg(remote)
            .args(refspecs)
            .output()
            .await?;
        if out.success() {
            return Ok(());
        }
        // `--porcelain` prints `!\tFROM:TO\t[rejected] (reason)` for each refused ref.
        let refused: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| line.strip_prefix("!\t"))
            .map(|line| line.replace('\t', " "))
            .collect();
        if refused.is_empty() {
            Err(out.into_error())
        } else {
            Err(GitError::PushRejected {
                remote: remote.to_owned(),
                refs: refused,
            })
        }
    }

    /// Returns the paths of the main work tree that differ from `HEAD`
    /// (modified, staged, untracked and not ignored), except the control
    /// files Slipway writes itself: `AGENTS.md` and anything in `.slipway/`.
    /// A path that is not UTF-8 has its odd bytes replaced.
    pub async fn dirty_paths(&self) -> Result<Vec<String>, GitError> {
        let out = self
            .git()
            .args(["status", "--porcelain=v1", "-z", "--untracked-files=normal"])
            .arg("--no-renames")
            .output()
            .await?;
        if !out.success() {
            return Err(out.into_error());
        }
        let entries = status::parse(&out.stdout, &out.command)?;
        Ok(entries
            .into_iter()
            .map(|e| e.path)
            .filter(|p| p != "AGENTS.md" && p != ".slipway" && !p.starts_with(".slipway/"))
            .collect())
    }
}
