//! What model calls sent, recorded as prefixes of contexts: read back as
//! inputs in order, beside links of versions before contexts; refused whole
//! when a context would have a gap or a call names messages it does not hold.

use slipway_store::{
    BatchLink, BodyRef, ContextMessage, SpanContext, Store, StoreError, TraceBatch,
};
use slipway_types::{ContentDirection, ContentId, ContentKind, SpanId};
use sqlx::Connection;

use crate::suite::support::{Rng, TestDb, on_both_backends};
use crate::suite::traces::{new_span, new_trace, span_id};

on_both_backends!(
    calls_read_back_the_prefix_they_sent,
    a_context_with_a_gap_or_an_overreach_is_refused_whole,
    random_runs_read_back_as_a_naive_model_says,
    batch_spans_keep_every_column,
    a_failed_statement_undoes_the_whole_batch,
);

fn message(context: u8, position: i64, body: BodyRef) -> ContextMessage {
    ContextMessage {
        context: span_id(context),
        position,
        body,
    }
}

fn sent(span: u8, context: u8, messages: i64) -> SpanContext {
    SpanContext {
        span: span_id(span),
        context: span_id(context),
        messages,
    }
}

/// The bodies of `span`, each with its direction.
async fn read(store: &dyn Store, span: &SpanId) -> Vec<(ContentDirection, String)> {
    store
        .span_contents(span)
        .await
        .unwrap()
        .into_iter()
        .map(|(direction, content)| (direction, content.body))
        .collect()
}

fn inputs(bodies: &[&str]) -> Vec<(ContentDirection, String)> {
    bodies
        .iter()
        .map(|b| (ContentDirection::Input, (*b).to_owned()))
        .collect()
}

/// A run (trace 1) with a root span 1 and chat spans `chats`.
async fn run_with_chats(store: &dyn Store, chats: &[u8]) {
    store
        .start_trace(&new_trace(1, "coder", "anthropic:claude-sonnet-4-5", 0))
        .await
        .unwrap();
    let mut spans = vec![new_span(1, 1, None, "invoke_agent", "coder", 0)];
    spans.extend(
        chats
            .iter()
            .map(|n| new_span(1, *n, Some(1), "chat", "claude-sonnet-4-5", u64::from(*n))),
    );
    store
        .write_batch(&TraceBatch {
            spans,
            ..TraceBatch::default()
        })
        .await
        .unwrap();
}

async fn count(db: &TestDb, table: &str) -> String {
    db.raw_strings(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table}"))
        .await
        .remove(0)
}

