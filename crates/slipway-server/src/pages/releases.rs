//! Releases: the list of releases and rollbacks, and the Release and Roll
//! back buttons, each behind a confirmation page that records what the person
//! saw (staging's or production's commit); a button pressed on a stale page
//! moves nothing.

use axum::Extension;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect};
use maud::html;
use serde::Deserialize;
use slipway_store::TaskFilter;
use slipway_types::{ReleaseKind, TaskState};

use crate::AppState;
use crate::api::gates::{ReleaseBody, RollbackBody, run_release, run_rollback};
use crate::api::{form as parse_form, query};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::pages::{PageResult, csrf_field, layout, short, shown, task_link, when};

#[derive(Debug, Deserialize)]
pub(crate) struct Outcome {
    outcome: Option<String>,
}

fn outcome_text(outcome: &str) -> Option<&'static str> {
    Some(match outcome {
        "released" => "Released: production is at staging's commit, tagged.",
        "rolled_back" => "Rolled back: production is at the release you chose.",
        _ => return None,
    })
}

/// Returns staging's and production's heads, when the gates are here.
async fn heads(state: &AppState) -> Result<Option<(Option<String>, Option<String>)>, ApiError> {
    let Some(pipeline) = &state.pipeline else {
        return Ok(None);
    };
    let repo = pipeline.repo();
    let staging = repo
        .resolve("refs/heads/staging")
        .await
        .map_err(ApiError::internal)?;
    let production = repo
        .resolve("refs/heads/production")
        .await
        .map_err(ApiError::internal)?;
    Ok(Some((
        staging.map(|s| s.to_string()),
        production.map(|s| s.to_string()),
    )))
}

pub(crate) async fn page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<Outcome>, QueryRejection>,
) -> PageResult {
    let outcome = query(q)?.outcome;
    let releases = state.store.releases().await?;
    let heads = heads(&state).await?;
    let current = heads.as_ref().and_then(|(_, p)| p.clone());
    let body = html! {
        h1 { "Releases" }
        @if let Some(text) = outcome.as_deref().and_then(outcome_text) {
            p.notice role="status" data-testid="outcome" { (text) }
        }
        @if let Some((staging, production)) = &heads {
            dl.facts {
                dt { "staging" } dd data-testid="staging" { @if let Some(s) = staging { code { (short(s)) } } @else { "not made yet" } }
                dt { "production" } dd data-testid="production" { @if let Some(p) = production { code { (short(p)) } } @else { "not made yet" } }
            }
            @if staging.is_some() && staging != production {
                p.buttons { a.button.primary href="/release" data-testid="release" { "Release…" } }
            }
        }
        @if releases.is_empty() { p.empty { "No releases yet." } }
        @else {
            table data-testid="releases" {
                thead { tr { th { "at" } th { "what" } th { "commit" } th { "tasks" } th { "by" } th { "note" } th {} } }
                tbody {
                    @for r in &releases {
                        tr {
                            td { (when(r.at)) }
                            td { (r.release.kind.as_str()) " " (r.release.tag) }
                            td { code { (short(&r.release.sha)) } }
                            td { @for t in &r.release.tasks { a href=(task_link(*t)) { "#" (t.0) } " " } }
                            td { (r.release.actor) }
                            td { (shown(&r.release.note)) }
                            td {
                                @if r.release.kind == ReleaseKind::Release && heads.is_some() && current.as_deref() != Some(r.release.sha.as_str()) {
                                    a.button href={"/rollback?to=" (r.release.number)} data-testid="rollback" { "Roll back to " (r.release.tag) "…" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout(&state, &caller, "Releases", &body))
}

pub(crate) async fn confirm_release(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> PageResult {
    let Some((Some(staging), production)) = heads(&state).await? else {
        return Err(ApiError::conflict("there is no staging branch to release yet").into());
    };
    let staged = state
        .store
        .tasks(&TaskFilter {
            state: Some(TaskState::Staged),
            lane: None,
        })
        .await?;
    let body = html! {
        h1 { "Release staging to production?" }
        p {
            "Production moves from " code { (production.as_deref().map_or("nothing", short)) }
            " to staging's " code { (short(&staging)) } ", tagged with the next release number."
        }
        @if staged.is_empty() { p { "No task is staged." } }
        @else {
            p { "It ships:" }
            ul { @for t in &staged { li { a href=(task_link(t.id)) { "#" (t.id.0) " " (shown(&t.title)) } } } }
        }
        form method="post" action="/release" {
            (csrf_field(&caller))
            input type="hidden" name="staging" value=(staging);
            label for="note" { "Note (optional)" }
            input #note type="text" name="note" maxlength="4000";
            button.primary type="submit" data-testid="confirm" { "Release" }
            " " a href="/releases" { "Cancel" }
        }
    };
    Ok(layout(&state, &caller, "Release", &body))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReleaseForm {
    staging: String,
    #[serde(default)]
    note: String,
}

pub(crate) async fn release(
    State(state): State<AppState>,
    form: Result<Form<ReleaseForm>, FormRejection>,
) -> PageResult {
    let form = parse_form(form)?;
    run_release(
        &state,
        ReleaseBody {
            note: form.note,
            staging: Some(form.staging),
        },
    )
    .await?;
    Ok(Redirect::to("/releases?outcome=released").into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct RollbackQuery {
    to: i64,
}

pub(crate) async fn confirm_rollback(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<RollbackQuery>, QueryRejection>,
) -> PageResult {
    let to = query(q)?.to;
    let releases = state.store.releases().await?;
    let target = releases
        .iter()
        .find(|r| r.release.kind == ReleaseKind::Release && r.release.number == to)
        .ok_or_else(|| ApiError::not_found(format!("there is no release-{to}")))?;
    let Some((_, Some(production))) = heads(&state).await? else {
        return Err(ApiError::conflict("there is no production branch to roll back").into());
    };
    let body = html! {
        h1 { "Roll production back to " (target.release.tag) "?" }
        p {
            "Production moves from " code { (short(&production)) } " back to "
            code { (short(&target.release.sha)) } " (" (target.release.tag) ", " (when(target.at)) "). "
            "Staging and the tasks stay as they are."
        }
        form method="post" action="/rollback" {
            (csrf_field(&caller))
            input type="hidden" name="to" value=(to);
            input type="hidden" name="production" value=(production);
            label for="note" { "Note (optional)" }
            input #note type="text" name="note" maxlength="4000";
            button.primary type="submit" data-testid="confirm" { "Roll back" }
            " " a href="/releases" { "Cancel" }
        }
    };
    Ok(layout(&state, &caller, "Roll back", &body))
}

#[derive(Debug, Deserialize)]
pub(crate) struct RollbackForm {
    to: i64,
    production: String,
    #[serde(default)]
    note: String,
}

pub(crate) async fn rollback(
    State(state): State<AppState>,
    form: Result<Form<RollbackForm>, FormRejection>,
) -> PageResult {
    let form = parse_form(form)?;
    run_rollback(
        &state,
        RollbackBody {
            to: form.to,
            note: form.note,
            production: Some(form.production),
        },
    )
    .await?;
    Ok(Redirect::to("/releases?outcome=rolled_back").into_response())
}
