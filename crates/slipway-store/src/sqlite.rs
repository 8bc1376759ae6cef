//! The SQLite backend: opening the file safely (never writing to a file that
//! is not a Slipway database), WAL, checkpoints off the writers' path, a
//! step's trace records in one query on a connection of their own, and
//! SQLite's errors in Slipway's terms.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use std::fmt::Write as _;

use futures_util::TryStreamExt as _;
use slipway_types::ContentId;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Sqlite, SqliteConnection, Transaction};
use sqlx::{Either, Executor as _, Row as _};

use crate::TraceBatch;
use crate::error::StoreError;
use crate::location::{OpenOptions, StoreLocation};
use crate::migrate::{self, SCHEMA_VERSION};
use crate::recording::{self, References};
use crate::shared::impl_store;

/// Result codes (the low byte of an extended code) that mean "someone else holds the lock".
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
/// Result codes that mean "this file is not a database we can read".
const SQLITE_CORRUPT: i32 = 11;
const SQLITE_NOTADB: i32 = 26;

/// Trace writes between two checkpoints the store starts itself: a step
/// writes about 24 pages (measured in the step benchmark), so about three
/// quarters of SQLite's automatic threshold of 1,000 pages, which stays as it is.
const CHECKPOINT_EVERY: u32 = 32;

/// A store in one SQLite file.
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    /// The one connection trace writes use, so its page cache stays warm
    /// (opened when first needed, and again after one was closed).
    tracer: tokio::sync::Mutex<Option<SqliteConnection>>,
    connect: SqliteConnectOptions,
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

/// A batch's content reference at `$[n]` of a JSON row: an integer is the id
/// of a body stored before; a text is the hash of one the same query stores.
macro_rules! content_at {
    ($n:literal) => {
        concat!(
            "CASE json_type(value, '$[",
            $n,
            "]') WHEN 'integer' THEN json_extract(value, '$[",
            $n,
            "]') ELSE (SELECT c.id FROM contents c WHERE c.sha256 = json_extract(value, '$[",
            $n,
            "]')) END"
        )
    };
}

/// The statements of a trace write after its bodies (see
/// `SqliteStore::write_rows`): spans (`$4`), links (`$1`), context messages
/// (`$2`) and span contexts (`$3`) from the JSON arrays of
/// `recording::References`, then the ids of the batch's bodies, in the order
/// of the hashes in `$5`. A context message whose `check` is 1 must follow a
/// stored position; a span context needs both spans in one run and its
/// context to hold position `messages - 1`. A row that breaks its rule gets a
/// NULL key, so its statement fails (`refused_row`) before the `COMMIT`.
const WRITE_REFERENCES: &str = concat!(
    "INSERT INTO spans (",
    crate::sql::span_insert_columns!(),
    ") SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'), \
     json_extract(value, '$[4]'), json_extract(value, '$[5]'), json_extract(value, '$[6]'), json_extract(value, '$[7]'), \
     json_extract(value, '$[8]'), json_extract(value, '$[9]'), json_extract(value, '$[10]'), json_extract(value, '$[11]'), \
     json_extract(value, '$[12]'), json_extract(value, '$[13]'), json_extract(value, '$[14]'), json_extract(value, '$[15]'), \
     json_extract(value, '$[16]'), json_extract(value, '$[17]'), json_extract(value, '$[18]'), json_extract(value, '$[19]') \
     FROM json_each($4); \
     INSERT INTO span_contents (span_id, direction, position, content_id) \
     SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), ",
    content_at!(3),
    " FROM json_each($1); \
     INSERT INTO context_messages (context_span_id, position, content_id) \
     SELECT CASE WHEN json_extract(value, '$[3]') = 0 OR EXISTS (SELECT 1 FROM context_messages m \
     WHERE m.context_span_id = json_extract(value, '$[0]') \
     AND m.position = json_extract(value, '$[1]') - 1) THEN json_extract(value, '$[0]') END, \
     json_extract(value, '$[1]'), ",
    content_at!(2),
    " FROM json_each($2); \
     INSERT INTO span_contexts (span_id, context_span_id, messages) \
     SELECT CASE WHEN (SELECT s.trace_id FROM spans s WHERE s.id = json_extract(value, '$[0]')) \
     = (SELECT o.trace_id FROM spans o WHERE o.id = json_extract(value, '$[1]')) \
     AND EXISTS (SELECT 1 FROM context_messages m \
     WHERE m.context_span_id = json_extract(value, '$[1]') \
     AND m.position = json_extract(value, '$[2]') - 1) THEN json_extract(value, '$[0]') END, \
     json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each($3); \
     SELECT (SELECT c.id FROM contents c WHERE c.sha256 = h.value) FROM json_each($5) AS h ORDER BY h.key"
);

