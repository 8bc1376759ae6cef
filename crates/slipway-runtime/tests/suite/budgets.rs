//! Limits on a run: the step limit, the token, cost and task budgets, and
//! cancellation from the observer or another task; each stop recorded in the
//! trace as the reason the run gives.

use std::sync::Arc;
use std::time::Duration;

use slipway_llm::Api;
use slipway_policy::AgentRole;
use slipway_runtime::{Cancel, RunEvent, RunOptions, RunReport, Stop, TaskBudget};
use slipway_store::Store;
use slipway_test_support::{FakeModel, FakeToolCall, Turn};
use slipway_types::{SpanStatus, operations as op};

use super::fixture::{TASK, agent, coder, options, repo, tools, usage};
use super::recorded::Recorded;
use super::support::{CancelWhen, Events, TestDb, on_both_backends};

on_both_backends!(
    a_cost_budget_on_a_model_without_a_price_is_refused,
    a_running_trace_says_so_and_has_no_cost_yet,
    the_step_limit_stops_a_model_that_never_stops,
    the_token_budget_stops_the_run,
    the_cost_budget_stops_the_run,
    the_task_budget_counts_what_earlier_runs_spent,
    cancelling_from_the_observer_stops_before_the_next_tool_call,
    cancelling_from_another_task_stops_the_model_call_in_flight,
);

const API: Api = Api::Messages;

/// A model that asks for one more file, forever: `n` turns of it.
fn never_stops(n: usize, scale: u64) -> Vec<Turn> {
    (0..n)
        .map(|i| {
            Turn::tool_calls(vec![FakeToolCall::new(
                &format!("call_{i}"),
                "read_file",
                r#"{"path":"src/api/lib.rs"}"#,
            )])
            .usage(usage(scale))
        })
        .collect()
}

/// Runs a coder with `options` against `fake` and returns its report.
async fn run(store: &Arc<dyn Store>, fake: &FakeModel, options: RunOptions) -> RunReport {
    let repo = repo();
    let agent = agent(fake, API, tools(&repo, coder()), store, options);
    agent
        .run(TASK, &Events::default(), &Cancel::default())
        .await
        .unwrap()
}

/// Checks that the run stopped for `stop` after `steps` model calls, and
/// that its trace says why, as [`Stop::reason`] does.
async fn check_stopped(
    store: &dyn Store,
    fake: &FakeModel,
    report: &RunReport,
    options: &RunOptions,
    (stop, steps, reason): (Stop, u32, &str),
) {
    assert_eq!((report.stop, report.steps), (stop, steps));
    assert_eq!(fake.requests().len(), steps as usize);
    assert_eq!(stop.reason(options).as_deref(), Some(reason));
    let recorded = Recorded::load(store, &report.trace_id).await;
    assert_eq!(recorded.trace.status, SpanStatus::Error);
    assert_eq!(recorded.trace.error.as_deref(), Some(reason));
    let root = recorded.root();
    assert_eq!(
        (root.status, root.error.as_deref()),
        (SpanStatus::Error, Some(reason))
    );
    let chats = recorded.of(op::CHAT);
    assert_eq!(chats.len(), steps as usize);
    assert!(chats.iter().all(|c| c.status == SpanStatus::Ok));
    recorded.assert_totals_are_sums();
}

async fn the_step_limit_stops_a_model_that_never_stops(db: &TestDb) {
    let store = db.open().await;
    let fake = FakeModel::start(never_stops(10, 1));
    let mut options = options(AgentRole::Coder, API, true);
    options.max_steps = 3;
    let report = run(&store, &fake, options.clone()).await;
    assert_eq!(report.tool_calls, 3);
    let reason = "stopped: the step limit of 3 model calls was reached";
    check_stopped(
        &*store,
        &fake,
        &report,
        &options,
        (Stop::StepLimit, 3, reason),
    )
    .await;
}

async fn the_token_budget_stops_the_run(db: &TestDb) {
    let store = db.open().await;
    let fake = FakeModel::start(never_stops(10, 1));
    let mut options = options(AgentRole::Coder, API, true);
    // Each call uses 120 + 1000 + 200 + 30 = 1350 tokens: the second passes 2000.
    options.token_budget = Some(2000);
    let report = run(&store, &fake, options.clone()).await;
    assert_eq!(report.tokens.total(), 2700);
    let reason = "stopped: the token budget of 2000 was reached";
    check_stopped(
        &*store,
        &fake,
        &report,
        &options,
        (Stop::TokenBudget, 2, reason),
    )
    .await;
}

async fn the_cost_budget_stops_the_run(db: &TestDb) {
    let store = db.open().await;
    let fake = FakeModel::start(never_stops(10, 2));
    let mut options = options(AgentRole::Coder, API, false);
    // Each call costs 3720 micro-dollars: the third passes a cent.
    options.cost_budget_micros = Some(10_000);
    let report = run(&store, &fake, options.clone()).await;
    assert_eq!(report.cost_micros, Some(3 * 3720));
    let reason = "stopped: the cost budget of $0.01 was reached";
    check_stopped(
        &*store,
        &fake,
        &report,
        &options,
        (Stop::CostBudget, 3, reason),
    )
    .await;
}

