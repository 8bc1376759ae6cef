//! The tools of one agent run: which are offered, and the dispatch of a
//! call by name.

use std::sync::Arc;

use slipway_policy::{AgentRole, Grant, Ownership};

use crate::outcome::{ToolOutcome, ToolSpec};
use crate::tools::{Commands, Context, Delegate, Failure, Tool, run_command, run_delegate};
use crate::workspace::Workspace;

/// Size caps on what the tools read, write and answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of a `read_file` or `search` answer before it is cut, with a
    /// note.
    pub read_bytes: usize,
    /// Characters of one line in `read_file` and `search` output.
    pub line_chars: usize,
    /// Entries of one `list_dir` answer.
    pub list_entries: usize,
    /// Matches of one `search` answer.
    pub search_matches: usize,
    /// Files larger than this are not searched.
    pub search_file_bytes: u64,
    /// Files larger than this are not edited.
    pub edit_bytes: u64,
    /// The largest `content` of `write_file`.
    pub write_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            read_bytes: 64 * 1024,
            line_chars: 2000,
            list_entries: 1000,
            search_matches: 200,
            search_file_bytes: 8 << 20,
            edit_bytes: 8 << 20,
            write_bytes: 4 << 20,
        }
    }
}

/// The tools of one run, for its [`Grant`].
///
/// Read-only roles (explorer, reviewer) are not offered `edit_file` and
/// `write_file`; a call to them by name is still dispatched, and policy
/// denies it. `delegate` is offered when a [`Delegate`] is set.
///
/// Tool answers are raw text: the runtime must pass every
/// [`ToolOutcome::text`] through `slipway_policy::mark_untrusted` before it
/// enters a prompt. The file tools do blocking I/O on the calling thread.
pub struct ToolBox {
    workspace: Workspace,
    grant: Grant,
    ownership: Arc<Ownership>,
    delegate: Option<Arc<dyn Delegate>>,
    commands: Option<Arc<Commands>>,
    limits: Limits,
}

impl std::fmt::Debug for ToolBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolBox")
            .field("workspace", &self.workspace)
            .field("grant", &self.grant)
            .field("delegate", &self.delegate.is_some())
            .field("commands", &self.commands.is_some())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl ToolBox {
    /// The tools of a run of `grant` in `workspace`, with the project's lanes
    /// and seams in `ownership`, default limits and no delegate.
    #[must_use]
    pub fn new(workspace: Workspace, grant: Grant, ownership: Arc<Ownership>) -> Self {
        ToolBox {
            workspace,
            grant,
            ownership,
            delegate: None,
            commands: None,
            limits: Limits::default(),
        }
    }

    /// Returns the tool box with `delegate` offered, run by `delegate`.
    #[must_use]
    pub fn with_delegate(mut self, delegate: Arc<dyn Delegate>) -> Self {
        self.delegate = Some(delegate);
        self
    }

    /// Returns the tool box with `run_command` offered (to the roles that
    /// may run commands), run by `commands` in the sandbox.
    #[must_use]
    pub fn with_commands(mut self, commands: Commands) -> Self {
        self.commands = Some(Arc::new(commands));
        self
    }

    /// Returns the tool box with other limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Returns the run's grant.
    #[must_use]
    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// Returns the names of the tools offered to this run, in order.
    #[must_use]
    pub fn names(&self) -> Vec<&'static str> {
        self.offered().map(Tool::name).collect()
    }

    /// Returns the specs of the tools offered to this run, in order; for a
    /// run that writes, the write tools' descriptions say what it may write.
    #[must_use]
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.offered()
            .map(|tool| {
                let (mut description, input_schema) = tool.describe();
                if tool.writes() {
                    description.push(' ');
                    description.push_str(&self.write_scope());
                }
                ToolSpec {
                    name: tool.name().to_owned(),
                    description,
                    input_schema,
                }
            })
            .collect()
    }

    /// Runs the tool `name` with `args` (a JSON object) and returns its answer.
    /// Never fails: every problem is an answer with `is_error` set.
    pub async fn call(&self, name: &str, args: &serde_json::Value) -> ToolOutcome {
        let Some(tool) = Tool::from_name(name) else {
            return ToolOutcome::error(format!(
                "unknown tool `{name}`; the tools are: {}",
                self.names().join(", ")
            ));
        };
        let result = if tool == Tool::Delegate {
            run_delegate(self.delegate.as_deref(), &self.grant, args).await
        } else if tool == Tool::RunCommand {
            run_command(self.commands.as_deref(), &self.grant, args).await
        } else {
            let cx = Context {
                workspace: &self.workspace,
                grant: &self.grant,
                ownership: &self.ownership,
                limits: &self.limits,
            };
            tool.run(&cx, args)
        };
        match result {
            Ok(text) => ToolOutcome::ok(text),
            Err(Failure::Denied(denial)) => ToolOutcome::denied(denial),
            Err(Failure::Error(text)) => ToolOutcome::error(text),
        }
    }

    /// Like [`ToolBox::call`], with the arguments as the raw JSON text the
    /// model produced, which may not parse.
    pub async fn call_json(&self, name: &str, arguments: &str) -> ToolOutcome {
        let args = if arguments.trim().is_empty() {
            serde_json::Value::Null
        } else {
            match serde_json::from_str(arguments) {
                Ok(args) => args,
                Err(err) => {
                    return ToolOutcome::error(format!(
                        "the arguments of {name} are not valid JSON ({err}); send one JSON \
                         object of named fields"
                    ));
                }
            }
        };
        self.call(name, &args).await
    }

    fn offered(&self) -> impl Iterator<Item = Tool> + '_ {
        Tool::ALL.into_iter().filter(|tool| match tool {
            Tool::EditFile | Tool::WriteFile => !self.grant.role.is_read_only(),
            Tool::Delegate => self.delegate.is_some(),
            Tool::RunCommand => self.commands.is_some() && self.grant.role.can_run_commands(),
            Tool::ReadFile | Tool::ListDir | Tool::Search => true,
        })
    }

    /// One sentence on what this run may write.
    fn write_scope(&self) -> String {
        let grant = &self.grant;
        if grant.role == AgentRole::Planner {
            return match &grant.plan_file {
                Some(plan) => format!("You may write only your plan file `{plan}`."),
                None => "You have no plan file, so you may write nothing.".to_owned(),
            };
        }
        let lane = match &grant.lane {
            Some(lane) => format!(
                "your lane `{lane}` ({})",
                self.ownership.lane_globs(lane).join(", ")
            ),
            None => "no lane".to_owned(),
        };
        let seams: Vec<&str> = grant.held_seams.iter().map(String::as_str).collect();
        let seams = if seams.is_empty() {
            "no seams".to_owned()
        } else {
            format!("the seams {}", seams.join(", "))
        };
        format!("You may write the files of {lane} and {seams}.")
    }
}
