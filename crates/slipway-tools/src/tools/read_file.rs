//! `read_file {path, start_line?, end_line?}`: a text file with line numbers.
//!
//! The file is read a block at a time and each line kept only as far as it
//! is shown, so memory is bounded by the output limits, not by the file.
//! Reading stops at the last line shown; the lines after it are counted for
//! the note, but only within `COUNT_BYTES`.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader};

use serde::Deserialize;
use serde_json::json;
use slipway_policy::check_read;

use super::{Context, Outcome, clip};
use crate::{Limits, args};

/// How far into a file to look for a NUL byte, the mark of a binary file.
const BINARY_SNIFF: usize = 8192;
/// The size of one read from the file: the most of it held in memory at
/// once, besides the part of a line that is shown.
const BLOCK: usize = 64 * 1024;
/// How far past the last line shown the file is read to count its lines
/// for the note; past this the note says only that the file goes on.
const COUNT_BYTES: u64 = 1 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    path: String,
    start_line: Option<u64>,
    end_line: Option<u64>,
}

pub(super) fn describe() -> (String, serde_json::Value) {
    (
        "Reads a text file of the repository and shows it with line numbers. Paths are \
         relative to the repository root, such as `src/lib.rs`. For a long file, give \
         `start_line` and `end_line` (1-based, inclusive) to read a part. Binary files \
         are refused."
            .to_owned(),
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File path relative to the repository root"},
                "start_line": {"type": "integer", "minimum": 1, "description": "First line to show (default 1)"},
                "end_line": {"type": "integer", "minimum": 1, "description": "Last line to show (default: the end)"}
            },
            "required": ["path"],
            "additionalProperties": false
        }),
    )
}

pub(super) fn run(cx: &Context<'_>, args: &serde_json::Value) -> Outcome {
    let args: Args = args::parse("read_file", args)?;
    check_read(cx.grant, &args.path)?;
    let start = args.start_line.unwrap_or(1);
    let end = args.end_line.unwrap_or(u64::MAX);
    if start == 0 {
        return Err(
            "bad arguments for read_file: field `start_line`: lines count from 1"
                .to_owned()
                .into(),
        );
    }
    if end < start {
        return Err(format!(
            "bad arguments for read_file: field `end_line`: {end} is before start_line {start}"
        )
        .into());
    }

    let path = slipway_policy::normalize_path(&args.path);
    let file = cx.workspace.open_read(path)?;
    let mut reader = BufReader::with_capacity(BLOCK, file);
    let head = reader
        .fill_buf()
        .map_err(|err| format!("cannot read `{path}`: {err}"))?;
    if head[..head.len().min(BINARY_SNIFF)].contains(&0) {
        return Err(format!(
            "`{path}` looks like a binary file (it holds NUL bytes); read_file shows text only"
        )
        .into());
    }
    let read = show(&mut reader, start, end, cx.limits)
        .map_err(|err| format!("cannot read `{path}`: {err}"))?;
    finish(read, path, start, end, cx.limits)
}

/// What `show` read: the numbered lines, where it stopped and how many
/// lines the file has.
struct Shown {
    out: String,
    /// The last line shown, when the output cap stopped the reading.
    cut_after: Option<u64>,
    total: Total,
}

/// How many lines a file has, as far as it was read.
#[derive(Debug, PartialEq, Eq)]
enum Total {
    Exactly(u64),
    /// The file goes on past this many lines; counting them all would mean
    /// reading more than `COUNT_BYTES` past the output.
    MoreThan(u64),
}

