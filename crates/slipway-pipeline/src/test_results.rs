//! Reading a test run's output test by test: each test's name and whether it
//! passed, failed or was skipped, for the tests-first check of the testing
//! gate (docs/design/pipeline.md, "Tests first"). How many tests passed is
//! read from the summaries in `test_counts.rs`; this reads the lines that
//! name the tests.
//!
//! Every line is read on its own, whichever runner printed it:
//!
//! - cargo test (libtest): `test tests::adds ... ok`, `... FAILED`, `... ignored`
//!   (or `ignored, needs a database`), doc-tests `test src/lib.rs - add (line 3) ... ok`.
//!   The name is the text between `test ` and ` ... ` without libtest's note on
//!   the test's kind (` - should panic`, ` - compile fail`, ` - compile`), so it
//!   is the name `--exact` takes. Ignored counts as skipped.
//! - cargo nextest: `PASS [   0.004s] (1/5) demo::api tests::adds`; the name is
//!   the binary id and the test's path (`demo::api tests::adds`). As in
//!   `test_counts.rs`, a gate must not pass on luck: a test that failed once is
//!   failed, whatever a later attempt did (`TRY 1 FAIL`, then `TRY 2 PASS` or
//!   `FLAKY 2/2`; `RETRY 2/3` means an attempt failed). `FAIL`,
//!   `TIMEOUT`, `SIGSEGV` and other signals, `ABORT`, `XFAIL` (exec failed) and
//!   `LEAK-FAIL` fail; `PASS`, `LEAK`, `TIMEOUT-PASS` and a finished `SLOW` pass;
//!   `SKIP` skips.
//! - pytest -v: `tests/test_math.py::TestDiv::test_zero PASSED   [ 50%]`, with a
//!   reason (`SKIPPED (no db)`), xdist's `[gw0] [ 50%] PASSED tests/…`, and the
//!   short summary's `FAILED tests/…::test_x - assert …`. The name is the node id.
//!   `ERROR` counts as failed, `XFAIL` as skipped and `XPASS` as passed (the test
//!   ran and passed; `test_counts.rs` leaves xpassed out of its counts). A
//!   rerun's `RERUN` is not an outcome: the attempt after it is.
//! - python -m unittest -v: `test_add (test_math.TestMath.test_add) ... ok`
//!   (3.11+) or `test_add (test_math.TestMath) ... ok` (older); both name
//!   `test_math.TestMath.test_add`. A docstring's first line may stand between
//!   the name and ` ... ok`. `ok` passes; `FAIL`, `ERROR` and `unexpected success`
//!   fail; `skipped 'why'` and `expected failure` skip. A failed subtest
//!   (`  test_even (m.C.test_even) (i=1) ... FAIL`) fails its test, and so do the
//!   `FAIL: test_x (m.C.test_x)` headers of the failure report.
//! - go test -v: `--- PASS: TestAdd (0.00s)`, `--- FAIL:`, `--- SKIP:`, and
//!   subtests (indented, `TestDiv/by_zero`) as tests of their own. The package
//!   line that closes them (`ok  \texample.com/m\t0.01s`, `FAIL\texample.com/m …`)
//!   names their package: `example.com/m TestDiv/by_zero`. Without one (cut
//!   output) the test's name stands alone.
//! - jest --verbose: `✓ adds (3 ms)`, `✕ divides`, `○ skipped slow`, `✎ todo later`
//!   (on Windows `√` and `×`); vitest: `✓ src/a.test.ts > math > adds 2ms`,
//!   `× …`, `↓ … [skipped]`; node --test: `✔`, `✖`. The name is the title as
//!   printed, without its duration: vitest's names hold the file and the
//!   describe blocks, jest's are the test's own title only. Vitest's lines for a
//!   file or a suite (`✓ src/a.test.ts (3 tests) 5ms`) are not tests.
//!
//! A test's own output may come between its name and its outcome (libtest's
//! `--nocapture`, pytest's `-s`, unittest without `-b`): an outcome alone on a
//! later line finishes the last test left open. A name listed more than once
//! (a rerun, a failure report) takes its last outcome, except that nextest's
//! failures stay (above). Results come in the order their names first appear.
//! As in `test_counts.rs`, colour codes are removed first and of a line
//! rewritten with carriage returns only what a terminal would show last is
//! read. Written by hand, one pass over the lines: no library reads these
//! formats.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::test_counts::{is_duration, number, strip_ansi, visible};

