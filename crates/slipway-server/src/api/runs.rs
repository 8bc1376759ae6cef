//! Agent runs (traces), their spans, and what a span sent and received.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use slipway_types::{ContentDirection, ContentKind, Span, SpanId, Trace, TraceId};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::{parse_id, query, task_id};
use crate::error::{ApiError, ErrorBody};

/// The most runs one list returns.
pub(crate) const MAX_RUNS: u32 = 1000;
/// What a body is cut to unless asked otherwise.
pub(crate) const DEFAULT_BODY_BYTES: usize = 1024 * 1024;
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// How many runs, newest first: 1 to 1000 (default 100).
    limit: Option<u32>,
    /// Only the runs of this task (then all of them, oldest first).
    /// Parsed with `TaskId`'s `FromStr`: its `Deserialize` takes 0 and negatives.
    #[param(value_type = Option<i64>)]
    task: Option<String>,
}

/// A run and its spans in the order they started.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RunDetail {
    pub(crate) run: Trace,
    pub(crate) spans: Vec<Span>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ContentQuery {
    /// Cut each body to this many bytes (default 1 MiB, at most 16 MiB).
    max_bytes: Option<usize>,
}

/// One body a span sent or received.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SpanContent {
    pub(crate) direction: ContentDirection,
    pub(crate) kind: ContentKind,
    /// The body, cut at `max_bytes` on a character boundary when `truncated`.
    pub(crate) body: String,
    /// The whole body's size in bytes.
    pub(crate) bytes: usize,
    pub(crate) truncated: bool,
}

/// Returns at most `max` bytes of `text`, cut on a character boundary.
pub(crate) fn cut(text: &str, max: usize) -> (&str, bool) {
    let end = text.floor_char_boundary(max);
    (&text[..end], end < text.len())
}

/// Lists runs, newest first, or a task's runs, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/runs",
    tag = "runs",
    params(ListQuery),
    responses(
        (status = 200, description = "Runs", body = [Trace]),
        (status = 400, description = "A bad limit or task", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<Trace>>, ApiError> {
    let q = query(q)?;
    if let Some(task) = q.task {
        return Ok(Json(state.store.task_traces(task_id(&task)?).await?));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_RUNS).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "bad limit {limit}: ask for 1 to {MAX_RUNS} runs"
        )));
    }
    Ok(Json(state.store.traces(limit).await?))
}

/// Returns a run and its spans.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{id}",
    tag = "runs",
    params(("id" = String, Path, description = "The run's trace id: 32 hex digits")),
    responses(
        (status = 200, description = "The run", body = RunDetail),
        (status = 400, description = "Not a trace id", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
    )
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunDetail>, ApiError> {
    let id: TraceId = parse_id("trace id", &id)?;
    let (run, spans) = state.store.trace(&id).await?;
    Ok(Json(RunDetail { run, spans }))
}

/// Reads a span's bodies, each cut to `max` bytes.
pub(crate) async fn span_contents(
    state: &AppState,
    id: &SpanId,
    max: usize,
) -> Result<Vec<SpanContent>, ApiError> {
    Ok(state
        .store
        .span_contents(id)
        .await?
        .into_iter()
        .map(|(direction, content)| {
            let (body, truncated) = cut(&content.body, max);
            SpanContent {
                direction,
                kind: content.kind,
                body: body.to_owned(),
                bytes: content.body.len(),
                truncated,
            }
        })
        .collect())
}

/// Returns what a span sent (inputs first) and received: prompts,
/// responses, tool arguments and results.
#[utoipa::path(
    get,
    path = "/api/v1/spans/{id}/contents",
    tag = "runs",
    params(
        ("id" = String, Path, description = "The span id: 16 hex digits"),
        ContentQuery,
    ),
    responses(
        (status = 200, description = "Its bodies, in order", body = [SpanContent]),
        (status = 400, description = "Not a span id, or a bad max_bytes", body = ErrorBody),
        (status = 404, description = "No such span", body = ErrorBody),
    )
)]
pub(crate) async fn contents(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<ContentQuery>, QueryRejection>,
) -> Result<Json<Vec<SpanContent>>, ApiError> {
    let id: SpanId = parse_id("span id", &id)?;
    let max = query(q)?.max_bytes.unwrap_or(DEFAULT_BODY_BYTES);
    if !(1..=MAX_BODY_BYTES).contains(&max) {
        return Err(ApiError::bad_request(format!(
            "bad max_bytes {max}: ask for 1 to {MAX_BODY_BYTES}"
        )));
    }
    Ok(Json(span_contents(&state, &id, max).await?))
}

#[cfg(test)]
mod tests {
    use super::cut;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cuts_are_prefixes_within_the_limit(text in "\\PC{0,40}", max in 0usize..80) {
            let (kept, truncated) = cut(&text, max);
            prop_assert!(text.starts_with(kept));
            prop_assert!(kept.len() <= max || !truncated);
            prop_assert_eq!(truncated, text.len() > max);
            prop_assert!(!truncated || kept.len() + 4 > max);
        }
    }
}
