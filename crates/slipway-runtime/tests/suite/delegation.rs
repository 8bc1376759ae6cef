//! `delegate`: a coder hands a question to an explorer on a model of its
//! own; the explorer's run is recorded as spans under the tool call in the
//! coder's trace, and its summary is the tool's result. The helper's spend
//! counts toward the coder's budget, and cancelling the coder stops it.

use std::sync::Arc;
use std::time::Duration;

use slipway_llm::Api;
use slipway_policy::AgentRole;
use slipway_runtime::{Agent, Cancel, RunOptions, RunReport, Stop, SubAgents, role_prompt};
use slipway_store::Store;
use slipway_test_support::{FakeModel, FakeToolCall, TempRepo, Turn};
use slipway_types::{ContentDirection, SpanStatus, operations as op};

use super::fixture::{
    AGENTS_MD, TASK, agent, coder, expected_tokens, explorer, options, prices, provider_for, repo,
    tools, usage,
};
use super::recorded::{Recorded, bodies};
use super::support::{Events, TestDb, on_both_backends};
use super::wire::{system, tool_names, tool_results, turns};

on_both_backends!(
    a_delegated_explorer_runs_and_its_summary_is_the_result,
    a_helpers_spend_counts_toward_the_callers_budget,
    a_helper_gets_only_what_is_left_of_the_callers_budget,
    no_second_helper_starts_once_the_first_used_the_budget_up,
    a_helper_stopped_early_says_so,
    cancelling_the_caller_stops_its_helper,
    a_failed_helper_is_a_tool_error_and_the_caller_goes_on,
    a_helpers_refused_write_ends_the_callers_recording,
);

const QUESTION: &str = "Where is the input parsed?";
const FINDING: &str = "parse() in src/api/lib.rs, line 1, returns the length";

/// The coder speaks Anthropic Messages, its explorer OpenAI Chat.
struct Team {
    repo: TempRepo,
    coder_model: FakeModel,
    explorer_model: Arc<FakeModel>,
}

impl Team {
    fn new(coder_turns: Vec<Turn>, explorer_turns: Vec<Turn>) -> Self {
        Self {
            repo: repo(),
            coder_model: FakeModel::start(coder_turns),
            explorer_model: Arc::new(FakeModel::start(explorer_turns)),
        }
    }

    fn coder(
        &self,
        store: &Arc<dyn Store>,
        options: RunOptions,
        explorer_options: RunOptions,
    ) -> Agent {
        let helper = Agent::new(
            provider_for(&self.explorer_model, Api::Chat),
            Arc::new(tools(&self.repo, explorer())),
            Arc::clone(store),
            prices(),
            String::new(),
            explorer_options,
        );
        let tools = tools(&self.repo, coder())
            .with_delegate(Arc::new(SubAgents::new(helper, Some(AGENTS_MD.into()))));
        agent(&self.coder_model, Api::Messages, tools, store, options)
    }

    async fn run(&self, store: &Arc<dyn Store>, cancel: &Cancel) -> RunReport {
        self.run_with(store, coder_options(), explorer_options(), cancel)
            .await
    }

    async fn run_with(
        &self,
        store: &Arc<dyn Store>,
        options: RunOptions,
        explorer_options: RunOptions,
        cancel: &Cancel,
    ) -> RunReport {
        self.coder(store, options, explorer_options)
            .run(TASK, &Events::default(), cancel)
            .await
            .unwrap()
    }
}

fn coder_options() -> RunOptions {
    options(AgentRole::Coder, Api::Messages, true)
}

fn explorer_options() -> RunOptions {
    options(AgentRole::Explorer, Api::Chat, true)
}