async fn calls_read_back_the_prefix_they_sent(db: &TestDb) {
    let store = db.open().await;
    run_with_chats(&*store, &[3, 4, 5]).await;
    // Step 1: call 2 opens a context with the system prompt and the task, and
    // answers; its span comes in the same batch, as the recorder sends it.
    let first = TraceBatch {
        spans: vec![new_span(1, 2, Some(1), "chat", "claude-sonnet-4-5", 2)],
        bodies: vec![
            (ContentKind::System, "You are the coder.".into()),
            (ContentKind::Message, "Fix the parser".into()),
            (ContentKind::Response, "reading".into()),
        ],
        context_messages: vec![
            message(2, 0, BodyRef::New(0)),
            message(2, 1, BodyRef::New(1)),
        ],
        span_contexts: vec![sent(2, 2, 2)],
        links: vec![BatchLink {
            span: span_id(2),
            direction: ContentDirection::Output,
            position: 0,
            body: BodyRef::New(2),
        }],
        ..TraceBatch::default()
    };
    let ids = store.write_batch(&first).await.unwrap();
    // Step 2: call 3 sends the same two and the two new messages after them.
    let second = TraceBatch {
        bodies: vec![
            (ContentKind::Message, "assistant: read".into()),
            (ContentKind::Message, "tool: fn parse()".into()),
        ],
        context_messages: vec![
            message(2, 2, BodyRef::New(0)),
            message(2, 3, BodyRef::New(1)),
        ],
        span_contexts: vec![sent(3, 2, 4)],
        ..TraceBatch::default()
    };
    store.write_batch(&second).await.unwrap();
    // A compaction: call 4 opens a new context that reuses stored bodies.
    let third = TraceBatch {
        bodies: vec![(ContentKind::Summary, "summary so far".into())],
        context_messages: vec![
            message(4, 0, BodyRef::Stored(ids[0])),
            message(4, 1, BodyRef::Stored(ids[1])),
            message(4, 2, BodyRef::New(0)),
        ],
        span_contexts: vec![sent(4, 4, 3)],
        ..TraceBatch::default()
    };
    store.write_batch(&third).await.unwrap();

    let mut expected = inputs(&["You are the coder.", "Fix the parser"]);
    expected.push((ContentDirection::Output, "reading".into()));
    assert_eq!(
        read(&*store, &span_id(2)).await,
        expected,
        "inputs, then outputs"
    );
    assert_eq!(
        read(&*store, &span_id(3)).await,
        inputs(&[
            "You are the coder.",
            "Fix the parser",
            "assistant: read",
            "tool: fn parse()"
        ]),
        "a later call sends the longer prefix; the earlier one keeps its own"
    );
    assert_eq!(
        read(&*store, &span_id(4)).await,
        inputs(&["You are the coder.", "Fix the parser", "summary so far"])
    );
    // Each message of a context is one row, however many calls sent it.
    assert_eq!(count(db, "context_messages").await, "7");
    assert_eq!(count(db, "span_contexts").await, "3");
    assert_eq!(
        db.raw_strings(
            "SELECT CAST(COUNT(*) AS TEXT) FROM span_contents WHERE direction = 'input'"
        )
        .await,
        ["0"]
    );

    // A call recorded as versions before contexts did, one link per input,
    // reads the same way; a call may have both, its context first.
    store
        .link_contents(&span_id(5), ContentDirection::Input, &[ids[1], ids[0]])
        .await
        .unwrap();
    assert_eq!(
        read(&*store, &span_id(5)).await,
        inputs(&["Fix the parser", "You are the coder."])
    );
    store
        .link_contents(&span_id(4), ContentDirection::Input, &[ids[2]])
        .await
        .unwrap();
    assert_eq!(
        read(&*store, &span_id(4)).await,
        inputs(&[
            "You are the coder.",
            "Fix the parser",
            "summary so far",
            "reading"
        ])
    );
}

