//! Giving a fresh clone to the sandbox user, so that the command can write
//! it and nothing else of the host's.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use crate::SandboxError;
use crate::user::User;

/// Makes `user` the owner of `dir` and everything beneath it, without
/// following symlinks. Refuses a file with more than one hard link: it may
/// be shared with a file outside the clone (a clone made with hard links to
/// the main repository's objects), whose owner would change too. Make
/// clones with `git clone --no-local`.
pub fn hand_over(dir: &Path, user: &User) -> Result<(), SandboxError> {
    let mut stack = vec![dir.to_owned()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| SandboxError::Io(format!("cannot read `{}`", path.display()), e))?;
        if !meta.is_dir() && meta.nlink() > 1 {
            return Err(SandboxError::BadSpec(format!(
                "`{}` has {} hard links and may be shared with a file outside the clone; make \
                 the clone with `git clone --no-local`",
                path.display(),
                meta.nlink()
            )));
        }
        std::os::unix::fs::lchown(&path, Some(user.uid), Some(user.gid)).map_err(|e| {
            SandboxError::Io(
                format!("cannot give `{}` to the sandbox user", path.display()),
                e,
            )
        })?;
        if meta.is_dir() {
            let entries = std::fs::read_dir(&path)
                .map_err(|e| SandboxError::Io(format!("cannot list `{}`", path.display()), e))?;
            for entry in entries {
                let entry = entry.map_err(|e| {
                    SandboxError::Io(format!("cannot list `{}`", path.display()), e)
                })?;
                stack.push(entry.path());
            }
        }
    }
    Ok(())
}