fn delegate() -> Turn {
    Turn::tool_calls(vec![FakeToolCall::new(
        "call_d",
        "delegate",
        &format!(r#"{{"task":"{QUESTION}"}}"#),
    )])
    .usage(usage(1))
}

fn explore() -> Vec<Turn> {
    vec![
        Turn::tool_calls(vec![FakeToolCall::new(
            "call_r",
            "read_file",
            r#"{"path":"src/api/lib.rs"}"#,
        )])
        .usage(usage(1)),
        Turn::text(FINDING).usage(usage(1)),
    ]
}

async fn a_delegated_explorer_runs_and_its_summary_is_the_result(db: &TestDb) {
    let store = db.open().await;
    let team = Team::new(
        vec![delegate(), Turn::text("done").usage(usage(1))],
        explore(),
    );
    let report = team.run(&store, &Cancel::default()).await;
    assert_eq!((report.stop, report.tool_calls), (Stop::Finished, 1));

    // The explorer ran on its own model, as an explorer, with the question only.
    let asked = team.explorer_model.requests();
    assert_eq!(asked.len(), 2);
    let prompt = system(Api::Chat, &asked[0]);
    assert!(prompt.starts_with(role_prompt(AgentRole::Explorer)) && prompt.contains("cargo test"));
    let offered = tool_names(Api::Chat, &asked[0]);
    assert!(offered.contains(&"read_file".to_owned()));
    assert!(
        !offered
            .iter()
            .any(|t| t == "write_file" || t == "edit_file"),
        "{offered:?}"
    );
    let question = &asked[0].body["messages"][1];
    assert_eq!(
        (question["role"].as_str(), question["content"].as_str()),
        (Some("user"), Some(QUESTION))
    );

    // Its summary came back as the tool's result, marked as data.
    let sent = team.coder_model.requests();
    let results = tool_results(Api::Messages, &sent[1]);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].call_id, "call_d");
    assert!(
        results[0].content.contains(FINDING) && !results[0].is_error,
        "{results:?}"
    );
    assert!(
        results[0]
            .content
            .starts_with("[untrusted data from tool delegate")
    );
    assert!(
        !turns(&sent[1])
            .iter()
            .any(|(_, text)| text.contains("call_r")),
        "the helper's turns stay out"
    );

    check_nested_spans(&*store, &report).await;
    // The helper's calls have a context of their own, opened by its first
    // call; the coder's two calls share theirs.
    assert_eq!(
        db.count("SELECT COUNT(DISTINCT context_span_id) FROM span_contexts")
            .await,
        2
    );
    let recorded = Recorded::load(&*store, &report.trace_id).await;
    let helper_chat = recorded
        .of(op::CHAT)
        .into_iter()
        .find(|s| s.provider.as_deref() == Some("openai"))
        .unwrap();
    let sent = bodies(&*store, &helper_chat.id, ContentDirection::Input).await;
    assert_eq!(sent.len(), 2, "the explorer's prompt and the question");
    assert!(sent[0].body.starts_with(role_prompt(AgentRole::Explorer)));
    assert!(sent[1].body.contains(QUESTION));
}

/// The helper's spans sit under the `delegate` call, in the caller's one trace.
async fn check_nested_spans(store: &dyn Store, report: &RunReport) {
    let traces = store.traces(10).await.unwrap();
    assert_eq!(
        traces.len(),
        1,
        "the helper records into the caller's trace"
    );
    let recorded = Recorded::load(store, &report.trace_id).await;
    let root = recorded.root();
    assert_eq!(root.name, "invoke_agent coder");
    let tool = recorded.of(op::EXECUTE_TOOL)[0];
    assert_eq!(
        (tool.name.as_str(), tool.parent_id.as_ref()),
        ("execute_tool delegate", Some(&root.id))
    );
    let helpers = recorded.children(&tool.id);
    assert_eq!(helpers.len(), 1);
    let helper = helpers[0];
    assert_eq!(
        (helper.name.as_str(), helper.status),
        ("invoke_agent explorer", SpanStatus::Ok)
    );
    let under: Vec<(&str, &str)> = recorded
        .children(&helper.id)
        .iter()
        .map(|s| (s.name.as_str(), s.provider.as_deref().unwrap_or("-")))
        .collect();
    assert_eq!(
        under,
        [
            ("chat gpt-5", "openai"),
            ("execute_tool read_file", "-"),
            ("chat gpt-5", "openai")
        ]
    );

    // Every model call of both agents is in the trace's totals, each at its own price.
    let coder_call = expected_tokens(Api::Messages, usage(1));
    let explorer_call = expected_tokens(Api::Chat, usage(1));
    assert_eq!(helper.tokens, explorer_call + explorer_call);
    let all = coder_call + coder_call + explorer_call + explorer_call;
    assert_eq!(recorded.trace.tokens, all);
    assert_eq!(recorded.trace.cost_micros, Some(2 * 1860 + 2 * 575));
    recorded.assert_totals_are_sums();
    assert_eq!(
        (root.tokens, root.cost_micros),
        (all, recorded.trace.cost_micros),
        "the coder's run includes its helper"
    );
    assert_eq!(
        (report.tokens, report.cost_micros),
        (all, recorded.trace.cost_micros)
    );
}