/// One test of a run and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TestResult {
    /// What names the test in its runner: see [`parse_test_results`].
    pub name: String,
    pub outcome: TestOutcome,
}

/// How a test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    Passed,
    Failed,
    Skipped,
}

use TestOutcome::{Failed, Passed, Skipped};

/// Returns the tests `output` lists by name, each once with its outcome, in
/// the order they first appear; empty when it names no test. The formats,
/// and what names a test in each, are listed in the module doc.
#[must_use]
pub fn parse_test_results(output: &str) -> Vec<TestResult> {
    let text = strip_ansi(output);
    let mut reader = Reader::default();
    for (at, line) in text.lines().enumerate() {
        reader.read(at, visible(line));
    }
    reader.finish()
}

/// The runners whose outcome can come lines after the test's name.
#[derive(Debug, Clone, Copy)]
enum Runner {
    Libtest,
    Pytest,
    Unittest,
}

/// What one line says.
enum Line {
    /// A test's outcome; with `stays`, a failure no later outcome undoes.
    Outcome {
        name: String,
        outcome: TestOutcome,
        stays: bool,
    },
    /// A test whose outcome comes on a later line.
    Started(Runner, String),
    /// A unittest name whose docstring line, with the outcome, comes next.
    Described(String),
    /// A go test, named in full when its package's line comes.
    Go(String, TestOutcome),
    /// The line that closes a go package.
    GoPackage(String),
}

fn outcome(name: impl Into<String>, outcome: TestOutcome) -> Line {
    Line::Outcome {
        name: name.into(),
        outcome,
        stays: false,
    }
}

/// One test as read so far.
struct Entry {
    /// The line it first appeared on.
    first: usize,
    result: TestResult,
    /// A failure no later outcome undoes (nextest).
    stays: bool,
}

#[derive(Default)]
struct Reader {
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
    /// The test whose outcome has not come yet, and the line it started on.
    started: Option<(usize, Runner, String)>,
    /// The unittest test whose docstring line is next.
    described: Option<(usize, String)>,
    /// Go tests waiting for their package's line.
    go: Vec<(usize, String, TestOutcome)>,
}

impl Reader {
    fn read(&mut self, at: usize, line: &str) {
        // A docstring line may look like anything but a unittest line.
        if let Some((first, name)) = self.described.take()
            && unittest_line(line).is_none()
            && let Some(parsed) = description_line(line, name)
        {
            self.started = None;
            self.apply(first, parsed);
            return;
        }
        if let Some((first, runner, name)) = self.started.take() {
            if let Some(outcome) = bare_outcome(runner, line) {
                self.record(first, name, outcome, false);
                return;
            }
            self.started = Some((first, runner, name));
        }
        if let Some(parsed) = parse_line(line) {
            self.started = None;
            self.apply(at, parsed);
        }
    }

    fn apply(&mut self, at: usize, line: Line) {
        match line {
            Line::Outcome {
                name,
                outcome,
                stays,
            } => self.record(at, name, outcome, stays),
            Line::Started(runner, name) => self.started = Some((at, runner, name)),
            Line::Described(name) => self.described = Some((at, name)),
            Line::Go(name, outcome) => self.go.push((at, name, outcome)),
            Line::GoPackage(package) => {
                for (first, name, outcome) in std::mem::take(&mut self.go) {
                    self.record(first, format!("{package} {name}"), outcome, false);
                }
            }
        }
    }

