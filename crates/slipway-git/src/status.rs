//! Reading `git status --porcelain=v1 -z` output: for each path `XY PATH\0`,
//! and after a rename or copy the original path as one more field.

use crate::GitError;

/// One line of `git status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The two status letters, `??` for an untracked path.
    pub(crate) code: String,
    /// The path, with bytes that are not UTF-8 replaced.
    pub(crate) path: String,
}

pub(crate) fn parse(bytes: &[u8], command: &str) -> Result<Vec<Entry>, GitError> {
    let mut fields = bytes.split(|&b| b == 0);
    let mut entries = Vec::new();
    while let Some(field) = fields.next() {
        if field.is_empty() {
            if fields.next().is_none() {
                break;
            }
            return Err(GitError::Parse {
                command: command.to_owned(),
                detail: "an empty field in the middle".into(),
            });
        }
        let (Some(code), Some(b' '), Some(path)) = (field.get(..2), field.get(2), field.get(3..))
        else {
            return Err(GitError::Parse {
                command: command.to_owned(),
                detail: format!(
                    "an unexpected line `{}`",
                    String::from_utf8_lossy(field).escape_debug()
                ),
            });
        };
        let code = String::from_utf8_lossy(code).into_owned();
        if code.contains(['R', 'C']) {
            // The original path of a rename or copy: it is changed too.
            if let Some(from) = fields.next().filter(|f| !f.is_empty()) {
                entries.push(Entry {
                    code: code.clone(),
                    path: String::from_utf8_lossy(from).into_owned(),
                });
            }
        }
        entries.push(Entry {
            code,
            path: String::from_utf8_lossy(path).into_owned(),
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entries_and_renames() {
        let entries = parse(b" M a b\0?? new\ndir/\0R  to\0from\0D  x\0", "git status").unwrap();
        let flat: Vec<_> = entries
            .iter()
            .map(|e| (e.code.as_str(), e.path.as_str()))
            .collect();
        assert_eq!(
            flat,
            [
                (" M", "a b"),
                ("??", "new\ndir/"),
                ("R ", "from"),
                ("R ", "to"),
                ("D ", "x")
            ]
        );
        assert!(parse(b"", "git status").unwrap().is_empty());
    }

    #[test]
    fn refuses_short_lines() {
        for bad in [&b"M\0"[..], b"MMx\0", b" M a\0\0 M b\0"] {
            assert!(parse(bad, "git status").is_err(), "{bad:?}");
        }
    }
}
