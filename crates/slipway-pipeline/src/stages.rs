//! The work stages of DESIGN §2, one function each: planning, plan review,
//! coding, testing, debugging and code review. Each runs its agent or gate
//! and records its result with the move it causes, in one write.

use std::time::Duration;

use jiff::Timestamp;
use slipway_config::OnDetect;
use slipway_git::Sha;
use slipway_policy::AgentRole;
use slipway_runtime::{RunReport, Stop};
use slipway_store::LeaseGrant;
use slipway_types::{
    Finding, Severity, StageRecord, StageResult, Task, TaskId, TaskState, blocking_count,
    seam_lease_name,
};

use crate::prompts::{self, Prompt};
use crate::workspace::Workspace;
use crate::{AgentJob, Pipeline, PipelineError, parse_findings};

/// How long a task holds a seam's lease at most; it gives them back when
/// it is staged, cancelled or failed.
pub(crate) const SEAM_TTL: Duration = Duration::from_hours(7 * 24);

/// What one call of [`Pipeline::advance`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The task moved to this state.
    Moved(TaskState),
    /// The task cannot go on yet (a seam is leased to another task).
    Waiting(String),
    /// The task is in no work state: nothing to do.
    Idle,
    /// The agent run was cancelled; the task stays where it was.
    Cancelled,
}

/// How an agent run ended, for a stage.
enum Ran {
    Done(RunReport),
    /// Stopped by a limit or the guard: the stage cannot go on.
    Stopped(StageResult, String),
    Cancelled,
}

/// The holder name of a task's leases.
#[must_use]
pub fn holder(id: TaskId) -> String {
    format!("task-{id}")
}

/// Counts the review passes that sent the work back since the task's last
/// retry: blocking reviews and, for code review, failed ownership gates.
fn failed_passes(records: &[StageRecord], stage: &str) -> usize {
    let mut count = since_retry(records, stage)
        .iter()
        .filter(|r| !r.result.passed)
        .count();
    if stage == "code_review" {
        count += since_retry(records, "ownership").len();
    }
    count
}

/// Returns the records of `stage` since the task's last retry.
pub(crate) fn since_retry<'a>(records: &'a [StageRecord], stage: &str) -> Vec<&'a StageRecord> {
    let start = records
        .iter()
        .rposition(|r| r.result.stage == "retry")
        .map_or(0, |i| i + 1);
    records[start..]
        .iter()
        .filter(|r| r.result.stage == stage)
        .collect()
}

fn last<'a>(records: &'a [StageRecord], stage: &str) -> Option<&'a StageRecord> {
    records.iter().rev().find(|r| r.result.stage == stage)
}

impl Pipeline {
    /// Runs the stage `id` is in, once, and records where it went.
    pub async fn advance(&self, id: TaskId) -> Result<Step, PipelineError> {
        let task = self.store.task(id).await?;
        if task.state.is_stage() && !self.config.lanes.contains_key(&task.lane) {
            let reason = format!(
                "its lane `{}` is no longer in slipway.toml: move the task to a lane that exists",
                task.lane
            );
            return self.fail(&task, &reason).await;
        }
        match task.state {
            TaskState::Queued => {
                self.open_workspace(id).await?;
                Ok(Step::Moved(TaskState::Planning))
            }
            TaskState::Planning => self.plan(&task).await,
            TaskState::PlanReview => self.review_plan(&task).await,
            TaskState::Coding => self.code(&task).await,
            TaskState::Testing => self.test(&task).await,
            TaskState::Debugging => self.debug(&task).await,
            TaskState::CodeReview => self.review_code(&task).await,
            _ => Ok(Step::Idle),
        }
    }

    /// Moves a task in a work state to `failed` with `reason`, and gives back its seams.
    pub(crate) async fn fail(&self, task: &Task, reason: &str) -> Result<Step, PipelineError> {
        let result = StageResult::new(task.id, task.state.as_str(), false, reason);
        self.finish(&result, task.state, TaskState::Failed, reason)
            .await?;
        self.release_seams(task.id).await?;
        Ok(Step::Moved(TaskState::Failed))
    }

