//! Slipway's HTTP server (`slipway up`): the JSON API under `/api/v1` with
//! its OpenAPI document, live task events over server-sent events, and the
//! web UI people supervise the agents from.
//!
//! The crate reads the store and calls the pipeline's human gates; it builds
//! neither. The CLI opens the store, builds the [`Pipeline`] and runs the
//! scheduler beside the server. HTML is rendered on the server with `maud`,
//! which escapes everything interpolated: agents wrote most of what is shown.
//! See docs/design/web.md.

mod api;
mod assets;
mod auth;
mod error;
mod gates;
mod headers;
mod pages;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use slipway_pipeline::Pipeline;
use slipway_store::Store;

pub use auth::{TOKEN_FILE, TokenError, ensure_token, read_token};
pub use error::ApiError;

/// The largest request body accepted, in bytes; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the server works with.
pub struct WebConfig {
    /// The token every API call and login must present.
    pub token: String,
    /// How often a live stream looks for new events.
    pub poll: Duration,
    /// The most live streams open at once.
    pub max_streams: usize,
    /// Whether the server listens on loopback only: then a `Host` that
    /// names another machine is refused (DNS rebinding).
    pub loopback: bool,
}

impl WebConfig {
    /// Returns the defaults for `token`: a poll each second, 32 streams.
    #[must_use]
    pub fn new(token: String) -> Self {
        Self {
            token,
            poll: Duration::from_secs(1),
            max_streams: 32,
            loopback: true,
        }
    }
}

/// The server's shared state.
#[derive(Clone)]
pub struct AppState {
    pub(crate) store: Arc<dyn Store>,
    /// The human gates; `None` serves everything but them (503).
    pub(crate) pipeline: Option<Arc<Pipeline>>,
    pub(crate) auth: Arc<auth::Auth>,
    pub(crate) poll: Duration,
    pub(crate) streams: Arc<tokio::sync::Semaphore>,
    pub(crate) loopback: bool,
    pub(crate) gates: Arc<gates::Gates>,
    /// What the scheduler beside the server is doing, shown on every page.
    pub(crate) scheduler: Arc<std::sync::Mutex<String>>,
    /// Flips to true when the server stops: live streams end.
    pub(crate) stopping: tokio::sync::watch::Receiver<bool>,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    /// Returns the state over `store`, with the gates of `pipeline` when given.
    #[must_use]
    pub fn new(store: Arc<dyn Store>, pipeline: Option<Arc<Pipeline>>, config: &WebConfig) -> Self {
        let (stop, stopping) = tokio::sync::watch::channel(false);
        Self {
            store,
            pipeline,
            auth: Arc::new(auth::Auth::new(&config.token)),
            poll: config.poll,
            streams: Arc::new(tokio::sync::Semaphore::new(config.max_streams)),
            loopback: config.loopback,
            gates: Arc::new(gates::Gates::default()),
            scheduler: Arc::new(std::sync::Mutex::new(String::from("not running"))),
            stopping,
            stop: Arc::new(stop),
        }
    }

    /// Says what the scheduler is doing (`running`, `waiting: …`, `stopped: …`).
    pub fn set_scheduler_status(&self, status: impl Into<String>) {
        *self
            .scheduler
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = status.into();
    }

    pub(crate) fn scheduler_status(&self) -> String {
        self.scheduler
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Ends the live streams, so that a graceful shutdown does not wait on them.
    pub fn stop_streams(&self) {
        let _ = self.stop.send(true);
    }
}

/// Returns the whole application: API, UI and assets, behind authentication.
pub fn router(state: AppState) -> Router {
    let (api, _) = api::router().split_for_parts();
    let protected = Router::new().merge(api).merge(pages::router()).route_layer(
        axum::middleware::from_fn_with_state(state.clone(), auth::require),
    );
    Router::new()
        .merge(protected)
        .merge(auth::router())
        .merge(assets::router())
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::guard,
        ))
        .layer(axum::middleware::from_fn(headers::secure))
        .with_state(state)
}

/// Returns the OpenAPI document of the API, as served at `/api/v1/openapi.json`.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::document()
}

/// Returns `bytes` as lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Serves `router(state)` on `listener` until `shutdown` resolves; then the
/// live streams end and requests in flight finish (a gate in progress runs
/// to its end).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopper = state.clone();
    let gates = Arc::clone(&state.gates);
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        stopper.stop_streams();
    })
    .await?;
    gates.wait_idle().await;
    Ok(())
}
