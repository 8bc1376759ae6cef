//! A store that passes every call to the real one and adds up how many trace
//! calls were made and how long they took, to split a step's time between
//! the store and the rest of the loop.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::Timestamp;
use slipway_store::{
    Backend, CostGroup, CostRow, LeaseGrant, SpanEnd, StateChange, Store, StoreError,
    StoreLocation, TaskFilter, TraceBatch, TraceEnd,
};
use slipway_types::{
    ContentDirection, ContentId, ContentKind, ContentRef, Lease, NewRelease, NewTask, Release,
    Span, SpanId, StageRecord, StageResult, Task, TaskEvent, TaskId, Trace, TraceId,
};

/// Calls and their total time, by store method.
pub(crate) type Tally = BTreeMap<&'static str, (u64, Duration)>;

pub(crate) struct Timed {
    inner: Box<dyn Store>,
    tally: Mutex<Tally>,
}

impl Timed {
    pub(crate) fn new(inner: Box<dyn Store>) -> Self {
        Self {
            inner,
            tally: Mutex::new(Tally::new()),
        }
    }

    /// Returns the tally so far and starts a new one.
    pub(crate) fn take(&self) -> Tally {
        std::mem::take(&mut *self.tally.lock().unwrap_or_else(PoisonError::into_inner))
    }

    async fn time<T>(&self, method: &'static str, call: impl Future<Output = T>) -> T {
        let start = Instant::now();
        let out = call.await;
        let took = start.elapsed();
        let mut tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = tally.entry(method).or_default();
        entry.0 += 1;
        entry.1 += took;
        out
    }
}

#[async_trait]
impl Store for Timed {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    fn location(&self) -> &StoreLocation {
        self.inner.location()
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        self.inner.schema_version().await
    }

    async fn create_task(
        &self,
        new: &NewTask,
        actor: &str,
        at: Timestamp,
    ) -> Result<Task, StoreError> {
        self.inner.create_task(new, actor, at).await
    }

    async fn task(&self, id: TaskId) -> Result<Task, StoreError> {
        self.inner.task(id).await
    }

    async fn tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>, StoreError> {
        self.inner.tasks(filter).await
    }

    async fn transition(&self, id: TaskId, change: &StateChange) -> Result<Task, StoreError> {
        self.inner.transition(id, change).await
    }

    async fn events(&self, task: Option<TaskId>) -> Result<Vec<TaskEvent>, StoreError> {
        self.inner.events(task).await
    }

    async fn board(&self, per_cell: u32) -> Result<slipway_store::Board, StoreError> {
        self.inner.board(per_cell).await
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<TaskEvent>, StoreError> {
        self.inner.events_after(after, limit).await
    }

    async fn last_event_id(&self) -> Result<i64, StoreError> {
        self.inner.last_event_id().await
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<LeaseGrant, StoreError> {
        self.inner.acquire_lease(name, holder, ttl, now).await
    }

    async fn renew_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<Lease, StoreError> {
        self.inner.renew_lease(name, holder, ttl, now).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<bool, StoreError> {
        self.inner.release_lease(name, holder).await
    }

    async fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        self.inner.lease(name).await
    }

    async fn start_trace(&self, trace: &Trace) -> Result<(), StoreError> {
        self.time("start_trace", self.inner.start_trace(trace))
            .await
    }

    async fn finish_trace(&self, id: &TraceId, end: &TraceEnd) -> Result<(), StoreError> {
        self.time("finish_trace", self.inner.finish_trace(id, end))
            .await
    }

    async fn write_batch(&self, batch: &TraceBatch) -> Result<Vec<ContentId>, StoreError> {
        self.time("write_batch", self.inner.write_batch(batch))
            .await
    }

    async fn start_span(&self, span: &Span) -> Result<(), StoreError> {
        self.time("start_span", self.inner.start_span(span)).await
    }

    async fn finish_span(&self, id: &SpanId, end: &SpanEnd) -> Result<(), StoreError> {
        self.time("finish_span", self.inner.finish_span(id, end))
            .await
    }

    async fn put_content(&self, kind: ContentKind, body: &str) -> Result<ContentId, StoreError> {
        self.time("put_content", self.inner.put_content(kind, body))
            .await
    }

    async fn link_contents(
        &self,
        span: &SpanId,
        direction: ContentDirection,
        contents: &[ContentId],
    ) -> Result<(), StoreError> {
        self.time(
            "link_contents",
            self.inner.link_contents(span, direction, contents),
        )
        .await
    }

    async fn traces(&self, limit: u32) -> Result<Vec<Trace>, StoreError> {
        self.inner.traces(limit).await
    }

    async fn task_traces(&self, id: TaskId) -> Result<Vec<Trace>, StoreError> {
        self.inner.task_traces(id).await
    }

    async fn trace(&self, id: &TraceId) -> Result<(Trace, Vec<Span>), StoreError> {
        self.inner.trace(id).await
    }

    async fn span_contents(
        &self,
        span: &SpanId,
    ) -> Result<Vec<(ContentDirection, ContentRef)>, StoreError> {
        self.inner.span_contents(span).await
    }

    async fn cost_by(
        &self,
        group: CostGroup,
        since: Option<Timestamp>,
    ) -> Result<Vec<CostRow>, StoreError> {
        self.inner.cost_by(group, since).await
    }

    async fn set_task_seams(&self, id: TaskId, seams: &[String]) -> Result<(), StoreError> {
        self.inner.set_task_seams(id, seams).await
    }

    async fn task_seams(&self, id: TaskId) -> Result<Vec<String>, StoreError> {
        self.inner.task_seams(id).await
    }

    async fn finish_stage(
        &self,
        result: &StageResult,
        change: Option<&StateChange>,
    ) -> Result<StageRecord, StoreError> {
        self.inner.finish_stage(result, change).await
    }

    async fn stage_results(&self, id: TaskId) -> Result<Vec<StageRecord>, StoreError> {
        self.inner.stage_results(id).await
    }

    async fn record_release(
        &self,
        release: &NewRelease,
        at: Timestamp,
    ) -> Result<Release, StoreError> {
        self.inner.record_release(release, at).await
    }

    async fn releases(&self) -> Result<Vec<Release>, StoreError> {
        self.inner.releases().await
    }
}
