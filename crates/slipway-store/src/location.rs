//! Where a store lives and how to open it: the backend, the location (a
//! SQLite file or a PostgreSQL URL, shown with its password hidden), and the
//! timeouts.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The database engine behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        })
    }
}

/// Where a store's data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite database file (created when missing; its directory must exist).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user:password@host:port/db`).
    Postgres(String),
}

impl StoreLocation {
    /// Returns the backend this location is for.
    #[must_use]
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Returns the location as it may be shown to people and logs: the path,
    /// or the URL with any password replaced by `***`.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => redact_url(url),
        }
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Debug shows the redacted form too, so a password never reaches a log by `{:?}`.
impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres(_) => f.debug_tuple("Postgres").field(&self.describe()).finish(),
        }
    }
}

/// How long to wait for a busy database and for a server to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// How long a SQLite call waits for another process's lock before
    /// failing with [`StoreError::Locked`](crate::StoreError::Locked).
    pub busy_timeout: Duration,
    /// How long to wait for PostgreSQL to accept a connection before failing
    /// with [`StoreError::Unreachable`](crate::StoreError::Unreachable).
    pub connect_timeout: Duration,
    /// Whether a missing SQLite file is created (`slipway init`) or refused
    /// (every other command, so a lost database is not silently replaced).
    pub create: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            create: true,
        }
    }
}

/// Replaces the password of a URL, in its user info or a `password=` query
/// parameter, by `***`.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    // A password may hold an unescaped `/`, `?` or `#`: the user info ends at
    // the last `@`, wherever the host part would otherwise seem to end.
    let (user_info, rest) = match rest.rfind('@') {
        Some(at) if rest[..at].contains(':') => {
            let user = rest[..at].split(':').next().unwrap_or_default();
            (format!("{user}:***@"), &rest[at + 1..])
        }
        Some(at) if !rest[..at].contains(['/', '?', '#']) => {
            (rest[..=at].to_owned(), &rest[at + 1..])
        }
        _ => (String::new(), rest),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(authority_end);
    let authority = format!("{user_info}{host}");
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((query, fragment)) => (query, Some(fragment)),
                None => (query, None),
            };
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            format!("{path}?{}{fragment}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        let cases = [
            (
                "postgres://alice:s3cret@db.example:5432/slipway",
                "postgres://alice:***@db.example:5432/slipway",
            ),
            (
                "postgres://alice:p@ss@db/slipway",
                "postgres://alice:***@db/slipway",
            ),
            ("postgres://alice@db/slipway", "postgres://alice@db/slipway"),
            (
                "postgres://alice:a/b?c#d@db:5432/slipway",
                "postgres://alice:***@db:5432/slipway",
            ),
            (
                "postgres://db/slipway?options=a@b",
                "postgres://db/slipway?options=a@b",
            ),
            ("postgres://db/slipway", "postgres://db/slipway"),
            (
                "postgres://db/slipway?sslmode=require&password=hunter2#x",
                "postgres://db/slipway?sslmode=require&password=***#x",
            ),
            (
                "postgresql://bob:pw@[::1]:5433?application_name=x",
                "postgresql://bob:***@[::1]:5433?application_name=x",
            ),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
        }
        let location = StoreLocation::Postgres("postgres://a:hunter2@h/d".into());
        assert!(!format!("{location:?} {location}").contains("hunter2"));
    }

    #[test]
    fn sqlite_locations_show_the_path() {
        let location = StoreLocation::Sqlite("/srv/p/.slipway/slipway.db".into());
        assert_eq!(location.describe(), "/srv/p/.slipway/slipway.db");
        assert_eq!(location.backend(), Backend::Sqlite);
        assert_eq!(Backend::Postgres.to_string(), "PostgreSQL");
        assert_eq!(Backend::Sqlite.to_string(), "SQLite");
    }
}
