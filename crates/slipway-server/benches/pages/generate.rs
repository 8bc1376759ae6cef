//! The data the page benchmark reads, written through the [`Store`] trait the
//! way Slipway writes it: 10,000 tasks over 20 lanes, created and moved one
//! call at a time through their states (so every transition is an event),
//! those meant to end released shipped 100 to a release; then the runs of
//! `spans.rs`, 1,000,000 spans, with [`Store::write_batch`].
//!
//! Everything is drawn from fixed seeds, so the same plan comes out every
//! time: a kept SQLite file can be measured again without being written
//! again, since the ids the bench asks for are known without reading them.

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use fastrand::Rng;
use jiff::Timestamp;
use slipway_store::{StateChange, Store};
use slipway_types::{
    LEGAL_TRANSITIONS, NewRelease, NewTask, ReleaseKind, SpanId, TaskId, TaskState, TraceId,
};
use tokio::task::JoinSet;

use crate::spans::{Batch, RunPlan, TYPICAL_RUN, build_run, run_plans};

pub(crate) type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

pub(crate) const TASKS: usize = 10_000;
pub(crate) const SPANS: usize = 1_000_000;
pub(crate) const LANES: [&str; 20] = [
    "api", "auth", "billing", "cli", "config", "docs", "editor", "export", "git", "import",
    "infra", "mobile", "notify", "policy", "runtime", "sandbox", "search", "store", "sync", "web",
];
/// Spans per `write_batch` call, and batches in flight.
pub(crate) const BATCH_SPANS: usize = 5_000;
const IN_FLIGHT: usize = 2;
/// Tasks moved side by side (the pools hold 4 connections).
const MOVERS: usize = 4;
/// Tasks per release.
pub(crate) const PER_RELEASE: usize = 100;
pub(crate) const SEED: u64 = 0x5119_3a7e;
/// 2025-01-01T00:00:00Z, in microseconds; a task is created every 45 minutes from then.
const T0_US: i64 = 1_735_689_600_000_000;
pub(crate) const MINUTE_US: i64 = 60_000_000;
const TASK_GAP_US: i64 = 45 * MINUTE_US;

/// How many tasks end in each state. Besides these, one task per lane is in a
/// work stage (a lane runs one task at a time), the stages taken in turn.
const FINAL_STATES: [(TaskState, usize); 7] = [
    (TaskState::Released, 8_600),
    (TaskState::Queued, 900),
    (TaskState::Cancelled, 260),
    (TaskState::Staged, 150),
    (TaskState::Ready, 30),
    (TaskState::NeedsHuman, 25),
    (TaskState::Failed, 15),
];

/// One task: what `create_task` gets, and the states it then moves through.
pub(crate) struct TaskPlan {
    new: NewTask,
    pub(crate) created_us: i64,
    /// Each move, with its time; a release is not among them.
    pub(crate) moves: Vec<(TaskState, i64)>,
    target: TaskState,
}

/// A run the bench opens, and in it the span whose bodies it shows.
pub(crate) struct Pick {
    pub(crate) id: TraceId,
    pub(crate) spans: usize,
    /// The run's last model call, and how many bodies it links.
    pub(crate) open: SpanId,
    pub(crate) open_links: usize,
}

/// Everything the generator writes, known before it is written.
pub(crate) struct Plan {
    tasks: Vec<TaskPlan>,
    runs: Vec<RunPlan>,
    pub(crate) events: usize,
    pub(crate) releases: usize,
}

impl Plan {
    /// Draws the whole plan from the fixed seed.
    pub(crate) fn new() -> Self {
        let targets = targets();
        let tasks: Vec<TaskPlan> = targets
            .iter()
            .enumerate()
            .map(|(i, target)| task_plan(i, *target))
            .collect();
        let events = tasks.iter().map(|t| 1 + t.moves.len()).sum::<usize>()
            + targets
                .iter()
                .filter(|t| **t == TaskState::Released)
                .count();
        let releases = targets
            .iter()
            .filter(|t| **t == TaskState::Released)
            .count()
            .div_ceil(PER_RELEASE);
        let runs = run_plans(&tasks);
        Self {
            tasks,
            runs,
            events,
            releases,
        }
    }

    /// Returns how many tasks end in each state.
    pub(crate) fn states(&self) -> BTreeMap<TaskState, usize> {
        let mut states = BTreeMap::new();
        for task in &self.tasks {
            *states.entry(task.target).or_default() += 1;
        }
        states
    }

