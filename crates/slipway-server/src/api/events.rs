//! Live task events over server-sent events.
//!
//! The stream polls the store rather than listening in-process: `slipway
//! run`, the CLI's gates and this server all write events, from different
//! processes. PostgreSQL hands out event ids at insert, not at commit, so a
//! write that commits late can appear below an id already sent; each poll
//! therefore reads again a window below the highest id sent and skips the
//! ids it sent before.

use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use slipway_store::Store;
use slipway_types::TaskEvent;
use utoipa::IntoParams;

use crate::AppState;
use crate::api::query;
use crate::error::{ApiError, ErrorBody};

/// How far below the highest id sent each poll looks again.
const WINDOW: i64 = 256;
const BATCH: u32 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Start after this event id (the `Last-Event-ID` header wins); default:
    /// only events recorded from now on.
    after: Option<i64>,
}

struct Cursor {
    store: Arc<dyn Store>,
    high: i64,
    sent: BTreeSet<i64>,
    pending: VecDeque<TaskEvent>,
    poll: Duration,
    /// The last read was a full batch.
    behind: bool,
    stopping: tokio::sync::watch::Receiver<bool>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Cursor {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                let data = serde_json::to_string(&event).unwrap_or_default();
                let sse = Event::default()
                    .event("task")
                    .id(event.id.to_string())
                    .data(data);
                return Some((Ok(sse), self));
            }
            if *self.stopping.borrow() {
                return None;
            }
            if !self.behind {
                tokio::select! {
                    () = tokio::time::sleep(self.poll) => {}
                    _ = self.stopping.changed() => return None,
                }
            }
            match self
                .store
                .events_after((self.high - WINDOW).max(0), BATCH)
                .await
            {
                Ok(events) => {
                    // A full batch: there may be more, so read again at once.
                    self.behind = events.len() >= BATCH as usize;
                    self.take(events);
                }
                Err(e) => {
                    crate::error::log(&format!("the live stream cannot read events: {e}"));
                    return None;
                }
            }
        }
    }

    fn take(&mut self, events: Vec<TaskEvent>) {
        for event in events {
            if self.sent.insert(event.id) {
                self.high = self.high.max(event.id);
                self.pending.push_back(event);
            }
        }
        let floor = self.high - WINDOW;
        self.sent = self.sent.split_off(&floor);
    }
}

/// Streams task events as they are recorded (`event: task`, `id:` the event
/// id, data the event as JSON), with a keep-alive comment every 15 seconds.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    params(EventsQuery),
    responses(
        (status = 200, description = "A text/event-stream of task events", content_type = "text/event-stream"),
        (status = 503, description = "Too many streams are open", body = ErrorBody),
    )
)]
pub(crate) async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let q = query(q)?;
    let last = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .ok_or_else(|| ApiError::bad_request("bad Last-Event-ID: send an event id"))?,
        ),
        None => q.after,
    };
    let permit = Arc::clone(&state.streams)
        .try_acquire_owned()
        .map_err(|_| ApiError::unavailable("too many live streams are open: close a tab"))?;
    let latest = state.store.last_event_id().await?;
    // A start beyond the latest event would wait for ids that may never come.
    let high = last.map_or(latest, |id| id.clamp(0, latest));
    let cursor = Cursor {
        store: Arc::clone(&state.store),
        high,
        // Everything at or below the start counts as sent.
        sent: ((high - WINDOW).max(0)..=high).collect(),
        pending: VecDeque::new(),
        poll: state.poll,
        behind: false,
        stopping: state.stopping.clone(),
        _permit: permit,
    };
    let stream = futures_util::stream::unfold(cursor, Cursor::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
