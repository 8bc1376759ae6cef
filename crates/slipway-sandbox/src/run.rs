//! The orchestrator's side: starts the helper, feeds nothing in, reads
//! stdout and stderr up to the output cap, enforces the wall clock, and
//! turns the helper's status line into an [`Outcome`].

use std::io::Read as _;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

use crate::SandboxError;
use crate::helper::{INIT_ARG, Status};
use crate::spec::Spec;

/// The largest spec passed to the helper: Linux caps one argument at 128 KiB.
const MAX_SPEC_BYTES: usize = 120 * 1024;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "how", content = "value")]
pub enum Exit {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it (`SIGXCPU` for the CPU limit, `SIGXFSZ` for the
    /// file-size limit, `SIGKILL` for memory, among others).
    Signalled(i32),
    /// It ran past the wall-clock limit; everything in its sandbox was killed.
    TimedOut,
    /// It printed more than the output cap; everything was killed.
    OutputCapped,
}

impl Exit {
    /// Whether the command succeeded (exit code 0).
    #[must_use]
    pub fn success(self) -> bool {
        self == Exit::Exited(0)
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Exited(code) => write!(f, "exit code {code}"),
            Exit::Signalled(signal) => {
                write!(f, "killed by signal {signal}{}", signal_note(*signal))
            }
            Exit::TimedOut => f.write_str("timed out; everything it started was killed"),
            Exit::OutputCapped => {
                f.write_str("printed more than the output cap; everything it started was killed")
            }
        }
    }
}

fn signal_note(signal: i32) -> &'static str {
    match signal {
        9 => " (SIGKILL)",
        24 => " (SIGXCPU: the CPU-time limit)",
        25 => " (SIGXFSZ: the file-size limit)",
        11 => " (SIGSEGV)",
        6 => " (SIGABRT)",
        _ => "",
    }
}

/// What a sandboxed command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// How it ended.
    pub exit: Exit,
    /// Its standard output, up to the cap.
    pub stdout: Vec<u8>,
    /// Its standard error, up to the cap.
    pub stderr: Vec<u8>,
    /// Bytes of output past the cap, dropped.
    pub dropped_bytes: u64,
    /// Wall-clock time from start to the end of the sandbox.
    pub elapsed: Duration,
    /// How much of Landlock the kernel enforced: `full`, `partial`, `none`,
    /// or `off` when the command ran without the sandbox.
    pub landlock: String,
    /// Whether it ran in the sandbox (`false` only with `--no-sandbox`).
    pub sandboxed: bool,
}

/// The executable that runs the helper processes, and the arguments that
/// come before the helper's own.
#[derive(Debug, Clone)]
pub struct Helper {
    program: PathBuf,
}

impl Helper {
    /// `program`, whose `main` calls [`crate::helper_main`] first.
    #[must_use]
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Helper {
            program: program.into(),
        }
    }

    /// The running executable itself.
    pub fn current_exe() -> Result<Self, SandboxError> {
        std::env::current_exe()
            .map(Helper::new)
            .map_err(|e| SandboxError::Unavailable(format!("cannot find this executable: {e}")))
    }
}

/// Runs commands in the sandbox, or, when built with
/// [`Sandbox::unsandboxed`], without it.
#[derive(Debug, Clone)]
pub struct Sandbox {
    helper: Option<Helper>,
}

impl Sandbox {
    /// A sandbox that starts `helper`. Refuses when Slipway does not run as
    /// root: the sandbox switches to an unprivileged user and mounts file
    /// systems, which only root may do.
    pub fn new(helper: Helper) -> Result<Self, SandboxError> {
        if !rustix::process::geteuid().is_root() {
            return Err(SandboxError::Unavailable(
                "the sandbox needs Slipway to run as root (it switches commands to an \
                 unprivileged user and builds their file system in new namespaces); run \
                 as root, or pass `--no-sandbox` to run commands unconfined"
                    .into(),
            ));
        }
        Ok(Sandbox {
            helper: Some(helper),
        })
    }

    /// Runs commands directly, with the scrubbed environment, the wall
    /// clock and the output cap but no isolation. Callers warn loudly and
    /// record it.
    #[must_use]
    pub fn unsandboxed() -> Self {
        Sandbox { helper: None }
    }