    fn record(&mut self, first: usize, name: String, outcome: TestOutcome, stays: bool) {
        let stays = stays && outcome == Failed;
        if let Some(&index) = self.by_name.get(&name) {
            let entry = &mut self.entries[index];
            entry.first = entry.first.min(first);
            if !entry.stays {
                entry.result.outcome = outcome;
                entry.stays = stays;
            }
            return;
        }
        self.by_name.insert(name.clone(), self.entries.len());
        self.entries.push(Entry {
            first,
            result: TestResult { name, outcome },
            stays,
        });
    }

    fn finish(mut self) -> Vec<TestResult> {
        for (first, name, outcome) in std::mem::take(&mut self.go) {
            self.record(first, name, outcome, false);
        }
        // Go tests are recorded when their package closes, after lines that came later.
        self.entries.sort_by_key(|entry| entry.first);
        self.entries.into_iter().map(|entry| entry.result).collect()
    }
}

/// Reads a line that names a test, trying the most specific shapes first.
fn parse_line(line: &str) -> Option<Line> {
    nextest_line(line)
        .or_else(|| unittest_line(line))
        .or_else(|| libtest_line(line))
        .or_else(|| go_test_line(line))
        .or_else(|| go_package_line(line))
        .or_else(|| pytest_line(line))
        .or_else(|| js_line(line))
}

/// An outcome alone on its line, finishing a test `runner` started earlier.
fn bare_outcome(runner: Runner, line: &str) -> Option<TestOutcome> {
    let line = line.trim();
    match runner {
        Runner::Libtest => libtest_outcome(line),
        Runner::Pytest => pytest_verdict(strip_percent(line)),
        Runner::Unittest => unittest_outcome(line),
    }
}

/// `test tests::adds ... ok`, `test slow ... ignored, needs a database`,
/// `test src/lib.rs - add (line 3) ... ok`, `test panics - should panic ... ok`
fn libtest_line(line: &str) -> Option<Line> {
    let rest = line.strip_prefix("test ")?;
    let (name, tail) = match rest.split_once(" ... ") {
        Some(split) => split,
        None => (rest.trim_end().strip_suffix(" ...")?, ""),
    };
    let name = name.trim();
    let name = [" - should panic", " - compile fail", " - compile"]
        .iter()
        .find_map(|kind| name.strip_suffix(kind))
        .unwrap_or(name)
        .trim_end();
    if name.is_empty() {
        return None;
    }
    // Anything else after ` ... ` is the test's own output (`--nocapture`).
    Some(match libtest_outcome(tail.trim()) {
        Some(verdict) => outcome(name, verdict),
        None => Line::Started(Runner::Libtest, name.to_owned()),
    })
}

/// `ok`, `FAILED`, `ignored`, `ignored, reason`; `ok <0.001s>` with
/// `--report-time`, `FAILED (time limit exceeded)` with `--ensure-time`.
fn libtest_outcome(tail: &str) -> Option<TestOutcome> {
    let (word, note) = tail.split_at(tail.find([' ', ',']).unwrap_or(tail.len()));
    if !(note.is_empty()
        || note.starts_with(", ")
        || note.starts_with(" <")
        || note.starts_with(" ("))
    {
        return None;
    }
    match word {
        "ok" => Some(Passed),
        "FAILED" => Some(Failed),
        "ignored" => Some(Skipped),
        _ => None,
    }
}

/// `        PASS [   0.004s] (1/5) demo::api tests::adds`, `  TRY 2 PASS [ … ] …`,
/// `   FLAKY 2/2 [ … ] …`, `        SKIP [         ] …`
fn nextest_line(line: &str) -> Option<Line> {
    let (status, rest) = line.trim_start().split_once(" [")?;
    let (duration, rest) = rest.split_once("] ")?;
    // `[> 60.000s]`: still running.
    let duration = duration.trim();
    let running = duration.starts_with('>');
    let duration = duration.trim_start_matches('>').trim_start();
    if !(duration.is_empty() || is_duration(duration)) {
        return None;
    }
    let outcome = nextest_outcome(status, running)?;
    // Counters: `(  1/100) `, `(─────) `, and a stress run's `[2] ` or `[3/3] `.
    let mut name = rest.trim();
    for _ in 0..2 {
        let close = match name.chars().next() {
            Some('(') => ") ",
            Some('[') => "] ",
            _ => break,
        };
        name = name.split_once(close)?.1.trim_start();
    }
    let (binary, test) = name.split_once(' ')?;
    if binary.is_empty() || test.trim().is_empty() {
        return None;
    }
    Some(Line::Outcome {
        name: name.to_owned(),
        outcome,
        stays: true,
    })
}

