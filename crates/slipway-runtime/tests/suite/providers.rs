//! A whole run on each protocol, streaming and not: a tool call, then the
//! final text; the trace has the agent, its model calls with their tokens
//! and prices, and its tool calls.

use serde_json::json;
use slipway_config::PriceTable;
use slipway_llm::Api;
use slipway_policy::AgentRole;
use slipway_runtime::{Cancel, ModelChoice, RunReport, Stop};
use slipway_store::Store;
use slipway_test_support::{FakeModel, FakeToolCall, Turn};
use slipway_types::{Span, SpanStatus, attributes as attr, operations as op};

use super::fixture::{
    LIB_RS_LINE, TASK, agent, coder, expected_tokens, model, options, repo, tools, usage,
};
use super::recorded::Recorded;
use super::support::{Events, TestDb, on_both_backends};
use super::wire::tool_results;

on_both_backends!(
    a_tool_call_then_text_finishes_on_every_protocol,
    an_unknown_model_costs_null_and_warns_once,
);

const CASES: [(Api, bool); 6] = [
    (Api::Messages, true),
    (Api::Messages, false),
    (Api::Chat, true),
    (Api::Chat, false),
    (Api::Responses, true),
    (Api::Responses, false),
];

const ANSWER: &str = "It is parsed in src/api/lib.rs, by `parse`.";

fn script() -> [Turn; 2] {
    [
        Turn::tool_calls(vec![FakeToolCall::new(
            "call_1",
            "read_file",
            r#"{"path":"src/api/lib.rs"}"#,
        )])
        .usage(usage(1)),
        Turn::text(ANSWER).usage(usage(2)),
    ]
}

/// The cost of `usage(1)` at the protocol's model, worked out by hand from
/// `prices.toml`; `usage(2)` costs twice as much.
fn hand_priced(api: Api) -> i64 {
    match api {
        // 120 × $3 + 1000 × $0.30 + 200 × $3.75 + 30 × $15, per million.
        Api::Messages => 360 + 300 + 750 + 450,
        // 120 × $1.25 + 1000 × $0.125 + 30 × $10, per million; no cache writes.
        _ => 150 + 125 + 300,
    }
}

async fn a_tool_call_then_text_finishes_on_every_protocol(db: &TestDb) {
    let store = db.open().await;
    for (api, stream) in CASES {
        let case = format!("{api}, stream {stream}");
        let repo = repo();
        let fake = FakeModel::start(script());
        let events = Events::default();
        let agent = agent(
            &fake,
            api,
            tools(&repo, coder()),
            &store,
            options(AgentRole::Coder, api, stream),
        );
        let report = agent.run(TASK, &events, &Cancel::default()).await.unwrap();
        assert_eq!(report.stop, Stop::Finished, "{case}");
        assert_eq!(report.text, ANSWER, "{case}");
        assert_eq!(
            (report.steps, report.tool_calls, report.denied),
            (2, 1, 0),
            "{case}"
        );
        assert!(events.warnings().is_empty(), "{case}: {:?}", events.all());

        let requests = fake.requests();
        assert_eq!(requests.len(), 2, "{case}");
        for request in &requests {
            assert_eq!(request.body["stream"].as_bool().unwrap_or(false), stream);
        }
        let results = tool_results(api, &requests[1]);
        assert_eq!(results.len(), 1, "{case}");
        assert_eq!(results[0].call_id, "call_1", "{case}");
        assert!(
            results[0].content.contains(LIB_RS_LINE),
            "{case}: {results:?}"
        );
        assert!(
            results[0]
                .content
                .starts_with("[untrusted data from tool read_file"),
            "{case}: tool results are marked as data: {results:?}"
        );

        check_trace(&*store, &report, api, &case).await;
    }
}

