//! `slipway run`: up to N tasks at once, at most one active task per lane,
//! seams one task at a time, dependencies respected; one scheduler per
//! project, held by a store lease with a heartbeat. After a crash, tasks in
//! a work state resume from the start of that stage.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use slipway_store::{LeaseGrant, TaskFilter};
use slipway_types::{Task, TaskId, TaskState};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::pipeline::holder_is_gone;
use crate::stages::Step;
use crate::{Pipeline, PipelineError};

/// The store lease only one scheduler of a project holds.
pub const SCHEDULER_LEASE: &str = "scheduler";
const LEASE_TTL: Duration = Duration::from_secs(30);
const HEARTBEAT: Duration = Duration::from_secs(10);
/// How often an idle scheduler looks for new work.
const POLL: Duration = Duration::from_millis(500);

/// How `run` behaves.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Tasks worked on at once.
    pub agents: usize,
    /// Return once nothing can move without a person.
    pub until_idle: bool,
    /// Who holds the scheduler lease (host and process).
    pub holder: String,
}

/// What a scheduler run did, counted by where the tasks it drove ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Tasks and the state each was left in.
    pub ended: Vec<(TaskId, TaskState)>,
    /// Tasks waiting for something (a seam), with why.
    pub waiting: Vec<(TaskId, String)>,
}

impl Pipeline {
    /// Runs the scheduler until idle (with `until_idle`) or until `stop` is set.
    pub async fn run(
        self: &Arc<Self>,
        settings: &RunSettings,
        mut stop: watch::Receiver<bool>,
    ) -> Result<RunSummary, PipelineError> {
        self.take_scheduler_lease(&settings.holder).await?;
        let heartbeat = self.heartbeat(settings.holder.clone());
        let result = self.schedule(settings, &mut stop).await;
        heartbeat.abort();
        self.store
            .release_lease(SCHEDULER_LEASE, &settings.holder)
            .await?;
        result
    }

    async fn take_scheduler_lease(&self, holder: &str) -> Result<(), PipelineError> {
        match self
            .store
            .acquire_lease(SCHEDULER_LEASE, holder, LEASE_TTL, Timestamp::now())
            .await?
        {
            LeaseGrant::Acquired(_) => Ok(()),
            LeaseGrant::HeldBy(lease) if holder_is_gone(&lease.holder) => {
                self.progress.note(
                    None,
                    &format!(
                        "the scheduler {} stopped without giving back its lease; taking over",
                        lease.holder
                    ),
                );
                self.store
                    .release_lease(SCHEDULER_LEASE, &lease.holder)
                    .await?;
                Box::pin(self.take_scheduler_lease(holder)).await
            }
            LeaseGrant::HeldBy(lease) => Err(PipelineError::SchedulerBusy {
                holder: lease.holder,
                until: lease.expires_at.to_string(),
            }),
        }
    }

