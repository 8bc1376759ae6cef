//! OpenAI Chat Completions, also spoken by most OpenAI-compatible servers:
//! the request body, the response body, and (in `stream`) the chunks.

mod stream;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::wire::{ErrorBody, json_error};
use crate::{Block, ChatRequest, ChatResponse, LlmError, Role, StopReason, Usage};

pub(crate) use stream::Decoder;

/// The request path below the base URL (which ends in `/v1`).
pub(crate) const PATH: &str = "/chat/completions";

/// Returns the request body. Streaming asks for the usage chunk
/// (`stream_options.include_usage`).
pub(crate) fn request_body(request: &ChatRequest) -> Value {
    let mut messages = Vec::new();
    if !request.system.is_empty() {
        messages.push(json!({"role": "system", "content": request.system}));
    }
    for message in &request.messages {
        push_message(&mut messages, message);
    }
    let mut body = json!({
        "model": request.model,
        "messages": messages,
        "max_completion_tokens": request.max_tokens,
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.input_schema,
                    },
                })
            })
            .collect();
    }
    if request.stream {
        body["stream"] = Value::Bool(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

/// Appends one neutral message as Chat messages: tool results become `tool`
/// messages (first, since they must follow the assistant's calls), text a
/// `user` or `assistant` message, and an assistant's calls its `tool_calls`.
fn push_message(messages: &mut Vec<Value>, message: &crate::Message) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in &message.content {
        match block {
            Block::Text { text: piece } => text.push_str(piece),
            Block::ToolCall {
                id,
                name,
                arguments,
            } => calls.push(json!({
                "id": id,
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            })),
            Block::ToolResult {
                call_id, content, ..
            } => messages.push(json!({
                "role": "tool",
                "tool_call_id": call_id,
                "content": content,
            })),
        }
    }
    match message.role {
        Role::User if !text.is_empty() => {
            messages.push(json!({"role": "user", "content": text}));
        }
        Role::User => {}
        Role::Assistant => {
            let mut assistant = json!({"role": "assistant"});
            assistant["content"] = if text.is_empty() {
                Value::Null
            } else {
                Value::String(text)
            };
            if !calls.is_empty() {
                assistant["tool_calls"] = Value::Array(calls);
            }
            messages.push(assistant);
        }
    }
}

#[derive(Deserialize)]
struct Completion {
    id: Option<String>,
    model: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<WireUsage>,
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Deserialize)]
struct WireToolCall {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    function: Option<WireFunction>,
}

#[derive(Deserialize)]
struct WireFunction {
    name: Option<String>,
    arguments: Option<String>,
}

/// Chat's usage object. `prompt_tokens` counts the cached ones too.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub(crate) struct WireUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct PromptDetails {
    cached_tokens: Option<u64>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct CompletionDetails {
    reasoning_tokens: Option<u64>,
}

impl WireUsage {
    pub(crate) fn to_usage(self) -> Usage {
        let cached = self
            .prompt_tokens_details
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0);
        Usage {
            input_tokens: self.prompt_tokens.unwrap_or(0).saturating_sub(cached),
            cache_read_tokens: cached,
            cache_write_tokens: 0,
            output_tokens: self.completion_tokens.unwrap_or(0),
            reasoning_tokens: self
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

/// Parses a non-streaming response body.
pub(crate) fn parse_response(body: &[u8]) -> Result<ChatResponse, LlmError> {
    let parsed: Completion = serde_json::from_slice(body)
        .map_err(|e| json_error("the Chat Completions response", &e))?;
    if let Some(error) = parsed.error {
        return Err(error.into_error());
    }
    let choice = parsed
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| LlmError::protocol("the Chat Completions response has no `choices`"))?;
    let mut content = Vec::new();
    let refused = choice.message.refusal.is_some();
    if let Some(text) = choice.message.content.or(choice.message.refusal)
        && !text.is_empty()
    {
        content.push(Block::Text { text });
    }
    for call in choice.message.tool_calls.unwrap_or_default() {
        match (call.kind.as_deref(), call.function) {
            (None | Some("function"), Some(function)) => content.push(Block::ToolCall {
                id: call.id.unwrap_or_default(),
                name: function.name.unwrap_or_default(),
                arguments: function.arguments.unwrap_or_default(),
            }),
            (kind, _) => {
                tracing::warn!(tool_call_type = ?kind, "skipping a Chat Completions tool call of unknown type");
            }
        }
    }
    let stop = if refused {
        StopReason::Refusal
    } else {
        finish_reason(choice.finish_reason.as_deref())
    };
    Ok(ChatResponse {
        id: parsed.id,
        model: parsed.model.unwrap_or_default(),
        content,
        stop,
        usage: parsed.usage.map(WireUsage::to_usage).unwrap_or_default(),
    })
}

pub(crate) fn finish_reason(reason: Option<&str>) -> StopReason {
    match reason {
        Some("stop") => StopReason::EndTurn,
        Some("tool_calls" | "function_call") => StopReason::ToolUse,
        Some("length") => StopReason::MaxTokens,
        Some("content_filter") => StopReason::Refusal,
        Some(other) => StopReason::Other(other.to_owned()),
        None => StopReason::Other("none".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Message, ToolSpec};

    #[test]
    fn body_orders_tool_results_before_text_and_asks_for_usage() {
        let request = ChatRequest {
            model: "gpt-test".into(),
            system: "sys".into(),
            messages: vec![
                Message::user("go"),
                Message::assistant(vec![Block::ToolCall {
                    id: "c1".into(),
                    name: "ls".into(),
                    arguments: "{bad".into(),
                }]),
                Message {
                    role: Role::User,
                    content: vec![
                        Block::text("and then"),
                        Block::ToolResult {
                            call_id: "c1".into(),
                            content: "a.rs".into(),
                            is_error: false,
                        },
                    ],
                },
            ],
            tools: vec![ToolSpec {
                name: "ls".into(),
                description: "list".into(),
                input_schema: json!({"type": "object"}),
            }],
            max_tokens: 50,
            stream: true,
        };
        let body = request_body(&request);
        let roles: Vec<&str> = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["system", "user", "assistant", "tool", "user"]);
        assert_eq!(body["messages"][2]["content"], Value::Null);
        assert_eq!(
            body["messages"][2]["tool_calls"][0]["function"]["arguments"],
            "{bad"
        );
        assert_eq!(body["tools"][0]["function"]["parameters"]["type"], "object");
        assert_eq!(body["stream_options"]["include_usage"], true);
    }

    #[test]
    fn usage_splits_cached_input_out() {
        let body = br#"{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":100,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":60},"completion_tokens_details":{"reasoning_tokens":5}}}"#;
        let response = parse_response(body).unwrap();
        assert_eq!(response.text(), "hi");
        assert_eq!(response.stop, StopReason::EndTurn);
        assert_eq!(
            response.usage,
            Usage {
                input_tokens: 40,
                cache_read_tokens: 60,
                cache_write_tokens: 0,
                output_tokens: 20,
                reasoning_tokens: 5,
            }
        );
    }

    #[test]
    fn no_choices_is_a_protocol_error() {
        let error = parse_response(br#"{"id":"c","choices":[]}"#).unwrap_err();
        assert!(matches!(error, LlmError::Protocol { .. }), "{error}");
    }
}
