//! Two tasks on their way to production through a real pipeline over a
//! temporary git repository, each gate pressed once through the API and once
//! through the pages' confirmation forms; a stale page or body moves nothing.

use axum::http::StatusCode;
use serde_json::Value;
use slipway_test_support::TempRepo;
use slipway_types::TaskId;

use crate::suite::gates::{bare_post, ready_task, with_gates};
use crate::suite::support::{App, Session, TestDb, on_both_backends, session_form};

on_both_backends!(tasks_go_to_production_and_back);

/// Commits `file` on the task branch `slipway/N` from `base`; returns the commit.
fn branch(repo: &TempRepo, n: u32, base: &str, file: &str, text: &str) -> String {
    repo.git(&["checkout", "-q", "-b", &format!("slipway/{n}"), base]);
    repo.write(file, text);
    repo.commit(file);
    let sha = repo.git(&["rev-parse", "HEAD"]);
    // Leave `main` checked out: the gates refuse to move a checked-out branch.
    repo.git(&["checkout", "-q", "main"]);
    sha
}

async fn state(app: &App, id: TaskId) -> Value {
    app.get(&format!("/api/v1/tasks/{id}")).await.ok_json()["task"]["state"].clone()
}

fn contains(repo: &TempRepo, branch: &str, commit: &str) -> bool {
    repo.git(&["branch", "--contains", commit, "--format=%(refname:short)"])
        .lines()
        .any(|b| b == branch)
}

