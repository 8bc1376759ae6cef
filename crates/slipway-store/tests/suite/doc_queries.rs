//! The root-cause queries of `docs/tracing.md`: each is in the document
//! verbatim, and each gives the expected rows on SQLite and on PostgreSQL
//! over the same recorded runs.

use jiff::Timestamp;
use slipway_store::{
    BodyRef, ContextMessage, DOC_QUERIES, SpanContext, SpanEnd, Store, TraceBatch,
};
use slipway_types::{ContentDirection, ContentId, ContentKind, Span, SpanStatus, Trace};

use crate::suite::support::{TestDb, at, on_both_backends};
use crate::suite::traces::{new_span, new_trace, span_end, span_id, tokens, trace_end, trace_id};

on_both_backends!(documented_queries_answer_as_documented);

const SONNET: &str = "anthropic:claude-sonnet-4-5";
const GPT5: &str = "openai:gpt-5";
const OPUS: &str = "anthropic:claude-opus-4-1";

fn on_day(day: &str) -> Timestamp {
    format!("{day}T10:00:00Z").parse().unwrap()
}

/// Returns the SQL of the documented query whose title starts with `title`.
fn query(title: &str) -> &'static str {
    let found: Vec<_> = DOC_QUERIES
        .iter()
        .filter(|(t, _)| t.starts_with(title))
        .collect();
    assert_eq!(found.len(), 1, "{title}");
    found[0].1
}

#[test]
fn the_document_holds_every_query_verbatim() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/tracing.md");
    let doc = std::fs::read_to_string(path).unwrap();
    assert!(DOC_QUERIES.len() >= 5);
    for (title, sql) in DOC_QUERIES {
        assert!(
            doc.contains(title),
            "docs/tracing.md lacks the title {title:?}"
        );
        assert!(
            doc.contains(&format!("```sql\n{sql}\n```")),
            "docs/tracing.md lacks, verbatim in a sql block, the query {title:?}:\n{sql}"
        );
    }
}

/// Starts `span` and ends it with `end`.
async fn record(store: &dyn Store, span: &Span, end: SpanEnd) {
    store.start_span(span).await.unwrap();
    store.finish_span(&span.id, &end).await.unwrap();
}

fn chat(trace: u8, n: u8, provider: &str, model: &str, seconds: u64) -> Span {
    Span {
        provider: Some(provider.into()),
        model: Some(model.into()),
        ..new_span(trace, n, Some(trace * 10), "chat", model, seconds)
    }
}

/// Two runs of today with spans, and cost-only runs over three weeks.
async fn seed(store: &dyn Store) {
    // Run 1: a coder with three model calls and three tool calls, one denied.
    store
        .start_trace(&new_trace(1, "coder", SONNET, 0))
        .await
        .unwrap();
    store
        .finish_trace(
            &trace_id(1),
            &trace_end(100, tokens(150, 14_000, 500, 1000, 0), Some(5000)),
        )
        .await
        .unwrap();
    let root = new_span(1, 10, None, "invoke_agent", "coder", 0);
    store.start_span(&root).await.unwrap();
    let ok = |seconds, used, cost| SpanEnd {
        tokens: used,
        cost_micros: cost,
        ..span_end(SpanStatus::Ok, seconds)
    };
    let sonnet = "claude-sonnet-4-5";
    record(
        store,
        &chat(1, 2, "anthropic", sonnet, 1),
        ok(5, tokens(100, 5000, 0, 200, 0), Some(1500)),
    )
    .await;
    let read = new_span(1, 3, Some(10), "execute_tool", "read_file", 5);
    record(store, &read, span_end(SpanStatus::Ok, 6)).await;
    let tests = new_span(1, 4, Some(10), "execute_tool", "run_tests", 6);
    record(store, &tests, span_end(SpanStatus::Ok, 16)).await;
    let denied = new_span(1, 5, Some(10), "execute_tool", "write_file", 16);
    let refusal = SpanEnd {
        error: Some("`src/web/app.ts` belongs to lane `web`, not `api`".into()),
        ..span_end(SpanStatus::Denied, 16)
    };
    record(store, &denied, refusal).await;
    record(
        store,
        &chat(1, 6, "anthropic", sonnet, 17),
        ok(25, tokens(50, 9000, 500, 800, 0), Some(3500)),
    )
    .await;
    let overloaded = SpanEnd {
        error: Some("529 overloaded".into()),
        ..span_end(SpanStatus::Error, 27)
    };
    record(store, &chat(1, 7, "anthropic", sonnet, 26), overloaded).await;
    seed_run_two(store).await;
    seed_earlier_days(store).await;
}

