//! Schema migrations, one SQL file per version and dialect, applied on open.
//!
//! A hand-written runner rather than sqlx's `migrate!`: it keeps the
//! proc-macro out of the build, and the rules are short. Each migration runs in
//! its own transaction that first takes a lock (SQLite: `BEGIN IMMEDIATE`;
//! PostgreSQL: `pg_advisory_xact_lock`) and then re-reads the version, so
//! several processes opening one fresh database apply each migration once. A
//! database newer than this build is refused before anything is written.

use jiff::Timestamp;
use sqlx::{Connection, Executor, PgConnection, SqliteConnection};

use crate::error::StoreError;
use crate::{sql, time};

/// The latest schema version this build knows.
pub const SCHEMA_VERSION: i64 = 5;

/// One step of the schema.
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) sql: &'static str,
}

pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/sqlite/0002_traces.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../migrations/sqlite/0003_pipeline.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("../migrations/sqlite/0004_board.sql"),
    },
    Migration {
        version: 5,
        sql: include_str!("../migrations/sqlite/0005_contexts.sql"),
    },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/postgres/0002_traces.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../migrations/postgres/0003_pipeline.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("../migrations/postgres/0004_board.sql"),
    },
    Migration {
        version: 5,
        sql: include_str!("../migrations/postgres/0005_contexts.sql"),
    },
];

/// An arbitrary constant naming Slipway's migration lock among advisory locks.
const PG_MIGRATION_LOCK: i64 = 0x736c_6970_7761_7901;

/// What the runner found under the lock.
enum Next {
    Apply(&'static Migration),
    Done,
}

fn next(found: i64, migrations: &'static [Migration], location: &str) -> Result<Next, StoreError> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            location: location.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(migrations
        .iter()
        .find(|m| m.version == found + 1)
        .map_or(Next::Done, Next::Apply))
}

/// Applies the pending SQLite migrations, one locked transaction each.
pub(crate) async fn sqlite(
    conn: &mut SqliteConnection,
    location: &str,
    err: impl Fn(&'static str, sqlx::Error) -> StoreError,
) -> Result<(), StoreError> {
    loop {
        let mut tx = conn
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| err("cannot lock the database to check its schema", e))?;
        (&mut *tx)
            .execute(sqlx::raw_sql(sql::CREATE_SCHEMA_MIGRATIONS))
            .await
            .map_err(|e| err("cannot create slipway_schema_migrations", e))?;
        let found = sqlx::query_scalar::<_, i64>(sql::SCHEMA_VERSION)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| err("cannot read the schema version", e))?;
        let Next::Apply(migration) = next(found, SQLITE, location)? else {
            return tx.commit().await.map_err(|e| err("cannot commit", e));
        };
        (&mut *tx)
            .execute(sqlx::raw_sql(migration.sql))
            .await
            .map_err(|e| err("cannot apply a migration", e))?;
        sqlx::query(sql::RECORD_MIGRATION)
            .bind(migration.version)
            .bind(time::to_text(Timestamp::now()))
            .execute(&mut *tx)
            .await
            .map_err(|e| err("cannot record a migration", e))?;
        tx.commit()
            .await
            .map_err(|e| err("cannot commit a migration", e))?;
    }
}

/// Applies the pending PostgreSQL migrations, one locked transaction each.
pub(crate) async fn postgres(
    conn: &mut PgConnection,
    location: &str,
    err: impl Fn(&'static str, sqlx::Error) -> StoreError,
) -> Result<(), StoreError> {
    loop {
        let mut tx = conn
            .begin()
            .await
            .map_err(|e| err("cannot start a transaction", e))?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PG_MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(|e| err("cannot take the migration lock", e))?;
        // A newer schema is refused before even this harmless DDL runs.
        let exists = sqlx::query_scalar::<_, bool>(
            "SELECT to_regclass('slipway_schema_migrations') IS NOT NULL",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| err("cannot look for slipway_schema_migrations", e))?;
        if !exists {
            let theirs: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name IN ('tasks', 'task_deps', 'task_events', 'leases', \
                 'traces', 'spans', 'contents', 'span_contents', 'context_messages', 'span_contexts', 'task_seams', 'stage_results', \
                 'findings', 'releases', 'release_tasks') \
                 ORDER BY table_name",
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| err("cannot list the database's tables", e))?;
            if !theirs.is_empty() {
                return Err(StoreError::Foreign {
                    location: location.to_owned(),
                    tables: theirs.join(", "),
                });
            }
            (&mut *tx)
                .execute(sqlx::raw_sql(sql::CREATE_SCHEMA_MIGRATIONS))
                .await
                .map_err(|e| err("cannot create slipway_schema_migrations", e))?;
        }
        let found = sqlx::query_scalar::<_, i64>(sql::SCHEMA_VERSION)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| err("cannot read the schema version", e))?;
        let Next::Apply(migration) = next(found, POSTGRES, location)? else {
            return tx.commit().await.map_err(|e| err("cannot commit", e));
        };
        (&mut *tx)
            .execute(sqlx::raw_sql(migration.sql))
            .await
            .map_err(|e| err("cannot apply a migration", e))?;
        sqlx::query(sql::RECORD_MIGRATION)
            .bind(migration.version)
            .bind(time::to_text(Timestamp::now()))
            .execute(&mut *tx)
            .await
            .map_err(|e| err("cannot record a migration", e))?;
        tx.commit()
            .await
            .map_err(|e| err("cannot commit a migration", e))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_run_from_one_to_the_latest_on_both_dialects() {
        for migrations in [SQLITE, POSTGRES] {
            let versions: Vec<i64> = migrations.iter().map(|m| m.version).collect();
            let expected: Vec<i64> = (1..=SCHEMA_VERSION).collect();
            assert_eq!(versions, expected);
        }
    }
}
