//! Agent roles, what each may do, and the read and write checks every file
//! tool makes before it touches a file (DESIGN §5).
//!
//! | role | read | write |
//! | --- | --- | --- |
//! | explorer, reviewer | the repository, except `.slipway/` and `.git` | nothing |
//! | planner | the same | its plan file only |
//! | coder, debugger, fixer | the same | its lane's files, and the seams whose leases it holds |
//!
//! Whatever the role, no write reaches a control file (`slipway.toml`,
//! `AGENTS.md`, `.slipway/`), git's own directory (`.git`, at any depth), or a
//! path that is not in canonical form once a leading `./` is dropped. A
//! [`Denial`] says in one sentence what was refused and what the agent can do
//! instead: it goes back to the model as the tool's answer.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::control::{CONTROL_FILES, is_canonical_path, is_control_path, is_state_path, normalize};
use crate::ownership::{Owner, Ownership};

/// What an agent run is for; each role has fixed capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentRole {
    /// Reads the code and answers a question.
    Explorer,
    /// Writes the plan of a task.
    Planner,
    /// Attacks a plan or a diff and returns findings.
    Reviewer,
    /// Writes the task's code in its lane.
    Coder,
    /// Makes failing tests pass in its lane.
    Debugger,
    /// Fixes a production error in its lane.
    Fixer,
}

/// A role name that Slipway does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown agent role `{0}`; known roles: {known}",
    known = AgentRole::ALL.map(AgentRole::as_str).join(", ")
)]
pub struct UnknownRole(pub String);

impl AgentRole {
    /// Every role, in the order of DESIGN §1.
    pub const ALL: [AgentRole; 6] = [
        Self::Explorer,
        Self::Planner,
        Self::Reviewer,
        Self::Coder,
        Self::Debugger,
        Self::Fixer,
    ];

    /// Returns the role's name as stored and printed (`explorer`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Explorer => "explorer",
            Self::Planner => "planner",
            Self::Reviewer => "reviewer",
            Self::Coder => "coder",
            Self::Debugger => "debugger",
            Self::Fixer => "fixer",
        }
    }

    /// Returns whether the role may run commands (in the sandbox): coder,
    /// debugger and fixer. Which commands is decided elsewhere.
    #[must_use]
    pub const fn can_run_commands(self) -> bool {
        self.writes_lane()
    }

    /// Returns whether the role writes code: its lane's files and the seams
    /// it holds (coder, debugger, fixer).
    #[must_use]
    pub const fn writes_lane(self) -> bool {
        matches!(self, Self::Coder | Self::Debugger | Self::Fixer)
    }

    /// Returns whether the role writes nothing at all (explorer, reviewer).
    #[must_use]
    pub const fn is_read_only(self) -> bool {
        matches!(self, Self::Explorer | Self::Reviewer)
    }

    /// Returns whether a run of this role may start a helper of role
    /// `helper`. Every role may delegate, but only to read-only helpers
    /// (explorer, reviewer): a helper never gets a write permission, so
    /// delegation can never widen what a run may do.
    #[must_use]
    pub const fn can_delegate_to(self, helper: AgentRole) -> bool {
        helper.is_read_only()
    }
}

impl fmt::Display for AgentRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AgentRole {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == wanted)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// What one agent run may touch: its role, its lane, the seam entries whose
/// leases it holds and, for a planner, its plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub role: AgentRole,
    /// The task's lane; `None` for runs that belong to no lane.
    #[serde(default)]
    pub lane: Option<String>,
    /// Seam entries (globs as configured in `[seams] paths`) whose leases the
    /// run holds; see [`Ownership::seam_entries_for`].
    #[serde(default)]
    pub held_seams: BTreeSet<String>,
    /// The one file a planner may write, relative to the repository root.
    #[serde(default)]
    pub plan_file: Option<String>,
}

impl Grant {
    /// Returns a grant of `role` with no lane, no seams and no plan file.
    #[must_use]
    pub fn new(role: AgentRole) -> Self {
        Grant {
            role,
            lane: None,
            held_seams: BTreeSet::new(),
            plan_file: None,
        }
    }

    /// Returns the grant with its lane set.
    #[must_use]
    pub fn with_lane(mut self, lane: impl Into<String>) -> Self {
        self.lane = Some(lane.into());
        self
    }

    /// Returns the grant holding these seam entries as well.
    #[must_use]
    pub fn with_seams<S: Into<String>>(mut self, seams: impl IntoIterator<Item = S>) -> Self {
        self.held_seams.extend(seams.into_iter().map(Into::into));
        self
    }

