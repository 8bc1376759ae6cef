//! `slipway run`: the scheduler. Tasks go through their stages with up to
//! N agents at once until they are ready for a person, or need one.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use slipway_pipeline::RunSettings;
use slipway_runtime::Cancel;
use slipway_types::TaskState;

use crate::Outcome;
use crate::agents::{Confinement, Printed, pipeline};
use crate::commands::GlobalArgs;
use crate::project::Project;

const RUN_HELP: &str = "\
Each task gets a clone of staging under .slipway/work/ID and goes through planning, plan
review, coding, testing (and debugging), code review and the ownership gate, up to `ready`.
Then a person runs `slipway approve ID`. At most one active task per lane; seams one task
at a time; a task starts when the tasks it depends on are staged.

Exit status: 0 when every task it drove ended ready, staged or released; 1 when some need a
person or failed; 2 on an error.";

#[derive(Debug, Args)]
#[command(after_help = RUN_HELP)]
pub(crate) struct RunArgs {
    /// Work on up to N tasks at once
    #[arg(long, default_value_t = 4, value_name = "N")]
    agents: usize,
    /// Stop when nothing more can move without a person, instead of waiting for new tasks
    #[arg(long)]
    until_idle: bool,
    /// Run the tests and the agents' commands WITHOUT the sandbox, as this user (when it cannot start here)
    #[arg(long)]
    no_sandbox: bool,
}

pub(crate) async fn run(args: &RunArgs, global: &GlobalArgs) -> Result<Outcome> {
    run_with(args, global, BTreeMap::new()).await
}

/// Runs the scheduler with these providers in place of the configured ones, by role.
pub(crate) async fn run_with(
    args: &RunArgs,
    global: &GlobalArgs,
    scripted: BTreeMap<slipway_policy::AgentRole, Arc<dyn slipway_llm::Provider>>,
) -> Result<Outcome> {
    let project = Project::open(global)?;
    if args.agents == 0 {
        anyhow::bail!("--agents must be at least 1");
    }
    let confinement = Confinement::for_scheduler(args.no_sandbox);
    let cancel = Arc::new(Cancel::default());
    let pipeline = Arc::new(
        pipeline(
            &project,
            confinement,
            "scheduler".to_owned(),
            Arc::new(Printed),
            scripted,
            Arc::clone(&cancel),
        )
        .await?,
    );
    let dirty = pipeline.repo().dirty_paths().await?;
    if !dirty.is_empty() {
        eprintln!(
            "note: the main working tree has uncommitted changes ({}); agents work from staging and never see them",
            dirty.len()
        );
    }
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let settings = RunSettings {
        agents: args.agents,
        until_idle: args.until_idle,
        holder: slipway_pipeline::holder_name("scheduler"),
    };
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "· stopping: the stages in flight are cancelled and resume at the next `slipway run`"
            );
            cancel.cancel();
            let _ = stop_tx.send(true);
        }
    });
    let summary = pipeline.run(&settings, stop).await;
    ctrl_c.abort();
    let summary = summary?;
    let mut attention = false;
    for (id, state) in &summary.ended {
        let what = match state {
            TaskState::Ready => format!("ready: `slipway approve {id}` merges it into staging"),
            TaskState::NeedsHuman => {
                attention = true;
                format!(
                    "needs a person: `slipway task show {id}` says why; `slipway task retry {id}` resumes it"
                )
            }
            TaskState::Failed => {
                attention = true;
                format!(
                    "failed: `slipway task show {id}` says why; `slipway task retry {id}` resumes it"
                )
            }
            other => other.to_string(),
        };
        eprintln!("task {id}: {what}");
    }
    for (id, why) in &summary.waiting {
        eprintln!("task {id}: {why}");
    }
    for (id, why) in &summary.not_started {
        attention = true;
        eprintln!("task {id}: {why}");
    }
    if summary.ended.is_empty() && summary.waiting.is_empty() && summary.not_started.is_empty() {
        eprintln!("nothing to do: `slipway task add` or `slipway plan SPEC.md` adds tasks");
    }
    Ok(if attention {
        Outcome::Problems
    } else {
        Outcome::Success
    })
}
