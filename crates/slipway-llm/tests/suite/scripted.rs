//! The scripted provider through the public API.

use slipway_llm::{
    Api, Block, ChatResponse, LlmError, ProviderSettings, ScriptedProvider, StopReason,
    StreamEvent, Usage, provider,
};

use super::support::request;

#[tokio::test]
async fn replays_then_runs_out_clearly() {
    let reply = ChatResponse {
        id: Some("s1".into()),
        model: "demo".into(),
        content: vec![Block::text("Plan: nothing to do.")],
        stop: StopReason::EndTurn,
        usage: Usage::default(),
    };
    let scripted = ScriptedProvider::new(vec![reply.clone()]);
    let mut events = Vec::new();
    let got = slipway_llm::Provider::chat(&scripted, &request(true), &mut |e| events.push(e))
        .await
        .unwrap();
    assert_eq!(got, reply);
    assert_eq!(
        events,
        vec![StreamEvent::Text("Plan: nothing to do.".into())]
    );
    let error = slipway_llm::Provider::chat(&scripted, &request(false), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        error,
        LlmError::ScriptExhausted {
            call: 2,
            replies: 1
        }
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn settings_for_scripted_give_an_empty_script() {
    let empty = provider(ProviderSettings::new("demo", Api::Scripted, None));
    assert_eq!(empty.name(), "demo");
    let error = empty.chat(&request(false), &mut |_| {}).await.unwrap_err();
    assert_eq!(
        error,
        LlmError::ScriptExhausted {
            call: 1,
            replies: 0
        }
    );
}