    fn heartbeat(&self, holder: String) -> tokio::task::JoinHandle<()> {
        let store = Arc::clone(&self.store);
        let progress = Arc::clone(&self.progress);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                if let Err(err) = store
                    .renew_lease(SCHEDULER_LEASE, &holder, LEASE_TTL, Timestamp::now())
                    .await
                {
                    progress.note(
                        None,
                        &format!("warning: the scheduler lease could not be renewed: {err}"),
                    );
                }
            }
        })
    }

    async fn schedule(
        self: &Arc<Self>,
        settings: &RunSettings,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<RunSummary, PipelineError> {
        let mut running: JoinSet<(TaskId, Result<Step, PipelineError>)> = JoinSet::new();
        let mut busy: BTreeSet<TaskId> = BTreeSet::new();
        let mut summary = RunSummary::default();
        // Tasks that waited this round; tried again when something ends.
        let mut parked: BTreeSet<TaskId> = BTreeSet::new();
        loop {
            let stopping = *stop.borrow();
            if !stopping {
                let tasks = self.store.tasks(&TaskFilter::default()).await?;
                let room = settings.agents.saturating_sub(busy.len());
                let chosen: Vec<TaskId> = pick(&tasks, &busy, &parked, room)
                    .iter()
                    .map(|t| t.id)
                    .collect();
                for id in chosen {
                    busy.insert(id);
                    let me = Arc::clone(self);
                    running.spawn(async move { (id, me.drive(id).await) });
                }
            }
            if running.is_empty() {
                if stopping || settings.until_idle {
                    break;
                }
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    changed = stop.changed() => {
                        if changed.is_err() {
                            break;
                        }
                    }
                }
                parked.clear();
                continue;
            }
            let joined = if stopping {
                // Nothing new starts; wait for the stages in flight.
                running.join_next().await
            } else {
                tokio::select! {
                    joined = running.join_next() => joined,
                    _ = stop.changed() => continue,
                }
            };
            let Some(joined) = joined else { continue };
            let (id, outcome) = joined
                .map_err(|e| PipelineError::Other(format!("a task's worker stopped: {e}")))?;
            busy.remove(&id);
            match outcome {
                Ok(Step::Waiting(why)) => {
                    parked.insert(id);
                    summary.waiting.retain(|(t, _)| *t != id);
                    summary.waiting.push((id, why));
                }
                Ok(_) => {
                    parked.clear();
                    summary.waiting.retain(|(t, _)| *t != id);
                    let state = self.store.task(id).await?.state;
                    summary.ended.retain(|(t, _)| *t != id);
                    summary.ended.push((id, state));
                }
                Err(err) => {
                    self.progress.note(Some(id), &format!("error: {err}"));
                    let task = self.store.task(id).await?;
                    if TaskState::STAGES.contains(&task.state) {
                        parked.clear();
                        self.fail(&task, &format!("{err}")).await?;
                    } else {
                        // A queued task whose workspace could not be made stays
                        // queued; it is not tried again in this run.
                        summary.waiting.retain(|(t, _)| *t != id);
                        summary
                            .waiting
                            .push((id, format!("could not start: {err}")));
                        parked.insert(id);
                        continue;
                    }
                    summary.ended.retain(|(t, _)| *t != id);
                    summary.ended.push((id, self.store.task(id).await?.state));
                }
            }
        }
        Ok(summary)
    }

    /// Drives one task stage by stage until it leaves the work states or waits.
    pub async fn drive(&self, id: TaskId) -> Result<Step, PipelineError> {
        loop {
            let step = self.advance(id).await?;
            match step {
                Step::Moved(state)
                    if state == TaskState::Planning || TaskState::STAGES.contains(&state) => {}
                other => return Ok(other),
            }
        }
    }
}

/// Chooses up to `room` tasks to start or resume: tasks in a work state
/// first (oldest first), then queued tasks whose dependencies are staged or
/// released and whose lane has no active task.
#[must_use]
pub fn pick<'a>(
    tasks: &'a [Task],
    busy: &BTreeSet<TaskId>,
    parked: &BTreeSet<TaskId>,
    room: usize,
) -> Vec<&'a Task> {
    let state_of = |id: TaskId| tasks.iter().find(|t| t.id == id).map(|t| t.state);
    let mut lanes: BTreeSet<&str> = tasks
        .iter()
        .filter(|t| TaskState::STAGES.contains(&t.state))
        .map(|t| t.lane.as_str())
        .collect();
    let mut chosen: Vec<&Task> = tasks
        .iter()
        .filter(|t| {
            TaskState::STAGES.contains(&t.state) && !busy.contains(&t.id) && !parked.contains(&t.id)
        })
        .collect();
    for task in tasks.iter().filter(|t| t.state == TaskState::Queued) {
        let ready = task
            .depends_on
            .iter()
            .all(|d| matches!(state_of(*d), Some(TaskState::Staged | TaskState::Released)));
        if ready && lanes.insert(task.lane.as_str()) {
            chosen.push(task);
        }
    }
    chosen.truncate(room);
    chosen
}
