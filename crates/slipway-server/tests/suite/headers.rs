//! What every response carries, whatever answered it: the strict
//! Content-Security-Policy (scripts from this origin only, nothing inline),
//! no sniffing, no framing, no referrer, and no caching but of the assets,
//! which are served with their content hash and cached for good.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};

use crate::suite::seed::{Seeded, seed};
use crate::suite::support::{
    App, Reply, Session, TestDb, anonymous, assert_secure, bearer, form, on_both_backends,
    session_form, with_cookie,
};

on_both_backends!(
    every_response_carries_the_security_headers,
    assets_are_hashed_and_cached
);

async fn every_response_carries_the_security_headers(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let session = app.login().await;
    for (request, status) in requests(&s, &session) {
        let reply = app.send(request).await;
        reply.assert_status(status);
        assert_secure(&reply);
        let cache = reply.header("cache-control");
        if reply.what.contains("/assets/app.") {
            assert_eq!(
                cache, "public, max-age=31536000, immutable",
                "{}",
                reply.what
            );
        } else {
            assert_eq!(cache, "no-store", "{}", reply.what);
        }
        if reply.header("content-type").starts_with("text/html") {
            // No inline script or style for the policy to have to allow.
            reply.html(status);
        }
    }
    // The event stream's head carries them too.
    let events = bearer(Method::GET, "/api/v1/events")
        .body(Body::empty())
        .unwrap();
    let stream = app.respond(events).await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(
        stream.headers()[header::CONTENT_SECURITY_POLICY],
        crate::suite::support::CSP
    );
    assert_eq!(stream.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

/// A request of each kind of answer, and the status it gets.
fn requests(s: &Seeded, session: &Session) -> Vec<(Request<Body>, StatusCode)> {
    let page = |path: &str| with_cookie(Method::GET, path, &session.cookie);
    let get = |path: &str| bearer(Method::GET, path).body(Body::empty()).unwrap();
    let big = "x".repeat(70 * 1024);
    vec![
        (get("/api/v1/tasks"), StatusCode::OK),
        (get("/api/v1/openapi.json"), StatusCode::OK),
        (get(&format!("/api/v1/runs/{}", s.coder)), StatusCode::OK),
        (
            anonymous(Method::GET, "/api/v1/tasks"),
            StatusCode::UNAUTHORIZED,
        ),
        (get("/api/v1/tasks/abc"), StatusCode::BAD_REQUEST),
        (get("/api/v1/tasks/999"), StatusCode::NOT_FOUND),
        (get("/api/v1/nothing"), StatusCode::NOT_FOUND),
        (
            bearer(Method::DELETE, "/api/v1/tasks")
                .body(Body::empty())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            bearer(Method::POST, "/api/v1/releases")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(big.clone()))
                .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            bearer(Method::POST, "/api/v1/releases")
                .header(header::ORIGIN, "http://evil.example")
                .body(Body::empty())
                .unwrap(),
            StatusCode::FORBIDDEN,
        ),
        (
            bearer(Method::GET, "/")
                .header(header::HOST, "evil.example")
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            bearer(Method::POST, "/api/v1/rollbacks")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"to":1}"#))
                .unwrap(),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (page("/"), StatusCode::OK),
        (page(&format!("/tasks/{}", s.ready.0)), StatusCode::OK),
        (
            page(&format!("/runs/{}?span={}", s.coder, s.chat)),
            StatusCode::OK,
        ),
        (page("/cost"), StatusCode::OK),
        (page("/tasks/abc"), StatusCode::BAD_REQUEST),
        (page("/tasks/999"), StatusCode::NOT_FOUND),
        (page("/no/such/page"), StatusCode::NOT_FOUND),
        (page("/release"), StatusCode::CONFLICT),
        (anonymous(Method::GET, "/"), StatusCode::SEE_OTHER),
        (anonymous(Method::GET, "/login"), StatusCode::OK),
        (
            form(Method::POST, "/login", "token=wrong"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            session_form(session, "/logout", "csrf=wrong"),
            StatusCode::FORBIDDEN,
        ),
        (
            session_form(session, "/logout", &big),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (anonymous(Method::GET, "/assets/app.css"), StatusCode::OK),
        (anonymous(Method::GET, "/assets/app.js"), StatusCode::OK),
        (
            anonymous(Method::GET, "/assets/nothing.js"),
            StatusCode::NOT_FOUND,
        ),
    ]
}

async fn assets_are_hashed_and_cached(db: &TestDb) {
    let app = App::new(db).await;
    let session = app.login().await;
    let board = app.page(&session, "/").await;
    let html = board.html(StatusCode::OK);
    let url = |prefix: &str| -> String {
        let at = html
            .find(prefix)
            .unwrap_or_else(|| panic!("{prefix} is not linked: {html}"));
        let end = html[at..].find('"').unwrap();
        html[at..at + end].to_owned()
    };
    let css = url("/assets/app.css?v=");
    let js = url("/assets/app.js?v=");
    let version = css.strip_prefix("/assets/app.css?v=").unwrap();
    assert_eq!(version.len(), 12);
    assert!(version.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(js.strip_prefix("/assets/app.js?v=").unwrap(), version);
    assert!(
        html.contains(&format!(r#"<script src="{js}" defer>"#)),
        "{html}"
    );

    let check = |reply: &Reply, kind: &str, file: &str| {
        reply.assert_status(StatusCode::OK);
        assert_eq!(reply.header("content-type"), kind);
        assert_eq!(
            reply.body,
            std::fs::read_to_string(format!("{}/assets/{file}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
        );
        assert_secure(reply);
    };
    check(
        &app.send(anonymous(Method::GET, &css)).await,
        "text/css; charset=utf-8",
        "app.css",
    );
    check(
        &app.send(anonymous(Method::GET, &js)).await,
        "text/javascript; charset=utf-8",
        "app.js",
    );
    // The login page, which no session opens, links the stylesheet too.
    let login = app.send(anonymous(Method::GET, "/login")).await;
    assert!(login.body.contains(&css));
}
