//! The harness: a fresh database per test on either backend, the router over
//! it, requests sent with `oneshot`, and the answers read back whole.
//!
//! `on_both_backends!` runs each test body on SQLite and on PostgreSQL. A
//! PostgreSQL server that cannot be reached skips the PostgreSQL half with a
//! warning on a developer's machine and fails it when `CI` is set (the rule
//! lives in `PgTestDb::new`).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, Response, StatusCode, header};
use serde_json::Value;
use slipway_pipeline::Pipeline;
use slipway_server::{AppState, WebConfig};
use slipway_store::{Store, StoreLocation};
use slipway_test_support::{PgTestDb, SqliteTestDb};
use tower::ServiceExt as _;

/// The project's token in every test.
pub(crate) const TOKEN: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// The policy every response must carry.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// One test's database.
pub(crate) enum TestDb {
    Sqlite(SqliteTestDb),
    Postgres(PgTestDb),
}

impl TestDb {
    pub(crate) fn sqlite() -> Self {
        Self::Sqlite(SqliteTestDb::new())
    }

    /// Returns `None` when PostgreSQL is unreachable outside CI (the fixture
    /// said so on stderr); panics when it is unreachable in CI.
    pub(crate) fn postgres() -> Option<Self> {
        PgTestDb::new().map(Self::Postgres)
    }

    pub(crate) fn location(&self) -> StoreLocation {
        match self {
            Self::Sqlite(db) => StoreLocation::Sqlite(db.path().to_owned()),
            Self::Postgres(db) => StoreLocation::Postgres(db.url().to_owned()),
        }
    }

    /// Opens a store (its own pool) on this database, migrated.
    pub(crate) async fn open(&self) -> Arc<dyn Store> {
        let store = slipway_store::open(&self.location())
            .await
            .unwrap_or_else(|err| panic!("open {}: {err}", self.location()));
        Arc::from(store)
    }
}

/// Generates, for each named `async fn(&TestDb)`, a test on SQLite and one on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        slipway_test_support::on_both_backends!($crate::suite::support::TestDb; $($name),*);
    };
}

pub(crate) use on_both_backends;

/// The router over a store, and the store for setting things up.
pub(crate) struct App {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) state: AppState,
    router: Router,
}

impl App {
    /// The application over `db` with the default configuration and no pipeline.
    pub(crate) async fn new(db: &TestDb) -> Self {
        Self::configured(db, |_| {}).await
    }

    /// The application over `db`, no pipeline, its configuration changed by `change`.
    pub(crate) async fn configured(db: &TestDb, change: impl FnOnce(&mut WebConfig)) -> Self {
        let mut config = WebConfig::new(TOKEN.to_owned());
        change(&mut config);
        Self::over(db.open().await, None, &config)
    }

    pub(crate) fn over(
        store: Arc<dyn Store>,
        pipeline: Option<Arc<Pipeline>>,
        config: &WebConfig,
    ) -> Self {
        let state = AppState::new(Arc::clone(&store), pipeline, config);
        Self {
            store,
            router: slipway_server::router(state.clone()),
            state,
        }
    }

    /// Sends `request` and returns the response with its body unread.
    pub(crate) async fn respond(&self, request: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(request).await.unwrap()
    }

    /// Sends `request` and reads the whole answer.
    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        let what = format!("{} {}", request.method(), request.uri());
        let response = self.respond(request).await;
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        Reply {
            what,
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    /// `GET path` with the bearer token.
    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.send(bearer(Method::GET, path).body(Body::empty()).unwrap())
            .await
    }

    /// `POST path` with the bearer token and `json` as the body.
    pub(crate) async fn post_json(&self, path: &str, json: &str) -> Reply {
        self.send(
            bearer(Method::POST, path)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json.to_owned()))
                .unwrap(),
        )
        .await
    }

    /// Logs in with the token; returns the session cookie and its CSRF token.
    pub(crate) async fn login(&self) -> Session {
        let reply = self
            .send(form(Method::POST, "/login", &format!("token={TOKEN}")))
            .await;
        reply.assert_status(StatusCode::SEE_OTHER);
        let set = reply.header(header::SET_COOKIE.as_str());
        let cookie = set.split(';').next().unwrap().trim().to_owned();
        assert!(cookie.starts_with("slipway_session="), "{set}");
        let page = self.send(with_cookie(Method::GET, "/", &cookie)).await;
        page.assert_status(StatusCode::OK);
        let csrf = page
            .hidden("csrf")
            .unwrap_or_else(|| panic!("no csrf field on the board: {}", page.body));
        Session { cookie, csrf }
    }

    /// `GET path` as the session's browser would.
    pub(crate) async fn page(&self, session: &Session, path: &str) -> Reply {
        self.send(with_cookie(Method::GET, path, &session.cookie))
            .await
    }
}

