//! Reading `git diff --raw -z --no-abbrev` output into [`Change`]s: the
//! entries the ownership gate checks. Hand-written because the format is a
//! few lines of NUL-separated fields and no crate parses git's output.

use crate::GitError;

/// What happened to a path between two commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// The path is new.
    Added,
    /// The path is gone.
    Deleted,
    /// The contents or the mode changed.
    Modified,
    /// The kind of object changed: file, symlink or submodule.
    TypeChanged,
}

impl ChangeKind {
    /// Returns git's status letter.
    #[must_use]
    pub fn letter(self) -> char {
        match self {
            Self::Added => 'A',
            Self::Deleted => 'D',
            Self::Modified => 'M',
            Self::TypeChanged => 'T',
        }
    }
}

/// One entry of a raw diff. A rename is a deletion and an addition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Change {
    /// What happened.
    pub status: ChangeKind,
    /// The path from the repository's root, `/`-separated.
    pub path: String,
    /// The mode before (`0` when added): `0o100644`, `0o100755`,
    /// `0o120000` (symlink), `0o160000` (submodule).
    pub old_mode: u32,
    /// The mode after (`0` when deleted).
    pub new_mode: u32,
}

/// Mode of a symbolic link.
pub const MODE_SYMLINK: u32 = 0o120_000;
/// Mode of a submodule (gitlink).
pub const MODE_SUBMODULE: u32 = 0o160_000;

/// Parses the output of `git diff --raw -z --no-renames`: for each entry
/// `:OLD NEW OLDID NEWID S\0PATH\0`. Renames and copies (two paths) are not
/// expected and are an error, like any output that does not fit.
pub(crate) fn parse(bytes: &[u8], command: &str) -> Result<Vec<Change>, GitError> {
    let bad = |detail: String| GitError::Parse {
        command: command.to_owned(),
        detail,
    };
    let mut fields = bytes.split(|&b| b == 0);
    let mut changes = Vec::new();
    while let Some(head) = fields.next() {
        if head.is_empty() {
            // Only the terminator of the last path leaves an empty field, at the very end.
            if fields.next().is_none() {
                break;
            }
            return Err(bad("an empty field in the middle".into()));
        }
        let head = std::str::from_utf8(head)
            .map_err(|_| bad("an entry header that is not text".into()))?;
        let (old_mode, new_mode, letter) = header(head).ok_or_else(|| {
            bad(format!(
                "an unexpected entry header `{}`",
                head.escape_debug()
            ))
        })?;
        let status = match letter {
            'A' => ChangeKind::Added,
            'D' => ChangeKind::Deleted,
            'M' => ChangeKind::Modified,
            'T' => ChangeKind::TypeChanged,
            other => return Err(bad(format!("an unexpected status `{other}`"))),
        };
        let path = fields
            .next()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| bad(format!("no path after `{head}`")))?;
        let path = String::from_utf8(path.to_vec()).map_err(|e| GitError::NonUtf8Path {
            path: String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })?;
        changes.push(Change {
            status,
            path,
            old_mode,
            new_mode,
        });
    }
    Ok(changes)
}

/// Splits `:100644 100644 <id> <id> M` into the modes and the status letter.
fn header(head: &str) -> Option<(u32, u32, char)> {
    let mut parts = head.strip_prefix(':')?.split(' ');
    let old_mode = mode(parts.next()?)?;
    let new_mode = mode(parts.next()?)?;
    for _ in 0..2 {
        let id = parts.next()?;
        if !matches!(id.len(), 40 | 64) || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
    }
    let status = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let mut chars = status.chars();
    let letter = chars.next()?;
    // A score may follow the letter (`R086`); only digits.
    chars
        .all(|c| c.is_ascii_digit())
        .then_some((old_mode, new_mode, letter))
}

fn mode(text: &str) -> Option<u32> {
    if text.len() != 6 || !text.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u32::from_str_radix(text, 8).ok()
}

#[cfg(test)]
#[path = "raw_diff_tests.rs"]
mod tests;
