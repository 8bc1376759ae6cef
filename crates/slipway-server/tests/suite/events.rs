//! The live stream `/api/v1/events`: events recorded after connecting
//! arrive as `event: task` with their id; `Last-Event-ID` (or `?after=`)
//! resumes after an id; a bad one is refused; the number of streams is
//! capped; stopping the server ends them.

use std::time::Duration;

use axum::body::{Body, BodyDataStream};
use axum::http::{Method, StatusCode, header};
use futures_util::StreamExt as _;
use serde_json::Value;
use slipway_types::{TaskId, TaskState};

use crate::suite::seed::{change, task};
use crate::suite::support::{App, TestDb, bearer, on_both_backends};

on_both_backends!(
    an_event_recorded_after_connecting_arrives,
    last_event_id_resumes_after_that_event,
    a_start_beyond_the_latest_event_still_gets_what_comes_next,
    a_bad_last_event_id_is_refused,
    streams_are_capped,
    stopping_the_server_ends_the_streams,
);

/// One server-sent event.
#[derive(Debug)]
struct Frame {
    event: String,
    id: i64,
    data: Value,
}

/// Reads frames off an event stream's body.
struct Reader {
    body: BodyDataStream,
    buffer: String,
}

impl Reader {
    /// Returns the next event (skipping keep-alive comments), or `None` when
    /// the stream ended; panics after five seconds of nothing.
    async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut frame = Frame {
                    event: String::new(),
                    id: -1,
                    data: Value::Null,
                };
                let mut data = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        v.trim().clone_into(&mut frame.event);
                    } else if let Some(v) = line.strip_prefix("id:") {
                        frame.id = v.trim().parse().unwrap();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        frame.data = serde_json::from_str(v.trim()).unwrap();
                        data = true;
                    }
                }
                if data {
                    return Some(frame);
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), self.body.next())
                .await
                .expect("no event within 5 s");
            match chunk {
                Some(bytes) => self
                    .buffer
                    .push_str(std::str::from_utf8(&bytes.unwrap()).unwrap()),
                None => return None,
            }
        }
    }

    /// Asserts that nothing arrives for a while.
    async fn quiet(&mut self) {
        assert!(!self.buffer.contains("data:"), "{}", self.buffer);
        let more = tokio::time::timeout(Duration::from_millis(300), self.body.next()).await;
        if let Ok(Some(Ok(bytes))) = more {
            assert!(
                !String::from_utf8_lossy(&bytes).contains("data:"),
                "unexpected: {bytes:?}"
            );
        }
    }
}

