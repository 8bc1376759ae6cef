//! How a batch write ends: the ids it returns, a write cancelled while it
//! runs, and (SQLite) the write lock after refused and locked writes.

use std::time::Duration;

use slipway_store::{BatchLink, BodyRef, Store, StoreError, TraceBatch};
use slipway_types::{ContentDirection, ContentId, ContentKind, SpanStatus};

use crate::suite::support::{TestDb, on_both_backends, short_wait};
use crate::suite::traces::{new_span, new_trace, span_end, span_id, trace_id};

on_both_backends!(
    batch_bodies_come_back_in_their_order,
    a_cancelled_write_is_kept_whole_or_not_at_all,
    a_failed_end_undoes_the_batch_it_ends,
    writes_at_once_each_get_their_own_ids,
);

/// Output links of `span` to each of the batch's bodies, in order.
fn links_to_all(span: u8, bodies: usize) -> Vec<BatchLink> {
    (0..bodies)
        .map(|i| BatchLink {
            span: span_id(span),
            direction: ContentDirection::Output,
            position: i64::try_from(i).unwrap(),
            body: BodyRef::New(i),
        })
        .collect()
}

/// The bodies `span` links as outputs; none when the span is not stored.
async fn output_bodies(store: &dyn Store, span: u8) -> Vec<String> {
    let contents = match store.span_contents(&span_id(span)).await {
        Err(StoreError::UnknownSpan { .. }) => Vec::new(),
        other => other.unwrap(),
    };
    contents
        .into_iter()
        .map(|(direction, content)| {
            assert_eq!(direction, ContentDirection::Output);
            content.body
        })
        .collect()
}

/// Ids in the batch's order: one id for a body given twice, the old id for a
/// body stored before, and more bodies than one statement inserts; a large
/// body with NUL and text beyond ASCII reads back as stored.
async fn batch_bodies_come_back_in_their_order(db: &TestDb) {
    let store = db.open().await;
    store
        .start_trace(&new_trace(1, "coder", "anthropic:claude-sonnet-4-5", 0))
        .await
        .unwrap();
    let before = store
        .put_content(ContentKind::Message, "stored before")
        .await
        .unwrap();
    let large: String = "ünïcødé 🦀 \"quoted\" \\ back\0slash\n".repeat(20_000);
    let mut bodies = vec![
        (ContentKind::Message, "a".to_owned()),
        (ContentKind::Message, "b".to_owned()),
        (ContentKind::Message, "a".to_owned()),
        (ContentKind::Message, "stored before".to_owned()),
        (ContentKind::Response, "a".to_owned()),
        (ContentKind::ToolResult, large.clone()),
    ];
    bodies.extend((0..250).map(|i| (ContentKind::ToolResult, format!("result {i}"))));
    let count = bodies.len();
    let ids = store
        .write_batch(&TraceBatch {
            bodies: bodies.clone(),
            spans: vec![new_span(1, 2, None, "chat", "claude-sonnet-4-5", 1)],
            links: links_to_all(2, count),
            ..TraceBatch::default()
        })
        .await
        .unwrap();
    assert_eq!(ids.len(), count);
    assert_eq!(ids[0], ids[2], "the same body twice is one row");
    assert_eq!(ids[3], before, "a body stored before keeps its id");
    assert_ne!(
        ids[0], ids[4],
        "the same text as another kind is its own row"
    );
    let distinct: std::collections::BTreeSet<ContentId> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), count - 1, "{ids:?}");

    let expected: Vec<String> = bodies
        .iter()
        .map(|(_, body)| body.replace('\0', "\u{fffd}"))
        .collect();
    assert_eq!(output_bodies(&*store, 2).await, expected);
    // Each id names the body given at its place.
    for (id, (kind, body)) in ids.iter().zip(&bodies) {
        let again = store.put_content(*kind, body).await.unwrap();
        assert_eq!(again, *id, "{kind:?} {body:.20}");
    }
}

