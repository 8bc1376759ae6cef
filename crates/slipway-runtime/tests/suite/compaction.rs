//! Compaction near the context window: a `compaction` span whose summary
//! replaces older turns, keeping the system prompt, the task and the latest
//! tool call with its results; the prompt prefix stays byte-identical.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use slipway_config::PriceTable;
use slipway_llm::Api;
use slipway_policy::AgentRole;
use slipway_runtime::{Cancel, RunEvent, RunOptions, RunReport, Stop};
use slipway_store::Store;
use slipway_test_support::{FakeModel, FakeToolCall, FakeUsage, RecordedRequest, Turn};
use slipway_types::{ContentDirection, ContentKind, SpanStatus, operations as op};

use super::fixture::{TASK, agent, coder, expected_tokens, options, repo, tools};
use super::recorded::{Recorded, bodies, of_kind};
use super::support::{Events, TestDb, on_both_backends};
use super::wire::{mentions, prefix, replayed_calls, system, tool_names, tool_results, turns};

on_both_backends!(
    older_turns_are_replaced_by_a_summary,
    a_second_compaction_replaces_the_first_summary,
    a_compaction_in_flight_is_cancelled,
    a_large_tool_result_is_counted_before_the_next_call,
);

const API: Api = Api::Messages;

/// Each call's context is 550 tokens: past half of a 1000-token window.
const BIG: FakeUsage = FakeUsage {
    input: 300,
    output: 250,
    cache_read: 0,
    cache_write: 0,
    reasoning: 0,
};

const SUMMARY_USAGE: FakeUsage = FakeUsage {
    input: 700,
    output: 40,
    cache_read: 0,
    cache_write: 0,
    reasoning: 0,
};

