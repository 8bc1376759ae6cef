//! `slipway task retry`.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use slipway_runtime::Cancel;
use slipway_types::{TaskId, TaskState};

use crate::Outcome;
use crate::agents::{Confinement, Printed, pipeline};
use crate::project::{Project, actor};

#[derive(Debug, Args)]
pub(crate) struct RetryArgs {
    /// The `needs_human` or `failed` task
    id: TaskId,
    /// The stage to resume from (default: the one it stopped in); never past that one
    #[arg(long, value_name = "STAGE")]
    from: Option<TaskState>,
}

pub(crate) async fn run(args: &RetryArgs, project: &Project) -> Result<Outcome> {
    let pipeline = pipeline(
        project,
        Confinement::None,
        actor(&project.root),
        Arc::new(Printed),
        BTreeMap::new(),
        Arc::new(Cancel::default()),
    )
    .await?;
    let to = pipeline.retry(args.id, args.from).await?;
    println!(
        "task {} is back in `{to}`: `slipway run` resumes it",
        args.id
    );
    Ok(Outcome::Success)
}
