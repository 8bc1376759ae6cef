//! What a sandboxed command is: its arguments, its clone, what it sees
//! read-only, its environment and its limits, and the mount plan that the
//! helper carries out (docs/design/sandbox.md).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use slipway_types::is_secret_name;

use crate::SandboxError;
use crate::user::User;

/// The sandbox user's home directory, a private tmpfs.
pub const SANDBOX_HOME: &str = "/home/slipway";
/// The sandbox's private temporary directory, a tmpfs.
pub const SANDBOX_TMP: &str = "/tmp";

/// Host directories shown read-only when they exist. A top-level one that
/// is a symlink on the host (`/bin` → `usr/bin`) is recreated as that symlink.
/// `/opt` is not among them: applications keep their secrets there.
const SYSTEM_DIRS: [&str; 8] = [
    "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// Directories beneath a user's home that hold credentials: no read-only
/// directory may show them.
const CREDENTIAL_DIRS: [&str; 8] = [
    ".ssh",
    ".aws",
    ".config",
    ".gnupg",
    ".docker",
    ".kube",
    ".netrc",
    ".git-credentials",
];

/// Environment variables passed through from the orchestrator, besides the
/// `LC_*` family. Every other variable is dropped.
const PASSED_ENV: [&str; 5] = ["PATH", "LANG", "LANGUAGE", "TERM", "TZ"];

/// Which network the command has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// Its own network namespace with loopback only (the default).
    Loopback,
    /// The host's network (only `[workspace] setup` with `setup_network = true`).
    Host,
}

/// Resource limits of one command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Wall-clock time before everything in the sandbox is killed.
    pub wall: Duration,
    /// CPU seconds of each process (`RLIMIT_CPU`).
    pub cpu_secs: u64,
    /// Address space of each process in bytes (`RLIMIT_AS`).
    pub memory_bytes: u64,
    /// Processes of the sandbox user (`RLIMIT_NPROC`).
    pub processes: u64,
    /// Largest file a process may write (`RLIMIT_FSIZE`).
    pub file_bytes: u64,
    /// Open files of each process (`RLIMIT_NOFILE`).
    pub open_files: u64,
    /// Bytes kept of stdout and of stderr each; more ends the command.
    pub output_bytes: usize,
    /// Size of the private `/tmp` and of `HOME`, each.
    pub tmp_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall: Duration::from_mins(10),
            cpu_secs: 600,
            memory_bytes: 16 << 30,
            processes: 512,
            file_bytes: 1 << 30,
            open_files: 4096,
            output_bytes: 1 << 20,
            tmp_bytes: 1 << 30,
        }
    }
}

/// One step of building the sandbox's root file system, at `dest` inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Mount {
    /// A bind of the host's `src`, read-only unless `writable`.
    Bind {
        src: PathBuf,
        dest: PathBuf,
        writable: bool,
    },
    /// A fresh tmpfs owned by the sandbox user.
    Tmpfs {
        dest: PathBuf,
        bytes: u64,
        mode: u32,
    },
    /// A symlink, as the host has it.
    Symlink { dest: PathBuf, target: PathBuf },
}

impl Mount {
    /// Where the step lands inside the sandbox.
    #[must_use]
    pub fn dest(&self) -> &Path {
        match self {
            Mount::Bind { dest, .. } | Mount::Tmpfs { dest, .. } | Mount::Symlink { dest, .. } => {
                dest
            }
        }
    }
}

/// A command and everything the sandbox needs to run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    /// The program and its arguments; the program is looked up in the
    /// sandbox's `PATH`.
    pub argv: Vec<String>,
    /// The clone: absolute and canonical, shown read-write at the same path,
    /// and the command's working directory.
    pub workdir: PathBuf,
    /// The mount plan, in the order it is carried out.
    pub mounts: Vec<Mount>,
    /// The command's whole environment.
    pub env: Vec<(String, String)>,
    /// Its limits.
    pub limits: Limits,
    /// Its network.
    pub network: Network,
    /// Who it runs as.
    pub user: User,
}

