//! The SQLite backend: opening the file safely (never writing to a file that
//! is not a Slipway database), WAL, checkpoints off the writers' path, and
//! SQLite's errors in Slipway's terms.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Sqlite, SqliteConnection, Transaction};

use crate::error::StoreError;
use crate::location::{OpenOptions, StoreLocation};
use crate::migrate::{self, SCHEMA_VERSION};
use crate::recording::References;
use crate::shared::impl_store;

/// Result codes (the low byte of an extended code) that mean "someone else holds the lock".
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
/// Result codes that mean "this file is not a database we can read".
const SQLITE_CORRUPT: i32 = 11;
const SQLITE_NOTADB: i32 = 26;

/// Trace writes between two checkpoints the store starts itself: a step
/// writes about 16 pages, so about half SQLite's automatic threshold of
/// 1,000 pages, which stays as it is.
const CHECKPOINT_EVERY: u32 = 32;

/// A store in one SQLite file.
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    location: StoreLocation,
    errors: Errors,
    checkpoints: Arc<Checkpoints>,
}

/// Checkpoints started by the store: after every [`CHECKPOINT_EVERY`] trace
/// writes, a `PASSIVE` checkpoint runs as a task of its own on a pooled
/// connection, one at a time. So most of the copy
/// of the WAL into the database, and its fsync, happen beside the agent's
/// steps instead of inside the commit that crosses SQLite's threshold.
/// SQLite's automatic checkpoint is left at its default, so no commit waits
/// longer for its fsync than it did.
#[derive(Default)]
struct Checkpoints {
    writes: AtomicU32,
    running: AtomicBool,
}

/// Turns sqlx errors into `StoreError`s that name the file.
#[derive(Clone)]
struct Errors {
    path: PathBuf,
    busy_timeout: Duration,
}

impl Errors {
    fn locked(&self) -> StoreError {
        StoreError::Locked {
            path: self.path.clone(),
            waited: self.busy_timeout,
        }
    }

    fn map(&self, context: &str, err: sqlx::Error) -> StoreError {
        let code = match &err {
            sqlx::Error::Database(db) => db.code().and_then(|code| code.parse::<i32>().ok()),
            _ => None,
        };
        match code.map(|code| code & 0xff) {
            Some(SQLITE_BUSY | SQLITE_LOCKED) => self.locked(),
            Some(SQLITE_CORRUPT | SQLITE_NOTADB) => StoreError::Corrupt {
                path: self.path.clone(),
            },
            _ => StoreError::database(format!("{context} ({})", self.path.display()), err),
        }
    }
}

