//! The harness: settings pointing at a fake model, a request with a system
//! prompt and two tools, and a call that collects the streamed events.

use std::time::Duration;

use serde_json::json;
use slipway_llm::{
    Api, ChatRequest, ChatResponse, LlmError, Message, ProviderSettings, RetryPolicy, StreamEvent,
    ToolSpec, provider,
};
use slipway_test_support::{FakeModel, Protocol};

pub(crate) const KEY: &str = "sk-test-key";

pub(crate) fn protocol(api: Api) -> Protocol {
    match api {
        Api::Messages => Protocol::Messages,
        Api::Chat => Protocol::Chat,
        Api::Responses => Protocol::Responses,
        Api::Scripted => unreachable!("the scripted provider has no server"),
    }
}

/// Settings for `api` at the fake server, with quick retries.
pub(crate) fn settings(fake: &FakeModel, api: Api) -> ProviderSettings {
    ProviderSettings {
        name: "fake".into(),
        api,
        base_url: fake.base_url(protocol(api)),
        api_key: Some(KEY.into()),
        timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_secs(2),
        },
    }
}

pub(crate) fn request(stream: bool) -> ChatRequest {
    ChatRequest {
        model: "test-model".into(),
        system: "You are a careful engineer.".into(),
        messages: vec![Message::user("List the files.")],
        tools: vec![
            ToolSpec {
                name: "read_file".into(),
                description: "Reads a file".into(),
                input_schema: json!({
                    "type": "object",
                    "properties": {"path": {"type": "string"}},
                    "required": ["path"],
                }),
            },
            ToolSpec {
                name: "list_dir".into(),
                description: "Lists a directory".into(),
                input_schema: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
            },
        ],
        max_tokens: 1024,
        stream,
    }
}

/// Makes one call with `settings` and returns the events and the result.
pub(crate) async fn call(
    settings: ProviderSettings,
    request: &ChatRequest,
) -> (Vec<StreamEvent>, Result<ChatResponse, LlmError>) {
    let provider = provider(settings);
    let mut events = Vec::new();
    let result = provider
        .chat(request, &mut |event| events.push(event))
        .await;
    (events, result)
}

/// Returns the streamed text and, per tool call id, the argument deltas joined.
pub(crate) fn replay(events: &[StreamEvent]) -> (String, Vec<(String, String, String)>) {
    let mut text = String::new();
    let mut calls: Vec<(String, String, String)> = Vec::new();
    for event in events {
        match event {
            StreamEvent::Text(piece) => text.push_str(piece),
            StreamEvent::ToolCallStarted { id, name } => {
                calls.push((id.clone(), name.clone(), String::new()));
            }
            StreamEvent::ToolArguments { id, delta } => {
                let call = calls
                    .iter_mut()
                    .find(|(call_id, _, _)| call_id == id)
                    .expect("arguments after the call started");
                call.2.push_str(delta);
            }
        }
    }
    (text, calls)
}
