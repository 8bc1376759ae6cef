//! `[budget]` limits on agent runs: steps per run, and dollars per task.

use slipway_test_support::{FakeModel, FakeUsage, Turn};

use super::model::{ANSWER, Env, SONNET, configure, cost_micros, project, read_lib};
use super::store::{Backend, backends};

#[test]
fn the_step_limit_stops_a_model_that_keeps_calling_tools() {
    for backend in backends() {
        let repo = project(&backend);
        configure(&repo, "[budget]\nmax_steps = 2\n");
        let fake = FakeModel::start([read_lib("c1"), read_lib("c2"), read_lib("c3")]);
        let env = Env::new(&fake, &backend);
        let run = env
            .run(&repo, &["agent", "run", "--role", "explorer", "look"])
            .fails(2);
        assert!(
            run.stderr
                .contains("error: stopped: the step limit of 2 model calls was reached"),
            "{run:#?}"
        );
        assert!(
            run.stderr.contains("· 2 model calls · 2 tool calls"),
            "{run:#?}"
        );
        assert_eq!(fake.requests().len(), 2, "{}", backend.name());
        assert_eq!(fake.remaining(), 1);

        let list = env.json(&repo, &["trace", "list"]);
        assert_eq!(list[0]["status"], "error", "{list:#}");
        assert_eq!(
            list[0]["error"],
            "stopped: the step limit of 2 model calls was reached"
        );
    }
}

/// Six thousandths of a dollar per model call on Claude Sonnet 4.5.
const CALL: FakeUsage = FakeUsage {
    input: 1000,
    output: 200,
    cache_read: 0,
    cache_write: 0,
    reasoning: 0,
};

#[test]
fn a_task_budget_counts_every_run_of_the_task() {
    assert_eq!(cost_micros(SONNET, CALL), 6000);
    for backend in backends() {
        let repo = project(&backend);
        configure(&repo, "[budget]\ntask_usd = 0.01\n");
        let fake = FakeModel::start([Turn::text(ANSWER).usage(CALL)]);
        let env = Env::new(&fake, &backend);
        env.run(
            &repo,
            &["task", "add", "Explain answer()", "--lane", "main"],
        )
        .ok();
        let explore = ["agent", "run", "--role", "explorer", "--task", "1", "look"];

        // $0.006 of $0.01: the first run finishes.
        env.run(&repo, &explore).ok();
        // The second starts under the limit; its first call takes the task to $0.012.
        fake.push([read_lib("c1").usage(CALL), Turn::text(ANSWER).usage(CALL)]);
        let second = env.run(&repo, &explore).fails(2);
        let reason = "stopped: the task's cost budget of $0.01 was reached";
        assert!(
            second.stderr.contains(&format!("error: {reason}")),
            "{second:#?}"
        );
        assert!(second.stderr.contains("· 1 model calls ·"), "{second:#?}");
        assert_eq!(fake.remaining(), 1, "{}", backend.name());
        // The third does not call the model at all.
        let third = env.run(&repo, &explore).fails(2);
        assert!(third.stderr.contains(reason), "{third:#?}");
        assert!(third.stderr.contains("· 0 model calls ·"), "{third:#?}");
        assert_eq!(fake.requests().len(), 2);

        // A run of no task is not held back by the task's spend.
        env.run(&repo, &["agent", "run", "--role", "explorer", "look"])
            .ok();
        assert_eq!(fake.remaining(), 0);

        let list = env.json(&repo, &["trace", "list"]);
        let statuses: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["error"].as_str().unwrap_or("ok"))
            .collect();
        assert_eq!(
            statuses,
            ["ok", reason, reason, "ok"],
            "newest first: {list:#}"
        );
        let tasks = env.json(&repo, &["cost", "--by", "task"]);
        assert_eq!(tasks[1]["key"], "1", "{tasks:#}");
        assert_eq!(tasks[1]["runs"], 3);
        assert_eq!(tasks[1]["cost_usd"], 0.012);
    }
}

#[test]
fn a_task_budget_refuses_a_model_without_a_price() {
    let backend = Backend::Sqlite;
    let repo = project(&backend);
    configure(&repo, "[budget]\ntask_usd = 0.01\n");
    let fake = FakeModel::start([
        Turn::text(ANSWER).usage(CALL),
        Turn::text(ANSWER).usage(CALL),
    ]);
    let env = Env::new(&fake, &backend);
    env.run(
        &repo,
        &["task", "add", "Explain answer()", "--lane", "main"],
    )
    .ok();
    let unpriced = env
        .run(
            &repo,
            &[
                "agent",
                "run",
                "--role",
                "explorer",
                "--task",
                "1",
                "--model",
                "openai:gpt-unpriced",
                "look",
            ],
        )
        .fails(2);
    assert!(
        unpriced.stderr.contains(
            "`openai:gpt-unpriced` has no price, so a cost budget cannot be kept: add `[prices.\"openai:gpt-unpriced\"]`"
        ),
        "{unpriced:#?}"
    );
    assert!(fake.requests().is_empty(), "refused before any model call");
    let traces = env.run(&repo, &["trace", "list", "--json"]).ok().json();
    assert_eq!(traces, serde_json::json!([]));
}
