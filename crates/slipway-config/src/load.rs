//! Reading and validating `slipway.toml`.

use std::collections::BTreeMap;
use std::ops::{Range, RangeInclusive};
use std::path::Path;

use toml::Spanned;

use crate::config::{
    APIS, BUILTIN_PROVIDERS, Budget, Config, ContextSettings, DEFAULT_MODEL, Gates, GuardSettings,
    Lane, ModelRef, OnDetect, Project, Promotion, Provider, ROLES, SandboxSettings, Seams,
    TraceSettings, Workspace,
};
use crate::error::{ConfigError, LoadError, Location};
use crate::raw::{RawBudget, RawConfig, RawContext, RawGuard, RawProvider, RawSandbox};
use crate::secrets::find_secret;

/// The configuration file's name at the project root.
pub const CONFIG_FILE: &str = "slipway.toml";

/// The context windows `[context] window_tokens` accepts, in tokens.
const WINDOW_TOKENS: RangeInclusive<i64> = 1_000..=100_000_000;

/// The shares of the window `[context] compact_at_percent` accepts.
const COMPACT_AT_PERCENT: RangeInclusive<i64> = 1..=99;

/// Reads and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    parse(&text, path)
}

/// Validates `text` as the contents of the configuration file at `path`.
pub fn parse(text: &str, path: &Path) -> Result<Config, LoadError> {
    let mut v = Validator::new(text, path);
    if let Some(secret) = find_secret(text) {
        let at = Location::of_offset(text, secret.offset);
        return Err(LoadError::Invalid(vec![
            ConfigError::new(path, at, key_at(text, secret.offset), format!("this looks like {}", secret.kind))
                .help(
                    "keys never live in slipway.toml, which is committed: remove it, revoke it if it was \
                     pushed, and put it in the environment (ANTHROPIC_API_KEY, OPENAI_API_KEY, or the \
                     variable named by `[providers.NAME] api_key_env`)",
                ),
        ]));
    }
    let raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => return Err(LoadError::Invalid(vec![v.syntax_error(&e)])),
    };
    let config = v.resolve(raw);
    v.finish()?;
    Ok(config)
}

/// Collects every problem of one file, with where each key was written.
pub(crate) struct Validator<'a> {
    text: &'a str,
    path: &'a Path,
    errors: Vec<ConfigError>,
    locations: BTreeMap<String, Location>,
}

impl<'a> Validator<'a> {
    pub(crate) fn new(text: &'a str, path: &'a Path) -> Self {
        Self {
            text,
            path,
            errors: Vec::new(),
            locations: BTreeMap::new(),
        }
    }
}

