//! The `Store` trait: what the rest of Slipway may ask of its database, and
//! the small types its calls take and return.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use slipway_types::{
    ContentDirection, ContentId, ContentKind, ContentRef, Lease, NewRelease, NewTask, Release,
    Span, SpanId, SpanStatus, StageRecord, StageResult, Task, TaskEvent, TaskId, TaskState,
    TokenCounts, Trace, TraceId,
};

use crate::error::StoreError;
use crate::location::{Backend, StoreLocation};

/// Which tasks [`Store::tasks`] returns; an empty filter returns them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub state: Option<TaskState>,
    pub lane: Option<String>,
}

/// A task as the board shows it: no body, no dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardCard {
    pub id: TaskId,
    pub title: String,
    pub lane: String,
    pub state: TaskState,
    pub updated_at: Timestamp,
}

/// What [`Store::board`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Board {
    /// The newest tasks of each lane and state (by `updated_at`, then id),
    /// ordered by id.
    pub cards: Vec<BoardCard>,
    /// How many tasks each lane has in each state, for every pair that has
    /// any, ordered by lane and state name (byte by byte).
    pub counts: Vec<(String, TaskState, u64)>,
}

/// A requested change of a task's state, recorded as one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub to: TaskState,
    pub actor: String,
    pub reason: String,
    pub at: Timestamp,
    /// The state the caller believes the task is in; the change is refused
    /// with [`StoreError::Conflict`] when it is not.
    pub expected_from: Option<TaskState>,
}

/// The answer to [`Store::acquire_lease`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseGrant {
    /// The caller holds the lease now (newly taken, or renewed).
    Acquired(Lease),
    /// Someone else holds an unexpired lease.
    HeldBy(Lease),
}

/// A body a batch links: stored before, or the batch's own `bodies[i]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRef {
    Stored(ContentId),
    New(usize),
}

/// One link of a batch: the body at `position` among the span's inputs or outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLink {
    pub span: SpanId,
    pub direction: ContentDirection,
    pub position: i64,
    pub body: BodyRef,
}

/// One message of a context: the body at `position` of the context that the
/// `chat` span `context` opened (position 0 is the system prompt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextMessage {
    pub context: SpanId,
    pub position: i64,
    pub body: BodyRef,
}

/// What a model call sent: the first `messages` messages of `context`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanContext {
    pub span: SpanId,
    pub context: SpanId,
    pub messages: i64,
}

/// Trace records written together by [`Store::write_batch`], in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceBatch {
    /// Bodies to store once each (by kind and content), as `put_content` does.
    pub bodies: Vec<(ContentKind, String)>,
    /// Spans to insert, started or already ended, parents before children.
    pub spans: Vec<Span>,
    /// Ends of spans inserted by earlier writes, as `finish_span` records them.
    pub ends: Vec<(SpanId, SpanEnd)>,
    /// Links of bodies to spans (of this batch or earlier ones).
    pub links: Vec<BatchLink>,
    /// Messages appended to contexts; within a batch, one context's
    /// positions are consecutive and follow those stored before (or start at 0).
    pub context_messages: Vec<ContextMessage>,
    /// What model calls sent, as prefixes of their contexts.
    pub span_contexts: Vec<SpanContext>,
}

impl TraceBatch {
    /// Returns true when there is nothing to write.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
            && self.spans.is_empty()
            && self.ends.is_empty()
            && self.links.is_empty()
            && self.context_messages.is_empty()
            && self.span_contexts.is_empty()
    }

    /// Appends `later` after this batch's records, renumbering its new
    /// bodies (`BodyRef::New`) to their places in the joined batch.
    pub fn append(&mut self, later: Self) {
        let shift = self.bodies.len();
        let moved = |body: BodyRef| match body {
            BodyRef::New(i) => BodyRef::New(i + shift),
            stored @ BodyRef::Stored(_) => stored,
        };
        self.bodies.extend(later.bodies);
        self.spans.extend(later.spans);
        self.ends.extend(later.ends);
        self.links
            .extend(later.links.into_iter().map(|link| BatchLink {
                body: moved(link.body),
                ..link
            }));
        self.context_messages
            .extend(
                later
                    .context_messages
                    .into_iter()
                    .map(|message| ContextMessage {
                        body: moved(message.body),
                        ..message
                    }),
            );
        self.span_contexts.extend(later.span_contexts);
    }
}

