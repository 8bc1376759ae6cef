//! Several tool calls in one turn: all run, in order, and their results go
//! back in the next request in the same order, each answering its call.

use serde_json::json;
use slipway_llm::Api;
use slipway_policy::AgentRole;
use slipway_runtime::{Cancel, RunEvent, Stop};
use slipway_test_support::{FakeModel, FakeToolCall, Turn};
use slipway_types::{SpanStatus, attributes as attr, operations as op};

use super::fixture::{LIB_RS_LINE, TASK, agent, coder, options, repo, tools};
use super::recorded::Recorded;
use super::support::{Events, TestDb, on_both_backends};
use super::wire::{replayed_calls, tool_results};

on_both_backends!(several_calls_in_one_turn_run_in_order_and_answer_in_order);

fn calls() -> Vec<FakeToolCall> {
    vec![
        FakeToolCall::new("call_a", "read_file", r#"{"path":"src/api/lib.rs"}"#),
        FakeToolCall::new("call_b", "list_dir", r#"{"path":"src/api"}"#),
        FakeToolCall::new("call_c", "search", r#"{"pattern":"fn helper"}"#),
    ]
}

async fn several_calls_in_one_turn_run_in_order_and_answer_in_order(db: &TestDb) {
    let store = db.open().await;
    for api in [Api::Messages, Api::Chat, Api::Responses] {
        let repo = repo();
        let fake = FakeModel::start([Turn::tool_calls(calls()), Turn::text("done")]);
        let events = Events::default();
        let agent = agent(
            &fake,
            api,
            tools(&repo, coder()),
            &store,
            options(AgentRole::Coder, api, true),
        );
        let report = agent.run(TASK, &events, &Cancel::default()).await.unwrap();
        assert_eq!(
            (report.stop, report.tool_calls),
            (Stop::Finished, 3),
            "{api}"
        );

        let requests = fake.requests();
        assert_eq!(requests.len(), 2);
        let results = tool_results(api, &requests[1]);
        let ids: Vec<&str> = results.iter().map(|r| r.call_id.as_str()).collect();
        assert_eq!(ids, ["call_a", "call_b", "call_c"], "{api}");
        assert!(
            results[0].content.contains(LIB_RS_LINE),
            "{api}: {results:?}"
        );
        assert!(
            results[1].content.contains("lib.rs") && results[1].content.contains("util.rs"),
            "{api}: {results:?}"
        );
        assert!(
            results[2].content.contains("src/api/util.rs")
                && !results[2].content.contains("web/app.js"),
            "{api}: {results:?}"
        );
        assert!(results.iter().all(|r| !r.is_error));
        if api == Api::Messages {
            assert_eq!(replayed_calls(&requests[1]), ["call_a", "call_b", "call_c"]);
        }

        // Each call was announced, then answered, before the next began.
        let order: Vec<String> = events
            .all()
            .into_iter()
            .filter_map(|event| match event {
                RunEvent::ToolCall { name, .. } => Some(format!("call {name}")),
                RunEvent::ToolResult { name, .. } => Some(format!("result {name}")),
                _ => None,
            })
            .collect();
        assert_eq!(
            order,
            [
                "call read_file",
                "result read_file",
                "call list_dir",
                "result list_dir",
                "call search",
                "result search"
            ]
        );

        let recorded = Recorded::load(&*store, &report.trace_id).await;
        let spans = recorded.of(op::EXECUTE_TOOL);
        let recorded_ids: Vec<_> = spans
            .iter()
            .map(|s| &s.attributes[attr::TOOL_CALL_ID])
            .collect();
        assert_eq!(
            recorded_ids,
            [&json!("call_a"), &json!("call_b"), &json!("call_c")],
            "{api}"
        );
        assert!(spans.iter().all(|s| s.status == SpanStatus::Ok));
        let root = recorded.root();
        assert!(spans.iter().all(|s| s.parent_id.as_ref() == Some(&root.id)));
    }
}
