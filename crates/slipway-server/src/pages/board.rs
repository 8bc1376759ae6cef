//! The board: every task by lane and state, the gates waiting on a person
//! on top. It follows the live event stream (the script swaps `#board`).

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::State;
use maud::html;
use slipway_store::TaskFilter;
use slipway_types::{Task, TaskState};

use crate::AppState;
use crate::auth::Caller;
use crate::pages::{BOARD_STATES, PageResult, badge, layout, task_link};

/// The most tasks one cell lists; the rest are counted.
const PER_CELL: usize = 20;

pub(crate) async fn page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> PageResult {
    let tasks = state.store.tasks(&TaskFilter::default()).await?;
    let mut lanes: BTreeMap<&str, BTreeMap<TaskState, Vec<&Task>>> = BTreeMap::new();
    for task in &tasks {
        lanes
            .entry(task.lane.as_str())
            .or_default()
            .entry(task.state)
            .or_default()
            .push(task);
    }
    for cells in lanes.values_mut() {
        for cell in cells.values_mut() {
            cell.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
        }
    }
    let waiting: Vec<&Task> = tasks
        .iter()
        .filter(|t| {
            matches!(
                t.state,
                TaskState::Ready | TaskState::NeedsHuman | TaskState::Failed
            )
        })
        .collect();
    let body = html! {
        div #board data-live="/" {
            h1 { "Board" }
            p.summary { (tasks.len()) " tasks in " (lanes.len()) " lanes" }
            @if !waiting.is_empty() {
                section.waiting data-testid="waiting" {
                    h2 { "Waiting on a person" }
                    ul {
                        @for task in waiting.iter().take(50) {
                            li {
                                a href=(task_link(task.id)) { "#" (task.id.0) " " (task.title) }
                                " " (badge(task.state))
                                @match task.state {
                                    TaskState::Ready => { " — review it, then approve or reject" }
                                    _ => { " — `slipway task show " (task.id.0) "` says why; `slipway task retry " (task.id.0) "` resumes it" }
                                }
                            }
                        }
                    }
                    @if waiting.len() > 50 { p { "and " (waiting.len() - 50) " more" } }
                }
            }
            @if tasks.is_empty() {
                p.empty { "No tasks yet: `slipway plan SPEC.md` or `slipway task add` adds some." }
            } @else {
                div.scroll {
                    table.board data-testid="board" {
                        thead {
                            tr {
                                th { "lane" }
                                @for s in BOARD_STATES { th { (s.as_str()) } }
                            }
                        }
                        tbody {
                            @for (lane, cells) in &lanes {
                                tr {
                                    th scope="row" { (lane) }
                                    @for s in BOARD_STATES {
                                        td {
                                            @if let Some(cell) = cells.get(&s) {
                                                @for task in cell.iter().take(PER_CELL) {
                                                    a.card href=(task_link(task.id)) data-state=(s.as_str()) title=(task.title) {
                                                        "#" (task.id.0) " " (task.title)
                                                    }
                                                }
                                                @if cell.len() > PER_CELL {
                                                    span.more { "+" (cell.len() - PER_CELL) " more" }
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