    /// Returns the grant with its plan file set.
    #[must_use]
    pub fn with_plan_file(mut self, path: impl Into<String>) -> Self {
        self.plan_file = Some(path.into());
        self
    }

    /// "the coder of lane `api`", "the explorer".
    fn who(&self) -> String {
        match (&self.lane, self.role.writes_lane()) {
            (Some(lane), true) => format!("the {} of lane `{lane}`", self.role),
            _ => format!("the {}", self.role),
        }
    }
}

/// What was attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Read,
    Write,
    /// Running a command (in the sandbox); the "path" is the command.
    Run,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Run => "run",
        })
    }
}

/// A refused file access. Its text is one sentence for the model: what was
/// refused, why, and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denial {
    pub action: Action,
    /// The path as the agent gave it.
    pub path: String,
    pub reason: String,
}

impl Denial {
    fn new(action: Action, path: &str, reason: String) -> Self {
        Denial {
            action,
            path: path.to_owned(),
            reason,
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.action {
            Action::Read => "read of",
            Action::Write => "write to",
            Action::Run => "running",
        };
        write!(
            f,
            "{verb} `{}` denied: {}",
            self.path.escape_debug(),
            self.reason
        )
    }
}

impl std::error::Error for Denial {}

/// Checks that the run of `grant` may run `command` at all: coder, debugger
/// and fixer may, in the sandbox (DESIGN §5); what the command may touch is
/// the sandbox's to enforce, and its diff the ownership gate's.
pub fn check_command(grant: &Grant, command: &str) -> Result<(), Denial> {
    if grant.role.can_run_commands() {
        return Ok(());
    }
    Err(Denial::new(
        Action::Run,
        command,
        format!(
            "a {} does not run commands; read the code with the file tools, or delegate a \
             question",
            grant.role
        ),
    ))
}

/// Checks that the run of `grant` may read `path`: any path inside the
/// repository in canonical form (a leading `./` dropped; `""` and `.` are
/// the root), except Slipway's private state under `.slipway/` and git's own
/// directory (`.git`, at any depth and in any ASCII case), whose config can
/// hold remote URLs with tokens and which no agent needs.
///
/// Every role reads the same files (DESIGN §5); the grant only shapes the
/// message.
pub fn check_read(grant: &Grant, path: &str) -> Result<(), Denial> {
    let normalized = normalize(path);
    if normalized.is_empty() || normalized == "." {
        return Ok(());
    }
    if let Some(problem) = non_canonical(normalized) {
        return Err(Denial::new(Action::Read, path, problem));
    }
    if is_state_path(normalized) {
        return Err(Denial::new(
            Action::Read,
            path,
            format!(
                "`.slipway/` holds Slipway's private state, which {} may not read; \
                 the repository's other files are open to you",
                grant.who()
            ),
        ));
    }
    if in_git_dir(normalized) {
        return Err(Denial::new(
            Action::Read,
            path,
            format!(
                "`{}` is inside git's own directory, which {} may not read; read the \
                 repository's files themselves instead",
                normalized.escape_debug(),
                grant.who()
            ),
        ));
    }
    Ok(())
}

/// Whether any segment of `path` is `.git`, in any ASCII case (the same
/// directory on a case-insensitive file system).
fn in_git_dir(path: &str) -> bool {
    path.split('/')
        .any(|segment| segment.eq_ignore_ascii_case(".git"))
}

/// Checks that the run of `grant` may write `path` under `ownership`.
///
/// In order: the path, a leading `./` dropped, must be canonical; it must
/// not be a control path nor inside a `.git` directory; then by role:
/// explorer and reviewer write nothing, a planner only its plan file, and a
/// coder, debugger or fixer a path that [`Ownership::owner`] gives to its own
/// lane, or a seam whose every entry ([`Ownership::seam_entries_for`]) it
/// holds. Contested and unowned paths are never written.
pub fn check_write(grant: &Grant, ownership: &Ownership, path: &str) -> Result<(), Denial> {
    let normalized = normalize(path);
    let deny = |reason: String| Err(Denial::new(Action::Write, path, reason));
    if let Some(problem) = non_canonical(normalized) {
        return deny(problem);
    }
    if is_control_path(normalized) {
        return deny(control_reason(normalized));
    }
    if in_git_dir(normalized) {
        return deny(format!(
            "`{}` is inside git's own directory, which no agent may write; \
             the orchestrator makes the commits",
            normalized.escape_debug()
        ));
    }
    match grant.role {
        AgentRole::Explorer => deny(
            "the explorer may not write files: it reads and reports, \
             so put what you found in your final answer"
                .to_owned(),
        ),
        AgentRole::Reviewer => deny(
            "the reviewer may not write files: it reads and reports, \
             so put what should change in your findings"
                .to_owned(),
        ),
        AgentRole::Planner => match grant.plan_file.as_deref().map(normalize) {
            Some(plan) if plan == normalized => Ok(()),
            Some(plan) => deny(format!(
                "the planner may write only its plan file `{plan}`; \
                 describe every other change in the plan"
            )),
            None => deny(
                "the planner may write only its plan file, and this run was given none; \
                 put the plan in your final answer"
                    .to_owned(),
            ),
        },
        AgentRole::Coder | AgentRole::Debugger | AgentRole::Fixer => {
            check_lane_write(grant, ownership, normalized).or_else(deny)
        }
    }
}

/// The lane and seam rules for coder-like roles; `Err` is the reason.
fn check_lane_write(grant: &Grant, ownership: &Ownership, path: &str) -> Result<(), String> {
    let who = grant.who();
    let shown = path.escape_debug();
    let reach = match grant.lane.as_deref() {
        Some(lane) => format!(
            "{who} may write only its lane's files ({}) and the seams it holds",
            list(&ownership.lane_globs(lane), ", ")
        ),
        None => format!("{who} has no lane, so it may write only the seams it holds"),
    };
    match ownership.owner(path) {
        Owner::Lane(owner) if grant.lane.as_deref() == Some(owner.as_str()) => Ok(()),
        Owner::Lane(owner) => Err(format!(
            "{reach}; `{shown}` belongs to lane `{owner}`: leave it to that lane \
             and say in your summary what it needs"
        )),
        Owner::Seam => {
            let entries = ownership.seam_entries_for(path);
            let missing: Vec<&str> = entries
                .iter()
                .copied()
                .filter(|entry| !grant.held_seams.contains(*entry))
                .collect();
            if missing.is_empty() && !entries.is_empty() {
                return Ok(());
            }
            Err(format!(
                "`{shown}` is a shared seam file, written only under the lease of its seam \
                 {} ({}), and {who} does not hold {}; a seam is leased when the plan names \
                 it, so say in your summary that the change needs it",
                if entries.len() == 1 {
                    "entry"
                } else {
                    "entries"
                },
                quoted(&entries),
                quoted(&missing),
            ))
        }
        Owner::Contested(lanes) => Err(format!(
            "`{shown}` is claimed by lanes {}, so no agent may write it until the lanes \
             in slipway.toml stop overlapping; report it in your summary",
            quoted(&lanes.iter().map(String::as_str).collect::<Vec<_>>())
        )),
        Owner::Unowned => Err(format!(
            "{reach}; `{shown}` belongs to no lane and no seam, so no agent may create or \
             change it"
        )),
        Owner::Control => Err(control_reason(path)),
    }
}

fn control_reason(path: &str) -> String {
    format!(
        "`{}` is a control file ({}, .slipway/), which no agent may write; \
         if it must change, say so in your final answer and a person will change it",
        path.escape_debug(),
        CONTROL_FILES.join(", ")
    )
}

/// Returns why `path` is not canonical, or `None` when it is.
fn non_canonical(path: &str) -> Option<String> {
    if is_canonical_path(path) {
        return None;
    }
    let problem = if path.is_empty() {
        "the path is empty"
    } else if path.contains('\0') {
        "it contains a NUL byte"
    } else if path.starts_with('/') {
        "it is absolute, and paths are relative to the repository root"
    } else if path.contains('\\') {
        "it contains a backslash; separate names with `/`"
    } else if path.split('/').any(|segment| segment == "..") {
        "it has a `..` segment, and paths never leave the repository"
    } else if path.split('/').any(|segment| segment == ".") {
        "it has a `.` segment"
    } else {
        "it has an empty segment (`//` or a trailing `/`)"
    };
    Some(format!(
        "{problem}; name files from the repository root with `/` between names, \
         such as `src/lib.rs`"
    ))
}

/// `a`, `b`: at most six items, then an ellipsis.
fn list(items: &[&str], separator: &str) -> String {
    const SHOWN: usize = 6;
    if items.is_empty() {
        return "none".to_owned();
    }
    let mut text = items[..items.len().min(SHOWN)].join(separator);
    if items.len() > SHOWN {
        text.push_str(separator);
        text.push('…');
    }
    text
}

/// `` `a`, `b` ``.
fn quoted(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    let quoted: Vec<&str> = quoted.iter().map(String::as_str).collect();
    list(&quoted, ", ")
}

#[cfg(test)]
#[path = "roles_tests.rs"]
mod tests;
