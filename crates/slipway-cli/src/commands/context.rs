//! `slipway context sync`: writes the canonical state from the store into
//! the State section of `AGENTS.md`, for people (agents get it in every
//! prompt).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use clap::{Args, Subcommand};
use slipway_pipeline::AGENTS_FILE;
use slipway_runtime::Cancel;

use crate::agents::{Confinement, Printed, pipeline};
use crate::commands::GlobalArgs;
use crate::project::{Project, actor};
use crate::{Outcome, output};

#[derive(Debug, Subcommand)]
pub(crate) enum ContextCommand {
    /// Write what works, what is in flight and what is broken into AGENTS.md's State section
    Sync(SyncArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {}

pub(crate) async fn run(command: &ContextCommand, global: &GlobalArgs) -> Result<Outcome> {
    match command {
        ContextCommand::Sync(_) => sync(global).await,
    }
}

async fn sync(global: &GlobalArgs) -> Result<Outcome> {
    let project = Project::open(global)?;
    let who = actor(&project.root);
    // Syncing runs no command, so it needs no sandbox.
    let pipeline = pipeline(
        &project,
        Confinement::None,
        who,
        Arc::new(Printed),
        BTreeMap::new(),
        Arc::new(Cancel::default()),
    )
    .await?;
    if pipeline.sync_context().await? {
        output::line(format!("{AGENTS_FILE}: State section updated"))?;
    } else {
        output::line(format!("{AGENTS_FILE}: State section already current"))?;
    }
    Ok(Outcome::Success)
}
