//! Gitignore-style globs, translated into `globset` globs.
//!
//! `ignore`'s `Gitignore::matched_path_or_any_parents` answers one lane at a
//! time, walking every parent of every path: on the `lanes` benchmark (100,000
//! paths, 20 lanes) that took 1.1 s, over the 1 s target. Instead each pattern
//! is translated here into at most two `globset` globs that match the path
//! itself or any path beneath a match, so that one `GlobSet` holding every
//! lane and the seams answers a path in a single pass (see `ownership`); the
//! same check then takes about 45 ms. The translation is hand-written
//! because no library exposes gitignore rules as plain globs.
//!
//! The rules, as in gitignore:
//! - `*` and `?` do not cross `/`; `**` as a whole segment crosses any number
//!   of directories (`a/**/b` matches `a/b`); `[...]` is a class (`[!a]`
//!   negates it); `\` escapes the next character.
//! - A pattern without a `/` (a trailing one aside) matches at any depth; a
//!   leading `/` or a `/` in the middle anchors it at the root.
//! - A trailing `/` matches directories only: since tracked paths are files,
//!   that is every path beneath a matching directory.
//! - A pattern that matches a directory matches every path beneath it.
//! - A leading `!` negates; within one list the last matching pattern wins.
//!
//! Differences from git, kept on purpose: `{a,b}` alternation is accepted (a
//! `globset` extension), trailing spaces are kept (a glob is a list entry, not
//! a line of a file), and a path re-included by `!` under an excluded
//! directory counts as re-included (git cannot see into excluded
//! directories, but ownership is about paths, not a directory walk). As in
//! git, `?` matches one byte, so a non-ASCII character needs `*`.

use globset::{Glob, GlobBuilder};

/// A glob in a lane or in the seams that cannot be used.
///
/// `lane` is `None` for the seams. An empty `glob` means the problem is not a
/// single glob (an empty or repeated lane name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct GlobError {
    pub lane: Option<String>,
    pub glob: String,
    pub reason: String,
}

impl GlobError {
    fn describe(&self) -> String {
        let (place, fix) = match self.lane.as_deref() {
            None => ("the seams".to_owned(), "`[seams] paths`".to_owned()),
            Some("") => (
                "a lane with an empty name".to_owned(),
                "`[lanes.<name>]`".to_owned(),
            ),
            Some(lane) => (format!("lane `{lane}`"), format!("`[lanes.{lane}] owns`")),
        };
        if self.glob.is_empty() {
            format!("{place}: {}; fix it in {fix} in slipway.toml", self.reason)
        } else {
            format!(
                "{place}: glob `{}` {}; fix or remove it in {fix} in slipway.toml",
                self.glob, self.reason
            )
        }
    }
}

/// One gitignore-style pattern, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    /// Whether the pattern started with `!`.
    pub(crate) negated: bool,
    /// One or two globs; a path matches the pattern when it matches any.
    pub(crate) globs: Vec<Glob>,
}

/// Returns `Err(reason)` when `glob` is not a usable gitignore-style glob.
///
/// The reason completes a sentence that starts with the glob, such as
/// "is empty" or "is not valid: unclosed character class; missing ']'".
pub fn validate_glob(glob: &str) -> Result<(), String> {
    translate(glob).map(drop)
}

/// Translates one gitignore-style pattern into `globset` globs.
pub(crate) fn translate(raw: &str) -> Result<Pattern, String> {
    if raw.is_empty() {
        return Err("is empty: write a pattern such as `src/` or `*.rs`".to_owned());
    }
    let (negated, rest) = match raw.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    if rest.is_empty() {
        return Err("is only `!`: follow it with a pattern, such as `!src/generated/`".to_owned());
    }
    let (dir_only, rest) = match rest.strip_suffix('/') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let (rooted, body) = match rest.strip_prefix('/') {
        Some(body) => (true, body),
        None => (false, rest),
    };
    if body.is_empty() {
        return Err("names no file or directory: write a pattern such as `/src/`".to_owned());
    }
    if body.starts_with('/') || body.ends_with('/') || body.contains("//") {
        return Err("has an empty path segment (`//`), which no tracked path has".to_owned());
    }
    let anchored = rooted || body.contains('/');
    let base = if anchored || body == "**" {
        body.to_owned()
    } else {
        format!("**/{body}")
    };

    let mut sources = Vec::with_capacity(2);
    if !dir_only {
        sources.push(base.clone());
    }
    // The glob for paths beneath a match. A base that already ends in a
    // `**` segment matches everything beneath itself, except that `x/**/`
    // (directories only) needs a directory below `x/` *and* a path below it.
    if let Some(stem) = base
        .strip_suffix("**")
        .filter(|s| s.is_empty() || s.ends_with('/'))
    {
        if dir_only {
            sources.push(format!("{stem}*/**"));
        }
    } else {
        sources.push(format!("{base}/**"));
    }

    let globs = sources
        .iter()
        .map(|source| build(source))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Pattern { negated, globs })
}

