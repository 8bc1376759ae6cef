//! Opening a store at a location, whichever the backend.

use crate::error::StoreError;
use crate::location::{OpenOptions, StoreLocation};
use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::store::Store;

/// Opens the store at `location` with default timeouts, applying pending migrations.
pub async fn open(location: &StoreLocation) -> Result<Box<dyn Store>, StoreError> {
    open_with(location, &OpenOptions::default()).await
}

/// Opens the store at `location`, applying pending migrations.
///
/// A SQLite file is created when missing (its directory must exist); a file
/// that is not a Slipway database is refused and left untouched. A database
/// written by a newer Slipway is refused with nothing changed.
pub async fn open_with(
    location: &StoreLocation,
    options: &OpenOptions,
) -> Result<Box<dyn Store>, StoreError> {
    Ok(match location {
        StoreLocation::Sqlite(path) => Box::new(SqliteStore::open(path, options).await?),
        StoreLocation::Postgres(url) => Box::new(PgStore::open(url, options).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// Servers open stores inside spawned tasks: the futures must be `Send`.
    #[test]
    fn opening_can_be_spawned() {
        let location = StoreLocation::Sqlite("unused.db".into());
        let options = OpenOptions::default();
        assert_send(&open(&location));
        assert_send(&open_with(&location, &options));
    }
}
