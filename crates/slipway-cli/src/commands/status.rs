//! `slipway status`: the project on one screen — tasks by lane and state,
//! the gates waiting on a person, spend today and this month, the last
//! release, and whether production is behind staging.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use jiff::Timestamp;
use serde_json::{Value, json};
use slipway_store::{CostGroup, CostRow, Store, TaskFilter};
use slipway_types::{Release, ReleaseKind, Task, TaskState};

use crate::commands::GlobalArgs;
use crate::commands::trace::{cost, cost_json};
use crate::project::Project;
use crate::{Outcome, output};

/// The most tasks the text lists as waiting on a person; `--json` lists them all.
const WAITING_ROWS: usize = 20;

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// Runs summed over a span of days.
#[derive(Debug, Default)]
struct Spend {
    runs: u64,
    /// The sum of the known costs; `None` when runs were made and none has a price.
    cost_micros: Option<i64>,
    unknown_cost_runs: u64,
}

impl Spend {
    fn of<'a>(rows: impl Iterator<Item = &'a CostRow>) -> Self {
        let mut spend = Self::default();
        let mut known = None::<i64>;
        for row in rows {
            spend.runs += row.runs;
            spend.unknown_cost_runs += row.unknown_cost_runs;
            if let Some(c) = row.cost_micros {
                known = Some(known.unwrap_or(0).saturating_add(c));
            }
        }
        spend.cost_micros = if spend.runs == 0 { Some(0) } else { known };
        spend
    }

    fn text(&self) -> String {
        if self.runs == 0 {
            return format!("{} (no runs)", cost(Some(0)));
        }
        let runs = plural(self.runs, "run");
        match (self.cost_micros, self.unknown_cost_runs) {
            (None, _) => format!("unknown ({runs}, none with a price)"),
            (Some(c), 0) => format!("{} over {runs}", cost(Some(c))),
            (Some(c), n) => format!(
                "{} over {runs}, {} without a price not counted",
                cost(Some(c)),
                n
            ),
        }
    }

    fn json(&self) -> Value {
        json!({
            "runs": self.runs,
            "cost_usd": cost_json(self.cost_micros),
            "unknown_cost_runs": self.unknown_cost_runs,
        })
    }
}

/// Where production stands beside staging.
struct Environments {
    staging: String,
    production: String,
    /// Production is an ancestor of staging, and not staging itself.
    behind: bool,
}

/// A task a person must act on, and the command that does it.
struct Waiting<'a> {
    task: &'a Task,
    next: String,
}

pub(crate) async fn run(args: &StatusArgs, global: &GlobalArgs) -> Result<Outcome> {
    let project = Project::open(global)?;
    let store = project.store().await?;
    let tasks = store.tasks(&TaskFilter::default()).await?;
    let releases = store.releases().await?;
    let (today, month) = spend(store.as_ref()).await?;
    // Git failing leaves the rest of the screen standing.
    let environments = environments(&project.root).await;
    let waiting = waiting(&tasks);
    if args.json {
        let envs = match &environments {
            Ok(e) => json!({
                "staging": e.staging, "production": e.production,
                "production_behind_staging": e.behind,
            }),
            Err(err) => json!({ "error": err }),
        };
        output::json(&json!({
            "tasks": tasks_json(&tasks),
            "waiting": waiting.iter().map(|w| json!({
                "id": w.task.id, "title": w.task.title, "lane": w.task.lane,
                "state": w.task.state, "next": w.next,
            })).collect::<Vec<_>>(),
            "spend": { "today": today.json(), "month": month.json() },
            "last_release": last_release(&releases).map(serde_json::to_value).transpose()?,
            "rolled_back_to": rolled_back(&releases).map(serde_json::to_value).transpose()?,
            "environments": envs,
        }))?;
        return Ok(Outcome::Success);
    }
    print_tasks(&tasks)?;
    output::line("")?;
    print_waiting(&waiting)?;
    output::line("")?;
    output::line(format!(
        "Spend: today {}; this month {}",
        today.text(),
        month.text()
    ))?;
    output::line("")?;
    print_releases(&releases, &tasks, &environments)?;
    Ok(Outcome::Success)
}

/// Returns the spend of today and of this month (UTC days, as `cost --by day` counts them).
async fn spend(store: &dyn Store) -> Result<(Spend, Spend)> {
    let now = Timestamp::now();
    let month_start: Timestamp = format!("{}-01T00:00:00Z", now.strftime("%Y-%m"))
        .parse()
        .context("cannot work out the start of this month")?;
    let rows = store.cost_by(CostGroup::Day, Some(month_start)).await?;
    let today = now.strftime("%Y-%m-%d").to_string();
    Ok((
        Spend::of(rows.iter().filter(|r| r.key == today)),
        Spend::of(rows.iter()),
    ))
}

