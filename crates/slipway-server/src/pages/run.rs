//! Runs: the list, and one run as a waterfall of its spans (durations,
//! tokens, cost; the steps that burned the most tokens marked). `?span=ID`
//! opens a span: its attributes, and the prompt, response, tool arguments and
//! results it carried.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;
use slipway_types::{ContentDirection, Span, SpanId, Trace, TraceId, operations};

use crate::AppState;
use crate::api::runs::span_contents;
use crate::api::{parse_id, query};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::pages::{PageResult, count, duration_us, layout, money, shown, task_link, when};

/// What a span's body is cut to on the page.
const BODY_BYTES: usize = 256 * 1024;
/// How many spans are marked as the heaviest.
const HOT: usize = 3;

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> PageResult {
    let runs = state.store.traces(100).await?;
    let body = html! {
        h1 { "Runs" }
        (compare_form(&runs, None, None))
        @if runs.is_empty() { p.empty { "No agent runs yet." } }
        @else { (run_table(&runs)) }
    };
    Ok(layout(&state, &caller, "Runs", &body))
}

/// A table of runs, each linked to its waterfall.
pub(crate) fn run_table(runs: &[Trace]) -> Markup {
    html! {
        table data-testid="runs" {
            thead { tr { th { "started" } th { "task" } th { "role" } th { "model" } th { "status" } th.num { "duration" } th.num { "tokens" } th.num { "cost" } } }
            tbody {
                @for r in runs {
                    tr {
                        td { a href={"/runs/" (r.id.as_str())} { (when(r.started_at)) } }
                        td { @if let Some(t) = r.task_id { a href=(task_link(t)) { "#" (t.0) } } }
                        td { (r.role) }
                        td { (r.model) }
                        td { (r.status.as_str()) }
                        td.num { @if let Some(end) = r.ended_at { (duration_us(span_us(r.started_at, end))) } }
                        td.num { (count(r.tokens.total())) }
                        td.num { (money(r.cost_micros)) }
                    }
                }
            }
        }
    }
}

/// Two pickers of recent runs and a Compare button.
pub(crate) fn compare_form(runs: &[Trace], a: Option<&TraceId>, b: Option<&TraceId>) -> Markup {
    html! {
        @if runs.len() > 1 {
            form.compare method="get" action="/compare" {
                @for (name, chosen) in [("a", a), ("b", b)] {
                    label { (name) " " select name=(name) {
                        @for r in runs {
                            option value=(r.id.as_str()) selected[chosen == Some(&r.id)] {
                                (when(r.started_at)) " · " (r.role) " · " (r.model)
                                @if let Some(t) = r.task_id { " · #" (t.0) }
                            }
                        }
                    } }
                }
                button type="submit" { "Compare" }
            }
        }
    }
}

pub(crate) fn span_us(start: jiff::Timestamp, end: jiff::Timestamp) -> i64 {
    end.as_microsecond() - start.as_microsecond()
}

#[derive(Debug, Deserialize)]
pub(crate) struct SpanQuery {
    /// Parsed with `SpanId`'s `FromStr`: its `Deserialize` does not check the form.
    span: Option<String>,
}

/// Returns each span's depth below the run's root.
fn depths(spans: &[Span]) -> HashMap<&SpanId, usize> {
    let parent: HashMap<&SpanId, Option<&SpanId>> = spans
        .iter()
        .map(|s| (&s.id, s.parent_id.as_ref()))
        .collect();
    spans
        .iter()
        .map(|s| {
            let mut depth = 0;
            let mut at = s.parent_id.as_ref();
            while let Some(p) = at {
                depth += 1;
                if depth > 32 {
                    break;
                }
                at = parent.get(p).copied().flatten();
            }
            (&s.id, depth)
        })
        .collect()
}

/// Returns the ids of the `HOT` steps (not whole agents) with the most tokens.
fn hottest(spans: &[Span]) -> Vec<&SpanId> {
    let mut steps: Vec<&Span> = spans
        .iter()
        .filter(|s| s.operation != operations::INVOKE_AGENT && s.tokens.total() > 0)
        .collect();
    steps.sort_by_key(|s| std::cmp::Reverse(s.tokens.total()));
    steps.into_iter().take(HOT).map(|s| &s.id).collect()
}

