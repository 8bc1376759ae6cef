//! The store behind the CLI: both backends, and bad stores.

use std::fs;

use slipway_test_support::PgTestDb;

use super::cli::{initialized, slipway, slipway_in};

/// A store the CLI can be pointed at.
pub(crate) enum Backend {
    Sqlite,
    Postgres(PgTestDb),
}

impl Backend {
    pub(crate) fn env(&self) -> Vec<(&str, &str)> {
        match self {
            Self::Sqlite => vec![],
            Self::Postgres(db) => vec![("SLIPWAY_DATABASE_URL", db.url())],
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        if self.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

/// SQLite, and PostgreSQL with a database of its own when a server is reachable.
pub(crate) fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if let Some(db) = PgTestDb::new() {
        backends.push(Backend::Postgres(db));
    }
    backends
}

#[test]
fn a_corrupt_database_is_named_and_left_alone() {
    let repo = initialized(&[("a.txt", "")]);
    let db = repo.join(".slipway/slipway.db");
    for suffix in ["-wal", "-shm"] {
        let _ = fs::remove_file(repo.join(&format!(".slipway/slipway.db{suffix}")));
    }
    let garbage = b"this is not a database, it is a text file that got in the way ".repeat(100);
    fs::write(&db, &garbage).unwrap();
    let run = slipway(&repo, &["task", "list"]).fails(2);
    assert!(run.stderr.contains("slipway.db"), "{run:#?}");
    assert!(run.stderr.contains("move it aside"), "{run:#?}");
    assert_eq!(fs::read(&db).unwrap(), garbage, "the file is not modified");
}

#[test]
fn an_unreachable_postgres_is_named_without_its_password() {
    let repo = initialized(&[("a.txt", "")]);
    let url = "postgres://slipway:hunter2@127.0.0.1:1/slipway";
    let run = slipway_in(
        repo.path(),
        &["task", "list"],
        &[("SLIPWAY_DATABASE_URL", url)],
    )
    .fails(2);
    assert!(run.stderr.contains("127.0.0.1:1"), "{run:#?}");
    assert!(run.stderr.contains("SLIPWAY_DATABASE_URL"), "{run:#?}");
    assert!(!run.stderr.contains("hunter2"), "{run:#?}");
}

#[test]
fn the_same_commands_work_on_postgres() {
    let Some(db) = PgTestDb::new() else { return };
    let repo = initialized(&[("a.txt", "")]);
    let env = [("SLIPWAY_DATABASE_URL", db.url())];
    let run = slipway_in(repo.path(), &["init"], &env).ok();
    assert!(run.stdout.contains("PostgreSQL"), "{run:#?}");
    slipway_in(
        repo.path(),
        &["task", "add", "On PostgreSQL", "--lane", "main"],
        &env,
    )
    .ok();
    let pg = slipway_in(repo.path(), &["task", "list", "--json"], &env)
        .ok()
        .json();
    assert_eq!(pg[0]["title"], "On PostgreSQL");
    let sqlite = slipway(&repo, &["task", "list", "--json"]).ok().json();
    assert_eq!(
        sqlite,
        serde_json::json!([]),
        "the SQLite store is separate"
    );
}

#[test]
fn a_lost_database_is_reported_not_replaced() {
    let repo = initialized(&[("a.txt", "")]);
    slipway(&repo, &["task", "add", "Kept", "--lane", "main"]).ok();
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(repo.join(&format!(".slipway/slipway.db{suffix}")));
    }
    let run = slipway(&repo, &["task", "list"]).fails(2);
    assert!(
        run.stderr.contains("does not exist") && run.stderr.contains("slipway init"),
        "{run:#?}"
    );
    assert!(!repo.join(".slipway/slipway.db").exists());
}