/// Reads the heads of staging and production, or says why git could not.
async fn environments(root: &Path) -> Result<Environments, String> {
    let read = async {
        let repo = slipway_git::Repo::open(root).await?;
        // A report writes nothing: the branches are read, never made.
        let staging = repo.resolve("refs/heads/staging").await?;
        let production = repo.resolve("refs/heads/production").await?;
        let (Some(staging), Some(production)) = (staging, production) else {
            return Ok(None);
        };
        let behind = staging != production && repo.is_ancestor(&production, &staging).await?;
        Ok::<_, slipway_git::GitError>(Some(Environments {
            staging: staging.to_string(),
            production: production.to_string(),
            behind,
        }))
    };
    match read.await {
        Ok(Some(envs)) => Ok(envs),
        Ok(None) => {
            Err("no staging or production branch yet: `slipway init` makes them".to_owned())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Returns the ready tasks (for `approve`), then those that need a person or failed.
fn waiting(tasks: &[Task]) -> Vec<Waiting<'_>> {
    let ready = tasks
        .iter()
        .filter(|t| t.state == TaskState::Ready)
        .map(|task| Waiting {
            task,
            next: format!("slipway approve {}", task.id),
        });
    let stuck = tasks
        .iter()
        .filter(|t| matches!(t.state, TaskState::NeedsHuman | TaskState::Failed))
        .map(|task| Waiting {
            task,
            next: format!("slipway task show {}", task.id),
        });
    ready.chain(stuck).collect()
}

fn tasks_json(tasks: &[Task]) -> Value {
    let mut by_state: BTreeMap<&str, u64> =
        TaskState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let mut by_lane: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for task in tasks {
        *by_state.entry(task.state.as_str()).or_default() += 1;
        *by_lane
            .entry(task.lane.as_str())
            .or_default()
            .entry(task.state.as_str())
            .or_default() += 1;
    }
    json!({ "total": tasks.len(), "by_state": by_state, "by_lane": by_lane })
}

/// Prints a table of lanes by the states that have tasks.
fn print_tasks(tasks: &[Task]) -> Result<()> {
    if tasks.is_empty() {
        output::line("No tasks yet: `slipway task add` or `slipway plan SPEC.md` adds them.")?;
        return Ok(());
    }
    output::line(format!("Tasks ({}):", tasks.len()))?;
    let states: Vec<TaskState> = TaskState::ALL
        .into_iter()
        .filter(|s| tasks.iter().any(|t| t.state == *s))
        .collect();
    let mut lanes: BTreeMap<&str, BTreeMap<TaskState, u64>> = BTreeMap::new();
    for task in tasks {
        *lanes
            .entry(task.lane.as_str())
            .or_default()
            .entry(task.state)
            .or_default() += 1;
    }
    let header: Vec<String> = std::iter::once("LANE".to_owned())
        .chain(states.iter().map(|s| s.as_str().to_uppercase()))
        .collect();
    let rows: Vec<Vec<String>> = lanes
        .iter()
        .map(|(lane, counts)| {
            std::iter::once((*lane).to_owned())
                .chain(states.iter().map(|s| {
                    counts
                        .get(s)
                        .map_or_else(|| "-".to_owned(), ToString::to_string)
                }))
                .collect()
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    output::table(&header, &rows)
}

fn print_waiting(waiting: &[Waiting<'_>]) -> Result<()> {
    if waiting.is_empty() {
        return output::line("Nothing waits on a person.");
    }
    output::line(format!("Waiting on a person ({}):", waiting.len()))?;
    let rows: Vec<Vec<String>> = waiting
        .iter()
        .take(WAITING_ROWS)
        .map(|w| {
            vec![
                w.task.id.to_string(),
                w.task.state.to_string(),
                w.task.lane.clone(),
                w.next.clone(),
                w.task.title.clone(),
            ]
        })
        .collect();
    output::table(&["TASK", "STATE", "LANE", "NEXT", "TITLE"], &rows)?;
    if waiting.len() > WAITING_ROWS {
        output::line(format!(
            "… and {} more: `slipway status --json` lists them all",
            waiting.len() - WAITING_ROWS
        ))?;
    }
    Ok(())
}

/// Returns the last release made (a rollback is not one).
fn last_release(releases: &[Release]) -> Option<&Release> {
    releases
        .iter()
        .find(|r| r.release.kind == ReleaseKind::Release)
}

/// Returns the rollback production is at, when the latest move was one.
fn rolled_back(releases: &[Release]) -> Option<&Release> {
    releases
        .first()
        .filter(|r| r.release.kind == ReleaseKind::Rollback)
}

fn print_releases(
    releases: &[Release],
    tasks: &[Task],
    environments: &Result<Environments, String>,
) -> Result<()> {
    match last_release(releases) {
        None => output::line("No release yet: `slipway release` makes the first.")?,
        Some(r) => {
            let ids: Vec<String> = r.release.tasks.iter().map(ToString::to_string).collect();
            output::line(format!(
                "Last release: {} ({}) at {}, tasks: {}",
                r.release.tag,
                short(&r.release.sha),
                output::when(r.at),
                if ids.is_empty() {
                    "none".to_owned()
                } else {
                    ids.join(", ")
                }
            ))?;
        }
    }
    if let Some(r) = rolled_back(releases) {
        output::line(format!(
            "Production was rolled back to {} ({}) at {}.",
            r.release.tag,
            short(&r.release.sha),
            output::when(r.at)
        ))?;
    }
    let staged = tasks
        .iter()
        .filter(|t| t.state == TaskState::Staged)
        .count();
    match environments {
        Err(err) => output::line(format!(
            "Git: cannot compare production with staging: {err}"
        )),
        Ok(e) if e.staging == e.production => output::line(format!(
            "Production is at staging ({}).",
            short(&e.production)
        )),
        Ok(e) if e.behind => output::line(format!(
            "Production ({}) is behind staging ({}){}: `slipway release` fast-forwards it.",
            short(&e.production),
            short(&e.staging),
            match staged {
                0 => String::new(),
                n => format!(
                    ", which has {}",
                    plural(u64::try_from(n).unwrap_or(u64::MAX), "staged task")
                ),
            }
        )),
        Ok(e) => output::line(format!(
            "Production ({}) is not behind staging ({}): the branches have diverged.",
            short(&e.production),
            short(&e.staging)
        )),
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
