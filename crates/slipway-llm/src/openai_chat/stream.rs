//! Chat Completions streaming: `chat.completion.chunk` objects, one per
//! `data:` line, ending with `data: [DONE]`. Tool calls arrive in pieces
//! keyed by `index` (the id and name first, then argument fragments), and
//! several may interleave; the usage comes in a last chunk without choices.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{WireUsage, finish_reason};
use crate::sse::SseEvent;
use crate::wire::{ErrorBody, event_json};
use crate::{Block, ChatResponse, LlmError, StopReason, StreamEvent, Usage};

#[derive(Debug, Default)]
pub(crate) struct Decoder {
    id: Option<String>,
    model: String,
    text: String,
    refused: bool,
    calls: BTreeMap<u64, PartialCall>,
    finish: Option<String>,
    usage: Usage,
    done: bool,
}

#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
    /// `ToolCallStarted` was sent (it needs the id and the name).
    announced: bool,
}

#[derive(Deserialize)]
struct Chunk {
    id: Option<String>,
    model: Option<String>,
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    usage: Option<WireUsage>,
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    index: u64,
    delta: Option<ChunkDelta>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChunkDelta {
    content: Option<String>,
    refusal: Option<String>,
    tool_calls: Option<Vec<CallDelta>>,
}

#[derive(Deserialize)]
struct CallDelta {
    #[serde(default)]
    index: u64,
    id: Option<String>,
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    name: Option<String>,
    arguments: Option<String>,
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
        if event.data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: Chunk = event_json(&event.data, "chat.completion.chunk")?;
        if let Some(error) = chunk.error {
            return Err(error.into_error());
        }
        if let Some(id) = chunk.id {
            self.id = Some(id);
        }
        if let Some(model) = chunk.model {
            self.model = model;
        }
        if let Some(usage) = chunk.usage {
            self.usage = usage.to_usage();
        }
        // One choice is asked for; others, if a server sends them, are ignored.
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(reason) = choice.finish_reason {
                self.finish = Some(reason);
            }
            if let Some(delta) = choice.delta {
                self.apply(delta, on_event);
            }
        }
        Ok(())
    }

    fn apply(&mut self, delta: ChunkDelta, on_event: &mut dyn FnMut(StreamEvent)) {
        for piece in [
            delta.content,
            delta.refusal.inspect(|_| self.refused = true),
        ]
        .into_iter()
        .flatten()
        .filter(|piece| !piece.is_empty())
        {
            self.text.push_str(&piece);
            on_event(StreamEvent::Text(piece));
        }
        for call_delta in delta.tool_calls.unwrap_or_default() {
            let call = self.calls.entry(call_delta.index).or_default();
            if let Some(id) = call_delta.id.filter(|id| !id.is_empty()) {
                call.id = id;
            }
            let mut fragment = String::new();
            if let Some(function) = call_delta.function {
                if let Some(name) = function.name.filter(|name| !name.is_empty()) {
                    call.name = name;
                }
                fragment = function.arguments.unwrap_or_default();
            }
            call.arguments.push_str(&fragment);
            if !call.announced && !call.id.is_empty() && !call.name.is_empty() {
                call.announced = true;
                on_event(StreamEvent::ToolCallStarted {
                    id: call.id.clone(),
                    name: call.name.clone(),
                });
                // Fragments that came before the id and name go out now.
                fragment.clone_from(&call.arguments);
            }
            if call.announced && !fragment.is_empty() {
                on_event(StreamEvent::ToolArguments {
                    id: call.id.clone(),
                    delta: fragment,
                });
            }
        }
    }

    pub(crate) fn finish(self) -> Result<ChatResponse, LlmError> {
        if !self.done {
            return Err(LlmError::stream_closed(
                "the Chat Completions stream ended before `data: [DONE]`",
            ));
        }
        let mut content = Vec::new();
        if !self.text.is_empty() {
            content.push(Block::Text { text: self.text });
        }
        content.extend(self.calls.into_values().map(|call| Block::ToolCall {
            id: call.id,
            name: call.name,
            arguments: call.arguments,
        }));
        Ok(ChatResponse {
            id: self.id,
            model: self.model,
            content,
            stop: if self.refused {
                StopReason::Refusal
            } else {
                finish_reason(self.finish.as_deref())
            },
            usage: self.usage,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Api, StreamDecoder};

    fn chunk(delta: &str, finish: &str) -> String {
        format!(
            "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
        )
    }

    fn decode(input: &str) -> (Vec<StreamEvent>, Result<ChatResponse, LlmError>) {
        let mut events = Vec::new();
        let mut decoder = StreamDecoder::new(Api::Chat).unwrap();
        let pushed = decoder.push(input.as_bytes(), &mut |event| events.push(event));
        (events, pushed.and_then(|()| decoder.finish()))
    }

    #[test]
    fn interleaved_tool_calls_are_assembled_by_index() {
        let input = [
            chunk(r#"{"role":"assistant","content":"Let me look."}"#, "null"),
            chunk(
                r#"{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"read","arguments":""}}]}"#,
                "null",
            ),
            chunk(
                r#"{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"ls","arguments":"{\"p"}}]}"#,
                "null",
            ),
            chunk(r#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":1}"}}]}"#, "null"),
            chunk(r#"{"tool_calls":[{"index":1,"function":{"arguments":"\":2}"}}]}"#, "null"),
            chunk("{}", "\"tool_calls\""),
            "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4,\"prompt_tokens_details\":{\"cached_tokens\":2},\"completion_tokens_details\":{\"reasoning_tokens\":1}}}\n\n".to_owned(),
            "data: [DONE]\n\n".to_owned(),
        ]
        .concat();
        let (events, response) = decode(&input);
        let response = response.unwrap();
        assert_eq!(response.text(), "Let me look.");
        assert_eq!(
            response.tool_calls(),
            vec![
                ("call_a", "read", "{\"x\":1}"),
                ("call_b", "ls", "{\"p\":2}")
            ]
        );
        assert_eq!(response.stop, StopReason::ToolUse);
        assert_eq!(response.usage.input_tokens, 7);
        assert_eq!(response.usage.cache_read_tokens, 2);
        assert_eq!(response.usage.reasoning_tokens, 1);
        assert_eq!(events.len(), 1 + 2 + 3);
        assert!(events.contains(&StreamEvent::ToolArguments {
            id: "call_b".into(),
            delta: "{\"p".into()
        }));
    }

    #[test]
    fn no_done_marker_is_a_cut_stream() {
        let (_, response) = decode(&chunk(r#"{"content":"hi"}"#, "null"));
        assert!(matches!(response, Err(LlmError::StreamClosed { .. })));
    }

    #[test]
    fn an_error_chunk_is_a_provider_error() {
        let (_, response) = decode(
            "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"code\":null}}\n\n",
        );
        assert_eq!(
            response.unwrap_err(),
            LlmError::Provider {
                kind: "server_error".into(),
                message: "boom".into()
            }
        );
    }
}