/// What goes into a [`Spec`].
#[derive(Debug, Clone)]
pub struct SpecBuilder {
    argv: Vec<String>,
    workdir: PathBuf,
    user: User,
    read_only: Vec<PathBuf>,
    protected: Vec<PathBuf>,
    env_names: Vec<String>,
    limits: Limits,
    network: Network,
}

impl SpecBuilder {
    /// A command `argv` in the clone `workdir`, run as `user`, with the
    /// defaults: loopback network, default limits, the system and toolchain
    /// directories read-only.
    #[must_use]
    pub fn new(argv: Vec<String>, workdir: impl Into<PathBuf>, user: User) -> Self {
        SpecBuilder {
            argv,
            workdir: workdir.into(),
            user,
            read_only: Vec::new(),
            protected: Vec::new(),
            env_names: Vec::new(),
            limits: Limits::default(),
            network: Network::Loopback,
        }
    }

    /// Replaces the command.
    #[must_use]
    pub fn argv(mut self, argv: Vec<String>) -> Self {
        self.argv = argv;
        self
    }

    /// Shows the host's `path` read-only too (`[sandbox] read_only`).
    #[must_use]
    pub fn read_only(mut self, paths: impl IntoIterator<Item = PathBuf>) -> Self {
        self.read_only.extend(paths);
        self
    }

    /// Refuses to show these host paths, or anything that contains them,
    /// through a read-only directory: the main repository and its
    /// `.slipway/`, for example.
    #[must_use]
    pub fn protect(mut self, paths: impl IntoIterator<Item = PathBuf>) -> Self {
        self.protected.extend(paths);
        self
    }

    /// Passes these environment variables through too (`[sandbox] env`).
    #[must_use]
    pub fn pass_env(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.env_names.extend(names);
        self
    }

    /// Sets the limits.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the network.
    #[must_use]
    pub fn network(mut self, network: Network) -> Self {
        self.network = network;
        self
    }

    /// Resolves everything against the host as the orchestrator sees it:
    /// its environment, its home directory and which directories exist.
    pub fn build(self) -> Result<Spec, SandboxError> {
        let host_env: BTreeMap<String, String> = std::env::vars().collect();
        self.build_with(&host_env)
    }

