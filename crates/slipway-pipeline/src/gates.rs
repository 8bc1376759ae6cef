//! The gates' decisions, apart from the I/O around them: whether a test run
//! is green, and whether a diff stays inside its task's lane and seams.

use slipway_git::{Change, ChangeKind, MODE_SUBMODULE, MODE_SYMLINK};
use slipway_policy::{AgentRole, Grant, Ownership, check_write};
use slipway_sandbox::Exit;
use slipway_types::{Finding, Severity, TestCounts};

/// What a test run says about the work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestVerdict {
    Green,
    /// The work is at fault: the reason becomes part of a debugging assignment.
    Red(String),
    /// The suite could not run at all (no test command, a program missing):
    /// a person must look, not a debugger.
    Broken(String),
}

/// Judges a test run from how it ended, the counts read from its output,
/// and how many tests passed on the task's base.
#[must_use]
pub fn judge_tests(exit: &Exit, counts: Option<TestCounts>, base_passed: u64) -> TestVerdict {
    match exit {
        Exit::TimedOut => return TestVerdict::Red("the tests ran past their time limit".into()),
        Exit::OutputCapped => {
            return TestVerdict::Red("the tests printed more than the output cap allows".into());
        }
        Exit::Exited(126 | 127) => {
            return TestVerdict::Broken(
                "the test command could not be started (not found or not executable): \
                 check `[gates] tests` in slipway.toml"
                    .into(),
            );
        }
        Exit::Signalled(signal) => {
            return TestVerdict::Red(format!("the tests were killed by signal {signal}"));
        }
        Exit::Exited(_) => {}
    }
    let Some(counts) = counts else {
        return TestVerdict::Red(format!(
            "the test command {}, and no test counts could be read from its output",
            exit_words(*exit)
        ));
    };
    if counts.failed > 0 {
        return TestVerdict::Red(format!("{} test(s) failed", counts.failed));
    }
    if !exit.success() {
        return TestVerdict::Red(format!(
            "the test command {} although no test failed",
            exit_words(*exit)
        ));
    }
    if counts.passed == 0 {
        return TestVerdict::Red("no test ran".into());
    }
    if counts.passed < base_passed {
        return TestVerdict::Red(format!(
            "{} test(s) passed, fewer than the {base_passed} that pass on the task's base: tests were lost",
            counts.passed
        ));
    }
    TestVerdict::Green
}

fn exit_words(exit: Exit) -> String {
    match exit {
        Exit::Exited(0) => "succeeded".into(),
        Exit::Exited(code) => format!("exited with {code}"),
        other => other.to_string(),
    }
}

/// Checks every entry of a diff against the task's lane and held seams,
/// with the same rule the file tools apply; a rename arrives as a delete
/// and an add, so both paths are checked. New symlinks and submodules are
/// refused wherever they are. Returns one critical finding per violation.
#[must_use]
pub fn ownership_findings(
    changes: &[Change],
    ownership: &Ownership,
    lane: &str,
    seams: &[String],
) -> Vec<Finding> {
    let grant = Grant::new(AgentRole::Coder)
        .with_lane(lane)
        .with_seams(seams.iter().cloned());
    let mut findings = Vec::new();
    for change in changes {
        let path = change.path.as_str();
        let added = change.status != ChangeKind::Deleted;
        if added && change.new_mode == MODE_SYMLINK {
            findings.push(violation(
                path,
                "adds a symbolic link; commit the file itself",
            ));
            continue;
        }
        if added && change.new_mode == MODE_SUBMODULE {
            findings.push(violation(
                path,
                "adds a submodule; vendor the code or ask a person",
            ));
            continue;
        }
        if let Err(denial) = check_write(&grant, ownership, path) {
            let verb = match change.status {
                ChangeKind::Added => "adds",
                ChangeKind::Deleted => "deletes",
                _ => "changes",
            };
            findings.push(violation(path, &format!("{verb} it: {}", denial.reason)));
        }
    }
    findings
}

