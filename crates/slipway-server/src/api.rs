//! The JSON API under `/api/v1`: one module per resource. Handlers carry
//! `utoipa::path` annotations and are registered through `OpenApiRouter`, so
//! the OpenAPI document is made from the routes themselves.

pub(crate) mod costs;
pub(crate) mod events;
pub(crate) mod gates;
pub(crate) mod releases;
pub(crate) mod runs;
pub(crate) mod tasks;

use std::str::FromStr;
use std::sync::OnceLock;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use slipway_types::TaskId;
use utoipa::OpenApi as _;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Slipway",
        description = "Tasks, their stages and findings, agent runs and their spans, costs, releases, and the human gates. Every call needs `Authorization: Bearer TOKEN` (the token is in .slipway/token).",
    ),
    components(schemas(ErrorBody)),
    modifiers(&Bearer),
    security(("bearer" = []))
)]
struct ApiDoc;

struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(tasks::list))
        .routes(routes!(tasks::show))
        .routes(routes!(tasks::events))
        .routes(routes!(tasks::findings))
        .routes(routes!(tasks::gate_results))
        .routes(routes!(runs::list))
        .routes(routes!(runs::show))
        .routes(routes!(runs::contents))
        .routes(routes!(costs::by))
        .routes(routes!(releases::list, gates::release))
        .routes(routes!(gates::approve))
        .routes(routes!(gates::reject))
        .routes(routes!(gates::rollback))
        .routes(routes!(gates::retry))
        .routes(routes!(events::stream))
        .routes(routes!(openapi_json))
}

/// Returns the document of [`router`]'s routes.
pub(crate) fn document() -> utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| router().split_for_parts().1).clone()
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document of this API"))
)]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

/// Parses a path segment, or answers 400 naming it.
pub(crate) fn parse_id<T: FromStr>(what: &str, text: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>().map_err(|e| {
        // The parse error quotes the input again: keep its control characters out too.
        ApiError::bad_request(format!(
            "bad {what} `{}`: {}",
            clean(text),
            printable(&e.to_string())
        ))
    })
}

pub(crate) fn task_id(text: &str) -> Result<TaskId, ApiError> {
    parse_id("task id", text)
}

/// Returns at most 64 characters of `text` with control characters dropped,
/// for echoing bad input back.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// Returns `text` without control characters: parse errors quote the bad
/// input, and a terminal escape in it must not reach whoever reads the message.
pub(crate) fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

pub(crate) fn query<T>(q: Result<axum::extract::Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|axum::extract::Query(t)| t).map_err(|e| {
        ApiError::bad_request(format!("bad query string: {}", printable(&e.body_text())))
    })
}

pub(crate) fn form<T>(
    f: Result<axum::Form<T>, axum::extract::rejection::FormRejection>,
) -> Result<T, ApiError> {
    f.map(|axum::Form(t)| t)
        .map_err(|e| ApiError::bad_request(format!("bad form: {}", printable(&e.body_text()))))
}

pub(crate) fn json<T>(j: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    j.map(|Json(t)| t).map_err(|e| {
        let status = e.status();
        if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large()
        } else {
            ApiError::bad_request(format!("bad JSON body: {}", printable(&e.body_text())))
        }
    })
}
