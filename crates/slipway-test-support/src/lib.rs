//! Fixtures for Slipway's tests: temporary git repositories driven by the
//! real `git`, (in `db`) a database per test on SQLite and PostgreSQL, and
//! (in `fake_model`) a fake model server on loopback that speaks the real
//! Anthropic and OpenAI protocols from a script.
//!
//! Used only as a dev-dependency. Setup failures panic: a fixture that cannot
//! be built is a broken test environment, not a case to handle.
#![allow(
    clippy::missing_panics_doc,
    clippy::expect_used,
    reason = "fixtures panic on setup failure"
)]
#![allow(
    clippy::must_use_candidate,
    reason = "fixture helpers like `TempRepo::write` are called for their effect and chained"
)]

mod backends;
mod db;
mod fake_model;
mod git;

pub use db::{
    DEFAULT_TEST_DATABASE_URL, PgTestDb, SqliteTestDb, TEST_DATABASE_URL_VAR, admin_connection,
    admin_execute, with_database,
};
pub use fake_model::{FakeModel, FakeToolCall, FakeUsage, Protocol, RecordedRequest, Reply, Turn};
pub use git::TempRepo;