pub(crate) async fn page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    q: Result<Query<SpanQuery>, QueryRejection>,
) -> PageResult {
    let id: TraceId = parse_id("trace id", &id)?;
    let open: Option<SpanId> = query(q)?
        .span
        .map(|s| parse_id("span id", &s))
        .transpose()?;
    let (run, spans) = state.store.trace(&id).await?;
    let start = run.started_at.as_microsecond();
    let end = spans
        .iter()
        .filter_map(|s| s.ended_at)
        .chain(run.ended_at)
        .map(jiff::Timestamp::as_microsecond)
        .chain(spans.iter().map(|s| s.started_at.as_microsecond()))
        .max()
        .unwrap_or(start);
    let total = (end - start).max(1);
    let depth = depths(&spans);
    let hot = hottest(&spans);
    let opened = match &open {
        Some(span) => {
            let Some(found) = spans.iter().find(|s| &s.id == span) else {
                return Err(ApiError::not_found(format!(
                    "span {} is not in this run",
                    span.as_str()
                ))
                .into());
            };
            Some((Some(found), span_contents(&state, span, BODY_BYTES).await?))
        }
        None => None,
    };
    let body = html! {
        h1 { "Run " code { (run.id.as_str()) } }
        dl.facts {
            dt { "role" } dd { (run.role) }
            dt { "model" } dd { (run.model) }
            @if let Some(t) = run.task_id { dt { "task" } dd { a href=(task_link(t)) { "#" (t.0) } } }
            dt { "started" } dd { (when(run.started_at)) }
            dt { "status" } dd { (run.status.as_str()) @if let Some(e) = &run.error { " — " (shown(e)) } }
            dt { "duration" } dd { (duration_us(total)) }
            dt { "tokens" } dd { (count(run.tokens.total())) " (input " (count(run.tokens.input)) ", cache read " (count(run.tokens.cache_read)) ", cache write " (count(run.tokens.cache_write)) ", output " (count(run.tokens.output)) ")" }
            dt { "cost" } dd { (money(run.cost_micros)) }
        }
        table.waterfall data-testid="waterfall" {
            thead { tr { th { "span" } th.axis { "0 — " (duration_us(total)) } th.num { "duration" } th.num { "tokens" } th.num { "cost" } } }
            tbody {
                @for s in &spans {
                    @let from = s.started_at.as_microsecond() - start;
                    @let to = s.ended_at.map_or(end, jiff::Timestamp::as_microsecond) - start;
                    @let x = from * 1000 / total;
                    @let w = ((to - from) * 1000 / total).max(2);
                    @let is_hot = hot.contains(&&s.id);
                    tr class={ "span " (if is_hot { "hot" } else { "" }) (if open.as_ref() == Some(&s.id) { " open" } else { "" }) } data-testid="span" {
                        td class={"name d" (depth.get(&s.id).copied().unwrap_or(0).min(8))} {
                            a href={"/runs/" (run.id.as_str()) "?span=" (s.id.as_str()) "#detail"} { (s.name) }
                            @if is_hot { " " span.tag title="among the steps with the most tokens" { "most tokens" } }
                            @if s.status.as_str() != "ok" { " " span class={"tag st-" (s.status.as_str())} { (s.status.as_str()) } }
                        }
                        td.axis {
                            svg viewBox="0 0 1000 10" preserveAspectRatio="none" role="img" {
                                rect class={"op-" (s.operation)} x=(x) y="0" width=(w) height="10" {}
                            }
                        }
                        td.num { (duration_us(to - from)) }
                        td.num { @if s.tokens.total() > 0 { (count(s.tokens.total())) } }
                        td.num { @if s.cost_micros.is_some() { (money(s.cost_micros)) } }
                    }
                }
            }
        }
        @if let Some((span, contents)) = opened {
            section #detail data-testid="span-detail" {
                @if let Some(span) = span {
                    h2 { (span.name) }
                    @if let Some(e) = &span.error { p.error { (shown(e)) } }
                    table.attrs {
                        @for (k, v) in &span.attributes {
                            tr { th { (k) } td { code { (shown(&v.to_string())) } } }
                        }
                    }
                }
                @if contents.is_empty() { p.empty { "No content was captured for this span." } }
                @for c in &contents {
                    h3 {
                        (if c.direction == ContentDirection::Input { "sent" } else { "received" })
                        " · " (c.kind.as_str()) " · " (count(c.bytes as u64)) " bytes"
                        @if c.truncated { " (the first " (count(BODY_BYTES as u64)) " shown)" }
                    }
                    pre.text data-testid="content" { (shown(&c.body)) }
                }
            }
        }
    };
    Ok(layout(&state, &caller, "Run", &body))
}
