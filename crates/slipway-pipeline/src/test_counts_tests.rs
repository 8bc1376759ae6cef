use std::fmt::Write as _;

use proptest::prelude::*;
use slipway_types::TestCounts;

use super::*;
use crate::trim::{LINE_CAP, trim_failure};

fn counts(passed: u64, failed: u64, skipped: u64) -> TestCounts {
    TestCounts {
        passed,
        failed,
        skipped,
    }
}

const CARGO_GREEN: &str = "\
   Compiling demo v0.1.0 (/work/demo)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 1.23s
     Running unittests src/lib.rs (target/debug/deps/demo-1234abcd)

running 3 tests
test tests::adds ... ok
test tests::needs_db ... ignored
test tests::subtracts ... ok

test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/api.rs (target/debug/deps/api-5678efgh)

running 4 tests
test lists ... ok
test creates ... ok
test deletes ... ok
test updates ... ok

test result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 2 filtered out; finished in 0.01s

   Doc-tests demo

running 1 test
test src/lib.rs - add (line 3) ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.12s

";

const CARGO_RED: &str = "\
     Running unittests src/lib.rs (target/debug/deps/demo-1234abcd)

running 3 tests
test tests::adds ... ok
test tests::divides ... FAILED
test tests::slow ... ignored, needs a database

failures:

---- tests::divides stdout ----

thread 'tests::divides' panicked at src/lib.rs:21:9:
assertion `left == right` failed
  left: 3
 right: 4
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace


failures:
    tests::divides

test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

error: test failed, to rerun pass `--lib`
";

const NEXTEST_GREEN: &str = "\
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.10s
────────────
 Nextest run ID 8c2f3a9e-1b7d-4a55-9d1e-5f3b2c1a0e77 with nextest profile: default
    Starting 12 tests across 3 binaries (1 test skipped)
        PASS [   0.004s] demo tests::adds
        PASS [   0.005s] demo tests::subtracts
        PASS [   0.011s] demo::api lists
────────────
     Summary [   0.123s] 12 tests run: 12 passed, 1 skipped
";

const NEXTEST_RED: &str = "\
    Starting 10 tests across 2 binaries (1 test skipped)
        PASS [   0.010s] demo tests::adds
   TRY 1 FAIL [   0.011s] demo tests::racy
   TRY 2 PASS [   0.009s] demo tests::racy
        FAIL [   0.020s] demo tests::divides
──── STDOUT:             demo tests::divides

──── STDERR:             demo tests::divides
thread 'tests::divides' panicked at src/lib.rs:21:9:
assertion `left == right` failed
  left: 3
 right: 4

     TIMEOUT [  60.001s] demo tests::hangs
────────────
     Summary [  60.210s] 10 tests run: 8 passed (1 slow, 1 flaky), 1 failed, 1 timed out, 1 skipped
       FLAKY 2/2 [   0.009s] demo tests::racy
        FAIL [   0.020s] demo tests::divides
     TIMEOUT [  60.001s] demo tests::hangs
error: test run failed
";

const PYTEST_GREEN: &str = "\
============================= test session starts ==============================
platform linux -- Python 3.12.3, pytest-8.2.0, pluggy-1.5.0
rootdir: /work/demo
collected 7 items

tests/test_math.py ..s.x..                                               [100%]

=================== 5 passed, 1 skipped, 1 xfailed in 0.12s ====================
";

const PYTEST_RED: &str = "\
============================= test session starts ==============================
collected 6 items

tests/test_math.py .F.sE.                                                [100%]

==================================== ERRORS ====================================
_______________________ ERROR at setup of test_database ________________________

    @pytest.fixture
    def db():
