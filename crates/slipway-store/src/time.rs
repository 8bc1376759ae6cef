//! Timestamps as stored: RFC 3339 UTC text with exactly six fractional digits
//! and `Z`, so they sort as text and `substr(at, 1, 10)` is the day on both
//! backends.

use std::time::Duration;

use jiff::Timestamp;
use jiff::fmt::temporal::DateTimePrinter;

use crate::error::StoreError;

const PRINTER: DateTimePrinter = DateTimePrinter::new().precision(Some(6));

/// Drops what is finer than a microsecond, the precision the store keeps.
pub(crate) fn truncate(at: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(at.as_microsecond()).unwrap_or(at)
}

/// Returns the stored text of `at` (`2026-11-24T13:11:46.123456Z`).
pub(crate) fn to_text(at: Timestamp) -> String {
    PRINTER.timestamp_to_string(&truncate(at))
}

/// Parses a stored timestamp; `context` names the column for the error.
pub(crate) fn from_text(text: &str, context: &str) -> Result<Timestamp, StoreError> {
    text.parse::<Timestamp>()
        .map_err(|err| StoreError::corrupt_row(context, format!("`{text}`: {err}")))
}

/// Returns `now + ttl`, held at the last representable instant rather than
/// overflowing.
pub(crate) fn add(now: Timestamp, ttl: Duration) -> Timestamp {
    truncate(now.saturating_add(ttl).unwrap_or(Timestamp::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_has_six_digits_and_sorts() {
        let at: Timestamp = "2026-11-24T13:11:46.123456789Z".parse().unwrap();
        assert_eq!(to_text(at), "2026-11-24T13:11:46.123456Z");
        assert_eq!(
            to_text(Timestamp::UNIX_EPOCH),
            "1970-01-01T00:00:00.000000Z"
        );
        let later = add(at, Duration::from_millis(1));
        assert!(to_text(at) < to_text(later));
        assert_eq!(from_text(&to_text(at), "t").unwrap(), truncate(at));
        assert!(from_text("yesterday", "t").is_err());
        assert_eq!(add(at, Duration::MAX), truncate(Timestamp::MAX));
    }
}