fn read(n: usize, path: &str) -> Turn {
    Turn::tool_calls(vec![FakeToolCall::new(
        &format!("call_{n}"),
        "read_file",
        &format!(r#"{{"path":"{path}"}}"#),
    )])
    .usage(BIG)
}

fn summary(text: &str) -> Turn {
    Turn::text(text).usage(SUMMARY_USAGE)
}

fn small_window() -> RunOptions {
    let mut options = options(AgentRole::Coder, API, true);
    options.context_window = 1000;
    options.compact_at_percent = 50;
    options
}

async fn run(store: &Arc<dyn Store>, fake: &FakeModel, events: &Events) -> RunReport {
    let repo = repo();
    let agent = agent(fake, API, tools(&repo, coder()), store, small_window());
    let report = agent.run(TASK, events, &Cancel::default()).await.unwrap();
    assert_eq!(report.stop, Stop::Finished);
    report
}

/// Checks that a request is the compaction call: its own instructions, no tools, no stream.
fn assert_is_compaction(request: &RecordedRequest) {
    assert!(
        system(API, request).starts_with("You compress"),
        "{:?}",
        request.body
    );
    assert!(tool_names(API, request).is_empty());
    assert!(request.body.get("stream").is_none());
}

/// Checks that the agent's own calls all send one byte-identical prefix.
fn assert_stable_prefix(requests: &[&RecordedRequest]) {
    let first = prefix(API, requests[0]);
    assert!(first.contains("You are a coder") && first.contains("read_file"));
    for request in requests {
        assert_eq!(prefix(API, request), first, "the cached prefix changed");
    }
}

async fn older_turns_are_replaced_by_a_summary(db: &TestDb) {
    let store = db.open().await;
    let fake = FakeModel::start([
        read(1, "src/api/lib.rs"),
        read(2, "src/api/util.rs"),
        summary("SUMMARY: parse() lives in src/api/lib.rs"),
        Turn::text("done"),
    ]);
    let events = Events::default();
    let report = run(&store, &fake, &events).await;
    assert_eq!(report.steps, 3, "a compaction is not a step");

    let requests = fake.requests();
    assert_eq!(requests.len(), 4);
    let compaction = &requests[2];
    assert_is_compaction(compaction);
    assert!(
        mentions(compaction, "pub fn parse"),
        "the older turns are summarized"
    );
    assert!(mentions(compaction, TASK), "the summarizer knows the task");
    assert!(
        !mentions(compaction, "pub fn helper"),
        "the kept tail is not"
    );

    let after = &requests[3];
    let roles: Vec<String> = turns(after).into_iter().map(|(role, _)| role).collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    let task = &turns(after)[0].1;
    assert!(
        task.starts_with(TASK) && task.contains("SUMMARY: parse() lives"),
        "{task}"
    );
    assert!(
        task.contains("[untrusted data from compaction summary"),
        "a summary written from tool results is marked as data: {task}"
    );
    assert_eq!(replayed_calls(after), ["call_2"], "the latest call is kept");
    let results = tool_results(API, after);
    assert_eq!(results.len(), 1);
    assert!(results[0].call_id == "call_2" && results[0].content.contains("pub fn helper"));
    assert!(!mentions(after, "call_1"), "older turns are gone");
    assert_stable_prefix(&[&requests[0], &requests[1], after]);
    assert!(events.all().contains(&RunEvent::Compacted {
        before: 5,
        after: 3
    }));

    let recorded = Recorded::load(&*store, &report.trace_id).await;
    let order: Vec<&str> = recorded
        .spans
        .iter()
        .map(|s| s.operation.as_str())
        .collect();
    assert_eq!(
        order,
        [
            op::INVOKE_AGENT,
            op::CHAT,
            op::EXECUTE_TOOL,
            op::CHAT,
            op::EXECUTE_TOOL,
            op::COMPACTION,
            op::CHAT
        ]
    );
    check_contexts(db, &*store, &recorded).await;
    let span = recorded.of(op::COMPACTION)[0];
    assert_eq!(span.name, "compaction claude-sonnet-4-5");
    assert_eq!(span.parent_id.as_ref(), Some(&recorded.root().id));
    assert_eq!(span.status, SpanStatus::Ok);
    assert_eq!(span.tokens, expected_tokens(API, SUMMARY_USAGE));
    assert_eq!(span.attributes["slipway.compaction.messages"], json!(2));
    let out = bodies(&*store, &span.id, ContentDirection::Output).await;
    assert_eq!(
        of_kind(&out, ContentKind::Summary),
        ["SUMMARY: parse() lives in src/api/lib.rs"]
    );
    recorded.assert_totals_are_sums();
    recorded.assert_priced(
        &PriceTable::builtin().unwrap(),
        "anthropic:claude-sonnet-4-5",
    );
    assert_eq!(
        recorded.root().tokens,
        recorded.trace.tokens,
        "the summary counts"
    );
}

/// The calls before the compaction share a context; the one after it opens
/// its own, whose inputs are what it sent.
async fn check_contexts(db: &TestDb, store: &dyn Store, recorded: &Recorded) {
    let chats = recorded.of(op::CHAT);
    assert_eq!(
        db.count("SELECT COUNT(DISTINCT context_span_id) FROM span_contexts")
            .await,
        2
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM span_contexts WHERE span_id = context_span_id")
            .await,
        2,
        "the first call and the call after the compaction open contexts"
    );
    let sent = bodies(store, &chats[2].id, ContentDirection::Input).await;
    let kinds: Vec<ContentKind> = sent.iter().map(|b| b.kind).collect();
    assert_eq!(
        kinds,
        [
            ContentKind::System,
            ContentKind::Message,
            ContentKind::Message,
            ContentKind::Message
        ]
    );
    assert!(sent[1].body.contains("SUMMARY: parse() lives"), "{sent:?}");
    assert!(!sent.iter().any(|b| b.body.contains("call_1")), "{sent:?}");
}

async fn a_second_compaction_replaces_the_first_summary(db: &TestDb) {
    let store = db.open().await;
    let fake = FakeModel::start([
        read(1, "src/api/lib.rs"),
        read(2, "src/api/util.rs"),
        summary("SUMMARY-ONE"),
        read(3, "web/app.js"),
        summary("SUMMARY-TWO"),
        Turn::text("done"),
    ]);
    let events = Events::default();
    run(&store, &fake, &events).await;

    let requests = fake.requests();
    assert_eq!(requests.len(), 6);
    assert_is_compaction(&requests[2]);
    assert_is_compaction(&requests[4]);
    assert!(
        mentions(&requests[4], "SUMMARY-ONE") && mentions(&requests[4], TASK),
        "the second summary is written from the task and the first"
    );
    let task = &turns(&requests[5])[0].1;
    assert!(task.contains("SUMMARY-TWO"), "{task}");
    assert!(
        !task.contains("SUMMARY-ONE"),
        "summaries replace each other instead of piling up: {task}"
    );
    assert_eq!(task.matches(TASK).count(), 1);
    assert_eq!(replayed_calls(&requests[5]), ["call_3"]);
    assert_stable_prefix(&[&requests[0], &requests[1], &requests[3], &requests[5]]);
    let compactions = events
        .all()
        .into_iter()
        .filter(|e| matches!(e, RunEvent::Compacted { .. }))
        .count();
    assert_eq!(compactions, 2);
    // The first call and each call after a compaction open a context.
    assert_eq!(
        db.count("SELECT COUNT(DISTINCT context_span_id) FROM span_contexts")
            .await,
        3
    );
}

async fn a_compaction_in_flight_is_cancelled(db: &TestDb) {
    let cancel = Arc::new(Cancel::default());
    let store = db.open().await;
    let repo = repo();
    // Far longer than the test may take: only cancellation ends the summary call.
    let fake = Arc::new(FakeModel::start([
        read(1, "src/api/lib.rs"),
        read(2, "src/api/util.rs"),
        summary("never used").delayed(Duration::from_mins(2)),
    ]));
    // Cancelled once the summary's request has arrived.
    let canceller = tokio::spawn({
        let (fake, cancel) = (Arc::clone(&fake), Arc::clone(&cancel));
        async move {
            while fake.requests().len() < 3 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            cancel.cancel();
        }
    });
    let agent = agent(&fake, API, tools(&repo, coder()), &store, small_window());
    let report = agent.run(TASK, &Events::default(), &cancel).await.unwrap();
    canceller.await.unwrap();
    assert_eq!(report.stop, Stop::Cancelled);
    assert_eq!(
        fake.requests().len(),
        3,
        "nothing after the summary's request"
    );
    let recorded = Recorded::load(&*store, &report.trace_id).await;
    let span = recorded.of(op::COMPACTION)[0];
    assert_eq!(
        (span.status, span.error.as_deref()),
        (SpanStatus::Error, Some("cancelled"))
    );
    assert_eq!(recorded.trace.error.as_deref(), Some("stopped: cancelled"));
}

async fn a_large_tool_result_is_counted_before_the_next_call(db: &TestDb) {
    let store = db.open().await;
    let repo = repo();
    // Calls well under the window, but the second one's tool result fills it.
    std::fs::write(repo.join("src/api/big.rs"), "// padding\n".repeat(400)).unwrap();
    let small = FakeUsage {
        input: 60,
        output: 20,
        ..BIG
    };
    let fake = FakeModel::start([
        read(1, "src/api/lib.rs").usage(small),
        read(2, "src/api/big.rs").usage(small),
        summary("The task; big.rs is padding."),
        Turn::text("done").usage(small),
    ]);
    let events = Events::default();
    let agent = agent(&fake, API, tools(&repo, coder()), &store, small_window());
    let report = agent.run(TASK, &events, &Cancel::default()).await.unwrap();
    assert_eq!(report.stop, Stop::Finished);
    assert_eq!(
        fake.requests().len(),
        4,
        "the summary call came before the next step"
    );
    assert!(
        events
            .all()
            .iter()
            .any(|e| matches!(e, RunEvent::Compacted { .. })),
        "{:?}",
        events.all()
    );
    let recorded = Recorded::load(&*store, &report.trace_id).await;
    assert_eq!(recorded.of(op::COMPACTION).len(), 1);
}