fn nextest_outcome(status: &str, running: bool) -> Option<TestOutcome> {
    if let Some(rest) = status.strip_prefix("TRY ") {
        let (attempt, what) = rest.split_once(' ')?;
        if !what
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'+')
        {
            return None;
        }
        // Every attempt after the first follows a failed one.
        return match (number(attempt)?, what) {
            (0 | 1, "START" | "SLOW" | "TRMNTG") => None,
            (0 | 1, "PASS" | "LEAK") => Some(Passed),
            _ => Some(Failed),
        };
    }
    for retried in ["FLAKY ", "RETRY "] {
        if let Some(count) = status.strip_prefix(retried) {
            let (attempt, total) = count.split_once('/')?;
            return (number(attempt).is_some() && number(total).is_some()).then_some(Failed);
        }
    }
    match status {
        "PASS" | "LEAK" | "TIMEOUT-PASS" | "SLOW + LEAK" | "SLOW+TMPASS" => Some(Passed),
        // A slow test still running, or (in the final list) one that passed slowly.
        "SLOW" => (!running).then_some(Passed),
        "SKIP" => Some(Skipped),
        "FAIL" | "FAIL + LEAK" | "XFAIL" | "LEAK-FAIL" | "TIMEOUT" | "ABORT" => Some(Failed),
        _ => {
            let signal = status.strip_prefix("SIG").is_some_and(|name| {
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            });
            signal.then_some(Failed)
        }
    }
}

/// `--- PASS: TestAdd (0.00s)`, and indented, `    --- FAIL: TestDiv/by_zero (0.00s)`
fn go_test_line(line: &str) -> Option<Line> {
    let rest = line.trim_start_matches([' ', '\t']).strip_prefix("--- ")?;
    let (verdict, rest) = rest.split_once(": ")?;
    let outcome = match verdict {
        "PASS" => Passed,
        "FAIL" => Failed,
        "SKIP" => Skipped,
        _ => return None,
    };
    let (name, duration) = rest.trim_end().rsplit_once(" (")?;
    let name = name.trim();
    (is_duration(duration.strip_suffix(')')?) && !name.is_empty())
        .then(|| Line::Go(name.to_owned(), outcome))
}

/// `ok  \texample.com/m\t0.01s`, `FAIL\texample.com/m [build failed]`,
/// `?   \texample.com/m\t[no test files]`
fn go_package_line(line: &str) -> Option<Line> {
    let rest = ["ok", "FAIL", "?"]
        .iter()
        .find_map(|verdict| line.strip_prefix(verdict))?;
    let rest = rest.trim_start_matches(' ').strip_prefix('\t')?;
    let package = rest.split(['\t', ' ']).next()?;
    let path =
        !package.is_empty() && !package.contains(|c: char| c.is_whitespace() || c.is_control());
    path.then(|| Line::GoPackage(package.to_owned()))
}

/// pytest's outcomes, in its own words.
fn pytest_word(word: &str) -> Option<TestOutcome> {
    match word {
        "PASSED" | "XPASS" => Some(Passed),
        "FAILED" | "ERROR" => Some(Failed),
        "SKIPPED" | "XFAIL" => Some(Skipped),
        _ => None,
    }
}

/// `PASSED`, or with a reason, `SKIPPED (no db)`.
fn pytest_verdict(text: &str) -> Option<TestOutcome> {
    let (word, note) = text.split_once(' ').unwrap_or((text, ""));
    let note = note.trim();
    let bare = note.is_empty() || (note.starts_with('(') && note.ends_with(')'));
    pytest_word(word).filter(|_| bare)
}