    /// [`SpecBuilder::build`] with the host environment given.
    pub fn build_with(self, host_env: &BTreeMap<String, String>) -> Result<Spec, SandboxError> {
        if self.argv.is_empty() || self.argv[0].is_empty() {
            return Err(SandboxError::BadSpec(
                "no command given: name a program to run".into(),
            ));
        }
        if let Some(arg) = self.argv.iter().find(|a| a.contains('\0')) {
            return Err(SandboxError::BadSpec(format!(
                "the argument {arg:?} contains a NUL byte, which no program can receive"
            )));
        }
        if let Some(name) = self.env_names.iter().find(|n| is_secret_name(n)) {
            return Err(SandboxError::BadSpec(format!(
                "environment variable `{name}` looks like a secret and is never passed into \
                 the sandbox; remove it from `[sandbox] env`"
            )));
        }
        let workdir = canonical_dir(&self.workdir, "the clone")?;
        if workdir == Path::new("/") {
            return Err(SandboxError::BadSpec(
                "the clone cannot be `/`: give the sandbox a clone of its own".into(),
            ));
        }
        let mut plan = Plan::default();
        for dir in SYSTEM_DIRS {
            plan.host_dir(Path::new(dir));
        }
        let toolchains = Toolchains::find(host_env);
        let mut protected: Vec<PathBuf> = self
            .protected
            .iter()
            .filter_map(|p| p.canonicalize().ok())
            .collect();
        // The orchestrator's home as given and as resolved; root's when unset.
        let home = host_env
            .get("HOME")
            .map_or_else(|| PathBuf::from("/root"), PathBuf::from);
        for home in [home.clone(), home.canonicalize().unwrap_or(home)] {
            protected.extend(CREDENTIAL_DIRS.iter().map(|d| home.join(d)));
        }
        for dir in toolchains.dirs.iter().chain(&self.read_only) {
            let dir = canonical_dir(dir, "a read-only directory")?;
            if let Some(secret) = protected
                .iter()
                .find(|p| p.starts_with(&dir) || dir.starts_with(p))
            {
                return Err(SandboxError::BadSpec(format!(
                    "the read-only directory `{}` would show `{}` to the sandbox; name a \
                     directory that neither contains it nor lies inside it",
                    dir.display(),
                    secret.display()
                )));
            }
            plan.read_only(dir.clone(), dir);
        }
        let mut env = scrub_env(host_env, &self.env_names, &plan);
        env.extend(toolchains.env);
        env.extend([
            ("HOME".to_owned(), SANDBOX_HOME.to_owned()),
            ("USER".to_owned(), self.user.name.clone()),
            ("LOGNAME".to_owned(), self.user.name.clone()),
            ("TMPDIR".to_owned(), SANDBOX_TMP.to_owned()),
            (
                "CARGO_TARGET_DIR".to_owned(),
                workdir.join("target").display().to_string(),
            ),
        ]);
        env.sort();
        env.dedup_by(|later, earlier| later.0 == earlier.0);
        let bytes = self.limits.tmp_bytes;
        plan.mounts.push(Mount::Tmpfs {
            dest: SANDBOX_TMP.into(),
            bytes,
            mode: 0o1777,
        });
        plan.mounts.push(Mount::Tmpfs {
            dest: SANDBOX_HOME.into(),
            bytes,
            mode: 0o700,
        });
        plan.mounts.push(Mount::Bind {
            src: workdir.clone(),
            dest: workdir.clone(),
            writable: true,
        });
        let mut mounts = plan.mounts;
        mounts.sort_by_key(|m| m.dest().components().count());
        Ok(Spec {
            argv: self.argv,
            workdir,
            mounts,
            env,
            limits: self.limits,
            network: self.network,
            user: self.user,
        })
    }
}

impl Spec {
    /// The directories the command may write beneath: its clone, `/tmp`
    /// and `HOME`. The mounts and the Landlock rules are both built from
    /// this list.
    #[must_use]
    pub fn writable(&self) -> Vec<PathBuf> {
        self.mounts
            .iter()
            .filter_map(|m| match m {
                Mount::Bind {
                    dest,
                    writable: true,
                    ..
                }
                | Mount::Tmpfs { dest, .. } => Some(dest.clone()),
                Mount::Bind { .. } | Mount::Symlink { .. } => None,
            })
            .collect()
    }

    /// Whether the sandbox lets the command write `path` (absolute, as the
    /// sandbox sees it). A path with `..` or `.` components is judged
    /// after they are resolved lexically; a relative path is refused.
    #[must_use]
    pub fn allows_write(&self, path: &Path) -> bool {
        let Some(path) = lexical(path) else {
            return false;
        };
        self.writable().iter().any(|root| path.starts_with(root))
    }
}

/// Resolves `.` and `..` in an absolute path without touching the disk;
/// `None` for a relative path.
fn lexical(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::RootDir => out.push("/"),
            Component::Normal(name) => out.push(name),
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            Component::Prefix(_) => return None,
        }
    }
    path.is_absolute().then_some(out)
}

fn canonical_dir(path: &Path, what: &str) -> Result<PathBuf, SandboxError> {
    let canonical = path.canonicalize().map_err(|err| {
        SandboxError::BadSpec(format!("{what} `{}` cannot be used: {err}", path.display()))
    })?;
    if !canonical.is_dir() {
        return Err(SandboxError::BadSpec(format!(
            "{what} `{}` is not a directory",
            path.display()
        )));
    }
    Ok(canonical)
}

