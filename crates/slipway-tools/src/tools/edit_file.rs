//! `edit_file {path, old, new}`: one exact, unique string replacement.

use std::fmt::Write as _;
use std::io::Read;

use serde::Deserialize;
use serde_json::json;
use slipway_policy::check_write;

use super::{Context, Outcome, clip};
use crate::args;

/// Files longer than this many lines get no "similar lines" hint: the
/// comparison is quadratic in line length and linear in lines.
const HINT_MAX_LINES: usize = 20_000;
/// How similar (0 to 1, normalized Levenshtein) a line must be to be shown.
const HINT_MIN_SIMILARITY: f64 = 0.5;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    path: String,
    old: String,
    new: String,
}

pub(super) fn describe() -> (String, serde_json::Value) {
    (
        "Replaces the text `old` with `new` in a file. `old` must match the file exactly, \
         whitespace and line breaks included, and occur exactly once: include neighbouring \
         lines to make it unique. Line numbers from read_file are not part of the text. To \
         create a file or replace all of it, use write_file."
            .to_owned(),
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File path relative to the repository root"},
                "old": {"type": "string", "description": "The exact text to replace; it must occur once"},
                "new": {"type": "string", "description": "The text to put in its place"}
            },
            "required": ["path", "old", "new"],
            "additionalProperties": false
        }),
    )
}

pub(super) fn run(cx: &Context<'_>, args: &serde_json::Value) -> Outcome {
    let args: Args = args::parse("edit_file", args)?;
    check_write(cx.grant, cx.ownership, &args.path)?;
    if args.old.is_empty() {
        return Err(
            "bad arguments for edit_file: field `old` is empty; give the exact text \
                    to replace, or use write_file to write a whole file"
                .to_owned()
                .into(),
        );
    }
    if args.old == args.new {
        return Err(
            "bad arguments for edit_file: `old` and `new` are the same, so nothing \
                    would change"
                .to_owned()
                .into(),
        );
    }
    let path = slipway_policy::normalize_path(&args.path);
    let mut file = cx.workspace.open_read(path)?;
    let size = file
        .metadata()
        .map_err(|err| format!("cannot read `{path}`: {err}"))?
        .len();
    if size > cx.limits.edit_bytes {
        return Err(format!(
            "`{path}` is {size} bytes, over edit_file's limit of {}; it cannot be edited here",
            cx.limits.edit_bytes
        )
        .into());
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|err| format!("cannot read `{path}`: {err}"))?;
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(format!("`{path}` is not UTF-8 text; edit_file edits text only").into());
    };

    let starts = occurrences(&text, &args.old);
    let [at] = starts[..] else {
        return Err(if starts.is_empty() {
            not_found(&text, &args.old, path)
        } else {
            let lines: Vec<String> = starts
                .iter()
                .map(|&at| line_of(&text, at).to_string())
                .collect();
            format!(
                "`old` occurs {} times in `{path}`, starting at lines {}; include more of \
                 the surrounding text so that it matches exactly once",
                starts.len(),
                lines.join(", ")
            )
        }
        .into());
    };

    let edited = format!(
        "{}{}{}",
        &text[..at],
        args.new,
        &text[at + args.old.len()..]
    );
    cx.workspace.replace(path, edited.as_bytes(), false)?;
    let first = line_of(&text, at);
    let old_last = first + lines_spanned(&args.old).saturating_sub(1);
    let now = match lines_spanned(&args.new) {
        0 => "removed".to_owned(),
        lines => format!("now lines {first}-{}", first + lines - 1),
    };
    Ok(format!(
        "edited `{path}`: lines {first}-{old_last} replaced, {now}"
    ))
}

/// How many lines `text` touches; a final line break ends its last line.
fn lines_spanned(text: &str) -> usize {
    if text.is_empty() {
        0
    } else {
        text.strip_suffix('\n')
            .unwrap_or(text)
            .matches('\n')
            .count()
            + 1
    }
}

/// Byte offsets of every occurrence of `needle`, overlapping ones included.
fn occurrences(text: &str, needle: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = text[from..].find(needle) {
        let at = from + offset;
        found.push(at);
        let step = text[at..].chars().next().map_or(1, char::len_utf8);
        from = at + step;
    }
    found
}

/// The 1-based line holding byte `at`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count() + 1
}

/// Explains why `old` was not found, with what is cheap to find: a match
/// but for line endings or whitespace, else the most similar lines.
fn not_found(text: &str, old: &str, path: &str) -> String {
    let mut message = format!("`old` does not occur in `{path}`");
    if text.contains("\r\n") && !old.contains('\r') && old.contains('\n') {
        let crlf = old.replace('\n', "\r\n");
        if text.contains(&crlf) {
            message.push_str(
                "; it would with Windows line endings (\\r\\n), which this file uses: \
                 write them in `old` and `new`",
            );
            return message;
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let wanted: Vec<&str> = old.lines().map(str::trim).collect();
    if !wanted.is_empty()
        && let Some(start) = lines
            .windows(wanted.len())
            .position(|window| window.iter().map(|l| l.trim()).eq(wanted.iter().copied()))
    {
        let _ = write!(
            message,
            "; lines {}-{} match it except for whitespace (indentation or trailing spaces): \
             copy the text exactly as read_file shows it",
            start + 1,
            start + wanted.len()
        );
        return message;
    }
    let Some(probe) = wanted.iter().find(|line| !line.is_empty()) else {
        return message;
    };
    if lines.len() > HINT_MAX_LINES {
        message.push_str("; read the file again to copy the text exactly");
        return message;
    }
    let mut similar: Vec<(f64, usize)> = lines
        .iter()
        .enumerate()
        .map(|(index, line)| (strsim::normalized_levenshtein(probe, line.trim()), index))
        .filter(|(score, _)| *score >= HINT_MIN_SIMILARITY)
        .collect();
    similar.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    similar.truncate(3);
    if similar.is_empty() {
        message.push_str(
            "; no line is like its first line: read the file again to copy the text exactly",
        );
    } else {
        similar.sort_by_key(|&(_, index)| index);
        let _ = write!(message, "; the lines most like `{}` are:", clip(probe, 120));
        for (_, index) in similar {
            let _ = write!(message, "\n{:>6}\t{}", index + 1, clip(lines[index], 200));
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occurrences_include_overlapping_ones_and_multibyte_text() {
        assert_eq!(occurrences("aaa", "aa"), [0, 1]);
        assert_eq!(occurrences("éaéa", "a"), [2, 5]);
        assert!(occurrences("abc", "x").is_empty());
    }

    #[test]
    fn line_numbers_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 4), 3);
    }

    #[test]
    fn a_miss_by_whitespace_or_line_endings_is_named() {
        let text = "fn a() {\n    let x = 1;\n}\n";
        let hint = not_found(text, "fn a() {\nlet x = 1;", "a.rs");
        assert!(
            hint.contains("lines 1-2 match it except for whitespace"),
            "{hint}"
        );
        let crlf = not_found("a\r\nb\r\n", "a\nb", "w.txt");
        assert!(crlf.contains("Windows line endings"), "{crlf}");
        let similar = not_found(text, "    let y = 1;", "a.rs");
        assert!(
            similar.contains("the lines most like `let y = 1;` are:\n     2\t    let x = 1;"),
            "{similar}"
        );
        let nothing = not_found(text, "zzzzzzzzzzzz", "a.rs");
        assert!(
            nothing.contains("no line is like its first line"),
            "{nothing}"
        );
    }
}