fn violation(path: &str, what: &str) -> Finding {
    Finding {
        severity: Severity::Critical,
        title: format!("outside the task's lane: `{}`", path.escape_debug()),
        detail: format!("The diff {what}"),
        location: path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use slipway_git::{Change, ChangeKind, MODE_SUBMODULE, MODE_SYMLINK};
    use slipway_policy::{LaneSpec, Ownership};
    use slipway_sandbox::Exit;
    use slipway_types::{Severity, TestCounts};

    use super::{TestVerdict, judge_tests, ownership_findings};

    fn counts(passed: u64, failed: u64) -> TestCounts {
        TestCounts {
            passed,
            failed,
            skipped: 0,
        }
    }

    #[test]
    fn a_test_run_is_green_only_when_all_pass_some_ran_and_none_were_lost() {
        let red = |v: &TestVerdict| matches!(v, TestVerdict::Red(_));
        let broken = |v: &TestVerdict| matches!(v, TestVerdict::Broken(_));
        assert_eq!(
            judge_tests(&Exit::Exited(0), Some(counts(5, 0)), 5),
            TestVerdict::Green
        );
        assert!(red(&judge_tests(&Exit::Exited(1), Some(counts(4, 1)), 0)));
        assert!(
            red(&judge_tests(&Exit::Exited(0), Some(counts(0, 0)), 0)),
            "none ran"
        );
        assert!(
            red(&judge_tests(&Exit::Exited(0), Some(counts(3, 0)), 4)),
            "fewer than the base"
        );
        assert!(
            red(&judge_tests(&Exit::Exited(2), Some(counts(3, 0)), 0)),
            "a failing exit"
        );
        assert!(red(&judge_tests(&Exit::Exited(0), None, 0)), "no counts");
        assert!(red(&judge_tests(&Exit::TimedOut, Some(counts(3, 0)), 0)));
        assert!(red(&judge_tests(
            &Exit::OutputCapped,
            Some(counts(3, 0)),
            0
        )));
        assert!(red(&judge_tests(
            &Exit::Signalled(9),
            Some(counts(3, 0)),
            0
        )));
        assert!(broken(&judge_tests(&Exit::Exited(127), None, 0)));
        assert!(broken(&judge_tests(
            &Exit::Exited(126),
            Some(counts(3, 0)),
            0
        )));
    }

    fn change(status: ChangeKind, path: &str, new_mode: u32) -> Change {
        Change {
            status,
            path: path.to_owned(),
            old_mode: 0,
            new_mode,
        }
    }

    #[test]
    fn the_ownership_gate_allows_the_lane_and_held_seams_only() {
        let lanes = [
            LaneSpec {
                name: "api".into(),
                owns: vec!["api/".into()],
            },
            LaneSpec {
                name: "web".into(),
                owns: vec!["web/".into()],
            },
        ];
        let ownership = Ownership::new(&lanes, &["db/schema.sql".to_owned()]).unwrap();
        let file = 0o100_644;
        let changes = [
            change(ChangeKind::Modified, "api/a.py", file),
            change(ChangeKind::Added, "db/schema.sql", file),
            change(ChangeKind::Deleted, "web/old.js", 0),
            change(ChangeKind::Added, "api/link", MODE_SYMLINK),
            change(ChangeKind::Added, "api/vendor", MODE_SUBMODULE),
            change(ChangeKind::Modified, "slipway.toml", file),
        ];
        let held = ["db/schema.sql".to_owned()];
        let found = ownership_findings(&changes, &ownership, "api", &held);
        let places: Vec<&str> = found.iter().map(|f| f.location.as_str()).collect();
        assert_eq!(
            places,
            ["web/old.js", "api/link", "api/vendor", "slipway.toml"]
        );
        assert!(found.iter().all(|f| f.severity == Severity::Critical));
        // Without the seam's lease, the seam is outside too.
        let found = ownership_findings(&changes[..2], &ownership, "api", &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].location, "db/schema.sql");
    }
}