    /// Gives back every seam lease the task holds.
    pub(crate) async fn release_seams(&self, id: TaskId) -> Result<(), PipelineError> {
        for seam in self.store.task_seams(id).await? {
            self.store
                .release_lease(&seam_lease_name(&seam), &holder(id))
                .await?;
        }
        Ok(())
    }

    /// Starts a stage's prompt: the task, then the project's state from the store.
    async fn prompt(&self, task: &Task, stage: &str) -> Result<Prompt, PipelineError> {
        let mut prompt = Prompt::new(task, stage);
        prompt.state(&self.state_text().await?);
        Ok(prompt)
    }

    /// Runs an agent of `role` on `prompt` in the task's workspace.
    async fn run_agent(
        &self,
        task: &Task,
        role: AgentRole,
        ws: &Workspace,
        prompt: &Prompt,
    ) -> Result<Ran, PipelineError> {
        let stage = task.state.as_str();
        if let Some(first) = prompt.detections.first() {
            self.note(task.id, &format!("guard: {first}"));
            if self.config.guard.on_detect != OnDetect::Mark {
                let mut result = StageResult::new(task.id, stage, false, "held for a person");
                result.body = prompt.detections.join("\n");
                let reason = format!(
                    "held for a person: what another agent wrote holds a likely prompt injection ({first}); \
                     read it with `slipway task show {}`, then `slipway task retry {}`",
                    task.id, task.id
                );
                return Ok(Ran::Stopped(result, reason));
            }
        }
        self.note(task.id, &format!("{role} started"));
        let job = AgentJob {
            role,
            task: task.id,
            lane: task.lane.clone(),
            seams: self.store.task_seams(task.id).await?,
            workdir: ws.dir.clone(),
            prompt: prompt.build(),
        };
        let report = self.agents.run(&job).await?;
        match report.stop {
            Stop::Finished => Ok(Ran::Done(report)),
            Stop::Cancelled => Ok(Ran::Cancelled),
            other => {
                let reason = format!(
                    "the {role} stopped: {other:?}; `slipway trace show {}` has the run",
                    report.trace_id
                );
                let mut result = StageResult::new(task.id, stage, false, &reason);
                result.trace_id = Some(report.trace_id);
                Ok(Ran::Stopped(result, reason))
            }
        }
    }

    /// Ends a stage whose agent could not finish.
    async fn stopped(
        &self,
        task: &Task,
        result: StageResult,
        reason: &str,
    ) -> Result<Step, PipelineError> {
        self.finish(&result, task.state, TaskState::Failed, reason)
            .await?;
        self.release_seams(task.id).await?;
        Ok(Step::Moved(TaskState::Failed))
    }