async fn a_helpers_spend_counts_toward_the_callers_budget(db: &TestDb) {
    let store = db.open().await;
    let team = Team::new(vec![delegate(), Turn::text("never sent")], explore());
    let mut options = coder_options();
    // The coder's own call is 1350 tokens; its helper's two calls are 2300 more.
    options.token_budget = Some(3000);
    let report = team
        .run_with(&store, options, explorer_options(), &Cancel::default())
        .await;
    assert_eq!((report.stop, report.steps), (Stop::TokenBudget, 1));
    assert_eq!(report.tokens.total(), 1350 + 2300);
    assert_eq!(
        team.coder_model.requests().len(),
        1,
        "no call past the budget"
    );
}

async fn a_helper_gets_only_what_is_left_of_the_callers_budget(db: &TestDb) {
    let store = db.open().await;
    let team = Team::new(vec![delegate(), Turn::text("never sent")], explore());
    let mut options = coder_options();
    // The coder's call uses 1350 of 2400 tokens; the helper's first call
    // (1150) uses up the 1050 left, so it makes no second one.
    options.token_budget = Some(2400);
    let mut helper = explorer_options();
    helper.token_budget = Some(1_000_000);
    let report = team
        .run_with(&store, options, helper, &Cancel::default())
        .await;
    assert_eq!(
        team.explorer_model.requests().len(),
        1,
        "the helper stopped at the caller's budget"
    );
    assert_eq!(
        (report.stop, report.tokens.total()),
        (Stop::TokenBudget, 1350 + 1150)
    );
    let recorded = Recorded::load(&*store, &report.trace_id).await;
    let helper = recorded.of(op::INVOKE_AGENT)[1];
    assert_eq!(helper.status, SpanStatus::Error);
    assert!(
        helper
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("token budget of 1050"),
        "{:?}",
        helper.error
    );
}

