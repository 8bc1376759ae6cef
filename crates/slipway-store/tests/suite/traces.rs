//! Traces, spans, stored bodies and costs: the same answers on SQLite and
//! PostgreSQL, unknown costs kept unknown, every body stored once.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use slipway_store::{
    BatchLink, BodyRef, CostGroup, CostRow, SCHEMA_VERSION, SpanEnd, Store, StoreError, TraceBatch,
    TraceEnd,
};
use slipway_types::{
    ContentDirection, ContentId, ContentKind, ContentRef, Span, SpanId, SpanStatus, TaskId,
    TokenCounts, Trace, TraceId, attributes as attr,
};

use crate::suite::support::{Rng, TestDb, at, create, on_both_backends, us};

on_both_backends!(
    traces_round_trip_and_finish,
    traces_are_listed_newest_first,
    a_tasks_runs_are_listed_oldest_first,
    spans_form_a_tree_within_their_trace,
    span_parents_belong_to_the_same_trace,
    bodies_are_stored_once_and_linked_in_order,
    a_batch_is_written_whole_or_not_at_all,
    a_batch_links_many_bodies_in_order,
    odd_bodies_and_missing_links,
    costs_group_and_keep_unknown_costs_unknown,
    costs_agree_with_a_naive_sum,
    unknown_ids_are_typed_errors,
    a_version_one_database_gains_the_trace_tables,
);

const DAY: u64 = 86_400;

pub(crate) fn trace_id(n: u8) -> TraceId {
    TraceId::from_bytes([n; 16])
}

pub(crate) fn span_id(n: u8) -> SpanId {
    SpanId::from_bytes([n; 8])
}

pub(crate) fn tokens(
    input: u64,
    cache_read: u64,
    cache_write: u64,
    output: u64,
    reasoning: u64,
) -> TokenCounts {
    TokenCounts {
        input,
        cache_read,
        cache_write,
        output,
        reasoning,
    }
}

/// A run started `seconds` after `t0`, of no task, still running.
pub(crate) fn new_trace(n: u8, role: &str, model: &str, seconds: u64) -> Trace {
    Trace {
        id: trace_id(n),
        task_id: None,
        role: role.into(),
        model: model.into(),
        status: SpanStatus::Ok,
        started_at: at(seconds),
        ended_at: None,
        tokens: TokenCounts::default(),
        cost_micros: None,
        error: None,
    }
}

/// A span named `{operation} {target}`, started `seconds` after `t0`, running.
pub(crate) fn new_span(
    trace: u8,
    n: u8,
    parent: Option<u8>,
    operation: &str,
    target: &str,
    seconds: u64,
) -> Span {
    Span {
        id: span_id(n),
        trace_id: trace_id(trace),
        parent_id: parent.map(span_id),
        name: format!("{operation} {target}"),
        operation: operation.into(),
        started_at: at(seconds),
        ended_at: None,
        status: SpanStatus::Ok,
        error: None,
        model: None,
        provider: None,
        tool_name: (operation == "execute_tool").then(|| target.to_owned()),
        tokens: TokenCounts::default(),
        cost_micros: None,
        attributes: BTreeMap::from([(attr::OPERATION_NAME.to_owned(), json!(operation))]),
    }
}

pub(crate) fn span_end(status: SpanStatus, seconds: u64) -> SpanEnd {
    SpanEnd {
        status,
        ended_at: at(seconds),
        tokens: TokenCounts::default(),
        cost_micros: None,
        error: None,
        attributes: BTreeMap::new(),
    }
}

pub(crate) fn trace_end(seconds: u64, tokens: TokenCounts, cost_micros: Option<i64>) -> TraceEnd {
    TraceEnd {
        status: SpanStatus::Ok,
        ended_at: at(seconds),
        tokens,
        cost_micros,
        error: None,
    }
}

/// `t` as stored: truncated to the microsecond.
fn stored(trace: &Trace) -> Trace {
    Trace {
        started_at: us(trace.started_at),
        ended_at: trace.ended_at.map(us),
        ..trace.clone()
    }
}

