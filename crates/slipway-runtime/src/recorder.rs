//! The trace recorder: a run is a trace, each model call and tool call a span,
//! every write committed as it happens so a crash loses at most the step in
//! flight. Content is redacted, stored once and referenced by the spans that
//! sent or received it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde_json::Value;
use slipway_store::{SpanEnd, Store, StoreError, TraceEnd};
use slipway_types::{
    ContentDirection, ContentId, ContentKind, Span, SpanId, SpanStatus, TokenCounts, Trace, TraceId,
};

use crate::ids;
use crate::redact::redact;

/// What a new span is.
pub(crate) struct SpanStart<'a> {
    pub(crate) parent: Option<&'a SpanId>,
    pub(crate) operation: &'static str,
    /// Appended to the operation to name the span: `chat claude-sonnet-4-5`.
    pub(crate) subject: &'a str,
    pub(crate) model: Option<&'a str>,
    pub(crate) provider: Option<&'a str>,
    pub(crate) tool_name: Option<&'a str>,
    pub(crate) attributes: BTreeMap<String, Value>,
}

/// Writes one run's trace.
pub(crate) struct Recorder {
    store: Arc<dyn Store>,
    trace: TraceId,
    capture: bool,
    /// Every model call's tokens and cost in the trace, subagents' included.
    totals: Mutex<(TokenCounts, Option<i64>)>,
}

impl Recorder {
    /// Records the start of a run.
    pub(crate) async fn start(
        store: Arc<dyn Store>,
        trace: Trace,
        capture: bool,
    ) -> Result<Self, StoreError> {
        store.start_trace(&trace).await?;
        Ok(Self {
            store,
            trace: trace.id,
            capture,
            totals: Mutex::new((TokenCounts::default(), Some(0))),
        })
    }

    /// Adds a model call's usage to the trace's totals; an unknown cost makes the total unknown.
    pub(crate) fn add_usage(&self, tokens: TokenCounts, cost: Option<i64>) {
        let mut totals = self
            .totals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        totals.0 += tokens;
        totals.1 = totals.1.zip(cost).map(|(a, b)| a + b);
    }

    /// Returns the trace's totals so far.
    pub(crate) fn totals(&self) -> (TokenCounts, Option<i64>) {
        *self
            .totals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn trace_id(&self) -> &TraceId {
        &self.trace
    }

    /// Records the start of a span and returns its id.
    pub(crate) async fn start_span(&self, start: SpanStart<'_>) -> Result<SpanId, StoreError> {
        let id = ids::span_id();
        let span = Span {
            id: id.clone(),
            trace_id: self.trace.clone(),
            parent_id: start.parent.cloned(),
            name: format!("{} {}", start.operation, start.subject),
            operation: start.operation.to_owned(),
            started_at: Timestamp::now(),
            ended_at: None,
            status: SpanStatus::Running,
            error: None,
            model: start.model.map(str::to_owned),
            provider: start.provider.map(str::to_owned),
            tool_name: start.tool_name.map(str::to_owned),
            tokens: TokenCounts::default(),
            cost_micros: None,
            attributes: start.attributes,
        };
        self.store.start_span(&span).await?;
        Ok(id)
    }

    /// Records how a span ended.
    pub(crate) async fn end_span(
        &self,
        id: &SpanId,
        status: SpanStatus,
        tokens: TokenCounts,
        cost_micros: Option<i64>,
        error: Option<String>,
        attributes: BTreeMap<String, Value>,
    ) -> Result<(), StoreError> {
        let end = SpanEnd {
            status,
            ended_at: Timestamp::now(),
            tokens,
            cost_micros,
            error: error.map(|e| redact(&e).into_owned()),
            attributes,
        };
        self.store.finish_span(id, &end).await
    }

    /// Stores a body (redacted) once; `None` when content capture is off.
    pub(crate) async fn content(
        &self,
        kind: ContentKind,
        body: &str,
    ) -> Result<Option<ContentId>, StoreError> {
        if !self.capture {
            return Ok(None);
        }
        self.store.put_content(kind, &redact(body)).await.map(Some)
    }

    /// Links stored bodies to a span.
    pub(crate) async fn link(
        &self,
        span: &SpanId,
        direction: ContentDirection,
        contents: &[ContentId],
    ) -> Result<(), StoreError> {
        if contents.is_empty() {
            return Ok(());
        }
        self.store.link_contents(span, direction, contents).await
    }

    /// Records how the run ended, with the totals of every model call in it.
    pub(crate) async fn finish(
        &self,
        status: SpanStatus,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        let (tokens, cost_micros) = *self
            .totals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let end = TraceEnd {
            status,
            ended_at: Timestamp::now(),
            tokens,
            cost_micros,
            error: error.map(|e| redact(&e).into_owned()),
        };
        self.store.finish_trace(&self.trace, &end).await
    }
}
