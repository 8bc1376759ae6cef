//! Slipway's durable state: the [`Store`] trait and its two implementations,
//! SQLite (the embedded default, one file in `.slipway/`) and PostgreSQL
//! (shared by several processes and machines), with their migrations.
//!
//! Both backends run the same queries, written once in portable SQL; only
//! connection setup, error classification and the migration files differ.
//! One conformance suite (`tests/suite/`) runs against both. Besides tasks,
//! their events and leases, and traces, the store keeps what the pipeline
//! records: the seams a task expects to change, stage results with their
//! findings, and releases. The domain types (tasks, events, leases, the state
//! machine, traces and spans, stage results and releases) live in
//! `slipway-types`; what to do with them lives in the pipeline and the
//! runtime. `docs/tracing.md` describes the trace tables, with root-cause
//! queries ([`DOC_QUERIES`]) that run unchanged on both backends.

mod error;
mod location;
mod migrate;
mod open;
mod pipeline;
mod postgres;
mod queries;
mod recording;
mod rows;
mod shared;
mod sql;
mod sqlite;
mod store;
mod time;

pub use error::StoreError;
pub use location::{Backend, OpenOptions, StoreLocation};
pub use migrate::SCHEMA_VERSION;
pub use open::{open, open_with};
pub use queries::DOC_QUERIES;
pub use store::{
    BatchLink, Board, BoardCard, BodyRef, ContextMessage, CostGroup, CostRow, LeaseGrant,
    SpanContext, SpanEnd, StateChange, Store, TaskFilter, TraceBatch, TraceEnd,
};
