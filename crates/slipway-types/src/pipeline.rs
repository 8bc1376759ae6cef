//! What the pipeline records about a task's way through its stages: the
//! result of each stage run, reviewers' findings, and releases.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::task::TaskId;
use crate::trace::TraceId;

/// How bad a reviewer's finding is. Critical and high findings send the work
/// back; medium and low are recorded and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    /// Every severity, worst first.
    pub const ALL: [Severity; 4] = [Self::Critical, Self::High, Self::Medium, Self::Low];

    /// Returns the name used in JSON, the database and the CLI.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }

    /// Returns true for the severities that block a gate.
    #[must_use]
    pub fn blocks(self) -> bool {
        matches!(self, Self::Critical | Self::High)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that Slipway does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}`; use one of: critical, high, medium, low")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownSeverity(s.to_owned()))
    }
}

/// One problem a reviewer (or a gate, or a person rejecting) found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    pub severity: Severity,
    pub title: String,
    #[serde(default)]
    pub detail: String,
    /// Where, as `path` or `path:line`; empty when it concerns the whole.
    #[serde(default)]
    pub location: String,
}

/// Counts of blocking and non-blocking findings.
#[must_use]
pub fn blocking_count(findings: &[Finding]) -> usize {
    findings.iter().filter(|f| f.severity.blocks()).count()
}

/// What one run of a stage produced, written with the transition it caused
/// (`Store::finish_stage`), so that a stage result is never recorded without
/// its move, nor the move without its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageResult {
    pub task_id: TaskId,
    /// The stage (or gate) that ran: `planning`, `plan_review`, `coding`,
    /// `testing`, `debugging`, `code_review`, `ownership`, `approve`, `reject`.
    pub stage: String,
    /// Whether it passed; a red test run or a review with blocking findings did not.
    pub passed: bool,
    /// One line on what happened, shown in `task show` and the log.
    pub summary: String,
    /// The artefact: the plan, the diff reviewed, the trimmed test output,
    /// the reviewer's raw answer. Untrusted: agents wrote it.
    pub body: String,
    /// The commit the stage ended on or judged, when it concerns one.
    pub sha: Option<String>,
    /// The agent run behind it, when an agent ran.
    pub trace_id: Option<TraceId>,
    /// Test counts, for test gates.
    pub tests: Option<TestCounts>,
    pub findings: Vec<Finding>,
}

/// A stage result as stored, with its id and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageRecord {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    #[serde(flatten)]
    pub result: StageResult,
}

/// How many tests passed, failed and were skipped in one run of a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestCounts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

/// Whether a promotion moved production forward or back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReleaseKind {
    Release,
    Rollback,
}

impl ReleaseKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Rollback => "rollback",
        }
    }
}

/// A release to record: production moved to `sha`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewRelease {
    pub kind: ReleaseKind,
    /// `N` of `release-N`: for a release, its own number (one more than the
    /// last release's); for a rollback, the number of the release it went back to.
    pub number: i64,
    /// The commit production points at now.
    pub sha: String,
    /// For a release, its tag (`release-N`); for a rollback, the tag moved back to.
    pub tag: String,
    pub note: String,
    pub actor: String,
    /// The tasks a release ships (moved from `staged` to `released` in the
    /// same transaction); empty for a rollback.
    pub tasks: Vec<TaskId>,
}

/// A recorded move of production.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Release {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    #[serde(flatten)]
    pub release: NewRelease,
}

/// The branch a task's work is on, in its clone and in the main repository.
#[must_use]
pub fn task_branch(id: TaskId) -> String {
    format!("slipway/{id}")
}

impl StageResult {
    /// Returns a result of `stage` for `task` with nothing but a summary.
    #[must_use]
    pub fn new(task_id: TaskId, stage: &str, passed: bool, summary: impl Into<String>) -> Self {
        Self {
            task_id,
            stage: stage.to_owned(),
            passed,
            summary: summary.into(),
            body: String::new(),
            sha: None,
            trace_id: None,
            tests: None,
            findings: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_round_trip_and_only_critical_and_high_block() {
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        let blocking: Vec<_> = Severity::ALL.into_iter().filter(|s| s.blocks()).collect();
        assert_eq!(blocking, [Severity::Critical, Severity::High]);
        let err = "severe".parse::<Severity>().unwrap_err();
        assert!(err.to_string().contains("critical, high, medium, low"));
    }

    #[test]
    fn task_branches_are_named_by_id() {
        assert_eq!(task_branch(TaskId(42)), "slipway/42");
    }
}