/// Batches that break a rule of contexts, each with why, over a run whose
/// call 2 opened a context of two messages and whose call 3 has none; span
/// 90 is of another run.
fn refused(stored: BodyRef) -> [(&'static str, TraceBatch); 8] {
    [
        (
            "a gap within the batch",
            TraceBatch {
                context_messages: vec![message(2, 2, stored), message(2, 4, stored)],
                ..TraceBatch::default()
            },
        ),
        (
            "a gap after what is stored",
            TraceBatch {
                context_messages: vec![message(2, 3, stored)],
                ..TraceBatch::default()
            },
        ),
        (
            "a new context not starting at 0",
            TraceBatch {
                context_messages: vec![message(3, 1, stored)],
                ..TraceBatch::default()
            },
        ),
        (
            "a negative position",
            TraceBatch {
                context_messages: vec![message(3, -1, stored)],
                ..TraceBatch::default()
            },
        ),
        (
            "more messages than the context holds",
            TraceBatch {
                span_contexts: vec![sent(3, 2, 3)],
                ..TraceBatch::default()
            },
        ),
        (
            "no message at all",
            TraceBatch {
                span_contexts: vec![sent(3, 2, 0)],
                ..TraceBatch::default()
            },
        ),
        (
            "a context of another run",
            TraceBatch {
                span_contexts: vec![sent(3, 90, 1)],
                ..TraceBatch::default()
            },
        ),
        (
            "a body the batch does not have",
            TraceBatch {
                context_messages: vec![message(2, 2, BodyRef::New(3))],
                ..TraceBatch::default()
            },
        ),
    ]
}

async fn a_context_with_a_gap_or_an_overreach_is_refused_whole(db: &TestDb) {
    let store = db.open().await;
    run_with_chats(&*store, &[2, 3]).await;
    let system = store
        .put_content(ContentKind::System, "You are the coder.")
        .await
        .unwrap();
    let stored = BodyRef::Stored(system);
    store
        .write_batch(&TraceBatch {
            context_messages: vec![message(2, 0, stored), message(2, 1, stored)],
            span_contexts: vec![sent(2, 2, 2)],
            ..TraceBatch::default()
        })
        .await
        .unwrap();
    // Another run, whose span no call of run 1 may name as its context.
    store
        .start_trace(&new_trace(9, "coder", "anthropic:claude-sonnet-4-5", 0))
        .await
        .unwrap();
    store
        .start_span(&new_span(9, 90, None, "chat", "claude-sonnet-4-5", 0))
        .await
        .unwrap();
    store
        .write_batch(&TraceBatch {
            context_messages: vec![message(90, 0, stored)],
            span_contexts: vec![sent(90, 90, 1)],
            ..TraceBatch::default()
        })
        .await
        .unwrap();
    let before = [
        count(db, "contents").await,
        count(db, "context_messages").await,
        count(db, "span_contexts").await,
    ];

    for (why, mut batch) in refused(stored) {
        // Each refused batch also carries a new body and a valid call: neither is written.
        batch
            .bodies
            .push((ContentKind::Message, format!("not kept: {why}")));
        batch.span_contexts.insert(0, sent(3, 2, 1));
        let err = store.write_batch(&batch).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidBatch { .. }),
            "{why}: {err:?}"
        );
        assert!(
            err.to_string().contains("nothing of the batch was written"),
            "{why}: {err}"
        );
        let after = [
            count(db, "contents").await,
            count(db, "context_messages").await,
            count(db, "span_contexts").await,
        ];
        assert_eq!(after, before, "{why}: nothing of the batch is written");
    }
    // A position taken is refused by the table itself.
    let taken = TraceBatch {
        context_messages: vec![message(2, 1, stored)],
        ..TraceBatch::default()
    };
    let err = store.write_batch(&taken).await.unwrap_err();
    assert!(matches!(err, StoreError::Database { .. }), "{err:?}");
    assert_eq!(read(&*store, &span_id(3)).await, []);
    // The same call, valid on its own, is written.
    store
        .write_batch(&TraceBatch {
            span_contexts: vec![sent(3, 2, 1)],
            ..TraceBatch::default()
        })
        .await
        .unwrap();
    assert_eq!(
        read(&*store, &span_id(3)).await,
        inputs(&["You are the coder."])
    );
}

/// Random runs: contexts grow in random batches, calls send random prefixes
/// (some as links, as older versions recorded them); every call reads back
/// what a plain list of its messages says.
async fn random_runs_read_back_as_a_naive_model_says(db: &TestDb) {
    let store = db.open().await;
    let mut rng = Rng::new(0x5eed_c0de);
    let chats: Vec<u8> = (2..=60).collect();
    run_with_chats(&*store, &chats).await;
    let mut bodies: Vec<ContentId> = Vec::new();
    for i in 0..12 {
        let kind = if i == 0 {
            ContentKind::System
        } else {
            ContentKind::Message
        };
        bodies.push(store.put_content(kind, &format!("body {i}")).await.unwrap());
    }
    // Each context: its messages so far (body indexes).
    let mut contexts: Vec<(u8, Vec<usize>)> = Vec::new();
    let mut expected: Vec<(u8, Vec<usize>)> = Vec::new();
    for chat in chats.iter().copied() {
        let mut batch = TraceBatch::default();
        let body = |rng: &mut Rng| rng.below(bodies.len());
        let context = if contexts.is_empty() || rng.below(5) == 0 {
            contexts.push((chat, vec![0]));
            batch
                .context_messages
                .push(message(chat, 0, BodyRef::Stored(bodies[0])));
            contexts.len() - 1
        } else {
            rng.below(contexts.len())
        };
        let (opened_by, messages) = &mut contexts[context];
        for _ in 0..rng.below(4) {
            let b = body(&mut rng);
            batch.context_messages.push(message(
                *opened_by,
                i64::try_from(messages.len()).unwrap(),
                BodyRef::Stored(bodies[b]),
            ));
            messages.push(b);
        }
        if rng.below(6) == 0 {
            // An older version's call: links, no context.
            let linked: Vec<usize> = (0..rng.below(5)).map(|_| body(&mut rng)).collect();
            let ids: Vec<ContentId> = linked.iter().map(|b| bodies[*b]).collect();
            store.write_batch(&batch).await.unwrap();
            store
                .link_contents(&span_id(chat), ContentDirection::Input, &ids)
                .await
                .unwrap();
            expected.push((chat, linked));
            continue;
        }
        let prefix = 1 + rng.below(messages.len());
        batch
            .span_contexts
            .push(sent(chat, *opened_by, i64::try_from(prefix).unwrap()));
        expected.push((chat, messages[..prefix].to_vec()));
        store.write_batch(&batch).await.unwrap();
    }
    for (chat, messages) in expected {
        let want: Vec<(ContentDirection, String)> = messages
            .iter()
            .map(|b| (ContentDirection::Input, format!("body {b}")))
            .collect();
        assert_eq!(read(&*store, &span_id(chat)).await, want, "call {chat}");
    }
}

