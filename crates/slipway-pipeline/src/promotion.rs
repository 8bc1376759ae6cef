//! The human gates: `approve` (the reviewed commit merged into staging,
//! tested there, staging moved with a compare-and-swap), `reject`,
//! `release` (production fast-forwarded to staging and tagged) and
//! `rollback` (production moved back to a recorded release). Nothing else
//! moves `staging` or `production`.

use std::time::Duration;

use jiff::Timestamp;
use slipway_git::{Merge, Sha};
use slipway_store::{LeaseGrant, Store};
use slipway_types::{
    NewRelease, Release, ReleaseKind, Severity, StageResult, Task, TaskId, TaskState,
};

use crate::gates::{TestVerdict, judge_tests};
use crate::pipeline::{fault, holder_is_gone, holder_name, identity};
use crate::stages::finding;
use crate::testing::{ASSIGNMENT_BYTES, counts_words};
use crate::workspace::short;
use crate::{Pipeline, PipelineError, trim_failure};

/// A gate a person works on one task, and the states the task must be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Approve,
    Reject,
    Retry,
}

impl Gate {
    /// The states the gate acts on.
    fn states(self) -> &'static [TaskState] {
        match self {
            Self::Approve | Self::Reject => &[TaskState::Ready],
            Self::Retry => &[TaskState::NeedsHuman, TaskState::Failed],
        }
    }

    fn refusal(self) -> &'static str {
        match self {
            Self::Approve => "only a `ready` task can be approved",
            Self::Reject => "only a `ready` task can be rejected",
            Self::Retry => "only a `needs_human` or `failed` task can be retried",
        }
    }

    /// Returns task `id` if the gate may act on it, or
    /// [`PipelineError::WrongState`]: what the gate's action and its
    /// confirmation page both check.
    ///
    /// # Errors
    /// [`PipelineError::WrongState`], or the store's error.
    pub async fn task(self, store: &dyn Store, id: TaskId) -> Result<Task, PipelineError> {
        let task = store.task(id).await?;
        if self.states().contains(&task.state) {
            Ok(task)
        } else {
            Err(PipelineError::WrongState {
                id,
                state: task.state,
                what: self.refusal().to_owned(),
            })
        }
    }
}

/// The store lease that approve, reject, release and rollback hold.
pub const PROMOTION_LEASE: &str = "promotion";
const PROMOTION_TTL: Duration = Duration::from_hours(1);

/// How many times `approve` merges again when staging moved under it.
const MERGE_ATTEMPTS: usize = 5;

/// What `approve` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// Staging points at this merge now.
    Staged(String),
    /// The merge conflicted or its tests failed: the task went back to coding.
    SentBack(String),
}

/// What `release` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    pub release: Release,
    /// Workspaces kept because they hold work not in the release.
    pub kept: Vec<String>,
}

/// The change code review approved, as a person reads it before approving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewedChange {
    /// The commit the task's work started from (or last merged staging at).
    pub base: String,
    /// The commit code review approved: what `approve` merges.
    pub sha: String,
    /// `git diff base sha`, cut at `max_bytes` with a note of what was cut.
    pub diff: String,
}

/// Returns the latest passed code review among a task's stage records: its
/// place, and the commit it judged. Approving merges that commit, and the
/// task page shows its change, so both read it here.
fn latest_review(records: &[slipway_types::StageRecord]) -> Option<(usize, Option<&str>)> {
    let at = records
        .iter()
        .rposition(|r| r.result.stage == "code_review" && r.result.passed)?;
    Some((at, records[at].result.sha.as_deref()))
}

