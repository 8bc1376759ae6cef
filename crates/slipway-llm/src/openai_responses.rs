//! OpenAI Responses: the request body, the response object, and (in
//! `stream`) its semantic events.
//!
//! Requests are stateless (`store: false`): the whole conversation is sent
//! each time, as with the other protocols, so the prefix stays cacheable.

mod stream;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::wire::{ErrorBody, block_type, json_error};
use crate::{Block, ChatRequest, ChatResponse, LlmError, Role, StopReason, Usage};

pub(crate) use stream::Decoder;

/// The request path below the base URL (which ends in `/v1`).
pub(crate) const PATH: &str = "/responses";

/// Returns the request body.
pub(crate) fn request_body(request: &ChatRequest) -> Value {
    let mut input = Vec::new();
    for message in &request.messages {
        let role = match message.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        for block in &message.content {
            input.push(match block {
                Block::Text { text } => json!({"role": role, "content": text}),
                Block::ToolCall {
                    id,
                    name,
                    arguments,
                } => json!({
                    "type": "function_call",
                    "call_id": id,
                    "name": name,
                    "arguments": arguments,
                }),
                Block::ToolResult {
                    call_id, content, ..
                } => json!({
                    "type": "function_call_output",
                    "call_id": call_id,
                    "output": content,
                }),
            });
        }
    }
    let mut body = json!({
        "model": request.model,
        "input": input,
        "max_output_tokens": request.max_tokens,
        "store": false,
    });
    if !request.system.is_empty() {
        body["instructions"] = Value::String(request.system.clone());
    }
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.input_schema,
                    "strict": false,
                })
            })
            .collect();
    }
    if request.stream {
        body["stream"] = Value::Bool(true);
    }
    body
}

