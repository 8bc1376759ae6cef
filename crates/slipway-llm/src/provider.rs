//! The `Provider` trait and how to make one from settings.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::http::HttpProvider;
use crate::{ChatRequest, ChatResponse, LlmError, RetryPolicy, ScriptedProvider, StreamEvent};

/// A model behind some protocol.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Returns the provider's name: "anthropic", "openai", a
    /// `[providers.NAME]`, or "scripted".
    fn name(&self) -> &str;

    /// Makes one model call; streamed events go to `on_event` as they arrive.
    ///
    /// Failed attempts are retried by the provider's [`RetryPolicy`] as long
    /// as no event has reached `on_event` yet; after that the error is
    /// returned, and [`LlmError::is_retryable`] tells the caller whether
    /// calling again may help.
    async fn chat(
        &self,
        request: &ChatRequest,
        on_event: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<ChatResponse, LlmError>;
}

/// The wire protocol a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// Anthropic Messages, `POST {base}/v1/messages`.
    Messages,
    /// OpenAI Chat Completions, `POST {base}/chat/completions`; also what
    /// most OpenAI-compatible servers speak.
    Chat,
    /// OpenAI Responses, `POST {base}/responses`.
    Responses,
    /// The in-process [`ScriptedProvider`]; no network.
    Scripted,
}

impl Api {
    /// Returns the name used in configuration.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Messages => "messages",
            Self::Chat => "chat",
            Self::Responses => "responses",
            Self::Scripted => "scripted",
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything needed to make a provider. The key is passed in by the
/// caller, read from the environment; it never comes from `slipway.toml`.
#[derive(Clone)]
pub struct ProviderSettings {
    pub name: String,
    pub api: Api,
    /// Without a trailing slash: `https://api.anthropic.com`,
    /// `https://api.openai.com/v1` (OpenAI's base ends in `/v1`).
    pub base_url: String,
    pub api_key: Option<String>,
    /// The longest one attempt may take, streaming included.
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl ProviderSettings {
    /// Returns settings for `api` at its default base URL, with a 10-minute
    /// timeout and the default retries.
    #[must_use]
    pub fn new(name: impl Into<String>, api: Api, api_key: Option<String>) -> Self {
        Self {
            name: name.into(),
            api,
            base_url: default_base_url(api).to_owned(),
            api_key,
            timeout: Duration::from_mins(10),
            retry: RetryPolicy::default(),
        }
    }
}

impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("name", &self.name)
            .field("api", &self.api)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// Returns a provider for the settings. `Api::Scripted` gives a
/// [`ScriptedProvider`] with an empty script; build one with
/// [`ScriptedProvider::new`] to give it replies.
///
/// When the HTTP client cannot be set up (no usable TLS roots, say), every
/// call returns [`LlmError::Settings`] saying why.
#[must_use]
pub fn provider(settings: ProviderSettings) -> Box<dyn Provider> {
    match settings.api {
        Api::Scripted => Box::new(ScriptedProvider::new(Vec::new()).with_name(settings.name)),
        Api::Messages | Api::Chat | Api::Responses => Box::new(HttpProvider::new(settings)),
    }
}

/// Returns the public endpoint of an API's maker; empty for `Scripted`.
#[must_use]
pub fn default_base_url(api: Api) -> &'static str {
    match api {
        Api::Messages => "https://api.anthropic.com",
        Api::Chat | Api::Responses => "https://api.openai.com/v1",
        Api::Scripted => "",
    }
}

/// Returns true when `url` is an `http`/`https` URL, without user info, whose
/// host is loopback (`localhost`, `127.0.0.0/8`, `::1`), as the HTTP client
/// will parse it: a backslash or an `@` cannot make another host look local.
#[must_use]
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url.trim()) else {
        return false;
    };
    if !matches!(parsed.scheme(), "http" | "https")
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return false;
    }
    // The parser has already normalised the host: IPv4 in dotted decimal,
    // IPv6 in brackets, names in lower case.
    let Some(host) = parsed.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Returns `{PROVIDER}_BASE_URL` from the environment (`ANTHROPIC_BASE_URL`,
/// `OPENAI_BASE_URL`, `-` read as `_`), when set and not empty.
#[must_use]
pub fn base_url_from_env(provider: &str) -> Option<String> {
    non_empty_var(&env_var_name(provider, "BASE_URL"))
}

/// Returns the API key in the environment variable `var`, or
/// [`LlmError::NoKey`] naming it.
pub fn api_key_from_env(var: &str) -> Result<String, LlmError> {
    non_empty_var(var).ok_or_else(|| LlmError::NoKey {
        var: var.to_owned(),
    })
}

/// Returns the conventional key variable of a provider: `ANTHROPIC_API_KEY`,
/// `OPENAI_API_KEY`, `{NAME}_API_KEY`.
#[must_use]
pub fn api_key_var(provider: &str) -> String {
    env_var_name(provider, "API_KEY")
}

fn env_var_name(provider: &str, suffix: &str) -> String {
    let mut name: String = provider
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    name.push('_');
    name.push_str(suffix);
    name
}

fn non_empty_var(var: &str) -> Option<String> {
    std::env::var(var)
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names_follow_the_provider() {
        assert_eq!(env_var_name("anthropic", "BASE_URL"), "ANTHROPIC_BASE_URL");
        assert_eq!(env_var_name("openai", "BASE_URL"), "OPENAI_BASE_URL");
        assert_eq!(api_key_var("my-vllm"), "MY_VLLM_API_KEY");
    }

    #[test]
    fn missing_key_names_the_variable() {
        let error = api_key_from_env("SLIPWAY_TEST_SURELY_UNSET_KEY").unwrap_err();
        assert_eq!(
            error.to_string(),
            "no API key: set SLIPWAY_TEST_SURELY_UNSET_KEY in the environment of the slipway process"
        );
        assert!(base_url_from_env("slipway-test-surely-unset").is_none());
    }

    #[test]
    fn default_urls() {
        assert_eq!(default_base_url(Api::Messages), "https://api.anthropic.com");
        assert_eq!(default_base_url(Api::Chat), "https://api.openai.com/v1");
        assert_eq!(
            default_base_url(Api::Responses),
            "https://api.openai.com/v1"
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let settings = ProviderSettings::new("openai", Api::Chat, Some("sk-secret".into()));
        let text = format!("{settings:?}");
        assert!(
            !text.contains("sk-secret") && text.contains("<redacted>"),
            "{text}"
        );
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for url in [
            "http://127.0.0.1:8080/v1",
            "http://localhost:11434/v1",
            "http://[::1]:9/v1",
            "http://127.0.0.9",
            "http://LOCALHOST:8080",
            "http://127.1/v1",
        ] {
            assert!(super::is_loopback_url(url), "{url}");
        }
        for url in [
            "https://api.example.com/v1",
            "http://127.0.0.1.evil.example/v1",
            "http://10.0.0.1/v1",
            "https://user@evil.example",
            "http://evil.example\\@127.0.0.1/v1",
            "http://evil.example\\@localhost",
            "http://user:pw@127.0.0.1/v1",
            "ftp://127.0.0.1/",
            "not a url",
        ] {
            assert!(!super::is_loopback_url(url), "{url}");
        }
    }
}