/// The read-only part of the mount plan, without duplicates.
#[derive(Default)]
struct Plan {
    mounts: Vec<Mount>,
}

impl Plan {
    /// A top-level host directory: bound when it is a directory, recreated
    /// when it is a symlink, left out when missing.
    fn host_dir(&mut self, dir: &Path) {
        match std::fs::symlink_metadata(dir) {
            Ok(meta) if meta.file_type().is_symlink() => {
                if let Ok(target) = std::fs::read_link(dir) {
                    self.mounts.push(Mount::Symlink {
                        dest: dir.to_owned(),
                        target,
                    });
                }
            }
            Ok(meta) if meta.is_dir() => self.read_only(dir.to_owned(), dir.to_owned()),
            _ => {}
        }
    }

    /// A read-only bind, unless a bind already shows it.
    fn read_only(&mut self, src: PathBuf, dest: PathBuf) {
        if self.shows(&dest) {
            return;
        }
        self.mounts.push(Mount::Bind {
            src,
            dest,
            writable: false,
        });
    }

    /// Whether `path` is visible through a read-only bind or a symlink.
    fn shows(&self, path: &Path) -> bool {
        self.mounts.iter().any(|m| match m {
            Mount::Bind { dest, .. } => path.starts_with(dest),
            Mount::Symlink { dest, target } => {
                path.starts_with(dest) || path.starts_with(Path::new("/").join(target))
            }
            Mount::Tmpfs { .. } => false,
        })
    }
}

/// Toolchains installed under a home directory, which the sandbox shows
/// read-only at the same path, with the variables that find them.
struct Toolchains {
    dirs: Vec<PathBuf>,
    env: Vec<(String, String)>,
}

impl Toolchains {
    fn find(host_env: &BTreeMap<String, String>) -> Self {
        let home = host_env.get("HOME").map(PathBuf::from);
        let var_or_home = |var: &str, sub: &str| {
            host_env
                .get(var)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(sub)))
                .filter(|p| p.is_dir())
        };
        let mut found = Toolchains {
            dirs: Vec::new(),
            env: Vec::new(),
        };
        if let Some(rustup) = var_or_home("RUSTUP_HOME", ".rustup") {
            found.set("RUSTUP_HOME", &rustup);
            found.dirs.push(rustup);
        }
        if let Some(cargo) = var_or_home("CARGO_HOME", ".cargo") {
            // The binaries and the downloaded crates only: never its
            // credentials or configuration.
            for sub in ["bin", "registry", "git"] {
                if cargo.join(sub).is_dir() {
                    found.dirs.push(cargo.join(sub));
                }
            }
            found.set("CARGO_HOME", &cargo);
        }
        if let Some(pyenv) = var_or_home("PYENV_ROOT", ".pyenv") {
            found.set("PYENV_ROOT", &pyenv);
            found.dirs.push(pyenv);
        }
        found
    }

    fn set(&mut self, var: &str, path: &Path) {
        self.env.push((var.to_owned(), path.display().to_string()));
    }
}

/// The host variables the command keeps: the allow-list and `extra`, with
/// `PATH` cut to the entries the sandbox shows.
fn scrub_env(
    host_env: &BTreeMap<String, String>,
    extra: &[String],
    plan: &Plan,
) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for (name, value) in host_env {
        let passed = PASSED_ENV.contains(&name.as_str())
            || name.starts_with("LC_")
            || extra.iter().any(|e| e == name);
        if !passed || is_secret_name(name) {
            continue;
        }
        if name == "PATH" {
            let kept: Vec<&str> = value
                .split(':')
                .filter(|entry| entry.starts_with('/') && plan.shows(Path::new(entry)))
                .collect();
            env.push((name.clone(), kept.join(":")));
        } else {
            env.push((name.clone(), value.clone()));
        }
    }
    if !env.iter().any(|(name, _)| name == "PATH") {
        env.push(("PATH".to_owned(), "/usr/local/bin:/usr/bin:/bin".to_owned()));
    }
    env
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
