//! A database per test: a fresh PostgreSQL database on a real server, dropped
//! afterwards, and a SQLite file in a temporary directory.
//!
//! The server is the one at `SLIPWAY_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot be reached,
//! CI fails loudly, and a local run skips the PostgreSQL tests with a warning
//! so that it passes without a server.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

/// The variable naming the PostgreSQL server tests create their databases on.
pub const TEST_DATABASE_URL_VAR: &str = "SLIPWAY_TEST_DATABASE_URL";

/// The server used when `SLIPWAY_TEST_DATABASE_URL` is not set.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How to start the server on a development machine or in CI.
const START_HINT: &str = "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
     or point SLIPWAY_TEST_DATABASE_URL at a server where this user may create databases";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A uniquely named PostgreSQL database, created for one test and dropped
/// (`WITH (FORCE)`, so open connections do not keep it) when this is dropped.
pub struct PgTestDb {
    admin_url: String,
    name: String,
    url: String,
}

impl PgTestDb {
    /// Creates a fresh database, or returns `None` (after a loud line on
    /// stderr) when the server is unreachable outside CI.
    ///
    /// Callable from synchronous and asynchronous tests alike: the work runs
    /// on a thread of its own.
    ///
    /// # Panics
    /// When the server is unreachable and `CI` is set, or when it refuses to
    /// create the database.
    #[must_use]
    pub fn new() -> Option<Self> {
        let admin_url = std::env::var(TEST_DATABASE_URL_VAR)
            .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.into());
        if let Err(reason) = server_reachable(&admin_url) {
            let message = format!(
                "PostgreSQL is not reachable at {} ({reason}); {START_HINT}",
                without_password(&admin_url)
            );
            assert!(!in_ci(), "{message}");
            warn_once(&format!("skipping PostgreSQL tests: {message}"));
            return None;
        }
        let name = unique_name();
        let url = with_database(&admin_url, &name);
        let sql = format!("CREATE DATABASE \"{name}\"");
        run_blocking(|| admin_execute(&admin_url, &sql)).unwrap_or_else(|err| {
            panic!("cannot create test database {name} on {admin_url}: {err}")
        });
        Some(Self {
            admin_url,
            name,
            url,
        })
    }

    /// Returns the URL of this test's database.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Returns the database's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let dropped = run_blocking(|| admin_execute(&self.admin_url, &sql));
        if let Err(err) = dropped {
            eprintln!("warning: cannot drop test database {}: {err}", self.name);
        }
    }
}

/// A SQLite database path (`slipway.db`, not yet created) in a temporary
/// directory that is deleted on drop.
pub struct SqliteTestDb {
    dir: TempDir,
    path: PathBuf,
}

impl SqliteTestDb {
    /// Makes the directory; the database file is left for the code under test to create.
    #[must_use]
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("slipway-db-")
            .tempdir()
            .expect("create a temporary directory");
        let path = dir.path().join("slipway.db");
        Self { dir, path }
    }

    /// Returns the database file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the temporary directory holding it.
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Default for SqliteTestDb {
    fn default() -> Self {
        Self::new()
    }
}

/// Returns whether this is a CI run, where a missing server is a failure.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.trim(), "" | "0" | "false"))
}

/// Prints `message` once per process, straight to stderr: libtest captures
/// `eprintln!` of passing tests, and a skip must not pass unseen.
fn warn_once(message: &str) {
    static WARNED: OnceLock<()> = OnceLock::new();
    WARNED.get_or_init(|| {
        let _ = writeln!(std::io::stderr(), "\n*** {message} ***\n");
    });
}

/// Hides the password of a URL's user info, for messages.
fn without_password(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let authority_end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |at| after_scheme + at);
    match url[after_scheme..authority_end].rfind('@') {
        Some(at_sign) => {
            let user_info = &url[after_scheme..after_scheme + at_sign];
            match user_info.split_once(':') {
                Some((user, _)) => format!(
                    "{}{user}:***{}",
                    &url[..after_scheme],
                    &url[after_scheme + at_sign..]
                ),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

/// Tries the server once per process and remembers the answer.
fn server_reachable(admin_url: &str) -> Result<(), String> {
    static REACHABLE: OnceLock<Result<(), String>> = OnceLock::new();
    REACHABLE
        .get_or_init(|| {
            run_blocking(|| async { admin_connection(admin_url).await?.close().await })
                .map_err(|err| err.to_string())
        })
        .clone()
}

/// Connects to the server at `admin_url`, giving up after five seconds.
///
/// # Errors
/// When the URL is invalid or the server does not answer in time.
pub async fn admin_connection(admin_url: &str) -> Result<PgConnection, sqlx::Error> {
    let options = PgConnectOptions::from_str(admin_url)?;
    tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?
}

/// Runs `sql` (one or more statements) on the server at `admin_url`, on a
/// connection of its own: how benchmarks create and drop their databases.
///
/// # Errors
/// When the server cannot be reached or refuses the statements.
pub async fn admin_execute(admin_url: &str, sql: &str) -> Result<(), sqlx::Error> {
    let mut admin = admin_connection(admin_url).await?;
    sqlx::raw_sql(sql).execute(&mut admin).await?;
    admin.close().await
}

/// Runs async work on a fresh thread with its own runtime, so it works from
/// inside a test's runtime, outside any runtime, and in `Drop`.
fn run_blocking<F, Fut, T>(work: F) -> Result<T, sqlx::Error>
where
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = Result<T, sqlx::Error>>,
    T: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("build a tokio runtime")
                    .block_on(work())
            })
            .join()
            .expect("the database helper thread panicked")
    })
}

/// Returns a name no other test, process or earlier run uses.
fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    format!(
        "slipway_test_{}_{}_{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos & 0xffff_ffff_ffff
    )
}

/// Returns `url` with its database (the path) replaced by `name`.
#[must_use]
pub fn with_database(url: &str, name: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let (head, rest) = url.split_at(after_scheme);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find(['?', '#']).map_or("", |at| &tail[at..]);
    format!("{head}{authority}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_swapped_into_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "t3"),
            "postgres://h:5432/t3"
        );
        assert_ne!(unique_name(), unique_name());
        assert_eq!(
            without_password("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(without_password("postgres://u@h/db"), "postgres://u@h/db");
    }
}
