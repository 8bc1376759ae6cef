//! Every git command Slipway's orchestrator runs (docs/design/pipeline.md):
//! task workspaces, fetching a task's branch back from its untrusted clone,
//! diffs, merges without a work tree, the `staging` and `production`
//! branches, release tags and pushes to a remote.
//!
//! It drives the `git` program: the one implementation whose behaviour with
//! users' repositories (config, attributes, alternates) is the reference.
//! Every command starts in one place (`command.rs`) with hooks, fsmonitor,
//! system and global config and prompts turned off. The git commands an
//! agent's commits need run inside the sandbox, not from here.

mod clone;
mod command;
mod copy;
mod diff;
mod error;
mod merge;
mod names;
mod raw_diff;
mod repo;
mod sha;
mod status;
mod workspace;

pub use clone::unsaved_work;
pub use error::GitError;
pub use merge::Merge;
pub use raw_diff::{Change, ChangeKind, MODE_SUBMODULE, MODE_SYMLINK};
pub use repo::{Environments, Identity, Repo};
pub use sha::Sha;
