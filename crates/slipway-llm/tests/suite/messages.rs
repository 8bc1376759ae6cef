//! Anthropic Messages against the fake server.

use serde_json::{Value, json};
use slipway_llm::{Api, Block, LlmError, Message, Role, StopReason, StreamEvent, Usage};
use slipway_test_support::{FakeModel, FakeToolCall, FakeUsage, Reply, Turn};

use super::support::{KEY, call, replay, request, settings};

fn usage() -> FakeUsage {
    FakeUsage {
        input: 12,
        output: 34,
        cache_read: 1000,
        cache_write: 200,
        reasoning: 0,
    }
}

#[tokio::test]
async fn a_text_reply_with_headers_cache_breakpoints_and_usage() {
    let fake = FakeModel::start([Turn::text("Hello there.").usage(usage())]);
    let (events, response) = call(settings(&fake, Api::Messages), &request(false)).await;
    let response = response.unwrap();
    assert!(events.is_empty(), "no events without streaming");
    assert_eq!(response.text(), "Hello there.");
    assert_eq!(response.stop, StopReason::EndTurn);
    assert_eq!(response.model, "test-model");
    assert_eq!(response.id.as_deref(), Some("msg_fake_1"));
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 12,
            cache_read_tokens: 1000,
            cache_write_tokens: 200,
            output_tokens: 34,
            reasoning_tokens: 0,
        }
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("authorization"), None);
    let body = &sent.body;
    assert_eq!(
        body["system"],
        json!([{"type": "text", "text": "You are a careful engineer.", "cache_control": {"type": "ephemeral"}}])
    );
    assert!(
        body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .all(|tool| tool.get("cache_control").is_none()),
        "the system breakpoint covers the tools, which come before it"
    );
    assert_eq!(
        body["messages"][0]["content"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(
        body["tools"][0]["input_schema"]["required"],
        json!(["path"])
    );
    assert_eq!(body["max_tokens"], 1024);
    assert_eq!(body["messages"][0]["content"][0]["text"], "List the files.");
    assert!(body.get("stream").is_none());
}

#[tokio::test]
async fn a_streamed_turn_with_several_tool_calls() {
    let fake = FakeModel::start([Turn::Reply(Reply {
        text: "Looking around.".into(),
        tool_calls: vec![
            FakeToolCall::new("toolu_1", "list_dir", r#"{"path": "src"}"#),
            FakeToolCall::new("toolu_2", "read_file", r#"{"path": "Cargo.toml"}"#),
        ],
        usage: usage(),
        ..Reply::default()
    })]);
    let (events, response) = call(settings(&fake, Api::Messages), &request(true)).await;
    let response = response.unwrap();
    assert_eq!(
        response.tool_calls(),
        vec![
            ("toolu_1", "list_dir", r#"{"path": "src"}"#),
            ("toolu_2", "read_file", r#"{"path": "Cargo.toml"}"#),
        ]
    );
    assert_eq!(response.text(), "Looking around.");
    assert_eq!(response.stop, StopReason::ToolUse);
    assert_eq!(response.usage.cache_read_tokens, 1000);
    assert_eq!(response.usage.cache_write_tokens, 200);
    assert_eq!(
        response.usage.output_tokens, 34,
        "message_delta's count wins"
    );

    let (text, calls) = replay(&events);
    assert_eq!(text, "Looking around.");
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[1],
        (
            "toolu_2".into(),
            "read_file".into(),
            r#"{"path": "Cargo.toml"}"#.into()
        )
    );
    assert!(
        events
            .iter()
            .filter(|e| matches!(e, StreamEvent::Text(_)))
            .count()
            > 1,
        "text arrives in pieces"
    );
    assert_eq!(fake.requests()[0].body["stream"], true);
}

#[tokio::test]
async fn unknown_and_thinking_blocks_are_skipped_streaming_or_not() {
    for stream in [false, true] {
        let fake = FakeModel::start([Turn::Reply(Reply {
            text: "Done.".into(),
            tool_calls: vec![FakeToolCall::new("t", "list_dir", "{}")],
            unknown_blocks: true,
            ..Reply::default()
        })]);
        let (_, response) = call(settings(&fake, Api::Messages), &request(stream)).await;
        let response = response.unwrap();
        assert_eq!(response.content.len(), 2, "stream={stream}: {response:?}");
        assert_eq!(response.text(), "Done.");
        assert_eq!(response.tool_calls(), vec![("t", "list_dir", "{}")]);
    }
}

#[tokio::test]
async fn malformed_tool_arguments_are_kept_raw() {
    let raw = r#"{"path": "src/lib.rs", "start_line": 1"#;
    let fake = FakeModel::start([Turn::tool_calls(vec![FakeToolCall::new(
        "t1",
        "read_file",
        raw,
    )])]);
    let (_, response) = call(settings(&fake, Api::Messages), &request(true)).await;
    let response = response.unwrap();
    assert_eq!(response.tool_calls(), vec![("t1", "read_file", raw)]);
    assert!(slipway_llm::parse_tool_arguments(raw).is_err());
}

#[tokio::test]
async fn stop_reasons_are_mapped() {
    for (wire, expected) in [
        ("max_tokens", StopReason::MaxTokens),
        ("stop_sequence", StopReason::StopSequence),
        ("refusal", StopReason::Refusal),
        ("pause_turn", StopReason::Other("pause_turn".into())),
    ] {
        let turn = Turn::Reply(Reply {
            text: "x".into(),
            stop: Some(wire.into()),
            ..Reply::default()
        });
        let fake = FakeModel::start([turn.clone(), turn]);
        for stream in [false, true] {
            let (_, response) = call(settings(&fake, Api::Messages), &request(stream)).await;
            assert_eq!(response.unwrap().stop, expected, "{wire} stream={stream}");
        }
    }
}

#[tokio::test]
async fn an_error_event_before_any_output_is_retried() {
    let overloaded = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"x\",\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n",
        "event: error\n",
        "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    );
    let fake = FakeModel::start([Turn::raw_sse(overloaded), Turn::text("second time lucky")]);
    let (_, response) = call(settings(&fake, Api::Messages), &request(true)).await;
    assert_eq!(response.unwrap().text(), "second time lucky");
    assert_eq!(fake.requests().len(), 2);

    let invalid = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt is too long\"}}\n\n";
    let fake = FakeModel::start([Turn::raw_sse(invalid)]);
    let (_, response) = call(settings(&fake, Api::Messages), &request(true)).await;
    assert_eq!(
        response.unwrap_err(),
        LlmError::Provider {
            kind: "invalid_request_error".into(),
            message: "prompt is too long".into()
        }
    );
    assert_eq!(fake.requests().len(), 1, "not retryable");
}

#[tokio::test]
async fn no_key_sends_no_key_header() {
    let fake = FakeModel::start([Turn::text("ok")]);
    let mut settings = settings(&fake, Api::Messages);
    settings.api_key = None;
    let (_, response) = call(settings, &request(false)).await;
    response.unwrap();
    assert_eq!(fake.requests()[0].header("x-api-key"), None);
}

/// Counts the `cache_control` breakpoints anywhere in a request body.
fn breakpoints(value: &Value) -> usize {
    match value {
        Value::Object(map) => {
            usize::from(map.contains_key("cache_control"))
                + map.values().map(breakpoints).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(breakpoints).sum(),
        _ => 0,
    }
}

#[tokio::test]
async fn the_conversation_is_cached_up_to_its_last_block() {
    let fake = FakeModel::start([Turn::text("Done.")]);
    let mut request = request(true);
    request.messages.extend([
        Message::assistant(vec![
            Block::text("Reading."),
            Block::ToolCall {
                id: "toolu_1".into(),
                name: "read_file".into(),
                arguments: r#"{"path": "a"}"#.into(),
            },
            Block::ToolCall {
                id: "toolu_2".into(),
                name: "read_file".into(),
                arguments: r#"{"path": "b"}"#.into(),
            },
        ]),
        Message {
            role: Role::User,
            content: vec![
                Block::ToolResult {
                    call_id: "toolu_1".into(),
                    content: "alpha".into(),
                    is_error: false,
                },
                Block::ToolResult {
                    call_id: "toolu_2".into(),
                    content: "beta".into(),
                    is_error: false,
                },
            ],
        },
    ]);
    let (_, response) = call(settings(&fake, Api::Messages), &request).await;
    assert_eq!(response.unwrap().text(), "Done.");

    let body = &fake.requests()[0].body;
    let ephemeral = json!({"type": "ephemeral"});
    let last = &body["messages"][2]["content"][1];
    assert_eq!(last["tool_use_id"], "toolu_2");
    assert_eq!(
        last["cache_control"], ephemeral,
        "the last block of the last message"
    );
    assert_eq!(body["system"][0]["cache_control"], ephemeral);
    assert_eq!(
        breakpoints(body),
        2,
        "system and conversation, within the API's 4"
    );
}
