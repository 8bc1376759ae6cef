//! Slipway's OS sandbox (DESIGN §5, docs/design/sandbox.md): every command an
//! agent or a gate runs goes through [`Sandbox::run`], which runs it
//!
//! - as an unprivileged user, with no capabilities and `no_new_privs`;
//! - in its own mount, PID, network (loopback only), IPC and UTS
//!   namespaces, in a session of its own;
//! - on a file system that shows the system and toolchain directories
//!   read-only, its clone read-write, a private `/tmp` and `HOME`, and
//!   nothing else;
//! - held to the same write boundary by Landlock, as a second layer;
//! - with a scrubbed environment and limits on CPU time, memory,
//!   processes, file size, wall-clock time and output.
//!
//! A [`Spec`] (built with [`SpecBuilder`]) says what to run and what it may
//! see; an [`Outcome`] says how it ended. Mount setup runs in helper
//! processes started from a fresh executable ([`helper_main`]), never
//! between `fork` and `exec` of the multi-threaded orchestrator.
//!
//! Written by hand, for lack of a library that does this as root with a
//! switch to an unprivileged user: the namespace and mount sequence (in the
//! manner of bubblewrap) and the one rtnetlink message that raises
//! loopback. Landlock is the `landlock` crate's; system calls are
//! `rustix`'s.

mod error;
mod guard;
mod handover;
mod helper;
mod netlink;
mod run;
mod spec;
mod user;

pub use error::SandboxError;
pub use handover::hand_over;
pub use helper::{INIT_ARG, PID1_ARG, helper_main};
pub use run::{Exit, Helper, Outcome, Sandbox};
pub use spec::{
    Limits, Mount, Network, SANDBOX_HOME, SANDBOX_TMP, Spec, SpecBuilder, is_secret_name,
};
pub use user::{DEFAULT_USER, User};
