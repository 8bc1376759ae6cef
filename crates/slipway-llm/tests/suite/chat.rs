//! OpenAI Chat Completions against the fake server.

use serde_json::json;
use slipway_llm::{Api, Block, Message, Role, StopReason, Usage};
use slipway_test_support::{FakeModel, FakeToolCall, FakeUsage, Reply, Turn};

use super::support::{KEY, call, replay, request, settings};

fn usage() -> FakeUsage {
    FakeUsage {
        input: 40,
        output: 25,
        cache_read: 60,
        cache_write: 0,
        reasoning: 10,
    }
}

fn expected_usage() -> Usage {
    Usage {
        input_tokens: 40,
        cache_read_tokens: 60,
        cache_write_tokens: 0,
        output_tokens: 25,
        reasoning_tokens: 10,
    }
}

#[tokio::test]
async fn a_text_reply_with_bearer_auth_tool_schemas_and_cached_usage() {
    let fake = FakeModel::start([Turn::text("Hi.").usage(usage())]);
    let (_, response) = call(settings(&fake, Api::Chat), &request(false)).await;
    let response = response.unwrap();
    assert_eq!(response.text(), "Hi.");
    assert_eq!(response.stop, StopReason::EndTurn);
    assert_eq!(response.usage, expected_usage());

    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(sent.header("x-api-key"), None);
    let body = &sent.body;
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "You are a careful engineer."})
    );
    assert_eq!(
        body["messages"][1],
        json!({"role": "user", "content": "List the files."})
    );
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["function"]["name"], "read_file");
    assert_eq!(
        body["tools"][0]["function"]["parameters"]["required"],
        json!(["path"])
    );
    assert_eq!(body["max_completion_tokens"], 1024);
    assert!(body.get("stream").is_none());
    assert!(body.get("stream_options").is_none());
}

#[tokio::test]
async fn streaming_assembles_several_tool_calls_by_index_and_asks_for_usage() {
    let fake = FakeModel::start([Turn::Reply(Reply {
        text: "Two things.".into(),
        tool_calls: vec![
            FakeToolCall::new("call_a", "read_file", r#"{"path":"a.rs"}"#),
            FakeToolCall::new("call_b", "read_file", r#"{"path":"b.rs"}"#),
            FakeToolCall::new("call_c", "list_dir", r#"{"path":"."}"#),
        ],
        usage: usage(),
        ..Reply::default()
    })]);
    let (events, response) = call(settings(&fake, Api::Chat), &request(true)).await;
    let response = response.unwrap();
    assert_eq!(
        response.tool_calls(),
        vec![
            ("call_a", "read_file", r#"{"path":"a.rs"}"#),
            ("call_b", "read_file", r#"{"path":"b.rs"}"#),
            ("call_c", "list_dir", r#"{"path":"."}"#),
        ]
    );
    assert_eq!(response.stop, StopReason::ToolUse);
    assert_eq!(response.usage, expected_usage(), "the usage chunk arrived");
    let (text, calls) = replay(&events);
    assert_eq!(text, "Two things.");
    assert_eq!(
        calls[2],
        ("call_c".into(), "list_dir".into(), r#"{"path":"."}"#.into())
    );

    let body = &fake.requests()[0].body;
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
}

#[tokio::test]
async fn malformed_tool_arguments_are_kept_raw_streaming_or_not() {
    let raw = r#"{"path": "a.rs", oops"#;
    for stream in [false, true] {
        let fake = FakeModel::start([Turn::tool_calls(vec![FakeToolCall::new(
            "c",
            "read_file",
            raw,
        )])]);
        let (_, response) = call(settings(&fake, Api::Chat), &request(stream)).await;
        assert_eq!(
            response.unwrap().tool_calls(),
            vec![("c", "read_file", raw)],
            "stream={stream}"
        );
    }
}

#[tokio::test]
async fn unknown_tool_call_types_and_fields_are_skipped() {
    for stream in [false, true] {
        let fake = FakeModel::start([Turn::Reply(Reply {
            text: "ok".into(),
            tool_calls: vec![FakeToolCall::new("c", "list_dir", "{}")],
            unknown_blocks: true,
            ..Reply::default()
        })]);
        let (_, response) = call(settings(&fake, Api::Chat), &request(stream)).await;
        let response = response.unwrap();
        assert_eq!(
            response.tool_calls(),
            vec![("c", "list_dir", "{}")],
            "stream={stream}"
        );
        assert_eq!(response.text(), "ok");
    }
}

#[tokio::test]
async fn a_tool_round_trip_is_sent_in_chat_shape() {
    let fake = FakeModel::start([Turn::text("Thanks.")]);
    let mut request = request(false);
    request.messages.push(Message::assistant(vec![
        Block::text("Reading."),
        Block::ToolCall {
            id: "call_1".into(),
            name: "read_file".into(),
            arguments: r#"{"path":"a.rs"}"#.into(),
        },
    ]));
    request.messages.push(Message {
        role: Role::User,
        content: vec![Block::ToolResult {
            call_id: "call_1".into(),
            content: "fn main() {}".into(),
            is_error: false,
        }],
    });
    let (_, response) = call(settings(&fake, Api::Chat), &request).await;
    response.unwrap();
    let messages = &fake.requests()[0].body["messages"];
    assert_eq!(
        messages[2],
        json!({
            "role": "assistant",
            "content": "Reading.",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"a.rs\"}"}}],
        })
    );
    assert_eq!(
        messages[3],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "fn main() {}"})
    );
}

#[tokio::test]
async fn finish_reasons_are_mapped() {
    for (wire, expected) in [
        ("length", StopReason::MaxTokens),
        ("content_filter", StopReason::Refusal),
        ("something_new", StopReason::Other("something_new".into())),
    ] {
        let turn = Turn::Reply(Reply {
            text: "x".into(),
            stop: Some(wire.into()),
            ..Reply::default()
        });
        let fake = FakeModel::start([turn.clone(), turn]);
        for stream in [false, true] {
            let (_, response) = call(settings(&fake, Api::Chat), &request(stream)).await;
            assert_eq!(response.unwrap().stop, expected, "{wire} stream={stream}");
        }
    }
}
