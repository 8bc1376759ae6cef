//! Anthropic's streaming events: `message_start`, `content_block_start`,
//! `content_block_delta` (`text_delta`, `input_json_delta`, `thinking_delta`,
//! `signature_delta`, …), `content_block_stop`, `message_delta`,
//! `message_stop`, `ping` and `error`. Event types added later are ignored,
//! as Anthropic's versioning policy asks.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{WireUsage, is_thinking, stop_reason};
use crate::sse::SseEvent;
use crate::wire::{ErrorBody, block_type, event_json, json_error};
use crate::{Block, ChatResponse, LlmError, StopReason, StreamEvent, Usage};

/// One streamed response being put together.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    id: Option<String>,
    model: String,
    blocks: BTreeMap<u64, Partial>,
    stop: Option<String>,
    usage: Usage,
    done: bool,
}

#[derive(Debug)]
enum Partial {
    Text(String),
    Tool {
        id: String,
        name: String,
        /// `input_json_delta` fragments, concatenated.
        json: String,
        /// The `input` of `content_block_start`, used when no fragment came.
        initial: String,
    },
    Skipped,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: String,
    message: Option<Start>,
    index: Option<u64>,
    #[serde(borrow)]
    content_block: Option<&'a RawValue>,
    delta: Option<Delta>,
    usage: Option<WireUsage>,
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
struct Start {
    id: Option<String>,
    model: Option<String>,
    usage: Option<WireUsage>,
}

/// The `delta` of `content_block_delta` and of `message_delta`.
#[derive(Deserialize)]
struct Delta {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    partial_json: Option<String>,
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct ToolStart<'a> {
    id: String,
    name: String,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
}

impl Decoder {
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    pub(crate) fn usage(&self) -> Usage {
        self.usage
    }

