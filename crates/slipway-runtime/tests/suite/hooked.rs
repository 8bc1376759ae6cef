//! A real store with a hook run as each span starts: it lets a test act at
//! an exact point of a run (cancel while a model call's span is written).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use slipway_store::{
    Backend, CostGroup, CostRow, LeaseGrant, SpanEnd, StateChange, Store, StoreError,
    StoreLocation, TaskFilter, TraceEnd,
};
use slipway_types::{
    ContentDirection, ContentId, ContentKind, ContentRef, Lease, NewTask, Span, SpanId, Task,
    TaskEvent, TaskId, Trace, TraceId,
};

type Hook = Box<dyn Fn(&Span) + Send + Sync>;

/// Passes every call to `inner`; calls `on_span` after a span is recorded.
pub(crate) struct Hooked {
    inner: Arc<dyn Store>,
    on_span: Hook,
}

impl Hooked {
    pub(crate) fn wrap(
        inner: Arc<dyn Store>,
        on_span: impl Fn(&Span) + Send + Sync + 'static,
    ) -> Arc<dyn Store> {
        Arc::new(Self {
            inner,
            on_span: Box::new(on_span),
        })
    }
}

#[async_trait]
impl Store for Hooked {
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

    async fn start_span(&self, span: &Span) -> Result<(), StoreError> {
        self.inner.start_span(span).await?;
        (self.on_span)(span);
        Ok(())
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
}

/// Returns `inner` with `cancel` cancelled as soon as a span of `operation` is recorded.
pub(crate) fn cancel_at(
    inner: Arc<dyn Store>,
    cancel: &Arc<slipway_runtime::Cancel>,
    operation: &'static str,
) -> Arc<dyn Store> {
    let cancel = Arc::clone(cancel);
    Hooked::wrap(inner, move |span| {
        if span.operation == operation {
            cancel.cancel();
        }
    })
}
