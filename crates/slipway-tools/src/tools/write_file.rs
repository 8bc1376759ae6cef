//! `write_file {path, content}`: creates or replaces a whole file.

use serde::Deserialize;
use serde_json::json;
use slipway_policy::check_write;

use super::{Context, Outcome};
use crate::args;
use crate::workspace::Existed;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    path: String,
    content: String,
}

pub(super) fn describe() -> (String, serde_json::Value) {
    (
        "Writes `content` to a file, creating the file and its parent directories if \
         needed and replacing the whole file if it exists. To change part of a file, \
         use edit_file."
            .to_owned(),
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File path relative to the repository root"},
                "content": {"type": "string", "description": "The file's complete new content"}
            },
            "required": ["path", "content"],
            "additionalProperties": false
        }),
    )
}

pub(super) fn run(cx: &Context<'_>, args: &serde_json::Value) -> Outcome {
    let args: Args = args::parse("write_file", args)?;
    check_write(cx.grant, cx.ownership, &args.path)?;
    if args.content.len() > cx.limits.write_bytes {
        return Err(format!(
            "bad arguments for write_file: field `content`: {} bytes is over the limit of {}; \
             write a smaller file",
            args.content.len(),
            cx.limits.write_bytes
        )
        .into());
    }
    let path = slipway_policy::normalize_path(&args.path);
    let existed = cx.workspace.replace(path, args.content.as_bytes(), true)?;
    let lines = args.content.lines().count();
    let what = match existed {
        Existed::New => "created",
        Existed::Replaced => "replaced",
    };
    let plural = if lines == 1 { "" } else { "s" };
    Ok(format!(
        "{what} `{path}`: {} bytes, {lines} line{plural}",
        args.content.len()
    ))
}
