//! Task commands, run on SQLite and on PostgreSQL.

use slipway_test_support::TempRepo;

use super::cli::{Run, initialized, set_lanes, slipway_in};
use super::store::backends;

fn project() -> TempRepo {
    let repo = initialized(&[("api/a.rs", ""), ("web/b.js", "")]);
    set_lanes(
        &repo,
        "[lanes.api]\nowns = [\"api/\"]\n[lanes.web]\nowns = [\"web/\"]\n",
    );
    repo
}

fn run(repo: &TempRepo, env: &[(&str, &str)], args: &[&str]) -> Run {
    slipway_in(repo.path(), args, env)
}

#[test]
fn tasks_move_through_add_list_show_cancel_and_log() {
    for backend in backends() {
        let repo = project();
        let env = backend.env();
        if backend.is_postgres() {
            run(&repo, &env, &["init"]).ok();
        }
        add_two(&repo, &env, backend.name());
        list_and_cancel(&repo, &env);
        show_and_log(&repo, &env);
    }
}

fn add_two(repo: &TempRepo, env: &[(&str, &str)], backend: &str) {
    let body = repo.join("body.md");
    std::fs::write(&body, "Add the /health endpoint.\n").unwrap();
    let first = run(
        repo,
        env,
        &[
            "task",
            "add",
            "Health endpoint",
            "--lane",
            "api",
            "--body-file",
            body.to_str().unwrap(),
        ],
    )
    .ok();
    assert_eq!(
        first.stdout.trim(),
        "created task 1 in lane `api`: Health endpoint",
        "{backend}"
    );
    let second = run(
        repo,
        env,
        &[
            "task",
            "add",
            "Show health",
            "--lane",
            "web",
            "--depends-on",
            "1",
            "--json",
        ],
    )
    .ok()
    .json();
    assert_eq!(second["id"], 2);
    assert_eq!(second["state"], "queued");
    assert_eq!(second["depends_on"], serde_json::json!([1]));
}

fn list_and_cancel(repo: &TempRepo, env: &[(&str, &str)]) {
    let list = run(repo, env, &["task", "list"]).ok();
    let rows: Vec<Vec<&str>> = list
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["ID", "STATE", "LANE", "AFTER", "TITLE"]);
    assert_eq!(rows[1], ["1", "queued", "api", "-", "Health", "endpoint"]);
    assert_eq!(rows[2], ["2", "queued", "web", "1", "Show", "health"]);

    let cancel = run(repo, env, &["task", "cancel", "2", "--why", "not needed"]).ok();
    assert!(
        !cancel.stdout.contains("note:"),
        "nothing waits for task 2: {cancel:#?}"
    );
    let e = run(
        repo,
        env,
        &[
            "task",
            "add",
            "After 2",
            "--lane",
            "api",
            "--depends-on",
            "2",
        ],
    )
    .fails(2);
    assert!(e.stderr.contains("task 2 is cancelled"), "{e:#?}");
    assert!(cancel.stdout.contains("cancelled task 2"), "{cancel:#?}");
    let filtered = run(
        repo,
        env,
        &["task", "list", "--state", "cancelled", "--json"],
    )
    .ok()
    .json();
    assert_eq!(filtered.as_array().unwrap().len(), 1);
    assert_eq!(filtered[0]["id"], 2);
    let by_lane = run(repo, env, &["task", "list", "--lane", "api", "--json"])
        .ok()
        .json();
    assert_eq!(by_lane.as_array().unwrap().len(), 1);
}

