//! The board: every task by lane and state, the gates waiting on a person
//! on top. It follows the live event stream (the script swaps `#board`).

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::State;
use maud::html;
use slipway_store::BoardCard;
use slipway_types::TaskState;

use crate::AppState;
use crate::auth::Caller;
use crate::pages::{PageResult, badge, layout, shown, task_link};
use maud::Markup;
use slipway_store::Board;

/// The most tasks one cell lists; the rest are counted.
const PER_CELL: u32 = 20;
/// The most tasks the "waiting on a person" list shows.
const WAITING: usize = 50;

pub(crate) async fn page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> PageResult {
    let board = state.store.board(PER_CELL).await?;
    let mut lanes: BTreeMap<&str, BTreeMap<TaskState, (u64, Vec<&BoardCard>)>> = BTreeMap::new();
    for (lane, s, n) in &board.counts {
        lanes
            .entry(lane.as_str())
            .or_default()
            .entry(*s)
            .or_default()
            .0 = *n;
    }
    for card in &board.cards {
        lanes
            .entry(card.lane.as_str())
            .or_default()
            .entry(card.state)
            .or_default()
            .1
            .push(card);
    }
    for cells in lanes.values_mut() {
        for (_, cell) in cells.values_mut() {
            cell.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
        }
    }
    let total: u64 = board.counts.iter().map(|(_, _, n)| n).sum();
    let body = html! {
        div #board data-live="/" {
            h1 { "Board" }
            p.summary { (total) " tasks in " (lanes.len()) " lanes" }
            (waiting(&board))
            @if total == 0 {
                p.empty { "No tasks yet: `slipway plan SPEC.md` or `slipway task add` adds some." }
            } @else {
                div.scroll {
                    table.board data-testid="board" {
                        thead {
                            tr {
                                th { "lane" }
                                @for s in TaskState::ALL { th { (s.as_str()) } }
                            }
                        }
                        tbody {
                            @for (lane, cells) in &lanes {
                                tr {
                                    th scope="row" { (lane) }
                                    @for s in TaskState::ALL {
                                        td {
                                            @if let Some((n, cell)) = cells.get(&s) {
                                                @for task in cell {
                                                    a.card href=(task_link(task.id)) data-state=(s.as_str()) title=(shown(&task.title)) {
                                                        "#" (task.id.0) " " (shown(&task.title))
                                                    }
                                                }
                                                @if *n > cell.len() as u64 {
                                                    span.more { "+" (*n - cell.len() as u64) " more" }
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
        }
    };
    Ok(layout(&state, &caller, "Board", &body))
}

/// The tasks waiting on a person (ready, needs a person, failed), with what
/// to do about each.
fn waiting(board: &Board) -> Markup {
    let is_waiting = |s: TaskState| {
        matches!(
            s,
            TaskState::Ready | TaskState::NeedsHuman | TaskState::Failed
        )
    };
    let total: u64 = board
        .counts
        .iter()
        .filter(|(_, s, _)| is_waiting(*s))
        .map(|(_, _, n)| n)
        .sum();
    let shown_cards: Vec<&BoardCard> = board
        .cards
        .iter()
        .filter(|c| is_waiting(c.state))
        .take(WAITING)
        .collect();
    html! {
        @if !shown_cards.is_empty() {
            section.waiting data-testid="waiting" {
                h2 { "Waiting on a person" }
                ul {
                    @for task in &shown_cards {
                        li {
                            a href=(task_link(task.id)) { "#" (task.id.0) " " (shown(&task.title)) }
                            " " (badge(task.state))
                            @match task.state {
                                TaskState::Ready => { " — review it, then approve or reject" }
                                _ => { " — `slipway task show " (task.id.0) "` says why; `slipway task retry " (task.id.0) "` resumes it" }
                            }
                        }
                    }
                }
                @if total > shown_cards.len() as u64 { p { "and " (total - shown_cards.len() as u64) " more" } }
            }
        }
    }
}
