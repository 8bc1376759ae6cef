//! The trace recorder: a run is a trace, each model call and tool call a span.
//! The run's row is written when it starts; a step's spans, bodies and links
//! are kept in memory until the step ends and then written in one
//! transaction ([`Recorder::flush`]), so a crash loses at most the step in
//! flight and a step costs one commit. Content is redacted, stored once and
//! referenced by the spans that sent or received it: what a model call sent
//! as a prefix of its context ([`Recorder::send`]), the rest as links.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use jiff::Timestamp;
use serde_json::Value;
use slipway_store::{
    BatchLink, BodyRef, ContextMessage, SpanContext, SpanEnd, Store, StoreError, TraceBatch,
    TraceEnd,
};
use slipway_types::{
    ContentDirection, ContentKind, Span, SpanId, SpanStatus, TokenCounts, Trace, TraceId,
};

use crate::ids;
use crate::redact::SecretValues;

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

/// A body handed to the recorder, stored at the next flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyKey(usize);

/// What the recorder holds between flushes.
#[derive(Default)]
struct Pending {
    batch: TraceBatch,
    /// Every body key: its stored id, or its place in `batch.bodies`.
    bodies: Vec<BodyRef>,
    /// Keys below this one are stored.
    stored: usize,
    /// The next free position of each span's inputs and outputs.
    positions: HashMap<(SpanId, ContentDirection), i64>,
}

/// Writes one run's trace.
pub(crate) struct Recorder {
    store: Arc<dyn Store>,
    trace: TraceId,
    capture: bool,
    secrets: SecretValues,
    /// Every model call's tokens and cost in the trace, subagents' included.
    totals: Mutex<(TokenCounts, Option<i64>)>,
    pending: Mutex<Pending>,
    /// One flush at a time, in order.
    flushing: tokio::sync::Mutex<()>,
    /// Why the store refused a batch as invalid, once it has: what came
    /// after it may name its bodies, spans and context positions, so no
    /// later step is written either; the run's end still is.
    refused: OnceLock<String>,
}