impl Pipeline {
    /// Returns the change the latest passed code review among a task's
    /// stage `records` judged, or `None` when no code review has passed (or
    /// the latest that did names no commit, which approving refuses too).
    pub async fn reviewed_change(
        &self,
        records: &[slipway_types::StageRecord],
        max_bytes: usize,
    ) -> Result<Option<ReviewedChange>, PipelineError> {
        let Some((at, Some(head))) = latest_review(records) else {
            return Ok(None);
        };
        let sha = |r: &slipway_types::StageRecord| {
            r.result.sha.as_deref().and_then(|s| s.parse::<Sha>().ok())
        };
        let (Some(head), Some(base)) = (
            head.parse::<Sha>().ok(),
            records[..at]
                .iter()
                .rev()
                .find(|r| r.result.stage == crate::workspace::WORKSPACE)
                .and_then(sha),
        ) else {
            return Ok(None);
        };
        let diff = self.repo.diff_text(&base, &head, max_bytes).await?;
        Ok(Some(ReviewedChange {
            base: base.to_string(),
            sha: head.to_string(),
            diff,
        }))
    }

    /// Merges the commit code review approved into staging, if the tests
    /// pass on the merge. With `seen`, the reviewed commit must be that one
    /// (the one the person looked at), else nothing moves.
    pub async fn approve(&self, id: TaskId, seen: Option<&str>) -> Result<Approval, PipelineError> {
        self.promoting(self.approve_held(id, seen)).await
    }

    async fn approve_held(
        &self,
        id: TaskId,
        seen: Option<&str>,
    ) -> Result<Approval, PipelineError> {
        self.refuse_checked_out("staging")?;
        self.task_for(id, Gate::Approve).await?;
        let records = self.store.stage_results(id).await?;
        let reviewed = latest_review(&records)
            .and_then(|(_, sha)| sha)
            .ok_or_else(|| {
                PipelineError::Other(format!("task {id} has no approved code review"))
            })?;
        let reviewed: Sha = reviewed
            .parse()
            .map_err(|e| PipelineError::Other(format!("task {id}'s reviewed commit: {e}")))?;
        changed_since_seen("task's reviewed commit", &reviewed, seen)?;
        for _ in 0..MERGE_ATTEMPTS {
            let staging = self.repo.ensure_environments().await?.staging;
            if self.repo.is_ancestor(&reviewed, &staging).await? {
                // Merged before (a run stopped after moving staging): move the task only.
                return self.staged(id, &staging, None).await;
            }
            let message = format!("Merge task {id} ({}) into staging", short(&reviewed));
            let merged = match self
                .repo
                .merge(&staging, &reviewed, &message, &identity("approve"))
                .await?
            {
                Merge::AlreadyMerged => return self.staged(id, &staging, None).await,
                Merge::Conflict(paths) => {
                    let mut result =
                        StageResult::new(id, "approve", false, "the merge into staging conflicts");
                    result.findings = paths
                        .iter()
                        .map(|p| {
                            let mut f = finding(Severity::High, "conflicts with staging", "Staging changed this file too: bring your change up to date with it.");
                            f.location.clone_from(p);
                            f
                        })
                        .collect();
                    let reason =
                        format!("merge into staging red: conflicts in {}", paths.join(", "));
                    self.finish(&result, TaskState::Ready, TaskState::Coding, &reason)
                        .await?;
                    return Ok(Approval::SentBack(reason));
                }
                Merge::Merged(sha) => sha,
            };
            self.progress.note(
                Some(id),
                &format!(
                    "merged {} onto staging as {}; running the tests on it",
                    short(&reviewed),
                    short(&merged)
                ),
            );
            let dir = self.scratch_dir(&format!("merge-{id}"));
            let run = self.suite_at(&dir, &merged, None).await?;
            match judge_tests(&run.outcome.exit, run.counts, 0) {
                TestVerdict::Green => {}
                TestVerdict::Broken(why) => {
                    // Not the coder's to fix: the task stays ready.
                    return Err(PipelineError::Other(format!(
                        "the tests could not run on the merge: {why}; task {id} stays ready"
                    )));
                }
                TestVerdict::Red(why) => {
                    let mut result = StageResult::new(
                        id,
                        "approve",
                        false,
                        format!("the tests fail on the merge into staging: {why}"),
                    );
                    result.body = trim_failure(&run.output, ASSIGNMENT_BYTES);
                    result.tests = run.counts;
                    result.sha = Some(merged.to_string());
                    let reason = format!("merge into staging red: {why}");
                    self.finish(&result, TaskState::Ready, TaskState::Coding, &reason)
                        .await?;
                    return Ok(Approval::SentBack(reason));
                }
            }
            if self.repo.move_branch("staging", &merged, &staging).await? {
                fault("approve:moved");
                return self
                    .staged(id, &merged, Some(counts_words(run.counts)))
                    .await;
            }
            self.progress
                .note(Some(id), "staging moved meanwhile; merging again");
        }
        Err(PipelineError::Other(format!(
            "staging moved under {MERGE_ATTEMPTS} merges in a row; approve task {id} again"
        )))
    }

