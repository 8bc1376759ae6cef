//! `list_dir {path?}`: a directory's entries, sorted.

use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::json;
use slipway_policy::check_read;

use super::{Context, Outcome, display_name};
use crate::args;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    #[serde(default)]
    path: Option<String>,
}

pub(super) fn describe() -> (String, serde_json::Value) {
    (
        "Lists a directory of the repository: names sorted, directories ending in `/`, \
         symbolic links shown with their target. Without `path`, lists the repository root."
            .to_owned(),
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Directory relative to the repository root (default: the root)"}
            },
            "additionalProperties": false
        }),
    )
}

/// Whether a name is hidden from listings and searches: git's directory and
/// Slipway's private state, in any case.
pub(crate) fn is_hidden(name: &str) -> bool {
    name.eq_ignore_ascii_case(".git") || name.eq_ignore_ascii_case(".slipway")
}

pub(super) fn run(cx: &Context<'_>, args: &serde_json::Value) -> Outcome {
    let args: Args = args::parse("list_dir", args)?;
    let raw = args.path.unwrap_or_default();
    // A trailing `/` is how people name directories; the policy sees the name.
    let trimmed = raw
        .strip_suffix('/')
        .filter(|rest| !rest.is_empty())
        .unwrap_or(&raw);
    check_read(cx.grant, trimmed)?;
    let path = slipway_policy::normalize_path(trimmed);
    let shown = if path.is_empty() || path == "." {
        "."
    } else {
        path
    };
    let dir = cx.workspace.dir(path)?;

    let mut entries = Vec::new();
    let listing = dir
        .entries()
        .map_err(|err| format!("cannot list `{shown}`: {err}"))?;
    for entry in listing {
        let entry = entry.map_err(|err| format!("cannot list `{shown}`: {err}"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_hidden(&name) {
            continue;
        }
        let kind = entry.file_type().ok();
        let mut line = display_name(&name);
        if kind.is_some_and(|kind| kind.is_dir()) {
            line.push('/');
        } else if kind.is_some_and(|kind| kind.is_symlink()) {
            let target = dir
                .read_link_contents(&name)
                .map(|target| target.display().to_string())
                .unwrap_or_default();
            let _ = write!(line, " -> {}", display_name(&target));
        }
        entries.push((name, line));
    }
    entries.sort();

    if entries.is_empty() {
        return Ok(format!("(`{shown}` is empty)"));
    }
    let total = entries.len();
    let mut out: Vec<String> = entries
        .into_iter()
        .take(cx.limits.list_entries)
        .map(|(_, line)| line)
        .collect();
    if total > out.len() {
        out.push(format!(
            "[{} of {total} entries shown; use search with a glob to find the rest]",
            out.len()
        ));
    }
    Ok(out.join("\n"))
}
