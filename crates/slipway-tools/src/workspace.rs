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
//!
//! Writes never go through an existing file: they fill a new file beside it
//! and rename it over the old name, so the policy's decision on a name
//! reaches only that name, never another name of the same file (a hard link).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, File, OpenOptions, Permissions, PermissionsExt};

/// The start of a temporary file's name while a write is under way.
const TEMP_PREFIX: &str = ".slipway-tmp-";
/// How many random names a write tries before it gives up.
const TEMP_ATTEMPTS: usize = 16;

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

    /// Writes `bytes` as the whole content of the file `path`, atomically:
    /// into a new temporary file beside it, synced, then renamed over it.
    ///
    /// Renaming replaces the directory entry, not the file it named, so a
    /// write through a hard link (`src/api/x.rs` sharing `slipway.toml`'s
    /// inode) gives the lane's name a file of its own and leaves the other
    /// names as they were; a failed write leaves the old file whole. An
    /// existing `path` must be a regular file this process may write, and
    /// keeps its permission bits. With `create`, a missing file and its
    /// parent directories (beneath the handle) are created; without, a
    /// missing file is an error.
    pub(crate) fn replace(
        &self,
        path: &str,
        bytes: &[u8],
        create: bool,
    ) -> Result<Existed, String> {
        let (parent, name) = self.parent(path, create)?;
        let mode = writable_mode(&parent, name, path)?;
        if mode.is_none() && !create {
            return Err(format!(
                "`{path}` does not exist; list_dir shows what is there"
            ));
        }
        let (temp, file) = create_temp(&parent, path)?;
        let written = fill(&file, bytes, mode)
            .map_err(|err| format!("cannot write `{path}`: {err}; the file was left as it was"))
            .and_then(|()| {
                parent
                    .rename(&temp, &parent, name)
                    .map_err(|err| explain(&parent, name, path, &err))
            });
        if let Err(message) = written {
            // Best effort: the message about the write matters more.
            let _ = parent.remove_file(&temp);
            return Err(message);
        }
        Ok(if mode.is_some() {
            Existed::Replaced
        } else {
            Existed::New
        })
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

/// The permission bits of the existing regular file `name`, checked
/// writable by opening it for writing (without truncating it or following a
/// link); `None` when there is no such name.
fn writable_mode(parent: &Dir, name: &str, shown: &str) -> Result<Option<u32>, String> {
    refuse_special(parent, name, shown)?;
    let mut options = OpenOptions::new();
    options.write(true).follow(FollowSymlinks::No);
    match parent.open_with(name, &options) {
        Ok(file) => {
            ensure_regular(&file, shown)?;
            let meta = file
                .metadata()
                .map_err(|err| format!("cannot read `{shown}`: {err}"))?;
            // The set-id and sticky bits are dropped, as the kernel drops
            // set-id bits when another process writes the file.
            Ok(Some(meta.permissions().mode() & 0o777))
        }
        Err(err)
            if err.kind() == io::ErrorKind::NotFound && parent.symlink_metadata(name).is_err() =>
        {
            Ok(None)
        }
        Err(err) => Err(explain(parent, name, shown, &err)),
    }
}

/// Creates a new, empty temporary file in `parent` under a fresh random
/// name; never opens a file that already exists.
fn create_temp(parent: &Dir, shown: &str) -> Result<(String, File), String> {
    let mut options = OpenOptions::new();
    options
        .write(true)
        .create_new(true)
        .follow(FollowSymlinks::No);
    for _ in 0..TEMP_ATTEMPTS {
        let temp = format!("{TEMP_PREFIX}{:016x}", fastrand::u64(..));
        match parent.open_with(&temp, &options) {
            Ok(file) => return Ok((temp, file)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(format!("cannot write `{shown}`: {err}")),
        }
    }
    Err(format!(
        "cannot write `{shown}`: no free name for a temporary file beside it after \
         {TEMP_ATTEMPTS} tries; remove the `{TEMP_PREFIX}*` files there"
    ))
}

/// Writes all of `bytes` to the new file, gives it `mode`, and syncs it.
fn fill(mut file: &File, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    file.write_all(bytes)?;
    if let Some(mode) = mode {
        file.set_permissions(Permissions::from_mode(mode))?;
    }
    file.sync_all()
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