    async fn staged(
        &self,
        id: TaskId,
        staging: &Sha,
        tests: Option<String>,
    ) -> Result<Approval, PipelineError> {
        let summary = match tests {
            Some(tests) => format!(
                "merged into staging at {}; tests green: {tests}",
                short(staging)
            ),
            None => format!("already in staging at {}", short(staging)),
        };
        let mut result = StageResult::new(id, "approve", true, summary);
        result.sha = Some(staging.to_string());
        self.finish(
            &result,
            TaskState::Ready,
            TaskState::Staged,
            "approved: merge into staging green",
        )
        .await?;
        self.release_seams(id).await?;
        self.push(&["staging".to_owned()]).await?;
        Ok(Approval::Staged(staging.to_string()))
    }

    /// Sends a `ready` task back to coding with `why` as a high finding.
    pub async fn reject(&self, id: TaskId, why: &str) -> Result<(), PipelineError> {
        self.promoting(self.reject_held(id, why)).await
    }

    async fn reject_held(&self, id: TaskId, why: &str) -> Result<(), PipelineError> {
        let why = why.trim();
        if why.is_empty() {
            return Err(PipelineError::Other(
                "say why with --why \"...\": the coder gets it as a finding".into(),
            ));
        }
        self.task_for(id, Gate::Reject).await?;
        let mut result =
            StageResult::new(id, "reject", false, format!("rejected by {}", self.actor));
        result.findings = vec![finding(
            Severity::High,
            why,
            "A person rejected the change.",
        )];
        self.finish(
            &result,
            TaskState::Ready,
            TaskState::Coding,
            &format!("rejected: {why}"),
        )
        .await?;
        Ok(())
    }

    /// Fast-forwards production to staging, tags it `release-N` and records
    /// the tasks it ships. With `seen`, staging must be at that commit.
    pub async fn release(&self, note: &str, seen: Option<&str>) -> Result<Released, PipelineError> {
        self.promoting(self.release_held(note, seen)).await
    }