/// Trace writes are copied from the WAL into the database file by the
/// store's own checkpoints while it is open, well before SQLite's automatic
/// checkpoint would (the main file, read alone, shows them).
#[tokio::test]
async fn sqlite_trace_writes_are_checkpointed_while_the_store_is_open() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    store
        .start_trace(&new_trace(1, "coder", "anthropic:claude-sonnet-4-5", 0))
        .await
        .unwrap();
    let TestDb::Sqlite(file) = &db else {
        unreachable!("a SQLite database")
    };
    // The main file alone, without its WAL: what checkpoints copied.
    let in_main_file = || async {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(file.path())
            .immutable(true)
            .read_only(true);
        // Read without locks: a page the checkpoint is writing may read
        // torn, which counts as "not yet" (-1).
        let Ok(mut conn) = sqlx::SqliteConnection::connect_with(&options).await else {
            return -1;
        };
        let spans: Result<i64, _> = sqlx::query_scalar("SELECT COUNT(*) FROM spans")
            .fetch_one(&mut conn)
            .await;
        drop(conn);
        spans.unwrap_or(-1)
    };
    for n in 0..64u8 {
        let batch = TraceBatch {
            spans: vec![new_span(1, n + 1, None, "chat", "claude-sonnet-4-5", 1)],
            ..TraceBatch::default()
        };
        store.write_batch(&batch).await.unwrap();
        if n == 0 {
            assert_eq!(in_main_file().await, 0, "a commit stays in the WAL");
        }
    }
    // 64 small writes are far from SQLite's own threshold (1,000 pages);
    // the store's checkpoint after its 32nd write copies at least those 32
    // (one still running then makes the one after 64 wait, so no more is sure).
    let mut copied = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        copied = in_main_file().await;
        if copied >= 32 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        copied >= 32,
        "a checkpoint copied {copied} of 64 spans while the store was open"
    );
}

