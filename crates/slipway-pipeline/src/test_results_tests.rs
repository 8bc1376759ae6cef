use std::collections::BTreeSet;
use std::fmt::Write as _;

use proptest::prelude::*;

use super::*;
use crate::test_counts::parse_test_counts;

fn results(pairs: &[(&str, TestOutcome)]) -> Vec<TestResult> {
    pairs
        .iter()
        .map(|&(name, outcome)| TestResult {
            name: name.to_owned(),
            outcome,
        })
        .collect()
}

/// Go's top-level tests among `results` (`package Test`, not `package Test/sub`).
fn go_top_level(results: Vec<TestResult>) -> Vec<TestResult> {
    results
        .into_iter()
        .filter(|r| {
            !r.name
                .split_once(' ')
                .map_or(r.name.as_str(), |(_, test)| test)
                .contains('/')
        })
        .collect()
}

/// (passed, failed, skipped) among `results`.
fn tally(results: &[TestResult]) -> (u64, u64, u64) {
    let count = |outcome| results.iter().filter(|r| r.outcome == outcome).count() as u64;
    (count(Passed), count(Failed), count(Skipped))
}

const CARGO: &str = "\
   Compiling demo v0.1.0 (/work/demo)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 1.23s
     Running unittests src/lib.rs (target/debug/deps/demo-1234abcd)

