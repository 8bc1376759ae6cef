//! The sandbox's two helper processes, run from a fresh executable so that
//! ordinary Rust is sound in them (docs/design/sandbox.md):
//!
//! - `init` enters new mount, IPC, UTS and network namespaces, raises the
//!   loopback interface and starts `pid1` in a new PID namespace;
//! - `pid1` builds the root file system, sets limits, drops privileges,
//!   applies Landlock, runs the command as the sandbox user and reaps
//!   everything until it exits.
//!
//! Both report to the orchestrator through their standard input, which is
//! the write end of a status pipe that the command never gets.

#![allow(unsafe_code)]

use std::ffi::OsString;
use std::fs;
use std::io::Write as _;
use std::os::fd::AsFd;
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use rustix::process::{Resource, Rlimit, Signal, WaitOptions};
use rustix::thread::{CapabilitySet, UnshareFlags};
use serde::{Deserialize, Serialize};

use crate::guard;
use crate::spec::{Mount, Network, Spec};

/// The first argument that makes an executable the `init` helper.
pub const INIT_ARG: &str = "__slipway-sandbox-init";
/// The first argument that makes an executable the `pid1` helper.
pub const PID1_ARG: &str = "__slipway-sandbox-pid1";

/// The exit code of a helper whose setup failed.
const SETUP_FAILED: u8 = 125;
/// Where the old root is while the new one is built.
const BASE: &str = "/tmp";
/// Device nodes the sandbox gets, bound from the host's `/dev`.
/// Not `tty`: the command must never reach the operator's terminal.
const DEVICES: [&str; 5] = ["null", "zero", "full", "random", "urandom"];

/// What the helpers tell the orchestrator, one JSON line on the status pipe.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Status {
    /// Why the sandbox could not be set up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) setup: Option<String>,
    /// The Landlock status (`full`, `partial`, `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) landlock: Option<String>,
    /// The command's exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exit: Option<i32>,
    /// The signal that killed the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) signal: Option<i32>,
}

/// Runs the helper this process was started as, if any: call it first
/// thing in `main` of every executable that is used as the sandbox helper.
/// `args` is the whole command line, program name included.
#[must_use]
pub fn helper_main(args: &[OsString]) -> Option<ExitCode> {
    let role = args.get(1)?.to_str()?;
    if role != INIT_ARG && role != PID1_ARG {
        return None;
    }
    close_inherited_fds();
    let result = args
        .get(2)
        .and_then(|spec| spec.to_str())
        .ok_or_else(|| "no sandbox spec was given".to_owned())
        .and_then(|spec| serde_json::from_str::<Spec>(spec).map_err(|e| format!("bad spec: {e}")))
        .and_then(|spec| {
            if role == INIT_ARG {
                let orchestrator = args.get(3).and_then(|p| p.to_str()?.parse::<i32>().ok());
                init(&spec, orchestrator)
            } else {
                pid1(&spec)
            }
        });
    Some(match result {
        Ok(status) => {
            report(&status);
            ExitCode::from(exit_code(&status))
        }
        Err(message) => {
            eprintln!("slipway-sandbox: setup: {message}");
            report(&Status {
                setup: Some(message),
                ..Status::default()
            });
            ExitCode::from(SETUP_FAILED)
        }
    })
}

fn exit_code(status: &Status) -> u8 {
    let code = match (status.exit, status.signal) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => i32::from(SETUP_FAILED),
    };
    u8::try_from(code & 0xff).unwrap_or(SETUP_FAILED)
}

/// Writes the status line to the status pipe (standard input).
fn report(status: &Status) {
    if let Ok(mut line) = serde_json::to_vec(status) {
        line.push(b'\n');
        let _ = rustix::io::write(std::io::stdin().as_fd(), &line);
    }
}