/// Statements in [`WRITE_REFERENCES`].
const REFERENCE_STATEMENTS: usize = 5;

/// The first parameter of the bodies: `$6, $7, $8` are the first body's
/// hash, kind and text, and so on.
const FIRST_BODY_PARAMETER: usize = 6;

/// Returns the text of a trace write of `bodies` bodies, committed at its end
/// or left open, and how many statements it holds. The bodies are bound as
/// parameters (a body in JSON costs more to read than it saves); one text per
/// number of bodies, prepared and cached (sqlx's cache keeps the 100 used
/// last) up to `recording::BATCH_ROWS` bodies.
fn write_sql(bodies: usize, commit: bool) -> (String, WriteShape) {
    let mut sql = String::from("BEGIN IMMEDIATE; ");
    let mut statements = 1;
    let mut body = 0;
    while body < bodies {
        let end = bodies.min(body + recording::BATCH_ROWS);
        sql.push_str("INSERT INTO contents (sha256, kind, body) VALUES ");
        for i in body..end {
            let first = FIRST_BODY_PARAMETER + 3 * i;
            let comma = if i == body { "" } else { ", " };
            let _ = write!(sql, "{comma}(${first}, ${}, ${})", first + 1, first + 2);
        }
        sql.push_str(" ON CONFLICT (sha256) DO NOTHING; ");
        statements += 1;
        body = end;
    }
    let references = statements;
    sql.push_str(WRITE_REFERENCES);
    statements += REFERENCE_STATEMENTS;
    if commit {
        sql.push_str("; COMMIT");
        statements += 1;
    }
    (
        sql,
        WriteShape {
            references,
            statements,
            commit,
        },
    )
}

/// Where a trace write's statements are: the first of its references (after
/// `BEGIN` and the bodies' inserts), how many in all, and whether the last
/// is its `COMMIT`.
struct WriteShape {
    references: usize,
    statements: usize,
    commit: bool,
}

impl WriteShape {
    /// What failed when the statement after the first `done` failed.
    fn failed_at(&self, done: usize) -> &'static str {
        if done == 0 {
            "cannot start a transaction"
        } else if done < self.references {
            "cannot store the bodies"
        } else if self.commit && done + 1 == self.statements {
            "cannot commit the trace records"
        } else {
            "cannot record the spans and what they sent"
        }
    }
}

