//! Checks on names that reach git's command line: branch and tag names
//! (git's `check-ref-format` rules, so a name can never turn into a
//! refspec, a revision expression or an option) and remotes.

use crate::GitError;

/// Checks a branch name (the part after `refs/heads/`).
pub(crate) fn branch(name: &str) -> Result<(), GitError> {
    ref_name(name, "branch name")
}

/// Checks a tag name (the part after `refs/tags/`).
pub(crate) fn tag(name: &str) -> Result<(), GitError> {
    ref_name(name, "tag name")
}

/// Checks an argument that must not be read as an option.
pub(crate) fn not_an_option(value: &str, what: &'static str) -> Result<(), GitError> {
    let why = if value.is_empty() {
        "it is empty"
    } else if value.starts_with('-') {
        "it starts with `-`"
    } else if value.contains('\0') {
        "it contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(GitError::InvalidName {
        what,
        value: value.to_owned(),
        why,
    })
}

fn ref_name(name: &str, what: &'static str) -> Result<(), GitError> {
    match ref_name_problem(name) {
        None => Ok(()),
        Some(why) => Err(GitError::InvalidName {
            what,
            value: name.to_owned(),
            why,
        }),
    }
}

/// Returns the `git check-ref-format` rule `name` breaks, if any.
#[expect(
    clippy::case_sensitive_file_extension_comparisons,
    reason = "git's `.lock` rule is case-sensitive"
)]
fn ref_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.starts_with('-') {
        return Some("it starts with `-`");
    }
    if name == "@" || name == "HEAD" {
        return Some("it is reserved by git");
    }
    if name
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f || b" ~^:?*[\\".contains(&b))
    {
        return Some("it contains a space, a control character or one of ~^:?*[\\");
    }
    if name.contains("..") || name.contains("@{") {
        return Some("it contains `..` or `@{`");
    }
    if name.ends_with('.') {
        return Some("it ends with `.`");
    }
    for part in name.split('/') {
        if part.is_empty() {
            return Some("it has an empty `/`-separated part");
        }
        if part.starts_with('.') || part.ends_with(".lock") {
            return Some("a `/`-separated part starts with `.` or ends with `.lock`");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for ok in ["staging", "slipway/42", "release-7", "a.b/c_d", "ünïcode"] {
            assert!(branch(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_what_git_would_misread() {
        for bad in [
            "", "-f", "HEAD", "@", "a b", "a:b", "a..b", "a@{1}", "a^", "a~1", "a*", "a?", "a[",
            "a\\b", "/a", "a/", "a//b", ".a", "a/.b", "a.lock", "a.", "a\nb", "a\u{7f}",
        ] {
            let err = branch(bad).err();
            let err = err.unwrap_or_else(|| panic!("`{bad}` should be refused"));
            assert!(err.to_string().contains("not a valid branch name"), "{err}");
        }
    }

    #[test]
    fn options_are_refused() {
        assert!(not_an_option("origin", "remote").is_ok());
        assert!(not_an_option("--upload-pack=x", "remote").is_err());
        assert!(not_an_option("", "remote").is_err());
    }
}
