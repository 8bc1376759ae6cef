//! The harness: a fresh database per test on either backend (with raw SQL
//! for what the Store API does not show), `on_both_backends!` to run one
//! test body on each, and observers that record a run's events or cancel it.

use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use slipway_runtime::{Cancel, Observer, RunEvent};
use slipway_store::{Store, StoreLocation};
use slipway_test_support::{PgTestDb, SqliteTestDb};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, PgConnection, SqliteConnection};

/// One test's database.
pub(crate) enum TestDb {
    Sqlite(SqliteTestDb),
    Postgres(PgTestDb),
}

impl TestDb {
    pub(crate) fn sqlite() -> Self {
        Self::Sqlite(SqliteTestDb::new())
    }

    /// Returns `None` when PostgreSQL is unreachable outside CI (the fixture
    /// said so on stderr); with `CI` set, the fixture fails instead.
    pub(crate) fn postgres() -> Option<Self> {
        PgTestDb::new().map(Self::Postgres)
    }

    fn location(&self) -> StoreLocation {
        match self {
            Self::Sqlite(db) => StoreLocation::Sqlite(db.path().to_owned()),
            Self::Postgres(db) => StoreLocation::Postgres(db.url().to_owned()),
        }
    }

    /// Opens a store on this database, migrated.
    pub(crate) async fn open(&self) -> Arc<dyn Store> {
        let store = slipway_store::open(&self.location())
            .await
            .unwrap_or_else(|err| panic!("open {}: {err}", self.location()));
        Arc::from(store)
    }

    /// Runs a query whose first column is an integer, with text parameters.
    pub(crate) async fn ints(&self, sql: &str, params: &[&str]) -> Vec<i64> {
        let rows = match self {
            Self::Sqlite(db) => {
                let options = SqliteConnectOptions::new().filename(db.path());
                let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
                let mut query = sqlx::query_scalar(sql);
                for param in params {
                    query = query.bind(*param);
                }
                let rows = query.fetch_all(&mut conn).await;
                conn.close().await.unwrap();
                rows
            }
            Self::Postgres(db) => {
                let options = PgConnectOptions::from_str(db.url()).unwrap();
                let mut conn = PgConnection::connect_with(&options).await.unwrap();
                let mut query = sqlx::query_scalar(sql);
                for param in params {
                    query = query.bind(*param);
                }
                let rows = query.fetch_all(&mut conn).await;
                conn.close().await.unwrap();
                rows
            }
        };
        rows.unwrap_or_else(|err| panic!("{sql}: {err}"))
    }

    /// Returns the one integer a query such as `SELECT COUNT(*) …` selects.
    pub(crate) async fn count(&self, sql: &str) -> i64 {
        let rows = self.ints(sql, &[]).await;
        assert_eq!(rows.len(), 1, "{sql} selects one row");
        rows[0]
    }

    /// Runs a query whose first column is text.
    pub(crate) async fn strings(&self, sql: &str) -> Vec<String> {
        let rows = match self {
            Self::Sqlite(db) => {
                let options = SqliteConnectOptions::new().filename(db.path());
                let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
                let rows = sqlx::query_scalar(sql).fetch_all(&mut conn).await;
                conn.close().await.unwrap();
                rows
            }
            Self::Postgres(db) => {
                let options = PgConnectOptions::from_str(db.url()).unwrap();
                let mut conn = PgConnection::connect_with(&options).await.unwrap();
                let rows = sqlx::query_scalar(sql).fetch_all(&mut conn).await;
                conn.close().await.unwrap();
                rows
            }
        };
        rows.unwrap_or_else(|err| panic!("{sql}: {err}"))
    }
}

/// Generates, for each named `async fn(&TestDb)`, a test on SQLite and one on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        slipway_test_support::on_both_backends!($crate::suite::support::TestDb; $($name),*);
    };
}

pub(crate) use on_both_backends;

/// Records every event of a run.
#[derive(Default)]
pub(crate) struct Events {
    seen: Mutex<Vec<RunEvent>>,
}

impl Events {
    pub(crate) fn all(&self) -> Vec<RunEvent> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn warnings(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter_map(|event| match event {
                RunEvent::Warning(text) => Some(text),
                _ => None,
            })
            .collect()
    }

    /// Returns `(name, is_error, denied)` of each tool result, in order.
    pub(crate) fn tool_results(&self) -> Vec<(String, bool, bool)> {
        self.all()
            .into_iter()
            .filter_map(|event| match event {
                RunEvent::ToolResult {
                    name,
                    is_error,
                    denied,
                    ..
                } => Some((name, is_error, denied)),
                _ => None,
            })
            .collect()
    }
}

impl Observer for Events {
    fn event(&self, event: RunEvent) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }
}

/// Records events, and cancels the run at the first event `when` picks.
pub(crate) struct CancelWhen<'a> {
    pub(crate) events: Events,
    pub(crate) cancel: &'a Cancel,
    pub(crate) when: fn(&RunEvent) -> bool,
}

impl<'a> CancelWhen<'a> {
    pub(crate) fn new(cancel: &'a Cancel, when: fn(&RunEvent) -> bool) -> Self {
        Self {
            events: Events::default(),
            cancel,
            when,
        }
    }
}

impl Observer for CancelWhen<'_> {
    fn event(&self, event: RunEvent) {
        if (self.when)(&event) {
            self.cancel.cancel();
        }
        self.events.event(event);
    }
}
