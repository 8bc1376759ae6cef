//! What the store recorded of a run, read back through the Store API.

use slipway_config::PriceTable;
use slipway_store::Store;
use slipway_types::{
    ContentDirection, ContentKind, ContentRef, Span, SpanId, SpanStatus, TokenCounts, Trace,
    TraceId, operations as op,
};

/// A trace and its spans, in the order they started.
pub(crate) struct Recorded {
    pub(crate) trace: Trace,
    pub(crate) spans: Vec<Span>,
}

impl Recorded {
    pub(crate) async fn load(store: &dyn Store, id: &TraceId) -> Self {
        let (trace, spans) = store.trace(id).await.unwrap();
        assert_eq!(&trace.id, id);
        assert!(trace.ended_at.is_some(), "the run was recorded as ended");
        for span in &spans {
            assert!(span.ended_at.is_some(), "span {} was ended", span.name);
        }
        Self { trace, spans }
    }

    /// Returns the one span without a parent: the run's `invoke_agent`.
    pub(crate) fn root(&self) -> &Span {
        let roots: Vec<&Span> = self
            .spans
            .iter()
            .filter(|s| s.parent_id.is_none())
            .collect();
        assert_eq!(roots.len(), 1, "one root span: {roots:#?}");
        assert_eq!(roots[0].operation, op::INVOKE_AGENT);
        roots[0]
    }

    /// Returns the spans of one operation, in the order they started.
    pub(crate) fn of(&self, operation: &str) -> Vec<&Span> {
        self.spans
            .iter()
            .filter(|s| s.operation == operation)
            .collect()
    }

    /// Returns the spans directly under `parent`.
    pub(crate) fn children(&self, parent: &SpanId) -> Vec<&Span> {
        self.spans
            .iter()
            .filter(|s| s.parent_id.as_ref() == Some(parent))
            .collect()
    }

    /// Returns the model calls that succeeded: chats and compactions.
    pub(crate) fn model_calls(&self) -> Vec<&Span> {
        self.spans
            .iter()
            .filter(|s| s.operation == op::CHAT || s.operation == op::COMPACTION)
            .filter(|s| s.status == SpanStatus::Ok)
            .collect()
    }

    /// Checks that the trace's tokens and cost are the sums over its model calls.
    pub(crate) fn assert_totals_are_sums(&self) {
        let calls = self.model_calls();
        let tokens: TokenCounts = calls.iter().map(|s| s.tokens).sum();
        assert_eq!(self.trace.tokens, tokens, "trace tokens = Σ model calls");
        let cost = calls
            .iter()
            .try_fold(0_i64, |sum, s| s.cost_micros.map(|c| sum + c));
        assert_eq!(self.trace.cost_micros, cost, "trace cost = Σ model calls");
    }

    /// Checks that every model call's cost is its tokens at `model_ref`'s price.
    pub(crate) fn assert_priced(&self, prices: &PriceTable, model_ref: &str) {
        for span in self.model_calls() {
            assert_eq!(
                span.cost_micros,
                prices.cost_micros(model_ref, &span.tokens),
                "{}",
                span.name
            );
        }
    }
}

/// Returns the bodies a span sent (`Input`) or received (`Output`).
pub(crate) async fn bodies(
    store: &dyn Store,
    span: &SpanId,
    direction: ContentDirection,
) -> Vec<ContentRef> {
    store
        .span_contents(span)
        .await
        .unwrap()
        .into_iter()
        .filter(|(d, _)| *d == direction)
        .map(|(_, body)| body)
        .collect()
}

/// Returns the bodies of one kind among `bodies`.
pub(crate) fn of_kind(bodies: &[ContentRef], kind: ContentKind) -> Vec<&str> {
    bodies
        .iter()
        .filter(|b| b.kind == kind)
        .map(|b| b.body.as_str())
        .collect()
}