    async fn release_held(
        &self,
        note: &str,
        seen: Option<&str>,
    ) -> Result<Released, PipelineError> {
        self.refuse_checked_out("production")?;
        let envs = self.repo.ensure_environments().await?;
        changed_since_seen("staging", &envs.staging, seen)?;
        let releases = self.store.releases().await?;
        let last = releases
            .iter()
            .find(|r| r.release.kind == ReleaseKind::Release);
        // Recorded, but production never moved (a run stopped in between):
        // only when that release is the newest move on record, not when a
        // rollback came after it.
        let pending = releases.first().filter(|r| {
            r.release.kind == ReleaseKind::Release
                && r.release.sha == envs.staging.to_string()
                && envs.production != envs.staging
        });
        let release = if let Some(pending) = pending {
            // Recorded, but production was not moved: a run stopped in between.
            pending.clone()
        } else {
            if envs.production == envs.staging {
                return Err(PipelineError::Other(
                    "nothing to release: production is at staging already; approve a task first"
                        .into(),
                ));
            }
            if !self
                .repo
                .is_ancestor(&envs.production, &envs.staging)
                .await?
            {
                return Err(PipelineError::Other("production is not behind staging, so it cannot fast-forward: was it moved by hand?".into()));
            }
            let number = last.map_or(0, |r| r.release.number) + 1;
            let tag = format!("release-{number}");
            self.repo.tag(&tag, &envs.staging).await?;
            let mut tasks = Vec::new();
            for task in self
                .store
                .tasks(&slipway_store::TaskFilter {
                    state: Some(TaskState::Staged),
                    lane: None,
                })
                .await?
            {
                let records = self.store.stage_results(task.id).await?;
                let merged = records
                    .iter()
                    .rev()
                    .find(|r| r.result.stage == "approve" && r.result.passed)
                    .and_then(|r| r.result.sha.as_deref())
                    .and_then(|s| s.parse::<Sha>().ok());
                if let Some(merged) = merged
                    && self.repo.is_ancestor(&merged, &envs.staging).await?
                {
                    tasks.push(task.id);
                }
            }
            self.store
                .record_release(
                    &NewRelease {
                        kind: ReleaseKind::Release,
                        number,
                        sha: envs.staging.to_string(),
                        tag,
                        note: note.trim().to_owned(),
                        actor: self.actor.clone(),
                        tasks,
                    },
                    Timestamp::now(),
                )
                .await?
        };
        if !self
            .repo
            .move_branch("production", &envs.staging, &envs.production)
            .await?
        {
            return Err(PipelineError::Other(
                "production moved while releasing; run `slipway release` again".into(),
            ));
        }
        self.push(&["production".to_owned(), release.release.tag.clone()])
            .await?;
        let mut kept = Vec::new();
        for id in &release.release.tasks {
            // Production has moved: a workspace that cannot be removed is reported, not an error.
            match self.remove_workspace(*id, &envs.staging).await {
                Ok(None) => {}
                Ok(Some(why)) => kept.push(format!("task {id}: {why}")),
                Err(err) => kept.push(format!("task {id}: its workspace was not removed: {err}")),
            }
        }
        Ok(Released { release, kept })
    }

    /// Moves production back to release `to` (default: the release before
    /// the one production is at). Staging and the tasks stay as they are.
    /// With `seen`, production must be at that commit.
    pub async fn rollback(
        &self,
        to: Option<i64>,
        note: &str,
        seen: Option<&str>,
    ) -> Result<Release, PipelineError> {
        self.promoting(self.rollback_held(to, note, seen)).await
    }

    async fn rollback_held(
        &self,
        to: Option<i64>,
        note: &str,
        seen: Option<&str>,
    ) -> Result<Release, PipelineError> {
        self.refuse_checked_out("production")?;
        let envs = self.repo.ensure_environments().await?;
        changed_since_seen("production", &envs.production, seen)?;
        let releases = self.store.releases().await?;
        let current = envs.production.to_string();
        let number = if let Some(n) = to {
            n
        } else {
            {
                let at = releases
                    .iter()
                    .find(|r| r.release.sha == current)
                    .map(|r| r.release.number)
                    .ok_or_else(|| {
                        PipelineError::Other(
                            "production is at no recorded release; name one with --to release-N"
                                .into(),
                        )
                    })?;
                releases
                    .iter()
                    .filter(|r| r.release.kind == ReleaseKind::Release && r.release.number < at)
                    .map(|r| r.release.number)
                    .max()
                    .ok_or_else(|| PipelineError::Other(format!("release-{at} is the first release: there is nothing before it to roll back to")))?
            }
        };
        let target = releases
            .iter()
            .find(|r| r.release.kind == ReleaseKind::Release && r.release.number == number)
            .ok_or_else(|| {
                PipelineError::Other(format!(
                    "no release-{number} is recorded; `slipway releases` lists them"
                ))
            })?;
        let sha: Sha = target
            .release
            .sha
            .parse()
            .map_err(|e| PipelineError::Other(format!("release-{number}'s commit: {e}")))?;
        match self
            .repo
            .resolve(&format!("refs/tags/{}", target.release.tag))
            .await?
        {
            Some(tagged) if tagged == sha => {}
            _ => {
                return Err(PipelineError::Other(format!(
                    "the tag {} no longer points at the recorded commit {}: it was moved or deleted; fix the tag first",
                    target.release.tag,
                    short(&sha)
                )));
            }
        }
        if sha == envs.production {
            return Err(PipelineError::Other(format!(
                "production is at release-{number} already"
            )));
        }
        if !self
            .repo
            .move_branch("production", &sha, &envs.production)
            .await?
        {
            return Err(PipelineError::Other(
                "production moved while rolling back; try again".into(),
            ));
        }
        let release = self
            .store
            .record_release(
                &NewRelease {
                    kind: ReleaseKind::Rollback,
                    number,
                    sha: sha.to_string(),
                    tag: target.release.tag.clone(),
                    note: note.trim().to_owned(),
                    actor: self.actor.clone(),
                    tasks: Vec::new(),
                },
                Timestamp::now(),
            )
            .await?;
        self.push(&["production".to_owned()]).await?;
        Ok(release)
    }

