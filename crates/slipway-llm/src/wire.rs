//! What the three protocols share: request bodies and response parsing by
//! [`Api`], the streaming decoder, and small JSON helpers.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::sse::{SseError, SseParser};
use crate::{Api, Block, ChatRequest, ChatResponse, LlmError, StreamEvent};
use crate::{anthropic, openai_chat, openai_responses};

/// Returns the request path below the base URL.
pub(crate) fn path(api: Api) -> &'static str {
    match api {
        Api::Messages => anthropic::PATH,
        Api::Chat => openai_chat::PATH,
        Api::Responses => openai_responses::PATH,
        Api::Scripted => "",
    }
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
/// [`LlmError::Provider`]. After an error the decoder is spent.
pub struct StreamDecoder {
    sse: SseParser,
    state: State,
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
            match &mut self.state {
                State::Messages(decoder) => decoder.event(&event, on_event)?,
                State::Chat(decoder) => decoder.event(&event, on_event)?,
                State::Responses(decoder) => decoder.event(&event, on_event)?,
            }
        }
        Ok(())
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