/// Run 2: a reviewer whose provider failed twice, and a denied edit.
async fn seed_run_two(store: &dyn Store) {
    let ok = |seconds, used, cost| SpanEnd {
        tokens: used,
        cost_micros: cost,
        ..span_end(SpanStatus::Ok, seconds)
    };
    store
        .start_trace(&new_trace(2, "reviewer", GPT5, 200))
        .await
        .unwrap();
    store
        .finish_trace(
            &trace_id(2),
            &trace_end(300, tokens(10, 0, 0, 10, 0), Some(600)),
        )
        .await
        .unwrap();
    store
        .start_span(&new_span(2, 20, None, "invoke_agent", "reviewer", 200))
        .await
        .unwrap();
    record(
        store,
        &chat(2, 21, "openai", "gpt-5", 201),
        ok(202, tokens(10, 0, 0, 10, 0), Some(600)),
    )
    .await;
    for (n, seconds, error) in [(22, 202, "429 rate limited"), (23, 203, "500 server error")] {
        let failed = SpanEnd {
            error: Some(error.into()),
            ..span_end(SpanStatus::Error, seconds)
        };
        record(store, &chat(2, n, "openai", "gpt-5", seconds), failed).await;
    }
    let edit = new_span(2, 24, Some(20), "execute_tool", "edit_file", 210);
    let refusal = SpanEnd {
        error: Some("a reviewer writes nothing".into()),
        ..span_end(SpanStatus::Denied, 210)
    };
    record(store, &edit, refusal).await;
}

/// Runs of earlier days, costs only. Runs 1 and 2 are today's (2026-11-24).
async fn seed_earlier_days(store: &dyn Store) {
    let earlier: [(u8, &str, &str, &str, Option<i64>); 9] = [
        (10, "coder", SONNET, "2026-11-12", Some(1000)),
        (11, "coder", SONNET, "2026-11-13", Some(3000)),
        (12, "coder", SONNET, "2026-11-20", Some(4000)),
        (13, "reviewer", GPT5, "2026-11-12", Some(800)),
        (14, "planner", OPUS, "2026-11-14", Some(100)),
        (15, "planner", OPUS, "2026-11-19", Some(200)),
        (16, "explorer", "ollama:qwen3", "2026-11-12", None),
        (17, "explorer", "ollama:qwen3", "2026-11-20", None),
        (18, "coder", SONNET, "2026-11-01", Some(99_999)),
    ];
    for (n, role, model, day, cost) in earlier {
        let trace = Trace {
            started_at: on_day(day),
            ..new_trace(n, role, model, 0)
        };
        store.start_trace(&trace).await.unwrap();
        store
            .finish_trace(&trace.id, &trace_end(0, tokens(1, 0, 0, 1, 0), cost))
            .await
            .unwrap();
    }
}

async fn documented_queries_answer_as_documented(db: &TestDb) {
    let store = db.open().await;
    seed(&*store).await;

    let [system, task, result] = seed_bodies(&*store).await;

    let run = trace_id(1).to_string();
    let rows = |title: &str, params: &[&str]| {
        let sql = query(title);
        let params: Vec<String> = params.iter().map(|p| (*p).to_owned()).collect();
        async move {
            let params: Vec<&str> = params.iter().map(String::as_str).collect();
            db.raw_rows(sql, &params).await
        }
    };
    let text = |row: &[&str]| row.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();

    assert_eq!(
        rows("The slowest tool calls", &[&run]).await,
        [
            text(&["run_tests", "execute_tool run_tests", "ok", "10000000"]),
            text(&["read_file", "execute_tool read_file", "ok", "1000000"]),
            text(&["write_file", "execute_tool write_file", "denied", "0"]),
        ]
    );
    assert_eq!(
        rows("The step (model call)", &[&run]).await,
        [text(&[
            &span_id(6).to_string(),
            "chat claude-sonnet-4-5",
            "10350",
            "9000",
            "800",
            "3500"
        ])]
    );
    assert_eq!(
        rows(
            "Roles and models whose cost per run rose",
            &["2026-11-18", "2026-11-11"]
        )
        .await,
        [
            text(&["coder", SONNET, "2000", "4500"]),
            text(&["planner", OPUS, "100", "200"]),
        ]
    );
    assert_eq!(
        rows("Tool calls policy denied", &[]).await,
        [
            text(&[
                "reviewer",
                "edit_file",
                "a reviewer writes nothing",
                &stored_at(210),
                &trace_id(2).to_string(),
            ]),
            text(&[
                "coder",
                "write_file",
                "`src/web/app.ts` belongs to lane `web`, not `api`",
                &stored_at(16),
                &run,
            ]),
        ]
    );
    assert_eq!(
        rows("Model call errors by provider", &[]).await,
        [
            text(&["openai", "3", "2", &stored_at(203)]),
            text(&["anthropic", "3", "1", &stored_at(26)]),
        ]
    );
    assert_what_calls_sent(db).await;
    assert_eq!(
        rows("The bodies that fill the context", &[]).await,
        [
            text(&[&system.to_string(), "system", "50", "3"]),
            text(&[&result.to_string(), "tool_result", "100", "1"]),
            text(&[&task.to_string(), "message", "6", "3"]),
        ]
    );
}

