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
    /// Queued tasks that could not start (their workspace could not be made), with why.
    pub not_started: Vec<(TaskId, String)>,
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
        // Set when the stop signal's sender is gone: nothing can stop us
        // later, so this counts as a stop.
        let mut orphaned = false;
        loop {
            let stopping = orphaned || *stop.borrow();
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
                    changed = stop.changed() => orphaned |= changed.is_err(),
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
                    changed = stop.changed() => {
                        orphaned |= changed.is_err();
                        continue;
                    }
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
                    self.sync_noted(id).await;
                }
                Err(err) => {
                    self.progress.note(Some(id), &format!("error: {err}"));
                    let task = self.store.task(id).await?;
                    if task.state.is_stage() {
                        parked.clear();
                        self.fail(&task, &format!("{err}")).await?;
                    } else {
                        // A queued task whose workspace could not be made stays
                        // queued; it is not tried again in this run.
                        summary.not_started.retain(|(t, _)| *t != id);
                        summary
                            .not_started
                            .push((id, format!("could not start: {err}")));
                        parked.insert(id);
                        continue;
                    }
                    summary.ended.retain(|(t, _)| *t != id);
                    summary.ended.push((id, self.store.task(id).await?.state));
                    self.sync_noted(id).await;
                }
            }
        }
        Ok(summary)
    }

    /// Writes the State section of `AGENTS.md` after `id`'s turn ended; a
    /// failure is noted, and the run goes on.
    async fn sync_noted(&self, id: TaskId) {
        if let Err(err) = self.sync_context().await {
            self.progress.note(
                Some(id),
                &format!("warning: the State section of AGENTS.md was not updated: {err}"),
            );
        }
    }

    /// Drives one task stage by stage until it leaves the work states or waits.
    pub async fn drive(&self, id: TaskId) -> Result<Step, PipelineError> {
        loop {
            let step = self.advance(id).await?;
            match step {
                Step::Moved(state) if state.is_stage() => {}
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
        .filter(|t| t.state.is_stage())
        .map(|t| t.lane.as_str())
        .collect();
    let mut chosen: Vec<&Task> = tasks
        .iter()
        .filter(|t| t.state.is_stage() && !busy.contains(&t.id) && !parked.contains(&t.id))
        .collect();
    for task in tasks.iter().filter(|t| {
        t.state == TaskState::Queued && !parked.contains(&t.id) && !busy.contains(&t.id)
    }) {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use jiff::Timestamp;
    use slipway_types::{Task, TaskId, TaskState};

    use super::pick;

    fn task(id: i64, lane: &str, state: TaskState, deps: &[i64]) -> Task {
        Task {
            id: TaskId(id),
            title: format!("task {id}"),
            body: String::new(),
            lane: lane.to_owned(),
            state,
            depends_on: deps.iter().copied().map(TaskId).collect(),
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn ids(tasks: &[&Task]) -> Vec<i64> {
        tasks.iter().map(|t| t.id.0).collect()
    }

    #[test]
    fn one_active_task_per_lane_dependencies_first_and_parked_tasks_wait() {
        let tasks = [
            task(1, "api", TaskState::Coding, &[]),
            task(2, "api", TaskState::Queued, &[]),
            task(3, "web", TaskState::Queued, &[1]),
            task(4, "docs", TaskState::Queued, &[5]),
            task(5, "db", TaskState::Staged, &[]),
            task(6, "ops", TaskState::Queued, &[]),
            task(7, "ops", TaskState::Queued, &[]),
        ];
        let none = BTreeSet::new();
        // 1 resumes; 2 waits for its lane; 3 for task 1; 4 may start (5 is
        // staged); of 6 and 7, one per lane.
        assert_eq!(ids(&pick(&tasks, &none, &none, 10)), [1, 4, 6]);
        assert_eq!(ids(&pick(&tasks, &none, &none, 2)), [1, 4]);
        let busy = BTreeSet::from([TaskId(1)]);
        assert_eq!(ids(&pick(&tasks, &busy, &none, 10)), [4, 6]);
        let parked = BTreeSet::from([TaskId(4), TaskId(6)]);
        assert_eq!(ids(&pick(&tasks, &busy, &parked, 10)), [7]);
    }
}
