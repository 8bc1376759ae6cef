//! The API's refusals: 401 without or with a wrong credential on every
//! documented route, 400 naming the bad id, query value or body, 404 for
//! what does not exist, 413 past the body limit. Each is the JSON error
//! `{"error": {"code", "message"}}`.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use slipway_server::MAX_BODY_BYTES;

use crate::suite::seed::seed;
use crate::suite::support::{App, TOKEN, TestDb, documented_routes, on_both_backends};

on_both_backends!(
    every_route_refuses_a_missing_or_wrong_credential,
    bad_ids_and_query_values_get_400_naming_them,
    unknown_ids_and_paths_get_404,
    bad_json_bodies_get_400,
    bodies_over_64_kib_get_413,
);

fn concrete(template: &str) -> String {
    template.replace("{id}", "1")
}

async fn every_route_refuses_a_missing_or_wrong_credential(db: &TestDb) {
    let app = App::new(db).await;
    seed(app.store.as_ref()).await;
    let routes = documented_routes();
    assert!(routes.len() >= 16, "{routes:?}");
    let wrong = |value: &str, method: &Method, path: &str| {
        Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::AUTHORIZATION, value)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap()
    };
    for (method, template) in &routes {
        let path = concrete(template);
        let mut attempts = vec![
            Request::builder()
                .method(method.clone())
                .uri(&path)
                .body(Body::empty())
                .unwrap(),
            wrong("Bearer not-the-token", method, &path),
            wrong(&format!("Bearer {}", &TOKEN[..63]), method, &path),
            wrong(&format!("Bearer {TOKEN}x"), method, &path),
            wrong("Bearer ", method, &path),
        ];
        let mut stale = Request::builder()
            .method(method.clone())
            .uri(&path)
            .body(Body::empty())
            .unwrap();
        stale.headers_mut().insert(
            header::COOKIE,
            format!("slipway_session={TOKEN}").parse().unwrap(),
        );
        attempts.push(stale);
        for request in attempts {
            let reply = app.send(request).await;
            let message = reply.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
            assert_eq!(reply.header("www-authenticate"), "Bearer", "{}", reply.what);
            assert!(message.contains(".slipway/token"), "{message}");
            assert!(
                !reply.body.contains(TOKEN),
                "the token leaked: {}",
                reply.body
            );
        }
    }
}

async fn bad_ids_and_query_values_get_400_naming_them(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let span = s.chat.as_str();
    let cases = [
        ("/api/v1/tasks/abc", "task id `abc`"),
        ("/api/v1/tasks/0", "task id `0`"),
        ("/api/v1/tasks/-3", "task id `-3`"),
        ("/api/v1/tasks/1.5/events", "task id `1.5`"),
        ("/api/v1/tasks/x/findings", "task id `x`"),
        ("/api/v1/tasks/99999999999999999999/gates", "task id"),
        ("/api/v1/runs/nothex", "trace id `nothex`"),
        (
            "/api/v1/runs/a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a",
            "32 hex digits",
        ),
        ("/api/v1/spans/zz/contents", "span id `zz`"),
        ("/api/v1/spans/%1B%5B31mred/contents", "span id `[31mred`"),
        (
            &format!("/api/v1/spans/{span}/contents?max_bytes=0"),
            "max_bytes",
        ),
        (
            &format!("/api/v1/spans/{span}/contents?max_bytes=lots"),
            "max_bytes",
        ),
        (
            &format!("/api/v1/spans/{span}/contents?max_bytes=16777217"),
            "max_bytes",
        ),
        ("/api/v1/tasks?state=bogus", "bogus"),
        ("/api/v1/tasks?state=", "state"),
        ("/api/v1/costs", "by"),
        ("/api/v1/costs?by=week", "week"),
        ("/api/v1/costs?by=day&since=yesterday", "since"),
        (
            "/api/v1/runs?limit=0",
            "bad limit 0: ask for 1 to 1000 runs",
        ),
        ("/api/v1/runs?limit=1001", "bad limit 1001"),
        ("/api/v1/runs?limit=-1", "limit"),
        ("/api/v1/runs?limit=ten", "limit"),
        ("/api/v1/runs?task=abc", "task id `abc`"),
        ("/api/v1/runs?task=0", "task id `0`"),
        ("/api/v1/runs?task=-2", "task id `-2`"),
        ("/api/v1/tasks?state=%1B%5B2J", "state"),
        ("/api/v1/costs?by=%07%1B%5B2J", "by"),
        ("/api/v1/events?after=soon", "after"),
    ];
    for (path, named) in cases {
        let reply = app.get(path).await;
        let message = reply.assert_error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            message.contains(named),
            "{path}: {message:?} does not name {named:?}"
        );
        assert!(
            !message.contains('\u{1b}'),
            "{path}: {message:?} echoes a terminal escape"
        );
    }
}

