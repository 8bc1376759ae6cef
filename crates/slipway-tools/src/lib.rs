//! Slipway's agent tools (DESIGN §5, docs/design/runtime.md): `read_file`,
//! `list_dir`, `search`, `edit_file`, `write_file`, `run_command` and
//! `delegate`, each checked by `slipway-policy` before any I/O.
//!
//! A [`Workspace`] is the task's clone opened as a `cap-std` directory
//! handle; every file access goes through it, one path component at a time,
//! never following a symbolic link, so no path can leave the clone or reach
//! a file the policy did not approve. A [`ToolBox`] holds the tools of one
//! run for its [`Grant`](slipway_policy::Grant), lists their [`ToolSpec`]s and
//! dispatches calls by name into [`ToolOutcome`]s.
//!
//! Answers are raw text: the runtime (`slipway-runtime`) wraps each with
//! `slipway_policy::mark_untrusted` before it enters a prompt, records
//! denials in the trace, maps [`ToolSpec`] to its model API and implements
//! [`Delegate`]. `run_command` runs every command through
//! `slipway-sandbox` ([`Commands`]); it is offered only when the caller gives
//! it a sandbox and a clone.

mod args;
mod outcome;
mod toolbox;
mod tools;
mod walk;
mod workspace;

pub use outcome::{ToolOutcome, ToolSpec};
pub use toolbox::{Limits, ToolBox};
pub use tools::{Commands, Delegate, DelegateError};
pub use workspace::{Workspace, WorkspaceError};
