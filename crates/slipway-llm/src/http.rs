//! The HTTP transport shared by the three protocols: one POST per attempt,
//! the timeouts, reading a body whole or as a stream (within the limits of
//! `body`), and the retry loop.
//!
//! Redirects are not followed: the Anthropic key travels in `x-api-key`,
//! which an HTTP client does not strip when a redirect leads to another
//! host, so a redirect is an error that names where it pointed.

use std::error::Error as _;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{self, HeaderMap, HeaderValue};

use crate::retry::{parse_retry_after, parse_retry_after_ms};
use crate::wire::{parse_response, path, request_body};
use crate::{
    Api, ChatRequest, ChatResponse, LlmError, Provider, ProviderSettings, StreamDecoder,
    StreamEvent, anthropic, body,
};

/// The longest wait for a connection to the API.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest silence in the middle of an answer's body. Anthropic sends
/// `ping` events while a streamed answer is slow, so a longer silence is a
/// stalled connection. The wait for the answer to start is bounded by the
/// provider's timeout only: a reply that is not streamed starts once the
/// model has finished, which may take minutes.
const IDLE_TIMEOUT: Duration = Duration::from_mins(2);

pub(crate) struct HttpProvider {
    settings: ProviderSettings,
    url: String,
    /// The client, or why it could not be built (reported on every call).
    client: Result<reqwest::Client, String>,
    idle_timeout: Duration,
}

impl HttpProvider {
    pub(crate) fn new(settings: ProviderSettings) -> Self {
        let url = format!(
            "{}{}",
            settings.base_url.trim_end_matches('/'),
            path(settings.api)
        );
        let client = build_client().map_err(|error| error_chain(&error));
        Self {
            settings,
            url,
            client,
            idle_timeout: IDLE_TIMEOUT,
        }
    }

    #[cfg(test)]
    pub(crate) fn with_idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    fn headers(&self, stream: bool) -> Result<HeaderMap, LlmError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(if stream {
                "text/event-stream"
            } else {
                "application/json"
            }),
        );
        let key = self.settings.api_key.as_deref();
        match self.settings.api {
            Api::Messages => {
                headers.insert(
                    "anthropic-version",
                    HeaderValue::from_static(anthropic::VERSION),
                );
                if let Some(key) = key {
                    headers.insert("x-api-key", secret_header(key)?);
                }
            }
            Api::Chat | Api::Responses | Api::Scripted => {
                if let Some(key) = key {
                    headers.insert(
                        header::AUTHORIZATION,
                        secret_header(&format!("Bearer {key}"))?,
                    );
                }
            }
        }
        Ok(headers)
    }

    async fn attempt(
        &self,
        client: &reqwest::Client,
        headers: &HeaderMap,
        body: &[u8],
        stream: bool,
        on_event: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let mut response = client
            .post(&self.url)
            .headers(headers.clone())
            .body(body.to_vec())
            .send()
            .await
            .map_err(|error| send_error(&error))?;
        if !response.status().is_success() {
            return Err(self.error_answer(response).await);
        }
        if stream && !is_json(response.headers()) {
            self.read_stream(response, on_event).await
        } else {
            // A server may answer a streaming request with a plain body.
            let bytes = body::whole(&mut response, self.idle_timeout).await?;
            parse_response(self.settings.api, &bytes)
        }
    }

    /// Returns the error an answer with an error status (or a redirect) is.
    async fn error_answer(&self, mut response: reqwest::Response) -> LlmError {
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let location = if status.is_redirection() {
            redirect_target(&response)
        } else {
            None
        };
        let body = body::error_text(&mut response, self.idle_timeout).await;
        LlmError::Http {
            status: status.as_u16(),
            body,
            retry_after,
            location,
        }
    }

    /// Decodes a streamed answer; a stream cut short carries the usage it
    /// reported before the cut.
    async fn read_stream(
        &self,
        mut response: reqwest::Response,
        on_event: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let mut decoder = StreamDecoder::new(self.settings.api)?;
        let mut read = Ok(());
        while !decoder.is_done() {
            read = match body::next_chunk(&mut response, self.idle_timeout).await {
                Ok(Some(chunk)) => decoder.push(chunk.as_ref(), on_event),
                Ok(None) => break,
                Err(error) => Err(error),
            };
            if read.is_err() {
                break;
            }
        }
        let usage = decoder.usage();
        read.and_then(|()| decoder.finish())
            .map_err(|error| error.with_partial_usage(usage))
    }
}

#[async_trait]
impl Provider for HttpProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    async fn chat(
        &self,
        request: &ChatRequest,
        on_event: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let client = self.client.as_ref().map_err(|detail| LlmError::Settings {
            detail: detail.clone(),
        })?;
        let headers = self.headers(request.stream)?;
        let body = serde_json::to_vec(&request_body(self.settings.api, request)?).map_err(|e| {
            LlmError::Settings {
                detail: format!("the request cannot be encoded: {e}"),
            }
        })?;
        let timeout = self.settings.timeout;
        let mut retry = 0;
        loop {
            let mut streamed = false;
            let outcome = {
                let mut forward = |event: StreamEvent| {
                    streamed = true;
                    on_event(event);
                };
                tokio::time::timeout(
                    timeout,
                    self.attempt(client, &headers, &body, request.stream, &mut forward),
                )
                .await
            };
            let error = match outcome {
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(error)) => error,
                Err(_) => LlmError::Timeout {
                    after: timeout,
                    idle: false,
                },
            };
            // Events already shown cannot be taken back: the caller decides.
            if streamed {
                return Err(error);
            }
            let Some(wait) = self.settings.retry.delay_for(retry, &error) else {
                return Err(error);
            };
            tracing::warn!(
                provider = %self.settings.name,
                retry = retry + 1,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                partial_usage = ?error.partial_usage(),
                %error,
                "model call failed; retrying"
            );
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }
}

fn build_client() -> Result<reqwest::Client, reqwest::Error> {
    // One TLS stack for the workspace: rustls with ring, as sqlx uses.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: a provider is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
        .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
}

fn secret_header(value: &str) -> Result<HeaderValue, LlmError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| LlmError::Settings {
        detail: "the API key holds characters an HTTP header cannot carry (a newline?); check the variable's value".into(),
    })?;
    header.set_sensitive(true);
    Ok(header)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("application/json"))
}

/// Returns where a redirect points, made absolute.
fn redirect_target(response: &reqwest::Response) -> Option<String> {
    let location = response.headers().get(header::LOCATION)?;
    let location = String::from_utf8_lossy(location.as_bytes());
    Some(
        response
            .url()
            .join(&location)
            .map_or_else(|_| location.into_owned(), String::from),
    )
}

/// Reads `retry-after-ms` (OpenAI) or else `retry-after`.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    value("retry-after-ms")
        .and_then(parse_retry_after_ms)
        .or_else(|| value("retry-after").and_then(|v| parse_retry_after(v, jiff::Timestamp::now())))
}

fn send_error(error: &reqwest::Error) -> LlmError {
    if error.is_builder() {
        LlmError::Settings {
            detail: format!("the request cannot be built: {}", error_chain(error)),
        }
    } else {
        LlmError::Connect {
            detail: error_chain(error),
        }
    }
}

/// Joins an error and its sources: reqwest's own message alone is terse.
pub(crate) fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
