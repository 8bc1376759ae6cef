//! Turning the configuration into a provider, tools and an agent.
//!
//! Keys come only from the environment. A committed `slipway.toml` cannot
//! choose where a key is sent: a key goes to the provider's own API, to a base
//! URL set in the environment, or to a loopback address.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use slipway_config::{Config, ModelRef};
use slipway_llm::{Api, Provider, ProviderSettings};

/// Returns the provider `model` names, configured from `config` and the environment.
pub(crate) fn provider(config: &Config, model: &ModelRef) -> Result<Arc<dyn Provider>> {
    let Some(settings) = config.providers.get(&model.provider) else {
        bail!(
            "no provider `{}`: add a [providers.{}] table to slipway.toml",
            model.provider,
            model.provider
        );
    };
    let api = match settings.api.as_str() {
        "messages" => Api::Messages,
        "chat" => Api::Chat,
        "responses" => Api::Responses,
        "scripted" => Api::Scripted,
        other => bail!("unknown api `{other}` for provider `{}`", model.provider),
    };
    let env_url = slipway_llm::base_url_from_env(&model.provider).filter(|u| !u.trim().is_empty());
    let (base_url, from_file) = match (&env_url, &settings.base_url) {
        (Some(url), _) => (url.clone(), false),
        (None, Some(url)) => (url.clone(), true),
        (None, None) => (slipway_llm::default_base_url(api).to_owned(), false),
    };
    let api_key = match &settings.api_key_env {
        Some(var) => Some(
            std::env::var(var)
                .ok()
                .filter(|k| !k.is_empty())
                .with_context(|| {
                    format!(
                        "set {var} in the environment: the `{}` provider needs its key",
                        model.provider
                    )
                })?,
        ),
        None => None,
    };
    if api_key.is_some() && from_file && !slipway_llm::is_loopback_url(&base_url) {
        let var = settings.api_key_env.as_deref().unwrap_or_default();
        bail!(
            "slipway.toml would send the key in {var} to {base_url}: a committed file cannot choose where keys go; \
             if you trust that address, set it in your environment instead ({}={base_url})",
            base_url_var(&model.provider)
        );
    }
    let mut settings = ProviderSettings::new(model.provider.clone(), api, api_key);
    settings.base_url = base_url;
    Ok(Arc::from(slipway_llm::provider(settings)))
}

/// Returns the environment variable that sets `provider`'s base URL.
fn base_url_var(provider: &str) -> String {
    let name: String = provider
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{name}_BASE_URL")
}
