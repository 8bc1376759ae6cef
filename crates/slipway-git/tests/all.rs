//! Integration tests of `slipway-git`, one binary for the crate, on real
//! repositories made with the `git` program: opening, refs and promotion,
//! workspaces, fetching from (tampered) clones, diffs, merges, and what a
//! work tree or a clone holds uncommitted.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod suite {
    pub(crate) mod support;

    mod diff;
    mod fetch;
    mod merge;
    mod open;
    mod refs;
    mod unsaved;
    mod workspace;
}
