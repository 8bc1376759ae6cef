//! What the fake model server received, read the same way whatever the
//! protocol: the stable prefix, the tool results sent back, every string.

use serde_json::{Value, json};
use slipway_llm::Api;
use slipway_test_support::RecordedRequest;

/// A tool result as a request sent it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SentResult {
    pub(crate) call_id: String,
    pub(crate) content: String,
    /// Only Anthropic Messages carries the flag; the OpenAI protocols say it in the text.
    pub(crate) is_error: bool,
}

/// Returns the request's stable prefix, the system prompt and the tools, as sent.
pub(crate) fn prefix(api: Api, request: &RecordedRequest) -> String {
    let body = &request.body;
    let parts = match api {
        Api::Messages => json!([body["system"], body["tools"]]),
        Api::Chat => json!([body["messages"][0], body["tools"]]),
        Api::Responses => json!([body["instructions"], body["tools"]]),
        Api::Scripted => unreachable!(),
    };
    parts.to_string()
}

/// Returns the system prompt as sent.
pub(crate) fn system(api: Api, request: &RecordedRequest) -> String {
    let body = &request.body;
    let system = match api {
        Api::Messages => &body["system"][0]["text"],
        Api::Chat => &body["messages"][0]["content"],
        Api::Responses => &body["instructions"],
        Api::Scripted => unreachable!(),
    };
    system.as_str().unwrap_or_default().to_owned()
}

/// Returns the names of the tools offered.
pub(crate) fn tool_names(api: Api, request: &RecordedRequest) -> Vec<String> {
    let tools = request.body["tools"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    tools
        .iter()
        .map(|tool| {
            let name = match api {
                Api::Chat => &tool["function"]["name"],
                _ => &tool["name"],
            };
            name.as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

/// Returns every tool result the request carries, in order.
pub(crate) fn tool_results(api: Api, request: &RecordedRequest) -> Vec<SentResult> {
    let body = &request.body;
    let (items, kind, id, content): (Vec<Value>, _, _, _) = match api {
        Api::Messages => (
            messages(body)
                .iter()
                .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
                .collect(),
            ("type", "tool_result"),
            "tool_use_id",
            "content",
        ),
        Api::Chat => (messages(body), ("role", "tool"), "tool_call_id", "content"),
        Api::Responses => (
            body["input"].as_array().cloned().unwrap_or_default(),
            ("type", "function_call_output"),
            "call_id",
            "output",
        ),
        Api::Scripted => unreachable!(),
    };
    items
        .iter()
        .filter(|item| item[kind.0] == kind.1)
        .map(|item| SentResult {
            call_id: item[id].as_str().unwrap_or_default().to_owned(),
            content: item[content].as_str().unwrap_or_default().to_owned(),
            is_error: item["is_error"].as_bool().unwrap_or(false),
        })
        .collect()
}

/// Returns the ids of the tool calls a Messages request replays, in order.
pub(crate) fn replayed_calls(request: &RecordedRequest) -> Vec<String> {
    messages(&request.body)
        .iter()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter(|block| block["type"] == "tool_use")
        .map(|block| block["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn messages(body: &Value) -> Vec<Value> {
    body["messages"].as_array().cloned().unwrap_or_default()
}

/// Returns the conversation of a Messages request as (role, every string in the message).
pub(crate) fn turns(request: &RecordedRequest) -> Vec<(String, String)> {
    messages(&request.body)
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_owned(),
                strings(&m["content"]).join("\n"),
            )
        })
        .collect()
}

/// Returns every string in a JSON value, depth first.
pub(crate) fn strings(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(value, &mut out);
    out
}

fn collect(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
        Value::Object(map) => map.values().for_each(|item| collect(item, out)),
        _ => {}
    }
}

/// Returns whether any string of the request's body contains `needle`.
pub(crate) fn mentions(request: &RecordedRequest, needle: &str) -> bool {
    strings(&request.body).iter().any(|s| s.contains(needle))
}
