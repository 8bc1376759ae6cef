//! Random identifiers: trace and span ids, and the per-run boundary token
//! that untrusted text cannot forge.

use slipway_types::{SpanId, TraceId};

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS generator does not fail on the platforms Slipway runs on; should
    // it, a time-derived fallback keeps ids unique within the process.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = jiff::Timestamp::now().as_nanosecond().to_le_bytes();
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = nanos[i % nanos.len()] ^ u8::try_from(i % 251).unwrap_or(0);
        }
    }
    bytes
}

/// Returns a new trace id.
pub(crate) fn trace_id() -> TraceId {
    TraceId::from_bytes(random::<16>())
}

/// Returns a new span id.
pub(crate) fn span_id() -> SpanId {
    SpanId::from_bytes(random::<8>())
}

/// Returns a fresh boundary token for marking untrusted text.
#[must_use]
pub fn boundary() -> String {
    use std::fmt::Write as _;
    random::<12>().iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
