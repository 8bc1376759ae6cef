//! The human gates: approve (merge into staging), reject, release, roll
//! back. Each runs as the server's own work, one at a time (see `gates.rs`
//! at the crate root), and can be told what the person saw: a gate whose
//! commit moved since is refused with 409 and nothing moves.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use slipway_pipeline::{Approval, Pipeline};
use slipway_types::{Release, Task, TaskId, TaskState};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::{json, task_id};
use crate::error::{ApiError, ErrorBody};

const MAX_TEXT: usize = 4000;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApproveBody {
    /// The reviewed commit you looked at; refused when code review has
    /// judged another since.
    #[serde(default)]
    pub(crate) sha: Option<String>,
}

/// What an approval did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApproveOutcome {
    /// `staged`: staging points at the merge; `sent_back`: the merge
    /// conflicted or its tests failed, and the task went back to coding.
    pub(crate) outcome: String,
    /// Staging's new head, when staged.
    pub(crate) staging: Option<String>,
    /// Why it was sent back.
    pub(crate) why: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RejectBody {
    /// Why: the coder gets it as a high finding.
    pub(crate) why: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetryBody {
    /// The stage to resume from (default: the one that stopped); never a
    /// stage after it.
    #[serde(default)]
    pub(crate) from: Option<TaskState>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseBody {
    #[serde(default)]
    pub(crate) note: String,
    /// Staging's head as you saw it; refused when staging moved since.
    #[serde(default)]
    pub(crate) staging: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RollbackBody {
    /// The release to move production back to: N of `release-N`.
    pub(crate) to: i64,
    #[serde(default)]
    pub(crate) note: String,
    /// Production's head as you saw it; refused when production moved since.
    #[serde(default)]
    pub(crate) production: Option<String>,
}

/// Reads an optional JSON body: no body (or only whitespace) is the
/// default; any other body must be the JSON object, whatever its content
/// type, so that nothing in it is dropped unread.
fn optional_json<T: Default + serde::de::DeserializeOwned>(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<T, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large()
        } else {
            ApiError::bad_request("cannot read the request body")
        }
    })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "bad JSON body: {}",
            crate::api::printable(&e.to_string())
        ))
    })
}

fn pipeline(state: &AppState) -> Result<Arc<Pipeline>, ApiError> {
    state
        .pipeline
        .clone()
        .ok_or_else(|| ApiError::unavailable("this server was started without the human gates"))
}

fn text(what: &str, value: &str, required: bool) -> Result<String, ApiError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(ApiError::bad_request(format!("`{what}` is empty: say why")));
    }
    if value.len() > MAX_TEXT {
        return Err(ApiError::bad_request(format!(
            "`{what}` is longer than {MAX_TEXT} bytes"
        )));
    }
    Ok(value.to_owned())
}

pub(crate) async fn run_approve(
    state: &AppState,
    id: TaskId,
    seen: Option<String>,
) -> Result<ApproveOutcome, ApiError> {
    let pipeline = pipeline(state)?;
    state
        .gates
        .run(format!("the approval of task {id}"), async move {
            Ok(match pipeline.approve(id, seen.as_deref()).await? {
                Approval::Staged(sha) => ApproveOutcome {
                    outcome: "staged".into(),
                    staging: Some(sha),
                    why: None,
                },
                Approval::SentBack(why) => ApproveOutcome {
                    outcome: "sent_back".into(),
                    staging: None,
                    why: Some(why),
                },
            })
        })
        .await
}

pub(crate) async fn run_reject(state: &AppState, id: TaskId, why: &str) -> Result<Task, ApiError> {
    let why = text("why", why, true)?;
    let pipeline = pipeline(state)?;
    let store = Arc::clone(&state.store);
    state
        .gates
        .run(format!("the rejection of task {id}"), async move {
            pipeline.reject(id, &why).await?;
            Ok(store.task(id).await?)
        })
        .await
}

pub(crate) async fn run_retry(
    state: &AppState,
    id: TaskId,
    from: Option<TaskState>,
) -> Result<Task, ApiError> {
    let pipeline = pipeline(state)?;
    let store = Arc::clone(&state.store);
    state
        .gates
        .run(format!("the retry of task {id}"), async move {
            pipeline.retry(id, from).await?;
            Ok(store.task(id).await?)
        })
        .await
}

