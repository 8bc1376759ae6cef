//! The clone's root as a directory handle: the only way the tools reach a
//! file.
//!
//! Paths are opened one component at a time beneath the handle, and no
//! component is ever followed if it is a symbolic link: not a link out of the
//! clone (cap-std would refuse it anyway), and not a link inside it either,
//! because `src/api/link -> ../../slipway.toml` would let a path the policy
//! gave to a lane reach a control file. Each component is opened with
//! `O_NOFOLLOW` semantics, so the check is the open itself: there is no gap
//! between checking a path and using it.

use std::io;
use std::path::{Path, PathBuf};

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, File, OpenOptions};

/// The workspace directory could not be opened.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot open the workspace `{}`: {source}; check that the task's clone exists \
     and is a readable directory",
    path.display()
)]
pub struct WorkspaceError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// A task's clone, opened as a directory handle.
#[derive(Debug)]
pub struct Workspace {
    root: Dir,
}

/// What a write found at its path before writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existed {
    New,
    Replaced,
}

impl Workspace {
    /// Opens the directory at `root` (the one use of ambient authority in
    /// this crate); every later access goes through the handle.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, WorkspaceError> {
        let root = root.as_ref();
        Dir::open_ambient_dir(root, ambient_authority())
            .map(Self::from_dir)
            .map_err(|source| WorkspaceError {
                path: root.to_owned(),
                source,
            })
    }

    /// Wraps a directory handle the caller already holds.
    #[must_use]
    pub fn from_dir(root: Dir) -> Self {
        Workspace { root }
    }

    /// Opens the directory `path` ("" is the root).
    pub(crate) fn dir(&self, path: &str) -> Result<Dir, String> {
        self.walk(&segments(path), false)
    }

    /// Opens the regular file `path` for reading.
    pub(crate) fn open_read(&self, path: &str) -> Result<File, String> {
        let (parent, name) = self.parent(path, false)?;
        open_child(&parent, name, path)
    }

    /// Returns whether `path` ("" is the root) is a directory, without
    /// following a link.
    pub(crate) fn is_dir(&self, path: &str) -> Result<bool, String> {
        if segments(path).is_empty() {
            return Ok(true);
        }
        let (parent, name) = self.parent(path, false)?;
        parent
            .symlink_metadata(name)
            .map(|meta| meta.is_dir())
            .map_err(|err| explain(&parent, name, path, &err))
    }

    /// Opens the existing regular file `path` for reading and writing.
    pub(crate) fn open_edit(&self, path: &str) -> Result<File, String> {
        let (parent, name) = self.parent(path, false)?;
        refuse_special(&parent, name, path)?;
        let mut options = OpenOptions::new();
        options.read(true).write(true).follow(FollowSymlinks::No);
        let file = parent
            .open_with(name, &options)
            .map_err(|err| explain(&parent, name, path, &err))?;
        ensure_regular(&file, path)?;
        Ok(file)
    }

    /// Opens `path` for writing, truncated, creating it and its parent
    /// directories (beneath the handle) as needed.
    pub(crate) fn open_write(&self, path: &str) -> Result<(File, Existed), String> {
        let (parent, name) = self.parent(path, true)?;
        refuse_special(&parent, name, path)?;
        let existed = if parent.symlink_metadata(name).is_ok() {
            Existed::Replaced
        } else {
            Existed::New
        };
        let mut options = OpenOptions::new();
        options
            .write(true)
            .create(true)
            .truncate(true)
            .follow(FollowSymlinks::No);
        let file = parent
            .open_with(name, &options)
            .map_err(|err| explain(&parent, name, path, &err))?;
        ensure_regular(&file, path)?;
        Ok((file, existed))
    }

    /// Opens the directory holding `path`'s last component.
    fn parent<'p>(&self, path: &'p str, create: bool) -> Result<(Dir, &'p str), String> {
        let mut parts = segments(path);
        let Some(name) = parts.pop() else {
            return Err("the repository root is a directory, not a file".to_owned());
        };
        Ok((self.walk(&parts, create)?, name))
    }

    /// Opens each directory of `parts` in turn, never following a link.
    fn walk(&self, parts: &[&str], create: bool) -> Result<Dir, String> {
        let mut dir = self
            .root
            .try_clone()
            .map_err(|err| format!("cannot use the workspace: {err}"))?;
        for (depth, part) in parts.iter().enumerate() {
            let shown = parts[..=depth].join("/");
            dir = match dir.open_dir_nofollow(part) {
                Ok(next) => next,
                Err(err) if create && err.kind() == io::ErrorKind::NotFound => dir
                    .create_dir(part)
                    .and_then(|()| dir.open_dir_nofollow(part))
                    .map_err(|err| explain(&dir, part, &shown, &err))?,
                Err(err) => return Err(explain(&dir, part, &shown, &err)),
            };
        }
        Ok(dir)
    }
}

