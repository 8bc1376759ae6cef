//! `slipway status` and `slipway context sync`, and the canonical state in
//! agents' prompts and in `AGENTS.md`, on SQLite and on PostgreSQL.

use std::fs;

use slipway_test_support::{FakeModel, FakeToolCall, TempRepo, Turn};

use super::cli::{Run, initialized, set_config, set_lanes, slipway_in};
use super::model::Env;
use super::store::{Backend, backends};

const BEGIN: &str = "<!-- slipway:state:begin -->";
const END: &str = "<!-- slipway:state:end -->";

/// A project with one lane, `main`, and its store on `backend`.
fn plain(backend: &Backend) -> TempRepo {
    let repo = initialized(&[("a.txt", "")]);
    if backend.is_postgres() {
        slipway_in(repo.path(), &["init"], &backend.env()).ok();
    }
    repo
}

/// A project with lanes a, b and c, a test suite that passes, and one
/// review pass before a task needs a person.
fn lanes(backend: &Backend) -> TempRepo {
    let repo = initialized(&[
        ("a/value.txt", "1\n"),
        ("b/value.txt", "1\n"),
        ("c/value.txt", "1\n"),
        ("test.sh", "echo '1 passed, 0 failed'\n"),
    ]);
    set_lanes(
        &repo,
        "[lanes.a]\nowns = [\"a/\", \"test.sh\"]\n\n[lanes.b]\nowns = [\"b/\"]\n\n\
         [lanes.c]\nowns = [\"c/\"]\n",
    );
    set_config(
        &repo,
        Some("sh test.sh"),
        &[("# review_passes = 3", "review_passes = 1")],
    );
    repo.git(&["add", "-A"]);
    repo.commit("three lanes");
    if backend.is_postgres() {
        slipway_in(repo.path(), &["init"], &backend.env()).ok();
    }
    repo
}

fn run(repo: &TempRepo, backend: &Backend, args: &[&str]) -> Run {
    slipway_in(repo.path(), args, &backend.env())
}

fn agents_md(repo: &TempRepo) -> String {
    fs::read_to_string(repo.join("AGENTS.md")).unwrap()
}

/// Returns what lies between the State markers.
fn section(text: &str) -> &str {
    let begin = text.find(BEGIN).unwrap() + BEGIN.len();
    let end = text.find(END).unwrap();
    &text[begin..end]
}

fn rev(repo: &TempRepo, name: &str) -> String {
    repo.git(&["rev-parse", name]).trim().to_owned()
}

#[test]
fn status_on_an_empty_project() {
    for backend in backends() {
        let repo = plain(&backend);
        let name = backend.name();
        let shown = run(&repo, &backend, &["status"]).ok();
        for want in [
            "No tasks yet",
            "Nothing waits on a person.",
            "Spend: today $0.0000 (no runs); this month $0.0000 (no runs)",
            "No release yet",
            "Production is at staging (",
        ] {
            assert!(shown.stdout.contains(want), "{name}: {want}: {shown:#?}");
        }
        let json = run(&repo, &backend, &["status", "--json"]).ok().json();
        assert_eq!(json["tasks"]["total"], 0, "{name}: {json:#}");
        assert_eq!(json["tasks"]["by_state"]["queued"], 0, "{name}");
        assert_eq!(json["tasks"]["by_state"].as_object().unwrap().len(), 13);
        assert_eq!(json["tasks"]["by_lane"], serde_json::json!({}));
        assert_eq!(json["waiting"], serde_json::json!([]));
        assert_eq!(json["spend"]["today"]["runs"], 0);
        assert_eq!(json["spend"]["month"]["cost_usd"], 0.0);
        assert!(json["last_release"].is_null() && json["rolled_back_to"].is_null());
        let head = rev(&repo, "HEAD");
        assert_eq!(json["environments"]["staging"], head.as_str(), "{json:#}");
        assert_eq!(json["environments"]["production"], head.as_str());
        assert_eq!(json["environments"]["production_behind_staging"], false);

        // Git failing is said, and the rest still shows.
        repo.git(&["checkout", "-q", "--orphan", "unborn"]);
        let shown = run(&repo, &backend, &["status"]).ok();
        assert!(
            shown
                .stdout
                .contains("Git: cannot compare production with staging: ")
                && shown.stdout.contains("No tasks yet"),
            "{name}: {shown:#?}"
        );
        let json = run(&repo, &backend, &["status", "--json"]).ok().json();
        assert!(json["environments"]["error"].is_string(), "{json:#}");
        assert_eq!(json["tasks"]["total"], 0);
    }
}

