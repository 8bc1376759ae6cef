//! `slipway sandbox run` and `slipway sandbox explain`: run a command exactly
//! as an agent of a role would, in a throwaway clone, and print the rules it
//! runs under (docs/design/sandbox.md).

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::json;
use slipway_config::SandboxSettings;
use slipway_policy::AgentRole;
use slipway_sandbox::{Exit, Helper, Limits, Mount, Sandbox, Spec, SpecBuilder, User, hand_over};

use crate::commands::GlobalArgs;
use crate::project::Project;
use crate::{Outcome, output};

#[derive(Debug, Subcommand)]
pub(crate) enum SandboxCommand {
    /// Run a command as an agent of ROLE would: sandboxed, in a throwaway clone of HEAD
    Run(RunArgs),
    /// Print the rules a command of ROLE runs under
    Explain(ExplainArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The agent role to run as (coder, debugger or fixer may run commands)
    #[arg(long, value_name = "ROLE")]
    role: String,
    /// The lane the agent works in
    #[arg(long, value_name = "LANE")]
    lane: Option<String>,
    /// Seconds before the command and everything it started are killed
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,
    /// Run without the sandbox: unconfined, as this user; only for debugging
    #[arg(long)]
    no_sandbox: bool,
    /// The command and its arguments
    #[arg(required = true, last = true, value_name = "CMD")]
    command: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// The agent role
    #[arg(long, value_name = "ROLE")]
    role: String,
    /// The lane the agent works in
    #[arg(long, value_name = "LANE")]
    lane: Option<String>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// The exit code of a command that ran past its time, as `timeout(1)` has it.
const TIMED_OUT: u8 = 124;
/// The exit code of a command stopped for printing too much.
const OUTPUT_CAPPED: u8 = 125;

pub(crate) async fn run(cmd: SandboxCommand, global: &GlobalArgs) -> Result<Outcome> {
    let project = Project::open(global)?;
    match cmd {
        SandboxCommand::Run(args) => run_command(&project, args).await,
        SandboxCommand::Explain(args) => explain(&project, &args),
    }
}

/// Checks that `role` may run commands and that `lane` exists.
fn role_and_lane(project: &Project, role: &str, lane: Option<&str>) -> Result<AgentRole> {
    let role: AgentRole = role.parse()?;
    if !role.can_run_commands() {
        let may: Vec<&str> = AgentRole::ALL
            .iter()
            .filter(|r| r.can_run_commands())
            .map(|r| r.as_str())
            .collect();
        bail!(
            "an agent of role `{role}` may not run commands (DESIGN §5); roles that may: {}",
            may.join(", ")
        );
    }
    if let Some(lane) = lane
        && !project.config.lanes.contains_key(lane)
    {
        let known: Vec<&str> = project.config.lanes.keys().map(String::as_str).collect();
        bail!(
            "no lane `{lane}` in slipway.toml; lanes: {}",
            known.join(", ")
        );
    }
    Ok(role)
}

/// Returns the limits `[sandbox]` sets, with the wall clock `timeout` when given.
pub(crate) fn limits(settings: &SandboxSettings, timeout: Option<u64>) -> Limits {
    let secs = timeout.unwrap_or(settings.timeout_secs).max(1);
    Limits {
        wall: Duration::from_secs(secs),
        cpu_secs: secs,
        memory_bytes: settings.memory_mb.saturating_mul(1 << 20),
        processes: settings.processes,
        output_bytes: usize::try_from(settings.output_kb.saturating_mul(1024))
            .unwrap_or(usize::MAX),
        ..Limits::default()
    }
}

/// Returns the sandbox of `argv` in the clone `clone` as `[sandbox]` sets
/// it, never showing the project at `root` (nor its `.slipway/`) through a
/// read-only directory.
pub(crate) fn spec_builder(
    settings: &SandboxSettings,
    argv: Vec<String>,
    clone: &Path,
    root: &Path,
) -> Result<SpecBuilder, slipway_sandbox::SandboxError> {
    let user = User::lookup(&settings.user)?;
    Ok(SpecBuilder::new(argv, clone, user)
        .read_only(settings.read_only.iter().map(Into::into))
        .pass_env(settings.env.iter().cloned())
        .protect([root.to_path_buf()]))
}

fn spec_for(project: &Project, argv: Vec<String>, clone: &Path, limits: Limits) -> Result<Spec> {
    Ok(
        spec_builder(&project.config.sandbox, argv, clone, &project.root)?
            .limits(limits)
            .build()?,
    )
}

async fn run_command(project: &Project, args: RunArgs) -> Result<Outcome> {
    role_and_lane(project, &args.role, args.lane.as_deref())?;
    let sandbox = if args.no_sandbox {
        eprintln!(
            "WARNING: --no-sandbox: the command runs UNCONFINED, as this user, with this \
             machine's files and network; never do this with an agent's commands"
        );
        Sandbox::unsandboxed()
    } else {
        Sandbox::new(Helper::current_exe()?)?
    };
    let scratch = tempfile::Builder::new()
        .prefix("slipway-sandbox-")
        .tempdir()
        .context("cannot make a directory for the throwaway clone")?;
    let clone = scratch.path().join("clone");
    let made = std::process::Command::new("git")
        .args(["clone", "-q", "--no-local", "--no-hardlinks"])
        .arg(&project.root)
        .arg(&clone)
        .output()
        .context("cannot run git")?;
    if !made.status.success() {
        bail!(
            "cannot clone {}: {}",
            project.root.display(),
            String::from_utf8_lossy(&made.stderr).trim()
        );
    }
    let spec = spec_for(
        project,
        args.command,
        &clone,
        limits(&project.config.sandbox, args.timeout),
    )?;
    if sandbox.is_isolated() {
        hand_over(&clone, &spec.user)?;
    }
    eprintln!(
        "slipway: running in a throwaway clone of {} (committed files only) at {}",
        project.root.display(),
        clone.display()
    );
    let outcome = sandbox.run(&spec).await?;
    std::io::stdout().write_all(&outcome.stdout)?;
    std::io::stdout().flush()?;
    std::io::stderr().write_all(&outcome.stderr)?;
    let dropped = if outcome.dropped_bytes > 0 {
        format!(" · {} bytes of output dropped", outcome.dropped_bytes)
    } else {
        String::new()
    };
    let confinement = if outcome.sandboxed {
        format!("sandbox on, Landlock {}", outcome.landlock)
    } else {
        "NO SANDBOX".to_owned()
    };
    eprintln!(
        "slipway: {} · {:.2} s · {confinement}{dropped}",
        outcome.exit,
        outcome.elapsed.as_secs_f64()
    );
    Ok(Outcome::Code(match outcome.exit {
        Exit::Exited(code) => u8::try_from(code & 0xff).unwrap_or(1),
        Exit::Signalled(signal) => u8::try_from(128 + (signal & 0x7f)).unwrap_or(1),
        Exit::TimedOut => TIMED_OUT,
        Exit::OutputCapped => OUTPUT_CAPPED,
    }))
}

fn explain(project: &Project, args: &ExplainArgs) -> Result<Outcome> {
    let role = role_and_lane(project, &args.role, args.lane.as_deref())?;
    let clone = project.root.join(".slipway/work/TASK-ID");
    // The spec is built against the project root, standing in for the clone.
    let mut spec = spec_for(
        project,
        vec!["CMD".into()],
        &project.root,
        limits(&project.config.sandbox, None),
    )?;
    for mount in &mut spec.mounts {
        if let Mount::Bind {
            src,
            dest,
            writable: true,
        } = mount
        {
            src.clone_from(&clone);
            dest.clone_from(&clone);
        }
    }
    let mut lane_globs = Vec::new();
    if let Some(lane) = args
        .lane
        .as_deref()
        .and_then(|l| project.config.lanes.get(l))
    {
        lane_globs.clone_from(&lane.owns);
    }
    if args.json {
        output::json(&json!({
            "role": role.as_str(),
            "lane": args.lane,
            "user": spec.user,
            "namespaces": ["mount", "pid", "network (loopback only)", "ipc", "uts"],
            "mounts": spec.mounts,
            "writable": spec.writable(),
            "env": spec.env.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            "limits": spec.limits,
            "tool_writes": { "lane_globs": lane_globs, "seams": project.config.seams.paths },
        }))?;
        return Ok(Outcome::Success);
    }
    print_explanation(
        role,
        args.lane.as_deref(),
        &spec,
        &lane_globs,
        &project.config.seams.paths,
    );
    Ok(Outcome::Success)
}

fn print_explanation(
    role: AgentRole,
    lane: Option<&str>,
    spec: &Spec,
    globs: &[String],
    seams: &[String],
) {
    let user = &spec.user;
    println!(
        "A command of a {role} agent{} runs:",
        lane.map(|l| format!(" in lane `{l}`")).unwrap_or_default()
    );
    println!(
        "  as        {} (uid {}, gid {}), no capabilities, no_new_privs",
        user.name, user.uid, user.gid
    );
    println!("  in        new mount, PID, network (loopback only), IPC and UTS namespaces");
    println!("  seeing    (everything else on this machine is absent)");
    for mount in &spec.mounts {
        match mount {
            Mount::Bind { dest, writable, .. } => {
                println!(
                    "    {:<10} {}",
                    if *writable { "read-write" } else { "read-only" },
                    dest.display()
                );
            }
            Mount::Tmpfs { dest, bytes, .. } => {
                println!(
                    "    {:<10} {} (private, {} MiB)",
                    "read-write",
                    dest.display(),
                    bytes >> 20
                );
            }
            Mount::Symlink { dest, target } => {
                println!(
                    "    {:<10} {} -> {}",
                    "link",
                    dest.display(),
                    target.display()
                );
            }
        }
    }
    println!(
        "    {:<10} /dev (null, zero, full, random, urandom, shm), /proc (its own)",
        "devices"
    );
    println!("  Landlock  writes only beneath the clone, /tmp and HOME; no signals out");
    let names: Vec<&str> = spec.env.iter().map(|(k, _)| k.as_str()).collect();
    println!("  env       {}", names.join(" "));
    let l = &spec.limits;
    println!(
        "  limits    {} s wall and CPU, {} MiB memory per process, {} processes, {} MiB per file, {} KiB output per stream",
        l.wall.as_secs(),
        l.memory_bytes >> 20,
        l.processes,
        l.file_bytes >> 20,
        l.output_bytes >> 10
    );
    println!(
        "Its file tools may write: {}",
        if globs.is_empty() {
            "(no lane given)".to_owned()
        } else {
            globs.join(", ")
        }
    );
    println!(
        "  and the seams whose lease its task holds: {}",
        if seams.is_empty() {
            "(none)".to_owned()
        } else {
            seams.join(", ")
        }
    );
    println!("  never: slipway.toml, AGENTS.md, .slipway/, .git");
}
