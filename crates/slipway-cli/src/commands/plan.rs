//! `slipway plan SPEC.md`: a planner agent reads the spec and the code and
//! proposes tasks, each in one lane with its seams and dependencies; a
//! person confirms, and the tasks are created.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use jiff::Timestamp;
use slipway_pipeline::{AgentJob, PROPOSAL_HINT, ProposedTask, parse_proposal};
use slipway_policy::{AgentRole, mark_untrusted};
use slipway_runtime::{Cancel, Stop};
use slipway_sandbox::Sandbox;
use slipway_store::Store;
use slipway_types::{NewTask, TaskId, TaskState};

use crate::agents::configured;
use crate::commands::GlobalArgs;
use crate::project::{Project, actor};
use crate::{Outcome, output};

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// The spec to split into tasks (Markdown)
    spec: PathBuf,
    /// Create the proposed tasks without asking
    #[arg(long)]
    yes: bool,
}

pub(crate) async fn run(args: &PlanArgs, global: &GlobalArgs) -> Result<Outcome> {
    let project = Project::open(global)?;
    let path = project.resolve(&args.spec);
    let spec = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the spec {}", path.display()))?;
    if spec.trim().is_empty() {
        bail!(
            "the spec {} is empty: write what is to be built first",
            path.display()
        );
    }
    let store: Arc<dyn Store> = Arc::from(project.store().await?);
    let lanes: Vec<&str> = project.config.lanes.keys().map(String::as_str).collect();
    let seams: Vec<&str> = project
        .config
        .seams
        .paths
        .iter()
        .map(String::as_str)
        .collect();
    // The planner reads and writes nothing; it runs no command.
    let agents = configured(
        &project,
        Arc::clone(&store),
        Arc::new(Sandbox::unsandboxed()),
        BTreeMap::new(),
        Arc::new(Cancel::default()),
    )?;
    let mut prompt = format!(
        "[spec → tasks] Split the spec below into tasks for this project. Read the code you need to.\n\n\
         Lanes: {}. Seams: {}.\n\n{PROPOSAL_HINT}\n\n{}",
        lanes.join(", "),
        if seams.is_empty() {
            "none".to_owned()
        } else {
            seams.join(", ")
        },
        mark_untrusted(
            &format!("the spec {}", args.spec.display()),
            &spec,
            &slipway_runtime::boundary()
        ),
    );
    eprintln!("planner reads {} and the code…", args.spec.display());
    let mut tasks = None;
    for attempt in 0..2 {
        let job = AgentJob {
            role: AgentRole::Planner,
            task: TaskId(0),
            lane: String::new(),
            seams: Vec::new(),
            workdir: project.root.clone(),
            prompt: prompt.clone(),
        };
        let report = agents.run_for(&job, None, None).await?;
        if report.stop != Stop::Finished {
            bail!(
                "the planner stopped before it answered ({:?}); `slipway trace show {}` has its run",
                report.stop,
                report.trace_id
            );
        }
        match parse_proposal(&report.text, &lanes, &seams) {
            Ok(found) => {
                tasks = Some(found);
                break;
            }
            Err(err) if attempt == 0 => {
                eprintln!("the proposal could not be used ({err}); asking once more");
                prompt.push_str("\n\nYour previous answer could not be used; the reason follows. Answer again with only the JSON object.\n");
                prompt.push_str(&mark_untrusted(
                    "the reason",
                    &err.to_string(),
                    &slipway_runtime::boundary(),
                ));
            }
            Err(err) => bail!(
                "{err}; `slipway trace show {}` has the planner's run",
                report.trace_id
            ),
        }
    }
    let Some(tasks) = tasks else {
        bail!("the planner gave no usable proposal");
    };
    show(&tasks)?;
    if !args.yes && !confirm(tasks.len())? {
        output::line("nothing created")?;
        return Ok(Outcome::Problems);
    }
    create(&project, store.as_ref(), &tasks).await?;
    Ok(Outcome::Success)
}

fn show(tasks: &[ProposedTask]) -> Result<()> {
    output::line(format!("The planner proposes {} task(s):", tasks.len()))?;
    for (i, task) in tasks.iter().enumerate() {
        let mut extra = Vec::new();
        if !task.seams.is_empty() {
            extra.push(format!("seams {}", task.seams.join(", ")));
        }
        if !task.depends_on.is_empty() {
            let deps: Vec<String> = task.depends_on.iter().map(|d| format!("#{d}")).collect();
            extra.push(format!("after {}", deps.join(", ")));
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(" ({})", extra.join("; "))
        };
        output::line(format!(
            "  #{} [{}] {}{extra}",
            i + 1,
            task.lane,
            output::clean(&task.title)
        ))?;
        for line in task.body.lines().take(6) {
            output::line(format!("       {}", output::clean(line)))?;
        }
    }
    Ok(())
}

/// Asks on the terminal; without one, refuses and says how to go on.
fn confirm(count: usize) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to confirm on: run again with --yes to create the {count} task(s)");
    }
    eprint!("Create these {count} task(s)? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

async fn create(project: &Project, store: &dyn Store, tasks: &[ProposedTask]) -> Result<()> {
    let who = actor(&project.root);
    let mut ids: Vec<TaskId> = Vec::new();
    for task in tasks {
        let new = NewTask {
            title: task.title.trim().to_owned(),
            body: task.body.clone(),
            lane: task.lane.clone(),
            depends_on: task.depends_on.iter().map(|d| ids[d - 1]).collect(),
        };
        let created = store.create_task(&new, &who, Timestamp::now()).await?;
        store.set_task_seams(created.id, &task.seams).await?;
        debug_assert_eq!(created.state, TaskState::Queued);
        output::line(format!(
            "created task {} in lane `{}`: {}",
            created.id,
            created.lane,
            output::clean(&created.title)
        ))?;
        ids.push(created.id);
    }
    output::line("`slipway run` starts them")?;
    Ok(())
}