    /// Returns the fewest, the median and the most spans of a run.
    pub(crate) fn run_sizes(&self) -> (usize, usize, usize) {
        let mut sizes: Vec<usize> = self.runs.iter().map(|r| r.spans).collect();
        sizes.sort_unstable();
        (
            sizes.first().copied().unwrap_or(0),
            sizes.get(sizes.len() / 2).copied().unwrap_or(0),
            sizes.last().copied().unwrap_or(0),
        )
    }

    pub(crate) fn captured_runs(&self) -> usize {
        self.runs.iter().filter(|r| r.capture).count()
    }

    /// Returns the typical run (100 spans, bodies kept).
    pub(crate) fn typical(&self) -> Pick {
        self.pick(TYPICAL_RUN)
    }

    /// Returns the run with the most spans.
    pub(crate) fn largest(&self) -> Pick {
        let index = (0..self.runs.len())
            .max_by_key(|i| (self.runs[*i].spans, std::cmp::Reverse(*i)))
            .unwrap_or(0);
        self.pick(index)
    }

    fn pick(&self, index: usize) -> Pick {
        let plan = &self.runs[index];
        let mut batch = Batch::default();
        let built = build_run(plan, &mut batch);
        Pick {
            id: plan.id.clone(),
            spans: plan.spans,
            open: built.last_chat,
            open_links: built.last_chat_links,
        }
    }

    /// Writes the plan into `store` (which must be empty), saying how far it got on stderr.
    pub(crate) async fn write(&self, store: &Arc<dyn Store>) -> BenchResult<()> {
        let started = Instant::now();
        for (i, task) in self.tasks.iter().enumerate() {
            let created = store
                .create_task(&task.new, "planner", at(task.created_us))
                .await?;
            if created.id != task_id(i) {
                return Err(
                    format!("task {i} got id {}: the store was not empty", created.id.0).into(),
                );
            }
            if (i + 1) % 2_500 == 0 {
                eprintln!("  created {} tasks ({:.0?})", i + 1, started.elapsed());
            }
        }
        self.move_tasks(store, started).await?;
        self.release(store).await?;
        eprintln!(
            "  tasks done: {} events, {} releases ({:.0?})",
            self.events,
            self.releases,
            started.elapsed()
        );
        self.write_runs(store).await
    }

    /// Moves every task through its states, `MOVERS` tasks at a time.
    async fn move_tasks(&self, store: &Arc<dyn Store>, started: Instant) -> BenchResult<()> {
        let paths: Arc<Vec<Vec<(TaskState, i64)>>> =
            Arc::new(self.tasks.iter().map(|t| t.moves.clone()).collect());
        let done = Arc::new(AtomicUsize::new(0));
        let mut movers = JoinSet::new();
        for mover in 0..MOVERS {
            let (store, paths, done) = (Arc::clone(store), Arc::clone(&paths), Arc::clone(&done));
            movers.spawn(async move {
                for i in (mover..paths.len()).step_by(MOVERS) {
                    let mut from = TaskState::Queued;
                    for &(to, us) in &paths[i] {
                        store.transition(task_id(i), &change(from, to, us)).await?;
                        from = to;
                    }
                    let count = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if count % 2_500 == 0 {
                        eprintln!("  moved {count} tasks ({:.0?})", started.elapsed());
                    }
                }
                BenchResult::Ok(())
            });
        }
        while let Some(moved) = movers.join_next().await {
            moved??;
        }
        Ok(())
    }

