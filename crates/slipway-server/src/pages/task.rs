//! A task: its plan, every review pass's findings by severity, the change
//! code review approved (the diff itself, from git), the test output, the
//! gates, the events, the runs and what they cost; and the approve and reject
//! buttons, each behind a confirmation page.

use axum::Extension;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use serde::Deserialize;
use slipway_pipeline::{Gate, ReviewedChange};
use slipway_types::{Severity, StageRecord, TaskId, TaskState};

use crate::AppState;
use crate::api::gates::{run_approve, run_reject, run_retry};
use crate::api::tasks::{TaskDetail, detail, review_passes};
use crate::api::{form as parse_form, query, task_id};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::pages::{
    PageResult, badge, count, csrf_field, layout, money, short, shown, task_link, when,
};

/// The most of a diff shown.
const DIFF_BYTES: usize = 400_000;

#[derive(Debug, Deserialize)]
pub(crate) struct Outcome {
    outcome: Option<String>,
}

/// What a gate did, said after its redirect; only these fixed texts.
fn outcome_text(outcome: &str) -> Option<&'static str> {
    Some(match outcome {
        "staged" => "Approved: staging moved to the merge, and its tests passed.",
        "sent_back" => {
            "The merge conflicted or its tests failed: the task went back to coding (see its gates)."
        }
        "rejected" => "Rejected: the task went back to coding with your reason as a high finding.",
        "retried" => "Retried: the task is back in its stage; the scheduler picks it up.",
        _ => return None,
    })
}

async fn reviewed(
    state: &AppState,
    records: &[StageRecord],
) -> Result<Option<ReviewedChange>, ApiError> {
    match &state.pipeline {
        Some(pipeline) => Ok(pipeline.reviewed_change(records, DIFF_BYTES).await?),
        None => Ok(None),
    }
}

/// The reviewed change for the task page, which shows the rest when git
/// cannot give it (the error goes to the log).
async fn reviewed_or_logged(
    state: &AppState,
    id: TaskId,
    records: &[StageRecord],
) -> Option<ReviewedChange> {
    match reviewed(state, records).await {
        Ok(change) => change,
        Err(error) => {
            crate::error::log(&format!(
                "task {id}: the reviewed diff is unavailable: {}",
                error.message
            ));
            None
        }
    }
}

fn latest<'a>(stages: &'a [StageRecord], stage: &str) -> Option<&'a StageRecord> {
    stages.iter().rev().find(|s| s.result.stage == stage)
}

pub(crate) async fn page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    q: Result<Query<Outcome>, QueryRejection>,
) -> PageResult {
    let id = task_id(&id)?;
    let outcome = query(q)?.outcome;
    let d = detail(&state, id).await?;
    let change = reviewed_or_logged(&state, id, &d.stages).await;
    let title = format!("#{} {}", id.0, shown(&d.task.title));
    let body = html! {
        h1 data-testid="task-title" { "#" (id.0) " " (shown(&d.task.title)) " " (badge(d.task.state)) }
        @if let Some(text) = outcome.as_deref().and_then(outcome_text) {
            p.notice role="status" data-testid="outcome" { (text) }
        }
        (facts(&d))
        @if d.task.state == TaskState::Ready {
            p.buttons {
                // The commit shown here goes along: the confirmation page
                // refuses when code review judged another since.
                a.button.primary href={
                    "/tasks/" (id.0) "/approve"
                    @if let Some(change) = &change { "?sha=" (change.sha) }
                } data-testid="approve" { "Approve…" }
                a.button href={"/tasks/" (id.0) "/reject"} data-testid="reject" { "Reject…" }
            }
        }
        @if matches!(d.task.state, TaskState::NeedsHuman | TaskState::Failed) {
            p.buttons {
                a.button.primary href={"/tasks/" (id.0) "/retry"} data-testid="retry" { "Retry…" }
            }
        }
        @if !d.task.body.is_empty() {
            section { h2 { "Spec" } pre.text { (shown(&d.task.body)) } }
        }
        @if let Some(plan) = latest(&d.stages, "planning") {
            section data-testid="plan" {
                h2 { "Plan" }
                p.hint { "Written by the planner agent: untrusted text, shown as plain text." }
                pre.text { (shown(&plan.result.body)) }
            }
        }
        (reviews(&d))
        (diff(&d, change.as_ref()))
        @if let Some(test) = latest(&d.stages, "testing") {
            section data-testid="tests" {
                h2 { "Tests" }
                p class=(if test.result.passed { "ok" } else { "bad" }) { (shown(&test.result.summary)) }
                @if !test.result.body.is_empty() {
                    p.hint {
                        @if test.result.passed { "The end of the output." }
                        @else { "What the debugger was given: the failing part of the output, trimmed." }
                    }
                    pre.text { (shown(&test.result.body)) }
                }
            }
        }
        (gates(&d))
        (runs(&d))
        (events(&d))
    };
    Ok(layout(&state, &caller, &title, &body))
}