    /// Whether commands run isolated.
    #[must_use]
    pub fn is_isolated(&self) -> bool {
        self.helper.is_some()
    }

    /// Runs `spec`'s command and waits for it.
    pub async fn run(&self, spec: &Spec) -> Result<Outcome, SandboxError> {
        match &self.helper {
            Some(helper) => run_isolated(helper, spec).await,
            None => run_direct(spec).await,
        }
    }
}

async fn run_isolated(helper: &Helper, spec: &Spec) -> Result<Outcome, SandboxError> {
    let started = Instant::now();
    let json = serde_json::to_string(spec).map_err(|e| SandboxError::BadSpec(e.to_string()))?;
    if json.len() > MAX_SPEC_BYTES {
        return Err(SandboxError::BadSpec(format!(
            "the command and its environment take {} bytes, more than the {MAX_SPEC_BYTES} \
             one command line can carry; write the script to a file in the clone and run that",
            json.len()
        )));
    }
    let (status_read, status_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| SandboxError::Io("cannot make the status pipe".into(), e.into()))?;
    let child = {
        let mut command = Command::new(&helper.program);
        command
            .arg(INIT_ARG)
            .arg(&json)
            .arg(std::process::id().to_string())
            .env_clear()
            .stdin(Stdio::from(status_write))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command.spawn().map_err(|e| {
            SandboxError::Unavailable(format!(
                "cannot start the sandbox helper `{}`: {e}",
                helper.program.display()
            ))
        })?
        // The command, and with it this process's copy of the write end, is
        // dropped here: the status pipe ends when the helpers do.
    };
    let status = tokio::task::spawn_blocking(move || read_status(status_read));
    let ended = supervise(child, &spec.limits).await?;
    // P may outlive a killed H for a moment (until its parent-death signal
    // lands); the status pipe ends with it.
    let status = match tokio::time::timeout(DRAIN, status).await {
        Ok(Ok(status)) => status,
        _ => None,
    };
    let landlock = status
        .as_ref()
        .and_then(|s| s.landlock.clone())
        .unwrap_or_else(|| "none".to_owned());
    let exit = match (ended.killed, status) {
        (Some(why), _) => why,
        (
            None,
            Some(Status {
                setup: Some(message),
                ..
            }),
        ) => {
            return Err(SandboxError::Setup(message));
        }
        (
            None,
            Some(Status {
                exit: Some(code), ..
            }),
        ) => Exit::Exited(code),
        (
            None,
            Some(Status {
                signal: Some(signal),
                ..
            }),
        ) => Exit::Signalled(signal),
        (None, _) => {
            return Err(SandboxError::Setup(format!(
                "the sandbox helper ended without a status ({}); stderr: {}",
                ended.helper_exit,
                String::from_utf8_lossy(&ended.stderr).trim()
            )));
        }
    };
    Ok(Outcome {
        exit,
        stdout: ended.stdout,
        stderr: ended.stderr,
        dropped_bytes: ended.dropped,
        elapsed: started.elapsed(),
        landlock,
        sandboxed: true,
    })
}

fn read_status(pipe: OwnedFd) -> Option<Status> {
    let mut text = String::new();
    std::fs::File::from(pipe).read_to_string(&mut text).ok()?;
    let mut merged = Status::default();
    for line in text.lines() {
        let status: Status = serde_json::from_str(line).ok()?;
        merged.setup = merged.setup.or(status.setup);
        merged.landlock = merged.landlock.or(status.landlock);
        merged.exit = merged.exit.or(status.exit);
        merged.signal = merged.signal.or(status.signal);
    }
    Some(merged)
}

