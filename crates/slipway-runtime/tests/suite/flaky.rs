//! A real store whose batch writes can be made to fail: it lets a test see
//! what a run keeps when writing its trace fails for a while.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

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

/// Passes every call to `inner`, but fails the next `failures` batch writes
/// (the file is locked), or refuses the next `refusals` as invalid.
pub(crate) struct Flaky {
    inner: Arc<dyn Store>,
    failures: AtomicUsize,
    refusals: AtomicUsize,
}

impl Flaky {
    pub(crate) fn wrap(inner: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            failures: AtomicUsize::new(0),
            refusals: AtomicUsize::new(0),
        })
    }

    /// Makes the next `n` batch writes fail, writing nothing.
    pub(crate) fn fail_next(&self, n: usize) {
        self.failures.store(n, Ordering::SeqCst);
    }

    /// Makes the next `n` batch writes be refused as invalid, writing nothing.
    pub(crate) fn refuse_next(&self, n: usize) {
        self.refusals.store(n, Ordering::SeqCst);
    }
}

/// Takes one from a count of writes left to spoil; false when none is left.
fn take_one(left: &AtomicUsize) -> bool {
    left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

#[async_trait]
impl Store for Flaky {
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
        self.inner.start_trace(trace).await
    }

    async fn finish_trace(&self, id: &TraceId, end: &TraceEnd) -> Result<(), StoreError> {
        self.inner.finish_trace(id, end).await
    }

    async fn write_batch(&self, batch: &TraceBatch) -> Result<Vec<ContentId>, StoreError> {
        if take_one(&self.failures) {
            return Err(StoreError::Locked {
                path: "flaky.db".into(),
                waited: Duration::from_secs(5),
            });
        }
        if take_one(&self.refusals) {
            return Err(StoreError::InvalidBatch {
                detail: "refused by the test".into(),
            });
        }
        self.inner.write_batch(batch).await
    }

    async fn start_span(&self, span: &Span) -> Result<(), StoreError> {
        self.inner.start_span(span).await
    }

    async fn finish_span(&self, id: &SpanId, end: &SpanEnd) -> Result<(), StoreError> {
        self.inner.finish_span(id, end).await
    }

    async fn put_content(&self, kind: ContentKind, body: &str) -> Result<ContentId, StoreError> {
        self.inner.put_content(kind, body).await
    }

    async fn link_contents(
        &self,
        span: &SpanId,
        direction: ContentDirection,
        contents: &[ContentId],
    ) -> Result<(), StoreError> {
        self.inner.link_contents(span, direction, contents).await
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
