//! What recording the pipeline needs besides SQL: stage results, findings,
//! seams and releases as stored (text PostgreSQL can hold, counts that fit
//! BIGINT, task lists sorted) and their rows read back into domain types,
//! refusing values that do not parse.

use std::collections::BTreeMap;

use slipway_types::{
    Finding, NewRelease, Release, ReleaseKind, StageRecord, StageResult, TaskId, TestCounts,
    TraceId,
};

use crate::error::StoreError;
use crate::recording::storable;
use crate::{rows, time};

/// `id, task_id, at, stage, passed, summary, body, sha, trace_id,
/// tests_passed, tests_failed, tests_skipped` from `stage_results`.
pub(crate) type StageRow = (
    i64,
    i64,
    String,
    String,
    bool,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// `result_id, severity, title, detail, location` from `findings`.
pub(crate) type FindingRow = (i64, String, String, String, String);

/// `id, at, kind, number, sha, tag, note, actor` from `releases`.
pub(crate) type ReleaseRow = (i64, String, String, i64, String, String, String, String);

/// `release_id, task_id` from `release_tasks`.
pub(crate) type ReleaseTaskRow = (i64, i64);

/// The columns `tests_passed, tests_failed, tests_skipped`: all NULL when the
/// stage counted no tests.
pub(crate) type TestColumns = [Option<i64>; 3];

fn owned(text: &str) -> String {
    storable(text).into_owned()
}

/// Returns a count as stored; counts past `i64::MAX` (never seen) are held there.
fn stored_count(n: u64) -> u64 {
    n.min(i64::MAX.unsigned_abs())
}

/// Returns the result as stored and read back: each NUL as U+FFFD, counts
/// held within BIGINT.
pub(crate) fn stored_result(result: &StageResult) -> StageResult {
    StageResult {
        task_id: result.task_id,
        stage: owned(&result.stage),
        passed: result.passed,
        summary: owned(&result.summary),
        body: owned(&result.body),
        sha: result.sha.as_deref().map(owned),
        trace_id: result
            .trace_id
            .as_ref()
            .map(|id| TraceId(owned(id.as_str()))),
        tests: result.tests.map(|tests| TestCounts {
            passed: stored_count(tests.passed),
            failed: stored_count(tests.failed),
            skipped: stored_count(tests.skipped),
        }),
        findings: result
            .findings
            .iter()
            .map(|finding| Finding {
                severity: finding.severity,
                title: owned(&finding.title),
                detail: owned(&finding.detail),
                location: owned(&finding.location),
            })
            .collect(),
    }
}

/// Returns the test count columns to bind.
pub(crate) fn test_columns(tests: Option<TestCounts>) -> TestColumns {
    let column = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    match tests {
        Some(tests) => [
            Some(column(tests.passed)),
            Some(column(tests.failed)),
            Some(column(tests.skipped)),
        ],
        None => [None; 3],
    }
}

/// Returns the seams as stored: each NUL as U+FFFD, sorted byte by byte,
/// without duplicates.
pub(crate) fn seam_list(seams: &[String]) -> Vec<String> {
    let mut seams: Vec<String> = seams.iter().map(|seam| owned(seam)).collect();
    seams.sort_unstable();
    seams.dedup();
    seams
}

/// Returns the release as stored and read back: each NUL as U+FFFD, its
/// tasks sorted and without duplicates.
pub(crate) fn stored_release(release: &NewRelease) -> NewRelease {
    NewRelease {
        kind: release.kind,
        number: release.number,
        sha: owned(&release.sha),
        tag: owned(&release.tag),
        note: owned(&release.note),
        actor: owned(&release.actor),
        tasks: rows::dependency_list(&release.tasks),
    }
}

/// Returns the reason of the event that moves a task into release `number`.
pub(crate) fn released_reason(number: i64) -> String {
    format!("released in release-{number}")
}

/// Converts a task's stage result rows, ordered by id, and the findings of
/// that task, ordered by id, into records.
pub(crate) fn stage_records(
    results: Vec<StageRow>,
    findings: Vec<FindingRow>,
) -> Result<Vec<StageRecord>, StoreError> {
    let mut by_result: BTreeMap<i64, Vec<Finding>> = BTreeMap::new();
    for (result_id, severity, title, detail, location) in findings {
        let severity = severity.parse().map_err(|err| {
            StoreError::corrupt_row(format!("a finding of stage result {result_id}"), err)
        })?;
        by_result.entry(result_id).or_default().push(Finding {
            severity,
            title,
            detail,
            location,
        });
    }
    results
        .into_iter()
        .map(|row| {
            let findings = by_result.remove(&row.0).unwrap_or_default();
            stage_record(row, findings)
        })
        .collect()
}

fn stage_record(
    (
        id,
        task_id,
        at,
        stage,
        passed,
        summary,
        body,
        sha,
        trace_id,
        tests_passed,
        tests_failed,
        tests_skipped,
    ): StageRow,
    findings: Vec<Finding>,
) -> Result<StageRecord, StoreError> {
    let context = format!("stage result {id}");
    Ok(StageRecord {
        id,
        at: time::from_text(&at, &context)?,
        result: StageResult {
            task_id: TaskId(task_id),
            stage,
            passed,
            summary,
            body,
            sha,
            trace_id: trace_id.map(TraceId),
            tests: test_counts([tests_passed, tests_failed, tests_skipped], &context)?,
            findings,
        },
    })
}

fn test_counts(columns: TestColumns, context: &str) -> Result<Option<TestCounts>, StoreError> {
    let count = |n: i64| {
        u64::try_from(n)
            .map_err(|_| StoreError::corrupt_row(context, format!("negative test count {n}")))
    };
    match columns {
        [None, None, None] => Ok(None),
        [Some(passed), Some(failed), Some(skipped)] => Ok(Some(TestCounts {
            passed: count(passed)?,
            failed: count(failed)?,
            skipped: count(skipped)?,
        })),
        _ => Err(StoreError::corrupt_row(
            context,
            format!("test counts {columns:?} are neither all set nor all empty"),
        )),
    }
}

fn release_kind(text: &str, context: &str) -> Result<ReleaseKind, StoreError> {
    [ReleaseKind::Release, ReleaseKind::Rollback]
        .into_iter()
        .find(|kind| kind.as_str() == text)
        .ok_or_else(|| {
            StoreError::corrupt_row(
                context,
                format!("unknown kind `{text}`; known: release, rollback"),
            )
        })
}

/// Converts release rows and the rows of their tasks, ordered by task id.
pub(crate) fn releases(
    releases: Vec<ReleaseRow>,
    tasks: Vec<ReleaseTaskRow>,
) -> Result<Vec<Release>, StoreError> {
    let mut by_release: BTreeMap<i64, Vec<TaskId>> = BTreeMap::new();
    for (release_id, task_id) in tasks {
        by_release
            .entry(release_id)
            .or_default()
            .push(TaskId(task_id));
    }
    releases
        .into_iter()
        .map(|(id, at, kind, number, sha, tag, note, actor)| {
            let context = format!("release {id}");
            Ok(Release {
                id,
                at: time::from_text(&at, &context)?,
                release: NewRelease {
                    kind: release_kind(&kind, &context)?,
                    number,
                    sha,
                    tag,
                    note,
                    actor,
                    tasks: by_release.remove(&id).unwrap_or_default(),
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use slipway_types::Severity;

    use super::*;

    const AT: &str = "2026-11-24T13:11:46.123456Z";

    fn row(id: i64, tests: TestColumns) -> StageRow {
        let [passed, failed, skipped] = tests;
        (
            id,
            1,
            AT.into(),
            "testing".into(),
            true,
            "green".into(),
            String::new(),
            None,
            None,
            passed,
            failed,
            skipped,
        )
    }

    #[test]
    fn findings_go_to_their_results_in_order() {
        let findings = vec![
            (2, "high".into(), "a".into(), String::new(), String::new()),
            (1, "low".into(), "b".into(), String::new(), "x.rs:3".into()),
            (2, "medium".into(), "c".into(), String::new(), String::new()),
        ];
        let records = stage_records(vec![row(1, [None; 3]), row(2, [None; 3])], findings).unwrap();
        let titles: Vec<Vec<&str>> = records
            .iter()
            .map(|r| r.result.findings.iter().map(|f| f.title.as_str()).collect())
            .collect();
        assert_eq!(titles, [vec!["b"], vec!["a", "c"]]);
        assert_eq!(records[1].result.findings[0].severity, Severity::High);
    }

    #[test]
    fn unreadable_stage_rows_are_corrupt_rows() {
        for (tests, says) in [
            ([Some(1), None, Some(0)], "neither all set nor all empty"),
            ([Some(1), Some(-1), Some(0)], "negative test count -1"),
        ] {
            let err = stage_records(vec![row(7, tests)], Vec::new()).unwrap_err();
            assert!(matches!(err, StoreError::CorruptRow { .. }), "{err}");
            let text = err.to_string();
            assert!(
                text.contains("stage result 7") && text.contains(says),
                "{text}"
            );
        }
        let finding = (7, "severe".into(), "t".into(), String::new(), String::new());
        let err = stage_records(vec![row(7, [None; 3])], vec![finding]).unwrap_err();
        assert!(err.to_string().contains("severe"), "{err}");
        let release = (
            3,
            AT.into(),
            "hotfix".into(),
            1,
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        );
        let err = releases(vec![release], Vec::new()).unwrap_err();
        assert!(
            err.to_string().contains("release 3") && err.to_string().contains("hotfix"),
            "{err}"
        );
    }

    #[test]
    fn stored_forms_are_what_reads_return() {
        let mut result = StageResult::new(TaskId(1), "test\0ing", false, "a\0b");
        result.tests = Some(TestCounts {
            passed: u64::MAX,
            failed: 2,
            skipped: 0,
        });
        let stored = stored_result(&result);
        assert_eq!(
            (stored.stage.as_str(), stored.summary.as_str()),
            ("test\u{fffd}ing", "a\u{fffd}b")
        );
        let columns = test_columns(stored.tests);
        assert_eq!(columns, [Some(i64::MAX), Some(2), Some(0)]);
        assert_eq!(test_counts(columns, "t").unwrap(), stored.tests);
        assert_eq!(test_columns(None), [None; 3]);

        let seams = [
            "b".to_owned(),
            "a".to_owned(),
            "b".to_owned(),
            "B".to_owned(),
        ];
        assert_eq!(seam_list(&seams), ["B", "a", "b"]);
        assert_eq!(released_reason(4), "released in release-4");
    }
}
