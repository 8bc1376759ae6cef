//! What the three protocols share: request bodies and response parsing by
//! [`Api`], the streaming decoder, and small JSON helpers.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::sse::{SseError, SseParser};
use crate::{Api, Block, ChatRequest, ChatResponse, LlmError, StreamEvent, Usage};
use crate::{anthropic, openai_chat, openai_responses};

/// The most text and tool-call arguments, together, a streamed reply may
/// carry (32 MiB, far beyond any model's output limit): a guard against a
/// server that never stops.
pub const MAX_STREAMED_BYTES: usize = 32 * 1024 * 1024;

/// Returns the request path below the base URL.
pub(crate) fn path(api: Api) -> &'static str {
    match api {
        Api::Messages => anthropic::PATH,
        Api::Chat => openai_chat::PATH,
        Api::Responses => openai_responses::PATH,
        Api::Scripted => "",
    }
}

/// Returns the base URL of a full endpoint URL: `location` without the
/// request path of one of the protocols, if it ends with one.
pub(crate) fn base_of(location: &str) -> Option<&str> {
    [Api::Messages, Api::Chat, Api::Responses]
        .into_iter()
        .find_map(|api| location.strip_suffix(path(api)))
        .filter(|base| !base.is_empty())
}

/// Returns the JSON body `request` becomes in `api`'s protocol.
///
/// # Errors
/// [`LlmError::Settings`] for [`Api::Scripted`], which has no wire format.
pub fn request_body(api: Api, request: &ChatRequest) -> Result<Value, LlmError> {
    match api {
        Api::Messages => Ok(anthropic::request_body(request)),
        Api::Chat => Ok(openai_chat::request_body(request)),
        Api::Responses => Ok(openai_responses::request_body(request)),
        Api::Scripted => Err(no_wire_format()),
    }
}

/// Parses a complete (non-streaming) response body of `api`'s protocol.
///
/// Unknown content types are skipped; tool-call arguments are kept as the
/// raw text the model sent. Never panics, whatever the bytes.
pub fn parse_response(api: Api, body: &[u8]) -> Result<ChatResponse, LlmError> {
    match api {
        Api::Messages => anthropic::parse_response(body),
        Api::Chat => openai_chat::parse_response(body),
        Api::Responses => openai_responses::parse_response(body),
        Api::Scripted => Err(no_wire_format()),
    }
}

fn no_wire_format() -> LlmError {
    LlmError::Settings {
        detail: "the scripted provider has no wire format; use `ScriptedProvider` directly".into(),
    }
}

/// Turns a streamed response body, fed in chunks as they arrive, into
/// [`StreamEvent`]s and, at the end, the [`ChatResponse`].
///
/// Never panics, whatever the bytes: malformed input is
/// [`LlmError::Protocol`], input that stops before the protocol's last event
/// is [`LlmError::StreamClosed`], and an error event is
/// [`LlmError::Provider`]. A reply whose text and tool-call arguments pass
/// [`MAX_STREAMED_BYTES`] is [`LlmError::Protocol`], and what passes the
/// limit is not forwarded. After an error the decoder is spent.
pub struct StreamDecoder {
    sse: SseParser,
    state: State,
    /// Bytes of text and tool-call arguments seen so far.
    streamed: usize,
}

enum State {
    Messages(anthropic::Decoder),
    Chat(openai_chat::Decoder),
    Responses(openai_responses::Decoder),
}

impl StreamDecoder {
    /// Returns a decoder for `api`'s event stream.
    ///
    /// # Errors
    /// [`LlmError::Settings`] for [`Api::Scripted`], which has no wire format.
    pub fn new(api: Api) -> Result<Self, LlmError> {
        let state = match api {
            Api::Messages => State::Messages(anthropic::Decoder::default()),
            Api::Chat => State::Chat(openai_chat::Decoder::default()),
            Api::Responses => State::Responses(openai_responses::Decoder::default()),
            Api::Scripted => return Err(no_wire_format()),
        };
        Ok(Self {
            sse: SseParser::new(),
            state,
            streamed: 0,
        })
    }

