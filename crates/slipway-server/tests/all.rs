//! Router tests of `slipway-server`, one binary for the crate: every API
//! endpoint and page through `tower::ServiceExt::oneshot`, on a real store on
//! SQLite and PostgreSQL; authentication, sessions and CSRF; the headers on
//! every response; escaping of what agents wrote; the live event stream; and
//! the human gates with and without a pipeline.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod suite {
    pub(crate) mod seed;
    pub(crate) mod support;

    mod api;
    mod api_errors;
    mod auth;
    mod events;
    pub(crate) mod gates;
    mod headers;
    mod openapi;
    mod pages;
    mod promotion;
}
