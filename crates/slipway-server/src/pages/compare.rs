//! Two runs side by side, step by step: each run's model and tool calls in
//! the order they started, paired by position, with token, latency and cost
//! deltas; a step of B that costs more than 20% more than A's is marked, so a
//! regression shows.

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;
use slipway_types::{Span, TraceId, operations};

use crate::AppState;
use crate::api::{parse_id, query};
use crate::auth::Caller;
use crate::pages::run::{compare_form, span_us};
use crate::pages::{PageResult, count, duration_us, layout, money};

#[derive(Debug, Deserialize)]
pub(crate) struct CompareQuery {
    /// Parsed with `TraceId`'s `FromStr`: its `Deserialize` does not check the form.
    a: Option<String>,
    b: Option<String>,
}

/// One step's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Figures {
    pub(crate) tokens: u64,
    pub(crate) latency_us: i64,
    /// `None` when a price was unknown: never counted as 0.
    pub(crate) cost_micros: Option<i64>,
}

impl Default for Figures {
    /// A step that is not there: nothing spent.
    fn default() -> Self {
        Self {
            tokens: 0,
            latency_us: 0,
            cost_micros: Some(0),
        }
    }
}

impl Figures {
    fn of(span: &Span) -> Self {
        Self {
            tokens: span.tokens.total(),
            latency_us: span.ended_at.map_or(0, |e| span_us(span.started_at, e)),
            // A tool call has no price; only a model call's may be unknown.
            cost_micros: if span.operation == operations::CHAT {
                span.cost_micros
            } else {
                Some(span.cost_micros.unwrap_or(0))
            },
        }
    }

    fn add(self, other: Self) -> Self {
        Self {
            tokens: self.tokens + other.tokens,
            latency_us: self.latency_us + other.latency_us,
            cost_micros: self.cost_micros.zip(other.cost_micros).map(|(a, b)| a + b),
        }
    }
}

/// Returns true when `b` is more than 20% above `a` (or above nothing).
pub(crate) fn worse(a: i64, b: i64) -> bool {
    b > a && (a <= 0 || (b - a) * 5 > a)
}

/// The model and tool calls of a run, in order.
fn steps(spans: &[Span]) -> Vec<&Span> {
    spans
        .iter()
        .filter(|s| s.operation == operations::CHAT || s.operation == operations::EXECUTE_TOOL)
        .collect()
}

fn delta(a: i64, b: i64, show: impl Fn(i64) -> String) -> Markup {
    let d = b - a;
    // One `class` attribute: maud writes `td.num class=…` as two, and a
    // browser keeps only the first.
    let mark = if worse(a, b) {
        "num worse"
    } else if d < 0 {
        "num better"
    } else {
        "num"
    };
    html! {
        td class=(mark) {
            (if d > 0 { "+" } else { "" }) (show(d))
        }
    }
}

/// The cost delta; none when either cost is unknown.
fn cost_delta(a: Option<i64>, b: Option<i64>) -> Markup {
    if let Some((a, b)) = a.zip(b) {
        delta(a, b, |d| money(Some(d)))
    } else {
        html! { td.num { "unpriced" } }
    }
}

fn signed_count(n: i64) -> String {
    if n < 0 {
        format!("-{}", count(n.unsigned_abs()))
    } else {
        count(n.unsigned_abs())
    }
}

fn figures_cells(f: Option<Figures>) -> Markup {
    html! {
        @if let Some(f) = f {
            td.num { (count(f.tokens)) } td.num { (duration_us(f.latency_us)) } td.num { (money(f.cost_micros)) }
        } @else {
            td {} td {} td {}
        }
    }
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) async fn page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<CompareQuery>, QueryRejection>,
) -> PageResult {
    let q = query(q)?;
    let trace = |t: Option<String>| t.map(|t| parse_id::<TraceId>("trace id", &t)).transpose();
    let (a, b) = (trace(q.a)?, trace(q.b)?);
    let recent = state.store.traces(100).await?;
    let (Some(a), Some(b)) = (a, b) else {
        let body = html! {
            h1 { "Compare two runs" }
            @if recent.len() < 2 { p.empty { "Two runs are needed." } }
            (compare_form(&recent, None, None))
        };
        return Ok(layout(&state, &caller, "Compare", &body));
    };
    let (run_a, spans_a) = state.store.trace(&a).await?;
    let (run_b, spans_b) = state.store.trace(&b).await?;
    let (sa, sb) = (steps(&spans_a), steps(&spans_b));
    let pairs: Vec<(Option<Figures>, Option<Figures>)> = (0..sa.len().max(sb.len()))
        .map(|i| {
            (
                sa.get(i).map(|s| Figures::of(s)),
                sb.get(i).map(|s| Figures::of(s)),
            )
        })
        .collect();
    let (total_a, total_b) = pairs.iter().fold(
        (Figures::default(), Figures::default()),
        |(ta, tb), (fa, fb)| {
            (
                ta.add(fa.unwrap_or_default()),
                tb.add(fb.unwrap_or_default()),
            )
        },
    );
    let body = html! {
        h1 { "Compare runs" }
        (compare_form(&recent, Some(&a), Some(&b)))
        table.compare data-testid="compare" {
            thead {
                tr { th {} th colspan="4" { "A: " a href={"/runs/" (a.as_str())} { (run_a.role) " · " (run_a.model) } } th colspan="4" { "B: " a href={"/runs/" (b.as_str())} { (run_b.role) " · " (run_b.model) } } th colspan="3" { "B − A" } }
                tr { th { "step" } th { "span" } th.num { "tokens" } th.num { "latency" } th.num { "cost" } th { "span" } th.num { "tokens" } th.num { "latency" } th.num { "cost" } th.num { "tokens" } th.num { "latency" } th.num { "cost" } }
            }
            tbody {
                @for (i, (fa, fb)) in pairs.iter().copied().enumerate() {
                    @let (da, db) = (fa.unwrap_or_default(), fb.unwrap_or_default());
                    tr data-testid="step" {
                        td { (i + 1) }
                        td { @if let Some(s) = sa.get(i) { (s.name) } }
                        (figures_cells(fa))
                        td { @if let Some(s) = sb.get(i) { (s.name) } }
                        (figures_cells(fb))
                        (delta(as_i64(da.tokens), as_i64(db.tokens), signed_count))
                        (delta(da.latency_us, db.latency_us, duration_us_signed))
                        (cost_delta(da.cost_micros, db.cost_micros))
                    }
                }
            }
            tfoot {
                tr data-testid="total" {
                    th { "total" } td {}
                    (figures_cells(Some(total_a)))
                    td {}
                    (figures_cells(Some(total_b)))
                    (delta(as_i64(total_a.tokens), as_i64(total_b.tokens), signed_count))
                    (delta(total_a.latency_us, total_b.latency_us, duration_us_signed))
                    (cost_delta(total_a.cost_micros, total_b.cost_micros))
                }
            }
        }
        p.hint { "Steps are the runs' model and tool calls in the order they started, paired by position. Red: B is more than 20% above A." }
    };
    Ok(layout(&state, &caller, "Compare", &body))
}

fn duration_us_signed(d: i64) -> String {
    if d < 0 {
        format!("-{}", duration_us(-d))
    } else {
        duration_us(d)
    }
}

#[cfg(test)]
mod tests {
    use super::worse;

    #[test]
    fn worse_means_more_than_a_fifth_more() {
        assert!(!worse(100, 120));
        assert!(worse(100, 121));
        assert!(!worse(100, 50));
        assert!(worse(0, 1));
        assert!(!worse(0, 0));
    }
}