impl Validator<'_> {
    /// Returns the problems found, in file order, if any.
    pub(crate) fn finish(&mut self) -> Result<(), LoadError> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let mut errors = std::mem::take(&mut self.errors);
        errors.sort_by_key(|e| (e.at.line, e.at.column));
        Err(LoadError::Invalid(errors))
    }

    /// Adds the problems of another file (the shipped price table).
    pub(crate) fn extend(&mut self, err: LoadError) {
        match err {
            LoadError::Invalid(errors) => self.errors.extend(errors),
            LoadError::Read { path, detail } => self.errors.push(ConfigError::new(
                &path,
                Location::default(),
                "",
                format!("cannot read it: {detail}"),
            )),
        }
    }

    fn at(&self, span: &Range<usize>) -> Location {
        Location::of_offset(self.text, span.start)
    }

    pub(crate) fn error(
        &mut self,
        span: &Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
        help: &str,
    ) {
        let e = ConfigError::new(self.path, self.at(span), key, message);
        self.errors
            .push(if help.is_empty() { e } else { e.help(help) });
    }

    pub(crate) fn remember(&mut self, key: String, span: &Range<usize>) {
        let at = self.at(span);
        self.locations.insert(key, at);
    }

    pub(crate) fn syntax_error(&self, e: &toml::de::Error) -> ConfigError {
        let offset = e.span().map_or(0, |s| s.start);
        let at = Location::of_offset(self.text, offset);
        let message = e.message().trim().to_owned();
        let table = key_at(self.text, offset);
        if let Some((field, expected)) = unknown_field(&message) {
            let key = if table.is_empty() {
                field.clone()
            } else {
                format!("{table}.{field}")
            };
            let error = ConfigError::new(self.path, at, key, format!("unknown key `{field}`"));
            let lowered = field.to_ascii_lowercase();
            if ["key", "token", "secret", "password"]
                .iter()
                .any(|w| lowered.contains(w))
            {
                return error.help(
                    "keys never live in slipway.toml: put the key in the environment and, for a \
                     provider, name the variable with `api_key_env = \"VAR\"`",
                );
            }
            return match nearest(&field, &expected) {
                Some(near) => error.help(format!("did you mean `{near}`?")),
                None if expected.is_empty() => error.help("this table takes no keys"),
                None => error.help(format!("known keys here: {}", expected.join(", "))),
            };
        }
        ConfigError::new(self.path, at, table, message)
            .help("fix the TOML at this place; `slipway init` writes a commented example")
    }

    fn resolve(&mut self, raw: RawConfig) -> Config {
        let project = Project {
            name: raw
                .project
                .name
                .unwrap_or_else(|| default_project_name(self.path)),
            spec: raw.project.spec.map_or_else(
                || "SPEC.md".to_owned(),
                |spec| self.repo_path(spec, "project.spec"),
            ),
        };
        let providers = self.providers(raw.providers);
        let models = self.models(raw.models, &providers);
        let prices = self.prices(raw.prices, &providers);
        let lanes = self.lanes(raw.lanes);
        let seams = Seams {
            paths: raw
                .seams
                .paths
                .into_iter()
                .enumerate()
                .map(|(i, glob)| {
                    self.remember(format!("seams.paths.{i}"), &glob.span());
                    glob.into_inner()
                })
                .collect(),
        };
        let defaults = Gates::default();
        let gates = Gates {
            tests: raw.gates.tests.unwrap_or_default(),
            test_timeout_secs: self.limit(
                raw.gates.test_timeout_secs,
                "gates.test_timeout_secs",
                1,
                defaults.test_timeout_secs,
            ),
            review_passes: self.limit(
                raw.gates.review_passes,
                "gates.review_passes",
                1,
                defaults.review_passes,
            ),
            debug_tries: self.limit(
                raw.gates.debug_tries,
                "gates.debug_tries",
                0,
                defaults.debug_tries,
            ),
            tests_first: raw.gates.tests_first.unwrap_or(defaults.tests_first),
        };
        let budget = self.budget(raw.budget);
        let context = self.context(raw.context);
        let trace = TraceSettings {
            capture: raw
                .trace
                .capture
                .unwrap_or(TraceSettings::default().capture),
        };
        let sandbox = self.sandbox(raw.sandbox);
        let guard = self.guard(raw.guard);
        Config {
            project,
            sandbox,
            guard,
            models,
            lanes,
            seams,
            gates,
            workspace: Workspace {
                setup: raw.workspace.setup.unwrap_or_default(),
                setup_network: raw.workspace.setup_network.unwrap_or(false),
                copy: raw
                    .workspace
                    .copy
                    .into_iter()
                    .map(|path| self.repo_path(path, "workspace.copy"))
                    .collect(),
            },
            promotion: Promotion {
                remote: raw.promotion.remote.filter(|r| !r.trim().is_empty()),
            },
            budget,
            context,
            trace,
            providers,
            prices,
            locations: std::mem::take(&mut self.locations),
            file: self.path.to_path_buf(),
        }
    }

    fn providers(
        &mut self,
        raw: BTreeMap<Spanned<String>, RawProvider>,
    ) -> BTreeMap<String, Provider> {
        let mut providers: BTreeMap<String, Provider> = BUILTIN_PROVIDERS
            .iter()
            .filter_map(|name| Some(((*name).to_owned(), Provider::builtin(name)?)))
            .collect();
        for (name, table) in raw {
            let key = format!("providers.{}", name.get_ref());
            self.remember(key.clone(), &name.span());
            let base = Provider::builtin(name.get_ref()).unwrap_or(Provider {
                base_url: None,
                api_key_env: None,
                api: "chat".to_owned(),
            });
            let api = match table.api {
                Some(api) if !APIS.contains(&api.get_ref().as_str()) => {
                    self.error(&api.span(), format!("{key}.api"), format!("unknown api `{}`", api.get_ref()),
                        "use `messages` (Anthropic), `chat` (OpenAI Chat Completions) , `responses` (OpenAI Responses) or `scripted` (the rehearsal model)");
                    base.api
                }
                Some(api) => api.into_inner(),
                None => base.api,
            };
            let api_key_env = match table.api_key_env {
                Some(var) if !is_key_var_name(var.get_ref()) => {
                    self.error(&var.span(), format!("{key}.api_key_env"),
                        format!("`{}` is not the name of an API key variable", var.get_ref()),
                        "name the environment variable that holds the key, ending in `_API_KEY` \
                         (like `MY_PROVIDER_API_KEY`); other variables are never sent to a provider");
                    base.api_key_env
                }
                Some(var) => Some(var.into_inner()),
                None => base.api_key_env,
            };
            providers.insert(
                name.into_inner(),
                Provider {
                    base_url: table.base_url.or(base.base_url),
                    api_key_env,
                    api,
                },
            );
        }
        providers
    }

    fn models(
        &mut self,
        raw: BTreeMap<Spanned<String>, Spanned<String>>,
        providers: &BTreeMap<String, Provider>,
    ) -> BTreeMap<String, ModelRef> {
        let mut given = BTreeMap::new();
        for (role, value) in raw {
            let key = format!("models.{}", role.get_ref());
            if !ROLES.contains(&role.get_ref().as_str()) {
                let help = nearest(role.get_ref(), &ROLES.map(str::to_owned)).map_or_else(
                    || format!("known roles: {}", ROLES.join(", ")),
                    |n| format!("did you mean `{n}`?"),
                );
                self.error(
                    &role.span(),
                    key,
                    format!("unknown role `{}`", role.get_ref()),
                    &help,
                );
                continue;
            }
            self.remember(key.clone(), &value.span());
            match value.get_ref().split_once(':') {
                Some((provider, model)) if !provider.is_empty() && !model.is_empty() => {
                    if providers.contains_key(provider) {
                        given.insert(
                            role.into_inner(),
                            ModelRef {
                                provider: provider.to_owned(),
                                model: model.to_owned(),
                            },
                        );
                    } else {
                        let known: Vec<&str> = providers.keys().map(String::as_str).collect();
                        self.error(&value.span(), key, format!("unknown provider `{provider}`"),
                            &format!("known providers: {}; add a `[providers.{provider}]` table with its base_url to use another", known.join(", ")));
                    }
                }
                _ => {
                    let model = value.get_ref().trim_matches(':');
                    self.error(&value.span(), key, format!("model `{}` does not name its provider", value.get_ref()),
                        &format!("write it as `provider:model`, for example `anthropic:{model}` or `openai:{model}`"));
                }
            }
        }
        let default = given.get("default").cloned().unwrap_or_else(|| ModelRef {
            provider: "anthropic".to_owned(),
            model: DEFAULT_MODEL.trim_start_matches("anthropic:").to_owned(),
        });
        ROLES
            .iter()
            .map(|role| {
                (
                    (*role).to_owned(),
                    given.get(*role).cloned().unwrap_or_else(|| default.clone()),
                )
            })
            .collect()
    }

    fn lanes(
        &mut self,
        raw: BTreeMap<Spanned<String>, Spanned<crate::raw::RawLane>>,
    ) -> BTreeMap<String, Lane> {
        let mut lanes = BTreeMap::new();
        for (name, lane) in raw {
            let key = format!("lanes.{}", name.get_ref());
            self.remember(key.clone(), &name.span());
            if !is_lane_name(name.get_ref()) {
                self.error(
                    &name.span(),
                    key.clone(),
                    format!("`{}` is not a valid lane name", name.get_ref()),
                    "use letters, digits, `-` and `_` only, like `api` or `web-ui`",
                );
            }
            let span = lane.span();
            let lane = lane.into_inner();
            if lane.owns.is_empty() {
                self.error(&span, format!("{key}.owns"), "the lane owns no files",
                    "list the files it owns as gitignore-style globs, like `owns = [\"src/api/**\"]`");
            }
            let owns = lane
                .owns
                .into_iter()
                .enumerate()
                .map(|(i, glob)| {
                    self.remember(format!("{key}.owns.{i}"), &glob.span());
                    glob.into_inner()
                })
                .collect();
            lanes.insert(name.into_inner(), Lane { owns });
        }
        lanes
    }

    fn guard(&mut self, raw: RawGuard) -> GuardSettings {
        let Some(value) = raw.on_detect else {
            return GuardSettings::default();
        };
        let on_detect = match value.get_ref().as_str() {
            "mark" => OnDetect::Mark,
            "quarantine" => OnDetect::Quarantine,
            "stop" => OnDetect::Stop,
            other => {
                self.error(
                    &value.span(),
                    "guard.on_detect",
                    format!("unknown value `{other}`"),
                    &format!("use one of {}", OnDetect::NAMES.join(", ")),
                );
                OnDetect::Mark
            }
        };
        GuardSettings { on_detect }
    }

    fn sandbox(&mut self, raw: RawSandbox) -> SandboxSettings {
        let defaults = SandboxSettings::default();
        let mut env = Vec::new();
        for name in raw.env {
            let secret = slipway_types::is_secret_name(name.get_ref());
            if secret {
                self.error(
                    &name.span(),
                    "sandbox.env",
                    format!(
                        "`{}` looks like a secret, and secrets never enter the sandbox",
                        name.get_ref()
                    ),
                    "remove it; commands get their inputs from files in the clone",
                );
                continue;
            }
            env.push(name.into_inner());
        }
        SandboxSettings {
            user: raw
                .user
                .filter(|u| !u.trim().is_empty())
                .unwrap_or(defaults.user),
            read_only: raw.read_only,
            env,
            timeout_secs: self.limit(
                raw.timeout_secs,
                "sandbox.timeout_secs",
                1,
                defaults.timeout_secs,
            ),
            memory_mb: self.limit(raw.memory_mb, "sandbox.memory_mb", 16, defaults.memory_mb),
            processes: self.limit(raw.processes, "sandbox.processes", 1, defaults.processes),
            output_kb: self.limit(raw.output_kb, "sandbox.output_kb", 1, defaults.output_kb),
        }
    }

    fn limit<T: TryFrom<i64> + Copy>(
        &mut self,
        value: Option<Spanned<i64>>,
        key: &str,
        min: i64,
        default: T,
    ) -> T {
        let Some(value) = value else { return default };
        let n = *value.get_ref();
        match T::try_from(n) {
            Ok(v) if n >= min => {
                self.remember(key.to_owned(), &value.span());
                v
            }
            _ if n < 0 => {
                self.error(
                    &value.span(),
                    key,
                    format!("{n} is negative"),
                    &format!("use a number of at least {min}"),
                );
                default
            }
            _ if n < min => {
                self.error(
                    &value.span(),
                    key,
                    format!("{n} is too small"),
                    &format!("use a number of at least {min}"),
                );
                default
            }
            _ => {
                self.error(
                    &value.span(),
                    key,
                    format!("{n} is too large"),
                    "use a smaller number",
                );
                default
            }
        }
    }

    fn budget(&mut self, raw: RawBudget) -> Budget {
        Budget {
            run_usd: self.money(raw.run_usd, "budget.run_usd"),
            task_usd: self.money(raw.task_usd, "budget.task_usd"),
            run_tokens: raw
                .run_tokens
                .map(|t| self.limit(Some(t), "budget.run_tokens", 1, 0)),
            max_steps: self.limit(
                raw.max_steps,
                "budget.max_steps",
                1,
                Budget::default().max_steps,
            ),
        }
    }

    fn context(&mut self, raw: RawContext) -> ContextSettings {
        let defaults = ContextSettings::default();
        ContextSettings {
            window_tokens: self.within(
                raw.window_tokens,
                "context.window_tokens",
                &WINDOW_TOKENS,
                defaults.window_tokens,
                "use the context window of the models in use, in tokens, like 200000",
            ),
            compact_at_percent: self.within(
                raw.compact_at_percent,
                "context.compact_at_percent",
                &COMPACT_AT_PERCENT,
                defaults.compact_at_percent,
                "use a percentage of the context window from 1 to 99, like 80: older turns are \
                 summarized once a model call's context passes that share",
            ),
        }
    }

    /// Checks a number that must lie in `range`; `help` says what to write instead.
    fn within<T: TryFrom<i64>>(
        &mut self,
        value: Option<Spanned<i64>>,
        key: &str,
        range: &RangeInclusive<i64>,
        default: T,
        help: &str,
    ) -> T {
        let Some(value) = value else { return default };
        let n = *value.get_ref();
        match T::try_from(n) {
            Ok(v) if range.contains(&n) => {
                self.remember(key.to_owned(), &value.span());
                v
            }
            _ => {
                self.error(
                    &value.span(),
                    key,
                    format!(
                        "{n} is out of range: it must be from {} to {}",
                        range.start(),
                        range.end()
                    ),
                    help,
                );
                default
            }
        }
    }

    /// Checks a path that names a file in the repository: relative, inside it, not a control file.
    fn repo_path(&mut self, path: Spanned<String>, key: &str) -> String {
        let span = path.span();
        let path = path.into_inner();
        let trimmed = path.trim_start_matches("./");
        let escapes = trimmed.split('/').any(|seg| seg == "..");
        let control = trimmed
            .split('/')
            .next()
            .is_some_and(|first| first.eq_ignore_ascii_case(".slipway"));
        if trimmed.is_empty()
            || path.starts_with('/')
            || path.starts_with('~')
            || escapes
            || control
            || path.contains('\\')
        {
            self.error(
                &span,
                key,
                format!("`{path}` is not a path inside the repository"),
                "use a path relative to the project root, without `..`, outside `.slipway/`",
            );
        }
        path
    }

    fn money(&mut self, value: Option<Spanned<f64>>, key: &str) -> Option<f64> {
        let value = value?;
        let usd = *value.get_ref();
        if usd.is_finite() && usd > 0.0 {
            self.remember(key.to_owned(), &value.span());
            Some(usd)
        } else {
            self.error(
                &value.span(),
                key,
                format!("{usd} is not a positive amount of dollars"),
                "use a positive number like 5.0, or remove the key for no limit",
            );
            None
        }
    }
}

/// Parses serde's "unknown field `x`, expected one of `a`, `b`" into `x` and the known names.
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((field.to_owned(), expected))
}

/// Returns the known name closest to `given`, when one is close enough to be a typo.
fn nearest(given: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(given, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

/// Returns the dotted name of the `[table]` whose body holds byte `offset`.
fn key_at(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    before
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| line.starts_with('['))
        .map(|header| {
            header
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .replace(['"', '\''], "")
        })
        .unwrap_or_default()
}

fn default_project_name(path: &Path) -> String {
    let dir = path.parent().and_then(|p| p.canonicalize().ok());
    dir.as_deref().and_then(Path::file_name).map_or_else(
        || "project".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn is_lane_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Returns whether `name` may name a provider key: an environment variable
/// ending in `_API_KEY`, so a committed file cannot send `GITHUB_TOKEN` or
/// `AWS_SECRET_ACCESS_KEY` to a provider.
fn is_key_var_name(name: &str) -> bool {
    name.len() > "_API_KEY".len()
        && name.ends_with("_API_KEY")
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
