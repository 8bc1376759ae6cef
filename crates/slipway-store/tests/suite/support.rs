//! The harness: a fresh database per test on either backend, raw access to
//! it for what the Store API cannot do (corrupting, inspecting), a seeded
//! random source, and `on_both_backends!` to run one test body on each.

use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use slipway_store::{OpenOptions, Store, StoreLocation};
use slipway_test_support::{PgTestDb, SqliteTestDb};
use slipway_types::{NewTask, Task};
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{Connection, PgConnection, Row, SqliteConnection};

/// One test's database.
pub(crate) enum TestDb {
    Sqlite(SqliteTestDb),
    Postgres(PgTestDb),
}

impl TestDb {
    pub(crate) fn sqlite() -> Self {
        Self::Sqlite(SqliteTestDb::new())
    }

    /// Returns `None` when PostgreSQL is unreachable outside CI (the fixture said so on stderr).
    pub(crate) fn postgres() -> Option<Self> {
        PgTestDb::new().map(Self::Postgres)
    }

    pub(crate) fn location(&self) -> StoreLocation {
        match self {
            Self::Sqlite(db) => StoreLocation::Sqlite(db.path().to_owned()),
            Self::Postgres(db) => StoreLocation::Postgres(db.url().to_owned()),
        }
    }

    /// Opens a new store handle (its own pool) on this database.
    pub(crate) async fn open(&self) -> Box<dyn Store> {
        slipway_store::open(&self.location())
            .await
            .unwrap_or_else(|err| panic!("open {}: {err}", self.location()))
    }

    pub(crate) async fn open_with(
        &self,
        options: &OpenOptions,
    ) -> Result<Box<dyn Store>, slipway_store::StoreError> {
        slipway_store::open_with(&self.location(), options).await
    }

    /// Runs SQL (one or more statements) on a raw connection, bypassing the store.
    pub(crate) async fn raw_execute(&self, sql: &str) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(db) => {
                let mut conn = SqliteConnection::connect_with(
                    &SqliteConnectOptions::new().filename(db.path()),
                )
                .await?;
                sqlx::raw_sql(sql).execute(&mut conn).await?;
                conn.close().await
            }
            Self::Postgres(db) => {
                let mut conn =
                    PgConnection::connect_with(&PgConnectOptions::from_str(db.url())?).await?;
                sqlx::raw_sql(sql).execute(&mut conn).await?;
                conn.close().await
            }
        }
    }

    /// Returns the first column of every row of a query that selects TEXT.
    pub(crate) async fn raw_strings(&self, sql: &str) -> Vec<String> {
        let rows = match self {
            Self::Sqlite(db) => {
                let mut conn = SqliteConnection::connect_with(
                    &SqliteConnectOptions::new().filename(db.path()),
                )
                .await
                .unwrap();
                let rows = sqlx::query_scalar(sql).fetch_all(&mut conn).await;
                conn.close().await.unwrap();
                rows
            }
            Self::Postgres(db) => {
                let mut conn = PgConnection::connect(db.url()).await.unwrap();
                let rows = sqlx::query_scalar(sql).fetch_all(&mut conn).await;
                conn.close().await.unwrap();
                rows
            }
        };
        rows.unwrap_or_else(|err| panic!("{sql}: {err}"))
    }

    /// Runs a query with text parameters and returns every row, each column
    /// rendered as text (`NULL` for null), whatever its type on the backend.
    pub(crate) async fn raw_rows(&self, sql: &str, params: &[&str]) -> Vec<Vec<String>> {
        let rows = match self {
            Self::Sqlite(db) => {
                let mut conn = SqliteConnection::connect_with(
                    &SqliteConnectOptions::new().filename(db.path()),
                )
                .await
                .unwrap();
                let mut query = sqlx::query(sql);
                for param in params {
                    query = query.bind(*param);
                }
                let rows = query.fetch_all(&mut conn).await;
                conn.close().await.unwrap();
                rows.map(|rows| rows.iter().map(sqlite_columns).collect())
            }
            Self::Postgres(db) => {
                let mut conn = PgConnection::connect(db.url()).await.unwrap();
                let mut query = sqlx::query(sql);
                for param in params {
                    query = query.bind(*param);
                }
                let rows = query.fetch_all(&mut conn).await;
                conn.close().await.unwrap();
                rows.map(|rows| rows.iter().map(pg_columns).collect())
            }
        };
        rows.unwrap_or_else(|err| panic!("{sql}: {err}"))
    }

    /// Returns everything a test may want to see unchanged: tables, migrations, tasks, events.
    pub(crate) async fn fingerprint(&self) -> Vec<String> {
        let mut all = Vec::new();
        for sql in [
            "SELECT CAST(version AS TEXT) || ' ' || applied_at FROM slipway_schema_migrations ORDER BY version",
            "SELECT CAST(id AS TEXT) || ' ' || state || ' ' || updated_at FROM tasks ORDER BY id",
            "SELECT CAST(id AS TEXT) || ' ' || to_state FROM task_events ORDER BY id",
        ] {
            all.extend(self.raw_strings(sql).await);
        }
        all
    }
}

