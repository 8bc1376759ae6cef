//! Failed model calls: a rate limit retried to success, a rejected request
//! failing the run with a typed error, and streams cut short; each failure
//! recorded in the trace with its error.

use slipway_llm::{Api, LlmError};
use slipway_policy::AgentRole;
use slipway_runtime::{Cancel, RunEvent, RuntimeError, Stop};
use slipway_store::{Store, StoreError};
use slipway_test_support::{FakeModel, FakeToolCall, Reply, Turn};
use slipway_types::{SpanStatus, TokenCounts, TraceId, attributes as attr, operations as op};

use super::fixture::{ATTEMPTS, TASK, agent, coder, options, repo, tools};
use super::recorded::Recorded;
use super::support::{Events, TestDb, on_both_backends};

on_both_backends!(
    a_failed_trace_write_loses_nothing_it_recorded,
    a_run_whose_last_writes_fail_still_records_its_end,
    a_refused_step_ends_the_recording_of_steps_not_the_run_record,
    a_rate_limit_with_retry_after_is_retried_and_the_run_finishes,
    a_rejected_request_fails_the_run_with_its_error_recorded,
    a_stream_cut_before_any_output_is_retried,
    a_stream_cut_after_output_fails_at_once,
    a_body_cut_short_fails_after_the_retries,
);

async fn a_rate_limit_with_retry_after_is_retried_and_the_run_finishes(db: &TestDb) {
    let store = db.open().await;
    let repo = repo();
    let limited = r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#;
    let fake = FakeModel::start([
        Turn::error(429, limited).retry_after("0"),
        Turn::text("made it"),
    ]);
    let api = Api::Messages;
    let agent = agent(
        &fake,
        api,
        tools(&repo, coder()),
        &store,
        options(AgentRole::Coder, api, true),
    );
    let report = agent
        .run(TASK, &Events::default(), &Cancel::default())
        .await
        .unwrap();
    assert_eq!(
        (report.stop, report.text.as_str()),
        (Stop::Finished, "made it")
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "the 429 and its retry");
    assert_eq!(requests[0].body, requests[1].body, "the same request again");

    let recorded = Recorded::load(&*store, &report.trace_id).await;
    assert_eq!(recorded.trace.status, SpanStatus::Ok);
    let chats = recorded.of(op::CHAT);
    assert_eq!(chats.len(), 1, "a retry is part of one model call");
    assert_eq!(chats[0].status, SpanStatus::Ok);
}

/// Checks a failed run's trace: ended with status error and `says` in its
/// error, its root and its last model call failed the same way.
async fn check_failed_trace(store: &dyn Store, says: &str, error_type: &str) -> TraceId {
    check_failed_trace_with(store, says, error_type, TokenCounts::default()).await
}

/// As [`check_failed_trace`], where the failed call reported `tokens` before it failed.
async fn check_failed_trace_with(
    store: &dyn Store,
    says: &str,
    error_type: &str,
    tokens: TokenCounts,
) -> TraceId {
    let traces = store.traces(10).await.unwrap();
    assert_eq!(traces.len(), 1, "the failed run is recorded");
    let recorded = Recorded::load(store, &traces[0].id).await;
    let trace = &recorded.trace;
    assert_eq!(trace.status, SpanStatus::Error);
    let error = trace.error.as_deref().unwrap_or_default();
    assert!(error.contains(says), "trace error: {error}");
    let root = recorded.root();
    assert_eq!(root.status, SpanStatus::Error);
    assert_eq!(root.error, trace.error);
    let chat = *recorded.of(op::CHAT).last().unwrap();
    assert_eq!(chat.status, SpanStatus::Error);
    assert!(
        chat.error.as_deref().unwrap_or_default().contains(says),
        "{chat:#?}"
    );
    assert_eq!(chat.attributes[attr::ERROR_TYPE], error_type);
    assert_eq!(chat.tokens, tokens);
    assert_eq!(trace.tokens, tokens, "the run's totals count them too");
    if tokens == TokenCounts::default() {
        assert_eq!(chat.cost_micros, None);
    } else {
        assert!(chat.cost_micros.is_some_and(|c| c > 0), "{chat:#?}");
    }
    trace.id.clone()
}