async fn traces_round_trip_and_finish(db: &TestDb) {
    let store = db.open().await;
    let task = create(&*store, "fix the parser", "api").await;
    let started = Trace {
        task_id: Some(task.id),
        ..new_trace(1, "coder", "anthropic:claude-sonnet-4-5", 0)
    };
    store.start_trace(&started).await.unwrap();
    let (read, spans) = store.trace(&started.id).await.unwrap();
    assert_eq!(read, stored(&started));
    assert_eq!(spans, []);

    let end = TraceEnd {
        status: SpanStatus::Error,
        ended_at: at(90),
        tokens: tokens(100, 2000, 300, 40, 10),
        cost_micros: Some(12_345),
        error: Some("the cost budget ran out".into()),
    };
    store.finish_trace(&started.id, &end).await.unwrap();
    let finished = Trace {
        status: SpanStatus::Error,
        ended_at: Some(end.ended_at),
        tokens: end.tokens,
        cost_micros: Some(12_345),
        error: end.error.clone(),
        ..started.clone()
    };
    assert_eq!(store.trace(&started.id).await.unwrap().0, stored(&finished));
    assert_eq!(
        db.raw_strings("SELECT CAST(duration_us AS TEXT) || ' ' || substr(started_at, 1, 10) || ' ' || CAST(input_tokens AS TEXT) || ' ' || CAST(reasoning_tokens AS TEXT) FROM traces")
            .await,
        ["90000000 2026-11-24 100 10"]
    );

    // A run of no task whose price is unknown: its cost stays NULL, not 0.
    let free = new_trace(2, "explorer", "ollama:qwen3", 5);
    store.start_trace(&free).await.unwrap();
    store
        .finish_trace(&free.id, &trace_end(6, tokens(7, 0, 0, 3, 0), None))
        .await
        .unwrap();
    let read = store.trace(&free.id).await.unwrap().0;
    assert_eq!((read.task_id, read.cost_micros), (None, None));
    assert_eq!(read.tokens, tokens(7, 0, 0, 3, 0));
    assert_eq!(
        db.raw_strings("SELECT id FROM traces WHERE cost_micros IS NULL")
            .await,
        [free.id.to_string()]
    );

    // Committed: a second handle sees both.
    let other = db.open().await;
    assert_eq!(other.traces(10).await.unwrap().len(), 2);

    // Text PostgreSQL cannot hold is stored the same way on both backends.
    let odd = Trace {
        error: Some("bad\0byte".into()),
        ..new_trace(3, "coder", "scripted:demo", 7)
    };
    store.start_trace(&odd).await.unwrap();
    let read = store.trace(&odd.id).await.unwrap().0;
    assert_eq!(read.error.as_deref(), Some("bad\u{fffd}byte"));
}

async fn traces_are_listed_newest_first(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(store.traces(10).await.unwrap(), []);
    for (n, seconds) in [(1, 10), (2, 30), (3, 20), (4, 30)] {
        store
            .start_trace(&new_trace(n, "coder", "openai:gpt-5", seconds))
            .await
            .unwrap();
    }
    let ids = |traces: Vec<Trace>| traces.into_iter().map(|t| t.id).collect::<Vec<_>>();
    // Started at the same instant: the larger id first, so the order is total.
    assert_eq!(
        ids(store.traces(10).await.unwrap()),
        [trace_id(4), trace_id(2), trace_id(3), trace_id(1)]
    );
    assert_eq!(
        ids(store.traces(2).await.unwrap()),
        [trace_id(4), trace_id(2)]
    );
    assert_eq!(store.traces(0).await.unwrap(), []);
    let newest = &store.traces(1).await.unwrap()[0];
    assert_eq!(newest, &stored(&new_trace(4, "coder", "openai:gpt-5", 30)));
}

async fn a_tasks_runs_are_listed_oldest_first(db: &TestDb) {
    let store = db.open().await;
    let a = create(&*store, "a", "api").await.id;
    let b = create(&*store, "b", "web").await.id;
    assert_eq!(store.task_traces(a).await.unwrap(), []);
    for (n, task, seconds) in [
        (1, Some(a), 30),
        (2, Some(b), 10),
        (3, None, 5),
        (4, Some(a), 20),
    ] {
        let mut trace = new_trace(n, "coder", "openai:gpt-5", seconds);
        trace.task_id = task;
        store.start_trace(&trace).await.unwrap();
    }
    let ids = |traces: Vec<Trace>| traces.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.task_traces(a).await.unwrap()),
        [trace_id(4), trace_id(1)]
    );
    assert_eq!(ids(store.task_traces(b).await.unwrap()), [trace_id(2)]);
    assert_eq!(store.task_traces(TaskId(99)).await.unwrap(), []);
}

