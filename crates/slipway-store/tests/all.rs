//! Integration tests of `slipway-store`, one binary for the crate: the
//! conformance suite on SQLite and PostgreSQL (tasks, leases, traces, the
//! pipeline's records, the documented queries), bad input, and races between
//! threads and processes.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod suite {
    pub(crate) mod support;

    mod bad_input;
    mod conformance;
    mod contexts;
    mod doc_queries;
    mod pipeline;
    mod races;
    mod traces;
    mod writes;
}