async fn the_task_budget_counts_what_earlier_runs_spent(db: &TestDb) {
    let store = db.open().await;
    let fake = FakeModel::start(never_stops(10, 2));
    let mut options = options(AgentRole::Coder, API, true);
    // 6000 spent before; 3720 per call: the second call passes the cent.
    options.task_budget = Some(TaskBudget {
        limit_micros: 10_000,
        spent_micros: 6_000,
    });
    let report = run(&store, &fake, options.clone()).await;
    let reason = "stopped: the task's cost budget of $0.01 was reached";
    check_stopped(
        &*store,
        &fake,
        &report,
        &options,
        (Stop::TaskBudget, 2, reason),
    )
    .await;

    // A task already over its budget makes no model call at all.
    let fake = FakeModel::start(never_stops(1, 2));
    options.task_budget = Some(TaskBudget {
        limit_micros: 10_000,
        spent_micros: 10_000,
    });
    let report = run(&store, &fake, options.clone()).await;
    check_stopped(
        &*store,
        &fake,
        &report,
        &options,
        (Stop::TaskBudget, 0, reason),
    )
    .await;
    assert_eq!(report.cost_micros, Some(0));
}

async fn cancelling_from_the_observer_stops_before_the_next_tool_call(db: &TestDb) {
    let store = db.open().await;
    let repo = repo();
    let write = |id: &str, path: &str| {
        FakeToolCall::new(
            id,
            "write_file",
            &format!(r#"{{"path":"{path}","content":"x"}}"#),
        )
    };
    let fake = FakeModel::start([
        Turn::tool_calls(vec![
            write("call_1", "src/api/first.rs"),
            write("call_2", "src/api/second.rs"),
        ]),
        Turn::text("never sent"),
    ]);
    let cancel = Cancel::default();
    let observer = CancelWhen::new(&cancel, |e| matches!(e, RunEvent::ToolCall { .. }));
    let options = options(AgentRole::Coder, API, true);
    let agent = agent(&fake, API, tools(&repo, coder()), &store, options.clone());
    let report = agent.run(TASK, &observer, &cancel).await.unwrap();

    assert!(
        repo.join("src/api/first.rs").exists(),
        "the call under way ran"
    );
    assert!(
        !repo.join("src/api/second.rs").exists(),
        "no tool call starts after the run was cancelled"
    );
    assert_eq!(report.tool_calls, 1);
    check_stopped(
        &*store,
        &fake,
        &report,
        &options,
        (Stop::Cancelled, 1, "stopped: cancelled"),
    )
    .await;
    let recorded = Recorded::load(&*store, &report.trace_id).await;
    assert_eq!(recorded.of(op::EXECUTE_TOOL).len(), 1);
}

async fn cancelling_from_another_task_stops_the_model_call_in_flight(db: &TestDb) {
    let store = db.open().await;
    let repo = repo();
    // Far longer than the test may take: only cancellation ends this call.
    let fake = Arc::new(FakeModel::start([
        Turn::text("too late").delayed(Duration::from_mins(2))
    ]));
    let cancel = Arc::new(Cancel::default());
    let canceller = tokio::spawn({
        let (fake, cancel) = (Arc::clone(&fake), Arc::clone(&cancel));
        async move {
            while fake.requests().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            cancel.cancel();
        }
    });
    let options = options(AgentRole::Coder, API, true);
    let agent = agent(&fake, API, tools(&repo, coder()), &store, options.clone());
    let report = agent.run(TASK, &Events::default(), &cancel).await.unwrap();
    canceller.await.unwrap();

    assert_eq!((report.stop, report.steps), (Stop::Cancelled, 1));
    let recorded = Recorded::load(&*store, &report.trace_id).await;
    assert_eq!(recorded.trace.error.as_deref(), Some("stopped: cancelled"));
    let chats = recorded.of(op::CHAT);
    assert_eq!(chats.len(), 1);
    assert_eq!(
        (chats[0].status, chats[0].error.as_deref()),
        (SpanStatus::Error, Some("cancelled"))
    );
}

async fn a_cost_budget_on_a_model_without_a_price_is_refused(db: &TestDb) {
    let store = db.open().await;
    let fake = FakeModel::start(never_stops(3, 1));
    for budgeted in [
        |o: &mut RunOptions| o.cost_budget_micros = Some(10_000),
        |o: &mut RunOptions| {
            o.task_budget = Some(TaskBudget {
                limit_micros: 10_000,
                spent_micros: 0,
            });
        },
    ] {
        let mut options = options(AgentRole::Coder, API, true);
        options.model.model = "a-model-without-a-price".into();
        budgeted(&mut options);
        let repo = repo();
        let agent = agent(&fake, API, tools(&repo, coder()), &store, options);
        let err = agent
            .run("task", &Events::default(), &Cancel::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, slipway_runtime::RuntimeError::Unpriced { .. })
                && err.to_string().contains("a-model-without-a-price"),
            "{err}"
        );
    }
    assert_eq!(fake.requests().len(), 0, "no model call");
    assert!(store.traces(10).await.unwrap().is_empty(), "no trace");
}

async fn a_running_trace_says_so_and_has_no_cost_yet(db: &TestDb) {
    let store = db.open().await;
    // The model takes its time, so the run is seen while it waits.
    let fake = FakeModel::start([Turn::text("done")
        .usage(usage(1))
        .delayed(Duration::from_secs(2))]);
    let repo = repo();
    let agent = agent(
        &fake,
        API,
        tools(&repo, coder()),
        &store,
        options(AgentRole::Coder, API, true),
    );
    let watch = async {
        loop {
            if let Some(trace) = store.traces(1).await.unwrap().pop() {
                return trace;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let (events, cancel) = (Events::default(), Cancel::default());
    let (report, running) = tokio::join!(agent.run(TASK, &events, &cancel), watch);
    assert_eq!(
        (running.status, running.cost_micros, running.ended_at),
        (SpanStatus::Running, None, None),
        "while it runs"
    );
    let report = report.unwrap();
    let (done, spans) = store.trace(&report.trace_id).await.unwrap();
    assert_eq!(done.status, SpanStatus::Ok);
    assert!(done.cost_micros.is_some() && done.ended_at.is_some());
    assert!(spans.iter().all(|s| s.status == SpanStatus::Ok));
}
