//! The escape suite: each test tries one way out and asserts both the denial
//! (the command's own error, in its outcome) and that the host is unchanged.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use slipway_sandbox::{Exit, Limits, SandboxError, SpecBuilder};

use crate::support::{Clone, sandbox, sh, sh_with, text, user};

/// Runs `script` and asserts that it failed with `error` on stderr.
async fn denied(clone: &Clone, script: &str, error: &str) -> String {
    let out = sh(&clone.path(), script).await;
    let stderr = text(&out.stderr);
    assert!(
        !out.exit.success(),
        "`{script}` succeeded: {}",
        text(&out.stdout)
    );
    assert!(
        stderr.contains(error),
        "`{script}`: wanted `{error}` in stderr, got: {stderr}"
    );
    assert!(out.sandboxed);
    stderr
}

fn outside_unchanged(clone: &Clone) {
    assert_eq!(
        std::fs::read_to_string(clone.outside()).unwrap(),
        "outside\n"
    );
}

#[tokio::test]
async fn writing_outside_through_dot_dot_is_denied() {
    let clone = Clone::new();
    // The clone's parent inside the sandbox is a directory of the sandbox's
    // own, which the sandbox user may not write.
    denied(&clone, "echo pwned > ../outside.txt", "Permission denied").await;
    outside_unchanged(&clone);
}

#[tokio::test]
async fn writing_an_absolute_host_path_is_denied() {
    let clone = Clone::new();
    let target = clone.outside();
    denied(
        &clone,
        &format!("echo pwned > {}", target.display()),
        "Permission denied",
    )
    .await;
    outside_unchanged(&clone);
    denied(
        &clone,
        "echo pwned > /usr/slipway-escape",
        "Read-only file system",
    )
    .await;
    assert!(!Path::new("/usr/slipway-escape").exists());
}

#[tokio::test]
async fn a_symlink_made_inside_cannot_write_out() {
    let clone = Clone::new();
    denied(
        &clone,
        "ln -s ../outside.txt link && echo pwned > link",
        "Permission denied",
    )
    .await;
    outside_unchanged(&clone);
    let target = clone.outside();
    denied(
        &clone,
        &format!("ln -s {} abs && echo pwned > abs", target.display()),
        "Permission denied",
    )
    .await;
    outside_unchanged(&clone);
}

#[tokio::test]
async fn a_symlink_made_inside_cannot_read_host_files() {
    let clone = Clone::new();
    denied(
        &clone,
        "ln -s /root/.bashrc rc && cat rc",
        "No such file or directory",
    )
    .await;
}

#[tokio::test]
async fn a_hard_link_cannot_reach_outside() {
    let clone = Clone::new();
    denied(
        &clone,
        "ln ../outside.txt hard",
        "No such file or directory",
    )
    .await;
    denied(&clone, "ln /usr/bin/env hard", "cross-device").await;
    outside_unchanged(&clone);
}

#[tokio::test]
async fn proc_self_root_leads_back_into_the_sandbox() {
    let clone = Clone::new();
    let target = clone.outside();
    denied(
        &clone,
        &format!("cat /proc/self/root{}", target.display()),
        "No such file or directory",
    )
    .await;
    denied(
        &clone,
        "echo pwned > /proc/self/root/etc/slipway-escape",
        "Read-only file system",
    )
    .await;
    denied(&clone, "ls /proc/1/root/", "Permission denied").await;
}

#[tokio::test]
async fn renaming_out_of_the_clone_is_denied() {
    let clone = Clone::new();
    denied(&clone, "mv README.md ../moved.md", "Permission denied").await;
    denied(
        &clone,
        "cp README.md k.md && mv k.md /usr/moved.md",
        "Read-only file system",
    )
    .await;
    assert!(clone.path().join("README.md").exists());
    assert!(!clone.root.path().join("moved.md").exists());
}