async fn spans_form_a_tree_within_their_trace(db: &TestDb) {
    let store = db.open().await;
    store
        .start_trace(&new_trace(1, "coder", "anthropic:claude-sonnet-4-5", 0))
        .await
        .unwrap();
    store
        .start_trace(&new_trace(2, "reviewer", "openai:gpt-5", 0))
        .await
        .unwrap();

    let root = new_span(1, 1, None, "invoke_agent", "coder", 0);
    let chat = Span {
        model: Some("claude-sonnet-4-5".into()),
        provider: Some("anthropic".into()),
        attributes: BTreeMap::from([
            (attr::OPERATION_NAME.to_owned(), json!("chat")),
            (attr::REQUEST_MODEL.to_owned(), json!("claude-sonnet-4-5")),
            (attr::RESPONSE_ID.to_owned(), json!("pending")),
        ]),
        ..new_span(1, 2, Some(1), "chat", "claude-sonnet-4-5", 1)
    };
    let read = new_span(1, 3, Some(1), "execute_tool", "read_file", 2);
    let denied = Span {
        status: SpanStatus::Denied,
        error: Some("`src/web/app.ts` belongs to lane `web`, not `api`".into()),
        ended_at: Some(at(3)),
        ..new_span(1, 4, Some(1), "execute_tool", "write_file", 3)
    };
    let compaction = new_span(1, 5, Some(1), "compaction", "claude-haiku-4-5", 4);
    let summary_call = new_span(1, 6, Some(5), "chat", "claude-haiku-4-5", 5);
    // Started out of time order: listed by start.
    for span in [&root, &chat, &denied, &read, &compaction, &summary_call] {
        store.start_span(span).await.unwrap();
    }
    store
        .start_span(&new_span(2, 7, None, "invoke_agent", "reviewer", 0))
        .await
        .unwrap();

    let end = SpanEnd {
        tokens: tokens(1200, 30_000, 0, 350, 120),
        cost_micros: Some(17_850),
        attributes: BTreeMap::from([
            (attr::INPUT_TOKENS.to_owned(), json!(1200)),
            (attr::RESPONSE_ID.to_owned(), json!("msg_01")),
        ]),
        ..span_end(SpanStatus::Ok, 9)
    };
    store.finish_span(&chat.id, &end).await.unwrap();

    let (_, spans) = store.trace(&trace_id(1)).await.unwrap();
    let order: Vec<&SpanId> = spans.iter().map(|s| &s.id).collect();
    assert_eq!(
        order,
        [1, 2, 3, 4, 5, 6].map(span_id).iter().collect::<Vec<_>>()
    );
    let children = |parent: u8| -> BTreeSet<SpanId> {
        spans
            .iter()
            .filter(|s| s.parent_id == Some(span_id(parent)))
            .map(|s| s.id.clone())
            .collect()
    };
    assert_eq!(children(1), [2, 3, 4, 5].map(span_id).into());
    assert_eq!(children(5), [span_id(6)].into());
    assert!(spans[0].parent_id.is_none());

    let finished_chat = Span {
        started_at: us(chat.started_at),
        ended_at: Some(us(at(9))),
        tokens: end.tokens,
        cost_micros: Some(17_850),
        attributes: BTreeMap::from([
            (attr::OPERATION_NAME.to_owned(), json!("chat")),
            (attr::REQUEST_MODEL.to_owned(), json!("claude-sonnet-4-5")),
            (attr::RESPONSE_ID.to_owned(), json!("msg_01")),
            (attr::INPUT_TOKENS.to_owned(), json!(1200)),
        ]),
        ..chat.clone()
    };
    assert_eq!(spans[1], finished_chat);
    assert_eq!(spans[3].status, SpanStatus::Denied);
    assert_eq!(spans[3].error, denied.error);
    assert_eq!(spans[3].tool_name.as_deref(), Some("write_file"));
    let durations = db
        .raw_strings("SELECT id || ' ' || COALESCE(CAST(duration_us AS TEXT), '-') FROM spans WHERE trace_id = '01010101010101010101010101010101' ORDER BY started_at")
        .await;
    assert_eq!(durations[1], format!("{} 8000000", span_id(2)));
    assert_eq!(durations[2], format!("{} -", span_id(3)));
    assert_eq!(durations[3], format!("{} 0", span_id(4)));
}