async fn connect(app: &App, path: &str, last: Option<&str>) -> Reader {
    let mut request = bearer(Method::GET, path);
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    let response = app.respond(request.body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    Reader {
        body: response.into_body().into_data_stream(),
        buffer: String::new(),
    }
}

async fn fast(db: &TestDb) -> App {
    App::configured(db, |c| c.poll = Duration::from_millis(50)).await
}

async fn last_event(app: &App, id: TaskId) -> i64 {
    app.store.events(Some(id)).await.unwrap().last().unwrap().id
}

async fn an_event_recorded_after_connecting_arrives(db: &TestDb) {
    let app = fast(db).await;
    let id = task(app.store.as_ref(), "Watch me", "core", Vec::new()).await;
    let created = last_event(&app, id).await;
    let mut events = connect(&app, "/api/v1/events", None).await;
    // What happened before connecting is not sent again.
    events.quiet().await;
    app.store
        .transition(id, &change(TaskState::Queued, TaskState::Planning, 1))
        .await
        .unwrap();
    let frame = events.next().await.unwrap();
    let planned = last_event(&app, id).await;
    assert!(planned > created);
    assert_eq!(frame.event, "task");
    assert_eq!(frame.id, planned);
    assert_eq!(frame.data["id"], planned);
    assert_eq!(frame.data["task_id"], id.0);
    assert_eq!(frame.data["from"], "queued");
    assert_eq!(frame.data["to"], "planning");
    assert_eq!(frame.data["actor"], "scheduler");
    // A new task's first event follows, once.
    let other = task(app.store.as_ref(), "Another", "ui", Vec::new()).await;
    let frame = events.next().await.unwrap();
    assert_eq!(frame.id, last_event(&app, other).await);
    assert_eq!(frame.data["task_id"], other.0);
    assert_eq!(frame.data["to"], "queued");
    events.quiet().await;
}

async fn last_event_id_resumes_after_that_event(db: &TestDb) {
    let app = fast(db).await;
    let store = app.store.as_ref();
    let id = task(store, "Resume me", "core", Vec::new()).await;
    store
        .transition(id, &change(TaskState::Queued, TaskState::Planning, 1))
        .await
        .unwrap();
    store
        .transition(id, &change(TaskState::Planning, TaskState::Cancelled, 2))
        .await
        .unwrap();
    let ids: Vec<i64> = store
        .events(Some(id))
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids.len(), 3);

    let mut events = connect(&app, "/api/v1/events", Some(&ids[0].to_string())).await;
    let first = events.next().await.unwrap();
    let second = events.next().await.unwrap();
    assert_eq!((first.id, second.id), (ids[1], ids[2]));
    assert_eq!(second.data["to"], "cancelled");
    events.quiet().await;

    let mut after = connect(&app, &format!("/api/v1/events?after={}", ids[1]), None).await;
    assert_eq!(after.next().await.unwrap().id, ids[2]);
    // The header wins over the query.
    let mut both = connect(
        &app,
        "/api/v1/events?after=0",
        Some(&format!(" {} ", ids[1])),
    )
    .await;
    assert_eq!(both.next().await.unwrap().id, ids[2]);
    both.quiet().await;
    // From the beginning.
    let mut all = connect(&app, "/api/v1/events", Some("0")).await;
    assert_eq!(all.next().await.unwrap().id, ids[0]);
}

async fn a_start_beyond_the_latest_event_still_gets_what_comes_next(db: &TestDb) {
    let app = fast(db).await;
    let store = app.store.as_ref();
    let id = task(store, "Far ahead", "core", Vec::new()).await;
    // An id the store has not reached (another server's, or a typo) must not
    // make the stream wait for ids that may never come.
    let mut events = connect(&app, "/api/v1/events", Some("1000000000")).await;
    events.quiet().await;
    store
        .transition(id, &change(TaskState::Queued, TaskState::Planning, 1))
        .await
        .unwrap();
    let frame = events.next().await.unwrap();
    assert_eq!(frame.id, last_event(&app, id).await);
    assert_eq!(frame.data["to"], "planning");
}

async fn a_bad_last_event_id_is_refused(db: &TestDb) {
    let app = fast(db).await;
    for bad in ["abc", "", "1.5", "0x10", "99999999999999999999"] {
        let reply = app
            .send(
                bearer(Method::GET, "/api/v1/events")
                    .header("last-event-id", bad)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let message = reply.assert_error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(message.contains("Last-Event-ID"), "{bad:?}: {message}");
    }
}

async fn streams_are_capped(db: &TestDb) {
    let app = App::configured(db, |c| {
        c.poll = Duration::from_millis(50);
        c.max_streams = 1;
    })
    .await;
    let first = connect(&app, "/api/v1/events", None).await;
    for _ in 0..2 {
        let reply = app.get("/api/v1/events").await;
        let message = reply.assert_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        assert!(message.contains("too many live streams"), "{message}");
    }
    // Refusals hold nothing; the rest of the API is not capped.
    app.get("/api/v1/tasks").await.ok_json();
    drop(first);
    let mut again = connect(&app, "/api/v1/events", None).await;
    let id = task(
        app.store.as_ref(),
        "Seen by the second stream",
        "core",
        Vec::new(),
    )
    .await;
    assert_eq!(again.next().await.unwrap().data["task_id"], id.0);
}

async fn stopping_the_server_ends_the_streams(db: &TestDb) {
    let app = App::configured(db, |c| c.max_streams = 1).await;
    let mut events = connect(&app, "/api/v1/events", None).await;
    app.state.stop_streams();
    assert!(events.next().await.is_none(), "the stream did not end");
    drop(events);
    // A stream opened after the stop ends at once too.
    let mut late = connect(&app, "/api/v1/events", None).await;
    assert!(late.next().await.is_none());
}
