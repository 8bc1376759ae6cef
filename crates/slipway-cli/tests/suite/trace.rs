//! `slipway trace list|show` and `slipway cost` on recorded runs.

use serde_json::Value;
use slipway_test_support::{FakeModel, TempRepo};

use super::model::{
    ANSWER, Env, FIRST, LIB, SECOND, SONNET, assert_usd, configure, cost_micros, project,
    read_then_answer, trace_id,
};
use super::store::backends;

/// What the run of [`read_then_answer`] costs.
fn run_micros() -> i64 {
    cost_micros(SONNET, FIRST) + cost_micros(SONNET, SECOND)
}

/// Asserts the token fields of `value` are the sums of `usages`.
#[track_caller]
fn assert_tokens(value: &Value, usages: &[slipway_test_support::FakeUsage]) {
    let sum = |f: fn(&slipway_test_support::FakeUsage) -> u64| usages.iter().map(f).sum::<u64>();
    assert_eq!(value["input_tokens"], sum(|u| u.input), "{value:#}");
    assert_eq!(value["output_tokens"], sum(|u| u.output), "{value:#}");
    assert_eq!(
        value["cache_read_tokens"],
        sum(|u| u.cache_read),
        "{value:#}"
    );
    assert_eq!(
        value["cache_write_tokens"],
        sum(|u| u.cache_write),
        "{value:#}"
    );
}

/// Checks `trace list` after one run of [`read_then_answer`] by the explorer.
pub(crate) fn check_list(env: &Env, repo: &TempRepo, id: &str) {
    let list = env.json(repo, &["trace", "list"]);
    let runs = list.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{list:#}");
    let run = &runs[0];
    assert_eq!(run["id"], id);
    assert_eq!(run["role"], "explorer");
    assert_eq!(run["model"], SONNET);
    assert_eq!(run["status"], "ok");
    assert_eq!(run["task_id"], Value::Null);
    assert_eq!(run["error"], Value::Null);
    assert!(
        run["started_at"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{run:#}"
    );
    assert!(run["ended_at"].is_string(), "{run:#}");
    assert_tokens(run, &[FIRST, SECOND]);
    assert_usd(&run["cost_usd"], run_micros());

    let table = env.run(repo, &["trace", "list"]).ok();
    let row: Vec<&str> = table
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(row[0], id);
    let input = FIRST.input + SECOND.input + FIRST.cache_write + SECOND.cache_write;
    let tokens = format!(
        "{input}/{}/{}",
        FIRST.output + SECOND.output,
        FIRST.cache_read + SECOND.cache_read
    );
    assert_eq!(
        row[3..],
        ["explorer", SONNET, "ok", tokens.as_str(), "$0.0116"]
    );
}

/// Checks `trace show` (JSON, `--full`, and the tree) after the same run.
pub(crate) fn check_show(env: &Env, repo: &TempRepo, id: &str) {
    let shown = env.json(repo, &["trace", "show", id]);
    assert_eq!(shown["trace"]["id"], id);
    assert_usd(&shown["cost_usd"], run_micros());
    let spans = shown["spans"].as_array().unwrap();
    let names: Vec<&str> = spans.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "invoke_agent explorer",
            "chat claude-sonnet-4-5",
            "execute_tool read_file",
            "chat claude-sonnet-4-5"
        ],
        "{shown:#}"
    );
    let root = &spans[0];
    assert_eq!(root["parent_id"], Value::Null);
    assert_tokens(root, &[FIRST, SECOND]);
    for (span, usage) in [(&spans[1], FIRST), (&spans[3], SECOND)] {
        assert_eq!(span["parent_id"], root["id"]);
        assert_tokens(span, &[usage]);
        assert_eq!(span["attributes"]["gen_ai.usage.input_tokens"], usage.input);
        assert_eq!(
            span["attributes"]["gen_ai.request.model"],
            "claude-sonnet-4-5"
        );
        assert_usd(&span["cost_usd"], cost_micros(SONNET, usage));
    }
    for span in spans {
        for field in ["id", "start", "end"] {
            assert!(span[field].is_string(), "{field}: {span:#}");
        }
        assert_eq!(span["status"], "ok", "{span:#}");
        assert!(span["attributes"].is_object(), "{span:#}");
        assert!(
            span.get("content").is_none(),
            "no content without --full: {span:#}"
        );
    }
    assert_eq!(spans[2]["attributes"]["gen_ai.tool.name"], "read_file");

    let full = env.json(repo, &["trace", "show", id, "--full"]);
    let tool = &full["spans"][2]["content"];
    assert_eq!(tool[0]["direction"], "input", "{tool:#}");
    assert_eq!(tool[0]["kind"], "tool_arguments");
    assert_eq!(tool[0]["body"], format!(r#"{{"path":"{LIB}"}}"#));
    assert_eq!(tool[1]["kind"], "tool_result");
    assert!(
        tool[1]["body"]
            .as_str()
            .unwrap()
            .contains("pub fn answer()"),
        "{tool:#}"
    );
    let last = full["spans"][3]["content"].as_array().unwrap();
    assert!(last.iter().any(|c| c["kind"] == "system"), "{last:#?}");
    assert!(
        last.iter()
            .any(|c| c["direction"] == "output" && c["body"].as_str().unwrap().contains(ANSWER)),
        "{last:#?}"
    );

    // The tree, found by a prefix of the id.
    let tree = env.run(repo, &["trace", "show", &id[..8]]).ok();
    let lines: Vec<&str> = tree.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "trace {id} · explorer · {SONNET} · ok · cost $0.0116"
        )),
        "{tree:#?}"
    );
    assert!(
        lines[1].starts_with("  invoke_agent explorer · "),
        "{tree:#?}"
    );
    assert!(
        lines[2].starts_with("    chat claude-sonnet-4-5 · "),
        "{tree:#?}"
    );
    assert!(
        lines[3].starts_with("    execute_tool read_file · "),
        "{tree:#?}"
    );
    assert!(
        lines[4].starts_with("    chat claude-sonnet-4-5 · "),
        "{tree:#?}"
    );
    assert_eq!(lines.len(), 5, "{tree:#?}");
}