async fn span_parents_belong_to_the_same_trace(db: &TestDb) {
    let store = db.open().await;
    for n in [1, 2] {
        store
            .start_trace(&new_trace(n, "coder", "openai:gpt-5", 0))
            .await
            .unwrap();
    }
    store
        .start_span(&new_span(1, 1, None, "invoke_agent", "coder", 0))
        .await
        .unwrap();
    store
        .start_span(&new_span(2, 7, None, "invoke_agent", "coder", 0))
        .await
        .unwrap();
    // A parent must be a span of the same trace, and the trace must exist.
    let stray = new_span(2, 8, Some(1), "chat", "gpt-5", 1);
    let err = store.start_span(&stray).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::UnknownSpan { id } if *id == span_id(1)),
        "{err}"
    );
    let orphan = new_span(2, 8, Some(99), "chat", "gpt-5", 1);
    let err = store.start_span(&orphan).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::UnknownSpan { id } if *id == span_id(99)),
        "{err}"
    );
    let lost = new_span(9, 8, None, "chat", "gpt-5", 1);
    let err = store.start_span(&lost).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::UnknownTrace { id } if *id == trace_id(9)),
        "{err}"
    );
    let (_, other) = store.trace(&trace_id(2)).await.unwrap();
    assert_eq!(other.len(), 1, "{other:?}");
}

async fn bodies_are_stored_once_and_linked_in_order(db: &TestDb) {
    let store = db.open().await;
    store
        .start_trace(&new_trace(1, "coder", "anthropic:claude-sonnet-4-5", 0))
        .await
        .unwrap();
    let (a, b) = (span_id(1), span_id(2));
    for span in [
        new_span(1, 1, None, "chat", "claude-sonnet-4-5", 1),
        new_span(1, 2, None, "chat", "claude-sonnet-4-5", 2),
    ] {
        store.start_span(&span).await.unwrap();
    }
    let put = |kind, body: &'static str| {
        let store = &store;
        async move { store.put_content(kind, body).await.unwrap() }
    };
    let system = put(ContentKind::System, "You are the coder of lane `api`.").await;
    assert_eq!(
        put(ContentKind::System, "You are the coder of lane `api`.").await,
        system
    );
    let task = put(ContentKind::Message, "Fix the parser").await;
    let echoed = put(ContentKind::Response, "Fix the parser").await;
    assert_ne!(task, echoed, "the same text as another kind keeps its kind");
    let reply = put(ContentKind::Response, "Done.").await;
    let result = put(ContentKind::ToolResult, "fn parse() {}").await;
    assert_eq!(
        db.raw_strings("SELECT CAST(COUNT(*) AS TEXT) FROM contents")
            .await,
        ["5"]
    );

    // Each call sends the conversation so far: references, not copies.
    store
        .link_contents(&a, ContentDirection::Input, &[system, task])
        .await
        .unwrap();
    store
        .link_contents(&a, ContentDirection::Output, &[reply])
        .await
        .unwrap();
    store
        .link_contents(&a, ContentDirection::Input, &[result])
        .await
        .unwrap();
    store
        .link_contents(&b, ContentDirection::Input, &[system, task, reply, result])
        .await
        .unwrap();
    store
        .link_contents(&b, ContentDirection::Input, &[])
        .await
        .unwrap();
    let body = |kind, body: &str| ContentRef {
        kind,
        body: body.to_owned(),
    };
    assert_eq!(
        store.span_contents(&a).await.unwrap(),
        [
            (
                ContentDirection::Input,
                body(ContentKind::System, "You are the coder of lane `api`.")
            ),
            (
                ContentDirection::Input,
                body(ContentKind::Message, "Fix the parser")
            ),
            (
                ContentDirection::Input,
                body(ContentKind::ToolResult, "fn parse() {}")
            ),
            (
                ContentDirection::Output,
                body(ContentKind::Response, "Done.")
            ),
        ]
    );
    assert_eq!(store.span_contents(&b).await.unwrap().len(), 4);
    assert_eq!(
        db.raw_strings(&format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM span_contents WHERE content_id = {}",
            system.0
        ))
        .await,
        ["2"]
    );
    assert_eq!(
        db.raw_strings("SELECT CAST(COUNT(*) AS TEXT) FROM contents")
            .await,
        ["5"],
        "linking stores nothing new"
    );
}