fn write(path: &str, content: &str) -> Turn {
    Turn::tool_calls(vec![FakeToolCall::new(
        "w",
        "write_file",
        &serde_json::json!({"path": path, "content": content}).to_string(),
    )])
}

fn key(task: u32, stage: &str) -> String {
    format!("task #{task} · {stage}")
}

const CLEAN: &str = r#"{"findings": []}"#;
const HIGH: &str =
    r#"{"findings": [{"severity": "high", "title": "No test", "location": "b/value.txt"}]}"#;

/// Tasks 1 (lane a, goes to ready), 2 (lane b, needs a person after its
/// plan review), 3 (cancelled) and 4 (queued behind task 1), driven one at a time.
fn four_tasks(repo: &TempRepo, env: &Env, fake: &FakeModel) -> Run {
    env.run(repo, &["task", "add", "Raise a", "--lane", "a"])
        .ok();
    env.run(repo, &["task", "add", "Raise b", "--lane", "b"])
        .ok();
    env.run(repo, &["task", "add", "Dropped c", "--lane", "c"])
        .ok();
    env.run(
        repo,
        &["task", "add", "Later c", "--lane", "c", "--depends-on", "1"],
    )
    .ok();
    env.run(repo, &["task", "cancel", "3", "--why", "not needed"])
        .ok();
    fake.route(
        &key(1, "planning"),
        [Turn::text(
            "Raise it.\n## Test matrix\n- 2\n## Seams\n- none",
        )],
    );
    fake.route(&key(1, "plan_review"), [Turn::text(CLEAN)]);
    fake.route(
        &key(1, "coding"),
        [write("a/value.txt", "2\n"), Turn::text("Done.")],
    );
    fake.route(&key(1, "code_review"), [Turn::text(CLEAN)]);
    fake.route(
        &key(2, "planning"),
        [Turn::text("Raise b.\n## Seams\n- none")],
    );
    fake.route(&key(2, "plan_review"), [Turn::text(HIGH)]);
    env.run(repo, &["run", "--agents", "1", "--until-idle"])
}

#[test]
fn status_shows_tasks_gates_spend_and_releases_and_agents_get_the_state() {
    for backend in backends() {
        let name = backend.name();
        let repo = lanes(&backend);
        let fake = FakeModel::start([]);
        let env = Env::new(&fake, &backend);
        let ran = four_tasks(&repo, &env, &fake).fails(1);
        assert!(ran.stderr.contains("task 1: ready"), "{name}: {ran:#?}");

        // Task 2 ran after task 1 was ready, and its prompts carried that.
        let asked: Vec<String> = fake
            .requests()
            .iter()
            .map(|r| r.body.to_string())
            .filter(|b| b.contains(&key(2, "planning")))
            .collect();
        assert!(!asked.is_empty(), "{name}");
        for body in &asked {
            for want in [
                "Project state (from Slipway's database)",
                "untrusted data from the project state",
                "#1 Raise a (ready, lane a)",
                "1 task is queued.",
            ] {
                assert!(body.contains(want), "{name}: {want}: {body}");
            }
        }

        // The scheduler wrote the State section after each task.
        let state = agents_md(&repo);
        let state = section(&state);
        assert!(state.contains("- #1 Raise a (ready, lane a)\n"), "{state}");
        assert!(
            state.contains("- #2 Raise b (needs_human, lane b): plan review passes exhausted"),
            "{state}"
        );
        let synced = run(&repo, &backend, &["context", "sync"]).ok();
        assert_eq!(
            synced.stdout, "AGENTS.md: State section already current\n",
            "{name}"
        );

        check_status(&repo, &backend);
        check_releases(&repo, &backend);
    }
}

