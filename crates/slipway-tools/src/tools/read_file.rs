//! `read_file {path, start_line?, end_line?}`: a text file with line numbers.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};

use serde::Deserialize;
use serde_json::json;
use slipway_policy::check_read;

use super::{Context, Outcome, clip};
use crate::args;

/// How far into a file to look for a NUL byte, the mark of a binary file.
const BINARY_SNIFF: usize = 8192;

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
    let mut reader = BufReader::new(file);
    let head = reader
        .fill_buf()
        .map_err(|err| format!("cannot read `{path}`: {err}"))?;
    if head[..head.len().min(BINARY_SNIFF)].contains(&0) {
        return Err(format!(
            "`{path}` looks like a binary file (it holds NUL bytes); read_file shows text only"
        )
        .into());
    }

    let limits = cx.limits;
    let mut out = String::new();
    let mut line = Vec::new();
    let mut number = 0u64;
    let mut cut_after = None;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|err| format!("cannot read `{path}`: {err}"))?;
        if read == 0 {
            break;
        }
        number += 1;
        if number < start || number > end || cut_after.is_some() {
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches('\n').trim_end_matches('\r');
        let shown = format!("{number:>6}\t{}\n", clip(text, limits.line_chars));
        if out.len() + shown.len() > limits.read_bytes && !out.is_empty() {
            cut_after = Some(number - 1);
            continue;
        }
        out.push_str(&shown);
    }

    let total = number;
    if total == 0 {
        return Ok(format!("(`{path}` is empty)"));
    }
    if start > total {
        return Err(format!(
            "start_line {start} is past the end of `{path}`, which has {total} lines"
        )
        .into());
    }
    if let Some(last) = cut_after {
        let _ = write!(
            out,
            "[output cut at line {last} of {total} to stay under {} bytes; call read_file \
             with start_line {} to read on]",
            limits.read_bytes,
            last + 1
        );
    } else if end < total {
        let _ = write!(out, "[lines {start}-{end} of {total}]");
    } else if start > 1 {
        let _ = write!(out, "[lines {start}-{total} of {total}]");
    }
    Ok(out)
}
