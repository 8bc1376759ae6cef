//! The one error type of model calls, with messages that say what to do.

use std::fmt::Write as _;
use std::time::Duration;

use crate::Usage;

/// The longest part of an error body kept in the message (the field keeps more).
const BODY_IN_MESSAGE: usize = 2_000;

/// Everything that can go wrong calling a model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The server answered with an error status; `body` is what it said,
    /// cut to its first [`MAX_ERROR_BODY_BYTES`](crate::MAX_ERROR_BODY_BYTES).
    /// Redirects are not followed (the API key must not go to another
    /// host): a 3xx is this error, and `location` is where it pointed.
    #[error("{}", http_message(*status, body, *retry_after, location.as_deref()))]
    Http {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
        location: Option<String>,
    },

    /// The call ran past its time: the provider's whole-call timeout, or,
    /// when `idle`, the wait for the next bytes of an answer under way.
    #[error("{}", timeout_message(*after, *idle))]
    Timeout { after: Duration, idle: bool },

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
    /// `usage` is what the stream reported before it ended, if anything.
    #[error("the model's response stream ended early ({detail}); try again")]
    StreamClosed {
        detail: String,
        usage: Option<Usage>,
    },

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

    /// Returns the tokens a failed call is known to have used: the usage a
    /// stream reported before it was cut. The provider bills them, so a
    /// caller counting cost adds them.
    #[must_use]
    pub fn partial_usage(&self) -> Option<Usage> {
        match self {
            Self::StreamClosed { usage, .. } => *usage,
            _ => None,
        }
    }

    /// Attaches the usage seen before a stream was cut, when there was some.
    pub(crate) fn with_partial_usage(mut self, seen: Usage) -> Self {
        if let Self::StreamClosed { usage, .. } = &mut self
            && seen != Usage::default()
        {
            *usage = Some(seen);
        }
        self
    }

    pub(crate) fn protocol(detail: impl Into<String>) -> Self {
        Self::Protocol {
            detail: detail.into(),
        }
    }

    pub(crate) fn stream_closed(detail: impl Into<String>) -> Self {
        Self::StreamClosed {
            detail: detail.into(),
            usage: None,
        }
    }
}

fn timeout_message(after: Duration, idle: bool) -> String {
    let seconds = after.as_secs_f64();
    if idle {
        format!(
            "the model API sent nothing for {seconds} s in the middle of its answer, and the call was abandoned as stalled: try again"
        )
    } else {
        format!(
            "the model call took longer than {seconds} s and was abandoned: try again, or raise the provider's timeout"
        )
    }
}

fn http_message(
    status: u16,
    body: &str,
    retry_after: Option<Duration>,
    location: Option<&str>,
) -> String {
    if (300..400).contains(&status) {
        return redirect_message(status, location);
    }
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

/// Says where a redirect pointed and what base URL to set instead.
fn redirect_message(status: u16, location: Option<&str>) -> String {
    let why = "redirects are not followed, so that the API key goes to no other address";
    let Some(location) = location else {
        return format!(
            "the model API answered HTTP {status}, a redirect without a `location`: check the base URL ({why})"
        );
    };
    let advice = match crate::wire::base_of(location) {
        Some(base) => format!("set the base URL to {base}"),
        None => "set the base URL to the address it leads to".to_owned(),
    };
    format!(
        "the model API answered HTTP {status}: the base URL redirects to {location}; {advice} ({why})"
    )
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
            location: None,
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
            location: None,
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
            location: None,
        };
        let text = error.to_string();
        assert!(text.ends_with(" …"), "{text}");
        assert!(text.len() < body.len());
        let LlmError::Http { body: kept, .. } = error else {
            unreachable!()
        };
        assert_eq!(kept, body);
    }

    #[test]
    fn a_redirect_names_its_target_and_the_base_url_to_set() {
        let redirect = |location: Option<&str>| LlmError::Http {
            status: 307,
            body: String::new(),
            retry_after: None,
            location: location.map(str::to_owned),
        };
        let error = redirect(Some("https://api.example.com/anthropic/v1/messages"));
        assert!(!error.is_retryable());
        assert_eq!(
            error.to_string(),
            "the model API answered HTTP 307: the base URL redirects to https://api.example.com/anthropic/v1/messages; set the base URL to https://api.example.com/anthropic (redirects are not followed, so that the API key goes to no other address)"
        );
        let elsewhere = redirect(Some("https://example.com/login")).to_string();
        assert!(
            elsewhere.contains(
                "to https://example.com/login; set the base URL to the address it leads to"
            ),
            "{elsewhere}"
        );
        let nowhere = redirect(None).to_string();
        assert!(nowhere.contains("without a `location`"), "{nowhere}");
    }

    #[test]
    fn an_idle_timeout_says_the_answer_stalled() {
        let idle = LlmError::Timeout {
            after: Duration::from_mins(2),
            idle: true,
        };
        assert!(idle.is_retryable());
        assert!(
            idle.to_string().contains("sent nothing for 120 s"),
            "{idle}"
        );
        let whole = LlmError::Timeout {
            after: Duration::from_mins(10),
            idle: false,
        };
        assert!(
            whole.to_string().contains("raise the provider's timeout"),
            "{whole}"
        );
    }

    #[test]
    fn only_a_cut_stream_carries_usage_and_only_when_some_was_seen() {
        let seen = Usage {
            input_tokens: 7,
            ..Usage::default()
        };
        let cut = LlmError::stream_closed("eof").with_partial_usage(seen);
        assert_eq!(cut.partial_usage(), Some(seen));
        let nothing_seen = LlmError::stream_closed("eof").with_partial_usage(Usage::default());
        assert_eq!(nothing_seen.partial_usage(), None);
        let other = LlmError::protocol("bad").with_partial_usage(seen);
        assert_eq!(other.partial_usage(), None);
    }
}