/// Shows lines `start..=end` of `reader`, numbered, each cut to the line
/// limit, stopping before the output would pass the byte limit.
fn show(reader: &mut impl BufRead, start: u64, end: u64, limits: &Limits) -> io::Result<Shown> {
    // Enough bytes for `line_chars` characters and one more, so that `clip`
    // sees and marks a cut line however its characters are encoded.
    let keep = limits.line_chars.saturating_add(1).saturating_mul(4);
    let mut line = Vec::new();
    let mut out = String::new();
    let mut number = 0u64;
    let mut cut_after = None;
    loop {
        let wanted = number.saturating_add(1) >= start;
        let Some(cut) = next_line(reader, &mut line, if wanted { keep } else { 0 })? else {
            return Ok(Shown {
                out,
                cut_after,
                total: Total::Exactly(number),
            });
        };
        number += 1;
        if number < start {
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text: &str = if cut {
            &text
        } else {
            text.trim_end_matches('\r')
        };
        let shown = format!("{number:>6}\t{}\n", clip(text, limits.line_chars));
        if out.len() + shown.len() > limits.read_bytes && !out.is_empty() {
            cut_after = Some(number - 1);
            break;
        }
        out.push_str(&shown);
        if number >= end {
            break;
        }
    }
    let total = match count_lines(reader, COUNT_BYTES)? {
        Total::Exactly(rest) => Total::Exactly(number + rest),
        Total::MoreThan(rest) => Total::MoreThan(number + rest),
    };
    Ok(Shown {
        out,
        cut_after,
        total,
    })
}

/// The answer: the lines shown and a note on what was left out.
fn finish(read: Shown, path: &str, start: u64, end: u64, limits: &Limits) -> Outcome {
    let Shown {
        mut out,
        cut_after,
        total,
    } = read;
    let (of, known) = match total {
        Total::Exactly(0) => return Ok(format!("(`{path}` is empty)")),
        Total::Exactly(total) if start > total => {
            return Err(format!(
                "start_line {start} is past the end of `{path}`, which has {total} lines"
            )
            .into());
        }
        Total::Exactly(total) => (total.to_string(), total),
        // The file has more lines than this; `end` may still be past them.
        Total::MoreThan(lines) => (format!("more than {lines}"), u64::MAX),
    };
    if let Some(last) = cut_after {
        let _ = write!(
            out,
            "[output cut at line {last} of {of} to stay under {} bytes; call read_file \
             with start_line {} to read on]",
            limits.read_bytes,
            last + 1
        );
    } else if end < known {
        let _ = write!(out, "[lines {start}-{end} of {of}]");
    } else if start > 1 {
        let _ = write!(out, "[lines {start}-{known} of {of}]");
    }
    Ok(out)
}

/// Reads the next line of `reader` into `line`, keeping at most `keep` of
/// its bytes (its line break never) and skipping the rest, so that a line
/// of any length costs `keep` bytes of memory. Returns `None` at the end of
/// the file, else whether bytes of the line were skipped.
fn next_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    keep: usize,
) -> io::Result<Option<bool>> {
    line.clear();
    let mut any = false;
    let mut cut = false;
    loop {
        let block = match reader.fill_buf() {
            Ok(block) => block,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if block.is_empty() {
            return Ok(any.then_some(cut));
        }
        any = true;
        let (len, ends) = match block.iter().position(|&byte| byte == b'\n') {
            Some(at) => (at, true),
            None => (block.len(), false),
        };
        let take = len.min(keep.saturating_sub(line.len()));
        line.extend_from_slice(&block[..take]);
        cut |= take < len;
        reader.consume(if ends { len + 1 } else { len });
        if ends {
            return Ok(Some(cut));
        }
    }
}

/// Counts the lines left in `reader`, a block at a time, until its end or
/// until `budget` bytes are read, whichever comes first: `Exactly` the lines
/// left, or `MoreThan` the lines that ended within the budget.
#[expect(
    clippy::naive_bytecount,
    reason = "one pass over at most `COUNT_BYTES`; a crate for a faster count is not worth it"
)]
fn count_lines(reader: &mut impl BufRead, budget: u64) -> io::Result<Total> {
    let mut lines = 0u64;
    let mut read = 0u64;
    let mut open = false;
    loop {
        let block = match reader.fill_buf() {
            Ok(block) => block,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if block.is_empty() {
            return Ok(Total::Exactly(lines + u64::from(open)));
        }
        if read >= budget {
            return Ok(Total::MoreThan(lines));
        }
        let len = block.len();
        lines += block.iter().filter(|&&byte| byte == b'\n').count() as u64;
        open = block.last() != Some(&b'\n');
        read += len as u64;
        reader.consume(len);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn reader(bytes: impl io::Read) -> impl BufRead {
        BufReader::with_capacity(BLOCK, bytes)
    }

    #[test]
    fn a_line_keeps_only_what_is_shown_however_long_it_is() {
        let long = io::repeat(b'x').take(4 << 20).chain(&b"\nend\r\n"[..]);
        let mut lines = reader(long);
        let mut line = Vec::new();
        assert_eq!(next_line(&mut lines, &mut line, 100).ok(), Some(Some(true)));
        assert_eq!(line, [b'x'; 100]);
        assert!(line.capacity() < 1024, "{}", line.capacity());
        assert_eq!(
            next_line(&mut lines, &mut line, 100).ok(),
            Some(Some(false))
        );
        assert_eq!(line, b"end\r");
        assert_eq!(next_line(&mut lines, &mut line, 100).ok(), Some(None));
    }

    #[test]
    fn lines_are_counted_to_the_end_or_to_the_budget() {
        let count = |bytes: &[u8], budget| count_lines(&mut reader(bytes), budget).ok();
        assert_eq!(count(b"", 10), Some(Total::Exactly(0)));
        assert_eq!(count(b"a\nb", 10), Some(Total::Exactly(2)));
        assert_eq!(count(b"a\nb\n", 10), Some(Total::Exactly(2)));
        let many = "z\n".repeat(BLOCK);
        // The budget is spent a block at a time: one block holds BLOCK / 2 lines.
        assert_eq!(
            count(many.as_bytes(), 1),
            Some(Total::MoreThan(BLOCK as u64 / 2))
        );
        assert_eq!(
            count(many.as_bytes(), 2 * BLOCK as u64),
            Some(Total::Exactly(BLOCK as u64))
        );
    }
}