fn show_and_log(repo: &TempRepo, env: &[(&str, &str)]) {
    let shown = run(repo, env, &["task", "show", "1"]).ok();
    assert!(
        shown.stdout.contains("Add the /health endpoint."),
        "{shown:#?}"
    );
    assert!(shown.stdout.contains("new → queued"), "{shown:#?}");
    let shown = run(repo, env, &["task", "show", "2", "--json"]).ok().json();
    assert_eq!(shown["task"]["state"], "cancelled");
    let events = shown["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["from"], "queued");
    assert_eq!(events[1]["to"], "cancelled");
    assert_eq!(events[1]["reason"], "not needed");
    assert_eq!(events[1]["actor"], "human:Slipway Test");

    let log = run(repo, env, &["log"]).ok();
    assert_eq!(log.stdout.lines().count(), 3, "{log:#?}");
    assert!(
        log.stdout
            .contains("queued → cancelled  by human:Slipway Test: not needed"),
        "{log:#?}"
    );
    let log = run(repo, env, &["log", "--task", "1", "--json"])
        .ok()
        .json();
    assert_eq!(log.as_array().unwrap().len(), 1);
}

#[test]
fn bad_task_input_gets_clear_errors() {
    for backend in backends() {
        let repo = project();
        let env = backend.env();
        if backend.is_postgres() {
            run(&repo, &env, &["init"]).ok();
        }
        let e = run(&repo, &env, &["task", "add", "X", "--lane", "apu"]).fails(2);
        assert!(
            e.stderr.contains("no lane `apu`") && e.stderr.contains("did you mean `api`?"),
            "{e:#?}"
        );
        let e = run(&repo, &env, &["task", "add", "  ", "--lane", "api"]).fails(2);
        assert!(e.stderr.contains("title is empty"), "{e:#?}");
        let e = run(
            &repo,
            &env,
            &["task", "add", "X", "--lane", "api", "--depends-on", "42"],
        )
        .fails(2);
        assert!(e.stderr.contains("no task 42"), "{e:#?}");
        let e = run(&repo, &env, &["task", "show", "7"]).fails(2);
        assert!(
            e.stderr.contains("no task 7") && e.stderr.contains("slipway task list"),
            "{e:#?}"
        );
        let e = run(&repo, &env, &["task", "show", "abc"]).fails(2);
        assert!(e.stderr.contains("not a task id"), "{e:#?}");
        let e = run(&repo, &env, &["task", "list", "--state", "done"]).fails(2);
        assert!(e.stderr.contains("unknown task state"), "{e:#?}");

        run(&repo, &env, &["task", "add", "X", "--lane", "api"]).ok();
        let e = run(&repo, &env, &["task", "cancel", "1", "--why", " "]).fails(2);
        assert!(e.stderr.contains("--why is empty"), "{e:#?}");
        run(&repo, &env, &["task", "cancel", "1", "--why", "dup"]).ok();
        let e = run(&repo, &env, &["task", "cancel", "1", "--why", "again"]).fails(2);
        assert!(e.stderr.contains("`cancelled`"), "{e:#?}");
        let events = run(&repo, &env, &["log", "--json"]).ok().json();
        assert_eq!(
            events.as_array().unwrap().len(),
            2,
            "a refused change writes no event"
        );
    }
}

#[test]
fn cancelling_a_task_others_wait_for_says_so() {
    let repo = project();
    let env = [];
    run(&repo, &env, &["task", "add", "Base", "--lane", "api"]).ok();
    run(
        &repo,
        &env,
        &[
            "task",
            "add",
            "Uses base",
            "--lane",
            "web",
            "--depends-on",
            "1",
        ],
    )
    .ok();
    let cancel = run(&repo, &env, &["task", "cancel", "1", "--why", "dropped"]).ok();
    assert!(
        cancel.stdout.contains("note: task(s) 2 wait for task 1"),
        "{cancel:#?}"
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let repo = project();
    // More than a pipe's buffer, so writing meets the closed end.
    std::fs::write(repo.join("body.md"), "x".repeat(1 << 20)).unwrap();
    run(
        &repo,
        &[],
        &[
            "task",
            "add",
            "Big",
            "--lane",
            "api",
            "--body-file",
            "body.md",
        ],
    )
    .ok();
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["task", "list", "--json"])
        .current_dir(repo.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // stdout is closed here; the rest of the output meets a broken pipe.
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
