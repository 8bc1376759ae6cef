//! Bad input: files that are not Slipway databases, a locked database, a
//! missing directory, an unreachable server. Each gets its own error that
//! names the place and the fix, and nothing is modified.

use std::time::{Duration, Instant};

use slipway_store::{OpenOptions, StoreError, StoreLocation, TaskFilter, TraceBatch};
use slipway_test_support::{PgTestDb, SqliteTestDb};
use slipway_types::ContentKind;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, PgConnection, SqliteConnection};

use crate::suite::support::{Rng, TestDb, create, new_task, short_wait, t0};

#[tokio::test]
async fn a_file_that_is_not_sqlite_is_corrupt_and_untouched() {
    let mut rng = Rng::new(7);
    let garbage: Vec<u8> = (0..8192).map(|_| rng.next().to_le_bytes()[0]).collect();
    for contents in [garbage, b"hello, I am a text file\n".to_vec()] {
        let db = SqliteTestDb::new();
        std::fs::write(db.path(), &contents).unwrap();
        let location = StoreLocation::Sqlite(db.path().to_owned());
        let err = slipway_store::open(&location).await.err().unwrap();
        assert!(
            matches!(&err, StoreError::Corrupt { path } if path == db.path()),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains(&db.path().display().to_string()), "{text}");
        assert!(
            text.contains("slipway init") && text.contains("move it aside"),
            "{text}"
        );
        assert_eq!(std::fs::read(db.path()).unwrap(), contents);
    }
}

#[tokio::test]
async fn another_programs_sqlite_database_is_refused_untouched() {
    let db = SqliteTestDb::new();
    let mut conn = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(db.path())
            .create_if_missing(true),
    )
    .await
    .unwrap();
    sqlx::raw_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('mine')")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let before = std::fs::read(db.path()).unwrap();
    let err = slipway_store::open(&StoreLocation::Sqlite(db.path().to_owned()))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, StoreError::Foreign { ref tables, .. } if tables == "notes"),
        "{err}"
    );
    assert!(err.to_string().contains("a database of its own"), "{err}");
    assert_eq!(std::fs::read(db.path()).unwrap(), before);
}

#[tokio::test]
async fn another_programs_postgres_database_is_refused_untouched() {
    let Some(db) = PgTestDb::new() else { return };
    let mut conn = PgConnection::connect(db.url()).await.unwrap();
    sqlx::raw_sql("CREATE TABLE tasks (id BIGINT PRIMARY KEY, what TEXT)")
        .execute(&mut conn)
        .await
        .unwrap();
    let err = slipway_store::open(&StoreLocation::Postgres(db.url().to_owned()))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, StoreError::Foreign { ref tables, .. } if tables == "tasks"),
        "{err}"
    );
    let ours: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('slipway_schema_migrations')::text")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(ours, None, "nothing was created");
}

#[tokio::test]
async fn a_missing_file_is_refused_unless_creation_was_asked_for() {
    let db = SqliteTestDb::new();
    let options = OpenOptions {
        create: false,
        ..OpenOptions::default()
    };
    let err = slipway_store::open_with(&StoreLocation::Sqlite(db.path().to_owned()), &options)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!db.path().exists());
}

#[tokio::test]
async fn a_missing_directory_is_named() {
    let db = SqliteTestDb::new();
    let path = db.dir().join("no-such-dir").join("slipway.db");
    let err = slipway_store::open(&StoreLocation::Sqlite(path.clone()))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::CannotOpen { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("no-such-dir") && text.contains("does not exist"),
        "{text}"
    );
    assert!(!path.parent().unwrap().exists(), "nothing is created");

    let err = slipway_store::open(&StoreLocation::Sqlite(db.dir().to_owned()))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("is a directory"), "{err}");
}

#[tokio::test]
async fn a_locked_sqlite_database_is_locked_not_hung() {
    let db = TestDb::sqlite();
    let store = db.open_with(&short_wait()).await.unwrap();
    let task = create(&*store, "before", "api").await;
    let TestDb::Sqlite(sqlite) = &db else {
        unreachable!()
    };

    let mut holder =
        SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(sqlite.path()))
            .await
            .unwrap();
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut holder)
        .await
        .unwrap();

    let started = Instant::now();
    let err = db.open_with(&short_wait()).await.err().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300), "it waited");
    assert!(
        matches!(&err, StoreError::Locked { path, .. } if path == sqlite.path()),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("locked by another process") && text.contains("0.3 s"),
        "{text}"
    );
    assert!(err.is_retryable());

    // An open store is refused the same way when it writes.
    let err = store
        .create_task(&new_task("during", "api"), "tester", t0())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    // So is a trace write, which opens its transaction in its own query.
    let started = Instant::now();
    let err = store
        .write_batch(&TraceBatch {
            bodies: vec![(ContentKind::Message, "during".into())],
            ..TraceBatch::default()
        })
        .await
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(300), "it waited");
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    // Reads still work in WAL mode.
    assert_eq!(store.task(task.id).await.unwrap(), task);

    sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap();
    holder.close().await.unwrap();
    create(&*store, "after", "api").await;
    assert_eq!(store.tasks(&TaskFilter::default()).await.unwrap().len(), 2);
    // No transaction was left open: the next trace write goes through.
    let ids = store
        .write_batch(&TraceBatch {
            bodies: vec![(ContentKind::Message, "after".into())],
            ..TraceBatch::default()
        })
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert!(db.open_with(&short_wait()).await.is_ok());
}

#[tokio::test]
async fn an_unreachable_postgres_is_named_without_its_password() {
    let url = "postgres://slipway:hunter2@127.0.0.1:1/slipway";
    let location = StoreLocation::Postgres(url.into());
    let started = Instant::now();
    let err = slipway_store::open_with(&location, &short_wait())
        .await
        .err()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
    let text = err.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.contains("postgres://slipway:***@127.0.0.1:1/slipway"),
        "{text}"
    );
    assert!(text.contains("SLIPWAY_DATABASE_URL"), "{text}");

    let err = slipway_store::open(&StoreLocation::Postgres("not a url".into()))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
}