/// "What a model call sent" over the calls `seed_bodies` recorded: two in
/// one context, one with links as versions before contexts wrote them.
async fn assert_what_calls_sent(db: &TestDb) {
    let sent = |span: u8| {
        let sql = query("What a model call sent");
        async move { db.raw_rows(sql, &[&span_id(span).to_string()]).await }
    };
    let text = |row: &[&str]| row.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
    let system_text = "S".repeat(50);
    let result_text = "R".repeat(100);
    assert_eq!(
        sent(6).await,
        [
            text(&["context", "0", "system", &system_text]),
            text(&["context", "1", "message", "Fix it"]),
            text(&["context", "2", "tool_result", &result_text]),
        ]
    );
    assert_eq!(
        sent(2).await,
        [
            text(&["context", "0", "system", &system_text]),
            text(&["context", "1", "message", "Fix it"]),
        ],
        "an earlier call sent only the prefix it saw"
    );
    assert_eq!(
        sent(7).await,
        [
            text(&["link", "0", "system", &system_text]),
            text(&["link", "1", "message", "Fix it"]),
        ]
    );
}

/// `t0 + seconds` as the store writes it.
fn stored_at(seconds: u64) -> String {
    let at = at(seconds);
    let micros = Timestamp::from_microsecond(at.as_microsecond()).unwrap();
    jiff::fmt::temporal::DateTimePrinter::new()
        .precision(Some(6))
        .timestamp_to_string(&micros)
}

/// Bodies: the system prompt and the task go with every call of run 1.
async fn seed_bodies(store: &dyn Store) -> [ContentId; 3] {
    let system = store
        .put_content(ContentKind::System, &"S".repeat(50))
        .await
        .unwrap();
    let task = store
        .put_content(ContentKind::Message, "Fix it")
        .await
        .unwrap();
    let result = store
        .put_content(ContentKind::ToolResult, &"R".repeat(100))
        .await
        .unwrap();
    let reply = store
        .put_content(ContentKind::Response, &"A".repeat(500))
        .await
        .unwrap();
    // Calls 2 and 6 share a context: 2 opened it and sent the system prompt
    // and the task; 6 sent those and the tool result after them.
    let message = |position, body| ContextMessage {
        context: span_id(2),
        position,
        body: BodyRef::Stored(body),
    };
    let sent = |span, messages| SpanContext {
        span: span_id(span),
        context: span_id(2),
        messages,
    };
    store
        .write_batch(&TraceBatch {
            context_messages: vec![message(0, system), message(1, task)],
            span_contexts: vec![sent(2, 2)],
            ..TraceBatch::default()
        })
        .await
        .unwrap();
    store
        .write_batch(&TraceBatch {
            context_messages: vec![message(2, result)],
            span_contexts: vec![sent(6, 3)],
            ..TraceBatch::default()
        })
        .await
        .unwrap();
    // Call 7 as versions before contexts recorded a call: one link per body.
    store
        .link_contents(&span_id(7), ContentDirection::Input, &[system, task])
        .await
        .unwrap();
    store
        .link_contents(&span_id(6), ContentDirection::Output, &[reply])
        .await
        .unwrap();
    [system, task, result]
}