    async fn plan(&self, task: &Task) -> Result<Step, PipelineError> {
        let ws = self.workspace(task.id).await?;
        let records = self.store.stage_results(task.id).await?;
        let mut prompt = self.prompt(task, "planning").await?;
        prompt.say(prompts::PLANNER);
        let seams = &self.config.seams.paths;
        prompt.say(&format!(
            "This project's seams: {}.",
            if seams.is_empty() {
                "none".to_owned()
            } else {
                seams.join(", ")
            }
        ));
        if let (Some(plan), Some(review)) =
            (last(&records, "planning"), last(&records, "plan_review"))
            && !review.result.passed
            && review.id > plan.id
        {
            {
                prompt.say("A reviewer attacked your previous plan. Write a new plan that answers every critical and high finding.");
                prompt.untrusted("the previous plan", &plan.result.body);
                prompt.untrusted(
                    "the reviewer's findings",
                    &prompts::findings_text(&review.result.findings),
                );
            }
        }
        let report = match self
            .run_agent(task, AgentRole::Planner, &ws, &prompt)
            .await?
        {
            Ran::Done(report) => report,
            Ran::Stopped(result, reason) => return self.stopped(task, result, &reason).await,
            Ran::Cancelled => return Ok(Step::Cancelled),
        };
        let plan = report.text.trim();
        if plan.is_empty() {
            let mut result =
                StageResult::new(task.id, "planning", false, "the planner gave no plan");
            result.trace_id = Some(report.trace_id);
            return self
                .stopped(task, result, "the planner's answer was empty")
                .await;
        }
        let mut entries: Vec<String> = Vec::new();
        for path in prompts::plan_seams(plan) {
            let matched: Vec<String> = if seams.contains(&path) {
                vec![path.clone()]
            } else {
                self.ownership
                    .seam_entries_for(&path)
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            };
            if matched.is_empty() {
                self.note(
                    task.id,
                    &format!("the plan names `{path}` as a seam, but it is none; ignored"),
                );
            }
            entries.extend(matched);
        }
        entries.sort();
        entries.dedup();
        // Seams the new plan no longer names are given back.
        for old in self.store.task_seams(task.id).await? {
            if !entries.contains(&old) {
                self.store
                    .release_lease(&seam_lease_name(&old), &holder(task.id))
                    .await?;
            }
        }
        self.store.set_task_seams(task.id, &entries).await?;
        let mut result = StageResult::new(
            task.id,
            "planning",
            true,
            format!(
                "plan written; seams: {}",
                if entries.is_empty() {
                    "none".to_owned()
                } else {
                    entries.join(", ")
                }
            ),
        );
        result.body = plan.to_owned();
        result.trace_id = Some(report.trace_id);
        self.finish(
            &result,
            TaskState::Planning,
            TaskState::PlanReview,
            "planner finished",
        )
        .await?;
        Ok(Step::Moved(TaskState::PlanReview))
    }

    /// Runs a reviewer on `prompt` and reads its findings, retrying once
    /// with the parse error. `Err(result)` is a result for an unreadable answer.
    async fn review(
        &self,
        task: &Task,
        ws: &Workspace,
        prompt: &mut Prompt,
    ) -> Result<Result<(Vec<Finding>, RunReport), Ran>, PipelineError> {
        let stage = task.state.as_str();
        let report = match self
            .run_agent(task, AgentRole::Reviewer, ws, prompt)
            .await?
        {
            Ran::Done(report) => report,
            other => return Ok(Err(other)),
        };
        let error = match parse_findings(&report.text) {
            Ok(findings) => return Ok(Ok((findings, report))),
            Err(error) => error,
        };
        self.note(
            task.id,
            &format!(
                "the reviewer's answer was not valid findings JSON ({error}); asking once more"
            ),
        );
        prompt.say("Your previous answer could not be read; the reason follows. Answer again with only the JSON object.");
        prompt.untrusted("the parse error", &error.to_string());
        let retry = match self
            .run_agent(task, AgentRole::Reviewer, ws, prompt)
            .await?
        {
            Ran::Done(report) => report,
            other => return Ok(Err(other)),
        };
        match parse_findings(&retry.text) {
            Ok(findings) => Ok(Ok((findings, retry))),
            Err(error) => {
                let mut result = StageResult::new(
                    task.id,
                    stage,
                    false,
                    format!("the reviewer's answer was unreadable twice: {error}"),
                );
                result.body.clone_from(&retry.text);
                result.trace_id = Some(retry.trace_id);
                Ok(Err(Ran::Stopped(
                    result,
                    format!("the reviewer answered twice without valid findings JSON ({error})"),
                )))
            }
        }
    }