/// Checks `cost` by each grouping, and `--since`, after the same run.
pub(crate) fn check_cost(env: &Env, repo: &TempRepo) {
    let list = env.json(repo, &["trace", "list"]);
    let day = &list[0]["started_at"].as_str().unwrap()[..10];
    for (by, key) in [
        ("model", SONNET),
        ("role", "explorer"),
        ("task", ""),
        ("day", day),
    ] {
        let rows = env.json(repo, &["cost", "--by", by]);
        assert_eq!(rows.as_array().unwrap().len(), 1, "{by}: {rows:#}");
        let row = &rows[0];
        assert_eq!(row["key"], key, "{by}");
        assert_eq!(row["runs"], 1, "{by}");
        assert_eq!(row["unknown_cost_runs"], 0, "{by}");
        assert_tokens(row, &[FIRST, SECOND]);
        assert_usd(&row["cost_usd"], run_micros());
    }
    for (since, runs) in [("2000-01-01", 1), (day, 1), ("2999-01-01", 0)] {
        let rows = env.json(repo, &["cost", "--since", since]);
        assert_eq!(
            rows.as_array().unwrap().len(),
            runs,
            "--since {since}: {rows:#}"
        );
    }
    let bad = env.run(repo, &["cost", "--since", "yesterday"]).fails(2);
    assert!(bad.stderr.contains("YYYY-MM-DD"), "{bad:#?}");
    let table = env.run(repo, &["cost", "--by", "role"]).ok();
    assert_eq!(
        table
            .stdout
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["explorer", "1", "1900", "230", "7200", "$0.0116"]
    );
}

#[test]
fn without_capture_a_trace_keeps_tokens_and_cost_but_no_content() {
    for backend in backends() {
        let repo = project(&backend);
        configure(&repo, "[trace]\ncapture = false\n");
        let fake = FakeModel::start(read_then_answer());
        let env = Env::new(&fake, &backend);
        let run = env
            .run(
                &repo,
                &[
                    "agent",
                    "run",
                    "--role",
                    "explorer",
                    "What does answer() return?",
                ],
            )
            .ok();
        assert_eq!(run.stdout.trim(), ANSWER);
        let id = trace_id(&run);
        let full = env.json(&repo, &["trace", "show", &id, "--full"]);
        let spans = full["spans"].as_array().unwrap();
        assert_eq!(spans.len(), 4, "{full:#}");
        for span in spans {
            assert_eq!(
                span["content"],
                serde_json::json!([]),
                "{}: {span:#}",
                backend.name()
            );
        }
        assert_tokens(&spans[0], &[FIRST, SECOND]);
        assert_tokens(&spans[1], &[FIRST]);
        assert_usd(&full["cost_usd"], run_micros());
        let text = env.run(&repo, &["trace", "show", &id, "--full"]).ok();
        assert!(!text.stdout.contains("pub fn answer"), "{text:#?}");
        assert!(!text.stdout.contains(ANSWER), "{text:#?}");
        // The model still got the file: capture changes the trace, not the run.
        assert!(
            fake.requests()[1]
                .body
                .to_string()
                .contains("pub fn answer()")
        );
    }
}
