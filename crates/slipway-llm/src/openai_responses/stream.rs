//! Responses streaming: typed semantic events (`response.output_text.delta`,
//! `response.function_call_arguments.delta`, `response.output_item.done`, …)
//! ending with `response.completed`, `response.incomplete` or
//! `response.failed`; `error` reports a failure. Event types this client
//! does not use are ignored.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{WireResponse, finish_response};
use crate::sse::SseEvent;
use crate::wire::{ErrorBody, event_json, json_error};
use crate::{ChatResponse, LlmError, StreamEvent};

#[derive(Debug, Default)]
pub(crate) struct Decoder {
    /// Function calls by item id: (call id, name).
    calls: BTreeMap<String, (String, String)>,
    /// Finished output items by `output_index`.
    items: BTreeMap<u64, Box<RawValue>>,
    /// The response object of the terminal event.
    response: Option<Box<RawValue>>,
    done: bool,
}

#[derive(Deserialize)]
struct Typed {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct ItemEvent {
    output_index: Option<u64>,
    item: Box<RawValue>,
}

#[derive(Deserialize)]
struct FunctionCallStart {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    call_id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct DeltaEvent {
    item_id: Option<String>,
    delta: String,
}

#[derive(Deserialize)]
struct ResponseEvent {
    response: Box<RawValue>,
}

impl Decoder {
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    pub(crate) fn event(
        &mut self,
        event: &SseEvent,
        on_event: &mut dyn FnMut(StreamEvent),
    ) -> Result<(), LlmError> {
        let name = event.event.as_deref().unwrap_or("message");
        let kind = event_json::<Typed>(&event.data, name)?.kind;
        match kind.as_str() {
            "response.output_item.added" => {
                let added: ItemEvent = event_json(&event.data, &kind)?;
                let item: FunctionCallStart = serde_json::from_str(added.item.get())
                    .map_err(|e| json_error("the item of `response.output_item.added`", &e))?;
                if item.kind == "function_call" {
                    let call_id = item.call_id.or_else(|| item.id.clone()).unwrap_or_default();
                    let name = item.name.unwrap_or_default();
                    on_event(StreamEvent::ToolCallStarted {
                        id: call_id.clone(),
                        name: name.clone(),
                    });
                    self.calls
                        .insert(item.id.unwrap_or_else(|| call_id.clone()), (call_id, name));
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                let delta: DeltaEvent = event_json(&event.data, &kind)?;
                if !delta.delta.is_empty() {
                    on_event(StreamEvent::Text(delta.delta));
                }
            }
            "response.function_call_arguments.delta" => {
                let delta: DeltaEvent = event_json(&event.data, &kind)?;
                let call_id = delta
                    .item_id
                    .as_ref()
                    .and_then(|item| self.calls.get(item))
                    .map(|(call_id, _)| call_id.clone())
                    .ok_or_else(|| {
                        LlmError::protocol(
                            "function-call arguments for an item that was never added",
                        )
                    })?;
                if !delta.delta.is_empty() {
                    on_event(StreamEvent::ToolArguments {
                        id: call_id,
                        delta: delta.delta,
                    });
                }
            }
            "response.output_item.done" => {
                let done: ItemEvent = event_json(&event.data, &kind)?;
                let index = done
                    .output_index
                    .unwrap_or_else(|| self.items.keys().next_back().map_or(0, |last| last + 1));
                self.items.insert(index, done.item);
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                let terminal: ResponseEvent = event_json(&event.data, &kind)?;
                self.response = Some(terminal.response);
                self.done = true;
            }
            "error" => {
                let error: ErrorBody = event_json(&event.data, &kind)?;
                return Err(error.into_error());
            }
            _ => {}
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<ChatResponse, LlmError> {
        let Some(raw) = self.response.filter(|_| self.done) else {
            return Err(LlmError::stream_closed(
                "the Responses stream ended before `response.completed`",
            ));
        };
        let response: WireResponse<'_> = serde_json::from_str(raw.get())
            .map_err(|e| json_error("the response of the terminal event", &e))?;
        if response.output.is_empty() {
            let items: Vec<&RawValue> = self.items.values().map(AsRef::as_ref).collect();
            finish_response(response, &items)
        } else {
            let items = response.output.clone();
            finish_response(response, &items)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Api, StopReason, StreamDecoder};

    fn event(kind: &str, body: &str) -> String {
        format!("event: {kind}\ndata: {{\"type\":\"{kind}\",{body}}}\n\n")
    }

    fn decode(input: &str) -> (Vec<StreamEvent>, Result<ChatResponse, LlmError>) {
        let mut events = Vec::new();
        let mut decoder = StreamDecoder::new(Api::Responses).unwrap();
        let pushed = decoder.push(input.as_bytes(), &mut |event| events.push(event));
        (events, pushed.and_then(|()| decoder.finish()))
    }

    #[test]
    fn a_stream_with_text_and_a_call() {
        let call = r#"{"type":"function_call","id":"fc_1","call_id":"call_1","name":"ls","arguments":"{\"p\":1}","status":"completed"}"#;
        let input = [
            event("response.created", r#""response":{"id":"resp_1","status":"in_progress","output":[]}"#),
            event("response.output_item.added", r#""output_index":0,"item":{"type":"message","id":"msg_1","role":"assistant","content":[]}"#),
            event("response.output_text.delta", r#""item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hel""#),
            event("response.output_text.delta", r#""item_id":"msg_1","output_index":0,"content_index":0,"delta":"lo""#),
            event("response.output_item.added", r#""output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"ls","arguments":""}"#),
            event("response.function_call_arguments.delta", r#""item_id":"fc_1","output_index":1,"delta":"{\"p\":""#),
            event("response.function_call_arguments.delta", r#""item_id":"fc_1","output_index":1,"delta":"1}""#),
            event("response.output_item.done", &format!(r#""output_index":1,"item":{call}"#)),
            event(
                "response.completed",
                &format!(
                    r#""response":{{"id":"resp_1","status":"completed","model":"m","output":[{{"type":"message","id":"msg_1","role":"assistant","content":[{{"type":"output_text","text":"Hello"}}]}},{call}],"usage":{{"input_tokens":5,"output_tokens":3}}}}"#
                ),
            ),
        ]
        .concat();
        let (events, response) = decode(&input);
        let response = response.unwrap();
        assert_eq!(events[0], StreamEvent::Text("Hel".into()));
        assert_eq!(
            events[2],
            StreamEvent::ToolCallStarted {
                id: "call_1".into(),
                name: "ls".into()
            }
        );
        assert_eq!(events.len(), 5);
        assert_eq!(response.text(), "Hello");
        assert_eq!(response.tool_calls(), vec![("call_1", "ls", "{\"p\":1}")]);
        assert_eq!(response.stop, StopReason::ToolUse);
        assert_eq!(response.usage.input_tokens, 5);
    }

    #[test]
    fn without_a_terminal_event_the_stream_was_cut() {
        let input = event("response.output_text.delta", r#""item_id":"m","delta":"x""#);
        let (_, response) = decode(&input);
        assert!(matches!(response, Err(LlmError::StreamClosed { .. })));
    }

    #[test]
    fn error_events_and_failed_responses_are_provider_errors() {
        let (_, response) = decode(&event(
            "error",
            r#""code":"rate_limit_exceeded","message":"slow","param":null"#,
        ));
        assert_eq!(
            response.unwrap_err(),
            LlmError::Provider {
                kind: "rate_limit_exceeded".into(),
                message: "slow".into()
            }
        );
        let (_, response) = decode(&event(
            "response.failed",
            r#""response":{"id":"r","status":"failed","error":{"code":"server_error","message":"down"},"output":[]}"#,
        ));
        assert!(response.unwrap_err().is_retryable());
    }
}
