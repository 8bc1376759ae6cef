//! OpenAI Responses replies: the response object, and its semantic events
//! (`response.created` … `response.completed`, each named and numbered).

use serde_json::{Value, json};

use super::{Reply, RequestInfo, pieces, sse_event};

fn message_item(request: &RequestInfo, reply: &Reply) -> Value {
    json!({
        "type": "message",
        "id": format!("msg_fake_{}", request.number),
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": reply.text, "annotations": []}],
    })
}

fn call_item(index: usize, call: &super::FakeToolCall, arguments: &str) -> Value {
    json!({
        "type": "function_call",
        "id": format!("fc_fake_{index}"),
        "call_id": call.id,
        "name": call.name,
        "arguments": arguments,
        "status": "completed",
    })
}

fn unknown_items() -> [Value; 2] {
    [
        json!({"type": "reasoning", "id": "rs_fake", "summary": []}),
        json!({"type": "mystery_call", "id": "mc_fake", "status": "completed"}),
    ]
}

fn response(request: &RequestInfo, reply: &Reply, output: &[Value], done: bool) -> Value {
    let incomplete = reply
        .stop
        .as_deref()
        .filter(|stop| matches!(*stop, "max_output_tokens" | "content_filter"));
    let status = match (done, incomplete) {
        (false, _) => "in_progress",
        (true, Some(_)) => "incomplete",
        (true, None) => "completed",
    };
    let input = reply.usage.input + reply.usage.cache_read;
    json!({
        "id": format!("resp_fake_{}", request.number),
        "object": "response",
        "created_at": 0,
        "status": status,
        "error": null,
        "incomplete_details": incomplete.map(|reason| json!({"reason": reason})),
        "model": request.model,
        "output": output,
        "usage": if done {
            json!({
                "input_tokens": input,
                "input_tokens_details": {"cached_tokens": reply.usage.cache_read},
                "output_tokens": reply.usage.output,
                "output_tokens_details": {"reasoning_tokens": reply.usage.reasoning},
                "total_tokens": input + reply.usage.output,
            })
        } else {
            Value::Null
        },
    })
}

fn output(request: &RequestInfo, reply: &Reply) -> Vec<Value> {
    let mut output = Vec::new();
    if reply.unknown_blocks {
        output.extend(unknown_items());
    }
    if !reply.text.is_empty() {
        output.push(message_item(request, reply));
    }
    for (index, call) in reply.tool_calls.iter().enumerate() {
        output.push(call_item(index, call, &call.arguments));
    }
    output
}

pub(super) fn body(request: &RequestInfo, reply: &Reply) -> Value {
    response(request, reply, &output(request, reply), true)
}

pub(super) fn events(request: &RequestInfo, reply: &Reply) -> Vec<String> {
    let mut events = Vec::new();
    let mut push = |kind: &str, mut data: Value| {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(events.len());
        events.push(sse_event(Some(kind), &data));
    };
    push(
        "response.created",
        json!({"response": response(request, reply, &[], false)}),
    );
    push(
        "response.in_progress",
        json!({"response": response(request, reply, &[], false)}),
    );
    let mut index = 0;
    if reply.unknown_blocks {
        for item in unknown_items() {
            push(
                "response.output_item.added",
                json!({"output_index": index, "item": item}),
            );
            push(
                "response.output_item.done",
                json!({"output_index": index, "item": item}),
            );
            index += 1;
        }
    }
    if !reply.text.is_empty() {
        let item_id = format!("msg_fake_{}", request.number);
        let mut empty = message_item(request, reply);
        empty["content"] = json!([]);
        empty["status"] = json!("in_progress");
        push(
            "response.output_item.added",
            json!({"output_index": index, "item": empty}),
        );
        let part = json!({"type": "output_text", "text": "", "annotations": []});
        push(
            "response.content_part.added",
            json!({"item_id": item_id, "output_index": index, "content_index": 0, "part": part}),
        );
        for piece in pieces(&reply.text) {
            push(
                "response.output_text.delta",
                json!({"item_id": item_id, "output_index": index, "content_index": 0, "delta": piece}),
            );
        }
        push(
            "response.output_text.done",
            json!({"item_id": item_id, "output_index": index, "content_index": 0, "text": reply.text}),
        );
        let part = json!({"type": "output_text", "text": reply.text, "annotations": []});
        push(
            "response.content_part.done",
            json!({"item_id": item_id, "output_index": index, "content_index": 0, "part": part}),
        );
        push(
            "response.output_item.done",
            json!({"output_index": index, "item": message_item(request, reply)}),
        );
        index += 1;
    }
    for (call_index, call) in reply.tool_calls.iter().enumerate() {
        let item_id = format!("fc_fake_{call_index}");
        let mut started = call_item(call_index, call, "");
        started["status"] = json!("in_progress");
        push(
            "response.output_item.added",
            json!({"output_index": index, "item": started}),
        );
        for piece in pieces(&call.arguments) {
            push(
                "response.function_call_arguments.delta",
                json!({"item_id": item_id, "output_index": index, "delta": piece}),
            );
        }
        push(
            "response.function_call_arguments.done",
            json!({"item_id": item_id, "output_index": index, "arguments": call.arguments}),
        );
        push(
            "response.output_item.done",
            json!({"output_index": index, "item": call_item(call_index, call, &call.arguments)}),
        );
        index += 1;
    }
    let terminal = if response(request, reply, &[], true)["status"] == "incomplete" {
        "response.incomplete"
    } else {
        "response.completed"
    };
    push(
        terminal,
        json!({"response": response(request, reply, &output(request, reply), true)}),
    );
    events
}