fn check_status(repo: &TempRepo, backend: &Backend) {
    let name = backend.name();
    let shown = run(repo, backend, &["status"]).ok();
    let rows: Vec<Vec<&str>> = shown
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    for want in [
        vec!["LANE", "QUEUED", "READY", "NEEDS_HUMAN", "CANCELLED"],
        vec!["a", "-", "1", "-", "-"],
        vec!["b", "-", "-", "1", "-"],
        vec!["c", "1", "-", "-", "1"],
        vec!["1", "ready", "a", "slipway", "approve", "1", "Raise", "a"],
        vec![
            "2",
            "needs_human",
            "b",
            "slipway",
            "task",
            "show",
            "2",
            "Raise",
            "b",
        ],
    ] {
        assert!(rows.contains(&want), "{name}: {want:?}: {shown:#?}");
    }
    assert!(
        shown.stdout.contains("Waiting on a person (2):"),
        "{shown:#?}"
    );
    assert!(
        shown.stdout.contains("Spend: today $") && !shown.stdout.contains("(no runs)"),
        "{name}: {shown:#?}"
    );

    let json = run(repo, backend, &["status", "--json"]).ok().json();
    let by_state = &json["tasks"]["by_state"];
    assert_eq!(json["tasks"]["total"], 4, "{name}: {json:#}");
    for (state, n) in [
        ("queued", 1),
        ("ready", 1),
        ("needs_human", 1),
        ("cancelled", 1),
        ("planning", 0),
    ] {
        assert_eq!(by_state[state], n, "{name}: {state}: {json:#}");
    }
    assert_eq!(
        json["tasks"]["by_lane"]["c"],
        serde_json::json!({"cancelled": 1, "queued": 1})
    );
    let waiting: Vec<(i64, &str, &str)> = json["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["id"].as_i64().unwrap(),
                w["state"].as_str().unwrap(),
                w["next"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        waiting,
        [
            (1, "ready", "slipway approve 1"),
            (2, "needs_human", "slipway task show 2")
        ]
    );
    let runs = json["spend"]["today"]["runs"].as_u64().unwrap();
    assert!(runs >= 6, "four runs for task 1, two for task 2: {json:#}");
    assert_eq!(json["spend"]["month"]["runs"].as_u64().unwrap(), runs);
}

/// Approves task 1, then releases it: status follows production and staging.
fn check_releases(repo: &TempRepo, backend: &Backend) {
    let name = backend.name();
    run(repo, backend, &["approve", "1"]).ok();
    let shown = run(repo, backend, &["status"]).ok();
    assert!(
        shown.stdout.contains(&format!(
            "Production ({}) is behind staging ({}), which has 1 staged task: `slipway release` fast-forwards it.",
            &rev(repo, "production")[..12],
            &rev(repo, "staging")[..12],
        )),
        "{name}: {shown:#?}"
    );
    let json = run(repo, backend, &["status", "--json"]).ok().json();
    assert_eq!(json["environments"]["production_behind_staging"], true);

    run(repo, backend, &["release", "--note", "first"]).ok();
    let json = run(repo, backend, &["status", "--json"]).ok().json();
    assert_eq!(json["last_release"]["tag"], "release-1", "{name}: {json:#}");
    assert_eq!(json["last_release"]["tasks"], serde_json::json!([1]));
    assert_eq!(
        json["last_release"]["sha"],
        rev(repo, "production").as_str()
    );
    assert_eq!(json["environments"]["production_behind_staging"], false);
    let shown = run(repo, backend, &["status"]).ok();
    assert!(
        shown.stdout.contains(&format!(
            "Last release: release-1 ({}) at ",
            &rev(repo, "production")[..12]
        )) && shown.stdout.contains(", tasks: 1\n"),
        "{name}: {shown:#?}"
    );
    assert!(
        shown.stdout.contains("Production is at staging ("),
        "{shown:#?}"
    );

    // Neither gate writes AGENTS.md; a sync brings it up to date.
    let synced = run(repo, backend, &["context", "sync"]).ok();
    assert_eq!(synced.stdout, "AGENTS.md: State section updated\n");
    let text = agents_md(repo);
    let state = section(&text);
    assert!(
        state.contains("\nProduction is release-1 (`") && state.contains("with:\n- #1 Raise a\n"),
        "{state}"
    );
}

#[test]
fn context_sync_writes_between_the_markers_and_keeps_the_rest() {
    for backend in backends() {
        let name = backend.name();
        let repo = plain(&backend);
        run(
            &repo,
            &backend,
            &["task", "add", "Write the docs", "--lane", "main"],
        )
        .ok();
        let head = "# Agents\n\nRun `make test`.\n\n## State\n\n";
        let tail = "\n\n## Notes\r\n\nKeep this.  \n";
        fs::write(
            repo.join("AGENTS.md"),
            format!("{head}{BEGIN}\nstale\n{END}{tail}"),
        )
        .unwrap();

        let synced = run(&repo, &backend, &["context", "sync"]).ok();
        assert_eq!(
            synced.stdout, "AGENTS.md: State section updated\n",
            "{name}"
        );
        let want_state = "\n### What works\n\nNo release yet.\n\n### In flight\n\n\
                          1 task is queued.\n\n### Broken / needs a person\n\nNothing.\n";
        assert_eq!(
            agents_md(&repo),
            format!("{head}{BEGIN}{want_state}{END}{tail}"),
            "{name}"
        );

        let again = run(&repo, &backend, &["context", "sync"]).ok();
        assert_eq!(again.stdout, "AGENTS.md: State section already current\n");
        assert_eq!(
            agents_md(&repo),
            format!("{head}{BEGIN}{want_state}{END}{tail}")
        );

        run(
            &repo,
            &backend,
            &["task", "cancel", "1", "--why", "done elsewhere"],
        )
        .ok();
        run(&repo, &backend, &["context", "sync"]).ok();
        assert!(
            section(&agents_md(&repo)).contains("### In flight\n\nNothing in flight.\n"),
            "{name}"
        );

        // Without the markers, the section is added at the end.
        fs::write(repo.join("AGENTS.md"), "# Mine\n\nNo state here.").unwrap();
        let added = run(&repo, &backend, &["context", "sync"]).ok();
        assert_eq!(added.stdout, "AGENTS.md: State section updated\n");
        let text = agents_md(&repo);
        assert!(
            text.starts_with(&format!(
                "# Mine\n\nNo state here.\n\n## State\n\n{BEGIN}\n### What works\n"
            )),
            "{text}"
        );
        assert!(text.ends_with(&format!("Nothing.\n{END}\n")), "{text}");
        let again = run(&repo, &backend, &["context", "sync"]).ok();
        assert_eq!(again.stdout, "AGENTS.md: State section already current\n");

        // A lone marker is not guessed at.
        let broken = format!("# Mine\n{BEGIN}\nhalf a section\n");
        fs::write(repo.join("AGENTS.md"), &broken).unwrap();
        let refused = run(&repo, &backend, &["context", "sync"]).fails(2);
        assert!(
            refused.stderr.contains("State markers are broken"),
            "{refused:#?}"
        );
        assert_eq!(agents_md(&repo), broken, "left alone");
    }
}