/// A write dropped at any point while it runs leaves all of its batch or
/// none of it, and the writes after it go through.
async fn a_cancelled_write_is_kept_whole_or_not_at_all(db: &TestDb) {
    let store = db.open().await;
    store
        .start_trace(&new_trace(1, "coder", "anthropic:claude-sonnet-4-5", 0))
        .await
        .unwrap();
    let mut kept = 0;
    let mut lost = 0;
    for (round, micros) in [0u64, 1, 50, 200, 500, 1_000, 2_000, 5_000, 20_000]
        .into_iter()
        .enumerate()
    {
        let round = u8::try_from(round).unwrap();
        let span = 10 + round;
        let bodies: Vec<(ContentKind, String)> = (0..300)
            .map(|i| (ContentKind::ToolResult, format!("round {round} body {i}")))
            .collect();
        // Every other batch also ends its span, as a run's last flush does.
        let ends = if round % 2 == 1 {
            vec![(span_id(span), span_end(SpanStatus::Ok, 3))]
        } else {
            Vec::new()
        };
        let batch = TraceBatch {
            bodies,
            spans: vec![new_span(1, span, None, "chat", "claude-sonnet-4-5", 1)],
            ends,
            links: links_to_all(span, 300),
            ..TraceBatch::default()
        };
        let cut =
            tokio::time::timeout(Duration::from_micros(micros), store.write_batch(&batch)).await;
        // The next write goes through, whatever became of this one.
        let next = 100 + round;
        store
            .write_batch(&TraceBatch {
                spans: vec![new_span(1, next, None, "chat", "claude-sonnet-4-5", 2)],
                ..TraceBatch::default()
            })
            .await
            .unwrap_or_else(|err| panic!("after a write cut at {micros} µs: {err}"));
        let (_, spans) = store.trace(&trace_id(1)).await.unwrap();
        let written = spans.iter().any(|s| s.id == span_id(span));
        let links = output_bodies(&*store, span).await.len();
        if let Ok(done) = cut {
            done.unwrap();
            assert!(written, "a finished write is kept");
        }
        let bodies = db
            .raw_strings(&format!(
                "SELECT CAST(COUNT(*) AS TEXT) FROM contents WHERE body LIKE 'round {round} %'"
            ))
            .await;
        if written {
            assert_eq!(
                links, 300,
                "cut at {micros} µs: the span without all its links"
            );
            assert_eq!(
                bodies,
                ["300"],
                "cut at {micros} µs: the span without its bodies"
            );
            let stored = spans.iter().find(|s| s.id == span_id(span)).unwrap();
            assert_eq!(
                stored.ended_at.is_some(),
                !batch.ends.is_empty(),
                "cut at {micros} µs: the span with its end as the batch gave it"
            );
            kept += 1;
        } else {
            assert_eq!(links, 0, "cut at {micros} µs: links without their span");
            assert_eq!(
                bodies,
                ["0"],
                "cut at {micros} µs: bodies without their span"
            );
            lost += 1;
        }
    }
    assert!(lost >= 1, "the write cut at 0 µs is not kept ({kept} kept)");
}

/// A batch whose end names a span the store does not have is refused with
/// nothing of it written, and the store writes on.
async fn a_failed_end_undoes_the_batch_it_ends(db: &TestDb) {
    let store = db.open().await;
    store
        .start_trace(&new_trace(1, "coder", "anthropic:claude-sonnet-4-5", 0))
        .await
        .unwrap();
    let failing = TraceBatch {
        bodies: vec![(ContentKind::Response, "not kept".to_owned())],
        spans: vec![new_span(1, 2, None, "chat", "claude-sonnet-4-5", 1)],
        ends: vec![
            (span_id(2), span_end(SpanStatus::Ok, 2)),
            (span_id(99), span_end(SpanStatus::Ok, 2)),
        ],
        links: links_to_all(2, 1),
        ..TraceBatch::default()
    };
    let err = store.write_batch(&failing).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::UnknownSpan { id } if *id == span_id(99)),
        "{err:?}"
    );
    let (_, spans) = store.trace(&trace_id(1)).await.unwrap();
    assert_eq!(spans, [], "the batch's span is not kept");
    assert_eq!(
        db.raw_strings("SELECT CAST(COUNT(*) AS TEXT) FROM contents")
            .await,
        ["0"]
    );
    let ids = store
        .write_batch(&TraceBatch {
            ends: vec![(span_id(2), span_end(SpanStatus::Ok, 2))],
            ..failing
        })
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    let (_, spans) = store.trace(&trace_id(1)).await.unwrap();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].status, SpanStatus::Ok);
    assert!(spans[0].ended_at.is_some());
    assert_eq!(output_bodies(&*store, 2).await, ["not kept"]);
}