pub(crate) async fn run_release(state: &AppState, body: ReleaseBody) -> Result<Release, ApiError> {
    let note = text("note", &body.note, false)?;
    let pipeline = pipeline(state)?;
    state
        .gates
        .run("a release".into(), async move {
            Ok(pipeline
                .release(&note, body.staging.as_deref())
                .await?
                .release)
        })
        .await
}

pub(crate) async fn run_rollback(
    state: &AppState,
    body: RollbackBody,
) -> Result<Release, ApiError> {
    let note = text("note", &body.note, false)?;
    if body.to < 1 {
        return Err(ApiError::bad_request(format!(
            "bad `to` {}: name a release by its number N (release-N)",
            body.to
        )));
    }
    let pipeline = pipeline(state)?;
    state
        .gates
        .run("a rollback".into(), async move {
            Ok(pipeline
                .rollback(Some(body.to), &note, body.production.as_deref())
                .await?)
        })
        .await
}

/// Merges the task's reviewed commit into staging, tests the merge, and moves
/// staging: the task becomes `staged`, or goes back to coding when the merge
/// conflicts or its tests fail. Runs the merge's tests: it can take minutes.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/approve",
    tag = "gates",
    params(("id" = i64, Path, description = "A `ready` task")),
    request_body(content = ApproveBody, description = "Optional: the reviewed commit you looked at"),
    responses(
        (status = 200, description = "What the approval did", body = ApproveOutcome),
        (status = 404, description = "No such task", body = ErrorBody),
        (status = 409, description = "Not ready, another gate runs, or the reviewed commit changed", body = ErrorBody),
    )
)]
pub(crate) async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<ApproveOutcome>, ApiError> {
    let id = task_id(&id)?;
    let body: ApproveBody = optional_json(body)?;
    Ok(Json(run_approve(&state, id, body.sha).await?))
}

/// Sends a `ready` task back to coding with the reason as a high finding.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/reject",
    tag = "gates",
    params(("id" = i64, Path, description = "A `ready` task")),
    request_body = RejectBody,
    responses(
        (status = 200, description = "The task, back in coding", body = Task),
        (status = 400, description = "No reason", body = ErrorBody),
        (status = 409, description = "Not ready", body = ErrorBody),
    )
)]
pub(crate) async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<RejectBody>, JsonRejection>,
) -> Result<Json<Task>, ApiError> {
    let id = task_id(&id)?;
    let body = json(body)?;
    Ok(Json(run_reject(&state, id, &body.why).await?))
}

/// Resumes a `needs_human` or `failed` task from the stage that stopped (or
/// an earlier one); the scheduler picks it up.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/retry",
    tag = "gates",
    params(("id" = i64, Path, description = "A `needs_human` or `failed` task")),
    request_body(content = RetryBody, description = "Optional: the stage to resume from"),
    responses(
        (status = 200, description = "The task, back in a work stage", body = Task),
        (status = 400, description = "A bad body", body = ErrorBody),
        (status = 409, description = "Not stopped, or a stage after the one that stopped", body = ErrorBody),
    )
)]
pub(crate) async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Task>, ApiError> {
    let id = task_id(&id)?;
    let body: RetryBody = optional_json(body)?;
    Ok(Json(run_retry(&state, id, body.from).await?))
}

/// Fast-forwards production to staging and tags it `release-N`.
#[utoipa::path(
    post,
    path = "/api/v1/releases",
    tag = "gates",
    request_body = ReleaseBody,
    responses(
        (status = 200, description = "The release", body = Release),
        (status = 409, description = "Nothing to release, or staging moved", body = ErrorBody),
    )
)]
pub(crate) async fn release(
    State(state): State<AppState>,
    body: Result<Json<ReleaseBody>, JsonRejection>,
) -> Result<Json<Release>, ApiError> {
    let body = json(body)?;
    Ok(Json(run_release(&state, body).await?))
}

/// Moves production back to an earlier release.
#[utoipa::path(
    post,
    path = "/api/v1/rollbacks",
    tag = "gates",
    request_body = RollbackBody,
    responses(
        (status = 200, description = "The rollback", body = Release),
        (status = 400, description = "A bad release number", body = ErrorBody),
        (status = 409, description = "No such release, or production moved", body = ErrorBody),
    )
)]
pub(crate) async fn rollback(
    State(state): State<AppState>,
    body: Result<Json<RollbackBody>, JsonRejection>,
) -> Result<Json<Release>, ApiError> {
    let body = json(body)?;
    Ok(Json(run_rollback(&state, body).await?))
}