/// Closes every descriptor above standard error that this process
/// inherited: one the orchestrator was itself started with (a directory
/// from a shell's `exec 7</`, a jobserver pipe) would otherwise reach the
/// command, and a directory descriptor opens the whole host file system.
fn close_inherited_fds() {
    let Ok(entries) = fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    // The listing's own descriptor is among them and closed by now: only
    // what is still open is closed (closing a closed one aborts).
    let open = |fd: &i32| fs::symlink_metadata(format!("/proc/self/fd/{fd}")).is_ok();
    for fd in fds.into_iter().filter(open) {
        // SAFETY: this runs first thing in a fresh helper process, before
        // anything in it opens a file: no Rust value owns a descriptor above
        // 2, so closing them cannot invalidate one.
        drop(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    }
}

/// Dies with the parent. In `pid1` the parent is in another PID namespace,
/// so `getppid` says 0 and cannot tell whether it is gone; `init` checks.
fn die_with_parent() -> Result<(), String> {
    rustix::process::set_parent_process_death_signal(Some(Signal::KILL))
        .map_err(|e| format!("cannot set the parent-death signal: {e}"))
}

/// The `init` helper: new namespaces, loopback up, then `pid1`; its status
/// is `pid1`'s, which `pid1` has already reported.
fn init(spec: &Spec, orchestrator: Option<i32>) -> Result<Status, String> {
    die_with_parent()?;
    let parent = rustix::process::getppid().map(|pid| pid.as_raw_nonzero().get());
    if parent != orchestrator {
        return Err("the orchestrator is gone".into());
    }
    // A session of its own: no controlling terminal for anything inside.
    rustix::process::setsid().map_err(|e| format!("cannot start a new session: {e}"))?;
    let mut flags =
        UnshareFlags::NEWNS | UnshareFlags::NEWIPC | UnshareFlags::NEWUTS | UnshareFlags::NEWPID;
    if spec.network == Network::Loopback {
        flags |= UnshareFlags::NEWNET;
    }
    // SAFETY: this process has one thread, and none of the flags
    // (`CLONE_FILES`, `CLONE_FS`, `CLONE_SYSVSEM`) that would change state
    // shared with other threads is unshared.
    unsafe { rustix::thread::unshare_unsafe(flags) }.map_err(|e| {
        format!(
            "the kernel refused new mount, PID and network namespaces ({e}); the sandbox \
             needs root and a kernel with namespaces; `--no-sandbox` runs without it, unsafely"
        )
    })?;
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .map_err(|e| format!("cannot make the mount namespace private: {e}"))?;
    if spec.network == Network::Loopback {
        crate::netlink::loopback_up().map_err(|e| format!("cannot bring loopback up: {e}"))?;
    }
    // This very executable, even if its file was replaced since it started.
    let exe = "/proc/self/exe";
    let json = serde_json::to_string(spec).map_err(|e| e.to_string())?;
    let status = Command::new(exe)
        .arg(PID1_ARG)
        .arg(json)
        .env_clear()
        .status()
        .map_err(|e| format!("cannot start the PID namespace's init: {e}"))?;
    // pid1 reported to the orchestrator itself; this only sets the exit code.
    std::process::exit(status.code().unwrap_or(i32::from(SETUP_FAILED)));
}

/// The `pid1` helper.
fn pid1(spec: &Spec) -> Result<Status, String> {
    die_with_parent()?;
    build_root(spec)?;
    rustix::system::sethostname(b"slipway-sandbox")
        .map_err(|e| format!("cannot set the hostname: {e}"))?;
    set_limits(spec)?;
    for cap in CapabilitySet::all().iter() {
        // A capability the kernel does not know is refused; nothing to drop.
        let _ = rustix::thread::remove_capability_from_bounding_set(cap);
    }
    rustix::thread::set_no_new_privs(true).map_err(|e| format!("cannot set no_new_privs: {e}"))?;
    let landlock = guard::restrict(spec).map_err(|e| format!("Landlock: {e}"))?;
    // Reported now, so that a command the orchestrator kills still has it.
    report(&Status {
        landlock: Some(landlock.to_owned()),
        ..Status::default()
    });
    let mut status = Status::default();
    let mut command = Command::new(&spec.argv[0]);
    command
        .args(&spec.argv[1..])
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&spec.workdir)
        .uid(spec.user.uid)
        .gid(spec.user.gid)
        .stdin(Stdio::null());
    let child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            eprintln!("slipway-sandbox: cannot run `{}`: {err}", spec.argv[0]);
            status.exit = Some(crate::run::spawn_failure_code(&err));
            return Ok(status);
        }
    };
    let target = rustix::process::Pid::from_child(&child);
    loop {
        match rustix::process::wait(WaitOptions::empty()) {
            Ok(Some((pid, wait))) if pid == target => {
                status.exit = wait.exit_status();
                status.signal = wait.terminating_signal();
                let _ = std::io::stderr().flush();
                // Returning ends PID 1, and with it every process left in
                // the namespace.
                return Ok(status);
            }
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(format!("cannot wait for the command: {err}")),
        }
    }
}

