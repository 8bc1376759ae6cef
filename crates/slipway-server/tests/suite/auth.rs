//! Who may call: pages redirect to the login form without a session; the
//! token logs a browser in with an `HttpOnly` cookie; a POST made with the
//! cookie needs the session's CSRF token; logging out ends the session; a
//! cross-site POST is refused even with the token; on loopback, a `Host`
//! naming another machine is refused.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};

use crate::suite::seed::seed;
use crate::suite::support::{
    App, Session, TOKEN, TestDb, anonymous, bearer, form, on_both_backends, session_form,
    with_cookie,
};

on_both_backends!(
    pages_without_a_session_go_to_the_login_form,
    a_wrong_token_does_not_log_in,
    the_token_logs_in_with_an_http_only_cookie,
    posts_with_the_cookie_need_the_csrf_token,
    logging_out_ends_the_session,
    cross_site_posts_are_refused_even_with_the_token,
    on_loopback_only_local_hosts_are_served,
);

async fn pages_without_a_session_go_to_the_login_form(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let id = s.ready.0;
    let pages = [
        "/".to_owned(),
        format!("/tasks/{id}"),
        format!("/tasks/{id}/approve"),
        format!("/tasks/{id}/reject"),
        "/runs".to_owned(),
        format!("/runs/{}", s.coder),
        format!("/runs/{}?span={}", s.coder, s.chat),
        "/compare".to_owned(),
        format!("/compare?a={}&b={}", s.coder, s.reviewer),
        "/cost".to_owned(),
        "/releases".to_owned(),
        "/release".to_owned(),
        "/rollback?to=1".to_owned(),
    ];
    for page in &pages {
        app.send(anonymous(Method::GET, page))
            .await
            .assert_redirect("/login");
        // A cookie of no live session is no session.
        app.send(with_cookie(
            Method::GET,
            page,
            &format!("slipway_session={TOKEN}"),
        ))
        .await
        .assert_redirect("/login");
        // A bearer token opens pages too (scripts may read them).
        let reply = app
            .send(bearer(Method::GET, page).body(Body::empty()).unwrap())
            .await;
        // Without the gates (this app has no pipeline) the gate pages answer 409.
        let gate =
            page.ends_with("/approve") || page == "/release" || page.starts_with("/rollback");
        let expected = if gate {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        assert_eq!(reply.status, expected, "{page}");
    }
    for post in [
        "/logout",
        "/release",
        "/rollback",
        &format!("/tasks/{id}/approve"),
    ] {
        app.send(form(Method::POST, post, "csrf=x"))
            .await
            .assert_redirect("/login");
    }
    let login = app.send(anonymous(Method::GET, "/login")).await;
    let html = login.html(StatusCode::OK);
    assert!(
        html.contains(r#"<form method="post" action="/login">"#),
        "{html}"
    );
    assert!(html.contains(r#"name="token""#));
}

async fn a_wrong_token_does_not_log_in(db: &TestDb) {
    let app = App::new(db).await;
    let started = std::time::Instant::now();
    let reply = app.send(form(Method::POST, "/login", "token=not-it")).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    let html = reply.html(StatusCode::UNAUTHORIZED);
    assert!(
        html.contains("that is not this project&#39;s token")
            || html.contains("that is not this project's token"),
        "{html}"
    );
    assert_eq!(reply.header("set-cookie"), "");
    let missing = app.send(form(Method::POST, "/login", "nothing=here")).await;
    missing.html(StatusCode::BAD_REQUEST);
    assert_eq!(missing.header("set-cookie"), "");
    // A wrong token is no session: the board still redirects.
    app.send(anonymous(Method::GET, "/"))
        .await
        .assert_redirect("/login");
}

async fn the_token_logs_in_with_an_http_only_cookie(db: &TestDb) {
    let app = App::new(db).await;
    seed(app.store.as_ref()).await;
    // Pasted with blanks around it, as a copy from a terminal has.
    let reply = app
        .send(form(
            Method::POST,
            "/login",
            &format!("token=%20{TOKEN}%0A"),
        ))
        .await;
    reply.assert_redirect("/");
    let set = reply.header("set-cookie");
    let (pair, attributes) = set.split_once(';').unwrap();
    let id = pair.strip_prefix("slipway_session=").unwrap();
    assert_eq!(id.len(), 64);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(id, TOKEN, "the session id is not the token");
    let attributes: Vec<&str> = attributes.split(';').map(str::trim).collect();
    for wanted in ["HttpOnly", "Path=/", "Max-Age=43200"] {
        assert!(attributes.contains(&wanted), "{set}");
    }
    assert!(
        attributes.iter().any(|a| a.starts_with("SameSite=")),
        "{set}"
    );

    let session = app.login().await;
    assert_ne!(session.cookie, pair, "each login is a session of its own");
    assert_eq!(session.csrf.len(), 64);
    let board = app.page(&session, "/").await;
    assert!(
        board
            .html(StatusCode::OK)
            .contains(r#"data-testid="board""#)
    );
    // The cookie opens the API too, among other cookies.
    let both = format!("theme=dark; {}; other=1", session.cookie);
    let tasks = app
        .send(with_cookie(Method::GET, "/api/v1/tasks", &both))
        .await;
    assert_eq!(tasks.ok_json().as_array().unwrap().len(), 3);
    // The first session is still good.
    app.send(with_cookie(Method::GET, "/runs", pair))
        .await
        .assert_status(StatusCode::OK);
}

async fn posts_with_the_cookie_need_the_csrf_token(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let session = app.login().await;
    let other = app.login().await;
    let reject = format!("/tasks/{}/reject", s.ready.0);
    let refused = [
        session_form(&session, "/logout", ""),
        session_form(&session, "/logout", "csrf="),
        session_form(&session, "/logout", "csrf=0000"),
        session_form(&session, "/logout", &format!("csrf={}", other.csrf)),
        session_form(&session, &reject, "why=no"),
        session_form(&session, "/release", "staging=abc"),
        with_cookie(Method::POST, "/logout", &session.cookie),
        csrf_header(&session, "/api/v1/releases", "wrong"),
        csrf_header(&session, "/api/v1/releases", &other.csrf),
        {
            let mut r = with_cookie(Method::POST, "/api/v1/releases", &session.cookie);
            r.headers_mut()
                .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
            r
        },
    ];
    for request in refused {
        let api = request.uri().path().starts_with("/api/");
        let reply = app.send(request).await;
        if api {
            let message = reply.assert_error(StatusCode::FORBIDDEN, "forbidden");
            assert!(message.contains("CSRF"), "{message}");
        } else {
            // A page's refusal is a page.
            let reply = reply.assert_status(StatusCode::FORBIDDEN);
            assert!(
                reply.header("content-type").starts_with("text/html"),
                "{}",
                reply.body
            );
            assert!(reply.body.contains("CSRF"), "{}", reply.body);
        }
    }
    // The session survived all that.
    app.page(&session, "/").await.assert_status(StatusCode::OK);

    // With the token, the request passes authentication and reaches the
    // handler, which has no gates here.
    let with_field = app
        .send(session_form(
            &session,
            &reject,
            &format!("why=no&csrf={}", session.csrf),
        ))
        .await;
    assert!(
        with_field
            .html(StatusCode::SERVICE_UNAVAILABLE)
            .contains("without the human gates")
    );
    let with_header = app
        .send(csrf_header(&session, "/api/v1/releases", &session.csrf))
        .await;
    with_header.assert_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    // Bearer calls carry nothing ambient and need no CSRF token.
    let bearer_post = app.post_json("/api/v1/releases", "{}").await;
    bearer_post.assert_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
}

fn csrf_header(session: &Session, path: &str, csrf: &str) -> Request<Body> {
    Request::post(path)
        .header(header::COOKIE, &session.cookie)
        .header("x-csrf-token", csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap()
}

async fn logging_out_ends_the_session(db: &TestDb) {
    let app = App::new(db).await;
    let session = app.login().await;
    let other = app.login().await;
    let reply = app
        .send(session_form(
            &session,
            "/logout",
            &format!("csrf={}", session.csrf),
        ))
        .await;
    reply.assert_redirect("/login");
    let set = reply.header("set-cookie");
    assert!(
        set.starts_with("slipway_session=;") && set.contains("Max-Age=0"),
        "{set}"
    );
    app.page(&session, "/").await.assert_redirect("/login");
    let api = app
        .send(with_cookie(Method::GET, "/api/v1/tasks", &session.cookie))
        .await;
    api.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    // Only that session ended.
    app.page(&other, "/").await.assert_status(StatusCode::OK);
    // The header works as well as the field.
    let mut by_header = with_cookie(Method::POST, "/logout", &other.cookie);
    by_header
        .headers_mut()
        .insert("x-csrf-token", other.csrf.parse().unwrap());
    app.send(by_header).await.assert_redirect("/login");
    app.page(&other, "/").await.assert_redirect("/login");
}

async fn cross_site_posts_are_refused_even_with_the_token(db: &TestDb) {
    let app = App::new(db).await;
    let from = |origin: Option<&str>, site: Option<&str>| {
        let mut request = bearer(Method::POST, "/api/v1/releases")
            .header(header::HOST, "127.0.0.1:7777")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        request.body(Body::from("{}")).unwrap()
    };
    for request in [
        from(Some("http://evil.example"), None),
        from(Some("http://localhost:7777"), None),
        from(Some("http://127.0.0.1:8888"), None),
        from(Some("null"), None),
        from(None, Some("cross-site")),
        from(None, Some("same-site")),
        from(Some("http://127.0.0.1:7777"), Some("cross-site")),
    ] {
        let reply = app.send(request).await;
        let message = reply.assert_error(StatusCode::FORBIDDEN, "forbidden");
        assert!(message.contains("cross-site"), "{message}");
    }
    for request in [
        from(Some("http://127.0.0.1:7777"), None),
        from(Some("http://127.0.0.1:7777"), Some("same-origin")),
        from(None, Some("none")),
        from(None, None),
    ] {
        let reply = app.send(request).await;
        reply.assert_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    }
    // A page elsewhere cannot log the browser in, nor out.
    let mut login = form(Method::POST, "/login", &format!("token={TOKEN}"));
    login
        .headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    let reply = app.send(login).await;
    let message = reply.assert_refused(StatusCode::FORBIDDEN, "forbidden");
    assert!(message.contains("cross-site"), "{message}");
    assert_eq!(reply.header("set-cookie"), "");
    let session = app.login().await;
    let mut logout = session_form(&session, "/logout", &format!("csrf={}", session.csrf));
    logout
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    app.send(logout).await.assert_status(StatusCode::FORBIDDEN);
    app.page(&session, "/").await.assert_status(StatusCode::OK);
    // Reading is not refused: a link from elsewhere opens the page.
    let mut read = with_cookie(Method::GET, "/", &session.cookie);
    read.headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    app.send(read).await.assert_status(StatusCode::OK);
}

async fn on_loopback_only_local_hosts_are_served(db: &TestDb) {
    let app = App::new(db).await;
    let with_host = |host: &str, path: &str| {
        bearer(Method::GET, path)
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap()
    };
    for path in [
        "/api/v1/tasks",
        "/",
        "/login",
        "/assets/app.css",
        "/nothing",
    ] {
        for host in [
            "evil.example:7777",
            "evil.example",
            "10.0.0.1:7777",
            "localhost.evil.example:7777",
        ] {
            let reply = app.send(with_host(host, path)).await;
            let message = reply.assert_refused(StatusCode::BAD_REQUEST, "bad_request");
            assert!(message.contains("Host"), "{message}");
        }
    }
    for host in [
        "127.0.0.1:7777",
        "localhost:7777",
        "[::1]:7777",
        "LOCALHOST:7777",
    ] {
        let reply = app.send(with_host(host, "/api/v1/tasks")).await;
        reply.ok_json();
        let page = app.send(with_host(host, "/runs")).await;
        page.html(StatusCode::OK);
    }
    // A login by way of another name is refused before the token is looked at.
    let mut login = form(Method::POST, "/login", &format!("token={TOKEN}"));
    login
        .headers_mut()
        .insert(header::HOST, "evil.example:7777".parse().unwrap());
    let reply = app.send(login).await;
    reply.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(reply.header("set-cookie"), "");

    // Listening elsewhere than loopback, any name is served.
    let open = App::configured(db, |c| c.loopback = false).await;
    open.send(with_host("evil.example:7777", "/api/v1/tasks"))
        .await
        .ok_json();
}
