//! The part of a red test run worth showing the debugger: the failing
//! tests' names and messages, the summary lines, and as much of the tail as
//! fits, cut on line boundaries with a note of what was left out. Written by
//! hand: what matters is told apart by each runner's own markers.

use std::borrow::Cow;
use std::collections::BTreeSet;

use slipway_types::TestCounts;

use crate::test_counts::{
    GoLine, go_line, jest_line, libtest_line, nextest_line, number, plain_line, pytest_line,
    strip_ansi, visible, vitest_line,
};

/// Whether a line is a runner's summary (any format's).
fn is_summary(line: &str) -> bool {
    const PARSERS: [fn(&str) -> Option<TestCounts>; 6] = [
        nextest_line,
        libtest_line,
        jest_line,
        vitest_line,
        pytest_line,
        plain_line,
    ];
    PARSERS.iter().any(|parse| parse(line).is_some())
        || matches!(go_line(line), Some(GoLine::PackageFail))
        || line.trim_start().starts_with("Test Suites:")
        || line.trim_start().starts_with("Test Files ")
}

/// Whether a line names a failure or an error: a failing test, a panic, a
/// compiler error. The lines after it carry its message.
fn is_failure_header(line: &str) -> bool {
    let t = line.trim();
    (t.starts_with("---- ") && t.ends_with(" ----"))
        || (line.starts_with("test ") && t.ends_with(" ... FAILED"))
        || t.contains("panicked at")
        || t.starts_with("error[")
        || t.starts_with("error:")
        || t.starts_with("--- FAIL:")
        || t.starts_with("panic:")
        || t.starts_with("FAILED ")
        || t.starts_with("ERROR ")
        || (t.starts_with("___") && t.ends_with("___") && t.len() > 6)
        || t.starts_with("● ")
        || t.starts_with("FAIL ")
        || t.starts_with("× ")
        || t.starts_with("✕ ")
        || ["TIMEOUT [", "SIGSEGV [", "SIGABRT [", "ABORT ["]
            .iter()
            .any(|prefix| t.starts_with(prefix))
        || t.contains("AssertionError")
        || t.starts_with("Traceback (most recent call last)")
}

/// Whether a line is a failure's message on its own: pytest's `E   ` lines,
/// jest's expected and received values, go's `x_test.go:21: …` logs (which
/// `go test -v` prints before the `--- FAIL:` line they belong to).
fn is_message(line: &str) -> bool {
    let t = line.trim_start();
    line.starts_with("E ")
        || t.starts_with("Expected:")
        || t.starts_with("Received:")
        || t.starts_with("left:")
        || t.starts_with("right:")
        || t.split_once(": ").is_some_and(|(place, _)| {
            place
                .rsplit_once("_test.go:")
                .is_some_and(|(_, line_number)| number(line_number).is_some())
        })
}

/// Lines after a failure header kept as its message.
const CONTEXT_LINES: usize = 10;
/// Longer lines are cut, keeping their start.
pub(crate) const LINE_CAP: usize = 1_000;

/// Returns what matters of a red test run within `max_bytes`: the summary
/// lines, the failing tests' names with their panic and assertion messages,
/// and as much of the tail as still fits. Lines are kept whole (but cut at
/// 1,000 bytes) and in order; each run of left-out lines becomes one
/// `[… N lines cut …]` line. Colour codes are removed. The result is never
/// longer than `max_bytes`.
#[must_use]
pub fn trim_failure(output: &str, max_bytes: usize) -> String {
    let text = strip_ansi(output);
    if text.len() <= max_bytes {
        return text.into_owned();
    }
    let lines: Vec<&str> = text.lines().map(visible).collect();
    let shown: Vec<Cow<'_, str>> = lines.iter().map(|line| cap_line(line)).collect();
    let mut picker = Picker::new(&shown, max_bytes);
    for index in (0..lines.len()).rev().filter(|&i| is_summary(lines[i])) {
        picker.add(index);
    }
    let headers: Vec<usize> = (0..lines.len())
        .filter(|&i| is_failure_header(lines[i]))
        .collect();
    for &index in &headers {
        picker.add(index);
    }
    for index in (0..lines.len()).filter(|&i| is_message(lines[i])) {
        picker.add(index);
    }
    for &header in &headers {
        let after = (header + 1..lines.len())
            .take(CONTEXT_LINES)
            .take_while(|&i| !is_failure_header(lines[i]));
        for index in after {
            picker.add(index);
        }
    }
    for index in (0..lines.len()).rev() {
        if !picker.add(index) {
            break;
        }
    }
    picker.render()
}

/// A line cut to [`LINE_CAP`] bytes on a character boundary.
fn cap_line(line: &str) -> Cow<'_, str> {
    if line.len() <= LINE_CAP {
        return Cow::Borrowed(line);
    }
    let mut end = LINE_CAP;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{} […]", &line[..end]))
}

/// The marker that stands for `count` left-out lines.
fn cut_marker(count: usize) -> String {
    let noun = if count == 1 { "line" } else { "lines" };
    format!("[… {count} {noun} cut …]")
}

/// The lines chosen so far, and the size of the text they make: every kept
/// line and every gap's marker, each with a newline.
struct Picker<'a> {
    lines: &'a [Cow<'a, str>],
    kept: BTreeSet<usize>,
    size: usize,
    max_bytes: usize,
}

impl<'a> Picker<'a> {
    fn new(lines: &'a [Cow<'a, str>], max_bytes: usize) -> Self {
        Self {
            lines,
            kept: BTreeSet::new(),
            size: gap_size(lines.len()),
            max_bytes,
        }
    }

    /// Keeps line `index` when the text still fits; returns whether it is kept.
    fn add(&mut self, index: usize) -> bool {
        if self.kept.contains(&index) {
            return true;
        }
        let start = self.kept.range(..index).next_back().map_or(0, |&i| i + 1);
        let end = self
            .kept
            .range(index + 1..)
            .next()
            .copied()
            .unwrap_or(self.lines.len());
        let size = self.size - gap_size(end - start)
            + gap_size(index - start)
            + gap_size(end - index - 1)
            + self.lines[index].len()
            + 1;
        // The text has no newline after its last piece.
        if size > self.max_bytes + 1 {
            return false;
        }
        self.kept.insert(index);
        self.size = size;
        true
    }

    fn render(&self) -> String {
        if self.size > self.max_bytes + 1 {
            return String::new();
        }
        let mut out = String::with_capacity(self.size);
        let mut next = 0;
        for &index in &self.kept {
            if index > next {
                out.push_str(&cut_marker(index - next));
                out.push('\n');
            }
            out.push_str(&self.lines[index]);
            out.push('\n');
            next = index + 1;
        }
        if next < self.lines.len() {
            out.push_str(&cut_marker(self.lines.len() - next));
            out.push('\n');
        }
        out.pop();
        out
    }
}

/// Bytes a gap of `count` left-out lines takes: its marker and a newline.
fn gap_size(count: usize) -> usize {
    if count == 0 {
        0
    } else {
        cut_marker(count).len() + 1
    }
}
