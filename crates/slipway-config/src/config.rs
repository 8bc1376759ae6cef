//! The resolved configuration: every value present, defaults filled in.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use crate::error::{ConfigError, Location};
use crate::prices::PriceTable;

/// The roles a model can be named for under `[models]`.
pub const ROLES: [&str; 7] = [
    "default", "explorer", "planner", "reviewer", "coder", "debugger", "fixer",
];

/// The providers Slipway speaks without a `[providers.NAME]` table.
pub const BUILTIN_PROVIDERS: [&str; 3] = ["anthropic", "openai", "scripted"];

/// The wire protocols a provider may speak (`[providers.NAME] api`).
pub const APIS: [&str; 4] = ["messages", "chat", "responses", "scripted"];

/// The model every role uses unless configured otherwise.
pub const DEFAULT_MODEL: &str = "anthropic:claude-sonnet-4-5";

/// A model named as `provider:model`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    pub provider: String,
    pub model: String,
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.model)
    }
}

impl Serialize for ModelRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `slipway.toml`, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub project: Project,
    /// One entry per role in [`ROLES`].
    pub models: BTreeMap<String, ModelRef>,
    pub lanes: BTreeMap<String, Lane>,
    pub seams: Seams,
    pub gates: Gates,
    pub workspace: Workspace,
    pub promotion: Promotion,
    pub budget: Budget,
    pub context: ContextSettings,
    pub trace: TraceSettings,
    pub sandbox: SandboxSettings,
    pub guard: GuardSettings,
    pub providers: BTreeMap<String, Provider>,
    /// The shipped price table with the project's `[prices]` applied.
    pub prices: PriceTable,
    #[serde(skip)]
    pub(crate) locations: BTreeMap<String, Location>,
    #[serde(skip)]
    pub(crate) file: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub name: String,
    /// The shared spec tasks derive from, relative to the project root.
    pub spec: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lane {
    pub owns: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Seams {
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gates {
    /// The command that runs the project's tests; empty until someone sets it.
    pub tests: String,
    pub test_timeout_secs: u64,
    pub review_passes: u32,
    pub debug_tries: u32,
    pub tests_first: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Workspace {
    pub setup: String,
    pub setup_network: bool,
    pub copy: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Promotion {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_tokens: Option<u64>,
    pub max_steps: u32,
}

/// `[context]`: when a run's conversation is compacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ContextSettings {
    /// The models' context window, in tokens.
    pub window_tokens: u64,
    /// Older turns are summarized once a model call's context passes this
    /// share of the window, in percent (1 to 99).
    pub compact_at_percent: u8,
}

/// `[guard]`: what follows when a tool result holds a likely prompt
/// injection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GuardSettings {
    pub on_detect: OnDetect,
}

/// `[guard] on_detect`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDetect {
    /// The result goes to the model with a warning in its header (the default).
    #[default]
    Mark,
    /// The model gets a notice instead of the result; the trace keeps the result for a person.
    Quarantine,
    /// The run stops after the tool call.
    Stop,
}

impl OnDetect {
    /// The values `on_detect` takes.
    pub const NAMES: [&'static str; 3] = ["mark", "quarantine", "stop"];
}

/// `[sandbox]`: who commands run as, what else they see, and their limits
/// (docs/design/sandbox.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxSettings {
    /// The unprivileged user commands run as.
    pub user: String,
    /// More host directories shown read-only.
    pub read_only: Vec<String>,
    /// More environment variables passed in; never a secret-looking name.
    pub env: Vec<String>,
    /// Wall-clock seconds before a command and everything it started are killed.
    pub timeout_secs: u64,
    /// Address space of each process, in MiB.
    pub memory_mb: u64,
    /// Processes of the sandbox user.
    pub processes: u64,
    /// KiB of stdout and of stderr kept; more ends the command.
    pub output_kb: u64,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        Self {
            user: "nobody".to_owned(),
            read_only: Vec::new(),
            env: Vec::new(),
            timeout_secs: 600,
            memory_mb: 16 * 1024,
            processes: 512,
            output_kb: 1024,
        }
    }
}

/// `[trace]`: what a run's trace keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TraceSettings {
    /// Whether prompts, responses and tool input and output are stored; spans,
    /// tokens and cost are recorded either way.
    pub capture: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Provider {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The environment variable the key is read from; keys never live in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    pub api: String,
}

impl Default for Gates {
    fn default() -> Self {
        Self {
            tests: String::new(),
            test_timeout_secs: 1800,
            review_passes: 3,
            debug_tries: 3,
            tests_first: false,
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            run_usd: None,
            task_usd: None,
            run_tokens: None,
            max_steps: 200,
        }
    }
}

impl Default for ContextSettings {
    fn default() -> Self {
        Self {
            window_tokens: 200_000,
            compact_at_percent: 80,
        }
    }
}

impl Default for TraceSettings {
    fn default() -> Self {
        Self { capture: true }
    }
}

impl Provider {
    /// Returns the settings a built-in provider has when no table names it.
    #[must_use]
    pub fn builtin(name: &str) -> Option<Self> {
        let (api, key) = match name {
            "anthropic" => ("messages", Some("ANTHROPIC_API_KEY")),
            "openai" => ("chat", Some("OPENAI_API_KEY")),
            "scripted" => ("scripted", None),
            _ => return None,
        };
        Some(Self {
            base_url: None,
            api_key_env: key.map(str::to_owned),
            api: api.to_owned(),
        })
    }
}

impl Config {
    /// Returns where `key` (dotted, like `lanes.api` or `gates.tests`) was written, if it was.
    #[must_use]
    pub fn location(&self, key: &str) -> Option<Location> {
        self.locations.get(key).copied()
    }

    /// Returns the model configured for `role`, falling back to `default`.
    #[must_use]
    pub fn model_for(&self, role: &str) -> Option<&ModelRef> {
        self.models.get(role).or_else(|| self.models.get("default"))
    }

    /// Returns the file this configuration was read from.
    #[must_use]
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Checks every lane and seam glob with `check` (which returns why a glob
    /// is unusable, as words that follow the glob: "is empty") and returns
    /// the located problems.
    pub fn check_globs(&self, check: impl Fn(&str) -> Result<(), String>) -> Vec<ConfigError> {
        let lanes = self.lanes.iter().flat_map(|(name, lane)| {
            lane.owns
                .iter()
                .enumerate()
                .map(move |(i, g)| (format!("lanes.{name}.owns.{i}"), g))
        });
        let seams = self
            .seams
            .paths
            .iter()
            .enumerate()
            .map(|(i, g)| (format!("seams.paths.{i}"), g));
        lanes
            .chain(seams)
            .filter_map(|(key, glob)| {
                let reason = check(glob).err()?;
                let at = self.location(&key).unwrap_or_default();
                let shown = key.rsplit_once('.').map_or(key.as_str(), |(k, _)| k).to_owned();
                Some(
                    ConfigError::new(&self.file, at, shown, format!("glob `{glob}` {reason}"))
                        .help("fix the glob; the syntax is gitignore's (`*`, `**`, `?`, `[abc]`, a leading `/` anchors)"),
                )
            })
            .collect()
    }

    /// Returns the resolved configuration as TOML, defaults included.
    #[must_use]
    pub fn to_toml(&self) -> String {
        toml::to_string(self)
            .unwrap_or_else(|e| format!("# cannot render the configuration: {e}\n"))
    }
}