    /// Records a review's findings and moves the task: on with none that
    /// block, back with some, to a person when the passes are used up.
    async fn judged(
        &self,
        task: &Task,
        mut result: StageResult,
        back: TaskState,
        on: TaskState,
    ) -> Result<Step, PipelineError> {
        let stage = result.stage.clone();
        let blocking = blocking_count(&result.findings);
        let records = self.store.stage_results(task.id).await?;
        let passes = failed_passes(&records, &stage) + 1;
        let noun = if stage == "plan_review" {
            "plan review"
        } else {
            "code review"
        };
        result.passed = blocking == 0;
        let (to, reason) = if blocking == 0 {
            (on, format!("{noun} found no critical or high findings"))
        } else if passes
            >= usize::try_from(self.config.gates.review_passes.max(1)).unwrap_or(usize::MAX)
        {
            (
                TaskState::NeedsHuman,
                format!(
                    "{noun} passes exhausted ({passes}) with {blocking} critical or high finding(s) open"
                ),
            )
        } else {
            (
                back,
                format!("{noun} found critical or high findings ({blocking})"),
            )
        };
        self.finish(&result, task.state, to, &reason).await?;
        Ok(Step::Moved(to))
    }

    async fn review_plan(&self, task: &Task) -> Result<Step, PipelineError> {
        let ws = self.workspace(task.id).await?;
        let records = self.store.stage_results(task.id).await?;
        let plan = last(&records, "planning")
            .map(|r| r.result.body.clone())
            .unwrap_or_default();
        let mut prompt = self.prompt(task, "plan_review").await?;
        prompt.say(&prompts::reviewer("plan"));
        prompt.untrusted("the plan", &plan);
        self.review_and_judge(
            task,
            &ws,
            &mut prompt,
            None,
            TaskState::Planning,
            TaskState::Coding,
        )
        .await
    }

    /// Runs the reviewer of the stage the task is in, records its findings
    /// (and the commit it judged, for code review) and moves the task: `on`
    /// with no blocking finding, `back` with some, to a person past the passes.
    async fn review_and_judge(
        &self,
        task: &Task,
        ws: &Workspace,
        prompt: &mut Prompt,
        judged: Option<&Sha>,
        back: TaskState,
        on: TaskState,
    ) -> Result<Step, PipelineError> {
        let (findings, report) = match self.review(task, ws, prompt).await? {
            Ok(found) => found,
            Err(Ran::Stopped(result, reason)) => {
                return self.to_person(task, result, &reason).await;
            }
            Err(_) => return Ok(Step::Cancelled),
        };
        let mut summary = format!(
            "{} finding(s), {} blocking",
            findings.len(),
            blocking_count(&findings)
        );
        if let Some(sha) = judged {
            summary.push_str("; judged ");
            summary.push_str(&crate::workspace::short(sha));
        }
        let mut result = StageResult::new(task.id, task.state.as_str(), true, summary);
        result.body = report.text;
        result.sha = judged.map(ToString::to_string);
        result.trace_id = Some(report.trace_id);
        result.findings = findings;
        self.judged(task, result, back, on).await
    }

    /// Sends a review stage's task to a person, or fails it where that move does not exist.
    async fn to_person(
        &self,
        task: &Task,
        result: StageResult,
        reason: &str,
    ) -> Result<Step, PipelineError> {
        let to = if task.state.successors().any(|s| s == TaskState::NeedsHuman) {
            TaskState::NeedsHuman
        } else {
            TaskState::Failed
        };
        self.finish(&result, task.state, to, reason).await?;
        Ok(Step::Moved(to))
    }

    /// Takes the leases of every seam the task declared, or none of them.
    async fn take_seams(&self, id: TaskId) -> Result<Option<String>, PipelineError> {
        let seams = self.store.task_seams(id).await?;
        let mut taken = Vec::new();
        for seam in &seams {
            let name = seam_lease_name(seam);
            let held_before = self
                .store
                .lease(&name)
                .await?
                .is_some_and(|l| l.holder == holder(id) && l.expires_at > Timestamp::now());
            let grant = self
                .store
                .acquire_lease(
                    &seam_lease_name(seam),
                    &holder(id),
                    SEAM_TTL,
                    Timestamp::now(),
                )
                .await?;
            match grant {
                LeaseGrant::Acquired(_) if held_before => {}
                LeaseGrant::Acquired(_) => taken.push(seam),
                LeaseGrant::HeldBy(lease) => {
                    for seam in taken {
                        self.store
                            .release_lease(&seam_lease_name(seam), &holder(id))
                            .await?;
                    }
                    return Ok(Some(format!(
                        "waiting for seam `{seam}`, which {} holds",
                        lease.holder.replace("task-", "task ")
                    )));
                }
            }
        }
        Ok(None)
    }

