//! The test gate: `[gates] tests` run in the sandbox on a task's clone,
//! counts read from the output and compared with the task's base, and the
//! failure trimmed into a debugging assignment.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use slipway_git::Sha;
use slipway_sandbox::{Outcome, hand_over};
use slipway_types::{StageResult, Task, TaskId, TaskState, TestCounts};

use crate::gates::{TestVerdict, judge_tests};
use crate::stages::Step;
use crate::tests_first::{Stop, judge_on_base, new_tests, test_files};
use crate::workspace::short;
use crate::{Pipeline, PipelineError, parse_test_counts, parse_test_results, trim_failure};

/// The stage name of the record that holds the base's test counts.
const BASE_TESTS: &str = "base_tests";

/// How a base record's body begins when it lists the base's tests by name,
/// one per line: with the test command that listed them.
fn names_header(command: &str) -> String {
    format!("tests by name, from `{command}`:\n")
}

/// What the base's run says: how many tests passed, and their names when
/// the run listed them.
struct BaseRun {
    passed: u64,
    names: Option<BTreeSet<String>>,
}

/// The least output a test gate lets a suite print before it is stopped.
const GATE_OUTPUT_BYTES: usize = 16 << 20;

/// The most of a failing run's output kept for the debugger.
pub(crate) const ASSIGNMENT_BYTES: usize = 12_000;

/// A test run: how it ended, its output, and the counts read from it.
pub(crate) struct SuiteRun {
    pub(crate) outcome: Outcome,
    pub(crate) output: String,
    pub(crate) counts: Option<TestCounts>,
}

impl Pipeline {
    /// Runs `[gates] tests` in the sandbox in `dir`.
    pub(crate) async fn run_suite(&self, dir: &Path) -> Result<SuiteRun, PipelineError> {
        let command = self.config.gates.tests.trim().to_owned();
        let wall = Duration::from_secs(self.config.gates.test_timeout_secs.max(1));
        let mut limits = self.limits(wall);
        // A green suite may be chatty; the gate reads its summary at the end.
        limits.output_bytes = limits.output_bytes.max(GATE_OUTPUT_BYTES);
        let spec = self.spec(vec!["sh".into(), "-c".into(), command], dir, limits)?;
        let outcome = self.sandbox.run(&spec).await?;
        let mut output = String::from_utf8_lossy(&outcome.stdout).into_owned();
        output.push_str(&String::from_utf8_lossy(&outcome.stderr));
        let counts = parse_test_counts(&output);
        Ok(SuiteRun {
            outcome,
            output,
            counts,
        })
    }

    /// Returns how the tests ran on the task's base, running them once in a
    /// scratch clone and recording the answer. With `names`, a record made
    /// without the tests' names (before `tests_first` was on) is not enough.
    async fn base_run(
        &self,
        id: TaskId,
        base: &Sha,
        names: bool,
    ) -> Result<BaseRun, PipelineError> {
        let records = self.store.stage_results(id).await?;
        let sha = base.to_string();
        if let Some(known) = records
            .iter()
            .rev()
            .find(|r| r.result.stage == BASE_TESTS && r.result.sha.as_deref() == Some(sha.as_str()))
        {
            let passed = known.result.tests.map_or(0, |t| t.passed);
            // Names count only from the same command, and only when the
            // run listed at least as many tests as passed: a run made
            // before `-v` was added, or cut short, lists too few.
            let listed: Option<BTreeSet<String>> = known
                .result
                .body
                .strip_prefix(&names_header(self.config.gates.tests.trim()))
                .map(|list| list.lines().map(str::to_owned).collect())
                .filter(|l: &BTreeSet<String>| l.len() as u64 >= passed);
            if !names || listed.is_some() {
                return Ok(BaseRun {
                    passed,
                    names: listed,
                });
            }
        }
        self.note(id, "running the tests on the task's base, to compare");
        let dir = self.scratch_dir(&format!("base-{id}"));
        let run = self.suite_at(&dir, base, None).await?;
        let listed: BTreeSet<String> = parse_test_results(&run.output)
            .into_iter()
            .map(|t| t.name)
            .collect();
        let mut result = StageResult::new(
            id,
            BASE_TESTS,
            run.counts.is_some_and(|c| c.failed == 0),
            format!("the base {}", counts_words(run.counts)),
        );
        result.sha = Some(sha);
        // A base whose counts cannot be read counts as passing none.
        let counts = run.counts.unwrap_or_default();
        result.tests = Some(counts);
        result.body = format!(
            "{}{}",
            names_header(self.config.gates.tests.trim()),
            listed
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        );
        self.record(&result).await?;
        Ok(BaseRun {
            passed: counts.passed,
            names: Some(listed),
        })
    }