/// A logged-in browser: its cookie (`slipway_session=…`) and CSRF token.
pub(crate) struct Session {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

/// A request to `path` carrying the bearer token.
pub(crate) fn bearer(method: Method, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
}

/// A request to `path` with no credential and no body.
pub(crate) fn anonymous(method: Method, path: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap()
}

/// A request carrying `cookie` and no body.
pub(crate) fn with_cookie(method: Method, path: &str, cookie: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// A form post of `body` (urlencoded) with no credential.
pub(crate) fn form(method: Method, path: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// A form post of `body` made by the session's browser.
pub(crate) fn session_form(session: &Session, path: &str, body: &str) -> Request<Body> {
    let mut request = form(Method::POST, path, body);
    request
        .headers_mut()
        .insert(header::COOKIE, session.cookie.parse().unwrap());
    request
}

/// A whole answer.
pub(crate) struct Reply {
    /// The request, for messages.
    pub(crate) what: String,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn assert_status(&self, status: StatusCode) -> &Self {
        assert_eq!(
            self.status, status,
            "{}: expected {status}, got {}: {}",
            self.what, self.status, self.body
        );
        self
    }

    /// Returns a header's value, or "" when absent.
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }

    pub(crate) fn json(&self) -> Value {
        assert!(
            self.header("content-type").starts_with("application/json"),
            "{}: not JSON ({}): {}",
            self.what,
            self.header("content-type"),
            self.body
        );
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{}: bad JSON ({e}): {}", self.what, self.body))
    }

    /// Asserts a 200 JSON answer and returns it.
    pub(crate) fn ok_json(&self) -> Value {
        self.assert_status(StatusCode::OK);
        self.json()
    }

    /// Asserts the API's error answer: the status, `{"error": {"code",
    /// "message"}}` with `code`, and a message that is not empty; returns it.
    pub(crate) fn assert_error(&self, status: StatusCode, code: &str) -> String {
        self.assert_status(status);
        let json = self.json();
        assert_eq!(json["error"]["code"], code, "{}: {}", self.what, self.body);
        let message = json["error"]["message"].as_str().unwrap().to_owned();
        assert!(!message.is_empty(), "{}: empty message", self.what);
        message
    }

    /// Asserts a refusal: the JSON error with `code` under `/api/`, the
    /// error page elsewhere; returns its message.
    pub(crate) fn assert_refused(&self, status: StatusCode, code: &str) -> String {
        let path = self.what.split(' ').nth(1).unwrap_or_default();
        if path.starts_with("/api/") {
            return self.assert_error(status, code);
        }
        let html = self.html(status);
        let marker = r#"data-testid="error">"#;
        let at = html
            .find(marker)
            .unwrap_or_else(|| panic!("{}: no error: {html}", self.what));
        let message = &html[at + marker.len()..];
        message[..message.find("</p>").unwrap()].to_owned()
    }

    /// Asserts an HTML answer with `status` and returns its body.
    pub(crate) fn html(&self, status: StatusCode) -> &str {
        self.assert_status(status);
        assert!(
            self.header("content-type").starts_with("text/html"),
            "{}: not HTML: {}",
            self.what,
            self.header("content-type")
        );
        assert_eq!(
            self.body.matches("<script").count(),
            self.body.matches("<script src=").count(),
            "{}: an inline script: {}",
            self.what,
            self.body
        );
        assert!(
            !self.body.contains(" style="),
            "{}: an inline style",
            self.what
        );
        &self.body
    }

    /// Asserts a redirect (303) to `to`.
    pub(crate) fn assert_redirect(&self, to: &str) {
        self.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(self.header("location"), to, "{}", self.what);
    }

    /// Returns the value of the first hidden input named `name`.
    pub(crate) fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("type=\"hidden\" name=\"{name}\" value=\"");
        let at = self.body.find(&marker)? + marker.len();
        let end = self.body[at..].find('"')?;
        Some(self.body[at..at + end].to_owned())
    }
}

/// Asserts the headers every response carries.
pub(crate) fn assert_secure(reply: &Reply) {
    let csp = reply.header("content-security-policy");
    assert_eq!(csp, CSP, "{}: {} {}", reply.what, reply.status, reply.body);
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert_eq!(
        reply.header("x-content-type-options"),
        "nosniff",
        "{}",
        reply.what
    );
    assert_eq!(reply.header("x-frame-options"), "DENY", "{}", reply.what);
    assert_eq!(
        reply.header("referrer-policy"),
        "no-referrer",
        "{}",
        reply.what
    );
}

/// Every (method, path template) the OpenAPI document lists, sorted.
pub(crate) fn documented_routes() -> Vec<(Method, String)> {
    let doc = serde_json::to_value(slipway_server::openapi()).unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            if item.get(method).is_some() {
                routes.push((
                    method.to_uppercase().parse::<Method>().unwrap(),
                    path.clone(),
                ));
            }
        }
    }
    routes.sort_by(|a, b| (&a.1, a.0.as_str()).cmp(&(&b.1, b.0.as_str())));
    routes
}