async fn a_rejected_request_fails_the_run_with_its_error_recorded(db: &TestDb) {
    let store = db.open().await;
    let repo = repo();
    let body = r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: 999999 > 64000"}}"#;
    let fake = FakeModel::start([Turn::error(400, body), Turn::text("never sent")]);
    let api = Api::Messages;
    let agent = agent(
        &fake,
        api,
        tools(&repo, coder()),
        &store,
        options(AgentRole::Coder, api, false),
    );
    let err = agent
        .run(TASK, &Events::default(), &Cancel::default())
        .await
        .unwrap_err();
    let RuntimeError::Model { provider, source } = &err else {
        panic!("a model error, not {err:?}");
    };
    assert_eq!(provider, "anthropic");
    assert!(
        matches!(source, LlmError::Http { status: 400, .. }) && !source.is_retryable(),
        "{source:?}"
    );
    assert_eq!(fake.requests().len(), 1, "a 400 is not retried");
    assert_eq!(fake.remaining(), 1);
    check_failed_trace(&*store, "max_tokens: 999999 > 64000", "http").await;
}

/// A reply whose stream has text to show early.
fn answer() -> Reply {
    Reply {
        text: "The answer is forty-two.".into(),
        ..Reply::default()
    }
}

async fn a_stream_cut_before_any_output_is_retried(db: &TestDb) {
    let store = db.open().await;
    let repo = repo();
    let api = Api::Messages;
    // Cut inside the second event (`ping`): nothing reached the caller yet.
    let cut = || Turn::cut(answer(), 1);
    let fake = FakeModel::start([cut(), cut(), Turn::text("whole at last")]);
    let run = |fake: &FakeModel| {
        agent(
            fake,
            api,
            tools(&repo, coder()),
            &store,
            options(AgentRole::Coder, api, true),
        )
    };
    let report = run(&fake)
        .run(TASK, &Events::default(), &Cancel::default())
        .await
        .unwrap();
    assert_eq!(report.text, "whole at last");
    assert_eq!(fake.requests().len(), 3);

    // Cut every time: the retries run out and the error is typed.
    let fake = FakeModel::start(std::iter::repeat_with(cut).take(ATTEMPTS + 1));
    let err = run(&fake)
        .run(TASK, &Events::default(), &Cancel::default())
        .await
        .unwrap_err();
    let RuntimeError::Model { source, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        matches!(source, LlmError::StreamClosed { .. }) && source.is_retryable(),
        "{source:?}"
    );
    assert_eq!(
        fake.requests().len(),
        ATTEMPTS,
        "every attempt the policy allows"
    );
    let traces = store.traces(10).await.unwrap();
    assert_eq!(traces.len(), 2);
    assert_eq!(
        (traces[0].status, traces[1].status),
        (SpanStatus::Error, SpanStatus::Ok),
        "newest first"
    );
    let failed = Recorded::load(&*store, &traces[0].id).await;
    let chat = failed.of(op::CHAT)[0];
    assert_eq!(chat.attributes[attr::ERROR_TYPE], "stream_closed");
    assert!(
        failed
            .trace
            .error
            .as_deref()
            .unwrap()
            .contains("ended early")
    );
}

