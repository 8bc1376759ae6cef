//! Anthropic Messages: the request body, the response body, and (in
//! `stream`) the server-sent events.

mod stream;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::wire::{ErrorBody, block_type, json_error, text_block};
use crate::{Block, ChatRequest, ChatResponse, LlmError, Role, StopReason, Usage};

pub(crate) use stream::Decoder;

/// The request path below the base URL.
pub(crate) const PATH: &str = "/v1/messages";
/// The `anthropic-version` header this client speaks.
pub(crate) const VERSION: &str = "2023-06-01";

/// Returns the request body, with `cache_control` breakpoints where the
/// cacheable prefixes end. The API reads tools, then the system prompt, then
/// the messages, and a breakpoint caches everything before it, so there are
/// two: on the system prompt (or, without one, on the last tool), which
/// covers the tools too; and on the last block of the messages, so that the
/// next turn, which repeats this conversation, reads it from the cache. The
/// API allows four.
pub(crate) fn request_body(request: &ChatRequest) -> Value {
    let ephemeral = json!({"type": "ephemeral"});
    let mut messages: Vec<Value> = request.messages.iter().map(message).collect();
    let last_block = messages
        .iter_mut()
        .rev()
        .find_map(|message| message["content"].as_array_mut()?.last_mut());
    if let Some(block) = last_block {
        block["cache_control"] = ephemeral.clone();
    }
    let mut body = json!({
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": messages,
    });
    if !request.system.is_empty() {
        body["system"] = json!([{
            "type": "text",
            "text": request.system,
            "cache_control": ephemeral,
        }]);
    }
    if !request.tools.is_empty() {
        let mut tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.input_schema,
                })
            })
            .collect();
        if request.system.is_empty()
            && let Some(last) = tools.last_mut()
        {
            last["cache_control"] = ephemeral;
        }
        body["tools"] = Value::Array(tools);
    }
    if request.stream {
        body["stream"] = Value::Bool(true);
    }
    body
}

fn message(message: &crate::Message) -> Value {
    let role = match message.role {
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    let content: Vec<Value> = message
        .content
        .iter()
        .filter_map(|block| match block {
            // The API refuses empty text blocks.
            Block::Text { text } if text.is_empty() => None,
            Block::Text { text } => Some(json!({"type": "text", "text": text})),
            Block::ToolCall {
                id,
                name,
                arguments,
            } => Some(json!({
                "type": "tool_use",
                "id": id,
                "name": name,
                "input": tool_input(arguments),
            })),
            Block::ToolResult {
                call_id,
                content,
                is_error,
            } => {
                let mut result = json!({
                    "type": "tool_result",
                    "tool_use_id": call_id,
                    "content": content,
                });
                if *is_error {
                    result["is_error"] = Value::Bool(true);
                }
                Some(result)
            }
        })
        .collect();
    json!({"role": role, "content": content})
}

/// Returns what to send back as a past call's `input`, which the API wants
/// as an object: the arguments when they are one, else an empty object (the
/// tool result already told the model its arguments were unusable).
fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(value @ Value::Object(_)) => value,
        _ => json!({}),
    }
}

#[derive(Deserialize)]
struct MessageBody<'a> {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(borrow, default)]
    content: Vec<&'a RawValue>,
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
    error: Option<ErrorBody>,
}

/// Anthropic's usage object; every count may be absent or null.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[expect(clippy::struct_field_names, reason = "the provider's field names")]
pub(crate) struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Overwrites the counts this object carries (later events are cumulative).
    pub(crate) fn apply(&self, usage: &mut Usage) {
        let set = |target: &mut u64, value: Option<u64>| {
            if let Some(value) = value {
                *target = value;
            }
        };
        set(&mut usage.input_tokens, self.input_tokens);
        set(&mut usage.output_tokens, self.output_tokens);
        set(
            &mut usage.cache_write_tokens,
            self.cache_creation_input_tokens,
        );
        set(&mut usage.cache_read_tokens, self.cache_read_input_tokens);
    }
}

#[derive(Deserialize)]
struct ToolUse<'a> {
    id: String,
    name: String,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
}

/// Parses a non-streaming response body.
pub(crate) fn parse_response(body: &[u8]) -> Result<ChatResponse, LlmError> {
    let parsed: MessageBody<'_> =
        serde_json::from_slice(body).map_err(|e| json_error("Messages response", &e))?;
    if parsed.kind.as_deref() == Some("error") {
        return Err(parsed.error.unwrap_or_default().into_error());
    }
    let mut content = Vec::new();
    for raw in parsed.content {
        if let Some(block) = parse_block(raw)? {
            content.push(block);
        }
    }
    let mut usage = Usage::default();
    if let Some(wire) = parsed.usage {
        wire.apply(&mut usage);
    }
    Ok(ChatResponse {
        id: parsed.id,
        model: parsed.model.unwrap_or_default(),
        content,
        stop: stop_reason(parsed.stop_reason.as_deref()),
        usage,
    })
}

fn parse_block(raw: &RawValue) -> Result<Option<Block>, LlmError> {
    match block_type(raw, "Messages content block")?.as_str() {
        "text" => text_block(raw, "Messages text block").map(Some),
        "tool_use" => {
            let tool: ToolUse<'_> = serde_json::from_str(raw.get())
                .map_err(|e| json_error("Messages tool_use block", &e))?;
            Ok(Some(Block::ToolCall {
                id: tool.id,
                name: tool.name,
                arguments: tool
                    .input
                    .map_or_else(|| "{}".to_owned(), |i| i.get().to_owned()),
            }))
        }
        kind => {
            if !is_thinking(kind) {
                tracing::warn!(block_type = %kind, "skipping a Messages content block of unknown type");
            }
            Ok(None)
        }
    }
}

