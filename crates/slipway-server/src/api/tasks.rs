//! Tasks: the list, one task with everything recorded about it, its events,
//! its findings and its gate results.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use slipway_store::TaskFilter;
use slipway_types::{Finding, StageRecord, Task, TaskEvent, TaskId, TaskState, TokenCounts, Trace};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::{query, task_id};
use crate::error::{ApiError, ErrorBody};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only tasks in this state (`queued`, `ready`, …).
    state: Option<TaskState>,
    /// Only tasks of this lane.
    lane: Option<String>,
}

/// A task with what the pipeline recorded about it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TaskDetail {
    pub(crate) task: Task,
    /// Seam entries the task may change, one task at a time.
    pub(crate) seams: Vec<String>,
    /// Every stage and gate result, oldest first, with its findings.
    pub(crate) stages: Vec<StageRecord>,
    pub(crate) events: Vec<TaskEvent>,
    /// The agent runs of the task, oldest first.
    pub(crate) runs: Vec<Trace>,
    pub(crate) cost: TaskCost,
}

/// What a task's runs spent.
#[derive(Debug, Default, Serialize, ToSchema)]
pub(crate) struct TaskCost {
    pub(crate) runs: u64,
    pub(crate) tokens: TokenCounts,
    /// In micro-dollars, over the runs whose cost is known.
    pub(crate) cost_micros: Option<i64>,
    /// Runs without a known cost, left out of `cost_micros`.
    pub(crate) unknown_cost_runs: u64,
}

impl TaskCost {
    pub(crate) fn of(runs: &[Trace]) -> Self {
        let mut cost = Self {
            runs: runs.len() as u64,
            ..Self::default()
        };
        for run in runs {
            cost.tokens += run.tokens;
            match run.cost_micros {
                Some(c) => cost.cost_micros = Some(cost.cost_micros.unwrap_or(0) + c),
                None => cost.unknown_cost_runs += 1,
            }
        }
        cost
    }
}

/// One review pass and its findings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReviewPass {
    /// The stage result's id.
    pub(crate) id: i64,
    /// `plan_review`, `code_review`, `ownership`, or `reject` (a person's finding).
    pub(crate) stage: String,
    #[schema(value_type = String, format = DateTime)]
    pub(crate) at: jiff::Timestamp,
    pub(crate) passed: bool,
    pub(crate) findings: Vec<Finding>,
}

/// Returns the stage results that carry findings, as review passes.
pub(crate) fn review_passes(stages: &[StageRecord]) -> Vec<ReviewPass> {
    stages
        .iter()
        .filter(|s| {
            matches!(
                s.result.stage.as_str(),
                "plan_review" | "code_review" | "ownership" | "reject"
            ) || !s.result.findings.is_empty()
        })
        .map(|s| ReviewPass {
            id: s.id,
            stage: s.result.stage.clone(),
            at: s.at,
            passed: s.result.passed,
            findings: s.result.findings.clone(),
        })
        .collect()
}

/// Reads everything about one task.
pub(crate) async fn detail(state: &AppState, id: TaskId) -> Result<TaskDetail, ApiError> {
    let store = &state.store;
    let task = store.task(id).await?;
    let (seams, stages, events, runs) = tokio::try_join!(
        store.task_seams(id),
        store.stage_results(id),
        store.events(Some(id)),
        store.task_traces(id),
    )?;
    let cost = TaskCost::of(&runs);
    Ok(TaskDetail {
        task,
        seams,
        stages,
        events,
        runs,
        cost,
    })
}

/// Lists tasks, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/tasks",
    tag = "tasks",
    params(ListQuery),
    responses(
        (status = 200, description = "The tasks", body = [Task]),
        (status = 400, description = "A bad filter", body = ErrorBody),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<Task>>, ApiError> {
    let q = query(q)?;
    let filter = TaskFilter {
        state: q.state,
        lane: q.lane,
    };
    Ok(Json(state.store.tasks(&filter).await?))
}

/// Returns a task with its seams, stage results, events, runs and cost.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}",
    tag = "tasks",
    params(("id" = i64, Path, description = "The task's number")),
    responses(
        (status = 200, description = "The task", body = TaskDetail),
        (status = 400, description = "Not a task id", body = ErrorBody),
        (status = 404, description = "No such task", body = ErrorBody),
    )
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TaskDetail>, ApiError> {
    Ok(Json(detail(&state, task_id(&id)?).await?))
}

/// Returns a task's events, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/events",
    tag = "tasks",
    params(("id" = i64, Path, description = "The task's number")),
    responses(
        (status = 200, description = "Its events", body = [TaskEvent]),
        (status = 404, description = "No such task", body = ErrorBody),
    )
)]
pub(crate) async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<TaskEvent>>, ApiError> {
    Ok(Json(state.store.events(Some(task_id(&id)?)).await?))
}

/// Returns every review pass of a task (plan and code review, the ownership
/// gate, a person's rejection) with its findings, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/findings",
    tag = "tasks",
    params(("id" = i64, Path, description = "The task's number")),
    responses(
        (status = 200, description = "Review passes", body = [ReviewPass]),
        (status = 404, description = "No such task", body = ErrorBody),
    )
)]
pub(crate) async fn findings(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<ReviewPass>>, ApiError> {
    let stages = state.store.stage_results(task_id(&id)?).await?;
    Ok(Json(review_passes(&stages)))
}

/// Returns every stage and gate result of a task, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/gates",
    tag = "tasks",
    params(("id" = i64, Path, description = "The task's number")),
    responses(
        (status = 200, description = "Stage and gate results", body = [StageRecord]),
        (status = 404, description = "No such task", body = ErrorBody),
    )
)]
pub(crate) async fn gate_results(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<StageRecord>>, ApiError> {
    Ok(Json(state.store.stage_results(task_id(&id)?).await?))
}