/// How a run ended, for [`Store::finish_trace`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEnd {
    pub status: SpanStatus,
    pub ended_at: Timestamp,
    pub tokens: TokenCounts,
    /// `None` when a price was unknown: stored as NULL, never as 0.
    pub cost_micros: Option<i64>,
    pub error: Option<String>,
}

/// How a span ended, for [`Store::finish_span`].
#[derive(Debug, Clone, PartialEq)]
pub struct SpanEnd {
    pub status: SpanStatus,
    pub ended_at: Timestamp,
    pub tokens: TokenCounts,
    pub cost_micros: Option<i64>,
    pub error: Option<String>,
    /// Attributes learned by the end (usage, response id); they are added to
    /// those the span started with, replacing any of the same name.
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// What [`Store::cost_by`] groups runs by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CostGroup {
    /// The run's model, `provider:model`.
    Model,
    Role,
    /// The task id as text; runs of no task have the empty key.
    Task,
    /// The UTC day the run started, `YYYY-MM-DD`.
    Day,
}

/// One group of runs in [`Store::cost_by`]'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostRow {
    pub key: String,
    pub runs: u64,
    pub tokens: TokenCounts,
    /// The sum of the known costs; `None` when no run of the group has one.
    pub cost_micros: Option<i64>,
    /// Runs whose cost is unknown (a model without a price, or still running
    /// without a cost), left out of `cost_micros`.
    pub unknown_cost_runs: u64,
}