    pub(crate) fn event(
        &mut self,
        event: &SseEvent,
        on_event: &mut dyn FnMut(StreamEvent),
    ) -> Result<(), LlmError> {
        let name = event.event.as_deref().unwrap_or("message");
        let parsed: Event<'_> = event_json(&event.data, name)?;
        match parsed.kind.as_str() {
            "message_start" => {
                let start = parsed
                    .message
                    .ok_or_else(|| missing("message_start", "message"))?;
                self.id = start.id;
                self.model = start.model.unwrap_or_default();
                if let Some(usage) = start.usage {
                    usage.apply(&mut self.usage);
                }
            }
            "content_block_start" => {
                let index = parsed
                    .index
                    .ok_or_else(|| missing("content_block_start", "index"))?;
                let raw = parsed
                    .content_block
                    .ok_or_else(|| missing("content_block_start", "content_block"))?;
                let partial = start_block(raw, on_event)?;
                self.blocks.insert(index, partial);
            }
            "content_block_delta" => {
                let index = parsed
                    .index
                    .ok_or_else(|| missing("content_block_delta", "index"))?;
                let delta = parsed
                    .delta
                    .ok_or_else(|| missing("content_block_delta", "delta"))?;
                let block = self.blocks.get_mut(&index).ok_or_else(|| {
                    LlmError::protocol(format!(
                        "a `content_block_delta` for block {index}, which never started"
                    ))
                })?;
                apply_delta(block, delta, on_event);
            }
            "message_delta" => {
                if let Some(reason) = parsed.delta.and_then(|delta| delta.stop_reason) {
                    self.stop = Some(reason);
                }
                if let Some(usage) = parsed.usage {
                    usage.apply(&mut self.usage);
                }
            }
            "message_stop" => self.done = true,
            "error" => return Err(parsed.error.unwrap_or_default().into_error()),
            // `ping`, `content_block_stop`, and event types added later.
            _ => {}
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<ChatResponse, LlmError> {
        if !self.done {
            return Err(LlmError::stream_closed(
                "the Messages stream ended before `message_stop`",
            ));
        }
        let content = self
            .blocks
            .into_values()
            .filter_map(|block| match block {
                Partial::Text(text) if text.is_empty() => None,
                Partial::Text(text) => Some(Block::Text { text }),
                Partial::Tool {
                    id,
                    name,
                    json,
                    initial,
                } => Some(Block::ToolCall {
                    id,
                    name,
                    arguments: if json.is_empty() { initial } else { json },
                }),
                Partial::Skipped => None,
            })
            .collect();
        Ok(ChatResponse {
            id: self.id,
            model: self.model,
            content,
            stop: self.stop.map_or(StopReason::Other("none".to_owned()), |s| {
                stop_reason(Some(&s))
            }),
            usage: self.usage,
        })
    }
}

fn start_block(raw: &RawValue, on_event: &mut dyn FnMut(StreamEvent)) -> Result<Partial, LlmError> {
    let kind = block_type(raw, "a streamed Messages content block")?;
    match kind.as_str() {
        "text" => {
            let Block::Text { text } =
                crate::wire::text_block(raw, "a streamed Messages text block")?
            else {
                return Ok(Partial::Skipped);
            };
            if !text.is_empty() {
                on_event(StreamEvent::Text(text.clone()));
            }
            Ok(Partial::Text(text))
        }
        "tool_use" => {
            let tool: ToolStart<'_> = serde_json::from_str(raw.get())
                .map_err(|e| json_error("a streamed Messages tool_use block", &e))?;
            on_event(StreamEvent::ToolCallStarted {
                id: tool.id.clone(),
                name: tool.name.clone(),
            });
            Ok(Partial::Tool {
                id: tool.id,
                name: tool.name,
                json: String::new(),
                initial: tool
                    .input
                    .map_or_else(|| "{}".to_owned(), |input| input.get().to_owned()),
            })
        }
        kind => {
            if !is_thinking(kind) {
                tracing::warn!(block_type = %kind, "skipping a streamed Messages content block of unknown type");
            }
            Ok(Partial::Skipped)
        }
    }
}

fn apply_delta(block: &mut Partial, delta: Delta, on_event: &mut dyn FnMut(StreamEvent)) {
    match (block, delta.kind.as_deref()) {
        (Partial::Text(text), Some("text_delta")) => {
            if let Some(piece) = delta.text.filter(|piece| !piece.is_empty()) {
                text.push_str(&piece);
                on_event(StreamEvent::Text(piece));
            }
        }
        (Partial::Tool { id, json, .. }, Some("input_json_delta")) => {
            if let Some(piece) = delta.partial_json.filter(|piece| !piece.is_empty()) {
                json.push_str(&piece);
                on_event(StreamEvent::ToolArguments {
                    id: id.clone(),
                    delta: piece,
                });
            }
        }
        // Thinking, signatures, citations, deltas of skipped blocks, and
        // delta types added later.
        _ => {}
    }
}

fn missing(event: &str, field: &str) -> LlmError {
    LlmError::protocol(format!("a `{event}` event without `{field}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Api, StreamDecoder};

    const STREAM: &str = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"m\",\"stop_reason\":null,\"usage\":{\"input_tokens\":10,\"cache_creation_input_tokens\":3,\"cache_read_input_tokens\":4,\"output_tokens\":1}}}\n\n",
        "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"sig\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"ls\",\"input\":{}}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"pa\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"th\\\": \\\".\\\"}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
        "event: message_delta\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":42}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );

    fn decode(input: &str) -> (Vec<StreamEvent>, Result<ChatResponse, LlmError>) {
        let mut events = Vec::new();
        let mut decoder = StreamDecoder::new(Api::Messages).unwrap();
        let pushed = decoder.push(input.as_bytes(), &mut |event| events.push(event));
        (events, pushed.and_then(|()| decoder.finish()))
    }

    #[test]
    fn a_full_stream_becomes_events_and_a_response() {
        let (events, response) = decode(STREAM);
        let response = response.unwrap();
        assert_eq!(
            events,
            vec![
                StreamEvent::Text("Hi".into()),
                StreamEvent::ToolCallStarted {
                    id: "t1".into(),
                    name: "ls".into()
                },
                StreamEvent::ToolArguments {
                    id: "t1".into(),
                    delta: "{\"pa".into()
                },
                StreamEvent::ToolArguments {
                    id: "t1".into(),
                    delta: "th\": \".\"}".into()
                },
            ]
        );
        assert_eq!(response.id.as_deref(), Some("msg_1"));
        assert_eq!(response.text(), "Hi");
        assert_eq!(
            response.tool_calls(),
            vec![("t1", "ls", "{\"path\": \".\"}")]
        );
        assert_eq!(response.stop, StopReason::ToolUse);
        assert_eq!(
            response.usage,
            Usage {
                input_tokens: 10,
                cache_write_tokens: 3,
                cache_read_tokens: 4,
                output_tokens: 42,
                reasoning_tokens: 0,
            }
        );
    }

    #[test]
    fn a_stream_without_message_stop_is_cut() {
        let cut = STREAM.replace(
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
            "",
        );
        let (_, response) = decode(&cut);
        assert!(
            matches!(response, Err(LlmError::StreamClosed { .. })),
            "{response:?}"
        );
    }

    #[test]
    fn an_error_event_is_a_provider_error() {
        let input = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        let (_, response) = decode(input);
        let error = response.unwrap_err();
        assert!(error.is_retryable());
        assert_eq!(
            error.to_string(),
            "the model provider reported `overloaded_error`: Overloaded"
        );
    }

    #[test]
    fn malformed_event_json_is_a_protocol_error_naming_the_event() {
        let (_, response) = decode("event: content_block_delta\ndata: {nope\n\n");
        let error = response.unwrap_err();
        assert!(matches!(error, LlmError::Protocol { .. }));
        assert!(
            error.to_string().contains("`content_block_delta`"),
            "{error}"
        );
    }
}
