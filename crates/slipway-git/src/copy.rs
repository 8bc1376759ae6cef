//! Copying untracked files (`[workspace] copy`) from the main work tree
//! into a new workspace. A listed path is relative, has no `..`, and must
//! lead to a file or directory inside the root (a symlink may point within
//! the root, never out of it, nor into `.git`). In the clone, nothing on
//! the way may be a symlink, so a symlink committed to the repository
//! cannot send a copy outside the clone.

use std::fs;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use crate::GitError;

/// Checks a listed path and returns it without `.` parts.
pub(crate) fn check_listed(path: &str) -> Result<PathBuf, GitError> {
    let refuse = |why: &str| GitError::Copy {
        path: path.to_owned(),
        why: why.to_owned(),
    };
    if path.contains('\0') {
        return Err(refuse("it contains a NUL byte"));
    }
    let mut rel = PathBuf::new();
    for part in Path::new(path).components() {
        match part {
            Component::Normal(name) if name == ".git" => {
                return Err(refuse("it is in `.git`, which is not copied"));
            }
            Component::Normal(name) => rel.push(name),
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse("it contains `..`")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse(
                    "it is absolute; list it relative to the repository's root",
                ));
            }
        }
    }
    if rel.as_os_str().is_empty() {
        return Err(refuse("it names the repository's root itself"));
    }
    Ok(rel)
}

/// Copies each listed path from `root` into `dir` (the clone).
pub(crate) fn copy_all(root: &Path, dir: &Path, paths: &[String]) -> Result<(), GitError> {
    let root = root
        .canonicalize()
        .map_err(|e| GitError::io(format!("cannot resolve {}", root.display()), e))?;
    for listed in paths {
        let refuse = |why: String| GitError::Copy {
            path: listed.clone(),
            why,
        };
        let rel = check_listed(listed)?;
        let source = inside_root(&root, &root.join(&rel)).map_err(&refuse)?;
        let dest = prepare_parents(dir, &rel).map_err(&refuse)?;
        let meta = fs::metadata(&source).map_err(|e| refuse(e.to_string()))?;
        if meta.is_dir() {
            copy_dir(&root, &source, &dest).map_err(&refuse)?;
        } else if meta.is_file() {
            copy_file(&source, &dest).map_err(&refuse)?;
        } else {
            return Err(refuse("it is neither a file nor a directory".into()));
        }
    }
    Ok(())
}

/// Resolves `path` (following symlinks) and checks that it stays inside
/// `root` and out of its `.git`.
fn inside_root(root: &Path, path: &Path) -> Result<PathBuf, String> {
    let shown = path.strip_prefix(root).unwrap_or(path).display();
    let real = match path.canonicalize() {
        Ok(real) => real,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(format!("`{shown}` does not exist in {}", root.display()));
        }
        Err(e) => return Err(format!("cannot resolve `{shown}`: {e}")),
    };
    if !real.starts_with(root) {
        return Err(format!(
            "`{shown}` leads outside the repository, to {}",
            real.display()
        ));
    }
    if real.starts_with(root.join(".git")) {
        return Err(format!("`{shown}` leads into `.git`"));
    }
    Ok(real)
}

/// Creates the directories above `rel` in `dir`, refusing any that is a
/// symlink or not a directory; returns where the copy goes.
fn prepare_parents(dir: &Path, rel: &Path) -> Result<PathBuf, String> {
    let mut at = dir.to_owned();
    let mut parts = rel.components().peekable();
    while let Some(part) = parts.next() {
        at.push(part);
        if parts.peek().is_none() {
            break;
        }
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "{} is not a directory in the workspace",
                    at.display()
                ));
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                fs::create_dir(&at).map_err(|e| format!("cannot create {}: {e}", at.display()))?;
            }
            Err(e) => return Err(format!("cannot read {}: {e}", at.display())),
        }
    }
    Ok(at)
}

/// Copies a file over `dest`, which may be a file but not a symlink or a directory.
fn copy_file(src: &Path, dest: &Path) -> Result<(), String> {
    match fs::symlink_metadata(dest) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => {
            return Err(format!(
                "{} exists in the workspace and is not a plain file",
                dest.display()
            ));
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", dest.display())),
    }
    fs::copy(src, dest)
        .map(drop)
        .map_err(|e| format!("cannot copy to {}: {e}", dest.display()))
}

/// Copies a directory tree. A symlink inside it is followed when it leads
/// to a file inside the root; to a directory or out of the root, it is refused.
fn copy_dir(root: &Path, src: &Path, dest: &Path) -> Result<(), String> {
    match fs::symlink_metadata(dest) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(format!(
                "{} exists in the workspace and is not a directory",
                dest.display()
            ));
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            fs::create_dir(dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
        }
        Err(e) => return Err(format!("cannot read {}: {e}", dest.display())),
    }
    let entries = fs::read_dir(src).map_err(|e| format!("cannot list {}: {e}", src.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", src.display()))?;
        let (from, to) = (entry.path(), dest.join(entry.file_name()));
        let kind = entry
            .file_type()
            .map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        if kind.is_dir() {
            copy_dir(root, &from, &to)?;
        } else if kind.is_file() {
            copy_file(&from, &to)?;
        } else if kind.is_symlink() {
            let real = inside_root(root, &from)?;
            if !real.is_file() {
                return Err(format!(
                    "`{}` is a symlink to a directory or a special file",
                    from.strip_prefix(root).unwrap_or(&from).display()
                ));
            }
            copy_file(&real, &to)?;
        }
        // Sockets, fifos and devices are skipped: they cannot be copied.
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_paths_are_relative_and_stay_below() {
        assert_eq!(check_listed("./a/./b").unwrap(), Path::new("a/b"));
        assert_eq!(check_listed(".env").unwrap(), Path::new(".env"));
        for bad in [
            "",
            ".",
            "./",
            "../x",
            "a/../../b",
            "/etc/passwd",
            ".git/config",
            "a\0b",
        ] {
            let err = check_listed(bad).unwrap_err();
            assert!(err.to_string().contains("cannot copy"), "{bad}: {err}");
        }
    }
}
