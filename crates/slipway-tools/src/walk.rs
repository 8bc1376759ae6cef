//! A walk over the workspace's files through its directory handle that
//! skips what git ignores, for `search`.
//!
//! `ignore::WalkBuilder` walks by path with the process's ambient authority,
//! so a directory swapped for a link mid-walk would lead it out of the
//! clone. This walk opens every directory beneath the handle without
//! following links, and uses `ignore`'s gitignore matcher for the rules:
//! `.git/info/exclude` and the root `.gitignore`, then each directory's
//! `.gitignore`, the deepest match deciding (as in git). Not honoured: the
//! user's global excludes file (it is outside the clone) and `.ignore` files.
//! Links are never followed, `.git` and `.slipway` never entered, and names
//! that are not UTF-8 are skipped (no tool could name them).

use std::io::Read;
use std::ops::ControlFlow;

use cap_fs_ext::DirExt;
use cap_std::fs::Dir;
use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::tools::is_hidden;
use crate::workspace::{Workspace, open_child, segments};

/// Directories deeper than this below the start are not entered.
const MAX_DEPTH: usize = 64;
/// A `.gitignore` larger than this is not read.
const MAX_IGNORE_FILE: u64 = 1 << 20;

/// One directory's ignore rules.
struct Layer {
    /// The directory, relative to the root ("" for the root).
    base: String,
    rules: Gitignore,
}

/// Calls `visit(path, parent, name)` for every regular file beneath the
/// directory `start` that git would not ignore, in sorted order, until it
/// breaks.
pub(crate) fn walk_files(
    workspace: &Workspace,
    start: &str,
    visit: &mut dyn FnMut(&str, &Dir, &str) -> ControlFlow<()>,
) -> Result<(), String> {
    let parts = segments(start);
    let mut layers = Vec::new();
    let mut dir = workspace.dir("")?;
    for depth in 0..=parts.len() {
        let base = parts[..depth].join("/");
        if depth > 0 {
            dir = workspace.dir(&base)?;
        }
        layers.extend(load(&dir, &base));
    }
    let start = parts.join("/");
    let _ = visit_dir(&dir, &start, &mut layers, 0, visit);
    Ok(())
}

fn visit_dir(
    dir: &Dir,
    base: &str,
    layers: &mut Vec<Layer>,
    depth: usize,
    visit: &mut dyn FnMut(&str, &Dir, &str) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Ok(listing) = dir.entries() else {
        return ControlFlow::Continue(());
    };
    let mut entries: Vec<(String, bool)> = listing
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let kind = entry.file_type().ok()?;
            let name = entry.file_name().into_string().ok()?;
            (kind.is_dir() || kind.is_file()).then_some((name, kind.is_dir()))
        })
        .filter(|(name, _)| !is_hidden(name))
        .collect();
    entries.sort();
    for (name, is_dir) in entries {
        let path = if base.is_empty() {
            name.clone()
        } else {
            format!("{base}/{name}")
        };
        if ignored(layers, &path, is_dir) {
            continue;
        }
        if !is_dir {
            visit(&path, dir, &name)?;
            continue;
        }
        if depth >= MAX_DEPTH {
            continue;
        }
        let Ok(sub) = dir.open_dir_nofollow(&name) else {
            continue;
        };
        let pushed = load(&sub, &path).map(|layer| layers.push(layer)).is_some();
        let flow = visit_dir(&sub, &path, layers, depth + 1, visit);
        if pushed {
            layers.pop();
        }
        flow?;
    }
    ControlFlow::Continue(())
}

/// Whether the deepest rule that matches `path` ignores it.
fn ignored(layers: &[Layer], path: &str, is_dir: bool) -> bool {
    for layer in layers.iter().rev() {
        let relative = if layer.base.is_empty() {
            path
        } else {
            path.strip_prefix(&layer.base)
                .and_then(|rest| rest.strip_prefix('/'))
                .unwrap_or(path)
        };
        match layer.rules.matched(relative, is_dir) {
            Match::Ignore(_) => return true,
            Match::Whitelist(_) => return false,
            Match::None => {}
        }
    }
    false
}

/// The rules of `dir` (at `base`): its `.gitignore`, and for the root
/// `.git/info/exclude` before it; `None` when it has none.
fn load(dir: &Dir, base: &str) -> Option<Layer> {
    // Paths given to `matched` are relative to the directory; a root of "."
    // tells `ignore` not to strip anything from them.
    let mut builder = GitignoreBuilder::new(".");
    let mut any = false;
    if base.is_empty()
        && let Some(text) = dir
            .open_dir_nofollow(".git")
            .and_then(|git| git.open_dir_nofollow("info"))
            .ok()
            .and_then(|info| read_small(&info, "exclude"))
    {
        any |= add_lines(&mut builder, &text);
    }
    if let Some(text) = read_small(dir, ".gitignore") {
        any |= add_lines(&mut builder, &text);
    }
    let rules = builder.build().ok().filter(|_| any)?;
    Some(Layer {
        base: base.to_owned(),
        rules,
    })
}

/// Adds each line that parses (git skips the others too); returns whether
/// any did.
fn add_lines(builder: &mut GitignoreBuilder, text: &str) -> bool {
    let mut any = false;
    for line in text.lines() {
        any |= builder.add_line(None, line).is_ok();
    }
    any
}

fn read_small(dir: &Dir, name: &str) -> Option<String> {
    let file = open_child(dir, name, name).ok()?;
    if file.metadata().ok()?.len() > MAX_IGNORE_FILE {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_IGNORE_FILE).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}