impl Recorder {
    /// Records the start of a run.
    pub(crate) async fn start(
        store: Arc<dyn Store>,
        trace: Trace,
        capture: bool,
        secrets: SecretValues,
    ) -> Result<Self, StoreError> {
        store.start_trace(&trace).await?;
        Ok(Self {
            store,
            trace: trace.id,
            capture,
            secrets,
            totals: Mutex::new((TokenCounts::default(), Some(0))),
            pending: Mutex::new(Pending::default()),
            flushing: tokio::sync::Mutex::new(()),
            refused: OnceLock::new(),
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

    fn pending(&self) -> MutexGuard<'_, Pending> {
        // Every change to the pending records is one push or one field update.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes everything recorded since the last flush, in one transaction.
    ///
    /// When the write fails, nothing recorded is dropped: the batch goes back
    /// in front of what was recorded since, and the next flush writes both.
    /// A batch the store refused as invalid, which no retry could write,
    /// ends the recording of steps: this flush and every later one fail.
    pub(crate) async fn flush(&self) -> Result<(), StoreError> {
        let _order = self.flushing.lock().await;
        let (batch, keys) = {
            let mut pending = self.pending();
            (std::mem::take(&mut pending.batch), pending.bodies.len())
        };
        if let Some(detail) = self.refused.get() {
            return Err(StoreError::InvalidBatch {
                detail: format!("an earlier step of this run was refused: {detail}"),
            });
        }
        if batch.is_empty() {
            return Ok(());
        }
        match self.store.write_batch(&batch).await {
            Ok(ids) => {
                let mut pending = self.pending();
                let from = pending.stored;
                for body in &mut pending.bodies[from..keys] {
                    if let BodyRef::New(i) = *body
                        && let Some(id) = ids.get(i)
                    {
                        *body = BodyRef::Stored(*id);
                    }
                }
                pending.stored = keys;
                Ok(())
            }
            // A batch the store refused as invalid can never be written, and
            // what is recorded after it may build on it: the run's steps
            // are recorded no further (its end still is).
            Err(StoreError::InvalidBatch { detail }) => {
                // Only this branch sets it, and no flush runs once it is set.
                let _ = self.refused.set(detail.clone());
                Err(StoreError::InvalidBatch { detail })
            }
            Err(err) => {
                let mut pending = self.pending();
                let shift = batch.bodies.len();
                let later = std::mem::replace(&mut pending.batch, batch);
                for body in &mut pending.bodies[keys..] {
                    if let BodyRef::New(i) = body {
                        *i += shift;
                    }
                }
                pending.batch.append(later);
                Err(err)
            }
        }
    }

    /// Records the start of a span and returns its id.
    pub(crate) fn start_span(&self, start: SpanStart<'_>) -> SpanId {
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
        self.pending().batch.spans.push(span);
        id
    }

    /// Records how a span ended.
    pub(crate) fn end_span(
        &self,
        id: &SpanId,
        status: SpanStatus,
        tokens: TokenCounts,
        cost_micros: Option<i64>,
        error: Option<String>,
        attributes: BTreeMap<String, Value>,
    ) {
        let end = SpanEnd {
            status,
            ended_at: Timestamp::now(),
            tokens,
            cost_micros,
            error: error.map(|e| self.secrets.scrub(&e)),
            attributes,
        };
        let mut pending = self.pending();
        match pending.batch.spans.iter_mut().find(|s| &s.id == id) {
            Some(span) => {
                span.status = end.status;
                span.ended_at = Some(end.ended_at);
                span.tokens = end.tokens;
                span.cost_micros = end.cost_micros;
                span.error = end.error;
                span.attributes.extend(end.attributes);
            }
            None => pending.batch.ends.push((id.clone(), end)),
        }
    }

    /// Keeps a body (redacted) to store once; `None` when content capture is off.
    pub(crate) fn content(&self, kind: ContentKind, body: &str) -> Option<BodyKey> {
        if !self.capture {
            return None;
        }
        let mut pending = self.pending();
        let place = pending.batch.bodies.len();
        pending.batch.bodies.push((kind, self.secrets.scrub(body)));
        let key = BodyKey(pending.bodies.len());
        pending.bodies.push(BodyRef::New(place));
        Some(key)
    }

    /// Links bodies to a span, after those linked before.
    pub(crate) fn link(&self, span: &SpanId, direction: ContentDirection, contents: &[BodyKey]) {
        let mut pending = self.pending();
        let mut position = *pending
            .positions
            .get(&(span.clone(), direction))
            .unwrap_or(&0);
        for key in contents {
            let Some(body) = pending.bodies.get(key.0).copied() else {
                continue;
            };
            pending.batch.links.push(BatchLink {
                span: span.clone(),
                direction,
                position,
                body,
            });
            position += 1;
        }
        pending
            .positions
            .insert((span.clone(), direction), position);
    }

    /// Records what a model call sent: the messages of the context `context`
    /// opened up to position `from`, then `new`, which were not in it before.
    /// One lock, so a flush takes both or neither. Every key comes from
    /// [`Self::content`], so each names a body.
    pub(crate) fn send(&self, span: &SpanId, context: &SpanId, from: usize, new: &[BodyKey]) {
        let mut pending = self.pending();
        for (position, key) in (from..).zip(new) {
            let Some(body) = pending.bodies.get(key.0).copied() else {
                continue;
            };
            pending.batch.context_messages.push(ContextMessage {
                context: context.clone(),
                position: i64::try_from(position).unwrap_or(i64::MAX),
                body,
            });
        }
        pending.batch.span_contexts.push(SpanContext {
            span: span.clone(),
            context: context.clone(),
            messages: i64::try_from(from + new.len()).unwrap_or(i64::MAX),
        });
    }

    /// Records how the run ended, with the totals of every model call in it.
    /// The end is recorded even when the last steps cannot be; then the
    /// error is theirs.
    pub(crate) async fn finish(
        &self,
        status: SpanStatus,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        let flushed = self.flush().await;
        let (tokens, cost_micros) = *self
            .totals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let end = TraceEnd {
            status,
            ended_at: Timestamp::now(),
            tokens,
            cost_micros,
            error: error.map(|e| self.secrets.scrub(&e)),
        };
        let finished = self.store.finish_trace(&self.trace, &end).await;
        flushed.and(finished)
    }
}
