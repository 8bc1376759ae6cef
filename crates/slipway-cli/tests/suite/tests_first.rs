//! `[gates] tests_first` end to end: the fake model writes a fix and its
//! tests, Python's unittest runs them in the sandbox, and the gate checks
//! that every new test fails on the base and passes on the head.

use slipway_test_support::{FakeModel, FakeToolCall, TempRepo, Turn};

use super::cli::{initialized, set_config, set_lanes};
use super::model::Env;
use super::store::Backend;

const CLAMP: &str = "def clamp(x):\n    return x\n";
const CLAMP_FIXED: &str = "def clamp(x):\n    return max(0, x)\n";
const OLD_TEST: &str = "import unittest\n\nfrom calc.calc import clamp\n\n\nclass ClampTest(unittest.TestCase):\n    def test_clamp_keeps_positives(self):\n        self.assertEqual(clamp(2), 2)\n";

/// The old test plus `new`, a test method body.
fn with_test(name: &str, body: &str) -> String {
    format!("{OLD_TEST}\n    def {name}(self):\n        {body}\n")
}

fn project(verbose: bool) -> TempRepo {
    let repo = initialized(&[
        ("calc/__init__.py", ""),
        ("calc/calc.py", CLAMP),
        ("calc/test_calc.py", OLD_TEST),
    ]);
    set_lanes(&repo, "[lanes.calc]\nowns = [\"calc/\"]\n");
    let command = if verbose {
        "python3 -m unittest discover -v"
    } else {
        "python3 -m unittest discover"
    };
    set_config(
        &repo,
        Some(command),
        &[
            ("# tests_first = false", "tests_first = true"),
            ("# debug_tries = 3", "debug_tries = 2"),
        ],
    );
    repo.git(&["add", "-A"]);
    repo.commit("calc with tests_first");
    repo
}

fn write(id: &str, path: &str, content: &str) -> Turn {
    Turn::tool_calls(vec![FakeToolCall::new(
        id,
        "write_file",
        &serde_json::json!({"path": path, "content": content}).to_string(),
    )])
}

fn key(stage: &str) -> String {
    format!("task #1 · {stage}")
}

const CLEAN: &str = r#"{"findings": []}"#;

/// Scripts the plan and its review, and a coder writing the fix with `test`.
fn script(fake: &FakeModel, test: &str) {
    fake.route(
        &key("planning"),
        [Turn::text(
            "Clamp negatives to zero.\n\n## Test matrix\n- a negative becomes 0\n\n## Seams\n- none",
        )],
    );
    fake.route(&key("plan_review"), [Turn::text(CLEAN)]);
    fake.route(
        &key("coding"),
        [
            write("w1", "calc/calc.py", CLAMP_FIXED),
            write("w2", "calc/test_calc.py", test),
            Turn::text("Done."),
        ],
    );
    fake.route(&key("code_review"), [Turn::text(CLEAN)]);
}

fn start(verbose: bool) -> (TempRepo, FakeModel, Env) {
    let repo = project(verbose);
    let fake = FakeModel::start([]);
    let env = Env::new(&fake, &Backend::Sqlite);
    env.run(&repo, &["task", "add", "Clamp negatives", "--lane", "calc"])
        .ok();
    (repo, fake, env)
}

fn show(env: &Env, repo: &TempRepo) -> serde_json::Value {
    env.json(repo, &["task", "show", "1"])
}

/// The summaries of the task's testing records, in order.
fn testing(env: &Env, repo: &TempRepo) -> Vec<String> {
    show(env, repo)["stages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["stage"] == "testing")
        .map(|s| s["summary"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_new_test_that_fails_on_the_base_passes_the_gate() {
    let (repo, fake, env) = start(true);
    script(
        &fake,
        &with_test("test_clamp_negative", "self.assertEqual(clamp(-1), 0)"),
    );
    env.run(&repo, &["run", "--until-idle"]).ok();
    assert_eq!(show(&env, &repo)["task"]["state"], "ready");
    let runs = testing(&env, &repo);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(
        runs[0].contains("tests_first: 1 new test(s) fail on the base and pass on the head"),
        "{runs:?}"
    );
}

#[test]
fn a_new_test_that_passes_on_the_base_goes_to_the_debugger() {
    let (repo, fake, env) = start(true);
    // The new test passes without the fix: it shows nothing.
    script(
        &fake,
        &with_test("test_clamp_zero", "self.assertEqual(clamp(0), 0)"),
    );
    fake.route(
        &key("debugging"),
        [
            write(
                "d1",
                "calc/test_calc.py",
                &with_test("test_clamp_zero", "self.assertEqual(clamp(-5), 0)"),
            ),
            Turn::text("The new test now checks a negative."),
        ],
    );
    env.run(&repo, &["run", "--until-idle"]).ok();
    let runs = testing(&env, &repo);
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(
        runs[0]
            .starts_with("red: tests_first: 1 new test(s) pass on the base, 0 did not run there"),
        "{runs:?}"
    );
    assert!(
        runs[1].contains("1 new test(s) fail on the base"),
        "{runs:?}"
    );
    assert_eq!(show(&env, &repo)["task"]["state"], "ready");
    // The debugger was told which test and why.
    let asked = fake
        .requests()
        .iter()
        .map(|r| r.body.to_string())
        .find(|b| b.contains("task #1 · debugging"))
        .expect("a debugging request");
    assert!(asked.contains("PASS on the base"), "{asked}");
    assert!(asked.contains("test_clamp_zero"), "{asked}");
}

#[test]
fn tests_not_listed_by_name_stop_for_a_person() {
    let (repo, fake, env) = start(false);
    script(
        &fake,
        &with_test("test_clamp_negative", "self.assertEqual(clamp(-1), 0)"),
    );
    env.run(&repo, &["run", "--until-idle"]).fails(1);
    assert_eq!(show(&env, &repo)["task"]["state"], "needs_human");
    let runs = testing(&env, &repo);
    assert!(
        runs.last().unwrap().contains("not listed by name"),
        "{runs:?}"
    );

    // The person makes the command list tests; the base's record without
    // names is not trusted, so the base runs again and the gate passes.
    set_config(&repo, Some("python3 -m unittest discover -v"), &[]);
    // Retried from the web API, as the Retry button does.
    {
        let up = super::up::Up::start(repo.path(), &["--no-run"]);
        let (status, body) = up.call("POST", "/api/v1/tasks/2/retry", None);
        assert_eq!(status, 404, "{body}");
        let (status, body) = up.call("POST", "/api/v1/tasks/1/retry", None);
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["state"],
            "testing",
            "{body}"
        );
        let (status, body) = up.call("POST", "/api/v1/tasks/1/retry", None);
        assert_eq!(status, 409, "{body}");
    }
    env.run(&repo, &["run", "--until-idle"]).ok();
    assert_eq!(show(&env, &repo)["task"]["state"], "ready");
    let runs = testing(&env, &repo);
    assert!(
        runs.last()
            .unwrap()
            .contains("1 new test(s) fail on the base"),
        "{runs:?}"
    );
}