running 5 tests
test tests::adds ... \u{1b}[32mok\u{1b}[0m
test tests::divides ... \u{1b}[31mFAILED\u{1b}[0m
test tests::needs_db ... \u{1b}[33mignored\u{1b}[0m
test tests::slow ... \u{1b}[33mignored, needs a database\u{1b}[0m
test tests::overflow - should panic ... \u{1b}[32mok\u{1b}[0m

failures:

---- tests::divides stdout ----

thread 'tests::divides' panicked at src/lib.rs:21:9:
assertion `left == right` failed
  left: 3
 right: 4
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace


failures:
    tests::divides

test result: \u{1b}[31mFAILED\u{1b}[0m. 2 passed; 1 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/api.rs (target/debug/deps/api-5678efgh)

running 2 tests
test größe::zählt ... ok
test lists ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s

   Doc-tests demo

running 3 tests
test src/lib.rs - add (line 3) ... ok
test src/lib.rs - Parser::parse (line 40) - compile fail ... ok
test src/lib.rs - net::connect (line 77) - compile ... ok

test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.12s

error: test failed, to rerun pass `--lib`
";

#[test]
fn cargo_test_lines_give_each_test_its_outcome() {
    assert_eq!(
        parse_test_results(CARGO),
        results(&[
            ("tests::adds", Passed),
            ("tests::divides", Failed),
            ("tests::needs_db", Skipped),
            ("tests::slow", Skipped),
            ("tests::overflow", Passed),
            ("größe::zählt", Passed),
            ("lists", Passed),
            ("src/lib.rs - add (line 3)", Passed),
            ("src/lib.rs - Parser::parse (line 40)", Passed),
            ("src/lib.rs - net::connect (line 77)", Passed),
        ])
    );
    let counts = parse_test_counts(CARGO).unwrap();
    assert_eq!(
        tally(&parse_test_results(CARGO)),
        (counts.passed, counts.failed, counts.skipped)
    );
}

#[test]
fn a_test_whose_output_comes_before_its_outcome_is_finished_by_a_bare_outcome_line() {
    // `--nocapture --test-threads=1`.
    let output = "\
running 2 tests
test tests::prints ... connecting to localhost
retrying
ok
test tests::fails ... about to fail
thread 'tests::fails' panicked at src/lib.rs:9:5:
boom
FAILED
test tests::quiet ...
";
    assert_eq!(
        parse_test_results(output),
        results(&[("tests::prints", Passed), ("tests::fails", Failed)])
    );
    // `--report-time` and `--ensure-time`.
    assert_eq!(
        parse_test_results(
            "test a ... ok <0.001s>\ntest b ... FAILED (time limit exceeded) <1.200s>\n"
        ),
        results(&[("a", Passed), ("b", Failed)])
    );
}

const NEXTEST: &str = "\
────────────
 Nextest run ID 8c2f3a9e-1b7d-4a55-9d1e-5f3b2c1a0e77 with nextest profile: default
    Starting 6 tests across 2 binaries (1 test skipped)
        PASS [   0.004s] (1/6) demo tests::adds
        SKIP [         ] (───) demo tests::needs_db
   TRY 1 FAIL [   0.011s] (───) demo tests::racy
──── STDOUT:             demo tests::racy
  TRY 2 PASS [   0.009s] (2/6) demo tests::racy
     SIGSEGV [   0.100s] (3/6) demo::ffi calls_c
        SLOW [> 60.000s] (───) demo tests::hangs
 TERMINATING [>120.000s] (───) demo tests::hangs
     TIMEOUT [ 120.001s] (4/6) demo tests::hangs
        LEAK [   0.050s] (5/6) demo tests::spawns
        FAIL [   0.020s] (6/6) demo tests::divides
──── STDOUT:             demo tests::divides

──── STDERR:             demo tests::divides
thread 'tests::divides' panicked at src/lib.rs:21:9:
assertion `left == right` failed
────────────
     Summary [ 120.210s] 6 tests run: 3 passed (1 leaky, 1 flaky), 2 failed, 1 timed out, 1 skipped
   FLAKY 2/2 [   0.009s] (2/6) demo tests::racy
     SIGSEGV [   0.100s] (3/6) demo::ffi calls_c
     TIMEOUT [ 120.001s] (4/6) demo tests::hangs
        FAIL [   0.020s] (6/6) demo tests::divides
error: test run failed
";

#[test]
fn nextest_lines_name_binary_and_test_and_a_failed_attempt_stays_failed() {
    let found = parse_test_results(NEXTEST);
    assert_eq!(
        found,
        results(&[
            ("demo tests::adds", Passed),
            ("demo tests::needs_db", Skipped),
            ("demo tests::racy", Failed),
            ("demo::ffi calls_c", Failed),
            ("demo tests::hangs", Failed),
            ("demo tests::spawns", Passed),
            ("demo tests::divides", Failed),
        ])
    );
    // Flaky counts as failed here as in the counts.
    let counts = parse_test_counts(NEXTEST).unwrap();
    assert_eq!(
        tally(&found),
        (counts.passed, counts.failed, counts.skipped)
    );
}

#[test]
fn every_nextest_status_reads_as_its_outcome() {
    let passed = [
        "        PASS [   1.000s] (  1/100) my-binary-id test_name",
        "        LEAK [   2.000s] (  2/100) my-binary-id test_name",
        "TIMEOUT-PASS [ 240.000s] (  3/100) my-binary-id test_name",
        "        SLOW [  30.000s] ( 22/100) my-binary-id test_name",
        " SLOW + LEAK [  30.000s] ( 23/100) my-binary-id test_name",
        " SLOW+TMPASS [ 300.000s] ( 24/100) my-binary-id test_name",
    ];
    let failed = [
        "  TRY 2 PASS [   1.000s] (  7/100) my-binary-id test_name",
        "   FLAKY 2/2 [   2.000s] [2] my-binary-id test_name",
        "   FLAKY 2/2 [   2.000s] [3/3] my-binary-id test_name",
        "        FAIL [   1.000s] (  8/100) my-binary-id test_name",
        " FAIL + LEAK [   1.000s] (  9/100) my-binary-id test_name",
        "       XFAIL [   1.000s] ( 10/100) my-binary-id test_name",
        "   LEAK-FAIL [   1.000s] ( 11/100) my-binary-id test_name",
        "     TIMEOUT [  60.000s] ( 12/100) my-binary-id test_name",
        "     SIGSEGV [   1.000s] ( 13/100) my-binary-id test_name",
        "     SIGABRT [   1.000s] my-binary-id test_name",
        "       ABORT [   1.000s] ( 14/100) my-binary-id test_name",
        "  TRY 2 FAIL [   1.000s] ( 15/100) my-binary-id test_name",
        " TRY 2 FL+LK [   1.000s] ( 16/100) my-binary-id test_name",
        "TRY 2 LKFAIL [   1.000s] ( 17/100) my-binary-id test_name",
        "   TRY 2 TMT [  60.000s] ( 18/100) my-binary-id test_name",
        "  TRY 1 FAIL [   1.000s] my-binary-id test_name",
        "  RETRY 2/3 [         ] my-binary-id test_name",
        " TRY 2 START [         ] my-binary-id test_name",
    ];
    let skipped = ["        SKIP [         ] my-binary-id test_name"];
    // Still running, or not a test.
    let nothing = [
        "        SLOW [> 60.000s] (─────────) my-binary-id test_name",
        "  TRY 1 SLOW [> 60.000s] (─────────) my-binary-id test_name",
        " TERMINATING [>120.000s] (─────────) my-binary-id test_name",
        "       START [         ] (1/1) my-binary-id test_name",
        "       SETUP [      1/1] db: ./scripts/db.sh",
        "  SETUP PASS [   0.100s] db: ./scripts/db.sh",
        "        PASS [   0.004s] only-one-word",
        "        PASS [soon] my-binary-id test_name",
        "        WAIT [   0.004s] my-binary-id test_name",
    ];
    for (lines, outcome) in [
        (&passed[..], Passed),
        (&failed, Failed),
        (&skipped, Skipped),
    ] {
        for line in lines {
            let expected = results(&[("my-binary-id test_name", outcome)]);
            assert_eq!(parse_test_results(line), expected, "{line}");
        }
    }
    for line in nothing {
        assert_eq!(parse_test_results(line), Vec::new(), "{line}");
    }
}

const PYTEST: &str = "\
============================= test session starts ==============================
platform linux -- Python 3.12.3, pytest-8.2.0, pluggy-1.5.0 -- /usr/bin/python3
cachedir: .pytest_cache
rootdir: /work/demo
collecting ... \rcollected 8 items                                                              \r

tests/test_math.py::test_add \u{1b}[32mPASSED\u{1b}[0m\u{1b}[32m                                      [ 12%]\u{1b}[0m
tests/test_math.py::test_divide \u{1b}[31mFAILED\u{1b}[0m\u{1b}[31m                                   [ 25%]\u{1b}[0m
tests/test_math.py::TestPower::test_square[2-4] PASSED                   [ 37%]
tests/test_math.py::TestPower::test_square[big number-1e6] PASSED        [ 50%]
tests/test_math.py::test_database ERROR                                  [ 62%]
tests/test_math.py::test_network SKIPPED (no network in the sandbox)     [ 75%]
tests/test_math.py::test_float XFAIL (rounding)                          [ 87%]
tests/test_math.py::test_lucky XPASS                                     [100%]

==================================== ERRORS ====================================
_______________________ ERROR at setup of test_database ________________________
E       ConnectionRefusedError: [Errno 111] Connection refused
=================================== FAILURES ===================================
_________________________________ test_divide __________________________________
E       assert 2.0 == 3
=========================== short test summary info ============================
FAILED tests/test_math.py::test_divide - assert 2.0 == 3
ERROR tests/test_math.py::test_database - ConnectionRefusedError: [Errno 111] Connection refused
===== 1 failed, 3 passed, 1 skipped, 1 xfailed, 1 xpassed, 1 error in 0.34s =====
";

#[test]
fn pytest_verbose_lines_name_node_ids() {
    let found = parse_test_results(PYTEST);
    assert_eq!(
        found,
        results(&[
            ("tests/test_math.py::test_add", Passed),
            ("tests/test_math.py::test_divide", Failed),
            ("tests/test_math.py::TestPower::test_square[2-4]", Passed),
            (
                "tests/test_math.py::TestPower::test_square[big number-1e6]",
                Passed
            ),
            ("tests/test_math.py::test_database", Failed),
            ("tests/test_math.py::test_network", Skipped),
            ("tests/test_math.py::test_float", Skipped),
            ("tests/test_math.py::test_lucky", Passed),
        ])
    );
    // The counts leave the xpassed test out; it passed here.
    let counts = parse_test_counts(PYTEST).unwrap();
    assert_eq!(
        tally(&found),
        (counts.passed + 1, counts.failed, counts.skipped)
    );
}

#[test]
fn pytest_xdist_reruns_summaries_and_captured_output_are_read() {
    let output = "\
created: 2/2 workers
2 workers [4 items]

[gw0] [ 25%] PASSED tests/test_a.py::test_one 
[gw1] [ 50%] FAILED tests/test_a.py::test_two 
tests/test_b.py::test_flaky RERUN                                        [ 75%]
tests/test_b.py::test_flaky PASSED                                       [ 75%]
tests/test_c.py::test_prints hello from the test
PASSED                                                                   [100%]
=========================== short test summary info ============================
FAILED tests/test_a.py::test_two - KeyError: 'id'
SKIPPED [1] tests/test_b.py:12: needs postgres
PASSED tests/test_a.py::test_one
";
    assert_eq!(
        parse_test_results(output),
        results(&[
            ("tests/test_a.py::test_one", Passed),
            ("tests/test_a.py::test_two", Failed),
            ("tests/test_b.py::test_flaky", Passed),
            ("tests/test_c.py::test_prints", Passed),
        ])
    );
    // Without `-v` only the short summary names tests.
    let quiet =
        "..F.\nFAILED tests/test_a.py::test_two - assert 1 == 2\n1 failed, 3 passed in 0.10s\n";
    assert_eq!(
        parse_test_results(quiet),
        results(&[("tests/test_a.py::test_two", Failed)])
    );
}

const UNITTEST: &str = "\
test_add (test_math.TestMath.test_add) ... ok
test_divide (test_math.TestMath.test_divide) ... FAIL
test_network (test_math.TestMath.test_network) ... skipped 'no network in the sandbox'
test_float (test_math.TestMath.test_float) ... expected failure
test_lucky (test_math.TestMath.test_lucky) ... unexpected success
test_parse (test_parse.TestParse.test_parse)
Parses an empty document. ... ok
test_db (test_store.TestStore.test_db) ... ERROR
test_even (test_math.TestNumbers.test_even) ... 
  test_even (test_math.TestNumbers.test_even) (i=1) ... FAIL
  test_even (test_math.TestNumbers.test_even) [odd] (i=3) ... FAIL

======================================================================
ERROR: test_db (test_store.TestStore.test_db)
----------------------------------------------------------------------
Traceback (most recent call last):
  File \"/work/demo/test_store.py\", line 9, in test_db
    connect(\"localhost\")
ConnectionRefusedError: [Errno 111] Connection refused

======================================================================
FAIL: test_even (test_math.TestNumbers.test_even) (i=1)
----------------------------------------------------------------------
AssertionError: 1 != 0

----------------------------------------------------------------------
Ran 8 tests in 0.004s

FAILED (failures=2, errors=1, skipped=1, expected failures=1, unexpected successes=1)
";

#[test]
fn unittest_verbose_lines_name_module_class_and_method() {
    let found = parse_test_results(UNITTEST);
    assert_eq!(
        found,
        results(&[
            ("test_math.TestMath.test_add", Passed),
            ("test_math.TestMath.test_divide", Failed),
            ("test_math.TestMath.test_network", Skipped),
            ("test_math.TestMath.test_float", Skipped),
            ("test_math.TestMath.test_lucky", Failed),
            ("test_parse.TestParse.test_parse", Passed),
            ("test_store.TestStore.test_db", Failed),
            ("test_math.TestNumbers.test_even", Failed),
        ])
    );
    let counts = parse_test_counts(UNITTEST).unwrap();
    assert_eq!(
        tally(&found),
        (counts.passed, counts.failed, counts.skipped)
    );
}

#[test]
fn unittest_before_3_11_names_the_same_tests() {
    let old = "\
test_add (test_math.TestMath) ... ok
test_parse (test_parse.TestParse)
Parses an empty document. ... skipped \"not today\"
test_prints (__main__.TestIO) ... hello from the test
ok
test_quiet (__main__.TestIO) ... 
FAIL
";
    assert_eq!(
        parse_test_results(old),
        results(&[
            ("test_math.TestMath.test_add", Passed),
            ("test_parse.TestParse.test_parse", Skipped),
            ("__main__.TestIO.test_prints", Passed),
            ("__main__.TestIO.test_quiet", Failed),
        ])
    );
    // A docstring that reads like another runner's line is still a docstring.
    let docstring = "test_cli (m.T.test_cli)\ntest the parser ... ok\n";
    assert_eq!(
        parse_test_results(docstring),
        results(&[("m.T.test_cli", Passed)])
    );
}

const GO: &str = "\
=== RUN   TestAdd
--- PASS: TestAdd (0.00s)
=== RUN   TestDivide
=== PAUSE TestDivide
=== CONT  TestDivide
=== RUN   TestDivide/by_zero
    math_test.go:21: want error, got nil
=== RUN   TestDivide/positive
=== RUN   TestDivide/positive/large_numbers
--- FAIL: TestDivide (0.00s)
    --- FAIL: TestDivide/by_zero (0.00s)
    --- PASS: TestDivide/positive (0.00s)
        --- PASS: TestDivide/positive/large_numbers (0.00s)
=== RUN   TestNetwork
    net_test.go:9: no network in the sandbox
--- SKIP: TestNetwork (0.00s)
FAIL
FAIL\texample.com/demo/math\t0.004s
=== RUN   TestParse
--- PASS: TestParse (0.00s)
=== RUN   TestAdd
--- PASS: TestAdd (0.01s)
PASS
ok  \texample.com/demo/parse\t0.002s
?   \texample.com/demo/cmd\t[no test files]
FAIL
";

#[test]
fn go_test_lines_name_package_test_and_subtests() {
    let found = parse_test_results(GO);
    assert_eq!(
        found,
        results(&[
            ("example.com/demo/math TestAdd", Passed),
            ("example.com/demo/math TestDivide", Failed),
            ("example.com/demo/math TestDivide/by_zero", Failed),
            ("example.com/demo/math TestDivide/positive", Passed),
            (
                "example.com/demo/math TestDivide/positive/large_numbers",
                Passed
            ),
            ("example.com/demo/math TestNetwork", Skipped),
            ("example.com/demo/parse TestParse", Passed),
            ("example.com/demo/parse TestAdd", Passed),
        ])
    );
    // The counts count top-level tests only.
    let top = go_top_level(found);
    let counts = parse_test_counts(GO).unwrap();
    assert_eq!(tally(&top), (counts.passed, counts.failed, counts.skipped));
    // Cut before its package line, a test keeps its bare name.
    assert_eq!(
        parse_test_results("=== RUN   TestX\n--- FAIL: TestX (1.50s)\n"),
        results(&[("TestX", Failed)])
    );
    // Found by fuzzing: a package line whose path is blank or control characters names none.
    for output in [
        "    --- FAIL: TestX (0.00s)\nok  \t\u{c}\u{c}\u{c}\n",
        "--- FAIL: TestX (0.00s)\nFAIL\t\u{0}\t0.1s\n",
    ] {
        assert_eq!(
            parse_test_results(output),
            results(&[("TestX", Failed)]),
            "{output:?}"
        );
    }
}

#[test]
fn jest_and_vitest_lines_name_titles() {
    let jest = "\
\u{1b}[0m\u{1b}[7m\u{1b}[1m\u{1b}[32m PASS \u{1b}[39m\u{1b}[22m\u{1b}[27m\u{1b}[0m src/parse.test.js
  parse
    \u{1b}[32m✓\u{1b}[39m \u{1b}[2mreads an empty document (3 ms)\u{1b}[22m
    \u{1b}[32m✓\u{1b}[39m \u{1b}[2mreads nested lists (1204 ms)\u{1b}[22m
    \u{1b}[33m○\u{1b}[39m \u{1b}[2mskipped reads a huge file\u{1b}[22m
    \u{1b}[35m✎\u{1b}[39m \u{1b}[2mtodo reads comments\u{1b}[22m
    ○ skipped  reads a padded title
 FAIL  src/math.test.js
  math
    √ adds
    × divides (5 ms)

  ● math › divides

    expect(received).toBe(expected) // Object.is equality

Test Suites: 1 failed, 1 passed, 2 total
Tests:       1 failed, 2 skipped, 1 todo, 3 passed, 7 total
Snapshots:   0 total
Time:        1.234 s
";
    let found = parse_test_results(jest);
    assert_eq!(
        found,
        results(&[
            ("reads an empty document", Passed),
            ("reads nested lists", Passed),
            ("reads a huge file", Skipped),
            ("reads comments", Skipped),
            ("reads a padded title", Skipped),
            ("adds", Passed),
            ("divides", Failed),
        ])
    );
    let counts = parse_test_counts(jest).unwrap();
    assert_eq!(
        tally(&found),
        (counts.passed, counts.failed, counts.skipped)
    );

    let vitest = "\
 ✓ src/parse.test.ts > parse > reads an empty document 1ms
 ✓ src/parse.test.ts > parse > reads nested lists 2ms
 ↓ src/parse.test.ts > parse > reads a huge file
 × src/math.test.ts > math > divides 3ms
   → expected 2 to be 3 // Object.is equality
 ✓ src/math.test.ts > math > adds 0ms
 ✓ src/parse.test.ts (3 tests | 1 skipped) 5ms
 ❯ src/math.test.ts (2 tests | 1 failed) 5ms
   ✓ first suite (2) 725ms
   ↓ math > later [skipped]
   ✓ math > retries (3 times) 1.20s

 Test Files  1 failed | 1 passed (2)
      Tests  1 failed | 3 passed | 2 skipped (6)
";
    assert_eq!(
        parse_test_results(vitest),
        results(&[
            (
                "src/parse.test.ts > parse > reads an empty document",
                Passed
            ),
            ("src/parse.test.ts > parse > reads nested lists", Passed),
            ("src/parse.test.ts > parse > reads a huge file", Skipped),
            ("src/math.test.ts > math > divides", Failed),
            ("src/math.test.ts > math > adds", Passed),
            ("math > later", Skipped),
            ("math > retries (3 times)", Passed),
        ])
    );
    // node --test's spec reporter.
    assert_eq!(
        parse_test_results("✔ adds (0.52ms)\n✖ divides (1.3ms)\n"),
        results(&[("adds", Passed), ("divides", Failed)])
    );
}

#[test]
fn a_rerun_takes_the_last_outcome_in_first_appearance_order() {
    let output = "\
test a ... FAILED
test b ... ok
test a ... ok
test b ... FAILED
test c ... ignored
test c ... ok
";
    assert_eq!(
        parse_test_results(output),
        results(&[("a", Passed), ("b", Failed), ("c", Passed)])
    );
    // nextest's failures stay whatever comes after them.
    let nextest = "\
        FAIL [   0.010s] demo tests::racy
        PASS [   0.010s] demo tests::racy
        PASS [   0.010s] demo tests::steady
";
    assert_eq!(
        parse_test_results(nextest),
        results(&[("demo tests::racy", Failed), ("demo tests::steady", Passed)])
    );
}

#[test]
fn runners_mixed_in_one_output_are_all_read() {
    let output = format!(
        "{NEXTEST}   Doc-tests demo\n\nrunning 1 test\ntest src/lib.rs - add (line 3) ... ok\n\n{PYTEST}"
    );
    let found = parse_test_results(&output);
    assert_eq!(found.len(), 7 + 1 + 8);
    assert_eq!(
        found[7],
        results(&[("src/lib.rs - add (line 3)", Passed)])[0]
    );
}

#[test]
fn carriage_returns_leave_what_the_terminal_shows_last() {
    let output = "test a ... \rtest a ... ok\r\n\
                  \u{1b}[2K\r  ✓ renders (4 ms)\n\
                  running...\r--- PASS: TestX (0.00s)\nok  \tm\t0.1s\n";
    assert_eq!(
        parse_test_results(output),
        results(&[("a", Passed), ("renders", Passed), ("m TestX", Passed)])
    );
}

#[test]
fn output_naming_no_test_gives_nothing() {
    let compile_error = "\
   Compiling demo v0.1.0 (/work/demo)
error[E0425]: cannot find value `totl` in this scope
  --> src/lib.rs:3:5
error: could not compile `demo` (lib test) due to 1 previous error
";
    for output in [
        "",
        "\n\n\r\r\n",
        compile_error,
        "test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out",
        "     Summary [   0.123s] 12 tests run: 12 passed, 1 skipped",
        "===== 3 passed in 0.01s =====",
        "Ran 3 tests in 0.001s\n\nOK",
        "ok  \texample.com/demo\t0.003s",
        "Tests:       4 passed, 4 total",
        "test  ... ok",
        "test ...",
        "--- PASS: (0.00s)",
        "--- PASS: TestX",
        "--- BENCH: BenchmarkX (0.00s)",
        "✓",
        "✓ ",
        "✓ 3ms",
        "✓src/a.test.ts",
        "tests::foo PASSED",
        "FAILED tests::foo - boom",
        "test_x (not a.qualified name) ... ok",
        "test_x (nodots) ... ok",
        "1test (m.C) ... ok",
        "test_x (m.C.test_x)",
        "ERROR: something went wrong (see log)",
        "All tests passed!",
    ] {
        assert_eq!(parse_test_results(output), Vec::new(), "{output:?}");
    }
}

#[test]
fn huge_lines_and_inputs_are_read_without_trouble() {
    let long_name = "x".repeat(100_000);
    let output = format!("test {long_name} ... ok\n{}\n", " ... ".repeat(50_000));
    assert_eq!(
        parse_test_results(&output),
        results(&[(long_name.as_str(), Passed)])
    );
    let spaces = format!("tests/a.py::{}", " x".repeat(100_000));
    assert_eq!(parse_test_results(&spaces), Vec::new());
    let many = (0..20_000).fold(String::new(), |mut many, i| {
        let _ = writeln!(many, "test t{i} ... ok");
        many
    });
    assert_eq!(parse_test_results(&many).len(), 20_000);
}

#[test]
fn outcomes_serialize_in_snake_case() {
    let result = &results(&[("a", Skipped)])[0];
    let json = serde_json::to_string(result).unwrap();
    assert_eq!(json, r#"{"name":"a","outcome":"skipped"}"#);
    assert_eq!(serde_json::from_str::<TestResult>(&json).unwrap(), *result);
}

// Generators for the property tests: random names and outcomes, printed the
// way each runner prints them, with the summary it prints after them.

/// A test's outcome and which of its runner's spellings to print it with.
fn verdict() -> impl Strategy<Value = (TestOutcome, u8)> {
    (
        prop_oneof![Just(Passed), Just(Failed), Just(Skipped)],
        any::<u8>(),
    )
}

/// Distinct names, each with a verdict.
fn named(
    names: impl Strategy<Value = String>,
    max: usize,
) -> impl Strategy<Value = Vec<(String, (TestOutcome, u8))>> {
    prop::collection::btree_set(names, 0..max).prop_flat_map(|names| {
        let n = names.len();
        (Just(names), prop::collection::vec(verdict(), n))
            .prop_map(|(names, verdicts)| names.into_iter().zip(verdicts).collect())
    })
}

fn expected(cases: &[(String, (TestOutcome, u8))]) -> Vec<TestResult> {
    cases
        .iter()
        .map(|(name, (outcome, _))| TestResult {
            name: name.clone(),
            outcome: *outcome,
        })
        .collect()
}

fn coloured(word: &str, spelling: u8) -> String {
    if spelling & 0x10 == 0 {
        word.to_owned()
    } else {
        format!("\u{1b}[1;32m{word}\u{1b}[0m")
    }
}

/// cargo test's output, split over binaries; returns it with its counts.
fn libtest(cases: &[(String, (TestOutcome, u8))], binaries: usize) -> String {
    let mut out = String::new();
    for chunk in cases.chunks(cases.len().div_ceil(binaries).max(1)) {
        let _ = write!(out, "\nrunning {} tests\n", chunk.len());
        let (mut passed, mut failed, mut ignored) = (0, 0, 0);
        for (name, (outcome, spelling)) in chunk {
            let kind = if spelling & 1 == 1 {
                " - should panic"
            } else {
                ""
            };
            let word = match outcome {
                Passed => {
                    passed += 1;
                    "ok"
                }
                Failed => {
                    failed += 1;
                    "FAILED"
                }
                Skipped => {
                    ignored += 1;
                    if spelling & 2 == 2 {
                        "ignored, needs a database"
                    } else {
                        "ignored"
                    }
                }
            };
            let _ = writeln!(out, "test {name}{kind} ... {}", coloured(word, *spelling));
        }
        let status = if failed == 0 { "ok" } else { "FAILED" };
        let _ = write!(
            out,
            "\ntest result: {status}. {passed} passed; {failed} failed; {ignored} ignored; 0 measured; 0 filtered out; finished in 0.01s\n"
        );
    }
    out
}

/// pytest -v's output; returns it with how many tests xpassed.
fn pytest(cases: &[(String, (TestOutcome, u8))]) -> (String, u64) {
    let mut out = String::from("collecting ... \rcollected 3 items\n\n");
    let mut summary = String::new();
    let mut tally = [0_u64; 6];
    for (i, (id, (outcome, spelling))) in cases.iter().enumerate() {
        let alternative = spelling & 1 == 1;
        let (word, slot) = match (outcome, alternative) {
            (Passed, false) => ("PASSED", 0),
            (Passed, true) => ("XPASS", 1),
            (Failed, false) => ("FAILED", 2),
            (Failed, true) => ("ERROR", 3),
            (Skipped, false) => ("SKIPPED", 4),
            (Skipped, true) => ("XFAIL", 5),
        };
        tally[slot] += 1;
        let reason = if spelling & 2 == 2 && *outcome == Skipped {
            " (no db)"
        } else {
            ""
        };
        let percent = (i + 1) * 100 / cases.len();
        if spelling & 4 == 4 {
            let _ = writeln!(out, "[gw{}] [{percent:>3}%] {word} {id} ", spelling % 3);
        } else {
            let _ = writeln!(
                out,
                "{id} {}{reason}   [{percent:>3}%]",
                coloured(word, *spelling)
            );
        }
        if *outcome == Failed {
            let _ = writeln!(summary, "{word} {id} - assert 1 == 2");
        }
    }
    let labels = ["passed", "xpassed", "failed", "error", "skipped", "xfailed"];
    let parts: Vec<String> = tally
        .iter()
        .zip(labels)
        .filter(|&(&n, _)| n > 0)
        .map(|(n, label)| format!("{n} {label}"))
        .collect();
    let body = if parts.is_empty() {
        "no tests ran".to_owned()
    } else {
        parts.join(", ")
    };
    let _ = write!(
        out,
        "=== short test summary info ===\n{summary}==== {body} in 0.12s ====\n"
    );
    (out, tally[1])
}

/// A unittest name: `(method, module.Class)`.
fn unittest_name() -> impl Strategy<Value = String> {
    "test_[a-z0-9_é]{1,8} [a-z_]{1,6}(\\.[a-z_]{1,6}){0,2}\\.Test[A-Z][a-z]{0,5}"
}

/// unittest -v's output with its summary, old or new names, some with docstrings.
fn unittest(cases: &[(String, (TestOutcome, u8))]) -> (String, Vec<TestResult>) {
    let mut out = String::new();
    let mut found = Vec::new();
    let (mut failures, mut skipped, mut expected_failures, mut unexpected) = (0, 0, 0, 0);
    for (name, (outcome, spelling)) in cases {
        let (method, class) = name.split_once(' ').unwrap();
        let qualified = if spelling & 1 == 1 {
            format!("{class}.{method}")
        } else {
            class.to_owned()
        };
        let alternative = spelling & 2 == 2;
        let word = match (outcome, alternative) {
            (Passed, _) => "ok".to_owned(),
            (Failed, false) => {
                failures += 1;
                "FAIL".to_owned()
            }
            (Failed, true) => {
                unexpected += 1;
                "unexpected success".to_owned()
            }
            (Skipped, false) => {
                skipped += 1;
                format!("skipped 'reason {method}'")
            }
            (Skipped, true) => {
                expected_failures += 1;
                "expected failure".to_owned()
            }
        };
        if spelling & 4 == 4 {
            let _ = writeln!(
                out,
                "{method} ({qualified})\nChecks the thing works. ... {word}"
            );
        } else {
            let _ = writeln!(out, "{method} ({qualified}) ... {word}");
        }
        found.push(TestResult {
            name: format!("{class}.{method}"),
            outcome: *outcome,
        });
    }
    let mut details = Vec::new();
    for (n, label) in [
        (failures, "failures"),
        (skipped, "skipped"),
        (expected_failures, "expected failures"),
        (unexpected, "unexpected successes"),
    ] {
        if n > 0 {
            details.push(format!("{label}={n}"));
        }
    }
    let verdict = match (failures + unexpected, details.is_empty()) {
        (0, true) => "OK".to_owned(),
        (0, false) => format!("OK ({})", details.join(", ")),
        _ => format!("FAILED ({})", details.join(", ")),
    };
    let _ = write!(
        out,
        "\n----------------------------------------------------------------------\nRan {} tests in 0.004s\n\n{verdict}\n",
        cases.len()
    );
    (out, found)
}

/// A go package: top-level tests, each with its outcome and subtests'.
type GoPackage = Vec<(TestOutcome, Vec<TestOutcome>)>;

fn go_package() -> impl Strategy<Value = GoPackage> {
    prop::collection::vec(
        (
            prop_oneof![Just(Passed), Just(Failed), Just(Skipped)],
            prop::collection::vec(prop_oneof![Just(Passed), Just(Failed), Just(Skipped)], 0..3),
        ),
        1..6,
    )
}

fn go_word(outcome: TestOutcome) -> &'static str {
    match outcome {
        Passed => "PASS",
        Failed => "FAIL",
        Skipped => "SKIP",
    }
}

/// go test -v's output for packages `example.com/p0`, `example.com/p1`, …
fn go(packages: &[GoPackage]) -> (String, Vec<TestResult>) {
    let mut out = String::new();
    let mut found = Vec::new();
    for (p, tests) in packages.iter().enumerate() {
        let package = format!("example.com/p{p}");
        let mut package_failed = false;
        for (t, (own, subtests)) in tests.iter().enumerate() {
            // A failed subtest fails its parent; a skipped parent runs none.
            let subtests: &[TestOutcome] = if *own == Skipped { &[] } else { subtests };
            let outcome = if subtests.contains(&Failed) {
                Failed
            } else {
                *own
            };
            package_failed |= outcome == Failed;
            let _ = writeln!(out, "=== RUN   TestCase{t}");
            let _ = writeln!(out, "--- {}: TestCase{t} (0.01s)", go_word(outcome));
            found.push(TestResult {
                name: format!("{package} TestCase{t}"),
                outcome,
            });
            for (s, sub) in subtests.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "    --- {}: TestCase{t}/sub_{s} (0.00s)",
                    go_word(*sub)
                );
                found.push(TestResult {
                    name: format!("{package} TestCase{t}/sub_{s}"),
                    outcome: *sub,
                });
            }
        }
        if package_failed {
            let _ = writeln!(out, "FAIL\nFAIL\t{package}\t0.010s");
        } else {
            let _ = writeln!(out, "PASS\nok  \t{package}\t0.010s");
        }
    }
    (out, found)
}

/// Fragments of the real formats, to build near misses from.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "test ",
            " ... ",
            " ...",
            "ok",
            "FAILED",
            "ignored",
            ", ",
            " - should panic",
            "PASS",
            "FAIL",
            "SKIP",
            " [",
            "] ",
            "[   0.004s]",
            "[> 1.0s]",
            "(1/5) ",
            "TRY ",
            "FLAKY ",
            "RETRY ",
            "2/3",
            "SIGSEGV",
            "--- ",
            ": ",
            " (0.00s)",
            "ok  \t",
            "FAIL\t",
            "?   \t",
            "::",
            ".py",
            "PASSED",
            "XPASS",
            "SKIPPED",
            " [ 50%]",
            "[gw0] ",
            " (",
            ")",
            "test_x",
            "m.C",
            ".",
            "skipped '",
            "✓ ",
            "× ",
            "○ ",
            "✎ ",
            "↓ ",
            " 3ms",
            " (3 ms)",
            " > ",
            "\n",
            "\r",
            "\u{1b}[",
            "\u{1b}[32m",
            "\u{1b}]",
            "\u{1b}",
            "é",
            "    ",
        ])
        .prop_map(str::to_owned),
        "[0-9]{1,25}",
        "\\PC{0,5}",
    ]
}

proptest! {
    #[test]
    fn nothing_panics_and_names_are_distinct_and_trimmed(
        arbitrary in "\\PC{0,300}",
        pieces in prop::collection::vec(fragment(), 0..60),
    ) {
        let assembled = pieces.concat();
        for text in [arbitrary.as_str(), assembled.as_str()] {
            let found = parse_test_results(text);
            let names: BTreeSet<&str> = found.iter().map(|r| r.name.as_str()).collect();
            prop_assert_eq!(names.len(), found.len());
            for result in &found {
                prop_assert!(!result.name.is_empty());
                prop_assert_eq!(result.name.trim(), result.name.as_str());
                prop_assert!(!result.name.contains(['\n', '\r']));
            }
        }
    }

    #[test]
    fn libtest_names_and_outcomes_round_trip_and_agree_with_the_counts(
        cases in named("[a-zé_][a-z0-9_]{0,8}(::[a-zé_][a-z0-9_]{0,8}){0,3}", 30),
        binaries in 1..4_usize,
    ) {
        let output = libtest(&cases, binaries);
        let found = parse_test_results(&output);
        prop_assert_eq!(&found, &expected(&cases));
        if !cases.is_empty() {
            let counts = parse_test_counts(&output).unwrap();
            prop_assert_eq!(tally(&found), (counts.passed, counts.failed, counts.skipped));
        }
    }

    #[test]
    fn pytest_names_and_outcomes_round_trip_and_agree_with_the_counts(
        cases in named(
            "tests/test_[a-z]{1,6}\\.py::(Test[A-Z][a-z]{0,5}::)?test_[a-z0-9_é]{1,8}(\\[[a-z0-9 -]{1,8}\\])?",
            30,
        ),
    ) {
        let (output, xpassed) = pytest(&cases);
        let found = parse_test_results(&output);
        prop_assert_eq!(&found, &expected(&cases));
        let counts = parse_test_counts(&output).unwrap();
        prop_assert_eq!(tally(&found), (counts.passed + xpassed, counts.failed, counts.skipped));
    }

    #[test]
    fn unittest_names_and_outcomes_round_trip_and_agree_with_the_counts(
        cases in named(unittest_name(), 30),
    ) {
        let (output, want) = unittest(&cases);
        let found = parse_test_results(&output);
        prop_assert_eq!(&found, &want);
        let counts = parse_test_counts(&output).unwrap();
        prop_assert_eq!(tally(&found), (counts.passed, counts.failed, counts.skipped));
    }

    #[test]
    fn go_names_and_outcomes_round_trip_and_agree_with_the_counts(
        packages in prop::collection::vec(go_package(), 1..4),
    ) {
        let (output, want) = go(&packages);
        let found = parse_test_results(&output);
        prop_assert_eq!(&found, &want);
        let top = go_top_level(found);
        let counts = parse_test_counts(&output).unwrap();
        prop_assert_eq!(tally(&top), (counts.passed, counts.failed, counts.skipped));
    }

    #[test]
    fn nextest_fails_a_test_that_failed_in_any_iteration(
        tests in prop::collection::vec(prop::collection::vec(verdict(), 1..4), 0..20),
    ) {
        let mut output = String::new();
        let mut want = Vec::new();
        for (t, iterations) in tests.iter().enumerate() {
            let name = format!("demo::all suite::case_{t}");
            for (i, (outcome, spelling)) in iterations.iter().enumerate() {
                let spelling = usize::from(*spelling);
                let (status, duration) = match outcome {
                    Passed => (["PASS", "LEAK"][spelling % 2], "   0.010s"),
                    Failed => (["FAIL", "TIMEOUT", "SIGSEGV", "LEAK-FAIL"][spelling % 4], "   0.010s"),
                    Skipped => ("SKIP", "         "),
                };
                let _ = writeln!(output, "{status:>12} [{duration}] [{}] {name}", i + 1);
            }
            let failed = iterations.iter().any(|(outcome, _)| *outcome == Failed);
            let last = iterations.last().unwrap().0;
            want.push(TestResult { name, outcome: if failed { Failed } else { last } });
        }
        prop_assert_eq!(parse_test_results(&output), want);
    }

    #[test]
    fn noise_between_test_lines_changes_nothing(
        cases in named("[a-z_][a-z0-9_]{0,8}(::[a-z_][a-z0-9_]{0,8}){0,2}", 20),
        noise in prop::collection::vec("[A-Za-z0-9 ,.:()\\[\\]=-]{0,60}", 0..40),
    ) {
        let clean = libtest(&cases, 1);
        let mut noisy = String::new();
        let mut noise = noise.iter();
        for line in clean.lines() {
            let _ = writeln!(noisy, "{line}");
            if let Some(extra) = noise.next() {
                let _ = writeln!(noisy, "[2026-01-01T00:00:00Z INFO demo] {extra}");
            }
        }
        prop_assert_eq!(parse_test_results(&noisy), expected(&cases));
    }
}
