//! The PostgreSQL backend: connecting within the timeout, and PostgreSQL's
//! errors in Slipway's terms, never showing the password.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres, Transaction};

use slipway_types::{ContentId, ContentKind};

use crate::error::StoreError;
use crate::location::{OpenOptions, StoreLocation};
use crate::recording::{self, References};
use crate::shared::impl_store;
use crate::{TraceBatch, migrate};

/// A store in one PostgreSQL database.
pub(crate) struct PgStore {
    pool: PgPool,
    location: StoreLocation,
}

/// Turns sqlx errors into `StoreError`s; `shown` is the URL without its password.
fn map_error(shown: &str, context: &str, err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unreachable {
            url: shown.to_owned(),
            detail: err.to_string(),
        },
        err => StoreError::database(format!("{context} ({shown})"), err),
    }
}

impl PgStore {
    /// The server checkpoints on its own; nothing to do after a trace write.
    #[expect(clippy::unused_self, reason = "the SQLite store's counterpart uses it")]
    fn after_trace_write(&self) {}

    /// Inserts spans from one JSON array of rows (`recording::References`).
    const INSERT_SPANS_JSON: &'static str = concat!(
        "INSERT INTO spans (",
        crate::sql::span_insert_columns!(),
        ") SELECT r->>0, r->>1, r->>2, r->>3, r->>4, r->>5, r->>6, CAST(r->>7 AS BIGINT), \
         r->>8, r->>9, r->>10, r->>11, r->>12, CAST(r->>13 AS BIGINT), CAST(r->>14 AS BIGINT), \
         CAST(r->>15 AS BIGINT), CAST(r->>16 AS BIGINT), CAST(r->>17 AS BIGINT), \
         CAST(r->>18 AS BIGINT), r->>19 \
         FROM jsonb_array_elements(CAST($1 AS TEXT)::jsonb) AS r"
    );

    /// Inserts the links of a batch from one JSON array of `[span, direction,
    /// position, content]` rows: one statement text, prepared once, whatever
    /// the number of rows.
    const INSERT_LINKS_JSON: &'static str = "INSERT INTO span_contents \
         (span_id, direction, position, content_id) \
         SELECT l->>0, l->>1, CAST(l->>2 AS BIGINT), CAST(l->>3 AS BIGINT) \
         FROM jsonb_array_elements(CAST($1 AS TEXT)::jsonb) AS l";

    /// Appends context messages from one JSON array of `[context span,
    /// position, content, check]` rows; a row with `check` 1 goes in only
    /// when the position before it is stored (`recording::context_rows`).
    /// The checks are scalar subqueries, so each stays a primary-key lookup
    /// per row: an `EXISTS` under `OR` may be planned as a hashed subplan,
    /// which reads the whole table, and a cached plan would keep doing so.
    const INSERT_CONTEXT_MESSAGES_JSON: &'static str = "INSERT INTO context_messages \
         (context_span_id, position, content_id) \
         SELECT r->>0, CAST(r->>1 AS BIGINT), CAST(r->>2 AS BIGINT) \
         FROM jsonb_array_elements(CAST($1 AS TEXT)::jsonb) AS r \
         WHERE CAST(r->>3 AS BIGINT) = 0 OR (SELECT m.position FROM context_messages m \
         WHERE m.context_span_id = r->>0 AND m.position = CAST(r->>1 AS BIGINT) - 1) IS NOT NULL";

    /// Records what calls sent from one JSON array of `[span, context span,
    /// messages]` rows; a row goes in only when both spans are of one run and
    /// the context holds position `messages - 1` (scalar subqueries, as above).
    const INSERT_SPAN_CONTEXTS_JSON: &'static str = "INSERT INTO span_contexts \
         (span_id, context_span_id, messages) \
         SELECT r->>0, r->>1, CAST(r->>2 AS BIGINT) \
         FROM jsonb_array_elements(CAST($1 AS TEXT)::jsonb) AS r \
         WHERE (SELECT s.trace_id FROM spans s WHERE s.id = r->>0) \
         = (SELECT o.trace_id FROM spans o WHERE o.id = r->>1) \
         AND (SELECT m.position FROM context_messages m \
         WHERE m.context_span_id = r->>1 AND m.position = CAST(r->>2 AS BIGINT) - 1) IS NOT NULL";

    /// Inserts a batch's spans, links, context messages and span contexts, one
    /// statement each (the extended protocol runs one statement per query);
    /// returns the rows inserted.
    async fn insert_references(
        &self,
        conn: &mut PgConnection,
        references: &References,
    ) -> Result<u64, StoreError> {
        let mut inserted = 0;
        for (sql, rows) in [
            (Self::INSERT_SPANS_JSON, &references.spans),
            (Self::INSERT_LINKS_JSON, &references.links),
            (Self::INSERT_CONTEXT_MESSAGES_JSON, &references.messages),
            (Self::INSERT_SPAN_CONTEXTS_JSON, &references.contexts),
        ] {
            if rows == "[]" {
                continue;
            }
            inserted += sqlx::query(sql)
                .bind(rows.as_str())
                .execute(&mut *conn)
                .await
                .map_err(|err| self.db_err("cannot record the spans and what they sent", err))?
                .rows_affected();
        }
        Ok(inserted)
    }

    /// Writes a batch in one transaction: its bodies (their ids read back),
    /// then its references, counted against the rows given, then its ends.
    async fn write_rows(&self, batch: &TraceBatch) -> Result<Vec<ContentId>, StoreError> {
        let mut tx = self.begin_write().await?;
        let body_ids = self.batch_bodies(&mut tx, &batch.bodies).await?;
        let references = References::of(batch, |body| {
            recording::body_id(body, &body_ids).map(|id| serde_json::Value::from(id.0))
        })?;
        if references.rows > 0 {
            let inserted = self.insert_references(&mut tx, &references).await?;
            all_rows(inserted, references.rows)?;
        }
        // Ends after the spans: after a failed write, one batch may start a
        // span and end it.
        for (id, end) in &batch.ends {
            self.span_finish_on(&mut tx, id, end).await?;
        }
        tx.commit()
            .await
            .map_err(self.ctx("cannot commit the trace records"))?;
        Ok(body_ids)
    }

    /// Stores bodies once by hash and returns their ids, in order.
    async fn batch_bodies(
        &self,
        conn: &mut PgConnection,
        bodies: &[(ContentKind, String)],
    ) -> Result<Vec<ContentId>, StoreError> {
        let hashes = recording::body_hashes(bodies);
        let mut ids = std::collections::BTreeMap::new();
        let mut rows: Vec<(&String, &(ContentKind, String))> = hashes.iter().zip(bodies).collect();
        // In hash order, so concurrent batches take row locks in one order.
        rows.sort_by(|a, b| a.0.cmp(b.0));
        for chunk in rows.chunks(recording::BATCH_ROWS) {
            let mut insert =
                sqlx::QueryBuilder::<Postgres>::new("INSERT INTO contents (sha256, kind, body) ");
            insert.push_values(chunk, |mut row, (hash, (kind, body))| {
                row.push_bind((*hash).clone())
                    .push_bind(kind.as_str())
                    .push_bind(recording::storable(body).into_owned());
            });
            // New bodies come back at once; only those stored before need a read.
            insert.push(" ON CONFLICT (sha256) DO NOTHING RETURNING id, sha256");
            let inserted: Vec<(i64, String)> = insert
                .build_query_as()
                .fetch_all(&mut *conn)
                .await
                .map_err(self.ctx("cannot store the bodies"))?;
            ids.extend(inserted.into_iter().map(|(id, hash)| (hash, id)));
            let known: Vec<&String> = chunk
                .iter()
                .map(|(hash, _)| *hash)
                .filter(|hash| !ids.contains_key(*hash))
                .collect();
            if known.is_empty() {
                continue;
            }
            let mut select = sqlx::QueryBuilder::<Postgres>::new(
                "SELECT id, sha256 FROM contents WHERE sha256 IN (",
            );
            let mut list = select.separated(", ");
            for hash in known {
                list.push_bind(hash.clone());
            }
            select.push(")");
            let found: Vec<(i64, String)> = select
                .build_query_as()
                .fetch_all(&mut *conn)
                .await
                .map_err(self.ctx("cannot look up the bodies"))?;
            ids.extend(found.into_iter().map(|(id, hash)| (hash, id)));
        }
        hashes
            .iter()
            .map(|hash| {
                ids.get(hash).copied().map(ContentId).ok_or_else(|| {
                    StoreError::corrupt_row(
                        format!("content {hash}"),
                        "it was stored but cannot be read back",
                    )
                })
            })
            .collect()
    }

    fn db_err(&self, context: &str, err: sqlx::Error) -> StoreError {
        map_error(&self.location.describe(), context, err)
    }

    /// Starts a transaction; writes in it rely on compare-and-swap updates.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool
            .begin()
            .await
            .map_err(|err| self.db_err("cannot start a transaction", err))
    }

    /// Connects to the database at `url` and brings its schema up to date.
    pub(crate) async fn open(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        let location = StoreLocation::Postgres(url.to_owned());
        let shown = location.describe();
        let unreachable = |detail: String| StoreError::Unreachable {
            url: shown.clone(),
            detail,
        };
        let connect = PgConnectOptions::from_str(url)
            .map_err(|err| unreachable(format!("the URL is not valid ({err})")))?
            .application_name("slipway");
        let mut conn = tokio::time::timeout(
            options.connect_timeout,
            PgConnection::connect_with(&connect),
        )
        .await
        .map_err(|_| {
            unreachable(format!(
                "no answer within {} s",
                options.connect_timeout.as_secs_f64()
            ))
        })?
        .map_err(|err| unreachable(err.to_string()))?;
        let migrated = migrate::postgres(&mut conn, &shown, |context, err| {
            map_error(&shown, context, err)
        })
        .await;
        // A failure to close is not the caller's problem; the server cleans up.
        let _ = conn.close().await;
        migrated?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            // Broken connections surface as errors on use; a ping per call would double the round trips.
            .test_before_acquire(false)
            .acquire_timeout(options.connect_timeout)
            .connect_lazy_with(connect);
        Ok(Self { pool, location })
    }
}

impl_store!(PgStore, PgConnection);

/// Refuses a batch when its validating statements inserted fewer rows than
/// given: a context message that does not follow its context's stored ones,
/// or a call naming messages its context does not hold.
fn all_rows(inserted: u64, given: usize) -> Result<(), StoreError> {
    if usize::try_from(inserted).ok() == Some(given) {
        Ok(())
    } else {
        Err(recording::refused_references())
    }
}
