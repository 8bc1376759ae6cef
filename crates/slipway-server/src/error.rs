//! One error for every handler: a status, a stable code and a message safe to
//! show. The detail of an internal failure goes to the log, never to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use slipway_pipeline::PipelineError;
use slipway_store::StoreError;
use utoipa::ToSchema;

/// An error as the API answers it: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// Stable, for scripts: `bad_request`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `too_large`, `unavailable`, `internal`.
    code: String,
    /// What went wrong and what to do, for people.
    message: String,
}

/// Writes a line to the server's log: its standard error, where `slipway up`
/// prints what it does.
pub(crate) fn log(message: &str) {
    eprintln!("slipway up: {message}");
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub(crate) fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the request body is larger than {} KiB",
                crate::MAX_BODY_BYTES / 1024
            ),
        )
    }

    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// Logs `detail` and returns an error that says only where to look.
    pub(crate) fn internal(detail: impl std::fmt::Display) -> Self {
        log(&format!("internal error: {detail}"));
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error: the server's log has the detail",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if err.is_not_found() {
            Self::not_found(err.to_string())
        } else if err.is_conflict() || matches!(err, StoreError::IllegalTransition(_)) {
            Self::conflict(err.to_string())
        } else {
            Self::internal(err)
        }
    }
}

impl From<PipelineError> for ApiError {
    fn from(err: PipelineError) -> Self {
        match err {
            PipelineError::Store(e) => e.into(),
            // Refusals written for the person at the gate.
            PipelineError::WrongState { .. }
            | PipelineError::Changed(_)
            | PipelineError::SchedulerBusy { .. }
            | PipelineError::Other(_) => Self::conflict(err.to_string()),
            PipelineError::Git(_) | PipelineError::Sandbox(_) | PipelineError::Agent(_) => {
                Self::internal(err)
            }
        }
    }
}

/// Returns true for a path of the JSON API, whose refusals are JSON.
pub(crate) fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// Answers a refusal: JSON to a request under `/api/` (`api`), a page elsewhere.
pub(crate) fn refuse(api: bool, error: ApiError) -> Response {
    if api {
        error.into_response()
    } else {
        crate::pages::error_page(&error)
    }
}

/// Answers a path nothing serves.
pub(crate) async fn not_found(uri: axum::http::Uri) -> Response {
    refuse(
        is_api(uri.path()),
        ApiError::not_found(format!("nothing here: {}", uri.path())),
    )
}
