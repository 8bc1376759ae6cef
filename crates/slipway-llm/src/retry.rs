//! When to try a failed call again, and how long to wait first.

use std::time::Duration;

use jiff::Timestamp;

use crate::LlmError;

/// Bounded, jittered exponential backoff.
///
/// Retry number `n` (from 0) waits a random time between half and all of
/// `min(max_backoff, initial_backoff * 2^n)`, so that many agents hitting one
/// rate limit do not come back in step. When the server says how long to wait
/// (`retry-after`, `retry-after-ms`), that wait is used instead; when it asks
/// for longer than `max_backoff`, the call gives up and returns the error,
/// which carries the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 never retries.
    pub max_retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Returns a policy that never retries.
    #[must_use]
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Returns the jittered wait before retry number `retry` (from 0).
    #[must_use]
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_backoff);
        ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
    }

    /// Returns how long to wait before retry number `retry` (from 0) after
    /// `error`, or `None` when the call should give up.
    #[must_use]
    pub fn delay_for(&self, retry: u32, error: &LlmError) -> Option<Duration> {
        if retry >= self.max_retries || !error.is_retryable() {
            return None;
        }
        match error.retry_after() {
            Some(wait) if wait > self.max_backoff => None,
            Some(wait) => Some(wait),
            None => Some(self.backoff(retry)),
        }
    }
}

/// Reads a `retry-after` value: whole (or fractional) seconds, or an HTTP
/// date, which is turned into the time left from `now` (zero once past).
#[must_use]
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let date = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let left = now.duration_until(date);
    Some(Duration::try_from(left).unwrap_or(Duration::ZERO))
}

/// Reads OpenAI's `retry-after-ms`: milliseconds, possibly fractional.
#[must_use]
pub fn parse_retry_after_ms(value: &str) -> Option<Duration> {
    let millis = value.trim().parse::<f64>().ok()?;
    Duration::try_from_secs_f64(millis / 1000.0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, retry_after: Option<Duration>) -> LlmError {
        LlmError::Http {
            status,
            body: String::new(),
            retry_after,
            location: None,
        }
    }

    #[test]
    fn backoff_grows_stays_jittered_and_capped() {
        let policy = RetryPolicy {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let first = policy.backoff(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(2);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(policy.backoff(30) <= Duration::from_secs(1));
        }
    }

    #[test]
    fn gives_up_when_told_to_or_out_of_tries() {
        let policy = RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(5),
        };
        assert!(policy.delay_for(0, &http(429, None)).is_some());
        assert!(policy.delay_for(2, &http(429, None)).is_none());
        assert!(policy.delay_for(0, &http(400, None)).is_none());
        assert_eq!(
            policy.delay_for(0, &http(529, Some(Duration::from_secs(3)))),
            Some(Duration::from_secs(3))
        );
        assert!(
            policy
                .delay_for(0, &http(429, Some(Duration::from_mins(1))))
                .is_none()
        );
        assert!(RetryPolicy::none().delay_for(0, &http(503, None)).is_none());
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 0.25 ", now),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after_ms("1500"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_after_ms("x"), None);
    }
}