    /// Releases the tasks meant to end released, `PER_RELEASE` at a time, oldest first.
    async fn release(&self, store: &Arc<dyn Store>) -> BenchResult<()> {
        let released: Vec<(TaskId, i64)> = self
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.target == TaskState::Released)
            .map(|(i, t)| (task_id(i), t.moves.last().map_or(t.created_us, |m| m.1)))
            .collect();
        for (n, chunk) in released.chunks(PER_RELEASE).enumerate() {
            let number = i64::try_from(n + 1)?;
            let last = chunk.iter().map(|(_, us)| *us).max().unwrap_or(T0_US);
            let release = NewRelease {
                kind: ReleaseKind::Release,
                number,
                sha: format!("{:040x}", n + 1),
                tag: format!("release-{number}"),
                note: format!("weekly release {number}"),
                actor: "person".to_owned(),
                tasks: chunk.iter().map(|(id, _)| *id).collect(),
            };
            store
                .record_release(&release, at(last + 60 * MINUTE_US))
                .await?;
        }
        Ok(())
    }

    /// Writes every run and its spans, `BATCH_SPANS` spans per batch.
    async fn write_runs(&self, store: &Arc<dyn Store>) -> BenchResult<()> {
        let started = Instant::now();
        let mut writes: JoinSet<BenchResult<usize>> = JoinSet::new();
        let mut written = 0;
        let mut next_report = 100_000;
        let mut runs = self.runs.iter().peekable();
        while runs.peek().is_some() {
            let mut batch = Batch::default();
            let mut traces = Vec::new();
            while batch.inner.spans.len() < BATCH_SPANS
                && let Some(plan) = runs.next()
            {
                traces.push(build_run(plan, &mut batch).trace);
            }
            if writes.len() >= IN_FLIGHT
                && let Some(done) = writes.join_next().await
            {
                written += done??;
            }
            let store = Arc::clone(store);
            writes.spawn(async move {
                for trace in &traces {
                    store.start_trace(trace).await?;
                }
                store.write_batch(&batch.inner).await?;
                Ok(batch.inner.spans.len())
            });
            if written >= next_report {
                eprintln!("  wrote {written} spans ({:.0?})", started.elapsed());
                next_report += 100_000;
            }
        }
        while let Some(done) = writes.join_next().await {
            written += done??;
        }
        eprintln!(
            "  runs done: {} runs, {written} spans ({:.0?})",
            self.runs.len(),
            started.elapsed()
        );
        if written != SPANS {
            return Err(format!("wrote {written} spans, not {SPANS}").into());
        }
        Ok(())
    }
}

pub(crate) fn task_id(index: usize) -> TaskId {
    TaskId(i64::try_from(index).unwrap_or(i64::MAX) + 1)
}

/// Returns the timestamp `us` microseconds after the epoch (every time here
/// lies in 2025–2026, far inside the range).
pub(crate) fn at(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn change(from: TaskState, to: TaskState, us: i64) -> StateChange {
    let reason = LEGAL_TRANSITIONS
        .iter()
        .find(|(f, t, _)| *f == from && *t == to)
        .map_or("moved", |(_, _, why)| *why);
    let actor = match (from, to) {
        (TaskState::Queued, TaskState::Planning) => "scheduler",
        (TaskState::Ready, _) | (_, TaskState::Cancelled) => "person",
        _ => "pipeline",
    };
    StateChange {
        to,
        actor: actor.to_owned(),
        reason: reason.to_owned(),
        at: at(us),
        expected_from: Some(from),
    }
}

/// Returns where each task ends: the newest 900 queued, one task per lane in
/// a work stage just before them, the states that wait on a person among the
/// 1,000 before those, cancellations anywhere older, and the rest released.
fn targets() -> Vec<TaskState> {
    let mut rng = Rng::with_seed(SEED);
    let mut targets = vec![TaskState::Released; TASKS];
    let count = |state| {
        FINAL_STATES
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n)
    };
    let queued_from = TASKS - count(TaskState::Queued);
    let staged_from = queued_from - LANES.len();
    for target in &mut targets[queued_from..] {
        *target = TaskState::Queued;
    }
    for (lane, target) in targets[staged_from..queued_from].iter_mut().enumerate() {
        *target = TaskState::STAGES[lane % TaskState::STAGES.len()];
    }
    let mut recent: Vec<usize> = (staged_from - 1_000..staged_from).collect();
    rng.shuffle(&mut recent);
    let mut recent = recent.into_iter();
    for state in [
        TaskState::Staged,
        TaskState::Ready,
        TaskState::NeedsHuman,
        TaskState::Failed,
    ] {
        for i in recent.by_ref().take(count(state)) {
            targets[i] = state;
        }
    }
    let mut older: Vec<usize> = (0..staged_from)
        .filter(|i| targets[*i] == TaskState::Released)
        .collect();
    rng.shuffle(&mut older);
    for i in older.into_iter().take(count(TaskState::Cancelled)) {
        targets[i] = TaskState::Cancelled;
    }
    targets
}

/// Returns the states of a task's way to `staged`, with the loops of a real
/// pipeline drawn at random: plans sent back, red tests, code sent back, rejections.
fn full_path(rng: &mut Rng, debug: bool) -> Vec<TaskState> {
    use TaskState::{CodeReview, Coding, Debugging, PlanReview, Planning, Ready, Staged, Testing};
    let mut path = vec![Planning, PlanReview];
    if rng.u8(..100) < 20 {
        path.extend([Planning, PlanReview]);
    }
    path.extend([Coding, Testing]);
    if debug || rng.u8(..100) < 30 {
        path.extend([Debugging, Testing]);
    }
    path.push(CodeReview);
    if rng.u8(..100) < 20 {
        path.extend([Coding, Testing, CodeReview]);
    }
    path.push(Ready);
    if rng.u8(..100) < 5 {
        path.extend([Coding, Testing, CodeReview, Ready]);
    }
    path.push(Staged);
    path
}

