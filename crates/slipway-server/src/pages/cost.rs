//! Spend by day (the last 30), model, role and task, each as a bar chart
//! (SVG: no script, no inline style) with its table.

use axum::Extension;
use axum::extract::State;
use maud::{Markup, html};
use slipway_store::{CostGroup, CostRow};

use crate::AppState;
use crate::auth::Caller;
use crate::pages::{PageResult, count, layout, money};

/// The most bars a chart draws; the table lists all.
const BARS: usize = 30;

fn chart(title: &str, testid: &str, rows: &[CostRow], key: impl Fn(&str) -> String) -> Markup {
    let unpriced: u64 = rows.iter().map(|r| r.unknown_cost_runs).sum();
    let max = rows
        .iter()
        .map(|r| r.cost_micros.unwrap_or(0))
        .max()
        .unwrap_or(0)
        .max(1);
    let shown: Vec<&CostRow> = {
        let mut by_cost: Vec<&CostRow> = rows.iter().collect();
        by_cost.sort_by_key(|r| std::cmp::Reverse(r.cost_micros.unwrap_or(0)));
        by_cost.truncate(BARS);
        // Keep the key order (days stay in order) among the biggest.
        rows.iter()
            .filter(|r| by_cost.iter().any(|b| std::ptr::eq(*b, *r)))
            .collect()
    };
    let height = shown.len() * 22 + 4;
    html! {
        section.chart data-testid=(testid) {
            h2 { (title) }
            @if rows.is_empty() { p.empty { "No runs." } }
            @else {
                svg.bars viewBox={"0 0 1000 " (height)} role="img" {
                    @for (i, r) in shown.iter().enumerate() {
                        @let y = i * 22 + 2;
                        @let w = r.cost_micros.unwrap_or(0) * 640 / max;
                        text x="0" y=(y + 14) { (key(&r.key)) }
                        rect x="240" y=(y) width=(w.max(1)) height="18" {}
                        text x=(250 + w) y=(y + 14) { (money(r.cost_micros)) }
                    }
                }
                @if unpriced > 0 { p.hint { (unpriced) " run(s) of a model without a price are counted in tokens only." } }
                table {
                    thead { tr { th { "key" } th.num { "runs" } th.num { "tokens" } th.num { "cost" } } }
                    tbody {
                        @for r in rows {
                            tr { td { (key(&r.key)) } td.num { (r.runs) } td.num { (count(r.tokens.total())) } td.num { (money(r.cost_micros)) } }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) async fn page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> PageResult {
    let month_ago = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * 30))
        .ok();
    let store = &state.store;
    let (days, models, roles, tasks) = tokio::try_join!(
        store.cost_by(CostGroup::Day, month_ago),
        store.cost_by(CostGroup::Model, None),
        store.cost_by(CostGroup::Role, None),
        store.cost_by(CostGroup::Task, None),
    )?;
    let priced: Vec<i64> = models.iter().filter_map(|r| r.cost_micros).collect();
    let total = (!priced.is_empty()).then(|| priced.iter().sum::<i64>());
    let unpriced: u64 = models.iter().map(|r| r.unknown_cost_runs).sum();
    let body = html! {
        h1 { "Cost" }
        p.summary data-testid="cost-total" {
            "All runs: " (money(total))
            @if unpriced > 0 { " (and " (unpriced) " unpriced run(s))" }
        }
        (chart("By day (last 30 days, UTC)", "cost-day", &days, str::to_owned))
        (chart("By model", "cost-model", &models, str::to_owned))
        (chart("By role", "cost-role", &roles, str::to_owned))
        (chart("By task", "cost-task", &tasks, |k| if k.is_empty() { "no task".to_owned() } else { format!("#{k}") }))
    };
    Ok(layout(&state, &caller, "Cost", &body))
}