    async fn code(&self, task: &Task) -> Result<Step, PipelineError> {
        if let Some(waiting) = self.take_seams(task.id).await? {
            self.note(task.id, &waiting);
            return Ok(Step::Waiting(waiting));
        }
        let ws = self.workspace(task.id).await?;
        let records = self.store.stage_results(task.id).await?;
        let mut prompt = self.prompt(task, "coding").await?;
        prompt.say(prompts::CODER);
        let seams = self.store.task_seams(task.id).await?;
        prompt.say(&format!(
            "Seams you may change: {}.",
            if seams.is_empty() {
                "none".to_owned()
            } else {
                seams.join(", ")
            }
        ));
        if let Some(plan) = last(&records, "planning") {
            prompt.untrusted("the reviewed plan", &plan.result.body);
        }
        let back = records.iter().rev().find(|r| {
            matches!(
                r.result.stage.as_str(),
                "code_review" | "ownership" | "reject" | "approve"
            ) && !r.result.passed
        });
        let coded = records
            .iter()
            .rev()
            .find(|r| r.result.stage == "coding" && r.result.passed);
        let back = back.filter(|b| coded.is_none_or(|c| c.id < b.id));
        let mut ws = ws;
        if back.is_some_and(|b| b.result.stage == "approve")
            && let Some(status) = self.bring_staging(task.id, &ws).await?
        {
            ws = self.workspace(task.id).await?;
            prompt.say(
                "Staging moved since this task began, and your change did not merge into it \
                 cleanly or broke its tests. Slipway has merged staging into your branch: \
                 resolve every conflict (files marked UU below, with <<<<<<< markers) keeping \
                 both sides' intent, and make the tests pass.",
            );
            prompt.untrusted("git status of your workspace", &status);
        } else if std::fs::symlink_metadata(ws.dir.join(".git/MERGE_HEAD")).is_ok() {
            // A run that stopped after staging was merged in: the merge is still open.
            prompt.say(
                "A merge of staging into your branch is still in progress: resolve every \
                 conflict (files with <<<<<<< markers; `git status` lists them) keeping both \
                 sides' intent, and make the tests pass.",
            );
        }
        if let Some(back) = back {
            prompt.say(
                "Your previous change was sent back. Address every critical and high finding:",
            );
            let text = if back.result.findings.is_empty() {
                back.result.summary.clone()
            } else {
                prompts::findings_text(&back.result.findings)
            };
            prompt.untrusted("the findings", &text);
        }
        let report = match self.run_agent(task, AgentRole::Coder, &ws, &prompt).await? {
            Ran::Done(report) => report,
            Ran::Stopped(result, reason) => return self.stopped(task, result, &reason).await,
            Ran::Cancelled => return Ok(Step::Cancelled),
        };
        let message = format!("task {}: {}", task.id, task.title);
        self.committed(task, &ws, report, &message, "coder finished")
            .await
    }

    /// Commits what the coder or debugger of `task` changed, fetches it
    /// back, and moves the task on to testing with the run's result.
    async fn committed(
        &self,
        task: &Task,
        ws: &Workspace,
        report: RunReport,
        message: &str,
        reason: &str,
    ) -> Result<Step, PipelineError> {
        let head = self.commit_and_fetch(task.id, ws, message).await?;
        let summary = format!("committed {}", crate::workspace::short(&head));
        let mut result = StageResult::new(task.id, task.state.as_str(), true, summary);
        result.body = report.text;
        result.sha = Some(head.to_string());
        result.trace_id = Some(report.trace_id);
        self.finish(&result, task.state, TaskState::Testing, reason)
            .await?;
        Ok(Step::Moved(TaskState::Testing))
    }

