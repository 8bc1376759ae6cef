//! OpenAI Responses against the fake server.

use serde_json::json;
use slipway_llm::{Api, Block, Message, Role, StopReason, Usage};
use slipway_test_support::{FakeModel, FakeToolCall, FakeUsage, Reply, Turn};

use super::support::{KEY, call, replay, request, settings};

fn usage() -> FakeUsage {
    FakeUsage {
        input: 7,
        output: 30,
        cache_read: 93,
        cache_write: 0,
        reasoning: 12,
    }
}

#[tokio::test]
async fn a_text_reply_with_instructions_flat_tools_and_usage() {
    let fake = FakeModel::start([Turn::text("Hello.").usage(usage())]);
    let (_, response) = call(settings(&fake, Api::Responses), &request(false)).await;
    let response = response.unwrap();
    assert_eq!(response.text(), "Hello.");
    assert_eq!(response.stop, StopReason::EndTurn);
    assert_eq!(response.id.as_deref(), Some("resp_fake_1"));
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 7,
            cache_read_tokens: 93,
            cache_write_tokens: 0,
            output_tokens: 30,
            reasoning_tokens: 12,
        }
    );
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let body = &sent.body;
    assert_eq!(body["instructions"], "You are a careful engineer.");
    assert_eq!(
        body["input"],
        json!([{"role": "user", "content": "List the files."}])
    );
    assert_eq!(body["tools"][1]["type"], "function");
    assert_eq!(body["tools"][1]["name"], "list_dir");
    assert_eq!(body["tools"][1]["parameters"]["type"], "object");
    assert_eq!(body["max_output_tokens"], 1024);
    assert_eq!(body["store"], false);
}

#[tokio::test]
async fn streaming_function_calls_and_text() {
    let fake = FakeModel::start([Turn::Reply(Reply {
        text: "Checking both.".into(),
        tool_calls: vec![
            FakeToolCall::new("call_1", "read_file", r#"{"path":"x"}"#),
            FakeToolCall::new("call_2", "list_dir", r#"{"path":"y"}"#),
        ],
        usage: usage(),
        ..Reply::default()
    })]);
    let (events, response) = call(settings(&fake, Api::Responses), &request(true)).await;
    let response = response.unwrap();
    assert_eq!(
        response.tool_calls(),
        vec![
            ("call_1", "read_file", r#"{"path":"x"}"#),
            ("call_2", "list_dir", r#"{"path":"y"}"#),
        ]
    );
    assert_eq!(response.stop, StopReason::ToolUse);
    assert_eq!(response.usage.reasoning_tokens, 12);
    let (text, calls) = replay(&events);
    assert_eq!(text, "Checking both.");
    assert_eq!(
        calls[0],
        (
            "call_1".into(),
            "read_file".into(),
            r#"{"path":"x"}"#.into()
        )
    );
    assert_eq!(fake.requests()[0].body["stream"], true);
}

#[tokio::test]
async fn reasoning_and_unknown_items_are_skipped() {
    for stream in [false, true] {
        let fake = FakeModel::start([Turn::Reply(Reply {
            text: "fine".into(),
            unknown_blocks: true,
            ..Reply::default()
        })]);
        let (_, response) = call(settings(&fake, Api::Responses), &request(stream)).await;
        let response = response.unwrap();
        assert_eq!(
            response.content,
            vec![Block::text("fine")],
            "stream={stream}"
        );
    }
}

#[tokio::test]
async fn malformed_arguments_kept_raw_and_incomplete_is_max_tokens() {
    let raw = r#"{"path": ["#;
    let fake = FakeModel::start([
        Turn::tool_calls(vec![FakeToolCall::new("call_9", "read_file", raw)]),
        Turn::Reply(Reply {
            text: "cut sh".into(),
            stop: Some("max_output_tokens".into()),
            ..Reply::default()
        }),
    ]);
    let (_, response) = call(settings(&fake, Api::Responses), &request(true)).await;
    assert_eq!(
        response.unwrap().tool_calls(),
        vec![("call_9", "read_file", raw)]
    );
    let (_, response) = call(settings(&fake, Api::Responses), &request(true)).await;
    assert_eq!(response.unwrap().stop, StopReason::MaxTokens);
}

#[tokio::test]
async fn a_tool_round_trip_is_sent_as_items() {
    let fake = FakeModel::start([Turn::text("ok")]);
    let mut request = request(false);
    request
        .messages
        .push(Message::assistant(vec![Block::ToolCall {
            id: "call_1".into(),
            name: "list_dir".into(),
            arguments: "{}".into(),
        }]));
    request.messages.push(Message {
        role: Role::User,
        content: vec![Block::ToolResult {
            call_id: "call_1".into(),
            content: "src/".into(),
            is_error: false,
        }],
    });
    call(settings(&fake, Api::Responses), &request)
        .await
        .1
        .unwrap();
    let input = &fake.requests()[0].body["input"];
    assert_eq!(
        input[1],
        json!({"type": "function_call", "call_id": "call_1", "name": "list_dir", "arguments": "{}"})
    );
    assert_eq!(
        input[2],
        json!({"type": "function_call_output", "call_id": "call_1", "output": "src/"})
    );
}
