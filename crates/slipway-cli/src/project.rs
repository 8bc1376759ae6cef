//! Finding the project, reading its configuration and opening its store — once per command.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use slipway_config::{CONFIG_FILE, Config, LoadError};
use slipway_policy::{LaneSpec, Ownership};
use slipway_store::{OpenOptions, Store, StoreLocation};

use crate::commands::GlobalArgs;
use crate::git;

/// The directory of private state at the project root.
pub(crate) const STATE_DIR: &str = ".slipway";

/// The embedded database inside [`STATE_DIR`].
pub(crate) const DB_FILE: &str = "slipway.db";

/// Returns the root of the git working tree the command runs in.
pub(crate) fn root(global: &GlobalArgs) -> Result<PathBuf> {
    let dir = working_dir(global)?;
    if !dir.is_dir() {
        bail!(
            "{} is not a directory: pass an existing project directory to -C",
            dir.display()
        );
    }
    let root = git::toplevel(&dir)?;
    // A task's clone lives under `.slipway/work/`; its files are the agent's,
    // so its configuration must never be taken for the project's.
    if root.components().any(|c| c.as_os_str() == STATE_DIR) {
        bail!(
            "{} is inside Slipway's private state (an agent's workspace): run slipway from the project root instead",
            root.display()
        );
    }
    Ok(root)
}

/// Returns the directory the command runs in: `-C DIR`, else the current one.
fn working_dir(global: &GlobalArgs) -> Result<PathBuf> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let dir = match &global.project {
        Some(dir) => cwd.join(dir),
        None => cwd,
    };
    // The directory, not a path given later, is resolved: git reports the root resolved too.
    Ok(dir.canonicalize().unwrap_or(dir))
}

/// Returns where the store lives: `--database-url` / `SLIPWAY_DATABASE_URL`, else SQLite under `.slipway/`.
pub(crate) fn store_location(root: &Path, global: &GlobalArgs) -> StoreLocation {
    match global.database_url.as_deref().map(str::trim) {
        Some(url) if !url.is_empty() => StoreLocation::Postgres(url.to_owned()),
        _ => StoreLocation::Sqlite(root.join(STATE_DIR).join(DB_FILE)),
    }
}

/// A project with a valid configuration.
pub(crate) struct Project {
    pub(crate) root: PathBuf,
    pub(crate) config: Config,
    location: StoreLocation,
    /// Where relative paths on the command line start from.
    cwd: PathBuf,
}

impl Project {
    /// Finds the project and reads its configuration.
    pub(crate) fn open(global: &GlobalArgs) -> Result<Self> {
        let root = root(global)?;
        let file = root.join(CONFIG_FILE);
        if !file.exists() {
            bail!(
                "no {CONFIG_FILE} in {}: run `slipway init` there first",
                root.display()
            );
        }
        let config = load_config(&file)?;
        let location = store_location(&root, global);
        let cwd = working_dir(global)?;
        Ok(Self {
            root,
            config,
            location,
            cwd,
        })
    }

    /// Opens the project's store, applying migrations.
    pub(crate) async fn store(&self) -> Result<Box<dyn Store>> {
        if let StoreLocation::Sqlite(path) = &self.location {
            let dir = path.parent().unwrap_or(&self.root);
            if !dir.is_dir() {
                bail!(
                    "no {STATE_DIR}/ directory in {}: run `slipway init` to create it",
                    self.root.display()
                );
            }
        }
        // Only `init` creates the database: a lost one is reported, not silently replaced.
        let options = OpenOptions {
            create: false,
            ..OpenOptions::default()
        };
        slipway_store::open_with(&self.location, &options)
            .await
            .with_context(|| format!("cannot open the store at {}", self.location.describe()))
    }

    /// Returns the compiled lane and seam ownership.
    pub(crate) fn ownership(&self) -> Result<Ownership> {
        ownership(&self.config)
    }

    /// Returns `path` resolved against the working directory (`-C DIR` or the current one).
    pub(crate) fn resolve(&self, path: &Path) -> PathBuf {
        self.cwd.join(path)
    }

    /// Returns `path` (absolute, or relative to the working directory) relative to the root.
    pub(crate) fn relative(&self, path: &Path) -> Result<String> {
        // Lexical only: a symlink is answered for as the path it is, not its target.
        let absolute = normalize(&self.cwd.join(path));
        let root = normalize(&self.root);
        let rel = absolute.strip_prefix(&root).map_err(|_| {
            anyhow!(
                "{} is outside the project at {}",
                path.display(),
                self.root.display()
            )
        })?;
        let text = rel.to_string_lossy().replace('\\', "/");
        if text.is_empty() {
            bail!(
                "{} is the project root itself: name a file or directory inside it",
                path.display()
            );
        }
        Ok(text)
    }
}

/// Reads the configuration and checks its globs with the policy's matcher.
pub(crate) fn load_config(file: &Path) -> Result<Config> {
    let config = slipway_config::load(file).map_err(|e| match e {
        LoadError::Invalid(_) => anyhow!("{e}").context(format!("{} is not valid", file.display())),
        LoadError::Read { .. } => anyhow!("{e}"),
    })?;
    let problems = config.check_globs(slipway_policy::validate_glob);
    if !problems.is_empty() {
        return Err(anyhow!("{}", LoadError::Invalid(problems))
            .context(format!("{} is not valid", file.display())));
    }
    Ok(config)
}

/// Compiles the configuration's lanes and seams.
pub(crate) fn ownership(config: &Config) -> Result<Ownership> {
    let lanes: Vec<LaneSpec> = config
        .lanes
        .iter()
        .map(|(name, lane)| LaneSpec {
            name: name.clone(),
            owns: lane.owns.clone(),
        })
        .collect();
    Ownership::new(&lanes, &config.seams.paths).map_err(|e| anyhow!("{e}"))
}

/// Returns who a person at this terminal is, for the event log.
pub(crate) fn actor(root: &Path) -> String {
    let name = git::user_name(root)
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    format!("human:{name}")
}

/// Resolves `.` and `..` lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