/// The trace of one `script()` run: root, two chats and a tool call between them.
async fn check_trace(store: &dyn Store, report: &RunReport, api: Api, case: &str) {
    let choice = model(api);
    let recorded = Recorded::load(store, &report.trace_id).await;
    let trace = &recorded.trace;
    assert_eq!(
        (trace.status, trace.error.as_deref()),
        (SpanStatus::Ok, None),
        "{case}"
    );
    assert_eq!(
        (trace.role.as_str(), trace.model.clone()),
        ("coder", choice.key())
    );

    let root = recorded.root();
    assert_eq!(root.name, "invoke_agent coder", "{case}");
    assert_eq!(root.status, SpanStatus::Ok);
    assert_eq!(root.attributes[attr::AGENT_NAME], json!("coder"));
    let order: Vec<&str> = recorded
        .spans
        .iter()
        .map(|s| s.operation.as_str())
        .collect();
    assert_eq!(
        order,
        [op::INVOKE_AGENT, op::CHAT, op::EXECUTE_TOOL, op::CHAT],
        "{case}"
    );
    assert_eq!(recorded.children(&root.id).len(), 3, "{case}");

    let chats = recorded.of(op::CHAT);
    assert_eq!(chats.len(), 2);
    check_chat(chats[0], api, 1, "tool_use", case);
    check_chat(chats[1], api, 2, "end_turn", case);

    let tool = recorded.of(op::EXECUTE_TOOL)[0];
    assert_eq!(tool.name, "execute_tool read_file");
    assert_eq!(tool.tool_name.as_deref(), Some("read_file"));
    assert_eq!(tool.status, SpanStatus::Ok);
    assert_eq!(tool.attributes[attr::TOOL_CALL_ID], json!("call_1"));
    assert_eq!(tool.attributes[attr::TOOL_NAME], json!("read_file"));
    assert_eq!((tool.model.as_deref(), tool.cost_micros), (None, None));

    recorded.assert_totals_are_sums();
    recorded.assert_priced(&PriceTable::builtin().unwrap(), &choice.key());
    assert_eq!(trace.cost_micros, Some(hand_priced(api) * 3), "{case}");
    assert_eq!(
        trace.tokens,
        expected_tokens(api, usage(1)) + expected_tokens(api, usage(2))
    );
    assert_eq!(report.tokens, trace.tokens);
    assert_eq!(report.cost_micros, trace.cost_micros);
    assert_eq!(
        (root.tokens, root.cost_micros),
        (trace.tokens, trace.cost_micros)
    );
}

/// One model call of `script()`: its name, its tokens as reported with
/// `usage(scale)`, its attributes and its price.
fn check_chat(chat: &Span, api: Api, scale: u64, finish: &str, case: &str) {
    let choice = model(api);
    let tokens = expected_tokens(api, usage(scale));
    assert_eq!(chat.name, format!("chat {}", choice.model), "{case}");
    assert_eq!(chat.model.as_deref(), Some(choice.model.as_str()));
    assert_eq!(chat.provider.as_deref(), Some(choice.provider.as_str()));
    assert_eq!(chat.status, SpanStatus::Ok, "{case}");
    assert_eq!(chat.tokens, tokens, "{case}: usage({scale})");
    let attributes = [
        (attr::INPUT_TOKENS, tokens.input),
        (attr::OUTPUT_TOKENS, tokens.output),
        (attr::CACHE_READ_INPUT_TOKENS, tokens.cache_read),
        (attr::CACHE_CREATION_INPUT_TOKENS, tokens.cache_write),
    ];
    for (name, value) in attributes {
        assert_eq!(chat.attributes[name], json!(value), "{case}: {name}");
    }
    assert_eq!(
        chat.attributes[attr::RESPONSE_FINISH_REASONS],
        json!([finish]),
        "{case}"
    );
    let scale = i64::try_from(scale).unwrap();
    assert_eq!(chat.cost_micros, Some(hand_priced(api) * scale), "{case}");
}

async fn an_unknown_model_costs_null_and_warns_once(db: &TestDb) {
    let store = db.open().await;
    let repo = repo();
    let fake = FakeModel::start(script());
    let mut options = options(AgentRole::Coder, Api::Messages, true);
    options.model = ModelChoice {
        provider: "anthropic".into(),
        model: "claude-imaginary-9".into(),
    };
    let events = Events::default();
    let agent = agent(&fake, Api::Messages, tools(&repo, coder()), &store, options);
    let report = agent.run(TASK, &events, &Cancel::default()).await.unwrap();
    assert_eq!(report.stop, Stop::Finished);
    assert_eq!(report.cost_micros, None, "unknown, never 0");

    let warnings = events.warnings();
    assert_eq!(warnings.len(), 1, "one warning per run: {warnings:?}");
    assert!(
        warnings[0].contains("anthropic:claude-imaginary-9"),
        "{warnings:?}"
    );

    let recorded = Recorded::load(&*store, &report.trace_id).await;
    assert_eq!(recorded.trace.cost_micros, None);
    assert_eq!(
        recorded.trace.status,
        SpanStatus::Ok,
        "an unknown price is no failure"
    );
    assert_eq!(recorded.root().cost_micros, None);
    let chats = recorded.of(op::CHAT);
    assert_eq!(chats.len(), 2);
    for chat in &chats {
        assert_eq!(chat.cost_micros, None);
        assert_eq!(chat.model.as_deref(), Some("claude-imaginary-9"));
    }
    assert_eq!(
        recorded.trace.tokens,
        expected_tokens(Api::Messages, usage(1)) + expected_tokens(Api::Messages, usage(2)),
        "tokens are recorded whatever the price"
    );
    recorded.assert_totals_are_sums();
}
