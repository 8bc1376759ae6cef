//! The file's shape as written: every table denies unknown keys, and values
//! that validation must point at keep their byte spans.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub(crate) project: RawProject,
    #[serde(default)]
    pub(crate) models: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub(crate) lanes: BTreeMap<Spanned<String>, Spanned<RawLane>>,
    #[serde(default)]
    pub(crate) seams: RawSeams,
    #[serde(default)]
    pub(crate) gates: RawGates,
    #[serde(default)]
    pub(crate) workspace: RawWorkspace,
    #[serde(default)]
    pub(crate) promotion: RawPromotion,
    #[serde(default)]
    pub(crate) budget: RawBudget,
    #[serde(default)]
    pub(crate) context: RawContext,
    #[serde(default)]
    pub(crate) trace: RawTrace,
    #[serde(default)]
    pub(crate) sandbox: RawSandbox,
    #[serde(default)]
    pub(crate) guard: RawGuard,
    #[serde(default)]
    pub(crate) providers: BTreeMap<Spanned<String>, RawProvider>,
    #[serde(default)]
    pub(crate) prices: BTreeMap<Spanned<String>, Spanned<RawPrice>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProject {
    pub(crate) name: Option<String>,
    pub(crate) spec: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLane {
    #[serde(default)]
    pub(crate) owns: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSeams {
    #[serde(default)]
    pub(crate) paths: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGates {
    pub(crate) tests: Option<String>,
    pub(crate) test_timeout_secs: Option<Spanned<i64>>,
    pub(crate) review_passes: Option<Spanned<i64>>,
    pub(crate) debug_tries: Option<Spanned<i64>>,
    pub(crate) tests_first: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWorkspace {
    pub(crate) setup: Option<String>,
    pub(crate) setup_network: Option<bool>,
    #[serde(default)]
    pub(crate) copy: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPromotion {
    pub(crate) remote: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBudget {
    pub(crate) run_usd: Option<Spanned<f64>>,
    pub(crate) task_usd: Option<Spanned<f64>>,
    pub(crate) run_tokens: Option<Spanned<i64>>,
    pub(crate) max_steps: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawContext {
    pub(crate) window_tokens: Option<Spanned<i64>>,
    pub(crate) compact_at_percent: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrace {
    pub(crate) capture: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGuard {
    pub(crate) on_detect: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSandbox {
    pub(crate) user: Option<String>,
    #[serde(default)]
    pub(crate) read_only: Vec<String>,
    #[serde(default)]
    pub(crate) env: Vec<Spanned<String>>,
    pub(crate) timeout_secs: Option<Spanned<i64>>,
    pub(crate) memory_mb: Option<Spanned<i64>>,
    pub(crate) processes: Option<Spanned<i64>>,
    pub(crate) output_kb: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvider {
    pub(crate) base_url: Option<String>,
    pub(crate) api_key_env: Option<Spanned<String>>,
    pub(crate) api: Option<Spanned<String>>,
}

/// One model's prices in dollars per million tokens, in `slipway.toml` or the price file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrice {
    pub(crate) input: Option<Spanned<f64>>,
    pub(crate) output: Option<Spanned<f64>>,
    pub(crate) cache_read: Option<Spanned<f64>>,
    pub(crate) cache_write: Option<Spanned<f64>>,
}

/// The shipped price file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPriceFile {
    pub(crate) version: Spanned<String>,
    #[serde(default)]
    pub(crate) prices: BTreeMap<Spanned<String>, Spanned<RawPrice>>,
}