    /// Puts a `needs_human` or `failed` task back into a stage: `from`, or
    /// the stage it stopped in.
    pub async fn retry(
        &self,
        id: TaskId,
        from: Option<TaskState>,
    ) -> Result<TaskState, PipelineError> {
        let task = self.task_for(id, Gate::Retry).await?;
        let stopped_in = self
            .store
            .events(Some(id))
            .await?
            .iter()
            .rev()
            .find(|e| e.to == task.state)
            .and_then(|e| e.from)
            .filter(|s| s.is_stage())
            .unwrap_or(TaskState::Planning);
        let position = |s: TaskState| TaskState::STAGES.iter().position(|x| *x == s);
        let to = from.unwrap_or(stopped_in);
        // A retry may go back, never past the stage that stopped: the gates
        // after it have not passed.
        if position(to).is_some_and(|p| position(stopped_in).is_some_and(|q| p > q)) {
            return Err(PipelineError::Other(format!(
                "task {id} stopped in `{stopped_in}`; it can be retried from there or an earlier stage, not from `{to}`"
            )));
        }
        if !task.state.successors().any(|s| s == to) {
            return Err(PipelineError::Other(format!(
                "a task cannot be retried from `{to}`; name a work stage: planning, plan_review, coding, testing, debugging or code_review"
            )));
        }
        let result = StageResult::new(
            id,
            "retry",
            true,
            format!("retried from {to} by {}", self.actor),
        );
        self.finish(&result, task.state, to, "retry").await?;
        Ok(to)
    }

    /// Refuses to move `branch` while a work tree of the main repository has
    /// it checked out: the files there would be left behind, and the next
    /// commit on it would undo what was moved in.
    fn refuse_checked_out(&self, branch: &str) -> Result<(), PipelineError> {
        let git_dir = self.repo.root().join(".git");
        let mut heads = vec![git_dir.join("HEAD")];
        if let Ok(entries) = std::fs::read_dir(git_dir.join("worktrees")) {
            heads.extend(entries.flatten().map(|e| e.path().join("HEAD")));
        }
        let wanted = format!("ref: refs/heads/{branch}");
        for head in heads {
            if std::fs::read_to_string(&head).is_ok_and(|h| h.trim() == wanted) {
                let tree = head
                    .parent()
                    .map_or_else(String::new, |d| d.display().to_string());
                return Err(PipelineError::Other(format!(
                    "`{branch}` is checked out ({tree}); Slipway moves it, so check out another branch there first"
                )));
            }
        }
        Ok(())
    }

