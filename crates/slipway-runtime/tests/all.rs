//! Integration tests of `slipway-runtime`, one binary for the crate: the
//! agent loop driven through the real providers against the fake model
//! server on loopback, on a real git repository, recording into SQLite and
//! PostgreSQL, with assertions on the requests the model received and the
//! trace read back from the store.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod suite {
    pub(crate) mod fixture;
    pub(crate) mod flaky;
    pub(crate) mod recorded;
    pub(crate) mod support;
    pub(crate) mod wire;

    mod bad_input;
    mod budgets;
    mod capture;
    mod compaction;
    mod delegation;
    mod failures;
    mod policy;
    mod providers;
    mod redaction;
    mod tool_turns;
}