/// `tests/test_x.py::TestC::test_y PASSED   [ 50%]`, `[gw0] [ 50%] PASSED tests/…`,
/// `FAILED tests/test_x.py::test_y - assert 2 == 3`
fn pytest_line(line: &str) -> Option<Line> {
    let mut rest = line.trim();
    if rest.starts_with("[gw") {
        rest = rest.split_once("] ")?.1.trim_start();
    }
    if let Some((progress, after)) = rest.strip_prefix('[').and_then(|r| r.split_once("] "))
        && progress
            .trim_start()
            .strip_suffix('%')
            .and_then(number)
            .is_some()
    {
        rest = after.trim_start();
    }
    // Outcome first: xdist, and the short summary (`- message` after the node id).
    if let Some((word, tail)) = rest.split_once(' ')
        && let Some(verdict) = pytest_word(word)
    {
        // The id ends at the first ` - ` outside a parameter's brackets.
        let id = tail
            .match_indices(" - ")
            .map(|(at, _)| &tail[..at])
            .find(|id| !id.contains('[') || id.ends_with(']'))
            .unwrap_or(tail)
            .trim();
        return is_node_id(id).then(|| outcome(id, verdict));
    }
    // Node id first; the outcome is the first word after it that reads as one.
    let body = strip_percent(rest);
    let mut from = body.find("::")?;
    while let Some(space) = body[from..].find(' ') {
        let at = from + space;
        if let Some(verdict) = pytest_verdict(&body[at + 1..]) {
            let id = body[..at].trim_end();
            return is_node_id(id).then(|| outcome(id, verdict));
        }
        from = at + 1;
    }
    // With `-s` the test's own output follows its node id.
    let id = body.split_whitespace().next()?;
    is_node_id(id).then(|| Line::Started(Runner::Pytest, id.to_owned()))
}

/// Returns `text` without pytest's trailing progress (`[ 50%]`), trimmed.
fn strip_percent(text: &str) -> &str {
    let text = text.trim();
    let Some((head, progress)) = text.rsplit_once('[') else {
        return text;
    };
    let percent = progress.strip_suffix("%]").map(str::trim_start);
    if percent.and_then(number).is_some() {
        head.trim_end()
    } else {
        text
    }
}

/// `tests/test_x.py::TestC::test_y[param]`: a file, `::`, the rest.
fn is_node_id(id: &str) -> bool {
    id.split_once("::").is_some_and(|(path, rest)| {
        path.contains('.')
            && !path.starts_with('[')
            && !path.contains(char::is_whitespace)
            && !rest.is_empty()
            && !rest.starts_with(char::is_whitespace)
    })
}

/// `test_add (test_math.TestMath.test_add) ... ok` (3.11+), `test_add
/// (test_math.TestMath) ... ok`, a subtest `  test_even (m.C.test_even) (i=1) ...
/// FAIL`, the report's `FAIL: test_add (m.C.test_add)`, or the name alone
/// when a docstring line follows.
fn unittest_line(line: &str) -> Option<Line> {
    let line = line.trim_start();
    let report = ["FAIL: ", "ERROR: ", "UNEXPECTED SUCCESS: "]
        .iter()
        .find_map(|header| line.strip_prefix(header));
    let (method, rest) = report.unwrap_or(line).split_once(" (")?;
    let (qualified, rest) = rest.split_once(')')?;
    if !is_identifier(method)
        || !qualified.contains('.')
        || !qualified.split('.').all(is_identifier)
    {
        return None;
    }
    let name = match qualified.strip_suffix(method) {
        Some(class) if class.ends_with('.') => qualified.to_owned(),
        _ => format!("{qualified}.{method}"),
    };
    if report.is_some() {
        return Some(outcome(name, Failed));
    }
    let rest = rest.trim_end();
    if rest.is_empty() {
        return Some(Line::Described(name));
    }
    let tail = if rest == " ..." {
        ""
    } else if let Some(tail) = rest.strip_prefix(" ... ") {
        tail
    } else {
        // A subtest: only its failure says something about the test.
        let (_, tail) = rest.strip_prefix(' ')?.rsplit_once(" ... ")?;
        return (unittest_outcome(tail)? == Failed).then(|| outcome(name, Failed));
    };
    Some(match unittest_outcome(tail) {
        Some(verdict) => outcome(name, verdict),
        None => Line::Started(Runner::Unittest, name),
    })
}

