//! The pipeline end to end: `slipway run`, `approve`, `reject`, `release`,
//! `rollback` and `task retry` against the fake model server, real git, the
//! real sandbox (these tests run as root) and both stores.

use std::fs;

use slipway_test_support::{FakeModel, FakeToolCall, TempRepo, Turn};

use super::cli::{Run, initialized, set_config, set_lanes, slipway_in};
use super::model::Env;
use super::store::{Backend, backends};

/// The project's test runner: every `*/test_*.sh` is a test; it prints the
/// plain `N passed, N failed` line the gate reads.
const RUNNER: &str = "pass=0; fail=0
for t in */test_*.sh; do
  if sh \"$t\"; then pass=$((pass+1)); else fail=$((fail+1)); echo \"FAIL $t\"; fi
done
echo \"$pass passed, $fail failed\"
[ \"$fail\" -eq 0 ]
";

const LANES: &str = "[lanes.a]\nowns = [\"a/\", \"test.sh\"]\n\n[lanes.b]\nowns = [\"b/\"]\n\n\
                     [lanes.c]\nowns = [\"c/\"]\n\n[lanes.d]\nowns = [\"d/\"]\n";

/// A project with four lanes, one test each, a seam, and the fake model for every role.
fn project(backend: &Backend) -> TempRepo {
    let mut files: Vec<(String, String)> = vec![
        ("test.sh".into(), RUNNER.into()),
        ("schema.sql".into(), "CREATE TABLE t (x INT);\n".into()),
    ];
    for lane in ["a", "b", "c", "d"] {
        files.push((format!("{lane}/value.txt"), "1\n".into()));
        files.push((format!("{lane}/notes.txt"), format!("notes of {lane}\n")));
        files.push((
            format!("{lane}/test_value.sh"),
            format!("grep -qx '[0-9]' {lane}/value.txt\n"),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let repo = initialized(&refs);
    set_lanes(&repo, LANES);
    set_config(
        &repo,
        Some("sh test.sh"),
        &[
            ("paths = []", "paths = [\"schema.sql\"]"),
            ("# review_passes = 3", "review_passes = 2"),
            ("# debug_tries = 3", "debug_tries = 2"),
        ],
    );
    repo.git(&["add", "-A"]);
    repo.commit("four lanes");
    if backend.is_postgres() {
        slipway_in(repo.path(), &["init"], &backend.env()).ok();
    }
    repo
}

fn text(t: &str) -> Turn {
    Turn::text(t)
}

fn write(id: &str, path: &str, content: &str) -> Turn {
    Turn::tool_calls(vec![FakeToolCall::new(
        id,
        "write_file",
        &serde_json::json!({"path": path, "content": content}).to_string(),
    )])
}

const CLEAN: &str = r#"{"findings": []}"#;
const HIGH: &str = r#"{"findings": [{"severity": "high", "title": "No test for the new value", "location": "a/value.txt"}]}"#;

fn key(task: u32, stage: &str) -> String {
    format!("task #{task} · {stage}")
}

/// Scripts a task that goes straight through: plan, clean review, a coder
/// writing `content` to `path`, tests, a clean code review.
fn straight(fake: &FakeModel, task: u32, path: &str, content: &str) {
    fake.route(
        &key(task, "planning"),
        [text(
            "Change the value.\n\n## Test matrix\n- the value is one digit\n\n## Seams\n- none",
        )],
    );
    fake.route(&key(task, "plan_review"), [text(CLEAN)]);
    fake.route(
        &key(task, "coding"),
        [write("w", path, content), text("Done.")],
    );
    fake.route(&key(task, "code_review"), [text(CLEAN)]);
}

fn add_task(env: &Env, repo: &TempRepo, title: &str, lane: &str) {
    env.run(repo, &["task", "add", title, "--lane", lane]).ok();
}

fn show(env: &Env, repo: &TempRepo, id: u32) -> serde_json::Value {
    env.json(repo, &["task", "show", &id.to_string()])
}

fn state(env: &Env, repo: &TempRepo, id: u32) -> String {
    show(env, repo, id)["task"]["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn stages(env: &Env, repo: &TempRepo, id: u32) -> Vec<(String, bool)> {
    show(env, repo, id)["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap().to_owned(),
                s["passed"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn rev(repo: &TempRepo, name: &str) -> String {
    repo.git(&["rev-parse", name]).trim().to_owned()
}

fn file_at(repo: &TempRepo, rev: &str, path: &str) -> String {
    repo.git(&["show", &format!("{rev}:{path}")])
}

/// A project (on SQLite) whose task 1 in lane `a` set `a/value.txt` to
/// `value` and is `ready`; the fake model and the environment come with it.
fn ready_task(value: &str) -> (TempRepo, FakeModel, Env) {
    let backend = Backend::Sqlite;
    let repo = project(&backend);
    let fake = FakeModel::start([]);
    let env = Env::new(&fake, &backend);
    add_task(&env, &repo, &format!("Set a to {value}"), "a");
    straight(&fake, 1, "a/value.txt", &format!("{value}\n"));
    run(&env, &repo, "1").ok();
    assert_eq!(state(&env, &repo, 1), "ready");
    (repo, fake, env)
}

/// Commits `content` at `path` on staging, as another approved task would have.
fn commit_on_staging(repo: &TempRepo, path: &str, content: &str) {
    repo.git(&["checkout", "-q", "-f", "staging"]);
    repo.write(path, content);
    repo.git(&["add", "-A"]);
    repo.commit("meanwhile on staging");
    repo.git(&["checkout", "-q", "-f", "main"]);
}

fn run(env: &Env, repo: &TempRepo, agents: &str) -> Run {
    env.run(repo, &["run", "--agents", agents, "--until-idle"])
}

#[test]
fn a_task_goes_from_plan_to_release_and_production_rolls_back() {
    for backend in backends() {
        let repo = project(&backend);
        let fake = FakeModel::start([]);
        let env = Env::new(&fake, &backend);
        add_task(&env, &repo, "Set a's value to 2", "a");
        fake.route(
            &key(1, "planning"),
            [
                text("v1\n## Seams\n- none"),
                text("v2 with a test\n## Test matrix\n- 2\n## Seams\n- none"),
            ],
        );
        fake.route(
            &key(1, "plan_review"),
            [text(HIGH), text("Here you go: not JSON"), text(CLEAN)],
        );
        fake.route(
            &key(1, "coding"),
            [write("c1", "a/value.txt", "22\n"), text("Set it.")],
        );
        fake.route(
            &key(1, "debugging"),
            [write("d1", "a/value.txt", "2\n"), text("One digit now.")],
        );
        fake.route(&key(1, "code_review"), [text(CLEAN)]);
        let staging_before = rev(&repo, "staging");

        let ran = run(&env, &repo, "2").ok();
        assert!(
            ran.stderr.contains("task 1: ready: `slipway approve 1`"),
            "{}: {ran:#?}",
            backend.name()
        );
        let got = stages(&env, &repo, 1);
        let names: Vec<&str> = got.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "workspace",
                "planning",
                "plan_review",
                "planning",
                "plan_review",
                "coding",
                "base_tests",
                "testing",
                "debugging",
                "testing",
                "code_review"
            ],
            "{got:?}"
        );
        assert!(!got[2].1, "the first plan review blocked");
        assert!(!got[7].1, "the first test run was red");
        assert!(got[9].1 && got[10].1);
        let shown = show(&env, &repo, 1);
        assert_eq!(shown["stages"][2]["findings"][0]["severity"], "high");
        assert_eq!(shown["stages"][9]["tests"]["passed"], 4);
        assert_eq!(fake.remaining(), 0, "every scripted turn was used");
        // The malformed review answer was retried with the parse error.
        let retried = fake
            .requests()
            .iter()
            .any(|r| r.body.to_string().contains("could not be read"));
        assert!(retried);
        assert_eq!(
            rev(&repo, "staging"),
            staging_before,
            "run never moves staging"
        );

        env.run(&repo, &["approve", "1"]).ok();
        assert_eq!(state(&env, &repo, 1), "staged");
        assert_eq!(file_at(&repo, "staging", "a/value.txt"), "2");
        assert_ne!(rev(&repo, "staging"), rev(&repo, "production"));

        env.run(&repo, &["release", "--note", "two"]).ok();
        assert_eq!(state(&env, &repo, 1), "released");
        assert_eq!(rev(&repo, "production"), rev(&repo, "staging"));
        assert_eq!(rev(&repo, "release-1"), rev(&repo, "production"));
        assert!(
            !repo.join(".slipway/work/1").exists(),
            "a released task's workspace is removed"
        );

        second_release_then_rollback(&env, &repo, &fake);
    }
}

/// A second release, then back to the first, then forward again.
fn second_release_then_rollback(env: &Env, repo: &TempRepo, fake: &FakeModel) {
    // A second release, then back to the first.
    add_task(env, repo, "Set b's value to 3", "b");
    straight(fake, 2, "b/value.txt", "3\n");
    run(env, repo, "2").ok();
    env.run(repo, &["approve", "2"]).ok();
    env.run(repo, &["release"]).ok();
    let release_1 = rev(repo, "release-1");
    env.run(repo, &["rollback"]).ok();
    assert_eq!(rev(repo, "production"), release_1);
    assert_eq!(
        file_at(repo, "staging", "b/value.txt"),
        "3",
        "staging keeps both"
    );
    let releases = env.json(repo, &["releases"]);
    assert_eq!(releases[0]["kind"], "rollback");
    assert_eq!(releases[0]["number"], 1);
    assert_eq!(releases[1]["tag"], "release-2");
    assert_eq!(releases[1]["tasks"], serde_json::json!([2]));
    // Releasing after a rollback records a new release; it is no replay of release-2.
    env.run(repo, &["release", "--note", "forward again"]).ok();
    let releases = env.json(repo, &["releases"]);
    assert_eq!(releases[0]["tag"], "release-3", "{releases:#}");
    assert_eq!(rev(repo, "production"), rev(repo, "staging"));
}

#[test]
fn four_lanes_code_at_the_same_time_without_touching_each_other() {
    let backend = Backend::Sqlite;
    let repo = project(&backend);
    let fake = FakeModel::start([]);
    let env = Env::new(&fake, &backend);
    for (n, lane) in (1..=4).zip(["a", "b", "c", "d"]) {
        add_task(&env, &repo, &format!("Bump {lane}"), lane);
        fake.route(&key(n, "planning"), [text("Bump it.\n## Seams\n- none")]);
        fake.route(&key(n, "plan_review"), [text(CLEAN)]);
        // Each coder's first reply waits, so that all four are coding at once.
        fake.route(
            &key(n, "coding"),
            [
                write("w", &format!("{lane}/value.txt"), &format!("{}\n", n + 4))
                    .delayed(std::time::Duration::from_millis(1500)),
                text("Done."),
            ],
        );
        fake.route(&key(n, "code_review"), [text(CLEAN)]);
    }
    let ran = run(&env, &repo, "4").ok();
    let mut spans = Vec::new();
    for n in 1..=4u32 {
        assert_eq!(state(&env, &repo, n), "ready", "{ran:#?}");
        let events = show(&env, &repo, n)["events"].as_array().unwrap().clone();
        let at = |to: &str| -> String {
            events.iter().find(|e| e["to"] == to).unwrap()["at"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        spans.push((at("coding"), at("testing")));
        let lane = ["a", "b", "c", "d"][n as usize - 1];
        let changed = repo.git(&["diff", "--name-only", "staging", &format!("slipway/{n}")]);
        let asked: Vec<String> = fake
            .requests()
            .iter()
            .map(|r| r.body.to_string())
            .filter(|b| b.contains(&key(n, "coding")))
            .collect();
        assert_eq!(
            changed.trim(),
            format!("{lane}/value.txt"),
            "task {n} wrote only its lane: {asked:#?}"
        );
    }
    let latest_start = spans.iter().map(|(s, _)| s.clone()).max().unwrap();
    let earliest_end = spans.iter().map(|(_, e)| e.clone()).min().unwrap();
    assert!(
        latest_start < earliest_end,
        "the coding stages overlap: {spans:?}"
    );
}

#[test]
fn a_change_outside_the_lane_by_rename_is_stopped_by_the_ownership_gate() {
    let backend = Backend::Sqlite;
    let repo = project(&backend);
    let fake = FakeModel::start([]);
    let env = Env::new(&fake, &backend);
    add_task(&env, &repo, "Tidy a", "a");
    fake.route(&key(1, "planning"), [text("Tidy.\n## Seams\n- none")]);
    fake.route(&key(1, "plan_review"), [text(CLEAN)]);
    // The file tools refuse b/, so the coder renames through the sandbox.
    let mv = Turn::tool_calls(vec![FakeToolCall::new(
        "m",
        "run_command",
        r#"{"command": "mv b/notes.txt a/notes_from_b.txt"}"#,
    )]);
    fake.route(
        &key(1, "coding"),
        [mv.clone(), text("Moved."), mv, text("Moved again.")],
    );
    let ran = run(&env, &repo, "1").fails(1);
    assert_eq!(state(&env, &repo, 1), "needs_human", "{ran:#?}");
    let shown = show(&env, &repo, 1);
    let gate = shown["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "ownership")
        .unwrap()
        .clone();
    assert_eq!(gate["passed"], false);
    let locations: Vec<&str> = gate["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"].as_str().unwrap())
        .collect();
    assert!(
        locations.contains(&"b/notes.txt"),
        "the delete half of the rename: {gate:#}"
    );
    assert!(
        !fake
            .requests()
            .iter()
            .any(|r| r.body.to_string().contains(&key(1, "code_review"))),
        "no reviewer saw it"
    );
}

#[test]
fn a_seam_change_waits_for_the_lease() {
    let backend = Backend::Sqlite;
    let repo = project(&backend);
    let fake = FakeModel::start([]);
    let env = Env::new(&fake, &backend);
    add_task(&env, &repo, "Schema for a", "a");
    add_task(&env, &repo, "Schema for b", "b");
    for (n, lane) in [(1, "a"), (2, "b")] {
        fake.route(
            &key(n, "planning"),
            [text("Add a column.\n## Seams\n- schema.sql")],
        );
        fake.route(&key(n, "plan_review"), [text(CLEAN)]);
        fake.route(
            &key(n, "coding"),
            [
                write(
                    "s",
                    "schema.sql",
                    &format!("CREATE TABLE t (x INT, {lane} INT);\n"),
                ),
                text("Done."),
            ],
        );
        fake.route(&key(n, "code_review"), [text(CLEAN)]);
    }
    let ran = run(&env, &repo, "2").ok();
    let ready: Vec<u32> = (1..=2)
        .filter(|n| state(&env, &repo, *n) == "ready")
        .collect();
    assert_eq!(ready.len(), 1, "one task holds the seam: {ran:#?}");
    let waiting = 3 - ready[0];
    assert_eq!(state(&env, &repo, waiting), "coding");
    assert!(
        ran.stderr.contains(&format!(
            "task {waiting}: waiting for seam `schema.sql`, which task {} holds",
            ready[0]
        )),
        "{ran:#?}"
    );
    // Approving gives the lease back; the other task goes on.
    env.run(&repo, &["approve", &ready[0].to_string()]).ok();
    let ran = run(&env, &repo, "2").ok();
    assert_eq!(state(&env, &repo, waiting), "ready", "{ran:#?}");
}

#[test]
fn an_approval_whose_merge_breaks_the_tests_leaves_staging_alone() {
    let (repo, _fake, env) = ready_task("5");
    // Meanwhile staging gets a test that the task's value fails.
    let before = rev(&repo, "staging");
    commit_on_staging(
        &repo,
        "b/test_a_is_small.sh",
        "grep -qx '[0-4]' a/value.txt\n",
    );
    let moved = rev(&repo, "staging");
    assert_ne!(before, moved);

    let approve = env.run(&repo, &["approve", "1"]).fails(1);
    assert!(
        approve.stdout.contains("went back to coding"),
        "{approve:#?}"
    );
    assert_eq!(rev(&repo, "staging"), moved, "staging stayed where it was");
    assert_eq!(state(&env, &repo, 1), "coding");
}

#[test]
fn approve_merges_the_reviewed_commit_not_where_the_branch_moved_since() {
    let (repo, _fake, env) = ready_task("6");
    let reviewed = rev(&repo, "slipway/1");
    // The task's branch moves after the review (as a clone's branch could).
    repo.git(&["checkout", "-q", "-f", "slipway/1"]);
    repo.write("a/value.txt", "7\n");
    repo.git(&["commit", "-qam", "after review"]);
    repo.git(&["checkout", "-q", "main"]);
    assert_ne!(rev(&repo, "slipway/1"), reviewed);

    env.run(&repo, &["approve", "1"]).ok();
    assert_eq!(file_at(&repo, "staging", "a/value.txt"), "6");
    let merged = repo.git(&["rev-parse", "staging^2"]);
    assert_eq!(merged.trim(), reviewed);
}

#[test]
fn a_coder_cannot_move_staging_or_production() {
    let backend = Backend::Sqlite;
    let repo = project(&backend);
    let fake = FakeModel::start([]);
    let env = Env::new(&fake, &backend);
    add_task(&env, &repo, "Try to promote", "a");
    let main_repo = repo.path().display().to_string();
    fake.route(&key(1, "planning"), [text("Plan.\n## Seams\n- none")]);
    fake.route(&key(1, "plan_review"), [text(CLEAN)]);
    let attempts = [
        "git branch -f staging HEAD; git branch -f production HEAD".to_owned(),
        format!("git push {main_repo} HEAD:staging HEAD:production"),
        format!("git --git-dir={main_repo}/.git update-ref refs/heads/staging HEAD"),
        format!("ls {main_repo}/.git"),
    ];
    let mut turns: Vec<Turn> = attempts
        .iter()
        .enumerate()
        .map(|(i, cmd)| {
            Turn::tool_calls(vec![FakeToolCall::new(
                &format!("r{i}"),
                "run_command",
                &serde_json::json!({"command": cmd}).to_string(),
            )])
        })
        .collect();
    turns.push(write("w", "a/value.txt", "8\n"));
    turns.push(text("Tried."));
    fake.route(&key(1, "coding"), turns);
    fake.route(&key(1, "code_review"), [text(CLEAN)]);
    let staging = rev(&repo, "staging");
    let production = rev(&repo, "production");
    run(&env, &repo, "1").ok();
    assert_eq!(rev(&repo, "staging"), staging);
    assert_eq!(rev(&repo, "production"), production);
    assert_eq!(state(&env, &repo, 1), "ready");
    // What the sandbox answered went back to the model: the main repository is not there.
    let results = fake
        .requests()
        .iter()
        .map(|r| r.body.to_string())
        .collect::<String>();
    assert!(
        results.contains("No such file or directory")
            || results.contains("does not appear to be a git repository"),
        "{results}"
    );
}

#[test]
fn plan_proposes_tasks_from_a_spec_and_creates_them_when_confirmed() {
    for backend in backends() {
        let repo = project(&backend);
        fs::write(
            repo.join("SPEC.md"),
            "# Values\n\nA and b go up; b after a.\n",
        )
        .unwrap();
        let proposal = r#"{"tasks": [
            {"title": "Raise a", "lane": "a", "body": "to 3", "seams": ["schema.sql"]},
            {"title": "Raise b", "lane": "b", "depends_on": [1]}
        ]}"#;
        let fake = FakeModel::start([text("These are the tasks: a, then b."), text(proposal)]);
        let env = Env::new(&fake, &backend);
        // Without a terminal and without --yes, nothing is created.
        let refused = env.run(&repo, &["plan", "SPEC.md"]).fails(2);
        assert!(
            refused.stderr.contains("run again with --yes"),
            "{refused:#?}"
        );
        assert!(
            refused.stdout.contains("#2 [b] Raise b (after #1)"),
            "{refused:#?}"
        );
        assert_eq!(
            env.json(&repo, &["task", "list"]).as_array().unwrap().len(),
            0
        );
        // The prose answer was sent back once with the reason.
        let retried = fake.requests()[1].body.to_string();
        assert!(retried.contains("could not be used"), "{retried}");

        fake.push([text(proposal)]);
        let made = env.run(&repo, &["plan", "SPEC.md", "--yes"]).ok();
        assert!(
            made.stdout.contains("created task 2 in lane `b`: Raise b"),
            "{made:#?}"
        );
        let second = show(&env, &repo, 2);
        assert_eq!(second["task"]["depends_on"], serde_json::json!([1]));
        assert_eq!(
            show(&env, &repo, 1)["seams"],
            serde_json::json!(["schema.sql"])
        );
        let asked = fake.requests()[0].body.to_string();
        assert!(
            asked.contains("A and b go up"),
            "the spec went to the planner"
        );
    }
}

/// Scripts a straight task with every turn twice, so that a stage that
/// crashed after its agent answered can run again.
fn straight_twice(fake: &FakeModel, task: u32, path: &str, content: &str) {
    straight(fake, task, path, content);
    straight(fake, task, path, content);
}

#[test]
fn a_crash_at_any_stage_resumes_and_merges_exactly_once() {
    let points = [
        "before:workspace",
        "after:workspace",
        "before:planning",
        "after:planning",
        "before:plan_review",
        "after:plan_review",
        "before:coding",
        "after:coding",
        "before:testing",
        "after:testing",
        "before:code_review",
        "after:code_review",
        "approve:moved",
        "before:approve",
        "after:approve",
    ];
    let backend = Backend::Sqlite;
    for point in points {
        let repo = project(&backend);
        let fake = FakeModel::start([]);
        let env = Env::new(&fake, &backend);
        add_task(&env, &repo, "Set a to 9", "a");
        straight_twice(&fake, 1, "a/value.txt", "9\n");
        let staging = rev(&repo, "staging");
        let crashing = Env::new(&fake, &backend).with("SLIPWAY_FAULT", point);
        let promote = point.contains("approve");
        let first = crashing.run(&repo, &["run", "--until-idle"]);
        if promote {
            first.ok();
            let crashed = crashing.run(&repo, &["approve", "1"]);
            assert!(
                crashed
                    .stderr
                    .contains(&format!("SLIPWAY_FAULT: stopping at {point}")),
                "{point}: {crashed:#?}"
            );
            assert_ne!(crashed.code, 0);
            let again = env.run(&repo, &["approve", "1"]);
            if point == "after:approve" {
                // The approval was recorded before the crash: nothing is merged again.
                assert!(again.fails(2).stderr.contains("task 1 is `staged`"));
            } else {
                again.ok();
            }
        } else {
            assert!(
                first
                    .stderr
                    .contains(&format!("SLIPWAY_FAULT: stopping at {point}")),
                "{point}: {first:#?}"
            );
            assert_ne!(first.code, 0, "{point}");
            // The next scheduler takes over the dead one's lease at once.
            let resumed = env.run(&repo, &["run", "--until-idle"]).ok();
            assert!(
                resumed.stderr.contains("taking over"),
                "{point}: {resumed:#?}"
            );
            assert_eq!(state(&env, &repo, 1), "ready", "{point}: {resumed:#?}");
            env.run(&repo, &["approve", "1"]).ok();
        }
        assert_eq!(state(&env, &repo, 1), "staged", "{point}");
        let merges = repo.git(&[
            "rev-list",
            "--count",
            "--merges",
            &format!("{staging}..staging"),
        ]);
        assert_eq!(merges.trim(), "1", "{point}: exactly one merge");
        assert_eq!(rev(&repo, "staging^1"), staging, "{point}");
        assert_eq!(file_at(&repo, "staging", "a/value.txt"), "9", "{point}");
        let results = show(&env, &repo, 1)["stages"].as_array().unwrap().clone();
        let approvals = results.iter().filter(|r| r["stage"] == "approve").count();
        assert_eq!(approvals, 1, "{point}: one approve result");
    }
}

#[test]
fn a_workspace_gets_its_setup_and_copies_and_a_failed_setup_is_reported() {
    let backend = Backend::Sqlite;
    let repo = project(&backend);
    repo.write(".gitignore", ".setup-done\n.env.test\n");
    repo.git(&["add", "-A"]);
    repo.commit("ignore local files");
    // Staging has the ignore rules too (as if approved before).
    repo.git(&["branch", "-f", "staging", "main"]);
    repo.write(".env.test", "TOKEN=local-only\n");
    set_config(
        &repo,
        None,
        &[(
            "# [workspace]",
            "[workspace]\nsetup = \"id -un > .setup-done\"\ncopy = [\".env.test\"]\n#",
        )],
    );
    let fake = FakeModel::start([]);
    let env = Env::new(&fake, &backend);
    add_task(&env, &repo, "Use the setup", "a");
    fake.route(&key(1, "planning"), [text("Plan.\n## Seams\n- none")]);
    fake.route(&key(1, "plan_review"), [text(CLEAN)]);
    let look = Turn::tool_calls(vec![FakeToolCall::new(
        "l",
        "run_command",
        r#"{"command": "cat .setup-done .env.test"}"#,
    )]);
    fake.route(
        &key(1, "coding"),
        [look, write("w", "a/value.txt", "4\n"), text("Done.")],
    );
    fake.route(&key(1, "code_review"), [text(CLEAN)]);
    let ran = run(&env, &repo, "1").ok();
    assert_eq!(state(&env, &repo, 1), "ready", "{ran:#?}");
    let bodies: String = fake.requests().iter().map(|r| r.body.to_string()).collect();
    assert!(
        bodies.contains("nobody\\nTOKEN=local-only"),
        "setup ran in the sandbox and the copy arrived"
    );
    let changed = repo.git(&["diff", "--name-only", "staging", "slipway/1"]);
    assert_eq!(
        changed.trim(),
        "a/value.txt",
        "neither the copy nor the setup's output was committed"
    );

    // A setup that fails leaves the task queued, with the reason.
    set_config(
        &repo,
        None,
        &[("id -un > .setup-done", "echo no network >&2; exit 3")],
    );
    add_task(&env, &repo, "Cannot start", "b");
    let failed = run(&env, &repo, "1").fails(1);
    assert!(
        failed
            .stderr
            .contains("task 2: could not start: [workspace] setup"),
        "{failed:#?}"
    );
    assert!(failed.stderr.contains("no network"), "{failed:#?}");
    assert_eq!(state(&env, &repo, 2), "queued");
}

#[test]
fn staging_checked_out_in_a_work_tree_is_not_moved_under_it() {
    let (repo, _fake, env) = ready_task("3");
    let staging = rev(&repo, "staging");
    // A second work tree of the main repository, on staging.
    let other = tempfile::tempdir().unwrap();
    let tree = other.path().join("staging-tree");
    repo.git(&["worktree", "add", "-q", tree.to_str().unwrap(), "staging"]);
    let refused = env.run(&repo, &["approve", "1"]).fails(2);
    assert!(
        refused.stderr.contains("`staging` is checked out"),
        "{refused:#?}"
    );
    assert_eq!(rev(&repo, "staging"), staging);
    assert_eq!(state(&env, &repo, 1), "ready");
    repo.git(&["worktree", "remove", "--force", tree.to_str().unwrap()]);
    env.run(&repo, &["approve", "1"]).ok();
}

#[test]
fn a_merge_conflict_goes_back_to_the_coder_with_staging_merged_in() {
    let (repo, fake, env) = ready_task("5");
    // Meanwhile staging changes the same line.
    commit_on_staging(&repo, "a/value.txt", "7\n");
    let moved = rev(&repo, "staging");

    let bounced = env.run(&repo, &["approve", "1"]).fails(1);
    assert!(
        bounced.stdout.contains("conflicts in a/value.txt"),
        "{bounced:#?}"
    );
    assert_eq!(rev(&repo, "staging"), moved);
    // The coder finds the conflict in its clone and resolves it.
    fake.route(
        &key(1, "coding"),
        [write("r", "a/value.txt", "6\n"), text("Kept both: 6.")],
    );
    fake.route(&key(1, "code_review"), [text(CLEAN)]);
    let ran = run(&env, &repo, "1").ok();
    assert_eq!(state(&env, &repo, 1), "ready", "{ran:#?}");
    let asked: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.body.to_string())
        .filter(|b| b.contains(&key(1, "coding")))
        .collect();
    let last = asked.last().unwrap();
    assert!(
        last.contains("UU a/value.txt"),
        "the coder saw the conflict: {last}"
    );
    env.run(&repo, &["approve", "1"]).ok();
    assert_eq!(file_at(&repo, "staging", "a/value.txt"), "6");
    assert_eq!(
        rev(&repo, "staging^1"),
        moved,
        "merged onto the moved staging"
    );
}

#[test]
fn conflict_markers_left_in_place_are_never_committed() {
    let (repo, fake, env) = ready_task("5");
    commit_on_staging(&repo, "a/value.txt", "7\n");
    env.run(&repo, &["approve", "1"]).fails(1);
    let reviewed = rev(&repo, "slipway/1");
    // The coder answers without touching the conflicted file.
    fake.route(&key(1, "coding"), [text("Nothing to do.")]);
    let ran = run(&env, &repo, "1").fails(1);
    assert!(
        ran.stderr
            .contains("unresolved merge conflicts in: a/value.txt"),
        "{ran:#?}"
    );
    assert_eq!(state(&env, &repo, 1), "failed");
    assert_eq!(
        rev(&repo, "slipway/1"),
        reviewed,
        "nothing with markers was fetched back"
    );
}

#[test]
fn reject_sends_the_task_back_with_the_reason_and_retry_never_skips_a_gate() {
    let (repo, fake, env) = ready_task("3");
    env.run(&repo, &["reject", "1", "--why", "   "]).fails(2);
    env.run(&repo, &["reject", "1", "--why", "use 4, the spec says so"])
        .ok();
    assert_eq!(state(&env, &repo, 1), "coding");
    fake.route(
        &key(1, "coding"),
        [
            write("f", "a/value.txt", "4\n"),
            text("Now 4."),
            write("g", "a/value.txt", "4\n"),
            text("Still 4."),
        ],
    );
    fake.route(&key(1, "code_review"), [text(HIGH), text(HIGH)]);
    // The coder gets the reason; two blocking reviews use up the passes.
    let ran = run(&env, &repo, "1").fails(1);
    assert_eq!(state(&env, &repo, 1), "needs_human", "{ran:#?}");
    let asked: String = fake.requests().iter().map(|r| r.body.to_string()).collect();
    assert!(
        asked.contains("use 4, the spec says so"),
        "the coder saw the reason"
    );
    // Stopped in code review: a retry may not skip past it, nor start a ready task.
    let past = env
        .run(&repo, &["task", "retry", "1", "--from", "ready"])
        .fails(2);
    assert!(
        past.stderr.contains("cannot be retried from `ready`"),
        "{past:#?}"
    );
    env.run(&repo, &["task", "retry", "1", "--from", "testing"])
        .ok();
    assert_eq!(state(&env, &repo, 1), "testing");
    // The retry reset the passes: one clean review is enough now.
    fake.route(&key(1, "code_review"), [text(CLEAN)]);
    let ran = run(&env, &repo, "1").ok();
    assert_eq!(state(&env, &repo, 1), "ready", "{ran:#?}");
    env.run(&repo, &["task", "retry", "1"]).fails(2);
}
