//! What a model may send that is no good: arguments that are not JSON, a
//! tool that does not exist, content blocks this client does not know.
//! Each is an error back to the model or skipped; the run goes on.

use slipway_llm::Api;
use slipway_policy::AgentRole;
use slipway_runtime::{Cancel, Stop};
use slipway_test_support::{FakeModel, FakeToolCall, Reply, Turn};
use slipway_types::{SpanStatus, attributes as attr, operations as op};

use super::fixture::{LIB_RS_LINE, TASK, agent, coder, options, repo, tools};
use super::recorded::Recorded;
use super::support::{Events, TestDb, on_both_backends};
use super::wire::tool_results;

on_both_backends!(
    bad_calls_go_back_as_tool_errors_and_the_run_goes_on,
    unknown_content_blocks_are_skipped,
    a_reply_cut_at_the_output_limit_is_a_warning,
);

const CASES: [(Api, bool); 5] = [
    (Api::Messages, true),
    (Api::Messages, false),
    (Api::Chat, true),
    (Api::Chat, false),
    (Api::Responses, true),
];

fn read_lib(id: &str) -> FakeToolCall {
    FakeToolCall::new(id, "read_file", r#"{"path":"src/api/lib.rs"}"#)
}

async fn bad_calls_go_back_as_tool_errors_and_the_run_goes_on(db: &TestDb) {
    let store = db.open().await;
    for (api, stream) in CASES {
        let case = format!("{api}, stream {stream}");
        let repo = repo();
        let fake = FakeModel::start([
            Turn::tool_calls(vec![
                // Cut off: no closing brace.
                FakeToolCall::new("call_1", "read_file", r#"{"path": "src/api/lib.rs""#),
                FakeToolCall::new("call_2", "launch_missiles", "{}"),
            ]),
            Turn::tool_calls(vec![read_lib("call_3")]),
            Turn::text("done"),
        ]);
        let events = Events::default();
        let options = options(AgentRole::Coder, api, stream);
        let agent = agent(&fake, api, tools(&repo, coder()), &store, options);
        let report = agent.run(TASK, &events, &Cancel::default()).await.unwrap();
        assert_eq!(
            (report.stop, report.tool_calls),
            (Stop::Finished, 3),
            "{case}"
        );

        let requests = fake.requests();
        assert_eq!(requests.len(), 3, "{case}");
        let results = tool_results(api, &requests[1]);
        let ids: Vec<&str> = results.iter().map(|r| r.call_id.as_str()).collect();
        assert_eq!(ids, ["call_1", "call_2"], "{case}");
        // Anthropic's non-streaming `input` must be JSON, so the fake sends
        // the broken text as a JSON string there: not an object either.
        let bad_json = if (api, stream) == (Api::Messages, false) {
            "expected a JSON object"
        } else {
            "not valid JSON"
        };
        assert!(results[0].content.contains(bad_json), "{case}: {results:?}");
        assert!(
            results[1]
                .content
                .contains("unknown tool `launch_missiles`"),
            "{case}: {results:?}"
        );
        assert!(!results[0].content.contains(LIB_RS_LINE));
        if api == Api::Messages {
            assert!(results.iter().all(|r| r.is_error), "{case}");
        }
        let after = tool_results(api, &requests[2]);
        assert!(
            after[2].content.contains(LIB_RS_LINE),
            "{case}: the run went on"
        );

        let recorded = Recorded::load(&*store, &report.trace_id).await;
        let spans = recorded.of(op::EXECUTE_TOOL);
        let statuses: Vec<SpanStatus> = spans.iter().map(|s| s.status).collect();
        assert_eq!(
            statuses,
            [SpanStatus::Error, SpanStatus::Error, SpanStatus::Ok],
            "{case}"
        );
        assert_eq!(spans[0].attributes[attr::ERROR_TYPE], "tool_error");
        assert!(spans[0].error.as_deref().unwrap().contains(bad_json));
        assert_eq!(spans[1].tool_name.as_deref(), Some("launch_missiles"));
        assert_eq!(recorded.trace.status, SpanStatus::Ok);
    }
}

async fn unknown_content_blocks_are_skipped(db: &TestDb) {
    let store = db.open().await;
    for (api, stream) in CASES.into_iter().chain([(Api::Responses, false)]) {
        let case = format!("{api}, stream {stream}");
        let repo = repo();
        let fake = FakeModel::start([
            Turn::Reply(Reply {
                text: "Let me look.".into(),
                tool_calls: vec![read_lib("call_1")],
                unknown_blocks: true,
                ..Reply::default()
            }),
            Turn::Reply(Reply {
                text: "It counts bytes.".into(),
                unknown_blocks: true,
                ..Reply::default()
            }),
        ]);
        let options = options(AgentRole::Coder, api, stream);
        let agent = agent(&fake, api, tools(&repo, coder()), &store, options);
        let report = agent
            .run(TASK, &Events::default(), &Cancel::default())
            .await
            .unwrap();
        assert_eq!(
            (report.stop, report.tool_calls, report.text.as_str()),
            (Stop::Finished, 1, "It counts bytes."),
            "{case}"
        );
        let requests = fake.requests();
        let results = tool_results(api, &requests[1]);
        assert_eq!(results.len(), 1, "{case}: only the known call ran");
        assert!(results[0].content.contains(LIB_RS_LINE), "{case}");
        if api == Api::Messages {
            let replayed = &requests[1].body["messages"][1]["content"];
            let kinds: Vec<&str> = replayed
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["type"].as_str().unwrap())
                .collect();
            assert_eq!(
                kinds,
                ["text", "tool_use"],
                "{case}: unknown blocks are not replayed"
            );
        }
    }
}

async fn a_reply_cut_at_the_output_limit_is_a_warning(db: &TestDb) {
    let store = db.open().await;
    for (api, stop) in [(Api::Messages, "max_tokens"), (Api::Chat, "length")] {
        let repo = repo();
        let fake = FakeModel::start([Turn::Reply(Reply {
            text: "It counts".into(),
            stop: Some(stop.into()),
            ..Reply::default()
        })]);
        let mut options = options(AgentRole::Coder, api, true);
        options.max_output_tokens = 64;
        let agent = agent(&fake, api, tools(&repo, coder()), &store, options);
        let events = Events::default();
        let report = agent.run(TASK, &events, &Cancel::default()).await.unwrap();
        assert_eq!(report.stop, Stop::Finished, "{api}");
        assert_eq!(
            events.warnings(),
            ["the model's reply was cut at the output limit of 64 tokens"],
            "{api}"
        );
    }
}