/// The docstring line after a unittest name: `Adds two numbers. ... ok`.
fn description_line(line: &str, name: String) -> Option<Line> {
    let line = line.trim_end();
    if let Some(verdict) = line
        .rsplit_once(" ... ")
        .and_then(|(_, tail)| unittest_outcome(tail))
    {
        return Some(outcome(name, verdict));
    }
    (line.ends_with(" ...") || line.contains(" ... "))
        .then_some(Line::Started(Runner::Unittest, name))
}

fn unittest_outcome(tail: &str) -> Option<TestOutcome> {
    match tail.trim() {
        "ok" => Some(Passed),
        "FAIL" | "ERROR" | "unexpected success" => Some(Failed),
        "expected failure" => Some(Skipped),
        tail if tail == "skipped"
            || tail.starts_with("skipped '")
            || tail.starts_with("skipped \"") =>
        {
            Some(Skipped)
        }
        _ => None,
    }
}

/// A Python identifier, roughly: letters, digits and `_`, not starting with a digit.
fn is_identifier(word: &str) -> bool {
    word.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && word.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// jest's `✓ adds (3 ms)`, vitest's `✓ src/a.test.ts > math > adds 2ms`, node's `✔ adds (0.5ms)`
fn js_line(line: &str) -> Option<Line> {
    let mut chars = line.trim().chars();
    let symbol = chars.next()?;
    let verdict = match symbol {
        '✓' | '√' | '✔' => Passed,
        '✕' | '×' | '✖' => Failed,
        '○' | '↓' | '✎' => Skipped,
        _ => return None,
    };
    let mut title = chars.as_str().strip_prefix(' ')?.trim();
    // jest says which: `○ skipped slow thing`, `✎ todo write this`.
    title = match symbol {
        '○' => title.strip_prefix("skipped ").unwrap_or(title),
        '✎' => title.strip_prefix("todo ").unwrap_or(title),
        _ => title,
    };
    title = title
        .strip_suffix(" [skipped]")
        .or_else(|| title.strip_suffix(" [todo]"))
        .unwrap_or(title);
    title = strip_js_duration(title).trim();
    if title.is_empty() || is_count_note(title) {
        return None;
    }
    Some(outcome(title, verdict))
}

/// Returns `title` without a trailing duration: jest's `(3 ms)`, node's
/// `(0.52ms)`, vitest's `2ms` or `1.20s`.
fn strip_js_duration(title: &str) -> &str {
    if is_js_duration(title) {
        return "";
    }
    if let Some((head, note)) = title.rsplit_once(" (")
        && note.strip_suffix(')').is_some_and(is_js_duration)
    {
        return head;
    }
    match title.rsplit_once(' ') {
        Some((head, last)) if is_js_duration(last) => head,
        _ => title,
    }
}

fn is_js_duration(text: &str) -> bool {
    let Some(amount) = text.strip_suffix("ms").or_else(|| text.strip_suffix('s')) else {
        return false;
    };
    let amount = amount.trim_end();
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, "0"));
    number(whole).is_some() && number(fraction).is_some()
}

/// vitest's line for a file or a suite: `src/a.test.ts (3 tests | 1 skipped)`, `first suite (2)`.
fn is_count_note(title: &str) -> bool {
    let Some(note) = title
        .rsplit_once(" (")
        .and_then(|(_, note)| note.strip_suffix(')'))
    else {
        return false;
    };
    let count = note.split(' ').next().unwrap_or_default();
    number(count).is_some() && (note == count || note[count.len()..].starts_with(" test"))
}

#[cfg(test)]
#[path = "test_results_tests.rs"]
mod tests;