async fn no_second_helper_starts_once_the_first_used_the_budget_up(db: &TestDb) {
    let store = db.open().await;
    let two = Turn::tool_calls(vec![
        FakeToolCall::new(
            "call_d1",
            "delegate",
            &format!(r#"{{"task":"{QUESTION}"}}"#),
        ),
        FakeToolCall::new(
            "call_d2",
            "delegate",
            r#"{"task":"And where is it printed?"}"#,
        ),
    ])
    .usage(usage(1));
    let mut helpers = explore();
    helpers.extend(explore());
    let team = Team::new(vec![two, Turn::text("never sent")], helpers);
    let mut options = coder_options();
    // 1350 for the coder, 2300 for the first helper: past 3000 before the second starts.
    options.token_budget = Some(3000);
    let report = team
        .run_with(&store, options, explorer_options(), &Cancel::default())
        .await;
    assert_eq!((report.stop, report.tool_calls), (Stop::TokenBudget, 1));
    assert_eq!(
        team.explorer_model.requests().len(),
        2,
        "only the first helper ran"
    );
    assert_eq!(team.coder_model.requests().len(), 1);
}

async fn a_helper_stopped_early_says_so(db: &TestDb) {
    let store = db.open().await;
    let team = Team::new(vec![delegate(), Turn::text("done")], explore());
    let mut helper = explorer_options();
    helper.max_steps = 1;
    let report = team
        .run_with(&store, coder_options(), helper, &Cancel::default())
        .await;
    assert_eq!(report.stop, Stop::Finished);
    let results = tool_results(Api::Messages, &team.coder_model.requests()[1]);
    assert!(
        results[0].content.contains("step limit of 1 model calls"),
        "the caller learns its helper did not finish: {results:?}"
    );
    let recorded = Recorded::load(&*store, &report.trace_id).await;
    let helper = recorded.of(op::INVOKE_AGENT)[1];
    assert_eq!(helper.status, SpanStatus::Error);
}

async fn cancelling_the_caller_stops_its_helper(db: &TestDb) {
    let store = db.open().await;
    // Far longer than the test may take: only cancellation ends the helper's call.
    let team = Team::new(
        vec![delegate(), Turn::text("never sent")],
        vec![Turn::text(FINDING).delayed(Duration::from_mins(2))],
    );
    let cancel = Arc::new(Cancel::default());
    let canceller = tokio::spawn({
        let (helper_model, cancel) = (Arc::clone(&team.explorer_model), Arc::clone(&cancel));
        async move {
            while helper_model.requests().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            cancel.cancel();
        }
    });
    let report = team.run(&store, &cancel).await;
    canceller.await.unwrap();
    assert_eq!(report.stop, Stop::Cancelled);
    assert_eq!(team.coder_model.requests().len(), 1);

    let recorded = Recorded::load(&*store, &report.trace_id).await;
    let chats = recorded.of(op::CHAT);
    let helper_call = chats.last().unwrap();
    assert_eq!(helper_call.model.as_deref(), Some("gpt-5"));
    assert_eq!(
        (helper_call.status, helper_call.error.as_deref()),
        (SpanStatus::Error, Some("cancelled"))
    );
    assert_eq!(recorded.trace.error.as_deref(), Some("stopped: cancelled"));
}

async fn a_failed_helper_is_a_tool_error_and_the_caller_goes_on(db: &TestDb) {
    let store = db.open().await;
    let rejected = r#"{"error":{"message":"The model `gpt-5` does not exist","type":"invalid_request_error"}}"#;
    let team = Team::new(
        vec![
            delegate(),
            Turn::text("I will read it myself.").usage(usage(1)),
        ],
        vec![Turn::error(404, rejected)],
    );
    let report = team.run(&store, &Cancel::default()).await;
    assert_eq!(report.stop, Stop::Finished);
    let results = tool_results(Api::Messages, &team.coder_model.requests()[1]);
    assert!(results[0].is_error, "{results:?}");
    assert!(
        results[0].content.contains("the helper failed") && results[0].content.contains("HTTP 404"),
        "{results:?}"
    );

    let recorded = Recorded::load(&*store, &report.trace_id).await;
    assert_eq!(recorded.trace.status, SpanStatus::Ok);
    let helper = recorded.of(op::INVOKE_AGENT)[1];
    assert_eq!(helper.status, SpanStatus::Error);
    assert!(helper.error.as_deref().unwrap().contains("does not exist"));
    let failed = recorded.children(&helper.id)[0];
    assert_eq!(
        (failed.operation.as_str(), failed.status),
        (op::CHAT, SpanStatus::Error)
    );
    let tool = recorded.of(op::EXECUTE_TOOL)[0];
    assert_eq!(tool.status, SpanStatus::Error);
    assert_eq!(
        recorded.trace.cost_micros,
        Some(2 * 1860),
        "only the coder's calls cost"
    );
    recorded.assert_totals_are_sums();
}

/// The helper's first write holds the caller's records too; when the store
/// refuses it, the caller's later writes, which build on it, are not tried:
/// the caller's run fails with the refusal and its end is recorded.
async fn a_helpers_refused_write_ends_the_callers_recording(db: &TestDb) {
    let flaky = super::flaky::Flaky::wrap(db.open().await);
    let store: Arc<dyn Store> = flaky.clone();
    let team = Team::new(
        vec![delegate(), Turn::text("done").usage(usage(1))],
        explore(),
    );
    flaky.refuse_next(1);
    let err = team
        .coder(&store, coder_options(), explorer_options())
        .run(TASK, &Events::default(), &Cancel::default())
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(
        matches!(
            err,
            slipway_runtime::RuntimeError::Store(slipway_store::StoreError::InvalidBatch { .. })
        ),
        "{err:?}"
    );
    assert!(
        shown.contains("an earlier step of this run was refused"),
        "{shown}"
    );
    let traces = store.traces(10).await.unwrap();
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0].status, SpanStatus::Error);
    assert!(traces[0].ended_at.is_some(), "the run's end is recorded");
    let recorded = Recorded::load(&*store, &traces[0].id).await;
    assert!(recorded.spans.is_empty(), "{:?}", recorded.spans);
}
