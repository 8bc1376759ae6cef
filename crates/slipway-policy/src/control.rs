//! Control files: the paths no lane owns and no agent may write.

/// Control files at the project root, besides everything under `.slipway/`.
pub const CONTROL_FILES: [&str; 2] = ["slipway.toml", "AGENTS.md"];

/// The directory of Slipway's private state, a control path with all it holds.
const CONTROL_DIR: &str = ".slipway";

/// Returns whether `path` (relative to the project root, `/`-separated) is a
/// control path: `slipway.toml`, `AGENTS.md`, `.slipway` or anything under
/// `.slipway/`.
///
/// A leading `./` is ignored. Names are compared without regard to ASCII
/// case, because on a case-insensitive file system `Slipway.toml` is the same
/// file; `src/slipway.toml` is an ordinary path.
#[must_use]
pub fn is_control_path(path: &str) -> bool {
    let path = normalize(path);
    let first = path.split('/').next().unwrap_or_default();
    let nested = path.len() > first.len();
    (!nested && CONTROL_FILES.iter().any(|c| c.eq_ignore_ascii_case(first)))
        || first.eq_ignore_ascii_case(CONTROL_DIR)
}

/// Returns whether `path` is in the form `git ls-files` prints: relative,
/// `/`-separated, no empty, `.` or `..` segment, no backslash or NUL.
///
/// A path in any other form could name a file other than the one its text
/// suggests (`src/../slipway.toml`), so ownership treats it as unowned.
#[must_use]
pub fn is_canonical_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains(['\\', '\0'])
        && path
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// Returns `path` without the leading `./` segments that people (not
/// `git ls-files`) tend to type; nothing else changes.
///
/// This is the normalization the policy checks apply before anything else,
/// so a caller that opens a file after a check must open this form.
#[must_use]
pub fn normalize_path(path: &str) -> &str {
    normalize(path)
}

/// Returns whether `path` is Slipway's private state directory or beneath it
/// (`.slipway`, in any ASCII case): what no agent may read.
pub(crate) fn is_state_path(path: &str) -> bool {
    let first = normalize(path).split('/').next().unwrap_or_default();
    first.eq_ignore_ascii_case(CONTROL_DIR)
}

/// Strips the leading `./` that people (not `git ls-files`) tend to type.
pub(crate) fn normalize(mut path: &str) -> &str {
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_control_files_and_the_state_directory_are_control_paths() {
        for path in [
            "slipway.toml",
            "AGENTS.md",
            ".slipway",
            ".slipway/",
            ".slipway/slipway.db",
            ".slipway/work/12/src/lib.rs",
            "./slipway.toml",
            "././AGENTS.md",
            "Slipway.toml",
            "agents.md",
            ".SLIPWAY/x",
        ] {
            assert!(is_control_path(path), "{path}");
        }
    }

    #[test]
    fn only_plain_relative_paths_are_canonical() {
        for path in ["a", "a/b.rs", ".gitignore", "a/.b/c", "名前/ファイル.txt"] {
            assert!(is_canonical_path(path), "{path}");
        }
        for path in [
            "", "/a", "a/", "a//b", "./a", "a/./b", "a/../b", "..", "a\\b", "a\0b",
        ] {
            assert!(!is_canonical_path(path), "{path:?}");
        }
    }

    #[test]
    fn look_alikes_are_ordinary_paths() {
        for path in [
            "src/slipway.toml",
            "docs/AGENTS.md",
            "slipway.toml.bak",
            ".slipwayrc",
            ".slipway-cache/x",
            "a/.slipway/x",
            "",
        ] {
            assert!(!is_control_path(path), "{path}");
        }
    }
}