impl SqliteStore {
    /// Writes a batch in one round trip to the connection's thread: SQLite
    /// runs the statements of one query in order, each binding its `$n` by
    /// number. The query opens the transaction, stores the bodies once each
    /// by hash, inserts the rest ([`WRITE_REFERENCES`]), reads back the
    /// bodies' ids and commits. When the batch ends spans, the ends are
    /// written after the query and a `COMMIT` of their own. Runs on the
    /// store's one trace-writing connection, whose page cache stays warm
    /// (a connection's cache is dropped whenever another one has written).
    /// Returns the ids of the batch's bodies, in order.
    async fn write_rows(&self, batch: &TraceBatch) -> Result<Vec<ContentId>, StoreError> {
        let hashes = recording::body_hashes(&batch.bodies);
        let references = References::of(batch, |body| recording::body_id_or_hash(body, &hashes))?;
        let hash_list = serde_json::Value::from(hashes.as_slice()).to_string();
        let (sql, sql_shape) = write_sql(batch.bodies.len(), batch.ends.is_empty());
        // A text for a batch of many bodies (one restored after failed
        // writes) is not kept prepared.
        let mut query = sqlx::query(&sql)
            .persistent(batch.bodies.len() <= recording::BATCH_ROWS)
            .bind(references.links.as_str())
            .bind(references.messages.as_str())
            .bind(references.contexts.as_str())
            .bind(references.spans.as_str())
            .bind(hash_list.as_str());
        for (hash, (kind, body)) in hashes.iter().zip(&batch.bodies) {
            query = query
                .bind(hash.as_str())
                .bind(kind.as_str())
                .bind(recording::storable(body));
        }
        // Trace writers of this process wait for each other here, each write
        // bounded by SQLite's busy timeout; only SQLite reports `Locked`.
        let mut slot = self.tracer.lock().await;
        let mut conn = match slot.take() {
            Some(conn) => conn,
            None => SqliteConnection::connect_with(&self.connect)
                .await
                .map_err(|err| self.db_err("cannot open the database", err))?,
        };
        // A connection that does not go back into `slot` is dropped, and
        // dropping one closes it, which rolls back its open transaction: so
        // a write cancelled while it runs, or whose rollback failed, leaves
        // no transaction and no lock behind.
        let written = self.write_on(&mut conn, query, &sql_shape, batch).await;
        if written.is_ok() || roll_back(&mut conn).await {
            *slot = Some(conn);
        }
        drop(slot);
        let ids = written?;
        if ids.len() != hashes.len() {
            return Err(self.protocol_err(format!(
                "{} bodies were written but {} ids read back",
                hashes.len(),
                ids.len()
            )));
        }
        // Each body was stored or found in the transaction, so each has an id.
        ids.into_iter()
            .zip(&hashes)
            .map(|(id, hash)| {
                id.map(ContentId).ok_or_else(|| {
                    StoreError::corrupt_row(
                        format!("content {hash}"),
                        "it was stored but cannot be read back",
                    )
                })
            })
            .collect()
    }