impl SqliteStore {
    /// Inserts a batch's spans, links, context messages and span contexts
    /// from four JSON arrays (`recording::References`) in one round trip: SQLite
    /// runs the statements of one query in order, each binding its `$n` by
    /// number, and the rows they insert are summed. A context message whose
    /// `check` is 1 goes in only when the position before it is stored; a
    /// span context only when both spans are of one run and its context
    /// holds position `messages - 1`. One statement text, prepared once,
    /// whatever the number of rows.
    const INSERT_REFERENCES_JSON: &'static str = concat!(
        "INSERT INTO spans (",
        crate::sql::span_insert_columns!(),
        ") SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'), \
         json_extract(value, '$[4]'), json_extract(value, '$[5]'), json_extract(value, '$[6]'), json_extract(value, '$[7]'), \
         json_extract(value, '$[8]'), json_extract(value, '$[9]'), json_extract(value, '$[10]'), json_extract(value, '$[11]'), \
         json_extract(value, '$[12]'), json_extract(value, '$[13]'), json_extract(value, '$[14]'), json_extract(value, '$[15]'), \
         json_extract(value, '$[16]'), json_extract(value, '$[17]'), json_extract(value, '$[18]'), json_extract(value, '$[19]') \
         FROM json_each($4); \
         INSERT INTO span_contents \
         (span_id, direction, position, content_id) \
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), \
         json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each($1); \
         INSERT INTO context_messages (context_span_id, position, content_id) \
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') \
         FROM json_each($2) \
         WHERE json_extract(value, '$[3]') = 0 OR EXISTS (SELECT 1 FROM context_messages m \
         WHERE m.context_span_id = json_extract(value, '$[0]') \
         AND m.position = json_extract(value, '$[1]') - 1); \
         INSERT INTO span_contexts (span_id, context_span_id, messages) \
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') \
         FROM json_each($3) \
         WHERE (SELECT s.trace_id FROM spans s WHERE s.id = json_extract(value, '$[0]')) \
         = (SELECT o.trace_id FROM spans o WHERE o.id = json_extract(value, '$[1]')) \
         AND EXISTS (SELECT 1 FROM context_messages m \
         WHERE m.context_span_id = json_extract(value, '$[1]') \
         AND m.position = json_extract(value, '$[2]') - 1)"
    );

    /// Inserts a batch's spans, links and contexts; returns the rows inserted.
    async fn insert_references(
        &self,
        conn: &mut SqliteConnection,
        references: &References,
    ) -> Result<u64, StoreError> {
        sqlx::query(Self::INSERT_REFERENCES_JSON)
            .bind(references.links.as_str())
            .bind(references.messages.as_str())
            .bind(references.contexts.as_str())
            .bind(references.spans.as_str())
            .execute(&mut *conn)
            .await
            .map(|done| done.rows_affected())
            .map_err(|err| self.db_err("cannot record the spans and what they sent", err))
    }

    fn db_err(&self, context: &str, err: sqlx::Error) -> StoreError {
        self.errors.map(context, err)
    }

    /// Starts a transaction holding the write lock, so reads in it cannot go stale.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|err| self.db_err("cannot start a transaction", err))
    }

    /// Opens (creating when missing) the database at `path` and brings its schema up to date.
    pub(crate) async fn open(path: &Path, options: &OpenOptions) -> Result<Self, StoreError> {
        let location = StoreLocation::Sqlite(path.to_owned());
        let errors = Errors {
            path: path.to_owned(),
            busy_timeout: options.busy_timeout,
        };
        check_path(path, options.create)?;
        // No journal_mode here: setting it would write to a file before we know it is ours.
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true)
            // In WAL mode NORMAL keeps every commit atomic and the database
            // consistent across crashes; only a power loss can take back the
            // last commits, never corrupt. FULL would add an fsync per commit.
            .synchronous(SqliteSynchronous::Normal);
        let mut conn = SqliteConnection::connect_with(&connect)
            .await
            .map_err(|err| errors.map("cannot open the database", err))?;
        let prepared = prepare(&mut conn, &errors, &location.describe()).await;
        // The pool reopens the file; failing to close this one is not the caller's problem.
        let _ = conn.close().await;
        prepared?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A local file needs no ping before each use.
            .test_before_acquire(false)
            .connect_with(connect)
            .await
            .map_err(|err| errors.map("cannot open the database", err))?;
        Ok(Self {
            pool,
            location,
            errors,
            checkpoints: Arc::default(),
        })
    }

    /// Counts a trace write and, every [`CHECKPOINT_EVERY`], starts a
    /// checkpoint unless one is running (or no runtime can run it; then
    /// SQLite's own checkpoint does the work).
    fn after_trace_write(&self) {
        let writes = self
            .checkpoints
            .writes
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        if !writes.is_multiple_of(CHECKPOINT_EVERY)
            || self.checkpoints.running.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let running = Running(Arc::clone(&self.checkpoints));
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pool = self.pool.clone();
        runtime.spawn(async move {
            let _running = running;
            // An idle connection, or a new one while the pool has room: the
            // writer's own goes back to the pool as this starts. A checkpoint
            // that fails (the file is busy) is simply tried again with the
            // next one; nothing waits on it.
            let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await;
        });
    }
}

/// Marks the checkpoint done when dropped, finished or not.
struct Running(Arc<Checkpoints>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
    }
}

impl_store!(SqliteStore, SqliteConnection);

/// Refuses a path whose directory is missing, that is a directory, or that
/// does not exist when the caller did not ask to create it.
fn check_path(path: &Path, create: bool) -> Result<(), StoreError> {
    let cannot_open = |reason: String| StoreError::CannotOpen {
        path: path.to_owned(),
        reason,
    };
    if path.is_dir() {
        return Err(cannot_open("it is a directory".to_owned()));
    }
    if !create && !path.exists() {
        return Err(cannot_open("it does not exist".to_owned()));
    }
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(cannot_open(format!(
            "the directory `{}` does not exist",
            dir.display()
        ))),
        _ => Ok(()),
    }
}

/// Checks that the file is a Slipway database this build can use, switches
/// it to WAL, and applies pending migrations.
async fn prepare(
    conn: &mut SqliteConnection,
    errors: &Errors,
    location: &str,
) -> Result<(), StoreError> {
    let err = |context: &'static str, e: sqlx::Error| errors.map(context, e);
    // Reading the table list is the first access to the file: a file that is
    // not SQLite fails here, before anything is written.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| err("cannot read the database's tables", e))?;
    if !tables.is_empty() {
        if !tables
            .iter()
            .any(|table| table == "slipway_schema_migrations")
        {
            // Some other program's database: leave it alone.
            return Err(StoreError::Foreign {
                location: location.to_owned(),
                tables: tables.join(", "),
            });
        }
        let found = sqlx::query_scalar::<_, i64>(crate::sql::SCHEMA_VERSION)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| err("cannot read the schema version", e))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                location: location.to_owned(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
    }
    use_wal(conn, errors).await?;
    migrate::sqlite(conn, location, err).await
}

/// Switches the database to WAL, retrying while another process holds it:
/// the switch needs an exclusive lock that SQLite's busy timeout does not wait for.
async fn use_wal(conn: &mut SqliteConnection, errors: &Errors) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    loop {
        let busy = match sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
            .fetch_one(&mut *conn)
            .await
        {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            // SQLite answers with the mode it kept when it could not switch.
            Ok(_) => errors.locked(),
            Err(e) => errors.map("cannot switch the database to WAL", e),
        };
        if !matches!(busy, StoreError::Locked { .. }) || started.elapsed() >= errors.busy_timeout {
            return Err(busy);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
