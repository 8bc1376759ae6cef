//! Slipway's pure policy decisions (DESIGN §1, §5): which lane owns a path,
//! whether the lanes are MECE over the tracked files, what each agent role
//! may read and write, and how untrusted content is marked before it enters
//! a prompt.
//!
//! A lane is a name and a list of gitignore-style globs; the seams are one
//! more list of shared paths; control files (`slipway.toml`, `AGENTS.md`,
//! `.slipway/`) belong to no lane. [`Ownership`] compiles them once and
//! answers [`Ownership::owner`] for one path or [`Ownership::check`] for all
//! tracked paths. Glob matching is `globset`'s; the gitignore rules on top of
//! it are in the `glob` module. [`check_read`] and [`check_write`] decide one
//! file access of an agent run from its [`Grant`]; [`mark_untrusted`] wraps
//! every tool result on its way into a prompt.
//!
//! This crate is pure: no I/O, no async. Listing tracked files is
//! `slipway-git`'s job, reading `slipway.toml` is `slipway-config`'s, and
//! enforcing a decision is the tools', sandbox's and gates' job.

mod control;
mod glob;
mod guard;
mod mece;
mod ownership;
mod roles;
mod untrusted;

pub use control::{CONTROL_FILES, is_canonical_path, is_control_path, normalize_path};
pub use glob::{GlobError, validate_glob};
pub use guard::{Detection, DetectionKind, detect_injection};
pub use mece::{MeceReport, Overlap, UnmatchedGlob};
pub use ownership::{LaneSpec, Owner, Ownership};
pub use roles::{
    Action, AgentRole, Denial, Grant, UnknownRole, check_command, check_read, check_write,
};
pub use untrusted::mark_untrusted;