async fn tasks_go_to_production_and_back(db: &TestDb) {
    let (app, repo) = with_gates(db).await;
    let base = repo.git(&["rev-parse", "HEAD"]);
    let first = branch(
        &repo,
        1,
        &base,
        "a.txt",
        "<script>alert(1)</script>\nhi \u{202E}there\n",
    );
    let second = branch(&repo, 2, &base, "b.txt", "second\n");
    let a = ready_task(app.store.as_ref(), "Greet <everyone>", &base, &first).await;
    let b = ready_task(app.store.as_ref(), "Second", &base, &second).await;
    let session = app.login().await;

    approve_a_by_form(&app, &session, a, &base, &first).await;
    assert!(contains(&repo, "staging", &first));
    assert!(!contains(&repo, "staging", &second));

    let release_1 = release_a_by_form(&app, &session, &repo, a, &base).await;

    // Approve by the API, without a body, as `curl -X POST` does.
    let approved = app
        .send(bare_post(&format!("/api/v1/tasks/{b}/approve")))
        .await
        .ok_json();
    let staging = repo.git(&["rev-parse", "staging"]);
    assert_eq!(
        approved,
        serde_json::json!({"outcome": "staged", "staging": staging, "why": null})
    );
    assert!(contains(&repo, "staging", &second));
    assert_eq!(state(&app, b).await, "staged");

    // Release by the API; a stale body moves nothing.
    let stale = app
        .post_json(
            "/api/v1/releases",
            &format!(r#"{{"staging": "{release_1}"}}"#),
        )
        .await;
    let message = stale.assert_error(StatusCode::CONFLICT, "conflict");
    assert!(message.contains("staging"), "{message}");
    let release = app
        .post_json(
            "/api/v1/releases",
            &format!(r#"{{"note": "second", "staging": "{staging}"}}"#),
        )
        .await
        .ok_json();
    assert_eq!(release["kind"], "release");
    assert_eq!(
        (&release["number"], &release["tag"]),
        (&2.into(), &"release-2".into())
    );
    assert_eq!(release["sha"], staging.as_str());
    assert_eq!(release["note"], "second");
    assert_eq!(release["tasks"], serde_json::json!([b.0]));
    assert_eq!(repo.git(&["rev-parse", "production"]), staging);
    let release_2 = staging;

    roll_back_and_forth(&app, &session, &repo, &base, &release_1, &release_2).await;
    let moves = app.get("/api/v1/releases").await.ok_json();
    let kinds: Vec<(String, i64)> = moves
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_owned(),
                r["number"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("rollback".into(), 2),
            ("rollback".into(), 1),
            ("release".into(), 2),
            ("release".into(), 1)
        ]
    );
}

async fn approve_a_by_form(app: &App, session: &Session, a: TaskId, base: &str, first: &str) {
    // The task page shows the diff approving merges, escaped.
    let page = app.page(session, &format!("/tasks/{a}")).await;
    let html = page.html(StatusCode::OK);
    assert!(html.contains(r#"data-testid="diff""#), "{html}");
    assert!(
        html.contains("+&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("hi ⟨U+202E⟩there") && !html.contains('\u{202E}'));
    // The task page's button carries the commit it showed.
    assert!(
        html.contains(&format!(r#"href="/tasks/{a}/approve?sha={first}""#)),
        "{html}"
    );
    // A confirmation reached from a page that showed another commit refuses.
    let moved = app
        .page(session, &format!("/tasks/{a}/approve?sha={base}"))
        .await;
    moved.html(StatusCode::CONFLICT);
    assert!(
        moved.body.contains("look at the task again"),
        "{}",
        moved.body
    );
    // The confirmation records the commit the person saw.
    let confirm = app
        .page(session, &format!("/tasks/{a}/approve?sha={first}"))
        .await;
    confirm.html(StatusCode::OK);
    assert_eq!(confirm.hidden("sha").as_deref(), Some(first));
    assert!(confirm.body.contains(&first[..12]));
    // A stale page (or body) moves nothing.
    let stale = app
        .post_json(
            &format!("/api/v1/tasks/{a}/approve"),
            &format!(r#"{{"sha": "{base}"}}"#),
        )
        .await;
    stale.assert_error(StatusCode::CONFLICT, "conflict");
    let stale = app
        .send(session_form(
            session,
            &format!("/tasks/{a}/approve"),
            &format!("sha={base}&csrf={}", session.csrf),
        ))
        .await;
    stale.html(StatusCode::CONFLICT);
    assert_eq!(state(app, a).await, "ready");
    let pressed = app
        .send(session_form(
            session,
            &format!("/tasks/{a}/approve"),
            &format!("sha={first}&csrf={}", session.csrf),
        ))
        .await;
    pressed.assert_redirect(&format!("/tasks/{a}?outcome=staged"));
    assert_eq!(state(app, a).await, "staged");
    // Approving again is refused: it is staged.
    let again = app
        .send(bare_post(&format!("/api/v1/tasks/{a}/approve")))
        .await;
    again.assert_error(StatusCode::CONFLICT, "conflict");
}

async fn release_a_by_form(
    app: &App,
    session: &Session,
    repo: &TempRepo,
    a: TaskId,
    base: &str,
) -> String {
    // Release by the form: it ships what is staged.
    let releases = app.page(session, "/releases").await;
    assert!(
        releases
            .html(StatusCode::OK)
            .contains(r#"data-testid="release""#)
    );
    let confirm = app.page(session, "/release").await;
    confirm.html(StatusCode::OK);
    let staging = repo.git(&["rev-parse", "staging"]);
    assert_eq!(confirm.hidden("staging").as_deref(), Some(staging.as_str()));
    assert!(
        confirm
            .body
            .contains(&format!("#{a} Greet &lt;everyone&gt;"))
    );
    let stale = app
        .send(session_form(
            session,
            "/release",
            &format!("staging={base}&note=&csrf={}", session.csrf),
        ))
        .await;
    stale.html(StatusCode::CONFLICT);
    assert_ne!(repo.git(&["rev-parse", "production"]), staging);
    let pressed = app
        .send(session_form(
            session,
            "/release",
            &format!("staging={staging}&note=first&csrf={}", session.csrf),
        ))
        .await;
    pressed.assert_redirect("/releases?outcome=released");
    assert_eq!(repo.git(&["rev-parse", "production"]), staging);
    assert_eq!(repo.git(&["rev-parse", "release-1^{commit}"]), staging);
    assert_eq!(state(app, a).await, "released");
    staging
}

async fn roll_back_and_forth(
    app: &App,
    session: &Session,
    repo: &TempRepo,
    base: &str,
    release_1: &str,
    release_2: &str,
) {
    // The releases page offers a rollback to release-1, not to the current one.
    let page = app.page(session, "/releases").await;
    let html = page.html(StatusCode::OK);
    assert!(html.contains(r#"href="/rollback?to=1""#), "{html}");
    assert!(!html.contains(r#"href="/rollback?to=2""#));
    let confirm = app.page(session, "/rollback?to=1").await;
    confirm.html(StatusCode::OK);
    assert_eq!(confirm.hidden("to").as_deref(), Some("1"));
    assert_eq!(confirm.hidden("production").as_deref(), Some(release_2));
    let stale = app
        .send(session_form(
            session,
            "/rollback",
            &format!("to=1&production={base}&csrf={}", session.csrf),
        ))
        .await;
    stale.html(StatusCode::CONFLICT);
    assert_eq!(repo.git(&["rev-parse", "production"]), release_2);
    let pressed = app
        .send(session_form(
            session,
            "/rollback",
            &format!(
                "to=1&production={release_2}&note=oops&csrf={}",
                session.csrf
            ),
        ))
        .await;
    pressed.assert_redirect("/releases?outcome=rolled_back");
    assert_eq!(repo.git(&["rev-parse", "production"]), release_1);

    // And forward again by the API.
    let rollback = app
        .post_json("/api/v1/rollbacks", r#"{"to": 2, "note": "fixed"}"#)
        .await
        .ok_json();
    assert_eq!(rollback["kind"], "rollback");
    assert_eq!(rollback["number"], 2);
    assert_eq!(rollback["sha"], release_2);
    assert_eq!(rollback["tasks"], serde_json::json!([]));
    assert_eq!(repo.git(&["rev-parse", "production"]), release_2);
    let again = app.post_json("/api/v1/rollbacks", r#"{"to": 2}"#).await;
    let message = again.assert_error(StatusCode::CONFLICT, "conflict");
    assert!(message.contains("already"), "{message}");
}