/// The response object, as returned whole or carried by the
/// `response.completed` / `response.incomplete` / `response.failed` events.
#[derive(Deserialize)]
pub(crate) struct WireResponse<'a> {
    id: Option<String>,
    model: Option<String>,
    status: Option<String>,
    #[serde(borrow, default)]
    pub(crate) output: Vec<&'a RawValue>,
    incomplete_details: Option<IncompleteDetails>,
    usage: Option<WireUsage>,
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
struct IncompleteDetails {
    reason: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    input_tokens_details: Option<InputDetails>,
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct InputDetails {
    cached_tokens: Option<u64>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct OutputDetails {
    reasoning_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct MessageItem<'a> {
    #[serde(borrow, default)]
    content: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct FunctionCallItem {
    call_id: Option<String>,
    id: Option<String>,
    name: Option<String>,
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct RefusalPart {
    refusal: String,
}

/// Parses a non-streaming response body.
pub(crate) fn parse_response(body: &[u8]) -> Result<ChatResponse, LlmError> {
    let parsed: WireResponse<'_> =
        serde_json::from_slice(body).map_err(|e| json_error("the Responses response", &e))?;
    let items = parsed.output.clone();
    finish_response(parsed, &items)
}

/// Builds the response from the response object and the output items
/// (taken from the object, or collected from a stream).
pub(crate) fn finish_response(
    response: WireResponse<'_>,
    items: &[&RawValue],
) -> Result<ChatResponse, LlmError> {
    if response.status.as_deref() == Some("failed") || response.error.is_some() {
        return Err(response.error.unwrap_or_default().into_error());
    }
    let mut content = Vec::new();
    let mut refused = false;
    for item in items {
        parse_item(item, &mut content, &mut refused)?;
    }
    let has_calls = content.iter().any(|b| matches!(b, Block::ToolCall { .. }));
    let incomplete = response
        .incomplete_details
        .and_then(|details| details.reason)
        .filter(|_| response.status.as_deref() == Some("incomplete"));
    let stop = match incomplete.as_deref() {
        Some("max_output_tokens") => StopReason::MaxTokens,
        Some("content_filter") => StopReason::Refusal,
        Some(other) => StopReason::Other(other.to_owned()),
        None if refused => StopReason::Refusal,
        None if has_calls => StopReason::ToolUse,
        None => StopReason::EndTurn,
    };
    Ok(ChatResponse {
        id: response.id,
        model: response.model.unwrap_or_default(),
        content,
        stop,
        usage: response.usage.map(to_usage).unwrap_or_default(),
    })
}

fn parse_item(
    item: &RawValue,
    content: &mut Vec<Block>,
    refused: &mut bool,
) -> Result<(), LlmError> {
    match block_type(item, "a Responses output item")?.as_str() {
        "message" => {
            let message: MessageItem<'_> = serde_json::from_str(item.get())
                .map_err(|e| json_error("a Responses message item", &e))?;
            for part in message.content {
                match block_type(part, "a Responses content part")?.as_str() {
                    "output_text" => {
                        let block = crate::wire::text_block(part, "a Responses output_text part")?;
                        if !matches!(&block, Block::Text { text } if text.is_empty()) {
                            content.push(block);
                        }
                    }
                    "refusal" => {
                        let refusal: RefusalPart = serde_json::from_str(part.get())
                            .map_err(|e| json_error("a Responses refusal part", &e))?;
                        *refused = true;
                        content.push(Block::Text {
                            text: refusal.refusal,
                        });
                    }
                    kind => {
                        tracing::warn!(part_type = %kind, "skipping a Responses content part of unknown type");
                    }
                }
            }
        }
        "function_call" => {
            let call: FunctionCallItem = serde_json::from_str(item.get())
                .map_err(|e| json_error("a Responses function_call item", &e))?;
            content.push(Block::ToolCall {
                id: call.call_id.or(call.id).unwrap_or_default(),
                name: call.name.unwrap_or_default(),
                arguments: call.arguments.unwrap_or_default(),
            });
        }
        "reasoning" => {}
        kind => {
            tracing::warn!(item_type = %kind, "skipping a Responses output item of unknown type");
        }
    }
    Ok(())
}

fn to_usage(usage: WireUsage) -> Usage {
    let cached = usage
        .input_tokens_details
        .and_then(|d| d.cached_tokens)
        .unwrap_or(0);
    Usage {
        input_tokens: usage.input_tokens.unwrap_or(0).saturating_sub(cached),
        cache_read_tokens: cached,
        cache_write_tokens: 0,
        output_tokens: usage.output_tokens.unwrap_or(0),
        reasoning_tokens: usage
            .output_tokens_details
            .and_then(|d| d.reasoning_tokens)
            .unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Message, ToolSpec};

    #[test]
    fn body_uses_items_and_flat_function_tools() {
        let request = ChatRequest {
            model: "gpt-test".into(),
            system: "sys".into(),
            messages: vec![
                Message::user("go"),
                Message::assistant(vec![Block::ToolCall {
                    id: "call_1".into(),
                    name: "ls".into(),
                    arguments: "{}".into(),
                }]),
                Message {
                    role: Role::User,
                    content: vec![Block::ToolResult {
                        call_id: "call_1".into(),
                        content: "a.rs".into(),
                        is_error: false,
                    }],
                },
            ],
            tools: vec![ToolSpec {
                name: "ls".into(),
                description: "list".into(),
                input_schema: json!({"type": "object"}),
            }],
            max_tokens: 50,
            stream: false,
        };
        let body = request_body(&request);
        assert_eq!(body["instructions"], "sys");
        assert_eq!(body["input"][0], json!({"role": "user", "content": "go"}));
        assert_eq!(body["input"][1]["type"], "function_call");
        assert_eq!(body["input"][2]["type"], "function_call_output");
        assert_eq!(body["tools"][0]["name"], "ls");
        assert_eq!(body["tools"][0]["parameters"]["type"], "object");
        assert_eq!(body["store"], false);
    }

    #[test]
    fn response_reads_items_usage_and_stop() {
        let body = br#"{"id":"resp_1","object":"response","status":"completed","model":"m",
            "output":[{"type":"reasoning","id":"rs_1","summary":[]},
                      {"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Hi","annotations":[]}]},
                      {"type":"web_search_call","id":"ws_1"},
                      {"type":"function_call","id":"fc_1","call_id":"call_1","name":"ls","arguments":"{\"p\":"}],
            "usage":{"input_tokens":50,"input_tokens_details":{"cached_tokens":30},"output_tokens":9,"output_tokens_details":{"reasoning_tokens":4},"total_tokens":59}}"#;
        let response = parse_response(body).unwrap();
        assert_eq!(response.text(), "Hi");
        assert_eq!(response.tool_calls(), vec![("call_1", "ls", "{\"p\":")]);
        assert_eq!(response.stop, StopReason::ToolUse);
        assert_eq!(response.usage.input_tokens, 20);
        assert_eq!(response.usage.cache_read_tokens, 30);
        assert_eq!(response.usage.reasoning_tokens, 4);
    }

    #[test]
    fn incomplete_and_failed_responses() {
        let body = br#"{"id":"r","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[]}"#;
        assert_eq!(parse_response(body).unwrap().stop, StopReason::MaxTokens);
        let body = br#"{"id":"r","status":"failed","error":{"code":"server_error","message":"oops"},"output":[]}"#;
        let error = parse_response(body).unwrap_err();
        assert!(error.is_retryable(), "{error}");
    }
}
