//! The web UI on real data: each page renders what the store holds, and
//! what agents wrote reaches it escaped, with hidden characters named.

use axum::http::StatusCode;

use crate::suite::seed::{ANSWER, EVIL_FINDING, PROMPT, seed};
use crate::suite::support::{App, TestDb, on_both_backends, session_form};

on_both_backends!(
    the_board_lists_tasks_by_lane_and_state,
    the_task_page_shows_plan_reviews_tests_and_runs,
    untrusted_text_is_escaped_and_hidden_characters_named,
    gate_confirmation_pages,
    runs_and_a_runs_waterfall,
    comparing_two_runs,
    the_cost_page_charts_spend,
    the_releases_page_and_its_confirmations,
    bad_and_unknown_ids_get_error_pages,
);

async fn the_board_lists_tasks_by_lane_and_state(db: &TestDb) {
    let app = App::new(db).await;
    let session = app.login().await;
    let empty = app.page(&session, "/").await;
    assert!(empty.html(StatusCode::OK).contains("No tasks yet"));
    let s = seed(app.store.as_ref()).await;
    let board = app.page(&session, "/").await;
    let html = board.html(StatusCode::OK);
    assert!(html.contains("3 tasks in 2 lanes"), "{html}");
    assert!(html.contains(r#"<div id="board" data-live="/">"#));
    // The ready task waits on a person, on top.
    let waiting = &html[html.find(r#"data-testid="waiting""#).unwrap()..];
    assert!(waiting.contains(&format!(r#"href="/tasks/{}""#, s.ready.0)));
    assert!(waiting.contains("review it, then approve or reject"));
    // Each task is a card in its lane's row and state's column.
    for (id, state) in [
        (s.ready, "ready"),
        (s.queued, "queued"),
        (s.released, "released"),
    ] {
        let card = format!(
            r#"<a class="card" href="/tasks/{}" data-state="{state}""#,
            id.0
        );
        assert!(html.contains(&card), "{card} not in {html}");
    }
    assert!(html.contains(r#"<th scope="row">core</th>"#));
    assert!(html.contains(r#"<th scope="row">ui</th>"#));
    assert!(html.contains("#2 Polish the board"));
    // The scheduler's status and the logout form are on every page.
    assert!(html.contains("scheduler: not running"));
    assert!(html.contains(&format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        session.csrf
    )));
}

async fn the_task_page_shows_plan_reviews_tests_and_runs(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let session = app.login().await;
    let reply = app.page(&session, &format!("/tasks/{}", s.ready.0)).await;
    let html = reply.html(StatusCode::OK);
    assert!(html.contains(r#"<span class="badge s-ready">ready</span>"#));
    // Ready: the gates' buttons.
    assert!(html.contains(&format!(
        r#"href="/tasks/{}/approve" data-testid="approve""#,
        s.ready.0
    )));
    assert!(html.contains(&format!(
        r#"href="/tasks/{}/reject" data-testid="reject""#,
        s.ready.0
    )));
    assert!(html.contains("Cargo.toml, crates/api.rs"), "seams");
    assert!(html.contains(r#"data-testid="plan""#));
    assert!(html.contains("plan_review pass 1 — passed"));
    assert!(html.contains("code_review pass 2 — passed"));
    assert!(html.contains(r#"<h4 class="sev sev-medium">medium (1)</h4>"#));
    assert!(html.contains("Name the error type"));
    let tests = &html[html.find(r#"data-testid="tests""#).unwrap()..];
    assert!(tests.contains("tests green"), "{tests}");
    assert!(tests.contains("test result: ok. 12 passed"), "{tests}");
    assert!(html.contains("Code reviewer&#39;s report") || html.contains("Code reviewer's report"));
    assert!(html.contains(&format!(r#"href="/runs/{}""#, s.coder)));
    assert!(html.contains(&format!(r#"href="/runs/{}""#, s.reviewer)));
    assert!(
        html.contains("$0.0015 over 2 runs, 4,300 tokens (1 unpriced)"),
        "{html}"
    );
    assert!(
        html.contains("<code>aaaaaaaaaaaa</code>"),
        "the reviewed commit, short"
    );
    // A task that is not ready has no gate buttons.
    let queued = app.page(&session, &format!("/tasks/{}", s.queued.0)).await;
    let html = queued.html(StatusCode::OK);
    assert!(!html.contains(r#"data-testid="approve""#));
    assert!(
        html.contains(&format!(
            r#"<a href="/tasks/{}">#{}</a>"#,
            s.ready.0, s.ready.0
        )),
        "its dependency"
    );
    assert!(html.contains("No review yet."));
    // An outcome after a gate is said in fixed words only.
    let staged = app
        .page(&session, &format!("/tasks/{}?outcome=staged", s.ready.0))
        .await;
    assert!(
        staged
            .html(StatusCode::OK)
            .contains("Approved: staging moved to the merge")
    );
    let forged = app
        .page(
            &session,
            &format!("/tasks/{}?outcome=%3Cscript%3Ex", s.ready.0),
        )
        .await;
    let html = forged.html(StatusCode::OK);
    assert!(!html.contains(r#"data-testid="outcome""#));
    assert!(!html.contains("<script>x"));
}

async fn untrusted_text_is_escaped_and_hidden_characters_named(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let session = app.login().await;
    let task = app.page(&session, &format!("/tasks/{}", s.ready.0)).await;
    let board = app.page(&session, "/").await;
    for reply in [&task, &board] {
        let html = reply.html(StatusCode::OK);
        assert!(!html.contains("<script>alert(1)"), "{}: {html}", reply.what);
        assert!(
            html.contains("Fix &lt;script&gt;alert(1)&lt;/script&gt; in the ⟨U+202E⟩parser")
                && !html.contains('\u{202E}'),
            "{}",
            reply.what
        );
    }
    // On the board the title is also an attribute, escaped there too.
    assert!(
        board
            .body
            .contains(r#"title="Fix &lt;script&gt;alert(1)&lt;/script&gt; in the ⟨U+202E⟩parser""#)
    );
    let html = &task.body;
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(EVIL_FINDING.starts_with("<img"));
    assert!(
        html.contains("&lt;b&gt;detail&lt;/b&gt;"),
        "a finding's detail"
    );
    assert!(
        !html.contains('\u{202E}'),
        "a raw right-to-left override reached the page"
    );
    assert!(
        html.contains("Check the caller ⟨U+202E⟩ }; if (admin) {"),
        "{html}"
    );
    // The rollback's note, on the releases page.
    let releases = app.page(&session, "/releases").await;
    assert!(
        releases
            .html(StatusCode::OK)
            .contains("first &lt;release&gt;")
    );
    assert!(!releases.body.contains("<release>"));
    // A span's prompt and answer.
    let span = app
        .page(&session, &format!("/runs/{}?span={}", s.coder, s.chat))
        .await;
    let html = span.html(StatusCode::OK);
    assert!(!html.contains(PROMPT) && !html.contains(ANSWER));
    assert!(
        html.contains("Summarize &lt;b&gt;this&lt;/b&gt; file"),
        "{html}"
    );
    assert!(html.contains("Done: &lt;i&gt;nothing&lt;/i&gt; to change"));
}

async fn gate_confirmation_pages(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let session = app.login().await;
    let reject = app
        .page(&session, &format!("/tasks/{}/reject", s.ready.0))
        .await;
    let html = reject.html(StatusCode::OK);
    assert!(html.contains(&format!(
        r#"<form method="post" action="/tasks/{}/reject">"#,
        s.ready.0
    )));
    assert!(
        html.contains(r#"<textarea id="why" name="why" required"#),
        "{html}"
    );
    assert_eq!(
        reject.hidden("csrf").as_deref(),
        Some(session.csrf.as_str())
    );
    assert!(
        html.contains("Fix &lt;script&gt;") && !html.contains('\u{202E}'),
        "the title, escaped and with its hidden characters named"
    );
    // Approving needs the reviewed change from git, which a server without
    // the gates cannot read; a task that is not ready cannot be approved.
    let approve = app
        .page(&session, &format!("/tasks/{}/approve", s.ready.0))
        .await;
    assert!(
        approve
            .html(StatusCode::CONFLICT)
            .contains("has no approved code review")
    );
    let not_ready = app
        .page(&session, &format!("/tasks/{}/approve", s.queued.0))
        .await;
    assert!(
        not_ready
            .html(StatusCode::CONFLICT)
            .contains("only a `ready` task can be approved")
    );
    // Pressing a button without the gates says so, and moves nothing.
    let pressed = app
        .send(session_form(
            &session,
            &format!("/tasks/{}/reject", s.ready.0),
            &format!("why=no&csrf={}", session.csrf),
        ))
        .await;
    pressed.html(StatusCode::SERVICE_UNAVAILABLE);
    let still = app
        .get(&format!("/api/v1/tasks/{}", s.ready.0))
        .await
        .ok_json();
    assert_eq!(still["task"]["state"], "ready");
}

async fn runs_and_a_runs_waterfall(db: &TestDb) {
    let app = App::new(db).await;
    let session = app.login().await;
    let none = app.page(&session, "/runs").await;
    assert!(none.html(StatusCode::OK).contains("No agent runs yet."));
    let s = seed(app.store.as_ref()).await;
    let runs = app.page(&session, "/runs").await;
    let html = runs.html(StatusCode::OK);
    for run in [&s.coder, &s.reviewer, &s.loose] {
        assert!(html.contains(&format!(r#"href="/runs/{run}""#)), "{run}");
        assert!(
            html.contains(&format!(r#"<option value="{run}""#)),
            "{run} in the compare form"
        );
    }
    assert!(html.contains(&format!(
        r#"<a href="/tasks/{}">#{}</a>"#,
        s.ready.0, s.ready.0
    )));
    assert!(html.contains("unpriced"));

    let run = app.page(&session, &format!("/runs/{}", s.coder)).await;
    let html = run.html(StatusCode::OK);
    assert_eq!(html.matches(r#"data-testid="span""#).count(), 3);
    for name in [
        "invoke_agent coder",
        "chat claude-sonnet-4-5",
        "execute_tool read_file",
    ] {
        assert!(html.contains(name), "{name}");
    }
    // The model call has the tokens: it is marked; the children are indented.
    assert_eq!(html.matches(">most tokens<").count(), 1);
    assert!(html.contains(r#"<td class="name d1">"#));
    assert!(html.contains(r#"<td class="name d0">"#));
    assert!(html.contains(&format!(
        r#"href="/runs/{}?span={}#detail""#,
        s.coder, s.chat
    )));
    assert!(html.contains("<rect class=\"op-chat\""));
    assert!(!html.contains(r#"data-testid="span-detail""#));
    assert!(html.contains("1,200 (input 1,000"), "{html}");

    let tool = app
        .page(&session, &format!("/runs/{}?span={}", s.coder, s.tool))
        .await;
    let html = tool.html(StatusCode::OK);
    assert!(html.contains(r#"data-testid="span-detail""#));
    assert!(html.contains("sent · tool_arguments · 21 bytes"), "{html}");
    assert!(html.contains("received · tool_result · 12 bytes"));
    assert!(html.contains("gen_ai.tool.call.id"));
    assert!(html.contains("{&quot;path&quot;:&quot;src/lib.rs&quot;}"));
    let root = app
        .page(
            &session,
            &format!("/runs/{}?span={}", s.coder, "b1".repeat(8)),
        )
        .await;
    assert!(
        root.html(StatusCode::OK)
            .contains("No content was captured for this span.")
    );
}

async fn comparing_two_runs(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let session = app.login().await;
    let pick = app.page(&session, "/compare").await;
    let html = pick.html(StatusCode::OK);
    assert!(html.contains(r#"<form class="compare" method="get" action="/compare">"#));
    assert!(!html.contains(r#"data-testid="compare""#));

    let both = app
        .page(
            &session,
            &format!("/compare?a={}&b={}", s.coder, s.reviewer),
        )
        .await;
    let html = both.html(StatusCode::OK);
    // A: a model call and a tool call; B: a model call. Paired by position.
    assert_eq!(html.matches(r#"data-testid="step""#).count(), 2);
    assert!(html.contains("coder · anthropic:claude-sonnet-4-5"));
    assert!(html.contains("reviewer · openai:gpt-5"));
    let total = &html[html.find(r#"data-testid="total""#).unwrap()..];
    assert!(total.contains("<td class=\"num\">1,200</td>"), "{total}");
    assert!(total.contains("<td class=\"num\">3,100</td>"), "{total}");
    // A's tool call has no price; it costs nothing, not "unpriced".
    assert!(total.contains("<td class=\"num\">$0.0015</td>"), "{total}");
    // B spent more than 20% more tokens: marked worse.
    assert!(
        total.contains(r#"<td class="num worse">+1,900</td>"#),
        "{total}"
    );
    assert!(html.contains(&format!(r#"<option value="{}" selected>"#, s.coder)));
    let reversed = app
        .page(
            &session,
            &format!("/compare?a={}&b={}", s.reviewer, s.coder),
        )
        .await;
    let total = reversed.html(StatusCode::OK);
    assert!(
        total.contains(r#"<td class="num better">-1,900</td>"#),
        "{total}"
    );
}

async fn the_cost_page_charts_spend(db: &TestDb) {
    let app = App::new(db).await;
    let session = app.login().await;
    let empty = app.page(&session, "/cost").await;
    assert_eq!(empty.html(StatusCode::OK).matches("No runs.").count(), 4);
    let s = seed(app.store.as_ref()).await;
    let cost = app.page(&session, "/cost").await;
    let html = cost.html(StatusCode::OK);
    assert!(html.contains("All runs: $0.0020"), "{html}");
    for chart in ["cost-day", "cost-model", "cost-role", "cost-task"] {
        let at = html.find(&format!(r#"data-testid="{chart}""#)).unwrap();
        assert!(html[at..].contains("<svg class=\"bars\""), "{chart}");
    }
    assert!(html.contains("<td>openai:gpt-5</td>"));
    assert!(html.contains(&format!("<td>#{}</td>", s.ready.0)));
    assert!(html.contains("<td>no task</td>"));
    assert!(html.contains("run(s) of a model without a price"));
    assert!(html.contains("<rect x=\"240\""));
}

async fn the_releases_page_and_its_confirmations(db: &TestDb) {
    let app = App::new(db).await;
    let session = app.login().await;
    let none = app.page(&session, "/releases").await;
    assert!(none.html(StatusCode::OK).contains("No releases yet."));
    let s = seed(app.store.as_ref()).await;
    let page = app.page(&session, "/releases").await;
    let html = page.html(StatusCode::OK);
    assert!(html.contains("release release-1"));
    assert!(html.contains("rollback release-1"));
    assert!(html.contains("<code>bbbbbbbbbbbb</code>"));
    assert!(html.contains(&format!(
        r#"<a href="/tasks/{}">#{}</a>"#,
        s.released.0, s.released.0
    )));
    // Without the gates there are no buttons to press.
    assert!(!html.contains(r#"data-testid="release""#));
    assert!(!html.contains(r#"data-testid="rollback""#));
    let said = app.page(&session, "/releases?outcome=released").await;
    assert!(
        said.html(StatusCode::OK)
            .contains("Released: production is at staging")
    );

    let release = app.page(&session, "/release").await;
    assert!(
        release
            .html(StatusCode::CONFLICT)
            .contains("no staging branch")
    );
    let rollback = app.page(&session, "/rollback?to=1").await;
    assert!(
        rollback
            .html(StatusCode::CONFLICT)
            .contains("no production branch")
    );
    let unknown = app.page(&session, "/rollback?to=9").await;
    assert!(
        unknown
            .html(StatusCode::NOT_FOUND)
            .contains("there is no release-9")
    );
    for bad in ["/rollback", "/rollback?to=x", "/rollback?to="] {
        app.page(&session, bad).await.html(StatusCode::BAD_REQUEST);
    }
}

async fn bad_and_unknown_ids_get_error_pages(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let session = app.login().await;
    let cases = [
        (
            "/tasks/abc".to_owned(),
            StatusCode::BAD_REQUEST,
            "bad task id `abc`",
        ),
        ("/tasks/999".to_owned(), StatusCode::NOT_FOUND, "999"),
        (
            "/tasks/abc/reject".to_owned(),
            StatusCode::BAD_REQUEST,
            "task id",
        ),
        ("/tasks/999/reject".to_owned(), StatusCode::NOT_FOUND, "999"),
        (
            "/tasks/999/approve".to_owned(),
            StatusCode::NOT_FOUND,
            "999",
        ),
        (
            "/runs/nothex".to_owned(),
            StatusCode::BAD_REQUEST,
            "bad trace id `nothex`",
        ),
        (
            format!("/runs/{}", "f".repeat(32)),
            StatusCode::NOT_FOUND,
            "ffff",
        ),
        (
            format!("/runs/{}?span=zz", s.coder),
            StatusCode::BAD_REQUEST,
            "span",
        ),
        (
            format!("/runs/{}?span={}", s.coder, "e".repeat(16)),
            StatusCode::NOT_FOUND,
            "eeee",
        ),
        (
            format!("/compare?a=zz&b={}", s.coder),
            StatusCode::BAD_REQUEST,
            "trace id",
        ),
        (
            format!("/compare?a={}&b={}", "f".repeat(32), s.coder),
            StatusCode::NOT_FOUND,
            "ffff",
        ),
        (
            "/no/such/page".to_owned(),
            StatusCode::NOT_FOUND,
            "nothing here: /no/such/page",
        ),
    ];
    for (path, status, says) in cases {
        let reply = app.page(&session, &path).await;
        let html = reply.html(status);
        let error = &html[html
            .find(r#"data-testid="error""#)
            .unwrap_or_else(|| panic!("{path}: {html}"))..];
        assert!(error.contains(says), "{path}: {error}");
        assert!(html.contains(&format!("<h1>{}", status.as_u16())));
    }
}
