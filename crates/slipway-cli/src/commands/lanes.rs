//! `slipway lanes check` and `slipway lanes which`: is every tracked file in
//! exactly one lane or a seam, and who owns a path.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;
use slipway_policy::Owner;

use crate::commands::GlobalArgs;
use crate::project::Project;
use crate::{Outcome, git, output};

#[derive(Debug, Subcommand)]
pub(crate) enum LanesCommand {
    /// List tracked files two lanes own and files no lane or seam covers; exit 1 if any
    Check {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Name the lane, seam or control rule that owns each PATH
    Which {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(cmd: &LanesCommand, global: &GlobalArgs) -> Result<Outcome> {
    let project = Project::open(global)?;
    let ownership = project.ownership()?;
    match cmd {
        LanesCommand::Check { json } => {
            let tracked = git::tracked_files(&project.root)?;
            let report = ownership.check(tracked.iter().map(String::as_str));
            let mece = report.is_mece();
            if *json {
                output::json(&json!({ "mece": mece, "report": report }))?;
            } else {
                let rows: Vec<Vec<String>> = report
                    .overlaps
                    .iter()
                    .map(|o| {
                        vec![
                            "overlap".into(),
                            o.path.clone(),
                            format!("owned by lanes {}", o.lanes.join(", ")),
                        ]
                    })
                    .chain(report.orphans.iter().map(|p| {
                        vec!["orphan".into(), p.clone(), "no lane or seam owns it".into()]
                    }))
                    .collect();
                if !rows.is_empty() {
                    output::table(&["PROBLEM", "PATH", "DETAIL"], &rows)?;
                }
                for glob in &report.unmatched {
                    let whose = glob
                        .lane
                        .as_ref()
                        .map_or_else(|| "seam".to_owned(), |l| format!("lane `{l}`"));
                    output::line(format!(
                        "warning: {whose} glob `{}` matches no tracked file",
                        glob.glob
                    ))?;
                }
                output::line(format!(
                    "{} tracked files, {} lanes, {} seam globs: {} overlaps, {} orphans{}",
                    report.checked,
                    project.config.lanes.len(),
                    project.config.seams.paths.len(),
                    report.overlaps.len(),
                    report.orphans.len(),
                    if mece {
                        " — lanes are MECE".to_owned()
                    } else {
                        format!(" — fix the globs in {}", project.config.file().display())
                    }
                ))?;
            }
            Ok(if mece {
                Outcome::Success
            } else {
                Outcome::Problems
            })
        }
        LanesCommand::Which { paths, json } => {
            let mut answers = Vec::new();
            for path in paths {
                let rel = project.relative(path)?;
                let owner = ownership.owner(&rel);
                answers.push((rel, owner));
            }
            if *json {
                let list: Vec<_> = answers
                    .iter()
                    .map(|(p, o)| json!({ "path": p, "owner": o }))
                    .collect();
                output::json(&list)?;
            } else {
                for (path, owner) in &answers {
                    output::line(format!("{path}: {}", describe(owner)))?;
                }
            }
            Ok(Outcome::Success)
        }
    }
}

fn describe(owner: &Owner) -> String {
    match owner {
        Owner::Control => "control file (no lane may write it)".to_owned(),
        Owner::Seam => "seam (any lane, one task at a time, holding the lease)".to_owned(),
        Owner::Lane(lane) => format!("lane `{lane}`"),
        Owner::Contested(lanes) => {
            format!("contested by lanes {} (fix the globs)", lanes.join(", "))
        }
        Owner::Unowned => "no owner (no lane or seam covers it)".to_owned(),
    }
}
