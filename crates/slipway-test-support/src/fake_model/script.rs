//! The script: what the fake model answers, turn by turn.

use std::time::Duration;

/// Token counts a reply reports, in the protocol's own terms: `input` is
/// the uncached input (OpenAI's `prompt_tokens` is sent as `input +
/// cache_read`), `reasoning` is part of `output`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FakeUsage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

/// A tool call in a reply; `arguments` go out verbatim, valid JSON or not
/// (Anthropic's non-streaming `input` must be JSON: invalid text goes out
/// there as a JSON string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

impl FakeToolCall {
    #[must_use]
    pub fn new(id: &str, name: &str, arguments: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            arguments: arguments.to_owned(),
        }
    }
}

/// A successful answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub tool_calls: Vec<FakeToolCall>,
    pub usage: FakeUsage,
    /// The stop or finish reason as the protocol spells it; by default
    /// `end_turn`/`tool_use`, `stop`/`tool_calls`, or (Responses) none.
    /// For Responses, `max_output_tokens` or `content_filter` make the
    /// response `incomplete` for that reason.
    pub stop: Option<String>,
    /// Adds content this client does not know: reasoning blocks and a block
    /// (or item, or tool call) of a made-up type, before the rest.
    pub unknown_blocks: bool,
}

/// One scripted answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    Reply(Reply),
    /// An error status with this body and, if given, a `retry-after` header.
    Error {
        status: u16,
        body: String,
        retry_after: Option<String>,
    },
    /// Streaming: `after_events` whole events, then half of the next, then
    /// the connection is dropped. Not streaming: half the body, then dropped.
    Cut {
        reply: Reply,
        after_events: usize,
    },
    /// This status, content type and body, verbatim.
    Raw {
        status: u16,
        content_type: String,
        body: String,
    },
    /// The turn, after a pause before the answer starts.
    Delayed {
        delay: Duration,
        turn: Box<Turn>,
    },
}

impl Turn {
    /// Returns a reply holding `text`.
    #[must_use]
    pub fn text(text: &str) -> Self {
        Self::Reply(Reply {
            text: text.to_owned(),
            ..Reply::default()
        })
    }

    /// Returns a reply holding these tool calls.
    #[must_use]
    pub fn tool_calls(calls: Vec<FakeToolCall>) -> Self {
        Self::Reply(Reply {
            tool_calls: calls,
            ..Reply::default()
        })
    }

    /// Returns an error answer.
    #[must_use]
    pub fn error(status: u16, body: &str) -> Self {
        Self::Error {
            status,
            body: body.to_owned(),
            retry_after: None,
        }
    }

    /// Returns raw server-sent events: `text/event-stream`, status 200.
    #[must_use]
    pub fn raw_sse(text: &str) -> Self {
        Self::Raw {
            status: 200,
            content_type: "text/event-stream".to_owned(),
            body: text.to_owned(),
        }
    }

    /// Returns a cut stream of `reply`.
    #[must_use]
    pub fn cut(reply: Reply, after_events: usize) -> Self {
        Self::Cut {
            reply,
            after_events,
        }
    }

    /// Sets the `retry-after` header of an error answer.
    #[must_use]
    pub fn retry_after(mut self, value: &str) -> Self {
        if let Self::Error { retry_after, .. } = &mut self {
            *retry_after = Some(value.to_owned());
        }
        self
    }

    /// Sets the usage of a reply.
    #[must_use]
    pub fn usage(mut self, usage: FakeUsage) -> Self {
        if let Self::Reply(reply) | Self::Cut { reply, .. } = &mut self {
            reply.usage = usage;
        }
        self
    }

    /// Makes the answer wait `delay` before it starts.
    #[must_use]
    pub fn delayed(self, delay: Duration) -> Self {
        Self::Delayed {
            delay,
            turn: Box::new(self),
        }
    }
}
