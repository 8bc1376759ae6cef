//! The tools themselves, one per file: each has a spec and a `run` that
//! checks policy before any I/O.

mod delegate;
mod edit_file;
mod list_dir;
mod read_file;
mod run_command;
mod search;
mod write_file;

use slipway_policy::{Denial, Grant, Ownership};

pub use delegate::{Delegate, DelegateError};
pub(crate) use list_dir::is_hidden;
pub use run_command::Commands;

use crate::Limits;
use crate::workspace::Workspace;

/// What one tool call has to work with.
pub(crate) struct Context<'a> {
    pub(crate) workspace: &'a Workspace,
    pub(crate) grant: &'a Grant,
    pub(crate) ownership: &'a Ownership,
    pub(crate) limits: &'a Limits,
}

/// Why a call failed.
#[derive(Debug)]
pub(crate) enum Failure {
    Denied(Denial),
    Error(String),
}

impl From<Denial> for Failure {
    fn from(denial: Denial) -> Self {
        Failure::Denied(denial)
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Error(message)
    }
}

pub(crate) type Outcome = Result<String, Failure>;

/// The tools, in the order they are offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    ReadFile,
    ListDir,
    Search,
    EditFile,
    WriteFile,
    RunCommand,
    Delegate,
}

impl Tool {
    pub(crate) const ALL: [Tool; 7] = [
        Tool::ReadFile,
        Tool::ListDir,
        Tool::Search,
        Tool::EditFile,
        Tool::WriteFile,
        Tool::RunCommand,
        Tool::Delegate,
    ];

    pub(crate) const fn name(self) -> &'static str {
        match self {
            Tool::ReadFile => "read_file",
            Tool::ListDir => "list_dir",
            Tool::Search => "search",
            Tool::EditFile => "edit_file",
            Tool::WriteFile => "write_file",
            Tool::RunCommand => "run_command",
            Tool::Delegate => "delegate",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|tool| tool.name() == name)
    }

    pub(crate) const fn writes(self) -> bool {
        matches!(self, Tool::EditFile | Tool::WriteFile)
    }

    /// The description and the JSON schema of the arguments.
    pub(crate) fn describe(self) -> (String, serde_json::Value) {
        match self {
            Tool::ReadFile => read_file::describe(),
            Tool::ListDir => list_dir::describe(),
            Tool::Search => search::describe(),
            Tool::EditFile => edit_file::describe(),
            Tool::WriteFile => write_file::describe(),
            Tool::RunCommand => run_command::describe(),
            Tool::Delegate => delegate::describe(),
        }
    }

    /// Runs a file tool; `delegate` and `run_command` are async and run by
    /// the tool box.
    pub(crate) fn run(self, cx: &Context<'_>, args: &serde_json::Value) -> Outcome {
        match self {
            Tool::ReadFile => read_file::run(cx, args),
            Tool::ListDir => list_dir::run(cx, args),
            Tool::Search => search::run(cx, args),
            Tool::EditFile => edit_file::run(cx, args),
            Tool::WriteFile => write_file::run(cx, args),
            Tool::Delegate | Tool::RunCommand => Err(Failure::Error(format!(
                "{} runs through the tool box",
                self.name()
            ))),
        }
    }
}

pub(crate) use delegate::run as run_delegate;
pub(crate) use run_command::run as run_command;

/// Shows a name from the repository on one line: as is, unless it holds
/// control characters, which are escaped.
pub(crate) fn display_name(name: &str) -> String {
    if name.chars().any(char::is_control) {
        name.escape_debug().to_string()
    } else {
        name.to_owned()
    }
}

/// Cuts `text` to at most `max` characters, marking the cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}… [line cut at {max} characters]", &text[..at]),
        None => text.to_owned(),
    }
}