/// The components of a path the policy accepted; none for the root.
pub(crate) fn segments(path: &str) -> Vec<&str> {
    let path = slipway_policy::normalize_path(path);
    if path.is_empty() || path == "." {
        Vec::new()
    } else {
        path.split('/').collect()
    }
}

/// Opens the regular file `name` in `parent` for reading, without
/// following a link; `shown` is its path for messages.
pub(crate) fn open_child(parent: &Dir, name: &str, shown: &str) -> Result<File, String> {
    refuse_special(parent, name, shown)?;
    let mut options = OpenOptions::new();
    options.read(true).follow(FollowSymlinks::No);
    let file = parent
        .open_with(name, &options)
        .map_err(|err| explain(parent, name, shown, &err))?;
    ensure_regular(&file, shown)?;
    Ok(file)
}

/// Refuses a FIFO, socket or device before opening it: opening a FIFO would
/// block. (A swap between this look and the open can only make the open
/// block or fail; `ensure_regular` still checks what was opened.)
fn refuse_special(parent: &Dir, name: &str, shown: &str) -> Result<(), String> {
    match parent.symlink_metadata(name) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() && !meta.file_type().is_symlink() => Err(
            format!("`{shown}` is a special file (a pipe, socket or device), not a regular file"),
        ),
        _ => Ok(()),
    }
}

fn ensure_regular(file: &File, shown: &str) -> Result<(), String> {
    let meta = file
        .metadata()
        .map_err(|err| format!("cannot read `{shown}`: {err}"))?;
    if meta.is_dir() {
        Err(format!(
            "`{shown}` is a directory, not a file; use list_dir to see what it holds"
        ))
    } else if meta.is_file() {
        Ok(())
    } else {
        Err(format!("`{shown}` is not a regular file"))
    }
}

/// Turns a failed open of `name` in `parent` into a sentence for the model.
pub(crate) fn explain(parent: &Dir, name: &str, shown: &str, err: &io::Error) -> String {
    if let Ok(meta) = parent.symlink_metadata(name)
        && meta.file_type().is_symlink()
    {
        let target = parent
            .read_link_contents(name)
            .map(|target| target.display().to_string())
            .unwrap_or_default();
        return format!(
            "`{shown}` is a symbolic link to `{target}`, and the file tools never follow \
             links; use the path of the file itself"
        );
    }
    match err.kind() {
        io::ErrorKind::NotFound => {
            format!("`{shown}` does not exist; list_dir shows what is there")
        }
        io::ErrorKind::NotADirectory => {
            format!("`{shown}` is a file, not a directory, so no path continues beneath it")
        }
        io::ErrorKind::IsADirectory => {
            format!("`{shown}` is a directory, not a file; use list_dir to see what it holds")
        }
        io::ErrorKind::InvalidFilename => {
            format!("`{shown}` is not a usable file name here: {err}")
        }
        io::ErrorKind::PermissionDenied => format!("permission denied on `{shown}`"),
        _ => format!("cannot open `{shown}`: {err}"),
    }
}