async fn odd_bodies_and_missing_links(db: &TestDb) {
    let store = db.open().await;
    store
        .start_trace(&new_trace(1, "coder", "openai:gpt-5", 0))
        .await
        .unwrap();
    let (a, b) = (span_id(1), span_id(2));
    for span in [
        new_span(1, 1, None, "chat", "gpt-5", 1),
        new_span(1, 2, None, "chat", "gpt-5", 2),
    ] {
        store.start_span(&span).await.unwrap();
    }
    let put = |kind, body: &'static str| {
        let store = &store;
        async move { store.put_content(kind, body).await.unwrap() }
    };
    let task = put(ContentKind::Message, "Fix the parser").await;
    store
        .link_contents(&a, ContentDirection::Input, &[task])
        .await
        .unwrap();

    // NUL cannot be stored by PostgreSQL; the identity is the body as given.
    let binary = put(ContentKind::ToolResult, "bin\0ary").await;
    assert_eq!(put(ContentKind::ToolResult, "bin\0ary").await, binary);
    assert_ne!(put(ContentKind::ToolResult, "bin\u{fffd}ary").await, binary);
    let large = "x".repeat(1 << 20);
    let large_id = store
        .put_content(ContentKind::ToolResult, &large)
        .await
        .unwrap();
    store
        .link_contents(&b, ContentDirection::Output, &[binary, large_id])
        .await
        .unwrap();
    let outputs: Vec<String> = store
        .span_contents(&b)
        .await
        .unwrap()
        .into_iter()
        .filter(|(direction, _)| *direction == ContentDirection::Output)
        .map(|(_, content)| content.body)
        .collect();
    assert_eq!(outputs, ["bin\u{fffd}ary".to_owned(), large]);

    // A missing body or span links nothing.
    let before = store.span_contents(&a).await.unwrap();
    let err = store
        .link_contents(&a, ContentDirection::Input, &[task, ContentId(999)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownContent { id: ContentId(999) }),
        "{err}"
    );
    assert_eq!(store.span_contents(&a).await.unwrap(), before);
    let err = store
        .link_contents(&span_id(77), ContentDirection::Input, &[task])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownSpan { .. }), "{err}");
    let err = store.span_contents(&span_id(77)).await.unwrap_err();
    assert!(matches!(err, StoreError::UnknownSpan { .. }), "{err}");
}

fn cost_row(key: &str, runs: u64, tokens: TokenCounts, cost: Option<i64>, unknown: u64) -> CostRow {
    CostRow {
        key: key.to_owned(),
        runs,
        tokens,
        cost_micros: cost,
        unknown_cost_runs: unknown,
    }
}

/// A finished run, for the cost tests.
struct Run {
    trace: Trace,
    tokens: TokenCounts,
    cost: Option<i64>,
}

impl Run {
    fn new(
        n: u8,
        role: &str,
        model: &str,
        task: Option<TaskId>,
        seconds: u64,
        used: TokenCounts,
        cost: Option<i64>,
    ) -> Self {
        let trace = Trace {
            task_id: task,
            ..new_trace(n, role, model, seconds)
        };
        Self {
            trace,
            tokens: used,
            cost,
        }
    }

    async fn record(&self, store: &dyn Store) {
        store.start_trace(&self.trace).await.unwrap();
        let end = trace_end(30, self.tokens, self.cost);
        store.finish_trace(&self.trace.id, &end).await.unwrap();
    }
}