/// Spans written by a batch read back as given, every column: optional
/// fields set and unset, text a JSON row must carry (quotes, newlines,
/// non-ASCII, a NUL stored as U+FFFD), the largest token counts, attributes.
async fn batch_spans_keep_every_column(db: &TestDb) {
    let store = db.open().await;
    store
        .start_trace(&new_trace(1, "coder", "anthropic:claude-sonnet-4-5", 0))
        .await
        .unwrap();
    let root = new_span(1, 1, None, "invoke_agent", "coder", 0);
    let mut chat = new_span(1, 2, Some(1), "chat", "claude-sonnet-4-5", 1);
    chat.ended_at = Some(crate::suite::support::at(3));
    chat.status = slipway_types::SpanStatus::Error;
    chat.error = Some("529 \"overloaded\"\nretry\u{0}later — ünïcode".into());
    // Text that reads as JSON stays text.
    chat.model = Some("null".into());
    chat.provider = Some("[1]".into());
    chat.tokens = slipway_types::TokenCounts {
        input: 1,
        cache_read: 2,
        cache_write: 3,
        output: 4,
        reasoning: i64::MAX.unsigned_abs(),
    };
    chat.cost_micros = Some(-5);
    chat.attributes.insert(
        "slipway.note".into(),
        serde_json::json!({"nested": ["a", 1, null], "quote": "\"'"}),
    );
    let tool = new_span(1, 3, Some(1), "execute_tool", "read_file", 4);
    store
        .write_batch(&TraceBatch {
            spans: vec![root.clone(), chat.clone(), tool.clone()],
            ..TraceBatch::default()
        })
        .await
        .unwrap();
    let (_, spans) = store
        .trace(&crate::suite::traces::trace_id(1))
        .await
        .unwrap();
    assert_eq!(spans.len(), 3);
    let read = &spans[1];
    assert_eq!(read.id, chat.id);
    assert_eq!(read.parent_id, chat.parent_id);
    assert_eq!(
        (read.name.as_str(), read.operation.as_str()),
        ("chat claude-sonnet-4-5", "chat")
    );
    assert_eq!(read.started_at, crate::suite::support::us(chat.started_at));
    assert_eq!(read.ended_at, chat.ended_at.map(crate::suite::support::us));
    assert_eq!(read.status, chat.status);
    assert_eq!(
        read.error.as_deref(),
        Some("529 \"overloaded\"\nretry\u{fffd}later — ünïcode")
    );
    assert_eq!(
        (read.model.as_deref(), read.provider.as_deref()),
        (Some("null"), Some("[1]"))
    );
    let id = chat.id.to_string();
    assert_eq!(
        db.raw_strings(&format!(
            "SELECT CAST(duration_us AS TEXT) FROM spans WHERE id = '{id}'"
        ))
        .await,
        ["2000000"]
    );
    if let TestDb::Sqlite(_) = db {
        assert_eq!(
            db.raw_strings(&format!(
                "SELECT typeof(model) || ' ' || typeof(provider) || ' ' || typeof(duration_us) \
                 || ' ' || typeof(reasoning_tokens) || ' ' || typeof(attributes) \
                 FROM spans WHERE id = '{id}'"
            ))
            .await,
            ["text text integer integer text"]
        );
    }
    assert_eq!(read.tool_name, None);
    assert_eq!(read.tokens, chat.tokens);
    assert_eq!(read.cost_micros, Some(-5));
    assert_eq!(read.attributes, chat.attributes);
    let unset = &spans[2];
    assert_eq!(
        (
            unset.ended_at,
            unset.error.as_deref(),
            unset.model.as_deref(),
            unset.cost_micros
        ),
        (None, None, None, None)
    );
    assert_eq!(unset.tool_name.as_deref(), Some("read_file"));
    assert_eq!(spans[0].parent_id, None);
}

/// A batch whose later statement fails leaves nothing of its earlier ones
/// (here a span inserted before a link to a span that does not exist), and
/// the store's next batch is written as if it had not been tried.
async fn a_failed_statement_undoes_the_whole_batch(db: &TestDb) {
    let store = db.open().await;
    run_with_chats(&*store, &[2]).await;
    let broken = TraceBatch {
        bodies: vec![(ContentKind::Response, "never kept".into())],
        spans: vec![new_span(1, 3, Some(1), "chat", "claude-sonnet-4-5", 3)],
        links: vec![BatchLink {
            span: span_id(77),
            direction: ContentDirection::Output,
            position: 0,
            body: BodyRef::New(0),
        }],
        ..TraceBatch::default()
    };
    for _ in 0..2 {
        let err = store.write_batch(&broken).await.unwrap_err();
        assert!(matches!(err, StoreError::Database { .. }), "{err:?}");
        let (_, spans) = store
            .trace(&crate::suite::traces::trace_id(1))
            .await
            .unwrap();
        assert_eq!(spans.len(), 2, "the root and call 2 only");
        assert_eq!(count(db, "contents").await, "0");
    }
    let fixed = TraceBatch {
        links: vec![BatchLink {
            span: span_id(3),
            ..broken.links[0].clone()
        }],
        ..broken
    };
    store.write_batch(&fixed).await.unwrap();
    assert_eq!(
        read(&*store, &span_id(3)).await,
        [(ContentDirection::Output, "never kept".to_owned())]
    );
}