fn set_limits(spec: &Spec) -> Result<(), String> {
    let limits = &spec.limits;
    for (resource, value, what) in [
        (Resource::Cpu, limits.cpu_secs, "CPU time"),
        (Resource::As, limits.memory_bytes, "memory"),
        (Resource::Nproc, limits.processes, "processes"),
        (Resource::Fsize, limits.file_bytes, "file size"),
        (Resource::Nofile, limits.open_files, "open files"),
        (Resource::Core, 0, "core dumps"),
    ] {
        let limit = Rlimit {
            current: Some(value),
            maximum: Some(value),
        };
        rustix::process::setrlimit(resource, limit)
            .map_err(|e| format!("cannot limit {what} to {value}: {e}"))?;
    }
    Ok(())
}

/// Host path `path` as seen beneath `root`.
fn under(root: &str, path: &Path) -> PathBuf {
    Path::new(root).join(path.strip_prefix("/").unwrap_or(path))
}

fn mount_err(what: &str, path: &Path) -> impl FnOnce(rustix::io::Errno) -> String {
    let path = path.display().to_string();
    let what = what.to_owned();
    move |e| format!("{what} `{path}`: {e}")
}

/// Builds the new root in a tmpfs and moves into it.
fn build_root(spec: &Spec) -> Result<(), String> {
    let plain = MountFlags::NOSUID | MountFlags::NODEV;
    rustix::mount::mount("tmpfs", BASE, "tmpfs", plain, c"mode=0755,size=1m")
        .map_err(mount_err("cannot mount a tmpfs on", Path::new(BASE)))?;
    for dir in ["newroot", "oldroot"] {
        fs::create_dir(Path::new(BASE).join(dir)).map_err(|e| format!("cannot make {dir}: {e}"))?;
    }
    std::env::set_current_dir(BASE).map_err(|e| e.to_string())?;
    rustix::process::pivot_root(".", "oldroot")
        .map_err(mount_err("cannot pivot into", Path::new(BASE)))?;
    std::env::set_current_dir("/").map_err(|e| e.to_string())?;
    rustix::mount::mount("tmpfs", "/newroot", "tmpfs", plain, c"mode=0755,size=16m").map_err(
        mount_err("cannot mount the new root", Path::new("/newroot")),
    )?;
    for mount in &spec.mounts {
        apply(mount, spec)?;
    }
    make_dev()?;
    fs::create_dir_all("/newroot/proc").map_err(|e| format!("cannot make /proc: {e}"))?;
    rustix::mount::mount(
        "proc",
        "/newroot/proc",
        "proc",
        plain | MountFlags::NOEXEC,
        None,
    )
    .map_err(mount_err("cannot mount", Path::new("/proc")))?;
    rustix::mount::mount_remount("/newroot", MountFlags::RDONLY | plain, "")
        .map_err(mount_err("cannot make read-only", Path::new("/")))?;
    std::env::set_current_dir("/newroot").map_err(|e| e.to_string())?;
    rustix::process::pivot_root(".", ".")
        .map_err(mount_err("cannot pivot into", Path::new("/")))?;
    rustix::mount::unmount(".", UnmountFlags::DETACH)
        .map_err(mount_err("cannot detach the host's root", Path::new("/")))?;
    std::env::set_current_dir("/").map_err(|e| e.to_string())?;
    Ok(())
}

