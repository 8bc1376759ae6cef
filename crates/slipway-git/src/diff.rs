//! Diffs between two commits of the main repository, on fetched objects:
//! the raw entries the ownership gate checks, and the unified text a
//! reviewer reads, cut to a size. No external diff, no textconv filter, no
//! rename detection (a rename is a deletion and an addition).

use std::fmt::Write as _;

use crate::{Change, GitError, Repo, Sha, raw_diff};

/// Files named in the note about a cut diff, at most.
const NAMED_FILES: usize = 20;

/// Options that make `git diff` print the same whatever the user's config.
const FIXED: [&str; 6] = [
    "--no-renames",
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--no-relative",
    "--ignore-submodules=none",
];

impl Repo {
    /// Returns what changed from `base` to `head`, one entry per path.
    pub async fn changes(&self, base: &Sha, head: &Sha) -> Result<Vec<Change>, GitError> {
        let out = self
            .git()
            .args(["diff", "--raw", "-z", "--no-abbrev"])
            .args(FIXED)
            .args([base.as_str(), head.as_str(), "--"])
            .output()
            .await?;
        if !out.success() {
            return Err(out.into_error());
        }
        raw_diff::parse(&out.stdout, &out.command)
    }

    /// Returns the unified diff from `base` to `head`. When it is longer
    /// than `max_bytes`, it is cut at the last line boundary within
    /// `max_bytes` and a last line says how much was cut and which files
    /// it touched (that line may pass `max_bytes`). Bytes that are not
    /// UTF-8 are replaced.
    pub async fn diff_text(
        &self,
        base: &Sha,
        head: &Sha,
        max_bytes: usize,
    ) -> Result<String, GitError> {
        let stdout = self
            .git()
            .config("core.quotePath", "false")
            .args(["diff", "--submodule=short", "--default-prefix"])
            .args(FIXED)
            .args([base.as_str(), head.as_str(), "--"])
            .run()
            .await?;
        Ok(cut(&String::from_utf8_lossy(&stdout), max_bytes))
    }
}

/// Cuts a diff to at most `max_bytes` on a line boundary and adds a note of
/// what was cut.
pub(crate) fn cut(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    // `max_bytes < text.len()`, so the slice is in range; `\n` is ASCII, so
    // the index after it is a char boundary.
    let keep = text.as_bytes()[..max_bytes]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let (kept, rest) = text.split_at(keep);
    let partial = if rest.starts_with("diff --git ") {
        None
    } else {
        kept.lines()
            .rev()
            .find_map(|l| l.strip_prefix("diff --git "))
            .map(header_path)
    };
    let whole: Vec<&str> = rest
        .lines()
        .filter_map(|l| l.strip_prefix("diff --git "))
        .map(header_path)
        .collect();
    let mut note = format!(
        "[diff cut at {max_bytes} bytes: {} more bytes in {} lines not shown",
        rest.len(),
        rest.lines().count(),
    );
    let mut named: Vec<String> = Vec::new();
    if let Some(path) = partial {
        named.push(format!("the rest of `{path}`"));
    }
    named.extend(whole.iter().take(NAMED_FILES).map(|p| format!("`{p}`")));
    if !named.is_empty() {
        let _ = write!(note, ": {}", named.join(", "));
    }
    if whole.len() > NAMED_FILES {
        let _ = write!(note, " and {} more files", whole.len() - NAMED_FILES);
    }
    note.push_str("]\n");
    let mut out = String::with_capacity(kept.len() + note.len());
    out.push_str(kept);
    out.push_str(&note);
    out
}

/// Returns the path of a `diff --git a/P b/P` header (the two halves are
/// the same without renames), or the header as it is when it does not split.
fn header_path(rest: &str) -> &str {
    let half = rest
        .len()
        .checked_sub(1)
        .map(|n| n / 2)
        .and_then(|n| rest.get(..n))
        .unwrap_or(rest);
    let half = half
        .strip_prefix('"')
        .and_then(|h| h.strip_suffix('"'))
        .unwrap_or(half);
    half.strip_prefix("a/").unwrap_or(half)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "diff --git a/one b/one\n--- a/one\n+++ b/one\n@@ -1 +1 @@\n-a\n+b\n\
                        diff --git a/two words b/two words\n--- a/two words\n+++ b/two words\n@@ -1 +1 @@\n-c\n+d\n";

    #[test]
    fn keeps_a_short_diff_whole() {
        assert_eq!(cut(DIFF, DIFF.len()), DIFF);
    }

    #[test]
    fn cuts_on_a_line_and_names_what_was_cut() {
        let out = cut(DIFF, 30);
        let (kept, note) = out.split_at(23);
        assert_eq!(kept, "diff --git a/one b/one\n");
        assert!(note.starts_with("[diff cut at 30 bytes: "), "{note}");
        assert!(note.contains("the rest of `one`, `two words`]"), "{note}");
        assert!(
            note.contains(&format!("{} more bytes", DIFF.len() - 23)),
            "{note}"
        );
    }

    #[test]
    fn cutting_between_files_names_only_whole_files() {
        let first = DIFF.find("diff --git a/two").unwrap();
        let out = cut(DIFF, first);
        assert!(out.starts_with(&DIFF[..first]));
        assert!(out.ends_with("lines not shown: `two words`]\n"), "{out}");
    }

    #[test]
    fn a_single_long_line_keeps_nothing() {
        let out = cut("diff --git a/x b/x\n", 5);
        assert_eq!(
            out,
            "[diff cut at 5 bytes: 19 more bytes in 1 lines not shown: `x`]\n"
        );
        let out = cut("ééééé", 3);
        assert!(
            out.starts_with("[diff cut at 3 bytes: 10 more bytes"),
            "{out}"
        );
    }

    #[test]
    fn many_files_are_counted_not_listed() {
        let text = (0..30).fold(String::new(), |mut text, i| {
            let _ = writeln!(text, "diff --git a/f{i} b/f{i}");
            text
        });
        let out = cut(&text, 0);
        assert!(out.contains("`f19` and 10 more files]"), "{out}");
        assert!(!out.contains("`f20`"), "{out}");
    }

    #[test]
    fn header_paths() {
        assert_eq!(header_path("a/x y b/x y"), "x y");
        assert_eq!(header_path("\"a/\\tq\" \"b/\\tq\""), "\\tq");
        assert_eq!(header_path(""), "");
        assert_eq!(header_path("a/é b/é"), "é");
        assert_eq!(header_path("éa"), "éa");
    }
}
