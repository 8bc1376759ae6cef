//! `Sha`: a full commit id (SHA-1 or SHA-256), checked when it is made.

use std::fmt;
use std::str::FromStr;

use crate::GitError;

/// A full object id: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha(String);

impl Sha {
    /// Returns the hex digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the first 12 digits, for messages.
    #[must_use]
    pub fn short(&self) -> &str {
        &self.0[..12]
    }

    /// Returns the object format git calls this id's hash: `sha1` or `sha256`.
    pub(crate) fn object_format(&self) -> &'static str {
        if self.0.len() == 64 { "sha256" } else { "sha1" }
    }

    /// Reads the first line of a command's stdout as an id.
    pub(crate) fn from_stdout(stdout: &[u8], command: &str) -> Result<Self, GitError> {
        let text = String::from_utf8_lossy(stdout);
        let line = text.lines().next().unwrap_or_default().trim();
        line.parse().map_err(|_| GitError::Parse {
            command: command.to_owned(),
            detail: format!("expected a commit id, got `{line}`"),
        })
    }
}

impl FromStr for Sha {
    type Err = GitError;

    /// Accepts 40 or 64 hex digits in either case; stores them lowercased.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(GitError::InvalidSha {
                value: s.to_owned(),
            })
        }
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Sha {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_lengths_and_lowercases() {
        let upper = "ABCDEF0123456789ABCDEF0123456789ABCDEF01";
        let sha: Sha = upper.parse().unwrap();
        assert_eq!(sha.as_str(), upper.to_ascii_lowercase());
        assert_eq!(sha.to_string(), sha.as_str());
        assert_eq!(sha.short(), "abcdef012345");
        assert_eq!(sha.object_format(), "sha1");
        let long: Sha = "a".repeat(64).parse().unwrap();
        assert_eq!(long.object_format(), "sha256");
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "abc",
            &"a".repeat(39),
            &"a".repeat(41),
            &"a".repeat(63),
            &"g".repeat(40),
            &format!(" {}", "a".repeat(39)),
            "HEAD",
        ] {
            let err = bad.parse::<Sha>().unwrap_err();
            assert!(
                err.to_string().contains("40 or 64 hex digits"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn reads_stdout() {
        let sha = Sha::from_stdout(format!("{}\n", "b".repeat(40)).as_bytes(), "git x").unwrap();
        assert_eq!(sha.as_str(), "b".repeat(40));
        let err = Sha::from_stdout(b"nope\n", "git x").unwrap_err();
        assert!(matches!(err, GitError::Parse { .. }), "{err}");
    }
}