    /// Feeds one chunk of the body; events it completes go to `on_event`.
    pub fn push(
        &mut self,
        chunk: &[u8],
        on_event: &mut dyn FnMut(StreamEvent),
    ) -> Result<(), LlmError> {
        if self.is_done() {
            return Ok(());
        }
        let events = self.sse.push(chunk).map_err(sse_error)?;
        for event in events {
            if self.is_done() {
                break;
            }
            let mut streamed = self.streamed;
            let mut forward = |event: StreamEvent| {
                streamed = streamed.saturating_add(match &event {
                    StreamEvent::Text(text) => text.len(),
                    StreamEvent::ToolArguments { delta, .. } => delta.len(),
                    StreamEvent::ToolCallStarted { .. } => 0,
                });
                if streamed <= MAX_STREAMED_BYTES {
                    on_event(event);
                }
            };
            match &mut self.state {
                State::Messages(decoder) => decoder.event(&event, &mut forward)?,
                State::Chat(decoder) => decoder.event(&event, &mut forward)?,
                State::Responses(decoder) => decoder.event(&event, &mut forward)?,
            }
            self.streamed = streamed;
            if self.streamed > MAX_STREAMED_BYTES {
                return Err(LlmError::protocol(format!(
                    "a streamed reply with more than {MAX_STREAMED_BYTES} bytes (32 MiB) of text and tool-call arguments, the most this client keeps"
                )));
            }
        }
        Ok(())
    }

    /// Returns the usage the stream has reported so far. Messages reports
    /// input tokens at the start and output tokens near the end, Chat
    /// Completions everything in its last chunk, Responses only in its
    /// terminal event (so nothing before it).
    #[must_use]
    pub fn usage(&self) -> Usage {
        match &self.state {
            State::Messages(decoder) => decoder.usage(),
            State::Chat(decoder) => decoder.usage(),
            State::Responses(_) => Usage::default(),
        }
    }

    /// Returns true once the protocol's last event has arrived; what
    /// follows it is ignored.
    #[must_use]
    pub fn is_done(&self) -> bool {
        match &self.state {
            State::Messages(decoder) => decoder.is_done(),
            State::Chat(decoder) => decoder.is_done(),
            State::Responses(decoder) => decoder.is_done(),
        }
    }

    /// Ends the body and returns the response it held.
    pub fn finish(mut self) -> Result<ChatResponse, LlmError> {
        if !self.is_done() {
            self.sse.finish().map_err(sse_error)?;
        }
        match self.state {
            State::Messages(decoder) => decoder.finish(),
            State::Chat(decoder) => decoder.finish(),
            State::Responses(decoder) => decoder.finish(),
        }
    }
}

fn sse_error(error: SseError) -> LlmError {
    if error.is_truncated() {
        LlmError::stream_closed(error.to_string())
    } else {
        LlmError::protocol(error.to_string())
    }
}

/// An error object as the providers send it: Anthropic's `{type, message}`
/// and OpenAI's `{message, type, code}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<Value>,
    message: Option<String>,
}

impl ErrorBody {
    pub(crate) fn into_error(self) -> LlmError {
        let code = match self.code {
            Some(Value::String(code)) => Some(code),
            Some(Value::Number(code)) => Some(code.to_string()),
            _ => None,
        };
        LlmError::Provider {
            kind: code.or(self.kind).unwrap_or_else(|| "error".to_owned()),
            message: self
                .message
                .unwrap_or_else(|| "(the provider gave no message)".to_owned()),
        }
    }
}

/// Returns the `type` of a JSON object.
pub(crate) fn block_type(raw: &RawValue, what: &str) -> Result<String, LlmError> {
    #[derive(Deserialize)]
    struct Typed {
        #[serde(rename = "type")]
        kind: String,
    }
    serde_json::from_str::<Typed>(raw.get())
        .map(|typed| typed.kind)
        .map_err(|e| json_error(what, &e))
}

/// Reads `{"text": ...}` as a text block.
pub(crate) fn text_block(raw: &RawValue, what: &str) -> Result<Block, LlmError> {
    #[derive(Deserialize)]
    struct Text {
        text: String,
    }
    serde_json::from_str::<Text>(raw.get())
        .map(|t| Block::Text { text: t.text })
        .map_err(|e| json_error(what, &e))
}

/// Parses an event's JSON payload, naming the event when it is malformed.
pub(crate) fn event_json<'a, T: Deserialize<'a>>(
    data: &'a str,
    event: &str,
) -> Result<T, LlmError> {
    serde_json::from_str(data).map_err(|e| json_error(&format!("the `{event}` event"), &e))
}

pub(crate) fn json_error(what: &str, error: &serde_json::Error) -> LlmError {
    LlmError::protocol(format!("{what} is not the JSON expected: {error}"))
}