fn facts(d: &TaskDetail) -> Markup {
    html! {
        dl.facts {
            dt { "lane" } dd { (d.task.lane) }
            @if !d.task.depends_on.is_empty() {
                dt { "depends on" }
                dd { @for dep in &d.task.depends_on { a href=(task_link(*dep)) { "#" (dep.0) } " " } }
            }
            @if !d.seams.is_empty() {
                dt { "seams" } dd { (d.seams.join(", ")) }
            }
            dt { "updated" } dd { (when(d.task.updated_at)) }
            dt { "cost" }
            dd data-testid="task-cost" {
                (money(d.cost.cost_micros)) " over " (d.cost.runs) " runs, "
                (count(d.cost.tokens.total())) " tokens"
                @if d.cost.unknown_cost_runs > 0 { " (" (d.cost.unknown_cost_runs) " unpriced)" }
            }
        }
    }
}

fn reviews(d: &TaskDetail) -> Markup {
    let passes = review_passes(&d.stages);
    html! {
        section data-testid="reviews" {
            h2 { "Reviews" }
            @if passes.is_empty() { p.empty { "No review yet." } }
            @for (n, pass) in passes.iter().enumerate() {
                div.pass {
                    h3 {
                        (pass.stage) " pass " (n + 1) " — "
                        (if pass.passed { "passed" } else { "sent back" })
                        " · " (when(pass.at))
                    }
                    @if pass.findings.is_empty() { p.empty { "No findings." } }
                    @for severity in Severity::ALL {
                        @let of: Vec<_> = pass.findings.iter().filter(|f| f.severity == severity).collect();
                        @if !of.is_empty() {
                            h4 class={"sev sev-" (severity.as_str())} { (severity.as_str()) " (" (of.len()) ")" }
                            ul.findings {
                                @for f in of {
                                    li class={"finding sev-" (severity.as_str())} data-testid="finding" {
                                        strong { (shown(&f.title)) }
                                        @if !f.location.is_empty() { " " code { (shown(&f.location)) } }
                                        @if !f.detail.is_empty() { pre.text { (shown(&f.detail)) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn diff(d: &TaskDetail, change: Option<&ReviewedChange>) -> Markup {
    let report = latest(&d.stages, "code_review");
    html! {
        @if let Some(change) = change {
            section data-testid="diff" {
                h2 { "The change code review approved" }
                p.hint { "git diff " code { (short(&change.base)) } ".." code { (short(&change.sha)) } " — what approving merges." }
                pre.diff { (shown(&change.diff)) }
            }
        }
        @if let Some(report) = report.filter(|r| !r.result.body.trim().is_empty()) {
            section {
                h2 { "Code reviewer's report" }
                p.hint { "Written by the reviewer agent: untrusted text." }
                pre.text { (shown(&report.result.body)) }
            }
        }
    }
}

fn gates(d: &TaskDetail) -> Markup {
    html! {
        section data-testid="gates" {
            h2 { "Stages and gates" }
            table {
                thead { tr { th { "at" } th { "stage" } th { "result" } th { "summary" } th { "commit" } th { "run" } } }
                tbody {
                    @for s in &d.stages {
                        tr {
                            td { (when(s.at)) }
                            td { (s.result.stage) }
                            td class=(if s.result.passed { "ok" } else { "bad" }) { (if s.result.passed { "passed" } else { "failed" }) }
                            td { (shown(&s.result.summary)) }
                            td { @if let Some(sha) = &s.result.sha { code { (short(sha)) } } }
                            td { @if let Some(t) = &s.result.trace_id { a href={"/runs/" (t.as_str())} { "trace" } } }
                        }
                    }
                }
            }
        }
    }
}

fn runs(d: &TaskDetail) -> Markup {
    html! {
        section data-testid="runs" {
            h2 { "Agent runs" }
            @if d.runs.is_empty() { p.empty { "No runs." } }
            @else {
                table {
                    thead { tr { th { "started" } th { "role" } th { "model" } th { "status" } th.num { "tokens" } th.num { "cost" } } }
                    tbody {
                        @for r in &d.runs {
                            tr {
                                td { a href={"/runs/" (r.id.as_str())} { (when(r.started_at)) } }
                                td { (r.role) }
                                td { (r.model) }
                                td { (r.status.as_str()) }
                                td.num { (count(r.tokens.total())) }
                                td.num { (money(r.cost_micros)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn events(d: &TaskDetail) -> Markup {
    html! {
        section data-testid="events" {
            h2 { "Events" }
            table {
                thead { tr { th { "at" } th { "from" } th { "to" } th { "by" } th { "why" } } }
                tbody {
                    @for e in &d.events {
                        tr {
                            td { (when(e.at)) }
                            td { @if let Some(f) = e.from { (f.as_str()) } }
                            td { (e.to.as_str()) }
                            td { (e.actor) }
                            td { (shown(&e.reason)) }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SeenQuery {
    sha: Option<String>,
}

pub(crate) async fn confirm_approve(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    q: Result<Query<SeenQuery>, QueryRejection>,
) -> PageResult {
    let id = task_id(&id)?;
    let seen = query(q)?.sha;
    let task = Gate::Approve.task(&*state.store, id).await?;
    let records = state.store.stage_results(id).await?;
    let change = reviewed(&state, &records)
        .await?
        .ok_or_else(|| ApiError::conflict(format!("task {id} has no approved code review")))?;
    if seen.as_deref().is_some_and(|seen| seen != change.sha) {
        return Err(ApiError::conflict(format!(
            "code review judged another commit of task {id} ({}) since the page you came from: look at the task again",
            short(&change.sha)
        ))
        .into());
    }
    let body = html! {
        h1 { "Approve task #" (id.0) "?" }
        p { (shown(&task.title)) }
        p {
            "This merges the reviewed commit " code data-testid="sha" { (short(&change.sha)) }
            " into staging, runs the tests on the merge in the sandbox, and moves staging when they pass. "
            "It can take as long as the test suite does."
        }
        form method="post" action={"/tasks/" (id.0) "/approve"} {
            (csrf_field(&caller))
            input type="hidden" name="sha" value=(change.sha);
            button.primary type="submit" data-testid="confirm" { "Approve and merge into staging" }
            " " a href=(task_link(id)) { "Cancel" }
        }
    };
    Ok(layout(&state, &caller, "Approve", &body))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ApproveForm {
    sha: String,
}

pub(crate) async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Form<ApproveForm>, FormRejection>,
) -> PageResult {
    let form = parse_form(form)?;
    let id = task_id(&id)?;
    let done = run_approve(&state, id, Some(form.sha)).await?;
    Ok(Redirect::to(&format!("/tasks/{}?outcome={}", id.0, done.outcome)).into_response())
}

pub(crate) async fn confirm_reject(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> PageResult {
    let id = task_id(&id)?;
    let task = Gate::Reject.task(&*state.store, id).await?;
    let body = html! {
        h1 { "Reject task #" (id.0) "?" }
        p { (shown(&task.title)) " " (badge(task.state)) }
        form method="post" action={"/tasks/" (id.0) "/reject"} {
            (csrf_field(&caller))
            label for="why" { "Why (the coder gets it as a high finding)" }
            textarea #why name="why" required rows="4" maxlength="4000" {}
            button type="submit" data-testid="confirm" { "Send it back to coding" }
            " " a href=(task_link(id)) { "Cancel" }
        }
    };
    Ok(layout(&state, &caller, "Reject", &body))
}

#[derive(Debug, Deserialize)]
pub(crate) struct RejectForm {
    why: String,
}

pub(crate) async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Form<RejectForm>, FormRejection>,
) -> PageResult {
    let form = parse_form(form)?;
    let id = task_id(&id)?;
    run_reject(&state, id, &form.why).await?;
    Ok(Redirect::to(&format!("/tasks/{}?outcome=rejected", id.0)).into_response())
}

pub(crate) async fn confirm_retry(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> PageResult {
    let id = task_id(&id)?;
    let task = Gate::Retry.task(&*state.store, id).await?;
    let events = state.store.events(Some(id)).await?;
    let why = events.iter().rev().find(|e| e.to == task.state);
    let body = html! {
        h1 { "Retry task #" (id.0) "?" }
        p { (shown(&task.title)) " " (badge(task.state)) }
        @if let Some(why) = why {
            p { "It stopped in " code { (why.from.map_or("?", TaskState::as_str)) } ": " (shown(&why.reason)) }
        }
        p { "It resumes in the stage that stopped, with the same limits; the scheduler (`slipway up` or `slipway run`) picks it up." }
        form method="post" action={"/tasks/" (id.0) "/retry"} {
            (csrf_field(&caller))
            button.primary type="submit" data-testid="confirm" { "Retry" }
            " " a href=(task_link(id)) { "Cancel" }
        }
    };
    Ok(layout(&state, &caller, "Retry", &body))
}

pub(crate) async fn retry(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let id = task_id(&id)?;
    run_retry(&state, id, None).await?;
    Ok(Redirect::to(&format!("/tasks/{}?outcome=retried", id.0)).into_response())
}
