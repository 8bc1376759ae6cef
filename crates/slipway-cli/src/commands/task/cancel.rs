//! `slipway task cancel`.

use anyhow::{Result, bail};
use clap::Args;
use jiff::Timestamp;
use slipway_store::{StateChange, Store, TaskFilter};
use slipway_types::{TaskId, TaskState};

use crate::project::{Project, actor};
use crate::{Outcome, output};

#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
    /// The task's id
    id: TaskId,
    /// Why the task is cancelled (recorded in the event log)
    #[arg(long)]
    why: String,
}

pub(crate) async fn run(
    args: &CancelArgs,
    project: &Project,
    store: &dyn Store,
) -> Result<Outcome> {
    let why = args.why.trim();
    if why.is_empty() {
        bail!("--why is empty: say why the task is cancelled; it goes into the event log");
    }
    let task = store.task(args.id).await?;
    let change = StateChange {
        to: TaskState::Cancelled,
        actor: actor(&project.root),
        reason: why.to_owned(),
        at: Timestamp::now(),
        expected_from: Some(task.state),
    };
    let task = store.transition(args.id, &change).await?;
    // A cancelled task gives back the seams it held, so others can take them.
    for seam in store.task_seams(task.id).await? {
        store
            .release_lease(
                &slipway_types::seam_lease_name(&seam),
                &slipway_pipeline::seam_holder(task.id),
            )
            .await?;
    }
    output::line(format!("cancelled task {}: {}", task.id, task.title))?;
    let waiting: Vec<String> = store
        .tasks(&TaskFilter::default())
        .await?
        .iter()
        .filter(|t| !t.state.is_final() && t.depends_on.contains(&task.id))
        .map(|t| t.id.to_string())
        .collect();
    if !waiting.is_empty() {
        output::line(format!(
            "note: task(s) {} wait for task {} and cannot start now: cancel them or add them again without it",
            waiting.join(", "),
            task.id
        ))?;
    }
    Ok(Outcome::Success)
}
