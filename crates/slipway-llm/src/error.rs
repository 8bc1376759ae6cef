//! The one error type of model calls, with messages that say what to do.

use std::fmt::Write as _;
use std::time::Duration;

/// The longest part of an error body kept in the message (the field keeps all).
const BODY_IN_MESSAGE: usize = 2_000;

/// Everything that can go wrong calling a model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The server answered with an error status; `body` is what it said.
    #[error("{}", http_message(*status, body, *retry_after))]
    Http {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },

    #[error(
        "the model call took longer than {} s and was abandoned: try again, or raise the provider's timeout",
        after.as_secs_f64()
    )]
    Timeout { after: Duration },

    #[error(
        "cannot reach the model API: {detail}; check the base URL, the network and any proxy settings"
    )]
    Connect { detail: String },

    /// The server's answer broke the protocol: malformed SSE or JSON, or a
    /// stream without the events it must have.
    #[error(
        "the model API sent something this client cannot read: {detail}; if the base URL points at an OpenAI- or Anthropic-compatible server, check it speaks the protocol configured for it"
    )]
    Protocol { detail: String },

    /// The connection ended before the response was complete. Retryable.
    #[error("the model's response stream ended early ({detail}); try again")]
    StreamClosed { detail: String },

    /// An error the provider reported in a well-formed answer (an `error`
    /// stream event, a failed response).
    #[error("the model provider reported `{kind}`: {message}")]
    Provider { kind: String, message: String },

    #[error("no API key: set {var} in the environment of the slipway process")]
    NoKey { var: String },

    /// The settings cannot make a working client.
    #[error("cannot set up the model client: {detail}")]
    Settings { detail: String },

    /// The scripted provider was called more often than it has replies.
    #[error(
        "the scripted model has no reply left for call {call} (it holds {replies}): add replies to the script"
    )]
    ScriptExhausted { call: usize, replies: usize },
}

impl LlmError {
    /// Returns true when the same call may succeed if made again: HTTP 408,
    /// 429 and 5xx (529 included), a timeout, a failed connection, a stream
    /// cut short, or an overload or server error reported in the stream.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Http { status, .. } => matches!(status, 408 | 429 | 500..=599),
            Self::Timeout { .. } | Self::Connect { .. } | Self::StreamClosed { .. } => true,
            Self::Provider { kind, .. } => matches!(
                kind.as_str(),
                "overloaded_error"
                    | "api_error"
                    | "rate_limit_error"
                    | "rate_limit_exceeded"
                    | "server_error"
            ),
            Self::Protocol { .. }
            | Self::NoKey { .. }
            | Self::Settings { .. }
            | Self::ScriptExhausted { .. } => false,
        }
    }

    /// Returns how long the server asked the client to wait, if it did.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Returns the HTTP status of an error answer.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn protocol(detail: impl Into<String>) -> Self {
        Self::Protocol {
            detail: detail.into(),
        }
    }

    pub(crate) fn stream_closed(detail: impl Into<String>) -> Self {
        Self::StreamClosed {
            detail: detail.into(),
        }
    }
}

fn http_message(status: u16, body: &str, retry_after: Option<Duration>) -> String {
    let advice = match status {
        400 | 422 => "the request was rejected; the body says why",
        401 => "check the API key",
        403 => "the API key may not use this model or endpoint",
        404 => "check the model name and the base URL",
        408 | 500..=599 => "the provider is having trouble; try again later",
        413 => "the request is too large; shorten the conversation",
        429 => "rate limited; wait, or run fewer agents at once",
        _ => "see the body",
    };
    let mut message = format!("the model API answered HTTP {status} ({advice})");
    if let Some(wait) = retry_after {
        let _ = write!(message, ", asking to retry after {} s", wait.as_secs_f64());
    }
    let body = body.trim();
    if !body.is_empty() {
        message.push_str(": ");
        match body.char_indices().nth(BODY_IN_MESSAGE) {
            Some((cut, _)) => {
                message.push_str(&body[..cut]);
                message.push_str(" …");
            }
            None => message.push_str(body),
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_the_status() {
        let http = |status| LlmError::Http {
            status,
            body: String::new(),
            retry_after: None,
        };
        for status in [408, 429, 500, 502, 503, 529] {
            assert!(http(status).is_retryable(), "{status}");
        }
        for status in [400, 401, 403, 404, 413, 422] {
            assert!(!http(status).is_retryable(), "{status}");
        }
        assert!(LlmError::stream_closed("eof").is_retryable());
        assert!(!LlmError::protocol("bad json").is_retryable());
        let overloaded = LlmError::Provider {
            kind: "overloaded_error".into(),
            message: "Overloaded".into(),
        };
        assert!(overloaded.is_retryable());
        let invalid = LlmError::Provider {
            kind: "invalid_request_error".into(),
            message: "no".into(),
        };
        assert!(!invalid.is_retryable());
    }

    #[test]
    fn http_message_carries_body_advice_and_wait() {
        let error = LlmError::Http {
            status: 429,
            body: "{\"error\":\"slow down\"}\n".into(),
            retry_after: Some(Duration::from_millis(1500)),
        };
        assert_eq!(
            error.to_string(),
            "the model API answered HTTP 429 (rate limited; wait, or run fewer agents at once), asking to retry after 1.5 s: {\"error\":\"slow down\"}"
        );
        assert_eq!(error.retry_after(), Some(Duration::from_millis(1500)));
        assert_eq!(error.status(), Some(429));
    }

    #[test]
    fn long_bodies_are_cut_in_the_message_only() {
        let body = "é".repeat(BODY_IN_MESSAGE * 2);
        let error = LlmError::Http {
            status: 400,
            body: body.clone(),
            retry_after: None,
        };
        let text = error.to_string();
        assert!(text.ends_with(" …"), "{text}");
        assert!(text.len() < body.len());
        let LlmError::Http { body: kept, .. } = error else {
            unreachable!()
        };
        assert_eq!(kept, body);
    }
}