async fn unknown_ids_and_paths_get_404(db: &TestDb) {
    let app = App::new(db).await;
    seed(app.store.as_ref()).await;
    let nobody = "f".repeat(32);
    let no_span = "e".repeat(16);
    let cases = [
        "/api/v1/tasks/999".to_owned(),
        "/api/v1/tasks/999/events".to_owned(),
        "/api/v1/tasks/999/findings".to_owned(),
        "/api/v1/tasks/999/gates".to_owned(),
        format!("/api/v1/runs/{nobody}"),
        format!("/api/v1/spans/{no_span}/contents"),
        "/api/v1/nothing".to_owned(),
        "/api/v1/tasks/1/nothing".to_owned(),
        "/api/v2/tasks".to_owned(),
    ];
    for path in &cases {
        let reply = app.get(path).await;
        reply.assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    // An unknown API path answers JSON even without a token.
    let reply = app
        .send(Request::get("/api/v1/nothing").body(Body::empty()).unwrap())
        .await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
}

async fn bad_json_bodies_get_400(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let reject = format!("/api/v1/tasks/{}/reject", s.ready.0);
    let approve = format!("/api/v1/tasks/{}/approve", s.ready.0);
    let long = format!(r#"{{"note":"{}"}}"#, "n".repeat(4001));
    let cases: [(&str, &str, &str); 16] = [
        (&reject, "{", "bad JSON body"),
        (&reject, "", "bad JSON body"),
        (&reject, r#"{"why": 3}"#, "bad JSON body"),
        (&reject, r#"{"why": "x", "extra": 1}"#, "extra"),
        (&reject, r#"{"why": "   "}"#, "`why` is empty"),
        (&reject, "[]", "bad JSON body"),
        (
            &reject,
            r#"{"why": "x", "\u001b[2J": 2}"#,
            "unknown field `[2J`",
        ),
        (&approve, r#"{"sha": 5}"#, "bad JSON body"),
        (&approve, r#"{"sha": "abc", "force": true}"#, "force"),
        ("/api/v1/tasks/abc/approve", "{}", "task id `abc`"),
        (
            "/api/v1/tasks/abc/reject",
            r#"{"why": "no"}"#,
            "task id `abc`",
        ),
        ("/api/v1/releases", "not json", "bad JSON body"),
        (
            "/api/v1/releases",
            &long,
            "`note` is longer than 4000 bytes",
        ),
        ("/api/v1/rollbacks", "{}", "to"),
        ("/api/v1/rollbacks", r#"{"to": 0}"#, "bad `to` 0"),
        ("/api/v1/rollbacks", r#"{"to": "one"}"#, "bad JSON body"),
    ];
    for (path, body, named) in cases {
        let reply = app.post_json(path, body).await;
        let message = reply.assert_error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            message.contains(named),
            "POST {path} {body:?}: {message:?} does not say {named:?}"
        );
        assert!(
            !message.contains('\u{1b}'),
            "{message:?} echoes a terminal escape"
        );
    }
    // A JSON body must say it is JSON.
    let reply = app
        .send(
            crate::suite::support::bearer(Method::POST, "/api/v1/releases")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "bad_request");
    // Nothing moved.
    let task = app
        .get(&format!("/api/v1/tasks/{}", s.ready.0))
        .await
        .ok_json();
    assert_eq!(task["task"]["state"], "ready");
}

async fn bodies_over_64_kib_get_413(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let padded = |len: usize| {
        let head = r#"{"note":""#;
        let tail = r#""}"#;
        format!("{head}{}{tail}", "n".repeat(len - head.len() - tail.len()))
    };
    assert_eq!(padded(MAX_BODY_BYTES).len(), MAX_BODY_BYTES);
    // At the limit the body is read (and its note refused as too long)…
    let at_limit = app
        .post_json("/api/v1/releases", &padded(MAX_BODY_BYTES))
        .await;
    at_limit.assert_error(StatusCode::BAD_REQUEST, "bad_request");
    // …one byte past it, it is not.
    let big = padded(MAX_BODY_BYTES + 1);
    for path in [
        "/api/v1/releases".to_owned(),
        "/api/v1/rollbacks".to_owned(),
        format!("/api/v1/tasks/{}/approve", s.ready.0),
        format!("/api/v1/tasks/{}/reject", s.ready.0),
    ] {
        let reply = app.post_json(&path, &big).await;
        let message = reply.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "too_large");
        assert!(message.contains("64 KiB"), "{message}");
    }
}