/// Returns true for the reasoning blocks this client does not ask for and
/// does not keep.
pub(crate) fn is_thinking(kind: &str) -> bool {
    matches!(kind, "thinking" | "redacted_thinking")
}

pub(crate) fn stop_reason(reason: Option<&str>) -> StopReason {
    match reason {
        Some("end_turn") => StopReason::EndTurn,
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some("stop_sequence") => StopReason::StopSequence,
        Some("refusal") => StopReason::Refusal,
        Some(other) => StopReason::Other(other.to_owned()),
        None => StopReason::Other("none".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Message, ToolSpec};

    fn request() -> ChatRequest {
        ChatRequest {
            model: "claude-test".into(),
            system: "be brief".into(),
            messages: vec![
                Message::user("hi"),
                Message::assistant(vec![
                    Block::text(""),
                    Block::ToolCall {
                        id: "t1".into(),
                        name: "read_file".into(),
                        arguments: "{\"path\":".into(),
                    },
                ]),
                Message {
                    role: Role::User,
                    content: vec![Block::ToolResult {
                        call_id: "t1".into(),
                        content: "bad arguments".into(),
                        is_error: true,
                    }],
                },
            ],
            tools: vec![
                ToolSpec {
                    name: "a".into(),
                    description: "A".into(),
                    input_schema: json!({"type": "object"}),
                },
                ToolSpec {
                    name: "b".into(),
                    description: "B".into(),
                    input_schema: json!({"type": "object"}),
                },
            ],
            max_tokens: 100,
            stream: false,
        }
    }

    /// Returns where the body's `cache_control` breakpoints are, as JSON
    /// pointers, in the order the API reads them.
    fn breakpoints(body: &Value) -> Vec<String> {
        fn walk(value: &Value, at: &str, found: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    if map.contains_key("cache_control") {
                        found.push(at.to_owned());
                    }
                    for (key, value) in map {
                        walk(value, &format!("{at}/{key}"), found);
                    }
                }
                Value::Array(items) => {
                    for (index, value) in items.iter().enumerate() {
                        walk(value, &format!("{at}/{index}"), found);
                    }
                }
                _ => {}
            }
        }
        let mut found = Vec::new();
        for part in ["tools", "system", "messages"] {
            walk(&body[part], &format!("/{part}"), &mut found);
        }
        found
    }

    #[test]
    fn body_marks_the_prefix_and_the_conversation_and_keeps_history_valid() {
        let body = request_body(&request());
        assert_eq!(
            breakpoints(&body),
            ["/system/0", "/messages/2/content/0"],
            "the system breakpoint covers the tools"
        );
        assert_eq!(
            body["system"][0]["cache_control"],
            json!({"type": "ephemeral"})
        );
        assert_eq!(
            body["messages"][2]["content"][0]["cache_control"],
            json!({"type": "ephemeral"})
        );
        let assistant = &body["messages"][1]["content"];
        assert_eq!(assistant.as_array().unwrap().len(), 1, "empty text dropped");
        assert_eq!(assistant[0]["input"], json!({}));
        assert_eq!(body["messages"][2]["content"][0]["is_error"], true);
        assert!(body.get("stream").is_none());
    }

    #[test]
    fn without_a_system_prompt_the_last_tool_marks_the_prefix() {
        let mut request = request();
        request.system.clear();
        let body = request_body(&request);
        assert!(body.get("system").is_none());
        assert_eq!(breakpoints(&body), ["/tools/1", "/messages/2/content/0"]);
    }

    #[test]
    fn the_conversation_breakpoint_goes_on_the_last_block_sent() {
        let mut request = request();
        request.tools.clear();
        // A last message whose only block is dropped (empty text).
        request
            .messages
            .push(Message::assistant(vec![Block::text("")]));
        let body = request_body(&request);
        assert_eq!(body["messages"][3]["content"], json!([]));
        assert_eq!(breakpoints(&body), ["/system/0", "/messages/2/content/0"]);

        request.messages.clear();
        request.system.clear();
        assert!(breakpoints(&request_body(&request)).is_empty());
    }

    #[test]
    fn response_keeps_raw_input_and_skips_unknown_blocks() {
        let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"m",
            "content":[{"type":"thinking","thinking":"hm","signature":"s"},
                       {"type":"text","text":"ok"},
                       {"type":"future_block","x":1},
                       {"type":"tool_use","id":"t","name":"n","input":{"b": 1, "a": [2]}}],
            "stop_reason":"tool_use",
            "usage":{"input_tokens":5,"output_tokens":7,"cache_creation_input_tokens":11,"cache_read_input_tokens":null}}"#;
        let response = parse_response(body).unwrap();
        assert_eq!(response.text(), "ok");
        assert_eq!(
            response.tool_calls(),
            vec![("t", "n", r#"{"b": 1, "a": [2]}"#)]
        );
        assert_eq!(response.stop, StopReason::ToolUse);
        assert_eq!(
            response.usage,
            Usage {
                input_tokens: 5,
                output_tokens: 7,
                cache_write_tokens: 11,
                ..Usage::default()
            }
        );
    }

    #[test]
    fn an_error_body_is_a_provider_error() {
        let body =
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let error = parse_response(body).unwrap_err();
        assert_eq!(
            error,
            LlmError::Provider {
                kind: "overloaded_error".into(),
                message: "Overloaded".into()
            }
        );
    }
}
