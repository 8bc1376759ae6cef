//! The pipeline's parts, gathered once: the store, the main repository, the
//! configuration, the sandbox and the agents; and the few helpers every
//! stage uses.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use slipway_config::Config;
use slipway_git::{Identity, Repo};
use slipway_policy::Ownership;
use slipway_sandbox::{Limits, Sandbox, Spec, SpecBuilder, User};
use slipway_store::{StateChange, Store};
use slipway_types::{StageRecord, StageResult, Task, TaskId, TaskState};

use crate::{Agents, Gate, PipelineError, Progress};

/// Everything the pipeline works with.
pub struct Parts {
    pub store: Arc<dyn Store>,
    pub repo: Repo,
    /// Read from the main working tree, never from a clone.
    pub config: Arc<Config>,
    pub ownership: Arc<Ownership>,
    pub sandbox: Arc<Sandbox>,
    pub agents: Arc<dyn Agents>,
    pub progress: Arc<dyn Progress>,
    /// Who the events name: `scheduler`, or the person at a human gate.
    pub actor: String,
}

/// Slipway's pipeline over one project.
pub struct Pipeline {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) repo: Repo,
    pub(crate) config: Arc<Config>,
    pub(crate) ownership: Arc<Ownership>,
    pub(crate) sandbox: Arc<Sandbox>,
    pub(crate) agents: Arc<dyn Agents>,
    pub(crate) progress: Arc<dyn Progress>,
    pub(crate) actor: String,
}

/// A test hook: with `SLIPWAY_FAULT=POINT` in the environment, the process
/// stops dead at POINT (`before:STAGE`, `after:STAGE`, `approve:moved`), as
/// a crash or `kill -9` would: no cleanup, no lease given back.
pub(crate) fn fault(point: &str) {
    if std::env::var("SLIPWAY_FAULT").is_ok_and(|p| p == point) {
        eprintln!("SLIPWAY_FAULT: stopping at {point}");
        std::process::abort();
    }
}

/// Returns this machine's name, for lease holders.
#[must_use]
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Returns this process's PID namespace (`pid:[N]`), or `?` when `/proc`
/// does not say.
fn pid_namespace() -> String {
    std::fs::read_link("/proc/self/ns/pid").map_or_else(
        |_| "?".to_owned(),
        |p| p.display().to_string().replace(':', "="),
    )
}

/// Returns a lease holder name for this process:
/// `host:pid-namespace:pid:nonce:what`. The nonce, drawn once per call,
/// keeps two processes that share a host name and a PID apart.
#[must_use]
pub fn holder_name(what: &str) -> String {
    let nonce: String = slipway_runtime::boundary().chars().take(8).collect();
    format!(
        "{}:{}:{}:{nonce}:{what}",
        hostname(),
        pid_namespace(),
        std::process::id()
    )
}

/// Whether a lease `holder` named by [`holder_name`] is a process of this
/// machine that no longer runs (it crashed or was killed): its lease can be
/// taken over at once instead of waiting for it to expire.
#[must_use]
pub fn holder_is_gone(holder: &str) -> bool {
    let mut parts = holder.splitn(4, ':');
    let (Some(host), Some(namespace), Some(pid)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    // Only a process this one can see for sure: same machine name, same PID
    // namespace (containers sharing a name do not share one), `/proc` mounted.
    let ours = pid_namespace();
    host == hostname()
        && ours != "?"
        && namespace == ours
        && std::path::Path::new("/proc/self").exists()
        && pid.parse::<u32>().is_ok_and(|pid| {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        })
}

/// The identity of the commits Slipway makes: merges, and the agents' work.
pub(crate) fn identity(who: &str) -> Identity {
    Identity {
        name: format!("Slipway {who}"),
        email: "slipway@localhost".to_owned(),
    }
}

impl Pipeline {
    /// Returns a pipeline over `parts`.
    #[must_use]
    pub fn new(parts: Parts) -> Self {
        Self {
            store: parts.store,
            repo: parts.repo,
            config: parts.config,
            ownership: parts.ownership,
            sandbox: parts.sandbox,
            agents: parts.agents,
            progress: parts.progress,
            actor: parts.actor,
        }
    }

    /// Returns the store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Returns the main repository.
    #[must_use]
    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// Returns the directory of `id`'s workspace.
    #[must_use]
    pub fn work_dir(&self, id: TaskId) -> PathBuf {
        self.repo.root().join(".slipway/work").join(id.to_string())
    }

    /// Returns the directory for scratch clones (merges, base test runs).
    pub(crate) fn scratch_dir(&self, name: &str) -> PathBuf {
        self.repo.root().join(".slipway/scratch").join(name)
    }

    pub(crate) fn note(&self, task: TaskId, text: &str) {
        self.progress.note(Some(task), text);
    }

    /// Returns the sandbox user.
    pub(crate) fn sandbox_user(&self) -> Result<User, PipelineError> {
        Ok(User::lookup(&self.config.sandbox.user)?)
    }

    /// Returns the limits for a command: `[sandbox]` with the wall clock `wall`.
    pub(crate) fn limits(&self, wall: Duration) -> Limits {
        let settings = &self.config.sandbox;
        let secs = wall.as_secs().max(1);
        Limits {
            wall,
            cpu_secs: secs.saturating_mul(2),
            memory_bytes: settings.memory_mb.saturating_mul(1 << 20),
            processes: settings.processes,
            output_bytes: usize::try_from(settings.output_kb.saturating_mul(1024))
                .unwrap_or(usize::MAX),
            ..Limits::default()
        }
    }

    /// Returns the sandbox spec of `argv` in the clone `clone`.
    pub(crate) fn spec(
        &self,
        argv: Vec<String>,
        clone: &std::path::Path,
        limits: Limits,
    ) -> Result<Spec, PipelineError> {
        let settings = &self.config.sandbox;
        Ok(SpecBuilder::new(argv, clone, self.sandbox_user()?)
            .read_only(settings.read_only.iter().map(Into::into))
            .pass_env(settings.env.iter().cloned())
            .protect([self.repo.root().to_path_buf()])
            .limits(limits)
            .build()?)
    }

    /// Records `result` and moves the task from `from` to `to` with it, in one write.
    pub(crate) async fn finish(
        &self,
        result: &StageResult,
        from: TaskState,
        to: TaskState,
        reason: &str,
    ) -> Result<StageRecord, PipelineError> {
        let change = StateChange {
            to,
            actor: self.actor.clone(),
            reason: reason.to_owned(),
            at: Timestamp::now(),
            expected_from: Some(from),
        };
        fault(&format!("before:{}", result.stage));
        let record = self.store.finish_stage(result, Some(&change)).await?;
        fault(&format!("after:{}", result.stage));
        self.note(result.task_id, &format!("{from} → {to}: {reason}"));
        Ok(record)
    }

    /// Records `result` without moving the task.
    pub(crate) async fn record(&self, result: &StageResult) -> Result<StageRecord, PipelineError> {
        Ok(self.store.finish_stage(result, None).await?)
    }

    /// Returns the task if a person's `gate` may act on it, or
    /// [`PipelineError::WrongState`].
    pub(crate) async fn task_for(&self, id: TaskId, gate: Gate) -> Result<Task, PipelineError> {
        gate.task(&*self.store, id).await
    }
}