    /// Checks `sha` out into a fresh scratch clone `dir` (with the files of
    /// `overlay` taken from its commit), hands it over, runs the suite there
    /// and removes the clone whatever happened.
    pub(crate) async fn suite_at(
        &self,
        dir: &Path,
        sha: &Sha,
        overlay: Option<(&Sha, &[String])>,
    ) -> Result<SuiteRun, PipelineError> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match overlay {
            Some((from, paths)) => {
                self.repo
                    .create_scratch_overlay(dir, sha, from, paths)
                    .await?;
            }
            None => self.repo.create_scratch(dir, sha).await?,
        }
        let result = async {
            if self.sandbox.is_isolated() {
                hand_over(dir, &self.sandbox_user()?)?;
            }
            self.run_suite(dir).await
        }
        .await;
        let _ = std::fs::remove_dir_all(dir);
        result
    }

    pub(crate) async fn test(&self, task: &Task) -> Result<Step, PipelineError> {
        let ws = self.workspace(task.id).await?;
        if self.config.gates.tests.trim().is_empty() {
            let reason =
                "no test command: set `[gates] tests` in slipway.toml, then `slipway task retry`";
            let result = StageResult::new(task.id, "testing", false, reason);
            self.finish(&result, TaskState::Testing, TaskState::NeedsHuman, reason)
                .await?;
            return Ok(Step::Moved(TaskState::NeedsHuman));
        }
        let first = self.config.gates.tests_first;
        let base = self.base_run(task.id, &ws.base, first).await?;
        let head = self
            .repo
            .resolve(&format!(
                "refs/heads/{}",
                slipway_types::task_branch(task.id)
            ))
            .await?
            .ok_or_else(|| {
                PipelineError::Other(format!("task {}'s branch was never fetched back", task.id))
            })?;
        self.note(
            task.id,
            &format!(
                "running the tests on {}: {}",
                short(&head),
                self.config.gates.tests.trim()
            ),
        );
        // The suite runs on a fresh checkout of the fetched commit, never in
        // the agent's working tree: the counts belong to that commit.
        let dir = self.scratch_dir(&format!("test-{}", task.id));
        let run = self.suite_at(&dir, &head, None).await?;
        let mut verdict = judge_tests(&run.outcome.exit, run.counts, base.passed);
        let mut first_detail = None;
        if first && verdict == TestVerdict::Green {
            crate::pipeline::fault("before:tests_first");
            match self
                .tests_first(task.id, &ws.base, &head, &run, base.names.as_ref())
                .await?
            {
                Ok(summary) => first_detail = Some(summary),
                Err(Stop::Person(why)) => verdict = TestVerdict::Broken(why),
                Err(Stop::Red(why, detail)) => {
                    verdict = TestVerdict::Red(why);
                    first_detail = Some(detail);
                }
            }
        }
        let mut result = StageResult::new(task.id, "testing", verdict == TestVerdict::Green, "");
        result.tests = run.counts;
        result.sha = Some(head.to_string());
        let (to, reason) = match &verdict {
            TestVerdict::Green => {
                result.summary = format!("green: {}", counts_words(run.counts));
                if let Some(first) = &first_detail {
                    result.summary = format!("{}; {first}", result.summary);
                }
                result.body = tail_lines(&run.output, 40);
                (TaskState::CodeReview, "tests green".to_owned())
            }
            TestVerdict::Broken(why) => {
                result.summary = why.clone();
                result.body = trim_failure(&run.output, ASSIGNMENT_BYTES);
                (TaskState::NeedsHuman, why.clone())
            }
            TestVerdict::Red(why) => {
                result.summary = format!("red: {why}; {}", counts_words(run.counts));
                result.body = first_detail
                    .clone()
                    .unwrap_or_else(|| trim_failure(&run.output, ASSIGNMENT_BYTES));
                let records = self.store.stage_results(task.id).await?;
                let tries = crate::stages::since_retry(&records, "debugging").len();
                let limit = usize::try_from(self.config.gates.debug_tries).unwrap_or(usize::MAX);
                if tries >= limit {
                    (
                        TaskState::NeedsHuman,
                        format!("debug tries exhausted ({tries}): {why}"),
                    )
                } else {
                    (TaskState::Debugging, format!("tests red: {why}"))
                }
            }
        };
        self.finish(&result, TaskState::Testing, to, &reason)
            .await?;
        Ok(Step::Moved(to))
    }
}

impl Pipeline {
    /// Checks the head's new tests against the base (docs/design/pipeline.md,
    /// "Tests first"): `Ok` with a summary, or why not.
    async fn tests_first(
        &self,
        id: TaskId,
        base: &Sha,
        head: &Sha,
        run: &SuiteRun,
        base_names: Option<&BTreeSet<String>>,
    ) -> Result<Result<String, Stop>, PipelineError> {
        let empty = BTreeSet::new();
        let head_results = parse_test_results(&run.output);
        let passed = run.counts.map_or(0, |c| c.passed);
        let new = match new_tests(&head_results, passed, base_names.unwrap_or(&empty)) {
            Ok(new) => new,
            Err(stop) => return Ok(Err(stop)),
        };
        let changes = self.repo.changes(base, head).await?;
        let files = test_files(&changes);
        self.note(
            id,
            &format!(
                "tests_first: running {} new test(s) on the base with {} test file(s) from {}",
                new.len(),
                files.len(),
                short(head)
            ),
        );
        let dir = self.scratch_dir(&format!("first-{id}"));
        let on_base = self.suite_at(&dir, base, Some((head, &files))).await?;
        Ok(judge_on_base(
            &new,
            &parse_test_results(&on_base.output),
            &files,
        ))
    }
}

/// "12 passed, 0 failed, 1 skipped", or that none could be read.
pub(crate) fn counts_words(counts: Option<TestCounts>) -> String {
    counts.map_or_else(
        || "no test counts could be read".to_owned(),
        |c| {
            format!(
                "{} passed, {} failed, {} skipped",
                c.passed, c.failed, c.skipped
            )
        },
    )
}

/// The last `n` lines of `text`.
fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
