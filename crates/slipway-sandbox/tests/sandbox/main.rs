//! The sandbox against the real kernel, as root: what ordinary work needs
//! succeeds, and every escape is denied.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod escape;
mod support;
mod works;