/// Sixteen writes at once on one store, each with a body of its own and two
/// they share, in either order: all are written, each gets its bodies' ids.
async fn writes_at_once_each_get_their_own_ids(db: &TestDb) {
    let store = db.open().await;
    store
        .start_trace(&new_trace(1, "coder", "anthropic:claude-sonnet-4-5", 0))
        .await
        .unwrap();
    let batches: Vec<TraceBatch> = (0..16u8)
        .map(|n| TraceBatch {
            // Two shared bodies, in one order or the other, as concurrent
            // runs may send them.
            bodies: if n % 2 == 0 {
                vec![
                    (ContentKind::Message, format!("own {n}")),
                    (ContentKind::System, "shared a".to_owned()),
                    (ContentKind::System, "shared b".to_owned()),
                ]
            } else {
                vec![
                    (ContentKind::Message, format!("own {n}")),
                    (ContentKind::System, "shared b".to_owned()),
                    (ContentKind::System, "shared a".to_owned()),
                ]
            },
            spans: vec![new_span(1, 30 + n, None, "chat", "claude-sonnet-4-5", 1)],
            links: links_to_all(30 + n, 3),
            ..TraceBatch::default()
        })
        .collect();
    let written =
        futures_util::future::join_all(batches.iter().map(|batch| store.write_batch(batch))).await;
    let shared_a = store
        .put_content(ContentKind::System, "shared a")
        .await
        .unwrap();
    let shared_b = store
        .put_content(ContentKind::System, "shared b")
        .await
        .unwrap();
    for ((n, ids), batch) in written.into_iter().enumerate().zip(&batches) {
        let ids = ids.unwrap();
        let own = store
            .put_content(ContentKind::Message, &format!("own {n}"))
            .await
            .unwrap();
        let expected = if n % 2 == 0 {
            [own, shared_a, shared_b]
        } else {
            [own, shared_b, shared_a]
        };
        assert_eq!(ids, expected, "write {n}");
        let n = u8::try_from(n).unwrap();
        let bodies: Vec<String> = batch.bodies.iter().map(|(_, b)| b.clone()).collect();
        assert_eq!(output_bodies(&*store, 30 + n).await, bodies);
    }
}

/// Refused writes leave no transaction open: the same store and another one
/// on the file write after them.
#[tokio::test]
async fn refused_sqlite_writes_leave_the_file_unlocked() {
    let db = TestDb::sqlite();
    let store = db.open_with(&short_wait()).await.unwrap();
    store
        .start_trace(&new_trace(1, "coder", "anthropic:claude-sonnet-4-5", 0))
        .await
        .unwrap();
    for n in 0..6 {
        let refused = TraceBatch {
            bodies: vec![(ContentKind::Message, format!("refused {n}"))],
            spans: vec![new_span(1, 20 + n, None, "chat", "claude-sonnet-4-5", 1)],
            // A context that does not start at 0.
            context_messages: vec![slipway_store::ContextMessage {
                context: span_id(20 + n),
                position: 1,
                body: BodyRef::New(0),
            }],
            ..TraceBatch::default()
        };
        let err = store.write_batch(&refused).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidBatch { .. }), "{err:?}");
    }
    let other = db.open_with(&short_wait()).await.unwrap();
    for (n, store) in [(40, &other), (41, &store)] {
        store
            .write_batch(&TraceBatch {
                spans: vec![new_span(1, n, None, "chat", "claude-sonnet-4-5", 2)],
                ..TraceBatch::default()
            })
            .await
            .unwrap();
    }
    let (_, spans) = store.trace(&trace_id(1)).await.unwrap();
    let ids: Vec<_> = spans.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids, [span_id(40), span_id(41)], "only the accepted writes");
}
