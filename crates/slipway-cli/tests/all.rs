//! End-to-end tests of the `slipway` binary against real git repositories and
//! real stores (SQLite, and PostgreSQL with a database per test).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod suite {
    mod agent;
    mod agent_errors;
    mod browser;
    mod budget;
    mod cli;
    mod config;
    mod context;
    mod demo;
    mod init;
    mod lanes;
    mod model;
    mod pipeline;
    mod sandbox;
    mod secrets;
    mod status;
    mod store;
    mod task;
    mod tests_first;
    mod trace;
    pub(crate) mod up;
}