async fn costs_group_and_keep_unknown_costs_unknown(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(store.cost_by(CostGroup::Model, None).await.unwrap(), []);
    let a = create(&*store, "a", "api").await.id;
    let b = create(&*store, "b", "web").await.id;
    let sonnet = "anthropic:claude-sonnet-4-5";
    let runs = [
        Run::new(
            1,
            "coder",
            sonnet,
            Some(a),
            0,
            tokens(10, 100, 0, 5, 0),
            Some(1000),
        ),
        Run::new(2, "coder", sonnet, Some(a), 60, tokens(1, 1, 1, 1, 1), None),
        Run::new(
            3,
            "reviewer",
            "openai:gpt-5",
            Some(b),
            DAY,
            tokens(100, 0, 0, 20, 5),
            Some(250),
        ),
        Run::new(
            4,
            "reviewer",
            "ollama:qwen3",
            None,
            DAY + 60,
            tokens(3, 0, 0, 3, 0),
            None,
        ),
        Run::new(
            5,
            "reviewer",
            "ollama:qwen3",
            None,
            2 * DAY,
            tokens(4, 0, 0, 4, 0),
            None,
        ),
    ];
    for run in &runs {
        run.record(&*store).await;
    }

    assert_eq!(
        store.cost_by(CostGroup::Model, None).await.unwrap(),
        [
            cost_row(sonnet, 2, tokens(11, 101, 1, 6, 1), Some(1000), 1),
            // Every run of the group is unknown: NULL, not 0.
            cost_row("ollama:qwen3", 2, tokens(7, 0, 0, 7, 0), None, 2),
            cost_row("openai:gpt-5", 1, tokens(100, 0, 0, 20, 5), Some(250), 0),
        ]
    );
    assert_eq!(
        store.cost_by(CostGroup::Role, None).await.unwrap(),
        [
            cost_row("coder", 2, tokens(11, 101, 1, 6, 1), Some(1000), 1),
            cost_row("reviewer", 3, tokens(107, 0, 0, 27, 5), Some(250), 2),
        ]
    );
    assert_eq!(
        store.cost_by(CostGroup::Task, None).await.unwrap(),
        [
            cost_row("", 2, tokens(7, 0, 0, 7, 0), None, 2),
            cost_row(&a.to_string(), 2, tokens(11, 101, 1, 6, 1), Some(1000), 1),
            cost_row(&b.to_string(), 1, tokens(100, 0, 0, 20, 5), Some(250), 0),
        ]
    );
    assert_eq!(
        store.cost_by(CostGroup::Day, None).await.unwrap(),
        [
            cost_row("2026-11-24", 2, tokens(11, 101, 1, 6, 1), Some(1000), 1),
            cost_row("2026-11-25", 2, tokens(103, 0, 0, 23, 5), Some(250), 1),
            cost_row("2026-11-26", 1, tokens(4, 0, 0, 4, 0), None, 1),
        ]
    );
    // `since` is inclusive.
    let since = store.cost_by(CostGroup::Day, Some(at(DAY))).await.unwrap();
    let days: Vec<&str> = since.iter().map(|row| row.key.as_str()).collect();
    assert_eq!(days, ["2026-11-25", "2026-11-26"]);
    assert_eq!(since[0].runs, 2);
    let later = store
        .cost_by(CostGroup::Role, Some(at(DAY + 1)))
        .await
        .unwrap();
    assert_eq!(
        later,
        [cost_row("reviewer", 2, tokens(7, 0, 0, 7, 0), None, 2)]
    );
}

/// Random runs, grouped by the store and by a naive sum: the same rows.
async fn costs_agree_with_a_naive_sum(db: &TestDb) {
    let store = db.open().await;
    let tasks = [
        create(&*store, "a", "api").await.id,
        create(&*store, "b", "api").await.id,
    ];
    let mut rng = Rng::new(11);
    let mut runs = Vec::new();
    for n in 1..=40 {
        let small = |rng: &mut Rng| u64::try_from(rng.below(1000)).unwrap();
        let trace = Trace {
            task_id: [None, Some(tasks[0]), Some(tasks[1])][rng.below(3)],
            ..new_trace(
                n,
                rng.pick(&["coder", "reviewer", "planner"]),
                rng.pick(&[
                    "anthropic:claude-opus-4-1",
                    "openai:gpt-5-mini",
                    "ollama:qwen3",
                ]),
                u64::try_from(rng.below(6)).unwrap() * DAY + small(&mut rng),
            )
        };
        let used = tokens(
            small(&mut rng),
            small(&mut rng),
            small(&mut rng),
            small(&mut rng),
            small(&mut rng),
        );
        // A model without a price never has a cost; the others mostly do.
        let priced = trace.model != "ollama:qwen3" && rng.below(3) > 0;
        let cost = priced.then(|| i64::try_from(rng.below(100_000)).unwrap());
        store.start_trace(&trace).await.unwrap();
        store
            .finish_trace(&trace.id, &trace_end(0, used, cost))
            .await
            .unwrap();
        runs.push((trace, used, cost));
    }
    assert!(runs.iter().any(|(_, _, cost)| cost.is_some()));
    for since in [None, Some(at(2 * DAY)), Some(at(9 * DAY))] {
        for group in [
            CostGroup::Model,
            CostGroup::Role,
            CostGroup::Task,
            CostGroup::Day,
        ] {
            let mut expected: BTreeMap<(i64, String), CostRow> = BTreeMap::new();
            for (trace, used, cost) in &runs {
                if since.is_some_and(|since| trace.started_at < since) {
                    continue;
                }
                let key = match group {
                    CostGroup::Model => trace.model.clone(),
                    CostGroup::Role => trace.role.clone(),
                    CostGroup::Task => trace.task_id.map(|t| t.to_string()).unwrap_or_default(),
                    CostGroup::Day => trace.started_at.to_string()[..10].to_owned(),
                };
                let order = match group {
                    CostGroup::Task => trace.task_id.map_or(0, |t| t.0),
                    _ => 0,
                };
                let row = expected
                    .entry((order, key.clone()))
                    .or_insert_with(|| cost_row(&key, 0, TokenCounts::default(), None, 0));
                row.runs += 1;
                row.tokens += *used;
                match cost {
                    Some(cost) => row.cost_micros = Some(row.cost_micros.unwrap_or(0) + cost),
                    None => row.unknown_cost_runs += 1,
                }
            }
            let expected: Vec<CostRow> = expected.into_values().collect();
            if group == CostGroup::Model && since.is_none() {
                assert!(
                    expected.iter().any(|row| row.cost_micros.is_none()),
                    "{expected:?}"
                );
            }
            assert_eq!(
                store.cost_by(group, since).await.unwrap(),
                expected,
                "{group:?} since {since:?}"
            );
        }
    }
}

