//! `slipway up` end to end over real HTTP on loopback: the token, the human
//! gates through the JSON API (approve, release, rollback) moving real git
//! branches, stale views refused, and the refusals of a risky address.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::cli::{command_in, slipway_in};

/// A running `slipway up`, stopped when dropped (a failed assertion too).
pub(crate) struct Up {
    child: Child,
    /// Its standard output: a file, as a closed pipe could stop it later.
    _log: tempfile::NamedTempFile,
    pub(crate) addr: String,
    pub(crate) token: String,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Up {
    /// Starts `slipway up --listen 127.0.0.1:0 ARGS` in `dir` and waits (a
    /// minute at most) for the lines that give its address and token.
    pub(crate) fn start(dir: &Path, args: &[&str]) -> Self {
        let mut all = vec!["up", "--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = command_in(dir, &all, &[])
            .stdout(log.reopen().unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start slipway up");
        let deadline = Instant::now() + Duration::from_mins(1);
        loop {
            let text = std::fs::read_to_string(log.path()).unwrap_or_default();
            let addr = text.lines().find_map(|l| {
                l.strip_prefix("Slipway is up at http://")
                    .and_then(|rest| rest.strip_suffix('/'))
            });
            let token = text
                .lines()
                .find_map(|l| l.strip_prefix("log in with the token "))
                .and_then(|rest| rest.split_whitespace().next());
            if let (Some(addr), Some(token)) = (addr, token) {
                return Self {
                    addr: addr.to_owned(),
                    token: token.to_owned(),
                    child,
                    _log: log,
                };
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("`slipway up` exited ({status}) before it was up; it printed:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "`slipway up` did not say where it listens within a minute; it printed:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The address to open in a browser.
    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Sends one request with the bearer token; returns the status and body.
    pub(crate) fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        http(&self.addr, method, path, Some(&self.token), body)
    }
}

/// One HTTP/1.1 request on a fresh connection.
pub(crate) fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    // An approval runs the project's tests before it answers.
    stream
        .set_read_timeout(Some(Duration::from_mins(3)))
        .unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(token) = token {
        let _ = write!(request, "Authorization: Bearer {token}\r\n");
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    let _ = write!(request, "Content-Length: {}\r\n\r\n{body}", body.len());
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn rev(dir: &Path, name: &str) -> String {
    let out = std::process::Command::new("git")
        .args(["rev-parse", name])
        .current_dir(dir)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Returns the demo's project, which ends with task 3 `ready`.
pub(crate) fn demo_project(tmp: &Path) -> PathBuf {
    let dir = tmp.join("tally");
    slipway_in(tmp, &["demo", "--dir", dir.to_str().unwrap()], &[]).ok();
    dir
}

#[test]
fn the_gates_move_real_branches_through_the_api() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_project(tmp.path());
    let up = Up::start(&dir, &["--no-run"]);
    let token = std::fs::read_to_string(dir.join(".slipway/token")).unwrap();
    assert_eq!(token.trim(), up.token);

    let (status, body) = http(&up.addr, "GET", "/api/v1/tasks/3", None, None);
    assert_eq!(status, 401, "{body}");
    let (status, body) = up.call("GET", "/api/v1/tasks/3", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["task"]["state"], "ready");

    // A view of another reviewed commit moves nothing.
    let staging = rev(&dir, "staging");
    let (status, body) = up.call(
        "POST",
        "/api/v1/tasks/3/approve",
        Some(r#"{"sha": "0000000000000000000000000000000000000000"}"#),
    );
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("look again"), "{body}");
    assert_eq!(rev(&dir, "staging"), staging);

    let (status, body) = up.call("POST", "/api/v1/tasks/3/approve", None);
    assert_eq!(status, 200, "{body}");
    let outcome = json(&body);
    assert_eq!(outcome["outcome"], "staged", "{body}");
    let moved = rev(&dir, "staging");
    assert_ne!(moved, staging);
    assert_eq!(outcome["staging"], moved.as_str());
    let (_, body) = up.call("GET", "/api/v1/tasks/3/events", None);
    let events = json(&body);
    let last = events.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["to"], "staged");
    assert!(last["actor"].as_str().unwrap().ends_with("@web"), "{last}");

    // Release: refused for a stale view of staging, then done.
    let (status, body) = up.call(
        "POST",
        "/api/v1/releases",
        Some(&format!(r#"{{"note": "docs", "staging": "{staging}"}}"#)),
    );
    assert_eq!(status, 409, "{body}");
    let (status, body) = up.call(
        "POST",
        "/api/v1/releases",
        Some(&format!(r#"{{"note": "docs", "staging": "{moved}"}}"#)),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["tag"], "release-3");
    assert_eq!(rev(&dir, "production"), moved);

    // Rollback names its target.
    let (status, body) = up.call("POST", "/api/v1/rollbacks", Some(r#"{"note": "x"}"#));
    assert_eq!(status, 400, "{body}");
    let (status, body) = up.call("POST", "/api/v1/rollbacks", Some(r#"{"to": 9}"#));
    assert_eq!(status, 409, "{body}");
    let (status, body) = up.call("POST", "/api/v1/rollbacks", Some(r#"{"to": 2}"#));
    assert_eq!(status, 200, "{body}");
    assert_eq!(rev(&dir, "production"), rev(&dir, "release-2^{commit}"));
    let (_, body) = up.call("GET", "/api/v1/releases", None);
    let kinds: Vec<String> = json(&body)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["kind"].as_str().unwrap(),
                r["tag"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(kinds[..2], ["rollback release-2", "release release-3"]);
}

#[test]
fn up_runs_the_scheduler_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_project(tmp.path());
    let up = Up::start(&dir, &[]);
    // The scheduler finds nothing to do (task 3 waits for a person) and keeps running.
    let mut page = String::new();
    let deadline = Instant::now() + Duration::from_mins(1);
    while Instant::now() < deadline {
        let (status, body) = up.call("GET", "/", None);
        assert_eq!(status, 200, "{body}");
        page = body;
        if page.contains("scheduler: running") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(page.contains("scheduler: running"), "{page}");
    // A second scheduler is refused while this one holds the project.
    let second = slipway_in(&dir, &["run", "--until-idle"], &[]);
    assert_ne!(second.code, 0, "{second:#?}");
    assert!(second.stderr.contains("another scheduler"), "{second:#?}");
}

#[test]
fn risky_addresses_and_missing_tokens_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_project(tmp.path());
    let run = slipway_in(&dir, &["up", "--listen", "0.0.0.0:0", "--no-run"], &[]).fails(2);
    assert!(run.stderr.contains("--allow-remote"), "{run:#?}");
    std::fs::remove_file(dir.join(".slipway/token")).unwrap();
    let run = slipway_in(
        &dir,
        &["up", "--listen", "0.0.0.0:0", "--no-run", "--allow-remote"],
        &[],
    )
    .fails(2);
    assert!(run.stderr.contains("slipway init"), "{run:#?}");
    // On loopback a missing token is made, private.
    let up = Up::start(&dir, &["--no-run"]);
    let meta = std::fs::metadata(dir.join(".slipway/token")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    let (status, _) = up.call("GET", "/api/v1/releases", None);
    assert_eq!(status, 200);
    let (status, _) = http(&up.addr, "GET", "/api/v1/releases", Some("wrong"), None);
    assert_eq!(status, 401);
}
