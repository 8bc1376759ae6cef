//! Reading a test run's output: how many tests passed, failed and were
//! skipped, for the testing gate. What of a red run the debugger is shown
//! is cut in `trim.rs`.
//!
//! The runners are told apart by their summary lines, tried in this order,
//! most specific first; the first that appears wins:
//!
//! 1. cargo nextest: `Summary [   0.123s] 12 tests run: 11 passed (1 flaky), 1 failed, 2 skipped`.
//!    Flaky tests (passed only on a retry), timed-out and exec-failed tests
//!    count as failed: a gate must not pass on luck. Several summaries add up.
//! 2. cargo test (libtest): `test result: ok. 12 passed; 0 failed; 1 ignored; …`,
//!    one per test binary and for doc-tests, added up; ignored counts as skipped.
//!    When cargo says `error: test failed` but no result line shows a failure
//!    (a test binary crashed), one test counts as failed.
//! 3. jest: `Tests:       1 failed, 2 skipped, 5 passed, 8 total`; todo counts as skipped.
//! 4. vitest: `Tests  2 failed | 5 passed | 1 skipped (8)`, or `Tests  no tests`.
//! 5. pytest: `==== 3 passed, 1 failed, 2 skipped in 0.12s ====`, also without the
//!    `=` (`-q`) and `no tests ran in 0.01s`. Errors count as failed, xfailed as
//!    skipped; xpassed, deselected, warnings and reruns are not counted.
//! 6. go test: top-level `--- PASS:`/`--- FAIL:`/`--- SKIP:` lines count one test
//!    each; subtests (indented) are not counted, their parent stands for them.
//!    Per package (the lines up to its `ok`/`FAIL` line): an `ok` package that
//!    listed no tests (no `-v`) counts as one passed test; a `FAIL` package
//!    that listed no failed test (a build failure, a panic, a timeout) counts
//!    as one failed test. `?` packages (no test files) count nothing.
//! 7. Python's unittest: `Ran 3 tests in 0.001s`, then `OK`, `OK (skipped=1)` or
//!    `FAILED (failures=1, errors=1, skipped=1)`. Failures, errors and unexpected
//!    successes count as failed, skips and expected failures as skipped; several
//!    runs add up.
//! 8. Any other line holding `N passed, N failed` (optionally `, N skipped`); the
//!    last such line wins, since a script may print running totals.
//!
//! Colour codes are removed first, and of a line rewritten with carriage
//! returns only what a terminal would show last is read. Everything is
//! parsed by hand in one pass per format: no library knows these formats.

use std::borrow::Cow;

use slipway_types::TestCounts;

/// Returns the counts of the first runner format (see the module doc) whose
/// summary appears in `output`, or `None` when there is none.
#[must_use]
pub fn parse_test_counts(output: &str) -> Option<TestCounts> {
    let text = strip_ansi(output);
    let lines: Vec<&str> = text.lines().map(visible).collect();
    sum_lines(&lines, nextest_line)
        .or_else(|| libtest_counts(&lines))
        .or_else(|| sum_lines(&lines, jest_line))
        .or_else(|| sum_lines(&lines, vitest_line))
        .or_else(|| sum_lines(&lines, pytest_line))
        .or_else(|| go_counts(&lines))
        .or_else(|| unittest_counts(&lines))
        .or_else(|| lines.iter().rev().find_map(|line| plain_line(line)))
}

/// Adds up unittest's runs: each `Ran N tests` line with the verdict line after it.
fn unittest_counts(lines: &[&str]) -> Option<TestCounts> {
    let mut total: Option<TestCounts> = None;
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim().strip_prefix("Ran ") else {
            continue;
        };
        let Some((count, tail)) = rest.split_once(' ') else {
            continue;
        };
        let (Some(ran), true) = (number(count), tail.starts_with("test")) else {
            continue;
        };
        let Some(verdict) = lines[i + 1..]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty())
        else {
            continue;
        };
        let details = if verdict == "OK" || verdict == "NO TESTS RAN" {
            ""
        } else if let Some(d) = verdict
            .strip_prefix("OK (")
            .or_else(|| verdict.strip_prefix("FAILED ("))
        {
            d.trim_end_matches(')')
        } else {
            continue;
        };
        let mut counts = TestCounts::default();
        for item in details.split(',').filter(|d| !d.trim().is_empty()) {
            let Some((name, value)) = item.trim().split_once('=') else {
                continue;
            };
            let value = number(value).unwrap_or(0);
            match name {
                "failures" | "errors" | "unexpected successes" => {
                    counts.failed = counts.failed.saturating_add(value);
                }
                "skipped" | "expected failures" => {
                    counts.skipped = counts.skipped.saturating_add(value);
                }
                _ => {}
            }
        }
        counts.passed = ran
            .saturating_sub(counts.failed)
            .saturating_sub(counts.skipped);
        total = Some(total.map_or(counts, |t| add(t, counts)));
    }
    total
}