async fn unknown_ids_are_typed_errors(db: &TestDb) {
    let store = db.open().await;
    let err = store
        .finish_trace(&trace_id(1), &trace_end(1, TokenCounts::default(), None))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::UnknownTrace { id } if *id == trace_id(1)),
        "{err}"
    );
    assert!(err.is_not_found() && !err.is_retryable());
    assert!(err.to_string().contains("slipway trace list"), "{err}");
    let err = store
        .finish_span(&span_id(1), &span_end(SpanStatus::Ok, 1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::UnknownSpan { id } if *id == span_id(1)),
        "{err}"
    );
    assert!(err.to_string().contains(&span_id(1).to_string()), "{err}");
    let err = store.trace(&trace_id(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::UnknownTrace { .. }), "{err}");

    // A run's task must exist; nothing is recorded otherwise.
    let err = store
        .start_trace(&Trace {
            task_id: Some(TaskId(42)),
            ..new_trace(2, "coder", "openai:gpt-5", 0)
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownTask { id: TaskId(42) }),
        "{err}"
    );
    assert_eq!(store.traces(10).await.unwrap(), []);

    // The same id twice is refused and the first run kept.
    let first = new_trace(3, "coder", "openai:gpt-5", 0);
    store.start_trace(&first).await.unwrap();
    let again = Trace {
        role: "reviewer".into(),
        ..first.clone()
    };
    assert!(store.start_trace(&again).await.is_err());
    assert_eq!(store.trace(&first.id).await.unwrap().0, stored(&first));
}

/// A database written before traces existed: the migrations since add the
/// trace tables (and the later ones) and keep the tasks.
async fn a_version_one_database_gains_the_trace_tables(db: &TestDb) {
    let initial = match db {
        TestDb::Sqlite(sqlite) => {
            // An empty file is an empty SQLite database.
            std::fs::File::create(sqlite.path()).unwrap();
            include_str!("../../migrations/sqlite/0001_initial.sql")
        }
        TestDb::Postgres(_) => include_str!("../../migrations/postgres/0001_initial.sql"),
    };
    db.raw_execute(&format!(
        "CREATE TABLE slipway_schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL);
         INSERT INTO slipway_schema_migrations VALUES (1, '2026-11-01T00:00:00.000000Z');
         {initial};
         INSERT INTO tasks (title, body, lane, state, created_at, updated_at)
         VALUES ('old', 'from version 1', 'api', 'queued', '2026-11-01T00:00:00.000000Z', '2026-11-01T00:00:00.000000Z');"
    ))
    .await
    .unwrap();
    let store = db.open().await;
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    assert_eq!(store.task(TaskId(1)).await.unwrap().title, "old");
    let run = Trace {
        task_id: Some(TaskId(1)),
        ..new_trace(1, "coder", "openai:gpt-5", 0)
    };
    store.start_trace(&run).await.unwrap();
    assert_eq!(store.traces(5).await.unwrap(), [stored(&run)]);
}

