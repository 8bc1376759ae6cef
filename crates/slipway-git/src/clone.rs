//! Reading a task's clone after it was handed to the sandbox user, when it
//! is untrusted input (pipeline.md "Clones are untrusted"): its config may
//! name hooks, an fsmonitor, filters, an external diff, a pager, aliases.
//!
//! Git never runs with the clone as its repository here. The clone is only
//! read through `git upload-pack` (which runs no hooks and honours no
//! command-running setting from a repository's own config), started with
//! the protections spelled out, because git drops `-c` settings when it
//! starts `upload-pack` for a local path. Its work tree is compared in a
//! throwaway repository of our own (our config, a copy of the clone's
//! index, the clone's objects borrowed read-only), so a filter the clone's
//! config defines is never run.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use crate::command::{Git, shell_quote};
use crate::{GitError, Repo, Sha, names, status};

/// Uncommitted paths listed by [`unsaved_work`], at most.
const LISTED_PATHS: usize = 20;

impl Repo {
    /// Fetches `refs/heads/<branch>` from the clone at `clone` into this
    /// repository's `refs/heads/<branch>`, forced (the agent may rewrite
    /// its branch), without tags and without writing `FETCH_HEAD`; returns
    /// the fetched head. The clone may belong to another user.
    pub async fn fetch_branch(&self, clone: &Path, branch: &str) -> Result<Sha, GitError> {
        names::branch(branch)?;
        let git_dir = clone_git_dir(clone)?;
        let refspec = format!("+refs/heads/{branch}:refs/heads/{branch}");
        let out = self
            .git()
            .args([
                "-c",
                "transfer.fsckObjects=true",
                "fetch",
                "-q",
                "--no-tags",
                "--no-write-fetch-head",
                "--no-prune",
            ])
            .args(["--no-recurse-submodules", "--no-auto-maintenance"])
            .arg(upload_pack(&git_dir))
            .arg("--")
            .arg(&git_dir)
            .arg(refspec)
            .output()
            .await?;
        if !out.success() {
            return Err(if out.stderr.contains("couldn't find remote ref") {
                GitError::NoSuchBranch {
                    clone: clone.to_owned(),
                    branch: branch.to_owned(),
                }
            } else {
                out.into_error()
            });
        }
        let full = format!("refs/heads/{branch}");
        self.resolve(&full).await?.ok_or_else(|| GitError::Parse {
            command: format!("git rev-parse {full}"),
            detail: "the branch just fetched is missing".into(),
        })
    }
}

/// Returns what removing the clone at `clone` would lose, one line each:
/// commits on its branches (`branch` first), its detached `HEAD` or its
/// stash that are not in `merged_into` (a commit of the main repository),
/// and uncommitted or untracked (not ignored) paths of its work tree.
/// Empty when it is safe to remove.
pub async fn unsaved_work(
    repo: &Repo,
    clone: &Path,
    branch: &str,
    merged_into: &Sha,
) -> Result<Vec<String>, GitError> {
    let git_dir = clone_git_dir(clone)?;
    let clone = git_dir.parent().unwrap_or(&git_dir).to_owned();
    let tips = clone_refs(repo, &git_dir).await?;
    let view = View::new(repo, &git_dir, merged_into).await?;
    let mut found = Vec::new();
    let mut seen: Vec<&Sha> = Vec::new();
    let wanted = format!("refs/heads/{branch}");
    let ordered = tips
        .iter()
        .filter(|(name, _)| *name == wanted)
        .chain(tips.iter().filter(|(name, _)| *name != wanted));
    for (name, tip) in ordered {
        if seen.contains(&tip) {
            continue;
        }
        seen.push(tip);
        let count = view.commits_not_in(tip, merged_into).await?;
        if count == 0 {
            continue;
        }
        let s = if count == 1 { "" } else { "s" };
        let short = merged_into.short();
        found.push(match name.strip_prefix("refs/heads/") {
            Some(branch) => {
                format!("{count} commit{s} on branch `{branch}` not merged into {short}")
            }
            None if name == "refs/stash" => "stashed changes (`git stash list`)".to_owned(),
            None => format!("{count} commit{s} at the detached HEAD not merged into {short}"),
        });
    }
    let head = tips
        .iter()
        .find(|(name, _)| name == "HEAD")
        .map(|(_, sha)| sha);
    let paths = view.uncommitted(&clone, head).await?;
    for entry in paths.iter().take(LISTED_PATHS) {
        let what = if entry.code == "??" {
            "untracked"
        } else {
            "uncommitted change to"
        };
        found.push(format!("{what} `{}`", entry.path));
    }
    if paths.len() > LISTED_PATHS {
        found.push(format!(
            "{} more uncommitted paths",
            paths.len() - LISTED_PATHS
        ));
    }
    Ok(found)
}

/// Returns the clone's `.git`, absolute, after checking that it is a plain
/// directory: a symlink or a `gitdir:` file could lead git to another
/// repository.
fn clone_git_dir(clone: &Path) -> Result<PathBuf, GitError> {
    let unsafe_clone = |why: String| GitError::UnsafeClone {
        clone: clone.to_owned(),
        why,
    };
    let root = clone
        .canonicalize()
        .map_err(|e| unsafe_clone(format!("cannot resolve it: {e}")))?;
    let git_dir = root.join(".git");
    match fs::symlink_metadata(&git_dir) {
        Ok(meta) if meta.is_dir() => Ok(git_dir),
        Ok(_) => Err(unsafe_clone("its `.git` is not a directory".into())),
        Err(e) => Err(unsafe_clone(format!("cannot read its `.git`: {e}"))),
    }
}

