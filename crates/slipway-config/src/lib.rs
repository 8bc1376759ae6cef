//! Slipway's configuration: the `slipway.toml` schema, its validation with
//! located errors (file, line, column, key, and the fix), the commented
//! template `slipway init` writes, the registry of environment variables, and
//! the price table (`prices.toml`, embedded) that turns tokens into cost.
//!
//! Glob syntax is checked by the caller through [`Config::check_globs`], with
//! the matcher `slipway-policy` owns, so both agree on what parses.

mod config;
mod env;
mod error;
mod load;
mod prices;
mod raw;
mod secrets;
mod template;

pub use config::{
    APIS, BUILTIN_PROVIDERS, Budget, Config, ContextSettings, DEFAULT_MODEL, Gates, GuardSettings,
    Lane, ModelRef, OnDetect, Project, Promotion, Provider, ROLES, SandboxSettings, Seams,
    TraceSettings, Workspace,
};
pub use env::{DATABASE_URL, ENV_VARS, EnvVar};
pub use error::{ConfigError, LoadError, Location};
pub use load::{CONFIG_FILE, load, parse};
pub use prices::{BUILTIN_PRICES, Price, PriceTable};
pub use secrets::{SecretMatch, find_secret};
pub use template::template;
