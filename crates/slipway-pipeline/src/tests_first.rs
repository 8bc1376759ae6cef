//! `[gates] tests_first`: a task's new tests, by name, must fail on its base
//! and pass on its head. The base run for it is the base's source with the
//! task's test files laid over it (docs/design/pipeline.md, "Tests first").
//! The decisions are pure functions here; the runs are in `testing.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use slipway_git::{Change, ChangeKind};

use crate::{TestOutcome, TestResult};

/// Why the check could not be made or was not met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Something for a person: a setting, or a task that may need no test.
    Person(String),
    /// Work for the debugger: the reason, and the assignment's detail.
    Red(String, String),
}

/// Returns true for a path that holds tests by the usual conventions: a
/// directory `test`, `tests`, `__tests__` or `spec`, or a file named like
/// `test_*.py`, `*_test.py`, `conftest.py`, `*_test.go`, `*.test.*`,
/// `*.spec.*`, `*_test.rs`, `*_tests.rs` or `tests.rs`.
#[must_use]
pub(crate) fn is_test_path(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    let Some(file) = parts.pop() else {
        return false;
    };
    if parts
        .iter()
        .any(|d| matches!(*d, "test" | "tests" | "__tests__" | "spec"))
    {
        return true;
    }
    let stem_ext = file.rsplit_once('.');
    let middle = |tag: &str| {
        // `name.test.js`, `name.spec.ts`: the tag is a middle component.
        let pieces: Vec<&str> = file.split('.').collect();
        pieces.len() >= 3 && pieces[1..pieces.len() - 1].contains(&tag)
    };
    (file.starts_with("test_") && stem_ext.is_some_and(|(_, ext)| ext == "py"))
        || file == "conftest.py"
        || file == "tests.rs"
        || stem_ext.is_some_and(|(stem, ext)| {
            matches!(ext, "py" | "go" | "rs")
                && (stem.ends_with("_test") || stem.ends_with("_tests"))
        })
        || middle("test")
        || middle("spec")
}

/// Returns true for a test name that moves when the file around it changes:
/// doctests are named by their line (`src/lib.rs - foo (line 12)`).
fn unstable(name: &str) -> bool {
    name.contains(" (line ")
}

/// Returns the test files of a diff that the base run takes from the head:
/// added or changed files that look like tests.
#[must_use]
pub(crate) fn test_files(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .filter(|c| c.status != ChangeKind::Deleted && is_test_path(&c.path))
        .map(|c| c.path.clone())
        .collect()
}

/// Returns the names of the tests that pass on the head and did not exist
/// on the base, or why the check stops here.
///
/// `head_passed` is the count read from the head's summary: when fewer
/// passing tests are listed by name, some cannot be checked.
pub(crate) fn new_tests(
    head: &[TestResult],
    head_passed: u64,
    base_names: &BTreeSet<String>,
) -> Result<Vec<String>, Stop> {
    let named = head
        .iter()
        .filter(|t| t.outcome == TestOutcome::Passed)
        .count() as u64;
    if named < head_passed {
        return Err(Stop::Person(format!(
            "tests_first: {} of the {head_passed} passing tests are not listed by name, so they \
             cannot be checked: make `[gates] tests` list every test (cargo test and nextest do; \
             `pytest -v`, `python -m unittest -v`, `go test -v`, `jest --verbose`)",
            head_passed - named
        )));
    }
    let new: Vec<String> = head
        .iter()
        .filter(|t| t.outcome == TestOutcome::Passed)
        .filter(|t| !unstable(&t.name) && !base_names.contains(&t.name))
        .map(|t| t.name.clone())
        .collect();
    if new.is_empty() {
        return Err(Stop::Person(
            "tests_first: the task adds no test (by name) that its base lacks; if it needs none \
             (a refactor, docs), a person decides: turn tests_first off for it, or `slipway task \
             retry` after adding one"
                .into(),
        ));
    }
    Ok(new)
}