fn build(source: &str) -> Result<Glob, String> {
    GlobBuilder::new(source)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|err| format!("is not valid: {}", err.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        let Ok(compiled) = translate(pattern) else {
            panic!("`{pattern}` should compile");
        };
        compiled
            .globs
            .iter()
            .any(|glob| glob.compile_matcher().is_match(path))
    }

    #[test]
    fn a_pattern_without_a_slash_matches_at_any_depth() {
        assert!(matches("*.rs", "lib.rs"));
        assert!(matches("*.rs", "a/b/lib.rs"));
        assert!(matches("build", "build"));
        assert!(matches("build", "x/build/out.o"));
        assert!(!matches("*.rs", "lib.rsx"));
    }

    #[test]
    fn a_leading_or_middle_slash_anchors_at_the_root() {
        assert!(matches("/build", "build/out.o"));
        assert!(!matches("/build", "x/build/out.o"));
        assert!(matches("src/*.rs", "src/lib.rs"));
        assert!(!matches("src/*.rs", "crates/src/lib.rs"));
        assert!(!matches("src/*.rs", "src/a/lib.rs"));
    }

    #[test]
    fn a_trailing_slash_matches_only_what_is_beneath_a_directory() {
        assert!(matches("docs/", "docs/a.md"));
        assert!(matches("docs/", "x/docs/deep/a.md"));
        assert!(
            !matches("docs/", "docs"),
            "a file named docs is no directory"
        );
        assert!(matches("/docs/", "docs/a.md"));
        assert!(!matches("/docs/", "x/docs/a.md"));
    }

    #[test]
    fn double_star_segments_cross_directories() {
        assert!(matches("a/**/b", "a/b"));
        assert!(matches("a/**/b", "a/x/y/b"));
        assert!(matches("a/**/b", "a/x/b/c.txt"));
        assert!(!matches("a/**/b", "a/xb"));
        assert!(matches("**/gen/*.rs", "gen/a.rs"));
        assert!(matches("**/gen/*.rs", "x/y/gen/a.rs"));
        assert!(matches("a/**", "a/x/y"));
        assert!(!matches("a/**", "a"));
        assert!(matches("**", "anything/at/all"));
    }

    #[test]
    fn a_directory_only_double_star_needs_a_directory_below() {
        assert!(!matches("x/**/", "x/a"));
        assert!(matches("x/**/", "x/a/b"));
        assert!(!matches("**/", "top"));
        assert!(matches("**/", "dir/file"));
    }

    #[test]
    fn negation_is_recorded_and_escaped_bang_is_literal() {
        let Ok(pattern) = translate("!gen/") else {
            panic!("should compile");
        };
        assert!(pattern.negated);
        assert!(matches("\\!x", "!x"));
        assert!(matches("[!a]", "b"));
        assert!(!matches("[!a]", "a"));
    }

    #[test]
    fn question_mark_matches_one_byte_as_in_git() {
        assert!(matches("caf?.txt", "cafe.txt"));
        assert!(!matches("caf?.txt", "café.txt"));
        assert!(matches("caf*.txt", "café.txt"));
    }

    #[test]
    fn bad_globs_say_what_is_wrong() {
        for (glob, words) in [
            ("", "is empty"),
            ("!", "only `!`"),
            ("/", "names no file"),
            ("!/", "names no file"),
            ("a//b", "empty path segment"),
            ("//a", "empty path segment"),
            ("[a", "unclosed character class"),
            ("a\\", "dangling"),
            ("{a", "alternate"),
        ] {
            let Err(reason) = validate_glob(glob) else {
                panic!("`{glob}` should be rejected");
            };
            assert!(reason.contains(words), "`{glob}`: {reason}");
        }
    }

    #[test]
    fn error_messages_name_the_place_the_glob_and_the_fix() {
        let lane = GlobError {
            lane: Some("api".into()),
            glob: "[a".into(),
            reason: "is not valid: unclosed character class; missing ']'".into(),
        };
        assert_eq!(
            lane.to_string(),
            "lane `api`: glob `[a` is not valid: unclosed character class; missing ']'; \
             fix or remove it in `[lanes.api] owns` in slipway.toml"
        );
        let seams = GlobError {
            lane: None,
            glob: "a//b".into(),
            reason: "has an empty path segment".into(),
        };
        assert!(seams.to_string().starts_with("the seams: glob `a//b`"));
        assert!(seams.to_string().contains("`[seams] paths`"));
        let unnamed = GlobError {
            lane: Some(String::new()),
            glob: String::new(),
            reason: "the lane has no name".into(),
        };
        assert!(
            unnamed
                .to_string()
                .starts_with("a lane with an empty name: the lane has no name")
        );
    }
}