#[tokio::test]
async fn other_clones_and_state_are_not_visible() {
    let clone = Clone::new();
    std::fs::create_dir_all(clone.root.path().join(".slipway/work/other")).unwrap();
    denied(
        &clone,
        "ls ../.slipway/work/other",
        "No such file or directory",
    )
    .await;
    denied(&clone, "ls /run/postgresql", "No such file or directory").await;
    denied(&clone, "ls /var/run", "No such file or directory").await;
    denied(
        &clone,
        "cat /root/.bashrc /root/.gitconfig",
        "No such file or directory",
    )
    .await;
    // `/root` holds only the toolchains the sandbox shows.
    let out = sh(&clone.path(), "ls -A /root").await;
    for name in text(&out.stdout).split_whitespace() {
        assert!(
            [".cargo", ".rustup", ".pyenv"].contains(&name),
            "/root shows {name}"
        );
    }
}

/// A main repository with `staging` and `production`, and a clone of it made
/// as the pipeline makes one.
fn main_and_clone() -> (tempfile::TempDir, Clone) {
    let main = tempfile::tempdir().unwrap();
    let git = |dir: &Path, args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-C"])
            .arg(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    git(main.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(main.path().join("a.txt"), "a\n").unwrap();
    git(main.path(), &["add", "a.txt"]);
    git(main.path(), &["commit", "-q", "-m", "a"]);
    git(main.path(), &["branch", "staging"]);
    git(main.path(), &["branch", "production"]);
    let clone = Clone::new();
    std::fs::remove_dir_all(clone.path()).unwrap();
    let out = std::process::Command::new("git")
        .args(["clone", "-q", "--no-local"])
        .arg(main.path())
        .arg(clone.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    slipway_sandbox::hand_over(&clone.path(), &user()).unwrap();
    (main, clone)
}

fn head_of(repo: &Path, branch: &str) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", branch])
        .output()
        .unwrap();
    text(&out.stdout)
}

#[tokio::test]
async fn pushing_to_the_main_repository_fails() {
    let (main, clone) = main_and_clone();
    let before = head_of(main.path(), "staging");
    let script = "git -c user.name=a -c user.email=a@a commit -q --allow-empty -m x && \
                  git push origin HEAD:staging HEAD:production";
    denied(&clone, script, "does not appear to be a git repository").await;
    assert_eq!(head_of(main.path(), "staging"), before);
    assert_eq!(head_of(main.path(), "production"), before);
}

#[tokio::test]
async fn update_ref_in_the_main_repository_fails() {
    let (main, clone) = main_and_clone();
    let before = head_of(main.path(), "production");
    let script = format!(
        "git --git-dir={}/.git update-ref refs/heads/production HEAD",
        main.path().display()
    );
    denied(&clone, &script, "not a git repository").await;
    assert_eq!(head_of(main.path(), "production"), before);
}

#[tokio::test]
async fn ssh_keys_of_the_host_are_not_readable() {
    let clone = Clone::new();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    std::fs::write(home.path().join(".ssh/id_ed25519"), "PRIVATE KEY").unwrap();
    let mut host = BTreeMap::new();
    host.insert("HOME".to_owned(), home.path().display().to_string());
    host.insert("PATH".to_owned(), "/usr/bin:/bin".to_owned());
    let key = home.path().join(".ssh/id_ed25519");
    let script = format!("cat {} ~/.ssh/id_ed25519 /root/.ssh/id_*", key.display());
    let spec = SpecBuilder::new(vec!["sh".into(), "-c".into(), script], clone.path(), user())
        .build_with(&host)
        .unwrap();
    let out = sandbox().run(&spec).await.unwrap();
    assert!(!out.exit.success());
    assert!(!text(&out.stdout).contains("PRIVATE KEY"));
    assert!(
        text(&out.stderr).contains("No such file or directory"),
        "{}",
        text(&out.stderr)
    );
    // Nor can a read-only directory be configured that shows them.
    let err = SpecBuilder::new(vec!["true".into()], clone.path(), user())
        .read_only([home.path().to_owned()])
        .build_with(&host)
        .unwrap_err();
    assert!(err.to_string().contains(".ssh"), "{err}");
}

#[tokio::test]
async fn api_keys_never_enter_the_environment() {
    let clone = Clone::new();
    let mut host = BTreeMap::new();
    host.insert("ANTHROPIC_API_KEY".to_owned(), "sk-ant-secret".to_owned());
    host.insert("OPENAI_API_KEY".to_owned(), "sk-secret".to_owned());
    host.insert("GITHUB_TOKEN".to_owned(), "ghp_secret".to_owned());
    host.insert("PATH".to_owned(), "/usr/bin:/bin".to_owned());
    host.insert("LANG".to_owned(), "C.UTF-8".to_owned());
    let spec = SpecBuilder::new(vec!["env".into()], clone.path(), user())
        .pass_env(["LANG".to_owned()])
        .build_with(&host)
        .unwrap();
    let out = sandbox().run(&spec).await.unwrap();
    let env = text(&out.stdout);
    assert!(out.exit.success());
    assert!(env.contains("LANG=C.UTF-8"), "{env}");
    assert!(!env.contains("secret"), "{env}");
    for name in ["OPENAI_API_KEY", "GITHUB_TOKEN", "DATABASE_URL"] {
        let err = SpecBuilder::new(vec!["env".into()], clone.path(), user())
            .pass_env([name.to_owned()])
            .build_with(&host)
            .unwrap_err();
        assert!(matches!(err, SandboxError::BadSpec(_)) && err.to_string().contains(name));
    }
}

#[tokio::test]
async fn the_init_process_environment_is_not_readable() {
    let clone = Clone::new();
    denied(&clone, "cat /proc/1/environ", "Permission denied").await;
    denied(&clone, "cat /proc/1/mem", "Permission denied").await;
}

#[tokio::test]
async fn a_tcp_listener_on_the_host_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let clone = Clone::new();
    denied(
        &clone,
        &format!("bash -c 'echo hi > /dev/tcp/127.0.0.1/{port}'"),
        "Connection refused",
    )
    .await;
    listener.set_nonblocking(true).unwrap();
    assert!(
        listener.accept().is_err(),
        "the host listener got a connection"
    );
}

#[tokio::test]
async fn the_outside_network_is_unreachable() {
    let clone = Clone::new();
    denied(
        &clone,
        "bash -c 'echo hi > /dev/tcp/192.0.2.1/80'",
        "Network is unreachable",
    )
    .await;
}

#[tokio::test]
async fn host_unix_sockets_are_unreachable() {
    let clone = Clone::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let connect = |target: &str| {
        format!(
            "/usr/bin/python3 -c \"import socket; s = socket.socket(socket.AF_UNIX); \
             s.connect('{target}')\""
        )
    };
    denied(
        &clone,
        &connect(&path.display().to_string()),
        "FileNotFoundError",
    )
    .await;
    denied(
        &clone,
        &connect("/var/run/postgresql/.s.PGSQL.5432"),
        "FileNotFoundError",
    )
    .await;
    // An abstract socket of the host's network namespace.
    let name = format!("slipway-escape-{}", std::process::id());
    let addr =
        <std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(
            name.as_bytes(),
        )
        .unwrap();
    let _abstract = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
    denied(
        &clone,
        &connect(&format!("\\\\0{name}")),
        "ConnectionRefusedError",
    )
    .await;
}

#[tokio::test]
async fn the_orchestrator_cannot_be_signalled_or_traced() {
    let clone = Clone::new();
    let me = std::process::id();
    denied(&clone, &format!("kill -9 {me}"), "No such process").await;
    let stderr = denied(
        &clone,
        "/usr/bin/python3 -c \"import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); \
         r = libc.ptrace(16, 1, 0, 0); sys.exit('ptrace: ' + str(ctypes.get_errno()) if r else 0)\"",
        "ptrace: 1",
    )
    .await;
    assert!(stderr.contains("ptrace: 1"));
    let out = sh(&clone.path(), "ls /proc | grep -c '^[0-9]'").await;
    let visible: u32 = text(&out.stdout).trim().parse().unwrap();
    assert!(visible <= 4, "{visible} processes visible");
}

#[tokio::test]
async fn setuid_binaries_gain_nothing() {
    let clone = Clone::new();
    let out = sh(
        &clone.path(),
        "grep -E '^(NoNewPrivs|CapEff|CapPrm|CapBnd|CapAmb)' /proc/self/status",
    )
    .await;
    let status = text(&out.stdout);
    for line in [
        "NoNewPrivs:\t1",
        "CapEff:\t0000000000000000",
        "CapPrm:\t0000000000000000",
        "CapBnd:\t0000000000000000",
        "CapAmb:\t0000000000000000",
    ] {
        assert!(status.contains(line), "{line} not in {status}");
    }
    // `mount` is setuid root on the host; here it runs as the sandbox user.
    assert!(std::fs::metadata("/usr/bin/mount").is_ok_and(|m| {
        std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o4000 != 0
    }));
    denied(&clone, "mount -t tmpfs none /tmp", "must be superuser").await;
}

#[tokio::test]
async fn block_devices_are_absent_and_cannot_be_made() {
    let clone = Clone::new();
    denied(&clone, "cat /dev/vda /dev/sda", "No such file or directory").await;
    denied(&clone, "mknod /tmp/disk b 8 0", "Operation not permitted").await;
    let out = sh(&clone.path(), "ls /dev").await;
    assert_eq!(
        text(&out.stdout).split_whitespace().collect::<Vec<_>>(),
        [
            "fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout", "urandom", "zero"
        ]
    );
}

#[tokio::test]
async fn a_fork_bomb_is_contained() {
    let clone = Clone::new();
    let limits = Limits {
        processes: 64,
        wall: Duration::from_secs(5),
        ..Limits::default()
    };
    let out = sh_with(
        &clone.path(),
        "bomb() { bomb | bomb & }; bomb; sleep 60",
        limits,
    )
    .await;
    // Either the wall clock ended it, or the process limit kept the shell
    // from starting `sleep`: never a clean exit.
    assert!(
        out.exit == Exit::TimedOut || (!out.exit.success() && text(&out.stderr).contains("fork")),
        "{:?} {}",
        out.exit,
        text(&out.stderr)
    );
    assert!(out.elapsed < Duration::from_secs(15), "{:?}", out.elapsed);
    let out = sh(&clone.path(), "echo still fine").await;
    assert_eq!(text(&out.stdout), "still fine\n");
}

#[tokio::test]
async fn filling_the_disk_hits_the_limits() {
    let clone = Clone::new();
    let limits = Limits {
        file_bytes: 1 << 20,
        tmp_bytes: 2 << 20,
        ..Limits::default()
    };
    let out = sh_with(
        &clone.path(),
        "head -c 10000000 /dev/zero > big",
        limits.clone(),
    )
    .await;
    assert_eq!(out.exit, Exit::Exited(153), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::metadata(clone.path().join("big")).unwrap().len(),
        1 << 20
    );
    let out = sh_with(
        &clone.path(),
        "for i in 1 2 3 4; do head -c 1000000 /dev/zero > /tmp/f$i || exit 7; done",
        limits,
    )
    .await;
    assert_eq!(out.exit, Exit::Exited(7));
    assert!(
        text(&out.stderr).contains("No space left on device"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn a_command_that_never_exits_is_killed_with_everything_it_started() {
    let clone = Clone::new();
    let limits = Limits {
        wall: Duration::from_millis(500),
        ..Limits::default()
    };
    let marker = format!("slipway-sleeper-{}", std::process::id());
    let script = format!("bash -c '(exec -a {marker} sleep 300) & exec -a {marker} sleep 300'");
    let out = sh_with(&clone.path(), &script, limits).await;
    assert_eq!(out.exit, Exit::TimedOut);
    assert!(out.elapsed < Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let left = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
        })
        .count();
    assert_eq!(left, 0, "processes outlived the sandbox");
}

#[tokio::test]
async fn endless_output_is_capped() {
    let clone = Clone::new();
    let limits = Limits {
        output_bytes: 64 * 1024,
        ..Limits::default()
    };
    let out = sh_with(&clone.path(), "yes slipway", limits).await;
    assert_eq!(out.exit, Exit::OutputCapped);
    assert_eq!(out.stdout.len(), 64 * 1024);
    assert!(out.dropped_bytes > 0);
}

#[tokio::test]
async fn binary_output_is_kept_as_bytes() {
    let clone = Clone::new();
    let out = sh(
        &clone.path(),
        "head -c 100000 /dev/urandom; printf '\\0\\377'",
    )
    .await;
    assert!(out.exit.success());
    assert_eq!(out.stdout.len(), 100_002);
    assert_eq!(&out.stdout[100_000..], b"\0\xff");
}

#[tokio::test]
async fn cpu_time_is_limited() {
    let clone = Clone::new();
    let limits = Limits {
        cpu_secs: 1,
        ..Limits::default()
    };
    let out = sh_with(&clone.path(), "while :; do :; done", limits).await;
    assert!(
        matches!(out.exit, Exit::Signalled(24 | 9)),
        "{:?}",
        out.exit
    );
}

#[tokio::test]
async fn memory_is_limited() {
    let clone = Clone::new();
    let limits = Limits {
        memory_bytes: 256 << 20,
        ..Limits::default()
    };
    let out = sh_with(
        &clone.path(),
        "/usr/bin/python3 -c 'x = bytearray(1 << 30)'",
        limits,
    )
    .await;
    assert!(!out.exit.success());
    assert!(
        text(&out.stderr).contains("MemoryError"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn kernel_settings_cannot_be_changed() {
    let clone = Clone::new();
    let before = std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap();
    denied(&clone, "echo 4096 > /proc/sys/kernel/pid_max", "pid_max").await;
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap(),
        before
    );
    denied(&clone, "hostname evil", "must be root").await;
    let out = sh(&clone.path(), "hostname").await;
    assert_eq!(text(&out.stdout), "slipway-sandbox\n");
}

#[tokio::test]
async fn bad_paths_get_clean_errors() {
    let clone = Clone::new();
    let long = "a".repeat(300);
    denied(&clone, &format!("touch {long}"), "File name too long").await;
    let err = SpecBuilder::new(vec!["true".into()], "/nonexistent/clone", user())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/clone"), "{err}");
    let err = SpecBuilder::new(vec![String::new()], clone.path(), user())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("no command"), "{err}");
    let err = SpecBuilder::new(vec!["a\0b".into()], clone.path(), user())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");
}

#[tokio::test]
async fn a_missing_program_is_exit_127() {
    let clone = Clone::new();
    let spec = SpecBuilder::new(vec!["no-such-program".into()], clone.path(), user())
        .build()
        .unwrap();
    let out = sandbox().run(&spec).await.unwrap();
    assert_eq!(out.exit, Exit::Exited(127));
    assert!(text(&out.stderr).contains("no-such-program"));
}

#[tokio::test]
async fn the_terminal_is_out_of_reach() {
    let clone = Clone::new();
    denied(&clone, "echo hi > /dev/tty", "Permission denied").await;
    // Field 7 of /proc/PID/stat is the controlling terminal: none.
    let out = sh(&clone.path(), "cut -d' ' -f7 /proc/self/stat").await;
    assert_eq!(text(&out.stdout), "0\n");
}

#[tokio::test]
async fn descriptors_the_orchestrator_inherited_do_not_reach_the_command() {
    use std::os::fd::AsRawFd;
    let clone = Clone::new();
    // A directory descriptor without close-on-exec, as a shell's `exec 7</`
    // would leave one.
    let flags = rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY;
    let root = rustix::fs::open("/", flags, rustix::fs::Mode::empty()).unwrap();
    let fd = root.as_raw_fd();
    let out = sh(
        &clone.path(),
        &format!("ls /proc/self/fd/{fd}/ && echo leaked"),
    )
    .await;
    assert!(
        !text(&out.stdout).contains("leaked"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("No such file or directory"),
        "{}",
        text(&out.stderr)
    );
    drop(root);
}

#[tokio::test]
async fn an_oversized_command_is_refused_with_a_clear_error() {
    let clone = Clone::new();
    let script = format!("echo {}", "x".repeat(200 * 1024));
    let spec = SpecBuilder::new(vec!["sh".into(), "-c".into(), script], clone.path(), user())
        .build()
        .unwrap();
    let err = sandbox().run(&spec).await.unwrap_err();
    assert!(matches!(err, SandboxError::BadSpec(_)), "{err}");
    assert!(
        err.to_string().contains("write the script to a file"),
        "{err}"
    );
}

#[tokio::test]
async fn a_timed_out_command_still_reports_landlock() {
    let clone = Clone::new();
    let limits = Limits {
        wall: Duration::from_millis(300),
        ..Limits::default()
    };
    let out = sh_with(&clone.path(), "sleep 30", limits).await;
    assert_eq!(out.exit, Exit::TimedOut);
    assert_eq!(out.landlock, "full");
}