/// Slipway's durable state, on SQLite or PostgreSQL, with the same answers on both.
///
/// Timestamps are kept to the microsecond; what a call returns is what a
/// later read returns.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Returns the database engine behind this store.
    fn backend(&self) -> Backend;

    /// Returns where this store's data lives.
    fn location(&self) -> &StoreLocation;

    /// Returns the latest migration applied to the database.
    async fn schema_version(&self) -> Result<i64, StoreError>;

    /// Inserts the task in `queued` and its first event (from none, to
    /// `queued`, reason "created") in one transaction.
    ///
    /// Every `depends_on` id must exist, else [`StoreError::UnknownTask`];
    /// the stored list is sorted and without duplicates.
    async fn create_task(
        &self,
        new: &NewTask,
        actor: &str,
        at: Timestamp,
    ) -> Result<Task, StoreError>;

    /// Returns one task, or [`StoreError::UnknownTask`] when there is none with that id.
    async fn task(&self, id: TaskId) -> Result<Task, StoreError>;

    /// Returns the tasks matching `filter`, ordered by id.
    async fn tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>, StoreError>;

    /// Returns the newest `per_cell` tasks of each lane and state, and how
    /// many each lane has in each state: what a board shows, in two reads
    /// that do not grow with task bodies.
    async fn board(&self, per_cell: u32) -> Result<Board, StoreError>;

    /// Moves a task to `change.to` and appends the event, in one transaction.
    ///
    /// Refuses an illegal move ([`StoreError::IllegalTransition`]), and a task
    /// not in `change.expected_from` when that is given ([`StoreError::Conflict`]).
    /// The update is a compare-and-swap on the current state: a concurrent
    /// change makes this call fail with `Conflict`, never a lost update.
    async fn transition(&self, id: TaskId, change: &StateChange) -> Result<Task, StoreError>;

    /// Returns the events of one task, or of all tasks, ordered by event id.
    ///
    /// A task that does not exist has no events: [`StoreError::UnknownTask`].
    async fn events(&self, task: Option<TaskId>) -> Result<Vec<TaskEvent>, StoreError>;

    /// Returns up to `limit` events of any task recorded after the event
    /// `after` (by id), oldest first: what a live view has not seen yet.
    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<TaskEvent>, StoreError>;

    /// Returns the id of the latest event, or 0 when there is none.
    async fn last_event_id(&self) -> Result<i64, StoreError>;

    /// Takes the lease `name` for `holder` until `now + ttl`, when it is free
    /// or expired; renews it when `holder` already holds it; otherwise
    /// returns who holds it. One holder at a time, across processes and machines.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<LeaseGrant, StoreError>;

    /// Extends the lease `holder` holds to `now + ttl`, or fails with
    /// [`StoreError::LeaseLost`] when it is not held by `holder` or expired at `now`.
    async fn renew_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<Lease, StoreError>;

    /// Gives up the lease; returns true when `holder` held it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<bool, StoreError>;

    /// Returns the lease as recorded, expired or not, or `None` when nobody took it.
    async fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError>;

    /// Records the start of a run. Its task, when it has one, must exist
    /// ([`StoreError::UnknownTask`]). Committed at once, like every write here.
    async fn start_trace(&self, trace: &Trace) -> Result<(), StoreError>;

    /// Records how a run ended: status, end, tokens, cost, error; the
    /// duration follows from its start. [`StoreError::UnknownTrace`] when
    /// there is no such run.
    async fn finish_trace(&self, id: &TraceId, end: &TraceEnd) -> Result<(), StoreError>;

    /// Records the start of a span in its trace ([`StoreError::UnknownTrace`]);
    /// its parent, when it has one, must be a span of the same trace
    /// ([`StoreError::UnknownSpan`]).
    async fn start_span(&self, span: &Span) -> Result<(), StoreError>;

    /// Records how a span ended, adding `end.attributes` to the span's own.
    /// [`StoreError::UnknownSpan`] when there is no such span.
    async fn finish_span(&self, id: &SpanId, end: &SpanEnd) -> Result<(), StoreError>;

    /// Stores a body once and returns its id: the same kind and body, sent by
    /// any number of calls, is one row with one id.
    ///
    /// PostgreSQL text cannot hold NUL, so on both backends a NUL in the body
    /// is stored as U+FFFD; the identity (the SHA-256) is that of the body as given.
    async fn put_content(&self, kind: ContentKind, body: &str) -> Result<ContentId, StoreError>;

    /// Appends bodies to a span's inputs or outputs, in the order given, after
    /// any linked before. [`StoreError::UnknownSpan`] or
    /// [`StoreError::UnknownContent`] when either does not exist; then nothing is linked.
    async fn link_contents(
        &self,
        span: &SpanId,
        direction: ContentDirection,
        contents: &[ContentId],
    ) -> Result<(), StoreError>;

    /// Writes `batch` in one transaction — all of it, or nothing — and returns
    /// the ids of its bodies, in order. Spans must belong to a recorded run and
    /// parents must be written before (or earlier in `spans` than) their children;
    /// a link's or a context message's position must be free (a database
    /// error otherwise). A context's positions must run from 0 with no gap,
    /// and a span context may name only messages its context, of the same
    /// run, holds once the batch is in; otherwise [`StoreError::InvalidBatch`].
    async fn write_batch(&self, batch: &TraceBatch) -> Result<Vec<ContentId>, StoreError>;

    /// Returns the latest `limit` runs, newest first.
    async fn traces(&self, limit: u32) -> Result<Vec<Trace>, StoreError>;

    /// Returns the runs of a task, oldest first (none for an unknown task).
    async fn task_traces(&self, id: TaskId) -> Result<Vec<Trace>, StoreError>;

    /// Returns a run and its spans in the order they started, or
    /// [`StoreError::UnknownTrace`].
    async fn trace(&self, id: &TraceId) -> Result<(Trace, Vec<Span>), StoreError>;

    /// Returns the bodies a span sent (inputs first: the prefix of its
    /// context it sent, then its own input links) and received, each in order,
    /// or [`StoreError::UnknownSpan`].
    async fn span_contents(
        &self,
        span: &SpanId,
    ) -> Result<Vec<(ContentDirection, ContentRef)>, StoreError>;

    /// Returns runs' tokens and cost grouped by `group`, for runs started at
    /// or after `since` (all runs when `None`), ordered by key (tasks by
    /// number, runs of no task first).
    async fn cost_by(
        &self,
        group: CostGroup,
        since: Option<Timestamp>,
    ) -> Result<Vec<CostRow>, StoreError>;

    /// Records the seam entries a task expects to change (replacing earlier
    /// ones), without duplicates. [`StoreError::UnknownTask`] when there is no such task.
    async fn set_task_seams(&self, id: TaskId, seams: &[String]) -> Result<(), StoreError>;

    /// Returns the seam entries of a task, sorted byte by byte (the same on
    /// both backends, whatever the server's collation), or [`StoreError::UnknownTask`].
    async fn task_seams(&self, id: TaskId) -> Result<Vec<String>, StoreError>;

    /// Writes a stage's result, its findings and (when given) the state change
    /// it causes, in one transaction.
    ///
    /// The change applies to `result.task_id` and is checked exactly as
    /// [`Store::transition`] checks it (a legal move, `expected_from` as a
    /// compare-and-swap, [`StoreError::Conflict`] when the task moved, the
    /// event appended); when it is refused nothing is written. The result's
    /// time is `change.at`, or now when there is no change. A task that does
    /// not exist is [`StoreError::UnknownTask`]. Text is stored as
    /// [`Store::put_content`] stores it (NUL as U+FFFD); the record returned
    /// is what [`Store::stage_results`] reads back.
    async fn finish_stage(
        &self,
        result: &StageResult,
        change: Option<&StateChange>,
    ) -> Result<StageRecord, StoreError>;

    /// Returns a task's stage results, oldest (first recorded) first, each
    /// with its findings in the order given, or [`StoreError::UnknownTask`].
    async fn stage_results(&self, id: TaskId) -> Result<Vec<StageRecord>, StoreError>;

    /// Records a move of production at `at`, in one transaction.
    ///
    /// A release moves each listed task from `staged` to `released` (one event
    /// each, by `release.actor`, reason "released in release-N"); a listed task
    /// that is not `staged` is [`StoreError::Conflict`] (or
    /// [`StoreError::UnknownTask`]), and a release number already recorded is
    /// [`StoreError::ReleaseExists`]: then nothing is written. A rollback
    /// moves no task; its number may repeat, and the tasks it lists (those of
    /// the release rolled back) must exist. The stored task list is sorted
    /// and without duplicates.
    async fn record_release(
        &self,
        release: &NewRelease,
        at: Timestamp,
    ) -> Result<Release, StoreError>;

    /// Returns all releases and rollbacks, newest (last recorded) first, with their task ids.
    async fn releases(&self) -> Result<Vec<Release>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(n: u8) -> SpanId {
        SpanId::from_bytes([n; 8])
    }

    #[test]
    fn appending_a_batch_renumbers_its_new_bodies_only() {
        let mut first = TraceBatch {
            bodies: vec![
                (ContentKind::System, "a".into()),
                (ContentKind::Message, "b".into()),
            ],
            context_messages: vec![ContextMessage {
                context: span(1),
                position: 0,
                body: BodyRef::New(0),
            }],
            ..TraceBatch::default()
        };
        let later = TraceBatch {
            bodies: vec![(ContentKind::Response, "c".into())],
            links: vec![
                BatchLink {
                    span: span(2),
                    direction: ContentDirection::Output,
                    position: 0,
                    body: BodyRef::New(0),
                },
                BatchLink {
                    span: span(2),
                    direction: ContentDirection::Input,
                    position: 0,
                    body: BodyRef::Stored(ContentId(7)),
                },
            ],
            context_messages: vec![
                ContextMessage {
                    context: span(1),
                    position: 1,
                    body: BodyRef::New(0),
                },
                ContextMessage {
                    context: span(1),
                    position: 2,
                    body: BodyRef::Stored(ContentId(8)),
                },
            ],
            span_contexts: vec![SpanContext {
                span: span(2),
                context: span(1),
                messages: 3,
            }],
            ..TraceBatch::default()
        };
        first.append(later);
        assert_eq!(first.bodies.len(), 3);
        assert_eq!(first.bodies[2].1, "c");
        let links: Vec<BodyRef> = first.links.iter().map(|l| l.body).collect();
        assert_eq!(links, [BodyRef::New(2), BodyRef::Stored(ContentId(7))]);
        let messages: Vec<(i64, BodyRef)> = first
            .context_messages
            .iter()
            .map(|m| (m.position, m.body))
            .collect();
        assert_eq!(
            messages,
            [
                (0, BodyRef::New(0)),
                (1, BodyRef::New(2)),
                (2, BodyRef::Stored(ContentId(8)))
            ]
        );
        assert_eq!(first.span_contexts.len(), 1);
        assert!(!first.is_empty());
        let only_a_call = TraceBatch {
            span_contexts: first.span_contexts.clone(),
            ..TraceBatch::default()
        };
        assert!(
            !only_a_call.is_empty(),
            "a call's context alone is something to write"
        );
    }
}