async fn a_stream_cut_after_output_fails_at_once(db: &TestDb) {
    let store = db.open().await;
    let repo = repo();
    let api = Api::Messages;
    // message_start, ping, content_block_start, one text delta, half of the next.
    let reported = Reply {
        usage: super::fixture::usage(1),
        ..answer()
    };
    let fake = FakeModel::start([Turn::cut(reported, 4), Turn::text("never sent")]);
    let events = Events::default();
    let agent = agent(
        &fake,
        api,
        tools(&repo, coder()),
        &store,
        options(AgentRole::Coder, api, true),
    );
    let err = agent
        .run(TASK, &events, &Cancel::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            RuntimeError::Model {
                source: LlmError::StreamClosed { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        fake.requests().len(),
        1,
        "text already shown is not taken back by a retry"
    );
    let shown: Vec<RunEvent> = events.all();
    assert!(
        matches!(shown.first(), Some(RunEvent::Text(text)) if "The answer is forty-two.".starts_with(text.as_str()) && !text.is_empty()),
        "{shown:?}"
    );
    // message_start had reported the input side: it was billed, so it is counted.
    let billed = TokenCounts {
        input: 120,
        cache_read: 1000,
        cache_write: 200,
        output: 1,
        reasoning: 0,
    };
    check_failed_trace_with(&*store, "ended early", "stream_closed", billed).await;
}

async fn a_body_cut_short_fails_after_the_retries(db: &TestDb) {
    let store = db.open().await;
    let repo = repo();
    let api = Api::Chat;
    let fake = FakeModel::start(std::iter::repeat_with(|| Turn::cut(answer(), 0)).take(ATTEMPTS));
    let agent = agent(
        &fake,
        api,
        tools(&repo, coder()),
        &store,
        options(AgentRole::Coder, api, false),
    );
    let err = agent
        .run(TASK, &Events::default(), &Cancel::default())
        .await
        .unwrap_err();
    let RuntimeError::Model { provider, source } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(provider, "openai");
    assert!(source.is_retryable(), "{source:?}");
    assert_eq!(fake.requests().len(), ATTEMPTS);
    check_failed_trace(&*store, "ended early", "stream_closed").await;
}

/// Runs a coder whose model asks for one read and would then answer, on a
/// store that `arrange` sets up to fail; returns the store, the run's error
/// and the model.
async fn run_on_flaky(
    db: &TestDb,
    arrange: impl FnOnce(&super::flaky::Flaky),
) -> (std::sync::Arc<dyn Store>, RuntimeError, FakeModel) {
    let flaky = super::flaky::Flaky::wrap(db.open().await);
    let store: std::sync::Arc<dyn Store> = flaky.clone();
    let repo = repo();
    let api = Api::Messages;
    let fake = FakeModel::start([
        Turn::tool_calls(vec![FakeToolCall::new(
            "call_1",
            "read_file",
            r#"{"path":"src/api/lib.rs"}"#,
        )]),
        Turn::text("never sent"),
    ]);
    arrange(&flaky);
    let options = options(AgentRole::Coder, api, true);
    let agent = agent(&fake, api, tools(&repo, coder()), &store, options);
    let err = agent
        .run(TASK, &Events::default(), &Cancel::default())
        .await
        .unwrap_err();
    (store, err, fake)
}

async fn a_failed_trace_write_loses_nothing_it_recorded(db: &TestDb) {
    // The first step's write fails; the run stops there, and what it
    // recorded is written with the run's end.
    let (store, err, fake) = run_on_flaky(db, |flaky| flaky.fail_next(1)).await;
    assert!(matches!(err, RuntimeError::Store(_)), "{err:?}");
    assert_eq!(fake.requests().len(), 1, "no step after a failed write");
    let traces = store.traces(10).await.unwrap();
    let recorded = Recorded::load(&*store, &traces[0].id).await;
    assert_eq!(recorded.trace.status, SpanStatus::Error);
    assert!(
        recorded
            .trace
            .error
            .as_deref()
            .is_some_and(|e| e.contains("could not be recorded")),
        "{:?}",
        recorded.trace.error
    );
    let (chat, tool) = (recorded.of(op::CHAT), recorded.of(op::EXECUTE_TOOL));
    assert_eq!((chat.len(), tool.len()), (1, 1));
    assert_eq!(
        (chat[0].status, tool[0].status),
        (SpanStatus::Ok, SpanStatus::Ok)
    );
    assert_eq!(recorded.root().status, SpanStatus::Error);
    // Every body is linked to the span that sent or received it.
    let sent = store.span_contents(&chat[0].id).await.unwrap();
    assert_eq!(sent.len(), 3, "system, task, response: {sent:?}");
    assert!(sent[1].1.body.contains(TASK), "{sent:?}");
    let tool_bodies = store.span_contents(&tool[0].id).await.unwrap();
    assert_eq!(
        tool_bodies.len(),
        2,
        "arguments and result: {tool_bodies:?}"
    );
    assert!(tool_bodies[0].1.body.contains("src/api/lib.rs"));
}

async fn a_run_whose_last_writes_fail_still_records_its_end(db: &TestDb) {
    // Every write of steps fails, the last ones the run's end makes included.
    let (store, err, _) = run_on_flaky(db, |flaky| flaky.fail_next(usize::MAX)).await;
    assert!(matches!(err, RuntimeError::Store(_)), "{err:?}");
    let traces = store.traces(10).await.unwrap();
    assert_eq!(traces.len(), 1);
    assert_eq!(
        traces[0].status,
        SpanStatus::Error,
        "the run is not left running"
    );
    assert!(traces[0].ended_at.is_some());
    let recorded = Recorded::load(&*store, &traces[0].id).await;
    assert_eq!(
        recorded.spans.len(),
        0,
        "no step could be written: {:?}",
        recorded.spans
    );
}

async fn a_refused_step_ends_the_recording_of_steps_not_the_run_record(db: &TestDb) {
    // Only the first write is refused: the later ones would be written if
    // the recorder tried them, on records that build on the refused one.
    let (store, err, fake) = run_on_flaky(db, |flaky| flaky.refuse_next(1)).await;
    assert!(
        matches!(err, RuntimeError::Store(StoreError::InvalidBatch { .. })),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 1, "no step after a refused write");
    let traces = store.traces(10).await.unwrap();
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0].status, SpanStatus::Error);
    assert!(traces[0].ended_at.is_some(), "the run's end is recorded");
    let recorded = Recorded::load(&*store, &traces[0].id).await;
    assert!(
        recorded.spans.is_empty(),
        "nothing after the refused step is written: {:?}",
        recorded.spans
    );
}
