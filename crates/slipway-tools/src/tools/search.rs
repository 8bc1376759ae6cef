//! `search {pattern, path?, glob?}`: a regular expression over the
//! repository's files, with ripgrep's libraries.

use std::fmt::Write as _;
use std::ops::ControlFlow;

use cap_std::fs::{Dir, File};
use grep_regex::RegexMatcherBuilder;
use grep_searcher::sinks::Lossy;
use grep_searcher::{BinaryDetection, SearcherBuilder};
use ignore::Match;
use ignore::overrides::{Override, OverrideBuilder};
use serde::Deserialize;
use serde_json::json;
use slipway_policy::check_read;

use super::{Context, Outcome, clip, display_name};
use crate::Limits;
use crate::args;
use crate::walk::walk_files;
use crate::workspace::open_child;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    pattern: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    glob: Option<String>,
}

pub(super) fn describe() -> (String, serde_json::Value) {
    (
        "Searches the repository's files for a regular expression (Rust regex syntax, as \
         in ripgrep), skipping files that .gitignore ignores. Answers `path:line: text`, one \
         line per match. Narrow it with `path` (a directory or file) and `glob` (such as \
         `*.rs` or `src/**/*.ts`)."
            .to_owned(),
        json!({
            "type": "object",
            "properties": {
                "pattern": {"type": "string", "description": "Regular expression, matched line by line"},
                "path": {"type": "string", "description": "Directory or file to search, relative to the repository root (default: the root)"},
                "glob": {"type": "string", "description": "Only files whose path matches this gitignore-style glob"}
            },
            "required": ["pattern"],
            "additionalProperties": false
        }),
    )
}

/// What the search found so far.
struct Hits {
    lines: Vec<String>,
    /// The bytes of `lines` joined into the answer.
    bytes: usize,
    /// Why the search stopped before its end, if it did.
    cut: Option<Cut>,
    too_large: usize,
}

/// The limit that stopped a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// `Limits::search_matches`.
    Matches,
    /// `Limits::read_bytes`, the cap on every answer that shows file text.
    Bytes,
}

pub(super) fn run(cx: &Context<'_>, args: &serde_json::Value) -> Outcome {
    let args: Args = args::parse("search", args)?;
    let raw = args.path.clone().unwrap_or_default();
    let trimmed = raw
        .strip_suffix('/')
        .filter(|rest| !rest.is_empty())
        .unwrap_or(&raw);
    check_read(cx.grant, trimmed)?;
    let path = slipway_policy::normalize_path(trimmed);
    let matcher = RegexMatcherBuilder::new()
        .line_terminator(Some(b'\n'))
        .build(&args.pattern)
        .map_err(|err| {
            format!(
                "bad arguments for search: field `pattern` is not a valid regular \
                 expression: {err}"
            )
        })?;
    let only = args.glob.as_deref().map(glob_filter).transpose()?;

    let mut searcher = SearcherBuilder::new()
        .line_number(true)
        .binary_detection(BinaryDetection::quit(0))
        .build();
    let mut hits = Hits {
        lines: Vec::new(),
        bytes: 0,
        cut: None,
        too_large: 0,
    };
    let limits = cx.limits;
    let mut search_file = |shown: &str, file: File| -> ControlFlow<()> {
        if file
            .metadata()
            .is_ok_and(|meta| meta.len() > limits.search_file_bytes)
        {
            hits.too_large += 1;
            return ControlFlow::Continue(());
        }
        let shown = display_name(shown);
        let sink = Lossy(|number, line: &str| {
            if hits.lines.len() >= limits.search_matches {
                hits.cut = Some(Cut::Matches);
                return Ok(false);
            }
            let text = line.trim_end_matches('\n').trim_end_matches('\r');
            let hit = format!("{shown}:{number}: {}", clip(text, limits.line_chars));
            // Each line but the first comes after a line break.
            let bytes = hits.bytes + usize::from(!hits.lines.is_empty()) + hit.len();
            if bytes > limits.read_bytes && !hits.lines.is_empty() {
                hits.cut = Some(Cut::Bytes);
                return Ok(false);
            }
            hits.bytes = bytes;
            hits.lines.push(hit);
            Ok(true)
        });
        // A file that cannot be read mid-search is skipped, as ripgrep does.
        let _ = searcher.search_file(&matcher, &file.into_std(), sink);
        if hits.cut.is_some() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };

    if cx.workspace.is_dir(path)? {
        walk_files(
            cx.workspace,
            path,
            &mut |file_path: &str, dir: &Dir, name: &str| {
                let excluded = only
                    .as_ref()
                    .is_some_and(|only| matches!(only.matched(file_path, false), Match::Ignore(_)));
                if excluded || check_read(cx.grant, file_path).is_err() {
                    return ControlFlow::Continue(());
                }
                match open_child(dir, name, file_path) {
                    Ok(file) => search_file(file_path, file),
                    Err(_) => ControlFlow::Continue(()),
                }
            },
        )?;
    } else {
        let file = cx.workspace.open_read(path)?;
        let _ = search_file(path, file);
    }

    Ok(report(&hits, &args, path, limits))
}

/// The answer: the hits, or a sentence saying none were found, and notes on
/// what was left out.
fn report(hits: &Hits, args: &Args, path: &str, limits: &Limits) -> String {
    let mut out = hits.lines.join("\n");
    if out.is_empty() {
        out = format!("no matches for `{}`", args.pattern);
        if !path.is_empty() && path != "." {
            let _ = write!(out, " in `{path}`");
        }
        if let Some(glob) = &args.glob {
            let _ = write!(out, " among files matching `{glob}`");
        }
    }
    match hits.cut {
        Some(Cut::Matches) => {
            let _ = write!(
                out,
                "\n[only the first {} matches are shown; narrow the search with `path`, \
                 `glob` or a more precise pattern]",
                limits.search_matches
            );
        }
        Some(Cut::Bytes) => {
            let _ = write!(
                out,
                "\n[the answer was cut after {} matches to stay under {} bytes; narrow the \
                 search with `path`, `glob` or a more precise pattern]",
                hits.lines.len(),
                limits.read_bytes
            );
        }
        None => {}
    }
    if hits.too_large > 0 {
        let _ = write!(
            out,
            "\n[{} files over {} bytes were not searched]",
            hits.too_large, limits.search_file_bytes
        );
    }
    out
}

/// Compiles `glob` as ripgrep's `--glob` does: a gitignore-style pattern
/// that selects files (or, with a leading `!`, leaves them out).
fn glob_filter(glob: &str) -> Result<Override, String> {
    let mut builder = OverrideBuilder::new(".");
    builder
        .add(glob)
        .and_then(|builder| builder.build())
        .map_err(|err| format!("bad arguments for search: field `glob` is not a valid glob: {err}"))
}
