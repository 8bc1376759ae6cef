//! Positive controls: ordinary work succeeds in the sandbox.

use crate::support::{Clone, sh, text};

#[tokio::test]
async fn a_command_runs_as_the_sandbox_user_in_its_clone() {
    let clone = Clone::new();
    let out = sh(
        &clone.path(),
        "id -u; pwd; cat README.md; echo made > new.txt",
    )
    .await;
    assert!(out.exit.success(), "{out:?} {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("65534\n{}\ninside\n", clone.path().display())
    );
    assert_eq!(
        std::fs::read_to_string(clone.path().join("new.txt")).unwrap(),
        "made\n"
    );
    assert_eq!(out.landlock, "full");
    assert!(out.sandboxed);
}

#[tokio::test]
async fn c_and_rust_compile_and_run() {
    let clone = Clone::new();
    let script = "printf 'int main(void){return 42;}' > m.c && cc m.c -o m; ./m; echo c=$?; \
                  printf 'fn main(){println!(\"rust ok\")}' > m.rs && rustc -o mr m.rs && ./mr";
    let out = sh(&clone.path(), script).await;
    assert!(out.exit.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "c=42\nrust ok\n");
}

#[tokio::test]
async fn tests_run_with_a_private_tmp_and_home() {
    let clone = Clone::new();
    std::fs::write(
        clone.path().join("test_x.py"),
        "import os, tempfile, unittest\n\
         class T(unittest.TestCase):\n    def test_tmp(self):\n        \
         p = tempfile.mkstemp()[1]; self.assertTrue(p.startswith('/tmp/'))\n    \
         def test_home(self):\n        open(os.path.expanduser('~/x'), 'w').write('y')\n",
    )
    .unwrap();
    slipway_sandbox::hand_over(&clone.path(), &crate::support::user()).unwrap();
    let out = sh(
        &clone.path(),
        "/usr/bin/python3 -m unittest -q test_x 2>&1; echo $HOME",
    )
    .await;
    assert!(out.exit.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("OK"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).ends_with("/home/slipway\n"));
}

#[tokio::test]
async fn two_sandboxes_listen_on_one_port_at_once() {
    let (a, b) = (Clone::new(), Clone::new());
    let server = "/usr/bin/python3 -c \"import socket, time; s = socket.socket(); \
                  s.bind(('127.0.0.1', 8080)); s.listen(); c = socket.create_connection(('127.0.0.1', 8080)); \
                  time.sleep(0.5); print('listening')\"";
    let (pa, pb) = (a.path(), b.path());
    let (one, two) = tokio::join!(sh(&pa, server), sh(&pb, server));
    for out in [one, two] {
        assert!(out.exit.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "listening\n");
    }
}

#[tokio::test]
async fn shared_memory_is_writable() {
    let clone = Clone::new();
    let out = sh(&clone.path(), "echo x > /dev/shm/lock && cat /dev/shm/lock").await;
    assert!(out.exit.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "x\n");
}

#[tokio::test]
async fn an_unsandboxed_run_keeps_its_output_and_kills_its_children() {
    use slipway_sandbox::{Sandbox, SpecBuilder};
    let clone = Clone::new();
    let marker = format!("slipway-orphan-{}", std::process::id());
    let script = format!("echo hi; bash -c 'exec -a {marker} sleep 30' & echo bye");
    let argv = vec!["sh".into(), "-c".into(), script];
    let spec = SpecBuilder::new(argv, clone.path(), crate::support::user())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let out = Sandbox::unsandboxed().run(&spec).await.unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(text(&out.stdout), "hi\nbye\n");
    assert!(!out.sandboxed);
    assert_eq!(out.landlock, "off");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let alive = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
        });
    assert!(!alive, "a background child outlived the run");
}
