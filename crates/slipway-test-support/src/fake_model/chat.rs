//! OpenAI Chat Completions replies: the completion object, and its chunks
//! ending in `data: [DONE]`, with the usage chunk only when the request
//! asked for it (`stream_options.include_usage`).

use serde_json::{Value, json};

use super::{Reply, RequestInfo, pieces, sse_event};

fn finish_reason(reply: &Reply) -> String {
    reply.stop.clone().unwrap_or_else(|| {
        if reply.tool_calls.is_empty() {
            "stop".to_owned()
        } else {
            "tool_calls".to_owned()
        }
    })
}

fn usage(reply: &Reply) -> Value {
    let prompt = reply.usage.input + reply.usage.cache_read;
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": reply.usage.output,
        "total_tokens": prompt + reply.usage.output,
        "prompt_tokens_details": {"cached_tokens": reply.usage.cache_read, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reply.usage.reasoning, "audio_tokens": 0},
    })
}

pub(super) fn body(request: &RequestInfo, reply: &Reply) -> Value {
    let mut message = json!({
        "role": "assistant",
        "content": if reply.text.is_empty() { Value::Null } else { json!(reply.text) },
        "refusal": null,
    });
    let mut calls: Vec<Value> = Vec::new();
    if reply.unknown_blocks {
        calls.push(
            json!({"id": "custom_1", "type": "custom", "custom": {"name": "x", "input": "y"}}),
        );
    }
    calls.extend(reply.tool_calls.iter().map(|call| {
        json!({
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        })
    }));
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    json!({
        "id": format!("chatcmpl-fake-{}", request.number),
        "object": "chat.completion",
        "created": 0,
        "model": request.model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason(reply)}],
        "usage": usage(reply),
    })
}

pub(super) fn events(request: &RequestInfo, reply: &Reply) -> Vec<String> {
    let id = format!("chatcmpl-fake-{}", request.number);
    let chunk = |delta: Value, finish: Value| {
        sse_event(
            None,
            &json!({
                "id": id,
                "object": "chat.completion.chunk",
                "created": 0,
                "model": request.model,
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
            }),
        )
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    if reply.unknown_blocks {
        events.push(chunk(json!({"mystery_field": {"x": 1}}), Value::Null));
    }
    for piece in pieces(&reply.text) {
        events.push(chunk(json!({"content": piece}), Value::Null));
    }
    // Each call opens with its id and name; then argument fragments of all
    // calls interleave, so the client must assemble them by index.
    let fragments: Vec<Vec<&str>> = reply
        .tool_calls
        .iter()
        .map(|call| pieces(&call.arguments))
        .collect();
    for (index, call) in reply.tool_calls.iter().enumerate() {
        events.push(chunk(
            json!({"tool_calls": [{
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }]}),
            Value::Null,
        ));
    }
    let rounds = fragments.iter().map(Vec::len).max().unwrap_or(0);
    for round in 0..rounds {
        for (index, pieces) in fragments.iter().enumerate() {
            if let Some(piece) = pieces.get(round) {
                events.push(chunk(
                    json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
                    Value::Null,
                ));
            }
        }
    }
    events.push(chunk(json!({}), json!(finish_reason(reply))));
    if request.include_usage {
        events.push(sse_event(
            None,
            &json!({
                "id": id,
                "object": "chat.completion.chunk",
                "created": 0,
                "model": request.model,
                "choices": [],
                "usage": usage(reply),
            }),
        ));
    }
    events.push("data: [DONE]\n\n".to_owned());
    events
}