/// Adds up the counts of every line `parse` reads.
fn sum_lines(lines: &[&str], parse: fn(&str) -> Option<TestCounts>) -> Option<TestCounts> {
    lines.iter().filter_map(|line| parse(line)).reduce(add)
}

fn add(a: TestCounts, b: TestCounts) -> TestCounts {
    TestCounts {
        passed: a.passed.saturating_add(b.passed),
        failed: a.failed.saturating_add(b.failed),
        skipped: a.skipped.saturating_add(b.skipped),
    }
}

/// Reads `12 passed` as `(12, "passed")`: a decimal count, one space, a label.
fn counted(item: &str) -> Option<(u64, &str)> {
    let (count, label) = item.trim().split_once(' ')?;
    Some((number(count)?, label.trim()))
}

/// Parses a count made of ASCII digits only (no sign, no spaces).
pub(crate) fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Adds up libtest's result lines. A test binary that crashed (a signal, an
/// abort) prints no result line, but cargo still reports it failed: then at
/// least one test failed.
fn libtest_counts(lines: &[&str]) -> Option<TestCounts> {
    let mut counts = sum_lines(lines, libtest_line)?;
    let cargo_failed = lines.iter().any(|line| {
        let t = line.trim();
        t.starts_with("error: test failed, to rerun pass")
            || t.starts_with("error: doctest failed, to rerun pass")
            || (t.starts_with("error: ") && t.ends_with(" targets failed:"))
    });
    if cargo_failed {
        counts.failed = counts.failed.max(1);
    }
    Some(counts)
}

/// `test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s`
pub(crate) fn libtest_line(line: &str) -> Option<TestCounts> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let (status, items) = rest.split_once(". ")?;
    if status != "ok" && status != "FAILED" {
        return None;
    }
    let mut counts = TestCounts::default();
    let (mut passed, mut failed) = (false, false);
    for item in items.split(';') {
        if item.trim().starts_with("finished in ") {
            continue;
        }
        let (count, label) = counted(item)?;
        match label {
            "passed" => (counts.passed, passed) = (count, true),
            "failed" => (counts.failed, failed) = (count, true),
            "ignored" => counts.skipped = count,
            "measured" | "filtered out" => {}
            _ => return None,
        }
    }
    (passed && failed).then_some(counts)
}

/// `Summary [   0.123s] 10/12 tests run: 8 passed (1 slow, 1 flaky), 1 failed, 1 timed out, 2 skipped`
pub(crate) fn nextest_line(line: &str) -> Option<TestCounts> {
    let rest = line.trim().strip_prefix("Summary [")?;
    let (_, rest) = rest.split_once(']')?;
    let (run, items) = rest.trim_start().split_once(" run: ")?;
    let (count, noun) = run.split_once(' ')?;
    let (finished, total) = count.split_once('/').unwrap_or((count, count));
    if number(finished).is_none() || number(total).is_none() || !matches!(noun, "test" | "tests") {
        return None;
    }
    let mut counts = TestCounts::default();
    let (mut passed, mut flaky) = (None, 0);
    for item in split_outside_parens(items) {
        let (head, note) = match item.split_once(" (") {
            Some((head, note)) => (head, note.strip_suffix(')')?),
            None => (item, ""),
        };
        let (count, label) = counted(head)?;
        match label {
            "passed" => {
                passed = Some(count);
                for part in note.split(',').filter(|part| !part.trim().is_empty()) {
                    if let (n, "flaky") = counted(part)? {
                        flaky = n;
                    }
                }
            }
            "failed" | "exec failed" | "timed out" => {
                counts.failed = counts.failed.saturating_add(count);
            }
            "skipped" => counts.skipped = count,
            _ => {}
        }
    }
    let passed = passed?;
    counts.passed = passed.saturating_sub(flaky);
    counts.failed = counts.failed.saturating_add(flaky.min(passed));
    Some(counts)
}

