//! `slipway task add`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use jiff::Timestamp;
use slipway_store::Store;
use slipway_types::{NewTask, TaskId, TaskState};

use crate::project::{Project, actor};
use crate::{Outcome, output};

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// What the task is, in a line
    title: String,
    /// The lane that owns the task's files
    #[arg(long)]
    lane: String,
    /// Read the task's description from FILE (`-` for standard input)
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,
    /// A task that must be staged before this one starts (repeatable)
    #[arg(long = "depends-on", value_name = "ID")]
    depends_on: Vec<TaskId>,
    /// Print the new task as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: AddArgs, project: &Project, store: &dyn Store) -> Result<Outcome> {
    let title = args.title.trim();
    if title.is_empty() {
        bail!("the task title is empty: give it a line that says what the task is");
    }
    if !project.config.lanes.contains_key(&args.lane) {
        let known: Vec<&str> = project.config.lanes.keys().map(String::as_str).collect();
        let near = known
            .iter()
            .min_by_key(|k| strsim::damerau_levenshtein(k, &args.lane))
            .filter(|k| strsim::damerau_levenshtein(k, &args.lane) <= 2);
        let hint = near.map_or_else(String::new, |n| format!("did you mean `{n}`? "));
        bail!(
            "no lane `{}` in {}: {hint}lanes: {}",
            args.lane,
            project.config.file().display(),
            if known.is_empty() {
                "none (add a [lanes.NAME] table)".to_owned()
            } else {
                known.join(", ")
            }
        );
    }
    let body = match &args.body_file {
        None => String::new(),
        Some(path) if path.as_os_str() == "-" => {
            let mut body = String::new();
            std::io::stdin()
                .read_to_string(&mut body)
                .context("cannot read the body from standard input")?;
            body
        }
        Some(path) => std::fs::read_to_string(project.resolve(path))
            .with_context(|| format!("cannot read the body file {}", path.display()))?,
    };
    for dep in &args.depends_on {
        let task = store.task(*dep).await?;
        if task.state == TaskState::Cancelled {
            bail!(
                "task {dep} is cancelled: a new task cannot wait for it; drop `--depends-on {dep}`"
            );
        }
    }
    let new = NewTask {
        title: title.to_owned(),
        body,
        lane: args.lane.clone(),
        depends_on: args.depends_on.clone(),
    };
    let task = store
        .create_task(&new, &actor(&project.root), Timestamp::now())
        .await?;
    if args.json {
        output::json(&task)?;
    } else {
        output::line(format!(
            "created task {} in lane `{}`: {}",
            task.id, task.lane, task.title
        ))?;
    }
    Ok(Outcome::Success)
}
