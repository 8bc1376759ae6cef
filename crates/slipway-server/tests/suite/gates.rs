//! The human gates: without a pipeline every gate answers 503 and nothing
//! moves; with a real pipeline over a temporary git repository, an unknown
//! task is 404, a task in the wrong state 409, and a reject sends a ready
//! task back to coding. `promotion.rs` takes tasks on to production.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use slipway_pipeline::{AgentJob, Agents, Parts, Pipeline, PipelineError, Progress};
use slipway_runtime::RunReport;
use slipway_server::WebConfig;
use slipway_store::Store;
use slipway_test_support::TempRepo;
use slipway_types::{StageResult, TaskId, TaskState};

use crate::suite::seed::{change, seed, task, walk};
use crate::suite::support::{App, TOKEN, TestDb, bearer, on_both_backends, session_form};

on_both_backends!(
    without_a_pipeline_the_gates_are_unavailable,
    gates_refuse_unknown_tasks_and_wrong_states,
    reject_sends_a_ready_task_back_to_coding,
    retry_resumes_a_stopped_task_from_its_page,
);

async fn without_a_pipeline_the_gates_are_unavailable(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let id = s.ready.0;
    let approve = format!("/api/v1/tasks/{id}/approve");
    let mut replies = vec![app.send(bare_post(&approve)).await];
    for (path, body) in [
        (approve.clone(), "{}"),
        (approve.clone(), r#"{"sha": "abc"}"#),
        (format!("/api/v1/tasks/{id}/reject"), r#"{"why": "no"}"#),
        (format!("/api/v1/tasks/{id}/retry"), "{}"),
        ("/api/v1/releases".to_owned(), r#"{"note": "go"}"#),
        ("/api/v1/releases".to_owned(), "{}"),
        ("/api/v1/rollbacks".to_owned(), r#"{"to": 1}"#),
    ] {
        replies.push(app.post_json(&path, body).await);
    }
    for reply in replies {
        let message = reply.assert_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        assert!(message.contains("without the human gates"), "{message}");
    }
    let task = app.get(&format!("/api/v1/tasks/{id}")).await.ok_json();
    assert_eq!(task["task"]["state"], "ready");
    assert_eq!(task["stages"].as_array().unwrap().len(), 4);
    assert_eq!(
        app.get("/api/v1/releases")
            .await
            .ok_json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// A POST with the token and no body, as `curl -X POST` sends it.
pub(crate) fn bare_post(path: &str) -> Request<Body> {
    bearer(Method::POST, path).body(Body::empty()).unwrap()
}

struct NoAgents;

#[async_trait::async_trait]
impl Agents for NoAgents {
    async fn run(&self, _job: &AgentJob) -> Result<RunReport, PipelineError> {
        Err(PipelineError::Other("no agent runs at a human gate".into()))
    }
}

struct Quiet;

impl Progress for Quiet {
    fn note(&self, _task: Option<TaskId>, _text: &str) {}
}

/// A project repository with one commit, and the app with its gates.
pub(crate) async fn with_gates(db: &TestDb) -> (App, TempRepo) {
    let repo = TempRepo::with_files(&[("README.md", "hello\n")]);
    // Leave `main` checked out: the gates refuse to move a checked-out branch.
    let tests = "echo 'test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s'";
    let config = slipway_config::parse(
        &slipway_config::template("demo", Some(tests)),
        &repo.join("slipway.toml"),
    )
    .unwrap();
    let store = db.open().await;
    let pipeline = Pipeline::new(Parts {
        store: Arc::clone(&store),
        repo: slipway_git::Repo::open(repo.path()).await.unwrap(),
        config: Arc::new(config),
        ownership: Arc::new(slipway_policy::Ownership::new(&[], &[]).unwrap()),
        sandbox: Arc::new(slipway_sandbox::Sandbox::unsandboxed()),
        agents: Arc::new(NoAgents),
        progress: Arc::new(Quiet),
        actor: "web".into(),
    });
    let app = App::over(
        store,
        Some(Arc::new(pipeline)),
        &WebConfig::new(TOKEN.to_owned()),
    );
    (app, repo)
}

/// A task walked to `ready`, its workspace based on `base` and `reviewed`
/// approved by code review.
pub(crate) async fn ready_task(
    store: &dyn Store,
    title: &str,
    base: &str,
    reviewed: &str,
) -> TaskId {
    use TaskState::{CodeReview, Coding, PlanReview, Planning, Queued, Testing};
    let id = task(store, title, "main", Vec::new()).await;
    walk(store, id, &[Queued, Planning, PlanReview, Coding]).await;
    let mut workspace = StageResult::new(id, "workspace", true, "workspace made");
    workspace.sha = Some(base.into());
    store.finish_stage(&workspace, None).await.unwrap();
    walk(store, id, &[Coding, Testing, CodeReview]).await;
    let mut review = StageResult::new(id, "code_review", true, "fine");
    review.sha = Some(reviewed.into());
    store
        .finish_stage(&review, Some(&change(CodeReview, TaskState::Ready, 9)))
        .await
        .unwrap();
    id
}

async fn gates_refuse_unknown_tasks_and_wrong_states(db: &TestDb) {
    let (app, _repo) = with_gates(db).await;
    let queued = task(app.store.as_ref(), "Not yet", "main", Vec::new()).await;
    let unknown = app.post_json("/api/v1/tasks/999/approve", "{}").await;
    unknown.assert_error(StatusCode::NOT_FOUND, "not_found");
    let unknown = app
        .post_json("/api/v1/tasks/999/reject", r#"{"why": "no"}"#)
        .await;
    unknown.assert_error(StatusCode::NOT_FOUND, "not_found");
    let early = app
        .post_json(&format!("/api/v1/tasks/{queued}/approve"), "{}")
        .await;
    let message = early.assert_error(StatusCode::CONFLICT, "conflict");
    assert!(message.contains("ready"), "{message}");
    let early = app
        .post_json(
            &format!("/api/v1/tasks/{queued}/reject"),
            r#"{"why": "no"}"#,
        )
        .await;
    early.assert_error(StatusCode::CONFLICT, "conflict");
    let nothing = app.post_json("/api/v1/releases", "{}").await;
    let message = nothing.assert_error(StatusCode::CONFLICT, "conflict");
    assert!(message.contains("nothing to release"), "{message}");
    let no_such = app.post_json("/api/v1/rollbacks", r#"{"to": 7}"#).await;
    no_such.assert_error(StatusCode::CONFLICT, "conflict");
    let task = app.get(&format!("/api/v1/tasks/{queued}")).await.ok_json();
    assert_eq!(task["task"]["state"], "queued");
    assert_eq!(task["events"].as_array().unwrap().len(), 1);
}

async fn reject_sends_a_ready_task_back_to_coding(db: &TestDb) {
    let (app, repo) = with_gates(db).await;
    let head = repo.git(&["rev-parse", "HEAD"]);
    let id = ready_task(app.store.as_ref(), "Greet", &head, &head).await;
    let reply = app
        .post_json(
            &format!("/api/v1/tasks/{id}/reject"),
            r#"{"why": "<b>too clever</b>"}"#,
        )
        .await;
    let task = reply.ok_json();
    assert_eq!(task["id"], id.0);
    assert_eq!(task["state"], "coding");
    let passes = app
        .get(&format!("/api/v1/tasks/{id}/findings"))
        .await
        .ok_json();
    let last = passes.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["stage"], "reject");
    assert_eq!(last["findings"][0]["severity"], "high");
    assert_eq!(last["findings"][0]["title"], "<b>too clever</b>");
    let session = app.login().await;
    let page = app.page(&session, &format!("/tasks/{id}")).await;
    let html = page.html(StatusCode::OK);
    assert!(html.contains("&lt;b&gt;too clever&lt;/b&gt;") && !html.contains("<b>too clever"));
    // Again: it is no longer ready.
    let again = app
        .send(session_form(
            &session,
            &format!("/tasks/{id}/reject"),
            &format!("why=again&csrf={}", session.csrf),
        ))
        .await;
    again.html(StatusCode::CONFLICT);
    // Nor does its confirmation page offer the button.
    let confirm = app.page(&session, &format!("/tasks/{id}/reject")).await;
    let html = confirm.html(StatusCode::CONFLICT);
    assert!(html.contains("can be rejected"), "{html}");
}

async fn retry_resumes_a_stopped_task_from_its_page(db: &TestDb) {
    let (app, _repo) = with_gates(db).await;
    let store = app.store.as_ref();
    let id = task(store, "Stuck", "api", vec![]).await;
    walk(
        store,
        id,
        &[
            TaskState::Queued,
            TaskState::Planning,
            TaskState::PlanReview,
            TaskState::Coding,
            TaskState::Testing,
            TaskState::NeedsHuman,
        ],
    )
    .await;
    let session = app.login().await;
    let page = app.page(&session, &format!("/tasks/{id}")).await;
    let html = page.html(StatusCode::OK);
    assert!(
        html.contains(&format!(r#"href="/tasks/{id}/retry" data-testid="retry""#)),
        "{html}"
    );
    let confirm = app.page(&session, &format!("/tasks/{id}/retry")).await;
    let html = confirm.html(StatusCode::OK);
    assert!(
        html.contains("It stopped in") && html.contains("testing"),
        "{html}"
    );
    let done = app
        .send(session_form(
            &session,
            &format!("/tasks/{id}/retry"),
            &format!("csrf={}", session.csrf),
        ))
        .await;
    done.assert_redirect(&format!("/tasks/{id}?outcome=retried"));
    assert_eq!(store.task(id).await.unwrap().state, TaskState::Testing);
    // Not stopped any more: the confirmation refuses.
    let again = app.page(&session, &format!("/tasks/{id}/retry")).await;
    again.html(StatusCode::CONFLICT);
}