/// Carries out one step of the mount plan beneath `/newroot`.
fn apply(mount: &Mount, spec: &Spec) -> Result<(), String> {
    let plain = MountFlags::NOSUID | MountFlags::NODEV;
    match mount {
        Mount::Bind {
            src,
            dest,
            writable,
        } => {
            let from = under("/oldroot", src);
            let to = under("/newroot", dest);
            mount_point(&to, from.is_dir())?;
            rustix::mount::mount_bind(&from, &to).map_err(mount_err("cannot bind", src))?;
            let mut flags = MountFlags::BIND | plain;
            if !writable {
                flags |= MountFlags::RDONLY;
            }
            rustix::mount::mount_remount(&to, flags, "").map_err(mount_err("cannot restrict", dest))
        }
        Mount::Tmpfs { dest, bytes, mode } => {
            let to = under("/newroot", dest);
            mount_point(&to, true)?;
            let data = format!(
                "size={bytes},mode={mode:o},uid={},gid={}",
                spec.user.uid, spec.user.gid
            );
            let data = std::ffi::CString::new(data).map_err(|e| e.to_string())?;
            rustix::mount::mount("tmpfs", &to, "tmpfs", plain, data.as_c_str())
                .map_err(mount_err("cannot mount a tmpfs on", dest))
        }
        Mount::Symlink { dest, target } => {
            let to = under("/newroot", dest);
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            symlink(target, &to).map_err(|e| format!("cannot link `{}`: {e}", dest.display()))
        }
    }
}

/// Makes `path` exist as a directory or an empty file to mount on.
fn mount_point(path: &Path, dir: bool) -> Result<(), String> {
    if path.exists() {
        return Ok(());
    }
    let made = if dir {
        fs::create_dir_all(path)
    } else {
        path.parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| fs::File::create(path).map(drop))
    };
    made.map_err(|e| format!("cannot make the mount point `{}`: {e}", path.display()))
}

/// A minimal `/dev`: a few device nodes, `/dev/shm`, and the `fd` links.
fn make_dev() -> Result<(), String> {
    let dev = Path::new("/newroot/dev");
    mount_point(dev, true)?;
    rustix::mount::mount(
        "tmpfs",
        dev,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NOEXEC,
        c"mode=0755,size=64k",
    )
    .map_err(mount_err("cannot mount a tmpfs on", Path::new("/dev")))?;
    for name in DEVICES {
        let from = Path::new("/oldroot/dev").join(name);
        if !from.exists() {
            continue;
        }
        let to = dev.join(name);
        mount_point(&to, false)?;
        rustix::mount::mount_bind(&from, &to).map_err(mount_err("cannot bind", &from))?;
        rustix::mount::mount_remount(
            &to,
            MountFlags::BIND | MountFlags::NOSUID | MountFlags::NOEXEC,
            "",
        )
        .map_err(mount_err("cannot restrict", &to))?;
    }
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        symlink(target, dev.join(name)).map_err(|e| format!("cannot link /dev/{name}: {e}"))?;
    }
    let shm = dev.join("shm");
    mount_point(&shm, true)?;
    rustix::mount::mount(
        "tmpfs",
        &shm,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV,
        c"mode=1777,size=64m",
    )
    .map_err(mount_err("cannot mount a tmpfs on", Path::new("/dev/shm")))
}
