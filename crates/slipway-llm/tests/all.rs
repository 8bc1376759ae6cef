//! Integration tests of `slipway-llm`, one binary for the crate: each
//! protocol against the fake model server on loopback (streaming and not),
//! and failures — retries, timeouts, cut streams, malformed answers,
//! redirects, answers too large to keep.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod suite {
    pub(crate) mod support;

    pub(crate) mod loopback;

    mod chat;
    mod failures;
    mod limits;
    mod messages;
    mod responses;
    mod scripted;
}
