//! Task workspaces: the private clone each task works in, made from
//! staging's head, handed to the sandbox user, set up, committed in and
//! fetched back from, and removed only when nothing in it would be lost.
//!
//! Once handed over, a clone is untrusted: git runs there only inside the
//! sandbox, and the orchestrator only fetches the task's branch back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use slipway_git::Sha;
use slipway_sandbox::{Network, Outcome, hand_over};
use slipway_types::{StageResult, TaskId, TaskState, task_branch};

use crate::pipeline::identity;
use crate::{Pipeline, PipelineError};

/// The stage name of the record that holds a workspace's base commit.
pub(crate) const WORKSPACE: &str = "workspace";

/// Build output that a test run leaves in a clone and that is never the
/// agent's work; kept out of its commits.
const EXCLUDE: &str = "target/\n__pycache__/\n*.pyc\n.pytest_cache/\nnode_modules/\n.venv/\n";

/// The shell script that commits whatever the agent changed, run in the
/// sandbox as the clone's owner. `$1` is the message.
const COMMIT: &str = "set -e
unresolved=$(git diff --name-only --diff-filter=U | while read -r f; do
  if grep -qE '^(<<<<<<<|>>>>>>>)( |$)' \"$f\" 2>/dev/null; then echo \"$f\"; fi; done)
if [ -n \"$unresolved\" ]; then
  echo \"unresolved merge conflicts in: $unresolved\" >&2; exit 3
fi
git -c core.hooksPath=/dev/null add -A
if [ ! -f .git/MERGE_HEAD ] && git diff --cached --quiet; then exit 0; fi
git -c core.hooksPath=/dev/null -c commit.gpgsign=false commit -q --no-verify -m \"$1\"";

/// The shell script that merges the staging bundle into the task's branch,
/// in the sandbox; a conflict is left for the coder, with its markers.
const MERGE_STAGING: &str = "set -e
git fetch -q .git/slipway-staging.bundle \"+refs/slipway/bundles/$1:refs/remotes/slipway/staging\"
git -c core.hooksPath=/dev/null merge -q --no-edit \"$1\" >/dev/null 2>&1 || true
if ! git merge-base --is-ancestor \"$1\" HEAD && [ \"$(cat .git/MERGE_HEAD 2>/dev/null)\" != \"$1\" ]; then
  echo \"staging ($1) could not be merged into the branch\" >&2; git status --short >&2; exit 3
fi
git status --short";

/// A task's clone and the commit it started from.
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub(crate) dir: PathBuf,
    pub(crate) base: Sha,
}

impl Pipeline {
    /// Makes `task`'s workspace from staging's head and moves the task from
    /// `queued` to `planning`, recording the base in the same write.
    pub(crate) async fn open_workspace(&self, id: TaskId) -> Result<(), PipelineError> {
        let envs = self.repo.ensure_environments().await?;
        let dir = self.work_dir(id);
        if dir.exists() {
            // A queued task never ran an agent: what is here is a
            // half-made workspace from a run that stopped.
            remove_dir(&dir)?;
        }
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)?;
        }
        self.note(
            id,
            &format!(
                "making its workspace from staging ({})",
                short(&envs.staging)
            ),
        );
        self.repo
            .create_workspace(
                &dir,
                &task_branch(id),
                &envs.staging,
                &identity("agent"),
                &self.config.workspace.copy,
            )
            .await?;
        std::fs::create_dir_all(dir.join(".git/info"))?;
        // Copied files stay out of the task's commits too.
        let mut exclude = EXCLUDE.to_owned();
        for path in &self.config.workspace.copy {
            exclude.push('/');
            exclude.push_str(path.trim_start_matches("./"));
            exclude.push('\n');
        }
        std::fs::write(dir.join(".git/info/exclude"), exclude)?;
        if self.sandbox.is_isolated() {
            hand_over(&dir, &self.sandbox_user()?)?;
        }
        self.setup(id, &dir).await?;
        let mut result = StageResult::new(id, WORKSPACE, true, "workspace made from staging");
        result.sha = Some(envs.staging.to_string());
        result.body = dir.display().to_string();
        self.finish(
            &result,
            TaskState::Queued,
            TaskState::Planning,
            "scheduler: lane free, dependencies staged",
        )
        .await?;
        Ok(())
    }

    /// Runs `[workspace] setup` once in the new clone, in the sandbox.
    async fn setup(&self, id: TaskId, dir: &Path) -> Result<(), PipelineError> {
        let setup = self.config.workspace.setup.trim();
        if setup.is_empty() {
            return Ok(());
        }
        self.note(id, &format!("setting it up: {setup}"));
        let mut spec = self.spec(
            vec!["sh".into(), "-c".into(), setup.to_owned()],
            dir,
            self.limits(Duration::from_secs(
                self.config.sandbox.timeout_secs.max(600),
            )),
        )?;
        if self.config.workspace.setup_network {
            spec.network = Network::Host;
        }
        let outcome = self.sandbox.run(&spec).await?;
        if outcome.exit.success() {
            return Ok(());
        }
        Err(PipelineError::Other(format!(
            "[workspace] setup `{setup}` failed in task {id}'s workspace ({}): {}",
            outcome.exit,
            tail(&outcome, 2000)
        )))
    }

    /// Returns `task`'s workspace, which its `workspace` record names.
    pub(crate) async fn workspace(&self, id: TaskId) -> Result<Workspace, PipelineError> {
        let records = self.store.stage_results(id).await?;
        let base = records
            .iter()
            .rev()
            .find(|r| r.result.stage == WORKSPACE)
            .and_then(|r| r.result.sha.as_deref())
            .ok_or_else(|| {
                PipelineError::Other(format!(
                    "task {id} has no workspace record: cancel it (`slipway task cancel {id} --why ...`) and add it again"
                ))
            })?;
        let dir = self.work_dir(id);
        if !dir.join(".git").is_dir() {
            return Err(PipelineError::Other(format!(
                "task {id}'s workspace {} is gone: cancel the task (`slipway task cancel {id} --why ...`) and add it again",
                dir.display()
            )));
        }
        let base = base
            .parse::<Sha>()
            .map_err(|e| PipelineError::Other(format!("task {id}'s base commit: {e}")))?;
        Ok(Workspace { dir, base })
    }

    /// Commits what the agent changed in `ws` (in the sandbox) and fetches
    /// the task's branch back; returns its head.
    pub(crate) async fn commit_and_fetch(
        &self,
        id: TaskId,
        ws: &Workspace,
        message: &str,
    ) -> Result<Sha, PipelineError> {
        let spec = self.spec(
            vec![
                "sh".into(),
                "-c".into(),
                COMMIT.into(),
                "sh".into(),
                message.to_owned(),
            ],
            &ws.dir,
            self.limits(Duration::from_mins(2)),
        )?;
        let outcome = self.sandbox.run(&spec).await?;
        if !outcome.exit.success() {
            return Err(PipelineError::Other(format!(
                "committing task {id}'s work failed ({}): {}",
                outcome.exit,
                tail(&outcome, 2000)
            )));
        }
        Ok(self.repo.fetch_branch(&ws.dir, &task_branch(id)).await?)
    }

    /// Merges staging's head into the task's branch in its clone, when
    /// staging moved past the task's base: a merge into staging conflicted
    /// or broke its tests, so the coder must work on top of it. Records the
    /// new base and returns `git status` of the clone (conflicts show as
    /// `UU`), or `None` when staging had not moved.
    pub(crate) async fn bring_staging(
        &self,
        id: TaskId,
        ws: &Workspace,
    ) -> Result<Option<String>, PipelineError> {
        let staging = self.repo.ensure_environments().await?.staging;
        if self.repo.is_ancestor(&staging, &ws.base).await? {
            return Ok(None);
        }
        let git_dir = ws.dir.join(".git");
        if !std::fs::symlink_metadata(&git_dir).is_ok_and(|m| m.is_dir()) {
            return Err(PipelineError::Other(format!(
                "task {id}'s clone has no .git directory of its own; cancel the task and add it again"
            )));
        }
        // Written by the orchestrator in a directory of its own, then moved
        // into the clone (a rename replaces a planted symlink, never follows it).
        let scratch = self.scratch_dir(&format!("bundle-{id}"));
        if scratch.exists() {
            remove_dir(&scratch)?;
        }
        std::fs::create_dir_all(&scratch)?;
        let bundle = scratch.join("staging.bundle");
        self.repo.bundle(&bundle, &staging, &ws.base).await?;
        if self.sandbox.is_isolated() {
            hand_over(&scratch, &self.sandbox_user()?)?;
        }
        std::fs::rename(&bundle, git_dir.join("slipway-staging.bundle"))?;
        remove_dir(&scratch)?;
        let spec = self.spec(
            vec![
                "sh".into(),
                "-c".into(),
                MERGE_STAGING.into(),
                "sh".into(),
                staging.to_string(),
            ],
            &ws.dir,
            self.limits(Duration::from_mins(5)),
        )?;
        let outcome = self.sandbox.run(&spec).await?;
        if !outcome.exit.success() {
            return Err(PipelineError::Other(format!(
                "bringing staging into task {id}'s clone failed ({}): {}",
                outcome.exit,
                tail(&outcome, 2000)
            )));
        }
        let mut result = StageResult::new(id, WORKSPACE, true, "staging merged into the workspace");
        result.sha = Some(staging.to_string());
        result.body = ws.dir.display().to_string();
        self.record(&result).await?;
        self.note(
            id,
            &format!("merged staging ({}) into its branch", short(&staging)),
        );
        Ok(Some(String::from_utf8_lossy(&outcome.stdout).into_owned()))
    }

    /// Removes `id`'s workspace unless it holds work not in `merged_into`;
    /// returns what was kept and why, if anything.
    pub(crate) async fn remove_workspace(
        &self,
        id: TaskId,
        merged_into: &Sha,
    ) -> Result<Option<String>, PipelineError> {
        let dir = self.work_dir(id);
        if !dir.exists() {
            return Ok(None);
        }
        let unsaved =
            slipway_git::unsaved_work(&self.repo, &dir, &task_branch(id), merged_into).await?;
        if unsaved.is_empty() {
            remove_dir(&dir)?;
            Ok(None)
        } else {
            Ok(Some(format!(
                "kept {}: {}",
                dir.display(),
                unsaved.join("; ")
            )))
        }
    }
}

fn remove_dir(dir: &Path) -> Result<(), PipelineError> {
    std::fs::remove_dir_all(dir)
        .map_err(|e| PipelineError::Other(format!("cannot remove {}: {e}", dir.display())))
}

/// Returns the first 12 characters of a commit id.
pub(crate) fn short(sha: &Sha) -> String {
    sha.to_string().chars().take(12).collect()
}

/// Returns the last `max` bytes of a command's output, stderr after stdout.
pub(crate) fn tail(outcome: &Outcome, max: usize) -> String {
    let mut text = String::from_utf8_lossy(&outcome.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&outcome.stderr));
    let text = text.trim();
    if text.len() <= max {
        return text.to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}