/// Returns the states a task moves through to end in `target` (queued first, not listed).
fn path_to(target: TaskState, rng: &mut Rng) -> Vec<TaskState> {
    let full = full_path(rng, target == TaskState::Debugging);
    let upto = |state: TaskState| {
        let end = full
            .iter()
            .position(|s| *s == state)
            .map_or(full.len(), |p| p + 1);
        full[..end].to_vec()
    };
    match target {
        TaskState::Queued => Vec::new(),
        TaskState::Released | TaskState::Staged => full,
        TaskState::NeedsHuman => {
            let from = [
                TaskState::PlanReview,
                TaskState::Testing,
                TaskState::CodeReview,
            ][rng.usize(..3)];
            let mut path = upto(from);
            path.push(TaskState::NeedsHuman);
            path
        }
        TaskState::Failed => {
            let stages: Vec<TaskState> = TaskState::STAGES
                .into_iter()
                .filter(|s| full.contains(s))
                .collect();
            let mut path = upto(stages[rng.usize(..stages.len())]);
            path.push(TaskState::Failed);
            path
        }
        TaskState::Cancelled => {
            let mut path = if rng.u8(..100) < 40 {
                Vec::new()
            } else {
                full[..rng.usize(1..full.len())].to_vec()
            };
            path.push(TaskState::Cancelled);
            path
        }
        stage => upto(stage),
    }
}

const VERBS: [&str; 10] = [
    "Add", "Fix", "Refactor", "Document", "Speed up", "Remove", "Test", "Split", "Rename", "Harden",
];
const OBJECTS: [&str; 12] = [
    "the retry budget",
    "pagination",
    "the cache key",
    "error messages",
    "the config loader",
    "token refresh",
    "the import path",
    "rate limits",
    "the schema migration",
    "audit logging",
    "the progress bar",
    "input validation",
];
const WORDS: [&str; 32] = [
    "the", "store", "returns", "a", "task", "when", "lane", "is", "free", "and", "every",
    "request", "must", "check", "its", "token", "before", "writing", "to", "disk", "so", "that",
    "tests", "pass", "on", "both", "backends", "with", "one", "error", "per", "input",
];

/// Returns about `bytes` of prose drawn from `rng`, a line every dozen words.
pub(crate) fn prose(rng: &mut Rng, bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 16);
    let mut words = 0;
    while text.len() < bytes {
        text.push_str(WORDS[rng.usize(..WORDS.len())]);
        words += 1;
        text.push(if words % 12 == 0 { '\n' } else { ' ' });
    }
    text
}

fn task_plan(i: usize, target: TaskState) -> TaskPlan {
    let mut rng = Rng::with_seed(SEED ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let lane = LANES[i % LANES.len()];
    let title = format!(
        "{} {} in {lane} ({})",
        VERBS[rng.usize(..VERBS.len())],
        OBJECTS[rng.usize(..OBJECTS.len())],
        rng.u16(100..1000)
    );
    let body_bytes = rng.usize(300..3_000);
    let body = format!("## Goal\n\n{}", prose(&mut rng, body_bytes));
    // Dependencies: earlier tasks of the same lane.
    let same_lane = |back: usize| i.checked_sub(back * LANES.len()).map(task_id);
    let depends_on = match rng.u8(..100) {
        0..30 => same_lane(rng.usize(1..5)).into_iter().collect(),
        30..40 => [same_lane(1), same_lane(rng.usize(2..8))]
            .into_iter()
            .flatten()
            .collect(),
        _ => Vec::new(),
    };
    let created_us = T0_US + i64::try_from(i).unwrap_or(0) * TASK_GAP_US;
    let mut clock = created_us;
    let moves = path_to(target, &mut rng)
        .into_iter()
        .map(|state| {
            clock += rng.i64(2..40) * MINUTE_US;
            (state, clock)
        })
        .collect();
    TaskPlan {
        new: NewTask {
            title,
            body,
            lane: lane.to_owned(),
            depends_on,
        },
        created_us,
        moves,
        target,
    }
}