/// Judges the new tests by how they ran on the base with the task's test
/// files: each must be listed there as failed.
pub(crate) fn judge_on_base(
    new: &[String],
    on_base: &[TestResult],
    files: &[String],
) -> Result<String, Stop> {
    let outcomes: BTreeMap<&str, TestOutcome> = on_base
        .iter()
        .map(|t| (t.name.as_str(), t.outcome))
        .collect();
    let mut passing = Vec::new();
    let mut missing = Vec::new();
    for name in new {
        match outcomes.get(name.as_str()) {
            Some(TestOutcome::Failed) => {}
            Some(TestOutcome::Passed) => passing.push(name.as_str()),
            Some(TestOutcome::Skipped) | None => missing.push(name.as_str()),
        }
    }
    if passing.is_empty() && missing.is_empty() {
        return Ok(format!(
            "tests_first: {} new test(s) fail on the base and pass on the head",
            new.len()
        ));
    }
    let mut detail = String::from(
        "tests_first is on: every test the task adds must FAIL on the task's base (its source \
         as it was, with the task's test files) and pass on the head. The suite is green; the \
         tests are what to change.\n",
    );
    if !passing.is_empty() {
        let _ = write!(
            detail,
            "\nThese new tests PASS on the base, so they do not show the change: make them test \
             what the task changes.\n  {}\n",
            passing.join("\n  ")
        );
    }
    if !missing.is_empty() {
        let _ = write!(
            detail,
            "\nThese new tests did not run (or were skipped) on the base: a base that does not \
             build or collect them does not count as failing them. Test through what exists \
             on the base, in test files.\n  {}\n",
            missing.join("\n  ")
        );
    }
    let _ = write!(
        detail,
        "\nTest files taken from the head: {}\n",
        if files.is_empty() {
            "none".to_owned()
        } else {
            files.join(", ")
        }
    );
    let why = format!(
        "tests_first: {} new test(s) pass on the base, {} did not run there",
        passing.len(),
        missing.len()
    );
    Err(Stop::Red(why, detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(name: &str, outcome: TestOutcome) -> TestResult {
        TestResult {
            name: name.to_owned(),
            outcome,
        }
    }

    #[test]
    fn test_paths_by_convention() {
        for path in [
            "tests/api.rs",
            "crates/x/tests/suite/a.rs",
            "api/test_server.py",
            "api/server_test.py",
            "conftest.py",
            "pkg/thing_test.go",
            "web/app.test.js",
            "web/app.spec.ts",
            "src/__tests__/a.js",
            "src/store_tests.rs",
            "src/tests.rs",
            "spec/models/user_spec.rb",
        ] {
            assert!(is_test_path(path), "{path}");
        }
        for path in [
            "src/lib.rs",
            "api/server.py",
            "latest.py",
            "web/app.js",
            "contest.py",
            "testing/helpers.go",
            "src/attest.rs",
            "test.py",
        ] {
            assert!(!is_test_path(path), "{path}");
        }
    }

    #[test]
    fn new_tests_are_passing_names_the_base_lacks() {
        let base: BTreeSet<String> = ["a".to_owned()].into();
        let head = [
            t("a", TestOutcome::Passed),
            t("b", TestOutcome::Passed),
            t("c", TestOutcome::Skipped),
            t("src/lib.rs - f (line 3)", TestOutcome::Passed),
        ];
        assert_eq!(new_tests(&head, 3, &base), Ok(vec!["b".to_owned()]));
        // Fewer named than counted: a person must make the runner list them.
        let err = new_tests(&head, 4, &base).unwrap_err();
        assert!(
            matches!(&err, Stop::Person(why) if why.contains("1 of the 4")),
            "{err:?}"
        );
        // Nothing new: a person decides.
        let err = new_tests(&head[..1], 1, &base).unwrap_err();
        assert!(
            matches!(&err, Stop::Person(why) if why.contains("adds no test")),
            "{err:?}"
        );
    }

    #[test]
    fn every_new_test_must_fail_on_the_base() {
        let new = ["n1".to_owned(), "n2".to_owned(), "n3".to_owned()];
        let files = ["tests/t.py".to_owned()];
        let all_fail = [
            t("n1", TestOutcome::Failed),
            t("n2", TestOutcome::Failed),
            t("n3", TestOutcome::Failed),
            t("old", TestOutcome::Passed),
        ];
        assert!(judge_on_base(&new, &all_fail, &files).is_ok());
        let mixed = [
            t("n1", TestOutcome::Failed),
            t("n2", TestOutcome::Passed),
            t("n3", TestOutcome::Skipped),
        ];
        let Err(Stop::Red(why, detail)) = judge_on_base(&new, &mixed, &files) else {
            panic!("expected red");
        };
        assert_eq!(
            why,
            "tests_first: 1 new test(s) pass on the base, 1 did not run there"
        );
        assert!(
            detail.contains("PASS on the base") && detail.contains("  n2"),
            "{detail}"
        );
        assert!(
            detail.contains("did not run") && detail.contains("  n3"),
            "{detail}"
        );
        assert!(detail.contains("tests/t.py"), "{detail}");
        // A base that ran nothing (did not compile) fails them all as missing.
        let Err(Stop::Red(why, _)) = judge_on_base(&new, &[], &files) else {
            panic!("expected red");
        };
        assert!(why.contains("3 did not run"), "{why}");
    }

    proptest! {
        #[test]
        fn the_verdict_is_green_exactly_when_each_new_test_failed_on_the_base(
            outcomes in proptest::collection::vec(0u8..4, 1..8)
        ) {
            let new: Vec<String> = (0..outcomes.len()).map(|i| format!("t{i}")).collect();
            let on_base: Vec<TestResult> = outcomes
                .iter()
                .enumerate()
                .filter_map(|(i, o)| match o {
                    0 => Some(t(&format!("t{i}"), TestOutcome::Failed)),
                    1 => Some(t(&format!("t{i}"), TestOutcome::Passed)),
                    2 => Some(t(&format!("t{i}"), TestOutcome::Skipped)),
                    _ => None,
                })
                .collect();
            let green = outcomes.iter().all(|o| *o == 0);
            prop_assert_eq!(judge_on_base(&new, &on_base, &[]).is_ok(), green);
        }
    }
}