async fn run_direct(spec: &Spec) -> Result<Outcome, SandboxError> {
    let started = Instant::now();
    let mut command = Command::new(&spec.argv[0]);
    command
        .args(&spec.argv[1..])
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&spec.workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            return Ok(Outcome {
                exit: Exit::Exited(spawn_failure_code(&err)),
                stdout: Vec::new(),
                stderr: format!("cannot run `{}`: {err}\n", spec.argv[0]).into_bytes(),
                dropped_bytes: 0,
                elapsed: started.elapsed(),
                landlock: "off".into(),
                sandboxed: false,
            });
        }
    };
    let ended = supervise(child, &spec.limits).await?;
    let exit = ended.killed.unwrap_or(match ended.helper_exit.code() {
        Some(code) => Exit::Exited(code),
        None => Exit::Signalled(
            std::os::unix::process::ExitStatusExt::signal(&ended.helper_exit).unwrap_or(9),
        ),
    });
    Ok(Outcome {
        exit,
        stdout: ended.stdout,
        stderr: ended.stderr,
        dropped_bytes: ended.dropped,
        elapsed: started.elapsed(),
        landlock: "off".into(),
        sandboxed: false,
    })
}

/// The exit code of a command that could not be started, as shells give
/// it: 127 when the program is not found, 126 when it cannot be run.
pub(crate) fn spawn_failure_code(err: &std::io::Error) -> i32 {
    if err.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    }
}

/// What [`supervise`] saw.
struct Ended {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    dropped: u64,
    killed: Option<Exit>,
    helper_exit: std::process::ExitStatus,
}

/// Output read so far from one stream.
#[derive(Default)]
struct Captured {
    kept: Vec<u8>,
    dropped: u64,
}

type Shared = Arc<std::sync::Mutex<Captured>>;

/// Waits for `child`, reading its output up to the cap, and kills it at the
/// wall-clock limit or when the cap is passed. Once it has ended, whatever
/// is left of its process group (a direct run's background children) is
/// killed too, and output is read for at most [`DRAIN`] more.
async fn supervise(mut child: Child, limits: &crate::spec::Limits) -> Result<Ended, SandboxError> {
    let capped = Arc::new(Notify::new());
    let cap = limits.output_bytes;
    let (out, err) = (Shared::default(), Shared::default());
    let readers = [
        child
            .stdout
            .take()
            .map(|s| tokio::spawn(collect(s, cap, Arc::clone(&out), Arc::clone(&capped)))),
        child
            .stderr
            .take()
            .map(|s| tokio::spawn(collect(s, cap, Arc::clone(&err), Arc::clone(&capped)))),
    ];
    let group = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id.cast_signed()));
    let mut killed = None;
    let ended = tokio::select! {
        status = child.wait() => Some(status),
        () = tokio::time::sleep(limits.wall) => { killed = Some(Exit::TimedOut); None }
        () = capped.notified() => { killed = Some(Exit::OutputCapped); None }
    };
    if let Some(pid) = group {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let helper_exit = if let Some(status) = ended {
        status
    } else {
        let _ = child.start_kill();
        child.wait().await
    }
    .map_err(|e| SandboxError::Io("cannot wait for the command".into(), e))?;
    let [a, b] = readers;
    let drain = |task: Option<tokio::task::JoinHandle<()>>| async move {
        if let Some(task) = task {
            let abort = task.abort_handle();
            if tokio::time::timeout(DRAIN, task).await.is_err() {
                abort.abort();
            }
        }
    };
    tokio::join!(drain(a), drain(b));
    let take = |shared: &Shared| {
        let mut captured = shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *captured)
    };
    let (out, err) = (take(&out), take(&err));
    Ok(Ended {
        stdout: out.kept,
        stderr: err.kept,
        dropped: out.dropped + err.dropped,
        killed,
        helper_exit,
    })
}

/// How long output is still read once the command has ended: a process
/// stuck in the kernel may hold a pipe open after the kill.
const DRAIN: Duration = Duration::from_secs(5);

/// Reads `stream` into `into` to its end or until more than `cap` bytes
/// came, keeping the first `cap`; passing the cap notifies `capped` and
/// stops reading (the bytes of that last read past the cap are counted as
/// dropped).
async fn collect<R: AsyncRead + Unpin>(
    mut stream: R,
    cap: usize,
    into: Shared,
    capped: Arc<Notify>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut captured = into
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let room = cap.saturating_sub(captured.kept.len());
        captured.kept.extend_from_slice(&buf[..n.min(room)]);
        if n > room {
            captured.dropped += (n - room) as u64;
            drop(captured);
            capped.notify_one();
            return;
        }
    }
}
