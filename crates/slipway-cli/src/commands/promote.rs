//! The human gates: `slipway approve`, `reject`, `release`, `rollback` and
//! `releases`. Only these move `staging` and `production`.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use slipway_pipeline::{Approval, Pipeline};
use slipway_runtime::Cancel;
use slipway_types::{ReleaseKind, TaskId};

use crate::Outcome;
use crate::agents::{Confinement, Printed, pipeline};
use crate::commands::GlobalArgs;
use crate::project::{Project, actor};

#[derive(Debug, Args)]
pub(crate) struct ApproveArgs {
    /// The `ready` task to merge into staging
    task: TaskId,
    /// Run the merge's tests WITHOUT the sandbox, as this user (when it cannot start here)
    #[arg(long)]
    no_sandbox: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RejectArgs {
    /// The `ready` task to send back to coding
    task: TaskId,
    /// Why: the coder gets it as a high finding
    #[arg(long)]
    why: String,
}

#[derive(Debug, Args)]
pub(crate) struct ReleaseArgs {
    /// A note kept with the release
    #[arg(long, default_value = "")]
    note: String,
}

#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    /// The release to move production back to, as `release-N` or N (default: the one before the current)
    #[arg(long, value_name = "RELEASE")]
    to: Option<String>,
    /// A note kept with the rollback
    #[arg(long, default_value = "")]
    note: String,
}

#[derive(Debug, Args)]
pub(crate) struct ReleasesArgs {
    /// Print JSON: an array of releases and rollbacks, newest first
    #[arg(long)]
    json: bool,
}

async fn open(global: &GlobalArgs, confinement: Confinement) -> Result<Pipeline> {
    let project = Project::open(global)?;
    let who = actor(&project.root);
    pipeline(
        &project,
        confinement,
        who,
        Arc::new(Printed),
        BTreeMap::new(),
        Arc::new(Cancel::default()),
    )
    .await
}

pub(crate) async fn approve(args: &ApproveArgs, global: &GlobalArgs) -> Result<Outcome> {
    let confinement = if args.no_sandbox {
        eprintln!("WARNING: --no-sandbox: the merge's tests run UNCONFINED, as this user");
        Confinement::None
    } else {
        Confinement::Sandbox
    };
    let pipeline = open(global, confinement).await?;
    match pipeline.approve(args.task, None).await? {
        Approval::Staged(sha) => {
            println!(
                "task {} is staged: staging is at {}",
                args.task,
                &sha[..12.min(sha.len())]
            );
            println!("`slipway release` fast-forwards production to it");
            Ok(Outcome::Success)
        }
        Approval::SentBack(why) => {
            println!("task {} went back to coding: {why}", args.task);
            println!("staging did not move; `slipway run` lets the coder answer it");
            Ok(Outcome::Problems)
        }
    }
}

pub(crate) async fn reject(args: &RejectArgs, global: &GlobalArgs) -> Result<Outcome> {
    // Rejecting runs no command, so it needs no sandbox.
    let pipeline = open(global, Confinement::None).await?;
    pipeline.reject(args.task, &args.why).await?;
    println!(
        "task {} went back to coding with your reason as a high finding",
        args.task
    );
    Ok(Outcome::Success)
}

pub(crate) async fn release(args: &ReleaseArgs, global: &GlobalArgs) -> Result<Outcome> {
    let pipeline = open(global, Confinement::None).await?;
    let released = pipeline.release(&args.note, None).await?;
    let r = &released.release.release;
    let tasks: Vec<String> = r.tasks.iter().map(ToString::to_string).collect();
    println!(
        "{}: production is at {} with task(s) {}",
        r.tag,
        &r.sha[..12.min(r.sha.len())],
        if tasks.is_empty() {
            "none".to_owned()
        } else {
            tasks.join(", ")
        }
    );
    for kept in &released.kept {
        println!("{kept}");
    }
    Ok(Outcome::Success)
}

pub(crate) async fn rollback(args: &RollbackArgs, global: &GlobalArgs) -> Result<Outcome> {
    let to = match &args.to {
        Some(text) => {
            let digits = text.trim().trim_start_matches("release-");
            Some(digits.parse::<i64>().map_err(|_| anyhow::anyhow!("--to `{text}` is not a release: write it as release-N or N (`slipway releases` lists them)"))?)
        }
        None => None,
    };
    let pipeline = open(global, Confinement::None).await?;
    let rolled = pipeline.rollback(to, &args.note, None).await?;
    println!(
        "production is back at {} ({}); staging did not move",
        rolled.release.tag,
        &rolled.release.sha[..12.min(rolled.release.sha.len())]
    );
    Ok(Outcome::Success)
}

pub(crate) async fn releases(args: &ReleasesArgs, global: &GlobalArgs) -> Result<Outcome> {
    let project = Project::open(global)?;
    let store = project.store().await?;
    let releases = store.releases().await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&releases)?);
        return Ok(Outcome::Success);
    }
    if releases.is_empty() {
        println!("no releases yet: `slipway release` makes the first");
    }
    for r in &releases {
        let tasks: Vec<String> = r.release.tasks.iter().map(ToString::to_string).collect();
        let what = match r.release.kind {
            ReleaseKind::Release => format!("{} released", r.release.tag),
            ReleaseKind::Rollback => format!("rolled back to {}", r.release.tag),
        };
        println!(
            "{}  {what:<24} {}  tasks: {}  by {}{}",
            r.at.strftime("%Y-%m-%d %H:%M:%S"),
            &r.release.sha[..12.min(r.release.sha.len())],
            if tasks.is_empty() {
                "-".to_owned()
            } else {
                tasks.join(", ")
            },
            r.release.actor,
            if r.release.note.is_empty() {
                String::new()
            } else {
                format!("  “{}”", r.release.note)
            }
        );
    }
    Ok(Outcome::Success)
}
