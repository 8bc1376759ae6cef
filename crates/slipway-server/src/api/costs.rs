//! Spend: tokens and cost of runs grouped by day, model, role or task.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use slipway_store::{CostGroup, CostRow};
use slipway_types::TokenCounts;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::query;
use crate::error::{ApiError, ErrorBody};

/// What runs are grouped by.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum By {
    Day,
    Model,
    Role,
    Task,
}

impl By {
    pub(crate) fn group(self) -> CostGroup {
        match self {
            Self::Day => CostGroup::Day,
            Self::Model => CostGroup::Model,
            Self::Role => CostGroup::Role,
            Self::Task => CostGroup::Task,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CostQuery {
    /// `day` (UTC), `model`, `role` or `task`.
    by: By,
    /// Only runs started at or after this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<jiff::Timestamp>,
}

/// One group of runs.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CostLine {
    /// The day, model, role or task number; empty for runs of no task.
    pub(crate) key: String,
    pub(crate) runs: u64,
    pub(crate) tokens: TokenCounts,
    /// In micro-dollars, over the runs whose cost is known.
    pub(crate) cost_micros: Option<i64>,
    pub(crate) unknown_cost_runs: u64,
}

impl From<CostRow> for CostLine {
    fn from(row: CostRow) -> Self {
        Self {
            key: row.key,
            runs: row.runs,
            tokens: row.tokens,
            cost_micros: row.cost_micros,
            unknown_cost_runs: row.unknown_cost_runs,
        }
    }
}

/// Returns spend grouped by day, model, role or task.
#[utoipa::path(
    get,
    path = "/api/v1/costs",
    tag = "costs",
    params(CostQuery),
    responses(
        (status = 200, description = "One line per group, ordered by key", body = [CostLine]),
        (status = 400, description = "A missing or bad `by`, a bad `since`", body = ErrorBody),
    )
)]
pub(crate) async fn by(
    State(state): State<AppState>,
    q: Result<Query<CostQuery>, QueryRejection>,
) -> Result<Json<Vec<CostLine>>, ApiError> {
    let q = query(q)?;
    let rows = state.store.cost_by(q.by.group(), q.since).await?;
    Ok(Json(rows.into_iter().map(CostLine::from).collect()))
}