    /// Runs a trace write's query on `conn`, then, when the batch ends spans,
    /// the ends and the `COMMIT`. Returns the bodies' ids as read.
    async fn write_on<'q>(
        &self,
        conn: &mut SqliteConnection,
        query: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
        shape: &WriteShape,
        batch: &TraceBatch,
    ) -> Result<Vec<Option<i64>>, StoreError> {
        let mut ids = Vec::with_capacity(batch.bodies.len());
        let mut done = 0;
        let mut results = conn.fetch_many(query);
        while let Some(result) = results.try_next().await.transpose() {
            match result {
                Ok(Either::Left(_)) => done += 1,
                Ok(Either::Right(row)) => ids.push(
                    row.try_get::<Option<i64>, _>(0)
                        .map_err(self.ctx("cannot read the bodies' ids"))?,
                ),
                Err(err) if refused_row(&err) => return Err(recording::refused_references()),
                Err(err) => return Err(self.db_err(shape.failed_at(done), err)),
            }
        }
        drop(results);
        if done != shape.statements {
            return Err(self.protocol_err(format!(
                "the trace write ran {done} of its {} statements",
                shape.statements
            )));
        }
        if !batch.ends.is_empty() {
            // Ends after the spans: a batch may start a span and end it.
            for (id, end) in &batch.ends {
                self.span_finish_on(conn, id, end).await?;
            }
            sqlx::query("COMMIT")
                .execute(&mut *conn)
                .await
                .map_err(self.ctx("cannot commit the trace records"))?;
        }
        Ok(ids)
    }

    /// A database error for an answer sqlx should not have given.
    fn protocol_err(&self, detail: String) -> StoreError {
        self.db_err("cannot record the trace", sqlx::Error::Protocol(detail))
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
            .connect_with(connect.clone())
            .await
            .map_err(|err| errors.map("cannot open the database", err))?;
        Ok(Self {
            pool,
            tracer: tokio::sync::Mutex::new(None),
            connect,
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
            // An idle connection of the pool, or a new one while it has room
            // (trace writes have a connection of their own). A checkpoint
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

/// Rolls back after a failed trace write; returns true when no transaction
/// is left open (a `BEGIN` that found the file locked opened none), so the
/// connection can be used again.
async fn roll_back(conn: &mut SqliteConnection) -> bool {
    match sqlx::query("ROLLBACK").execute(&mut *conn).await {
        Ok(_) => true,
        Err(err) => err
            .as_database_error()
            .is_some_and(|db| db.message().contains("no transaction is active")),
    }
}

/// Returns true when a trace write failed on a context message or span
/// context that broke its rule (`WRITE_REFERENCES` gives such a row a NULL key).
fn refused_row(err: &sqlx::Error) -> bool {
    err.as_database_error().is_some_and(|db| {
        db.kind() == sqlx::error::ErrorKind::NotNullViolation
            && [
                "NOT NULL constraint failed: context_messages.context_span_id",
                "NOT NULL constraint failed: span_contexts.span_id",
            ]
            .contains(&db.message())
    })
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use slipway_types::ContentKind;
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{Connection, SqliteConnection};

    use super::SqliteStore;
    use crate::location::OpenOptions;
    use crate::{StoreError, TraceBatch};

    fn batch(body: &str) -> TraceBatch {
        TraceBatch {
            bodies: vec![(ContentKind::Message, body.to_owned())],
            ..TraceBatch::default()
        }
    }

    async fn kept(store: &SqliteStore) -> bool {
        store.tracer.lock().await.is_some()
    }

    /// The trace-writing connection is kept after a write that found the
    /// file locked (it opened no transaction) and dropped after a write cut
    /// while it ran; the next write opens a new one.
    #[tokio::test]
    async fn the_trace_connection_is_kept_unless_a_write_was_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slipway.db");
        let options = OpenOptions {
            busy_timeout: Duration::from_millis(200),
            create: true,
            ..OpenOptions::default()
        };
        let store = SqliteStore::open(&path, &options).await.unwrap();
        assert!(!kept(&store).await, "opened when first needed");
        store.write_rows(&batch("first")).await.unwrap();
        assert!(kept(&store).await);

        let mut holder =
            SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(&path))
                .await
                .unwrap();
        sqlx::raw_sql("BEGIN EXCLUSIVE")
            .execute(&mut holder)
            .await
            .unwrap();
        let err = store.write_rows(&batch("locked")).await.unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
        assert!(kept(&store).await, "no transaction was open: kept");
        sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap();
        holder.close().await.unwrap();

        // Large enough that the connection's thread cannot finish it before
        // the first poll returns.
        let large = TraceBatch {
            bodies: (0..2_000)
                .map(|i| (ContentKind::Message, format!("cut {i}")))
                .collect(),
            ..TraceBatch::default()
        };
        let cut = tokio::time::timeout(Duration::ZERO, store.write_rows(&large)).await;
        assert!(cut.is_err(), "cut before it finished");
        assert!(!kept(&store).await, "a cut write's connection is closed");
        let ids = store.write_rows(&batch("after")).await.unwrap();
        assert_eq!(ids.len(), 1);
        assert!(kept(&store).await);
        // Its rows stopped short of the COMMIT (the connection's thread
        // waits once it has 50 results nobody read), so nothing was kept.
        let cut: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contents WHERE body LIKE 'cut %'")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(cut, 0);
    }

    /// Each statement of a write's text is named by what it does.
    #[test]
    fn a_failed_statement_is_named_by_its_place() {
        for (bodies, commit) in [
            (0, true),
            (1, false),
            (200, true),
            (201, true),
            (401, false),
        ] {
            let (sql, shape) = super::write_sql(bodies, commit);
            let inserts = bodies.div_ceil(crate::recording::BATCH_ROWS);
            assert_eq!(sql.matches("INSERT INTO contents").count(), inserts);
            assert_eq!(
                shape.statements,
                1 + inserts + super::REFERENCE_STATEMENTS + usize::from(commit)
            );
            assert_eq!(sql.matches("; ").count() + 1, shape.statements, "{sql}");
            assert_eq!(shape.failed_at(0), "cannot start a transaction");
            for done in 1..=inserts {
                assert_eq!(shape.failed_at(done), "cannot store the bodies");
            }
            let last = shape.statements - 1;
            for done in inserts + 1..last {
                assert_eq!(
                    shape.failed_at(done),
                    "cannot record the spans and what they sent"
                );
            }
            let at_last = if commit {
                "cannot commit the trace records"
            } else {
                "cannot record the spans and what they sent"
            };
            assert_eq!(shape.failed_at(last), at_last);
        }
    }
}