>       return connect(\"localhost\")
E       ConnectionRefusedError: [Errno 111] Connection refused

tests/conftest.py:8: ConnectionRefusedError
=================================== FAILURES ===================================
_________________________________ test_divide __________________________________

    def test_divide():
>       assert divide(6, 3) == 3
E       assert 2.0 == 3
E        +  where 2.0 = divide(6, 3)

tests/test_math.py:12: AssertionError
=========================== short test summary info ============================
FAILED tests/test_math.py::test_divide - assert 2.0 == 3
ERROR tests/test_math.py::test_database - ConnectionRefusedError: [Errno 111] Connection refused
=============== 1 failed, 3 passed, 1 skipped, 1 error in 0.34s ================
";

const GO_VERBOSE: &str = "\
=== RUN   TestAdd
--- PASS: TestAdd (0.00s)
=== RUN   TestDivide
=== RUN   TestDivide/by_zero
    math_test.go:21: want error, got nil
=== RUN   TestDivide/positive
--- FAIL: TestDivide (0.00s)
    --- FAIL: TestDivide/by_zero (0.00s)
    --- PASS: TestDivide/positive (0.00s)
=== RUN   TestNetwork
    net_test.go:9: no network in the sandbox
--- SKIP: TestNetwork (0.00s)
FAIL
FAIL\texample.com/demo/math\t0.004s
=== RUN   TestParse
--- PASS: TestParse (0.00s)
PASS
ok  \texample.com/demo/parse\t0.002s
?   \texample.com/demo/cmd\t[no test files]
FAIL
";

const GO_QUIET: &str = "\
--- FAIL: TestDivide (0.00s)
    --- FAIL: TestDivide/by_zero (0.00s)
        math_test.go:21: want error, got nil
FAIL
FAIL\texample.com/demo/math\t0.004s
ok  \texample.com/demo/parse\t0.002s
ok  \texample.com/demo/store\t(cached)
?   \texample.com/demo/cmd\t[no test files]
FAIL
";

const JEST_RED: &str = "\
 FAIL  src/math.test.js
  ● math › divides

    expect(received).toBe(expected) // Object.is equality

    Expected: 3
    Received: 2

      10 |   test('divides', () => {
    > 11 |     expect(divide(6, 3)).toBe(3);
         |                          ^

      at Object.toBe (src/math.test.js:11:26)

 PASS  src/parse.test.js

Test Suites: 1 failed, 1 passed, 2 total
Tests:       1 failed, 2 skipped, 5 passed, 8 total
Snapshots:   0 total
Time:        1.234 s
Ran all test suites.
";

const VITEST_RED: &str = "\
 ❯ src/math.test.ts (3 tests | 1 failed) 5ms
   × math > divides 3ms
     → expected 2 to be 3 // Object.is equality

⎯⎯⎯⎯⎯⎯⎯ Failed Tests 1 ⎯⎯⎯⎯⎯⎯⎯

 FAIL  src/math.test.ts > math > divides
AssertionError: expected 2 to be 3 // Object.is equality

- Expected
+ Received

- 3
+ 2

 ❯ src/math.test.ts:11:26

⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[1/1]⎯

 Test Files  1 failed | 1 passed (2)
      Tests  2 failed | 5 passed (7)
   Start at  12:00:01
   Duration  1.02s (transform 40ms, setup 0ms, collect 60ms, tests 8ms)
";

#[test]
fn cargo_test_sums_every_binary_and_the_doc_tests() {
    assert_eq!(parse_test_counts(CARGO_GREEN), Some(counts(7, 0, 1)));
    assert_eq!(parse_test_counts(CARGO_RED), Some(counts(1, 1, 1)));
    // Before Rust 1.71 there was no "finished in".
    assert_eq!(
        parse_test_counts(
            "test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n"
        ),
        Some(counts(3, 0, 0))
    );
}

#[test]
fn a_crashed_cargo_test_binary_counts_as_a_failure() {
    let output = format!(
        "{CARGO_GREEN}     Running tests/crash.rs (target/debug/deps/crash-9abc)

running 2 tests
error: test failed, to rerun pass `--test crash`

Caused by:
  process didn't exit successfully: `target/debug/deps/crash-9abc` (signal: 11, SIGSEGV: invalid memory reference)
"
    );
    assert_eq!(parse_test_counts(&output), Some(counts(7, 1, 1)));
    // With real failures the count stands as printed.
    assert_eq!(parse_test_counts(CARGO_RED), Some(counts(1, 1, 1)));
}

#[test]
fn nextest_counts_flaky_and_timed_out_tests_as_failed() {
    assert_eq!(parse_test_counts(NEXTEST_GREEN), Some(counts(12, 0, 1)));
    // 8 passed, one of them only on a retry; 1 failed and 1 timed out.
    assert_eq!(parse_test_counts(NEXTEST_RED), Some(counts(7, 3, 1)));
    let cases = [
        ("1 test run: 1 passed, 0 skipped", Some(counts(1, 0, 0))),
        // Cancelled after the first failure.
        (
            "3/10 tests run: 2 passed, 1 failed, 0 skipped",
            Some(counts(2, 1, 0)),
        ),
        (
            "4 tests run: 4 passed (1 leaky), 0 skipped",
            Some(counts(4, 0, 0)),
        ),
        (
            "3 tests run: 2 passed, 1 failed (1 due to being leaky), 0 skipped",
            Some(counts(2, 1, 0)),
        ),
        (
            "2 tests run: 1 passed, 1 exec failed, 0 skipped",
            Some(counts(1, 1, 0)),
        ),
        ("0 tests run: 0 passed, 0 skipped", Some(counts(0, 0, 0))),
    ];
    for (summary, expected) in cases {
        let output = format!("────────────\n     Summary [   0.050s] {summary}\n");
        assert_eq!(parse_test_counts(&output), expected, "{summary}");
    }
}

#[test]
fn nextest_wins_over_the_doc_tests_cargo_test_ran_after_it() {
    let output = format!(
        "{NEXTEST_GREEN}   Doc-tests demo\n\nrunning 1 test\ntest src/lib.rs - add (line 3) ... ok\n\n\
         test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.12s\n"
    );
    assert_eq!(parse_test_counts(&output), Some(counts(12, 0, 1)));
}

#[test]
fn pytest_counts_errors_as_failed_and_xfailed_as_skipped() {
    assert_eq!(parse_test_counts(PYTEST_GREEN), Some(counts(5, 0, 2)));
    assert_eq!(parse_test_counts(PYTEST_RED), Some(counts(3, 2, 1)));
    let cases = [
        ("3 passed in 0.01s", Some(counts(3, 0, 0))),
        (
            "1 failed, 2 passed, 1 warning in 0.05s",
            Some(counts(2, 1, 0)),
        ),
        (
            "== 2 passed, 3 deselected in 0.02s ==",
            Some(counts(2, 0, 0)),
        ),
        (
            "== 2 passed, 1 xpassed, 4 warnings in 0.10s ==",
            Some(counts(2, 0, 0)),
        ),
        (
            "===== 120 passed in 61.20s (0:01:01) =====",
            Some(counts(120, 0, 0)),
        ),
        (
            "===== 3 passed in 0.05 seconds =====",
            Some(counts(3, 0, 0)),
        ),
        ("===== 2 errors in 0.30s =====", Some(counts(0, 2, 0))),
        (
            "=== 1 failed, 1 passed, 1 rerun in 0.4s ===",
            Some(counts(1, 1, 0)),
        ),
        (
            "============ no tests ran in 0.01s ============",
            Some(counts(0, 0, 0)),
        ),
        ("== 5 deselected in 0.01s ==", Some(counts(0, 0, 0))),
    ];
    for (line, expected) in cases {
        assert_eq!(parse_test_counts(line), expected, "{line}");
    }
    // A count of something else with a duration is not a pytest summary.
    assert_eq!(parse_test_counts("downloaded 3 crates in 0.5s"), None);
}

#[test]
fn go_test_counts_top_level_tests_and_packages_without_a_test_list() {
    // TestAdd and TestParse passed, TestDivide failed (its subtests are not counted).
    assert_eq!(parse_test_counts(GO_VERBOSE), Some(counts(2, 1, 1)));
    // Without -v: two green packages count one each, plus the failed test.
    assert_eq!(parse_test_counts(GO_QUIET), Some(counts(2, 1, 0)));
    let build_failure = "\
# example.com/demo/math [example.com/demo/math.test]
math/math_test.go:5:2: undefined: Divde
FAIL\texample.com/demo/math [build failed]
ok  \texample.com/demo/parse\t0.002s
FAIL
";
    assert_eq!(parse_test_counts(build_failure), Some(counts(1, 1, 0)));
    let timeout = "\
panic: test timed out after 10m0s
\trunning tests:
\t\tTestHang (10m0s)

goroutine 1 [running]:
testing.(*M).startAlarm.func1()
FAIL\texample.com/demo/hang\t600.012s
FAIL
";
    assert_eq!(parse_test_counts(timeout), Some(counts(0, 1, 0)));
    assert_eq!(
        parse_test_counts("ok  \texample.com/demo\t0.003s\tcoverage: 81.2% of statements\n"),
        Some(counts(1, 0, 0))
    );
    assert_eq!(
        parse_test_counts("ok  \texample.com/demo\t0.003s [no tests to run]\n"),
        Some(counts(0, 0, 0))
    );
    assert_eq!(
        parse_test_counts("?   \texample.com/demo/cmd\t[no test files]\n"),
        Some(counts(0, 0, 0))
    );
}

#[test]
fn jest_and_vitest_summaries_are_read() {
    assert_eq!(parse_test_counts(JEST_RED), Some(counts(5, 1, 2)));
    assert_eq!(parse_test_counts(VITEST_RED), Some(counts(5, 2, 0)));
    let cases = [
        ("Tests:       4 passed, 4 total", Some(counts(4, 0, 0))),
        (
            "Tests:       1 skipped, 2 todo, 3 passed, 6 total",
            Some(counts(3, 0, 3)),
        ),
        ("Tests:       2 passed, 2 of 5 total", Some(counts(2, 0, 0))),
        ("Tests:       0 total", Some(counts(0, 0, 0))),
        (
            "      Tests  5 passed | 1 skipped (6)",
            Some(counts(5, 0, 1)),
        ),
        (
            "      Tests  1 failed | 2 passed | 1 todo (4)",
            Some(counts(2, 1, 1)),
        ),
        ("      Tests  no tests", Some(counts(0, 0, 0))),
    ];
    for (line, expected) in cases {
        assert_eq!(parse_test_counts(line), expected, "{line}");
    }
}

#[test]
fn a_plain_passed_failed_line_is_read_anywhere_and_the_last_one_wins() {
    let cases = [
        (
            "Results: 10 passed, 2 failed, 1 skipped",
            Some(counts(10, 2, 1)),
        ),
        ("suite done (4 passed, 0 failed)", Some(counts(4, 0, 0))),
        ("3 Passed; 1 Failed.", Some(counts(3, 1, 0))),
        (
            "unit: 5 passed, 0 failed\nall: 9 passed, 1 failed, 2 skipped\n",
            Some(counts(9, 1, 2)),
        ),
    ];
    for (output, expected) in cases {
        assert_eq!(parse_test_counts(output), expected, "{output}");
    }
}

#[test]
fn colour_codes_and_carriage_returns_are_ignored() {
    let cargo = "test result: \u{1b}[32mok\u{1b}[0m. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s";
    assert_eq!(parse_test_counts(cargo), Some(counts(3, 0, 0)));
    let jest = "\u{1b}[1mTests:       \u{1b}[22m\u{1b}[1m\u{1b}[31m1 failed\u{1b}[39m\u{1b}[22m, \u{1b}[1m\u{1b}[32m5 passed\u{1b}[39m\u{1b}[22m, 6 total";
    assert_eq!(parse_test_counts(jest), Some(counts(5, 1, 0)));
    let nextest = "\u{1b}[32;1m     Summary\u{1b}[0m [   0.010s] \u{1b}[1m2\u{1b}[0m tests run: \u{1b}[1m2\u{1b}[0m \u{1b}[32;1mpassed\u{1b}[0m, \u{1b}[1m0\u{1b}[0m \u{1b}[33;1mskipped\u{1b}[0m";
    assert_eq!(parse_test_counts(nextest), Some(counts(2, 0, 0)));
    let hyperlink = "\u{1b}]8;;file:///a\u{7}3 passed\u{1b}]8;;\u{7} in 0.01s";
    assert_eq!(parse_test_counts(hyperlink), Some(counts(3, 0, 0)));
    let progress = "collecting ... 10%\rcollecting ... 100%\r3 passed in 0.01s\r\n";
    assert_eq!(parse_test_counts(progress), Some(counts(3, 0, 0)));
}

#[test]
fn the_most_specific_format_wins() {
    // A test that prints a plain summary line does not fool the pytest reader.
    let output = format!("Results: 1 passed, 1 failed\n{PYTEST_GREEN}");
    assert_eq!(parse_test_counts(&output), Some(counts(5, 0, 2)));
    // libtest beats go: a Rust test may print `--- FAIL:`.
    let output = format!("--- FAIL: TestX (0.00s)\n{CARGO_RED}");
    assert_eq!(parse_test_counts(&output), Some(counts(1, 1, 1)));
}

#[test]
fn output_without_a_summary_gives_none() {
    let compile_error = "\
   Compiling demo v0.1.0 (/work/demo)
error[E0425]: cannot find value `totl` in this scope
  --> src/lib.rs:3:5
   |
3  |     totl / count
   |     ^^^^ help: a local variable with a similar name exists: `total`

error: could not compile `demo` (lib test) due to 1 previous error
";
    for output in [
        "",
        "\n\n",
        compile_error,
        "All tests passed!",
        "3 passed but 1 failed",
        "test result: ok. 1 passed",
        "test result: maybe. 1 passed",
        "Summary [ 0.1s] 3 tests run: lots passed",
        "Tests: 5",
        "okay\texample.com/demo",
        "--- FAIL: no duration",
    ] {
        assert_eq!(parse_test_counts(output), None, "{output}");
    }
}

#[test]
fn huge_counts_saturate_instead_of_overflowing() {
    let line = format!(
        "test result: ok. {0} passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n",
        u64::MAX
    );
    let output = line.repeat(2);
    assert_eq!(parse_test_counts(&output), Some(counts(u64::MAX, 0, 0)));
    let too_big = "test result: ok. 99999999999999999999999 passed; 0 failed; 0 ignored";
    assert_eq!(parse_test_counts(too_big), None);
}

/// Ten thousand lines of noise between the failure and the summary.
fn long_cargo_failure() -> String {
    let noise = (0..10_000).fold(String::new(), |mut noise, i| {
        let _ = writeln!(
            noise,
            "[2026-01-01T00:00:00Z DEBUG demo::pool] checked out connection {i}"
        );
        noise
    });
    CARGO_RED.replace(
        "failures:\n    tests::divides\n",
        &format!("{noise}failures:\n    tests::divides\n"),
    )
}

#[test]
fn trim_failure_keeps_the_failure_its_message_and_the_summary() {
    let output = long_cargo_failure();
    let trimmed = trim_failure(&output, 4_000);
    assert!(trimmed.len() <= 4_000, "{}", trimmed.len());
    for needle in [
        "test tests::divides ... FAILED",
        "---- tests::divides stdout ----",
        "thread 'tests::divides' panicked at src/lib.rs:21:9:",
        "assertion `left == right` failed",
        "  left: 3",
        " right: 4",
        "test result: FAILED. 1 passed; 1 failed; 1 ignored",
        "error: test failed, to rerun pass `--lib`",
        "lines cut …]",
    ] {
        assert!(
            trimmed.contains(needle),
            "{needle} missing from:\n{trimmed}"
        );
    }
    // The tail fills what is left: the last lines of noise are there.
    assert!(trimmed.contains("checked out connection 9999"));
    assert!(!trimmed.contains("checked out connection 5000\n"));
}

#[test]
fn trim_failure_keeps_what_each_runner_prints_about_a_failure() {
    let pad = |sample: &str| {
        let noise = (0..2_000).fold(String::new(), |mut noise, i| {
            let _ = writeln!(noise, "noise line {i}");
            noise
        });
        format!("{noise}{sample}{noise}")
    };
    let cases: [(&str, &[&str]); 5] = [
        (
            PYTEST_RED,
            &[
                "E       assert 2.0 == 3",
                "FAILED tests/test_math.py::test_divide - assert 2.0 == 3",
                "1 failed, 3 passed, 1 skipped, 1 error in 0.34s",
            ],
        ),
        (
            GO_VERBOSE,
            &[
                "--- FAIL: TestDivide (0.00s)",
                "    math_test.go:21: want error, got nil",
                "FAIL\texample.com/demo/math\t0.004s",
            ],
        ),
        (
            JEST_RED,
            &[
                "● math › divides",
                "Expected: 3",
                "Received: 2",
                "Tests:       1 failed",
            ],
        ),
        (
            VITEST_RED,
            &[
                " FAIL  src/math.test.ts > math > divides",
                "AssertionError: expected 2 to be 3",
                "Tests  2 failed | 5 passed (7)",
            ],
        ),
        (
            NEXTEST_RED,
            &[
                "FAIL [   0.020s] demo tests::divides",
                "panicked at src/lib.rs:21:9",
                "TIMEOUT [  60.001s] demo tests::hangs",
                "Summary [  60.210s] 10 tests run",
            ],
        ),
    ];
    for (sample, needles) in cases {
        let trimmed = trim_failure(&pad(sample), 3_000);
        assert!(trimmed.len() <= 3_000);
        for needle in needles {
            assert!(
                trimmed.contains(needle),
                "{needle} missing from:\n{trimmed}"
            );
        }
    }
}

#[test]
fn trim_failure_returns_short_output_whole_without_colours() {
    assert_eq!(trim_failure(CARGO_RED, 10_000), CARGO_RED);
    assert_eq!(trim_failure("\u{1b}[31mFAILED\u{1b}[0m\n", 100), "FAILED\n");
    assert_eq!(trim_failure("", 0), "");
}

#[test]
fn trim_failure_respects_tiny_limits() {
    let output = long_cargo_failure();
    for max in [0, 1, 10, 25, 60, 120] {
        assert!(trim_failure(&output, max).len() <= max, "{max}");
    }
    let line = "x".repeat(30);
    let output = format!("{line}\n{line}\n{line}\n{line}\n");
    assert_eq!(
        trim_failure(&output, 60),
        format!("[… 3 lines cut …]\n{line}")
    );
}

#[test]
fn trim_failure_cuts_very_long_lines() {
    let output = format!("{}\n{}\n", "x".repeat(50_000), CARGO_RED);
    let trimmed = trim_failure(&output, 3_000);
    assert!(trimmed.len() <= 3_000);
    assert!(trimmed.starts_with(&format!("{} […]\n", "x".repeat(LINE_CAP))));
    assert!(trimmed.contains("test result: FAILED."));
}

// Renderers for the property tests: each prints counts the way its runner does.

fn libtest(c: TestCounts) -> String {
    let status = if c.failed == 0 { "ok" } else { "FAILED" };
    format!(
        "\nrunning {} tests\n\ntest result: {status}. {} passed; {} failed; {} ignored; 0 measured; 0 filtered out; finished in 0.01s\n",
        c.passed + c.failed + c.skipped,
        c.passed,
        c.failed,
        c.skipped
    )
}

fn jest(c: TestCounts) -> String {
    let mut parts = Vec::new();
    for (n, label) in [
        (c.failed, "failed"),
        (c.skipped, "skipped"),
        (c.passed, "passed"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    parts.push(format!("{} total", c.passed + c.failed + c.skipped));
    format!(
        "Test Suites: 1 passed, 1 total\nTests:       {}\nTime:        1.2 s\n",
        parts.join(", ")
    )
}

fn vitest(c: TestCounts) -> String {
    let parts: Vec<String> = [
        (c.failed, "failed"),
        (c.passed, "passed"),
        (c.skipped, "skipped"),
    ]
    .into_iter()
    .filter(|&(n, _)| n > 0)
    .map(|(n, label)| format!("{n} {label}"))
    .collect();
    let line = if parts.is_empty() {
        "no tests".to_owned()
    } else {
        format!(
            "{} ({})",
            parts.join(" | "),
            c.passed + c.failed + c.skipped
        )
    };
    format!(" Test Files  1 passed (1)\n      Tests  {line}\n   Duration  1.02s\n")
}

fn pytest(c: TestCounts, errors: u64, pad: usize) -> String {
    let parts: Vec<String> = [
        (c.failed - errors, "failed"),
        (c.passed, "passed"),
        (c.skipped, "skipped"),
        (errors, if errors == 1 { "error" } else { "errors" }),
    ]
    .into_iter()
    .filter(|&(n, _)| n > 0)
    .map(|(n, label)| format!("{n} {label}"))
    .collect();
    let body = if parts.is_empty() {
        "no tests ran".to_owned()
    } else {
        parts.join(", ")
    };
    let bar = "=".repeat(pad);
    format!("collected 3 items\n\n{bar} {body} in 0.12s {bar}\n")
}

fn go(c: TestCounts) -> String {
    let mut out = String::new();
    for i in 0..c.passed {
        _ = write!(out, "=== RUN   TestP{i}\n--- PASS: TestP{i} (0.00s)\n");
    }
    for i in 0..c.failed {
        _ = write!(
            out,
            "=== RUN   TestF{i}\n    f_test.go:3: bad\n--- FAIL: TestF{i} (0.01s)\n"
        );
    }
    for i in 0..c.skipped {
        _ = write!(out, "=== RUN   TestS{i}\n--- SKIP: TestS{i} (0.00s)\n");
    }
    if c.failed > 0 {
        out.push_str("FAIL\nFAIL\texample.com/p\t0.010s\nFAIL\n");
    } else {
        out.push_str("PASS\nok  \texample.com/p\t0.010s\n");
    }
    out
}

fn small_counts(max: u64) -> impl Strategy<Value = TestCounts> {
    (0..=max, 0..=max, 0..=max).prop_map(|(passed, failed, skipped)| TestCounts {
        passed,
        failed,
        skipped,
    })
}

/// Fragments of the real formats, to build near misses from.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "test result: ",
            "ok. ",
            "FAILED. ",
            " passed",
            " failed",
            " skipped",
            "; ",
            ", ",
            " ignored",
            "Summary [",
            "] ",
            " tests run: ",
            "(",
            ")",
            " flaky",
            "Tests:",
            "Tests  ",
            " total",
            " | ",
            " in ",
            "0.1s",
            "=",
            "--- FAIL: ",
            "--- PASS: ",
            "ok  \t",
            "FAIL\t",
            "?   \t",
            "\n",
            "\r",
            "\u{1b}[",
            "\u{1b}]",
            "\u{1b}",
            "m",
            "/",
            "no tests ran",
            "é",
            "panicked at",
            "● ",
            "E   ",
            "[no test files]",
        ])
        .prop_map(str::to_owned),
        "[0-9]{1,25}",
        "\\PC{0,5}",
    ]
}

proptest! {
    #[test]
    fn cargo_test_counts_round_trip_summed_over_binaries(
        binaries in prop::collection::vec(small_counts(10_000), 1..5),
    ) {
        let output: String = binaries.iter().map(|&c| libtest(c)).collect();
        let total = binaries.iter().copied().reduce(add).unwrap();
        prop_assert_eq!(parse_test_counts(&output), Some(total));
    }

    #[test]
    fn nextest_counts_round_trip(
        c in small_counts(10_000),
        flaky in 0..5_u64,
        timed_out in 0..5_u64,
        cancelled in any::<bool>(),
    ) {
        let passed = c.passed + flaky;
        let mut summary = format!("{passed} passed");
        if flaky > 0 {
            _ = write!(summary, " ({flaky} flaky)");
        }
        summary.push_str(", ");
        if c.failed > 0 {
            _ = write!(summary, "{} failed, ", c.failed);
        }
        if timed_out > 0 {
            _ = write!(summary, "{timed_out} timed out, ");
        }
        _ = write!(summary, "{} skipped", c.skipped);
        let run = passed + c.failed + timed_out;
        let run = if cancelled { format!("{run}/{}", run + 7) } else { run.to_string() };
        let output = format!("────────────\n     Summary [   1.234s] {run} tests run: {summary}\n");
        let expected = TestCounts { passed: c.passed, failed: c.failed + timed_out + flaky, skipped: c.skipped };
        prop_assert_eq!(parse_test_counts(&output), Some(expected));
    }

    #[test]
    fn pytest_counts_round_trip(c in small_counts(10_000), errors in 0..3_u64, pad in 0..30_usize) {
        let c = TestCounts { failed: c.failed + errors, ..c };
        prop_assert_eq!(parse_test_counts(&pytest(c, errors, pad)), Some(c));
    }

    #[test]
    fn jest_and_vitest_counts_round_trip(c in small_counts(10_000)) {
        prop_assert_eq!(parse_test_counts(&jest(c)), Some(c));
        prop_assert_eq!(parse_test_counts(&vitest(c)), Some(c));
    }

    #[test]
    fn go_counts_round_trip(c in small_counts(20)) {
        let expected = if c == TestCounts::default() {
            // A green package that listed no tests counts as one.
            TestCounts { passed: 1, ..c }
        } else {
            c
        };
        prop_assert_eq!(parse_test_counts(&go(c)), Some(expected));
    }

    #[test]
    fn plain_counts_round_trip(c in small_counts(10_000), with_skipped in any::<bool>()) {
        let mut line = format!("summary: {} passed, {} failed", c.passed, c.failed);
        let mut expected = TestCounts { skipped: 0, ..c };
        if with_skipped {
            _ = write!(line, ", {} skipped", c.skipped);
            expected.skipped = c.skipped;
        }
        prop_assert_eq!(parse_test_counts(&line), Some(expected));
    }

    #[test]
    fn nothing_panics(
        arbitrary in "\\PC{0,300}",
        pieces in prop::collection::vec(fragment(), 0..40),
        max in 0..400_usize,
    ) {
        let assembled = pieces.concat();
        for text in [arbitrary.as_str(), assembled.as_str()] {
            let _ = parse_test_counts(text);
            prop_assert!(trim_failure(text, max).len() <= max);
        }
    }

    #[test]
    fn trim_failure_fits_keeps_the_summary_and_accounts_for_every_line(
        noise in prop::collection::vec("[a-z ]{0,120}", 0..400),
        at in any::<prop::sample::Index>(),
        c in small_counts(1_000),
        slack in 0..3_000_usize,
    ) {
        let summary = libtest(c).trim().lines().last().unwrap().to_owned();
        let mut lines = noise;
        let at = at.index(lines.len() + 1);
        lines.insert(at, summary.clone());
        let output = lines.join("\n");
        let max = summary.len() + 60 + slack;
        let trimmed = trim_failure(&output, max);
        prop_assert!(trimmed.len() <= max);
        prop_assert!(trimmed.lines().any(|line| line == summary));
        // Kept lines are the originals, in order; markers count what is left out.
        if output.len() <= max {
            // What fits comes back whole (this output has no colour codes).
            prop_assert_eq!(&trimmed, &output);
            return Ok(());
        }
        let original: Vec<&str> = output.lines().collect();
        let mut next = 0;
        // Pieces, not `lines()`: a kept empty last line leaves the text
        // ending in a newline, which `lines()` would not count.
        for line in trimmed.split('\n') {
            let cut = line
                .strip_prefix("[… ")
                .and_then(|rest| rest.split_once(' '))
                .and_then(|(n, _)| n.parse::<usize>().ok());
            if let Some(n) = cut {
                next += n;
            } else {
                prop_assert_eq!(line, original[next]);
                next += 1;
            }
        }
        prop_assert_eq!(next, original.len());
    }
}

#[test]
fn python_unittest_runs_are_read_and_added_up() {
    let ok = "test_a (t.T.test_a) ... ok\n\n----------------------------------------------------------------------\nRan 3 tests in 0.001s\n\nOK (skipped=1)\n";
    assert_eq!(
        parse_test_counts(ok),
        Some(TestCounts {
            passed: 2,
            failed: 0,
            skipped: 1
        })
    );
    let red = "FAIL: test_b (t.T.test_b)\nAssertionError: -1 != 0\n\n----------------------------------------------------------------------\nRan 4 tests in 0.002s\n\nFAILED (failures=1, errors=1, expected failures=1)\n";
    assert_eq!(
        parse_test_counts(red),
        Some(TestCounts {
            passed: 1,
            failed: 2,
            skipped: 1
        })
    );
    let both = format!("{ok}{red}");
    assert_eq!(
        parse_test_counts(&both),
        Some(TestCounts {
            passed: 3,
            failed: 2,
            skipped: 2
        })
    );
    assert_eq!(
        parse_test_counts("Ran 0 tests in 0.000s\n\nNO TESTS RAN\n"),
        Some(TestCounts::default())
    );
    // A `Ran` line with no verdict after it is no unittest summary.
    assert_eq!(parse_test_counts("Ran 3 tests in 0.001s\n"), None);
}
