//! Releases and rollbacks: how production moved.

use axum::Json;
use axum::extract::State;
use slipway_types::Release;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};

/// Lists releases and rollbacks, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/releases",
    tag = "releases",
    responses((status = 200, description = "Releases and rollbacks", body = [Release], ), (status = 401, description = "No or a wrong token", body = ErrorBody))
)]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<Vec<Release>>, ApiError> {
    Ok(Json(state.store.releases().await?))
}