/// The `--upload-pack` option that serves the clone: exactly its `.git`
/// (`--strict`), allowed though another user owns it, hooks and fsmonitor off.
fn upload_pack(git_dir: &Path) -> OsString {
    let mut opt = OsString::from(
        "--upload-pack=git -c core.hooksPath=/dev/null -c core.fsmonitor= -c safe.directory=",
    );
    opt.push(shell_quote(git_dir.as_os_str()));
    opt.push(" upload-pack --strict");
    opt
}

/// Returns the clone's `HEAD`, branches and stash with their commits.
async fn clone_refs(repo: &Repo, git_dir: &Path) -> Result<Vec<(String, Sha)>, GitError> {
    let out = repo
        .git()
        .arg("ls-remote")
        .arg(upload_pack(git_dir))
        .arg("--")
        .arg(git_dir)
        .args(["HEAD", "refs/heads/*", "refs/stash"])
        .output()
        .await?;
    if !out.success() {
        return Err(out.into_error());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut refs = Vec::new();
    for line in text.lines() {
        let bad = || GitError::Parse {
            command: out.command.clone(),
            detail: format!("an unexpected line `{}`", line.escape_debug()),
        };
        let (sha, name) = line.split_once('\t').ok_or_else(bad)?;
        // Patterns match the ends of names; keep only the exact ones.
        if name == "HEAD" || name == "refs/stash" || name.starts_with("refs/heads/") {
            refs.push((name.to_owned(), sha.parse().map_err(|_| bad())?));
        }
    }
    Ok(refs)
}

/// A throwaway repository of our own that sees the main repository's and
/// the clone's objects, for questions about the clone.
struct View {
    dir: tempfile::TempDir,
}

impl View {
    async fn new(repo: &Repo, git_dir: &Path, like: &Sha) -> Result<Self, GitError> {
        let dir = tempfile::Builder::new()
            .prefix("slipway-view-")
            .tempdir()
            .map_err(|e| GitError::io("cannot make a temporary directory", e))?;
        repo.git()
            .args(["init", "-q", "--bare", "--template="])
            .arg(format!("--object-format={}", like.object_format()))
            .arg(dir.path())
            .run()
            .await?;
        let mut alternates = OsString::from(repo.objects());
        alternates.push("\n");
        alternates.push(git_dir.join("objects"));
        alternates.push("\n");
        let file = dir.path().join("objects/info/alternates");
        fs::create_dir_all(dir.path().join("objects/info"))
            .and_then(|()| fs::write(&file, alternates.as_encoded_bytes()))
            .map_err(|e| GitError::io(format!("cannot write {}", file.display()), e))?;
        let index = git_dir.join("index");
        if fs::symlink_metadata(&index).is_ok_and(|m| m.is_file()) {
            fs::copy(&index, dir.path().join("index"))
                .map_err(|e| GitError::io(format!("cannot copy {}", index.display()), e))?;
        }
        Ok(Self { dir })
    }

    /// A command on this repository, run in `cwd`.
    fn git(&self, cwd: &Path) -> Git {
        let mut git_dir = OsString::from("--git-dir=");
        git_dir.push(self.dir.path());
        Git::new(cwd).arg(git_dir)
    }

    /// Counts the commits reachable from `tip` and not from `merged_into`.
    async fn commits_not_in(&self, tip: &Sha, merged_into: &Sha) -> Result<u64, GitError> {
        let stdout = self
            .git(self.dir.path())
            .args([
                "rev-list",
                "--count",
                tip.as_str(),
                "--not",
                merged_into.as_str(),
            ])
            .run()
            .await?;
        let text = String::from_utf8_lossy(&stdout);
        text.trim().parse().map_err(|_| GitError::Parse {
            command: "git rev-list --count".into(),
            detail: format!("expected a number, got `{}`", text.trim()),
        })
    }

    /// Lists the clone's work tree's differences from its `HEAD`, judged
    /// with this repository's config and the clone's index.
    async fn uncommitted(
        &self,
        clone: &Path,
        head: Option<&Sha>,
    ) -> Result<Vec<status::Entry>, GitError> {
        if let Some(head) = head {
            let file = self.dir.path().join("HEAD");
            fs::write(&file, format!("{head}\n"))
                .map_err(|e| GitError::io(format!("cannot write {}", file.display()), e))?;
        }
        let mut work_tree = OsString::from("--work-tree=");
        work_tree.push(clone);
        let out = self
            .git(clone)
            .safe_directory(clone)
            .arg(work_tree)
            .args(["status", "--porcelain=v1", "-z", "--untracked-files=normal"])
            .args(["--no-renames", "--ignore-submodules=all"])
            .output()
            .await?;
        if !out.success() {
            return Err(out.into_error());
        }
        status::parse(&out.stdout, &out.command)
    }
}