/// Renders a column as text: tries the types the queries return, in turn.
macro_rules! render_column {
    ($row:expr, $i:expr) => {{
        let (row, i) = ($row, $i);
        let shown = |value: Option<String>| value.unwrap_or_else(|| "NULL".to_owned());
        if let Ok(value) = row.try_get::<Option<i64>, _>(i) {
            shown(value.map(|v| v.to_string()))
        } else if let Ok(value) = row.try_get::<Option<String>, _>(i) {
            shown(value)
        } else {
            // PostgreSQL's LENGTH and other int4 results.
            shown(
                row.try_get::<Option<i32>, _>(i)
                    .unwrap_or_else(|err| panic!("column {i}: {err}"))
                    .map(|v| v.to_string()),
            )
        }
    }};
}

fn sqlite_columns(row: &SqliteRow) -> Vec<String> {
    (0..row.len()).map(|i| render_column!(row, i)).collect()
}

fn pg_columns(row: &PgRow) -> Vec<String> {
    (0..row.len()).map(|i| render_column!(row, i)).collect()
}

/// Generates, for each named `async fn(&TestDb)`, a test on SQLite and one on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        slipway_test_support::on_both_backends!($crate::suite::support::TestDb; $($name),*);
    };
}

pub(crate) use on_both_backends;

/// Options that give up on a locked SQLite file, or an unreachable server, soon.
pub(crate) fn short_wait() -> OpenOptions {
    OpenOptions {
        busy_timeout: Duration::from_millis(300),
        connect_timeout: Duration::from_secs(2),
        ..OpenOptions::default()
    }
}

/// A fixed instant with nanoseconds, so tests see the store's microsecond truncation.
pub(crate) fn t0() -> Timestamp {
    "2026-11-24T13:11:46.123456789Z".parse().unwrap()
}

/// `t0` plus some seconds.
pub(crate) fn at(seconds: u64) -> Timestamp {
    t0().checked_add(Duration::from_secs(seconds)).unwrap()
}

/// `t` as the store keeps it: truncated to the microsecond.
pub(crate) fn us(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap()
}

/// Waits until every connection to a SQLite file has closed (its WAL is
/// checkpointed and removed), so the main file's bytes are stable.
pub(crate) async fn wait_for_sqlite_idle(db: &TestDb) {
    let TestDb::Sqlite(sqlite) = db else { return };
    let mut wal = sqlite.path().as_os_str().to_owned();
    wal.push("-wal");
    for _ in 0..500 {
        if !std::path::Path::new(&wal).exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} still has open connections after 5 s",
        sqlite.path().display()
    );
}

pub(crate) fn new_task(title: &str, lane: &str) -> NewTask {
    NewTask {
        title: title.into(),
        body: format!("body of {title}"),
        lane: lane.into(),
        depends_on: Vec::new(),
    }
}

pub(crate) async fn create(store: &dyn Store, title: &str, lane: &str) -> Task {
    store
        .create_task(&new_task(title, lane), "tester", t0())
        .await
        .unwrap()
}

/// A small seeded pseudo-random source (xorshift64*): reproducible sequences without a dependency.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}