/// Splits `a (b, c), d` at the commas outside parentheses.
fn split_outside_parens(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0_usize, 0);
    for (at, byte) in text.bytes().enumerate() {
        match byte {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                parts.push(text[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(text[start..].trim());
    parts
}

/// `Tests:       1 failed, 2 skipped, 1 todo, 5 passed, 9 total` (or `5 of 9 total`)
pub(crate) fn jest_line(line: &str) -> Option<TestCounts> {
    let items = line.trim().strip_prefix("Tests:")?;
    let mut counts = TestCounts::default();
    let mut total = false;
    for item in items.split(',') {
        let (count, label) = counted(item)?;
        match label {
            "failed" => counts.failed = count,
            "passed" => counts.passed = count,
            "skipped" | "todo" => counts.skipped = counts.skipped.saturating_add(count),
            "total" => total = true,
            // `5 of 9 total` when only some suites ran; other labels are not counts we use.
            _ => {
                let of_total = label
                    .strip_prefix("of ")
                    .and_then(|l| l.strip_suffix(" total"));
                total |= of_total.and_then(number).is_some();
            }
        }
    }
    total.then_some(counts)
}

/// `Tests  2 failed | 5 passed | 1 skipped (8)`, or `Tests  no tests`
pub(crate) fn vitest_line(line: &str) -> Option<TestCounts> {
    let rest = line.trim().strip_prefix("Tests")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim();
    if rest == "no tests" {
        return Some(TestCounts::default());
    }
    let (items, total) = rest.rsplit_once(" (")?;
    number(total.strip_suffix(')')?)?;
    let mut counts = TestCounts::default();
    let mut known = false;
    for item in items.split(" | ") {
        let (count, label) = counted(item)?;
        match label {
            "failed" => counts.failed = count,
            "passed" => counts.passed = count,
            "skipped" | "todo" => counts.skipped = counts.skipped.saturating_add(count),
            _ => continue,
        }
        known = true;
    }
    known.then_some(counts)
}

/// `=== 3 passed, 1 failed, 2 skipped, 1 xfailed, 2 warnings in 0.12s ===`,
/// `3 passed in 0.01s`, `no tests ran in 0.01s`
pub(crate) fn pytest_line(line: &str) -> Option<TestCounts> {
    let inner = line.trim().trim_matches('=').trim();
    let (items, duration) = inner.rsplit_once(" in ")?;
    if !is_duration(duration) {
        return None;
    }
    if items == "no tests ran" {
        return Some(TestCounts::default());
    }
    let mut counts = TestCounts::default();
    let mut known = false;
    for item in items.split(',') {
        let (count, label) = counted(item)?;
        match label {
            "passed" => counts.passed = counts.passed.saturating_add(count),
            "failed" | "error" | "errors" => counts.failed = counts.failed.saturating_add(count),
            "skipped" | "xfailed" => counts.skipped = counts.skipped.saturating_add(count),
            "xpassed" | "deselected" | "warning" | "warnings" | "rerun" | "reruns" => {}
            _ => continue,
        }
        known = true;
    }
    known.then_some(counts)
}

/// `0.12s`, `61.20s (0:01:01)`, `0.12 seconds`
pub(crate) fn is_duration(text: &str) -> bool {
    let text = match text.split_once(" (") {
        Some((head, clock)) if clock.ends_with(')') => head,
        Some(_) => return false,
        None => text,
    };
    let Some(seconds) = text
        .strip_suffix(" seconds")
        .or_else(|| text.strip_suffix('s'))
    else {
        return false;
    };
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, "0"));
    number(whole).is_some() && number(fraction).is_some()
}

/// What one line of `go test` output says.
pub(crate) enum GoLine {
    Pass,
    Fail,
    Skip,
    /// `ok  \tpkg\t0.01s`; `false` with `[no tests to run]`.
    PackageOk(bool),
    /// `FAIL\tpkg\t0.01s`, `FAIL\tpkg [build failed]`.
    PackageFail,
    /// `?   \tpkg\t[no test files]`.
    PackageEmpty,
}

pub(crate) fn go_line(line: &str) -> Option<GoLine> {
    if let Some(rest) = line.strip_prefix("--- ") {
        // Top level only: subtests are indented.
        let (verdict, rest) = rest.split_once(": ")?;
        if !(rest.trim_end().ends_with("s)") && rest.contains(" (")) {
            return None;
        }
        return match verdict {
            "PASS" => Some(GoLine::Pass),
            "FAIL" => Some(GoLine::Fail),
            "SKIP" => Some(GoLine::Skip),
            _ => None,
        };
    }
    if line.starts_with("FAIL\t") {
        return Some(GoLine::PackageFail);
    }
    if let Some(rest) = line.strip_prefix("ok") {
        let path = rest.trim_start_matches(' ').strip_prefix('\t')?;
        return (!path.is_empty()).then(|| GoLine::PackageOk(!path.contains("[no tests to run]")));
    }
    let rest = line.strip_prefix('?')?.trim_start_matches(' ');
    (rest.starts_with('\t') && rest.ends_with("[no test files]")).then_some(GoLine::PackageEmpty)
}

/// Counts go test's lines, package by package (see the module doc).
fn go_counts(lines: &[&str]) -> Option<TestCounts> {
    let mut total = TestCounts::default();
    let mut package = TestCounts::default();
    let mut seen = false;
    for line in lines {
        let Some(kind) = go_line(line) else {
            continue;
        };
        seen = true;
        match kind {
            GoLine::Pass => package.passed += 1,
            GoLine::Fail => package.failed += 1,
            GoLine::Skip => package.skipped += 1,
            GoLine::PackageOk(ran) => {
                if ran && package == TestCounts::default() {
                    package.passed = 1;
                }
            }
            GoLine::PackageFail => package.failed = package.failed.max(1),
            GoLine::PackageEmpty => {}
        }
        if matches!(
            kind,
            GoLine::PackageOk(_) | GoLine::PackageFail | GoLine::PackageEmpty
        ) {
            total = add(total, std::mem::take(&mut package));
        }
    }
    seen.then(|| add(total, package))
}

/// `Results: 10 passed, 2 failed, 1 skipped` anywhere in a line.
pub(crate) fn plain_line(line: &str) -> Option<TestCounts> {
    let words: Vec<&str> = line.split_whitespace().collect();
    (0..words.len()).find_map(|at| {
        let count = |i: usize| {
            words
                .get(at + i)
                .and_then(|word| number(word.trim_start_matches(['(', '['])))
        };
        let word = |i: usize, label: &str| {
            words.get(at + i).is_some_and(|word| {
                word.trim_end_matches([',', ';', '.', ':', ')', ']'])
                    .eq_ignore_ascii_case(label)
            })
        };
        let passed = count(0)?;
        let separated = words.get(at + 1).is_some_and(|w| w.ends_with([',', ';']));
        if !(word(1, "passed") && separated && word(3, "failed")) {
            return None;
        }
        let failed = count(2)?;
        let skipped =
            if words.get(at + 3).is_some_and(|w| w.ends_with([',', ';'])) && word(5, "skipped") {
                count(4).unwrap_or(0)
            } else {
                0
            };
        Some(TestCounts {
            passed,
            failed,
            skipped,
        })
    })
}

/// Returns `output` without terminal escape sequences (colours, cursor
/// moves, hyperlinks). An unterminated sequence ends at the end of its line.
pub(crate) fn strip_ansi(output: &str) -> Cow<'_, str> {
    if !output.contains('\u{1b}') {
        return Cow::Borrowed(output);
    }
    let mut out = String::with_capacity(output.len());
    let mut chars = output.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            // CSI: parameters and intermediates, then one final byte.
            Some('[') => {
                chars.next();
                while let Some(&next) = chars.peek() {
                    if next == '\n' {
                        break;
                    }
                    chars.next();
                    if ('\u{40}'..='\u{7e}').contains(&next) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ESC \.
            Some(']') => {
                while let Some(&next) = chars.peek() {
                    if next == '\n' {
                        break;
                    }
                    chars.next();
                    if next == '\u{7}' {
                        break;
                    }
                    if next == '\u{1b}' {
                        chars.next_if_eq(&'\\');
                        break;
                    }
                }
            }
            // Character-set designation: ESC ( B.
            Some('(' | ')') => {
                chars.next();
                chars.next_if(|&next| next != '\n');
            }
            Some(&next) if ('\u{40}'..='\u{5f}').contains(&next) => {
                chars.next();
            }
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// What a terminal shows of a line rewritten with carriage returns: the
/// last non-empty part.
pub(crate) fn visible(line: &str) -> &str {
    line.rsplit('\r')
        .find(|part| !part.is_empty())
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "test_counts_tests.rs"]
mod tests;