    /// Runs `work` holding the store lease `promotion`, waiting for it while
    /// another approval or release holds it.
    async fn promoting<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, PipelineError>>,
    ) -> Result<T, PipelineError> {
        let holder = holder_name(&self.actor);
        let patience = Duration::from_secs(self.config.gates.test_timeout_secs.saturating_add(120));
        let started = std::time::Instant::now();
        let mut told = false;
        loop {
            match self
                .store
                .acquire_lease(PROMOTION_LEASE, &holder, PROMOTION_TTL, Timestamp::now())
                .await?
            {
                LeaseGrant::Acquired(_) => break,
                LeaseGrant::HeldBy(lease) if holder_is_gone(&lease.holder) => {
                    self.progress.note(
                        None,
                        &format!(
                            "{} stopped while promoting; taking over its lease",
                            lease.holder
                        ),
                    );
                    self.store
                        .release_lease(PROMOTION_LEASE, &lease.holder)
                        .await?;
                }
                LeaseGrant::HeldBy(lease) if started.elapsed() < patience => {
                    if !told {
                        self.progress.note(
                            None,
                            &format!("waiting for {} to finish promoting", lease.holder),
                        );
                        told = true;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                LeaseGrant::HeldBy(lease) => {
                    return Err(PipelineError::Other(format!(
                        "{} is still approving or releasing (lease until {}); try again later",
                        lease.holder, lease.expires_at
                    )));
                }
            }
        }
        let result = work.await;
        self.store.release_lease(PROMOTION_LEASE, &holder).await?;
        result
    }

    /// Pushes `refs` to `[promotion] remote`, when one is set.
    async fn push(&self, refs: &[String]) -> Result<(), PipelineError> {
        let Some(remote) = self.config.promotion.remote.as_deref() else {
            return Ok(());
        };
        let specs: Vec<String> = refs
            .iter()
            .map(|r| {
                if r.starts_with("release-") {
                    format!("refs/tags/{r}:refs/tags/{r}")
                } else {
                    format!("+refs/heads/{r}:refs/heads/{r}")
                }
            })
            .collect();
        self.repo.push(remote, &specs).await?;
        Ok(())
    }
}

/// Refuses a gate when `what` is no longer the commit the person saw.
fn changed_since_seen(what: &str, now: &Sha, seen: Option<&str>) -> Result<(), PipelineError> {
    match seen {
        Some(seen) if seen != now.as_str() => Err(PipelineError::Changed(format!(
            "the {what} is {} now, not {} as shown: look again before you press the button",
            short(now),
            seen.chars()
                .filter(|c| !c.is_control())
                .take(12)
                .collect::<String>()
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use slipway_types::{StageRecord, StageResult, TaskId};

    use super::latest_review;

    fn record(stage: &str, passed: bool, sha: Option<&str>) -> StageRecord {
        let mut result = StageResult::new(TaskId(1), stage, passed, "");
        result.sha = sha.map(str::to_owned);
        StageRecord {
            id: 0,
            at: Timestamp::UNIX_EPOCH,
            result,
        }
    }

    /// The reviewed commit is that of the latest passed code review, never
    /// an earlier one: a latest pass without a commit gives none, so the
    /// task page offers nothing approving would refuse.
    #[test]
    fn the_latest_passed_code_review_decides() {
        let earlier = record("code_review", true, Some("aaa"));
        let failed = record("code_review", false, Some("bbb"));
        let testing = record("testing", true, Some("ccc"));
        assert_eq!(latest_review(&[]), None);
        assert_eq!(latest_review(std::slice::from_ref(&failed)), None);
        assert_eq!(
            latest_review(&[earlier.clone(), failed.clone(), testing.clone()]),
            Some((0, Some("aaa")))
        );
        let later = record("code_review", true, Some("ddd"));
        assert_eq!(
            latest_review(&[earlier.clone(), later, failed]),
            Some((1, Some("ddd")))
        );
        let without_commit = record("code_review", true, None);
        assert_eq!(
            latest_review(&[earlier, without_commit, testing]),
            Some((1, None))
        );
    }
}