async fn a_batch_is_written_whole_or_not_at_all(db: &TestDb) {
    let store = db.open().await;
    store
        .start_trace(&new_trace(1, "coder", "anthropic:claude-sonnet-4-5", 0))
        .await
        .unwrap();
    // The root span was written before; the batch ends it.
    store
        .start_span(&new_span(1, 1, None, "invoke_agent", "coder", 0))
        .await
        .unwrap();
    let system = store
        .put_content(ContentKind::System, "You are the coder.")
        .await
        .unwrap();
    let mut chat = new_span(1, 2, Some(1), "chat", "claude-sonnet-4-5", 1);
    chat.ended_at = Some(at(2));
    chat.status = SpanStatus::Ok;
    chat.tokens = tokens(10, 20, 30, 40, 0);
    chat.cost_micros = Some(123);
    let tool = new_span(1, 3, Some(2), "execute_tool", "read_file", 3);
    let link = |span: u8, direction, position, body| BatchLink {
        span: span_id(span),
        direction,
        position,
        body,
    };
    let batch = TraceBatch {
        bodies: vec![
            (ContentKind::Message, "Fix the parser".into()),
            // Stored before: the same row, not a copy.
            (ContentKind::System, "You are the coder.".into()),
            (ContentKind::Response, "nul\0inside".into()),
        ],
        spans: vec![chat, tool],
        ends: vec![(span_id(1), span_end(SpanStatus::Error, 9))],
        links: vec![
            link(2, ContentDirection::Input, 0, BodyRef::Stored(system)),
            link(2, ContentDirection::Input, 1, BodyRef::New(0)),
            link(2, ContentDirection::Output, 0, BodyRef::New(2)),
        ],
        // Inputs linked one by one, as versions before contexts recorded them.
        ..TraceBatch::default()
    };
    let ids = store.write_batch(&batch).await.unwrap();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[1], system);
    assert_eq!(
        db.raw_strings("SELECT CAST(COUNT(*) AS TEXT) FROM contents")
            .await,
        ["3"]
    );
    let (_, spans) = store.trace(&trace_id(1)).await.unwrap();
    let by_id: BTreeMap<_, _> = spans.iter().map(|s| (s.id.clone(), s)).collect();
    assert_eq!(by_id[&span_id(1)].status, SpanStatus::Error);
    assert_eq!(by_id[&span_id(1)].ended_at, Some(us(at(9))));
    let chat = by_id[&span_id(2)];
    assert_eq!((chat.status, chat.cost_micros), (SpanStatus::Ok, Some(123)));
    assert_eq!(chat.tokens, tokens(10, 20, 30, 40, 0));
    assert_eq!(chat.ended_at, Some(us(at(2))));
    assert_eq!(by_id[&span_id(3)].ended_at, None);
    assert_eq!(by_id[&span_id(3)].tool_name.as_deref(), Some("read_file"));
    let bodies: Vec<(ContentDirection, String)> = store
        .span_contents(&span_id(2))
        .await
        .unwrap()
        .into_iter()
        .map(|(d, c)| (d, c.body))
        .collect();
    assert_eq!(
        bodies,
        [
            (ContentDirection::Input, "You are the coder.".to_owned()),
            (ContentDirection::Input, "Fix the parser".to_owned()),
            (ContentDirection::Output, "nul\u{fffd}inside".to_owned()),
        ]
    );

    // A batch with a span of no recorded run writes nothing, its bodies included.
    let stray = TraceBatch {
        bodies: vec![(ContentKind::Message, "never stored".into())],
        spans: vec![new_span(7, 4, None, "chat", "x", 1)],
        ..TraceBatch::default()
    };
    assert!(store.write_batch(&stray).await.is_err());
    assert_eq!(
        db.raw_strings("SELECT CAST(COUNT(*) AS TEXT) FROM contents")
            .await,
        ["3"]
    );
    assert_eq!(store.write_batch(&TraceBatch::default()).await.unwrap(), []);
}

async fn a_batch_links_many_bodies_in_order(db: &TestDb) {
    let store = db.open().await;
    store
        .start_trace(&new_trace(1, "coder", "anthropic:claude-sonnet-4-5", 0))
        .await
        .unwrap();
    store
        .start_span(&new_span(1, 1, None, "chat", "claude-sonnet-4-5", 1))
        .await
        .unwrap();
    // A long run's call links the whole conversation: many links, one batch.
    let many = TraceBatch {
        bodies: (0..600)
            .map(|i| (ContentKind::Message, format!("message {i}")))
            .collect(),
        links: (0..600)
            .map(|i| BatchLink {
                span: span_id(1),
                direction: ContentDirection::Input,
                position: i,
                body: BodyRef::New(usize::try_from(i).unwrap()),
            })
            .collect(),
        ..TraceBatch::default()
    };
    store.write_batch(&many).await.unwrap();
    let sent = store.span_contents(&span_id(1)).await.unwrap();
    assert_eq!(sent.len(), 600);
    assert!(
        sent.iter()
            .enumerate()
            .all(|(i, (d, c))| *d == ContentDirection::Input && c.body == format!("message {i}")),
        "in position order"
    );
}
