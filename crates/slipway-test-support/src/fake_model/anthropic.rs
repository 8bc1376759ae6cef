//! Anthropic Messages replies: the message object, and its event stream
//! (`message_start`, `ping`, `content_block_*`, `message_delta`,
//! `message_stop`).

use serde_json::{Value, json};

use super::{Reply, RequestInfo, arguments_value, pieces, sse_event};

fn stop_reason(reply: &Reply) -> String {
    reply.stop.clone().unwrap_or_else(|| {
        if reply.tool_calls.is_empty() {
            "end_turn".to_owned()
        } else {
            "tool_use".to_owned()
        }
    })
}

fn usage(reply: &Reply, output: u64) -> Value {
    json!({
        "input_tokens": reply.usage.input,
        "cache_creation_input_tokens": reply.usage.cache_write,
        "cache_read_input_tokens": reply.usage.cache_read,
        "output_tokens": output,
    })
}

pub(super) fn body(request: &RequestInfo, reply: &Reply) -> Value {
    let mut content = Vec::new();
    if reply.unknown_blocks {
        content.push(json!({"type": "thinking", "thinking": "Let me see.", "signature": "c2ln"}));
        content.push(json!({"type": "mystery_block", "payload": {"x": 1}}));
    }
    if !reply.text.is_empty() {
        content.push(json!({"type": "text", "text": reply.text}));
    }
    for call in &reply.tool_calls {
        content.push(json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.name,
            "input": arguments_value(&call.arguments),
        }));
    }
    json!({
        "id": format!("msg_fake_{}", request.number),
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "content": content,
        "stop_reason": stop_reason(reply),
        "stop_sequence": null,
        "usage": usage(reply, reply.usage.output),
    })
}

pub(super) fn events(request: &RequestInfo, reply: &Reply) -> Vec<String> {
    let mut events = vec![
        sse_event(
            Some("message_start"),
            &json!({
                "type": "message_start",
                "message": {
                    "id": format!("msg_fake_{}", request.number),
                    "type": "message",
                    "role": "assistant",
                    "model": request.model,
                    "content": [],
                    "stop_reason": null,
                    "stop_sequence": null,
                    "usage": usage(reply, 1),
                },
            }),
        ),
        sse_event(Some("ping"), &json!({"type": "ping"})),
    ];
    let mut index = 0;
    let mut block = |events: &mut Vec<String>, start: Value, deltas: Vec<Value>| {
        events.push(sse_event(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        for delta in deltas {
            events.push(sse_event(
                Some("content_block_delta"),
                &json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
        }
        events.push(sse_event(
            Some("content_block_stop"),
            &json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    };
    if reply.unknown_blocks {
        block(
            &mut events,
            json!({"type": "thinking", "thinking": "", "signature": ""}),
            vec![
                json!({"type": "thinking_delta", "thinking": "Let me see."}),
                json!({"type": "signature_delta", "signature": "c2ln"}),
            ],
        );
        block(
            &mut events,
            json!({"type": "mystery_block", "payload": {}}),
            vec![json!({"type": "mystery_delta", "more": "x"})],
        );
    }
    if !reply.text.is_empty() {
        let deltas = pieces(&reply.text)
            .into_iter()
            .map(|piece| json!({"type": "text_delta", "text": piece}))
            .collect();
        block(&mut events, json!({"type": "text", "text": ""}), deltas);
    }
    for call in &reply.tool_calls {
        let deltas = pieces(&call.arguments)
            .into_iter()
            .map(|piece| json!({"type": "input_json_delta", "partial_json": piece}))
            .collect();
        block(
            &mut events,
            json!({"type": "tool_use", "id": call.id, "name": call.name, "input": {}}),
            deltas,
        );
    }
    events.push(sse_event(
        Some("message_delta"),
        &json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(reply), "stop_sequence": null},
            "usage": {"output_tokens": reply.usage.output},
        }),
    ));
    events.push(sse_event(
        Some("message_stop"),
        &json!({"type": "message_stop"}),
    ));
    events
}