    async fn debug(&self, task: &Task) -> Result<Step, PipelineError> {
        let ws = self.workspace(task.id).await?;
        let records = self.store.stage_results(task.id).await?;
        let mut prompt = self.prompt(task, "debugging").await?;
        prompt.say(prompts::DEBUGGER);
        if let Some(failure) = last(&records, "testing") {
            prompt.untrusted("why the gate failed", &failure.result.summary);
            prompt.untrusted("the test output", &failure.result.body);
        }
        let report = match self
            .run_agent(task, AgentRole::Debugger, &ws, &prompt)
            .await?
        {
            Ran::Done(report) => report,
            Ran::Stopped(result, reason) => return self.stopped(task, result, &reason).await,
            Ran::Cancelled => return Ok(Step::Cancelled),
        };
        let message = format!("task {}: fix the failing tests", task.id);
        self.committed(task, &ws, report, &message, "debugger finished")
            .await
    }

    async fn review_code(&self, task: &Task) -> Result<Step, PipelineError> {
        let ws = self.workspace(task.id).await?;
        let records = self.store.stage_results(task.id).await?;
        // Code review judges the commit the test gate passed, nothing newer.
        let head: Sha = last(&records, "testing")
            .filter(|r| r.result.passed)
            .and_then(|r| r.result.sha.as_deref())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                PipelineError::Other(format!("task {} has no green test run to review", task.id))
            })?;
        let changes = self.repo.changes(&ws.base, &head).await?;
        let seams = self.store.task_seams(task.id).await?;
        let mut violations =
            crate::gates::ownership_findings(&changes, &self.ownership, &task.lane, &seams);
        if !self.repo.is_ancestor(&ws.base, &head).await? {
            // A diff of two trees would hide what a rewritten history drops
            // or brings back in the merge.
            violations.push(finding(
                Severity::Critical,
                "the task's branch does not descend from its base",
                "Its history was rewritten below the commit the task started from; \
                 build on the base instead.",
            ));
        }
        if !violations.is_empty() {
            let mut result = StageResult::new(
                task.id,
                "ownership",
                false,
                format!(
                    "{} change(s) outside the task's lane and seams",
                    violations.len()
                ),
            );
            result.sha = Some(head.to_string());
            result.findings = violations;
            return self.judged_ownership(task, result).await;
        }
        let diff = self.repo.diff_text(&ws.base, &head, 200_000).await?;
        let mut prompt = self.prompt(task, "code_review").await?;
        prompt.say(&prompts::reviewer("change"));
        prompt.untrusted(
            &format!(
                "the diff {}..{}",
                crate::workspace::short(&ws.base),
                crate::workspace::short(&head)
            ),
            &diff,
        );
        self.review_and_judge(
            task,
            &ws,
            &mut prompt,
            Some(&head),
            TaskState::Coding,
            TaskState::Ready,
        )
        .await
    }

    /// The ownership gate's verdict counts as a code review pass.
    async fn judged_ownership(
        &self,
        task: &Task,
        result: StageResult,
    ) -> Result<Step, PipelineError> {
        let records = self.store.stage_results(task.id).await?;
        let passes = failed_passes(&records, "code_review") + 1;
        let limit = usize::try_from(self.config.gates.review_passes.max(1)).unwrap_or(usize::MAX);
        let (to, reason) = if passes >= limit {
            (
                TaskState::NeedsHuman,
                "the ownership gate failed and the review passes are used up".to_owned(),
            )
        } else {
            (
                TaskState::Coding,
                format!(
                    "the ownership gate found {} change(s) outside the lane",
                    result.findings.len()
                ),
            )
        };
        self.finish(&result, TaskState::CodeReview, to, &reason)
            .await?;
        Ok(Step::Moved(to))
    }
}

/// A finding from a person or a gate, for the coder to answer.
#[must_use]
pub(crate) fn finding(severity: Severity, title: &str, detail: &str) -> Finding {
    Finding {
        severity,
        title: title.to_owned(),
        detail: detail.to_owned(),
        location: String::new(),
    }
}
