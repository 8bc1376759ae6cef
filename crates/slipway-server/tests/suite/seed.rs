//! What the tests read: three tasks (one `ready` with a plan, reviews,
//! tests and findings; one `queued`; one released), three runs with spans
//! and bodies, a release and a rollback, all written through the `Store`
//! trait as the pipeline writes them. Agents' text is hostile on purpose.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::json;
use slipway_store::{
    BatchLink, BodyRef, ContextMessage, SpanContext, SpanEnd, StateChange, Store, TraceBatch,
    TraceEnd,
};
use slipway_types::{
    ContentDirection, ContentKind, Finding, NewRelease, NewTask, ReleaseKind, Severity, Span,
    SpanId, SpanStatus, StageResult, TaskId, TaskState, TestCounts, TokenCounts, Trace, TraceId,
    operations,
};

/// A task title that would run script if it reached the page unescaped.
pub(crate) const EVIL_TITLE: &str = "Fix <script>alert(1)</script> in the \u{202E}parser";
/// A finding title that would run script if it reached the page unescaped.
pub(crate) const EVIL_FINDING: &str = "<img src=x onerror=alert(1)>";
/// A plan hiding code behind a right-to-left override.
pub(crate) const BIDI_PLAN: &str = "Check the caller \u{202E} }; if (admin) {";
/// The reviewed commit of the ready task.
pub(crate) const REVIEWED_SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
/// The commit of release-1.
pub(crate) const RELEASE_SHA: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
/// The prompt the coder's model call sent.
pub(crate) const PROMPT: &str = "Summarize <b>this</b> file";
/// What the model answered.
pub(crate) const ANSWER: &str = "Done: <i>nothing</i> to change";

/// The ids of what [`seed`] wrote.
pub(crate) struct Seeded {
    /// `ready`, lane `core`, [`EVIL_TITLE`]; two runs.
    pub(crate) ready: TaskId,
    /// `queued`, lane `ui`, depends on `ready`.
    pub(crate) queued: TaskId,
    /// `released` in release-1, lane `core`.
    pub(crate) released: TaskId,
    /// The coder's run of `ready`: priced, three spans.
    pub(crate) coder: TraceId,
    /// The reviewer's run of `ready`: unpriced, two spans.
    pub(crate) reviewer: TraceId,
    /// A run of no task.
    pub(crate) loose: TraceId,
    /// The coder's model call, with a prompt and an answer.
    pub(crate) chat: SpanId,
    /// The coder's tool call, with arguments and a result.
    pub(crate) tool: SpanId,
}

/// An instant an hour ago plus `seconds`, to the microsecond.
pub(crate) fn at(seconds: u64) -> Timestamp {
    let base = Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(1))
        .unwrap();
    let t = base.checked_add(Duration::from_secs(seconds)).unwrap();
    Timestamp::from_microsecond(t.as_microsecond()).unwrap()
}

pub(crate) fn change(from: TaskState, to: TaskState, seconds: u64) -> StateChange {
    StateChange {
        to,
        actor: "scheduler".into(),
        reason: format!("to {to}"),
        at: at(seconds),
        expected_from: Some(from),
    }
}

/// Moves `id` through `states` in order, one event each.
pub(crate) async fn walk(store: &dyn Store, id: TaskId, states: &[TaskState]) {
    for pair in states.windows(2) {
        store
            .transition(id, &change(pair[0], pair[1], 5))
            .await
            .unwrap();
    }
}

pub(crate) async fn task(store: &dyn Store, title: &str, lane: &str, deps: Vec<TaskId>) -> TaskId {
    let new = NewTask {
        title: title.into(),
        body: format!("The spec of {title}"),
        lane: lane.into(),
        depends_on: deps,
    };
    store.create_task(&new, "tester", at(0)).await.unwrap().id
}

fn finding(severity: Severity, title: &str) -> Finding {
    Finding {
        severity,
        title: title.into(),
        detail: "<b>detail</b>".into(),
        location: "src/lib.rs:3".into(),
    }
}

fn tokens(input: u64, output: u64) -> TokenCounts {
    TokenCounts {
        input,
        output,
        ..TokenCounts::default()
    }
}

fn trace(n: u8, task: Option<TaskId>, role: &str, model: &str, seconds: u64) -> Trace {
    Trace {
        id: TraceId::from_bytes([n; 16]),
        task_id: task,
        role: role.into(),
        model: model.into(),
        status: SpanStatus::Running,
        started_at: at(seconds),
        ended_at: None,
        tokens: TokenCounts::default(),
        cost_micros: None,
        error: None,
    }
}

/// An ended span of `trace`, `ms` milliseconds long from `seconds`.
fn span(
    trace: &Trace,
    n: u8,
    parent: Option<u8>,
    operation: &str,
    target: &str,
    seconds: u64,
) -> Span {
    Span {
        id: SpanId::from_bytes([n; 8]),
        trace_id: trace.id.clone(),
        parent_id: parent.map(|p| SpanId::from_bytes([p; 8])),
        name: format!("{operation} {target}"),
        operation: operation.into(),
        started_at: at(seconds),
        ended_at: Some(at(seconds + 2)),
        status: SpanStatus::Ok,
        error: None,
        model: None,
        provider: None,
        tool_name: (operation == operations::EXECUTE_TOOL).then(|| target.to_owned()),
        tokens: TokenCounts::default(),
        cost_micros: None,
        attributes: BTreeMap::from([("gen_ai.operation.name".to_owned(), json!(operation))]),
    }
}

async fn finish(store: &dyn Store, run: &Trace, seconds: u64, t: TokenCounts, cost: Option<i64>) {
    let end = TraceEnd {
        status: SpanStatus::Ok,
        ended_at: at(seconds),
        tokens: t,
        cost_micros: cost,
        error: None,
    };
    store.finish_trace(&run.id, &end).await.unwrap();
}

/// Writes everything; see the module doc.
pub(crate) async fn seed(store: &dyn Store) -> Seeded {
    let ready = task(store, EVIL_TITLE, "core", Vec::new()).await;
    let queued = task(store, "Polish the board", "ui", vec![ready]).await;
    let released = task(store, "Ship the API", "core", Vec::new()).await;
    store
        .set_task_seams(ready, &["Cargo.toml".into(), "crates/api.rs".into()])
        .await
        .unwrap();
    let runs = runs(store, ready).await;
    stages(store, ready, &runs).await;
    releases(store, released).await;
    Seeded {
        ready,
        queued,
        released,
        coder: runs.coder.id,
        reviewer: runs.reviewer.id,
        loose: runs.loose.id,
        chat: runs.chat,
        tool: runs.tool,
    }
}

/// The runs [`seed`] writes.
struct Runs {
    coder: Trace,
    reviewer: Trace,
    loose: Trace,
    chat: SpanId,
    tool: SpanId,
}

/// Three runs: the coder's of `ready` (priced, with bodies), the reviewer's
/// of `ready` (unpriced), and one of no task.
async fn runs(store: &dyn Store, ready: TaskId) -> Runs {
    // The coder's run: an agent span, a model call and a tool call, with bodies.
    let coder = trace(
        0xa1,
        Some(ready),
        "coder",
        "anthropic:claude-sonnet-4-5",
        10,
    );
    store.start_trace(&coder).await.unwrap();
    let root = span(&coder, 0xb1, None, operations::INVOKE_AGENT, "coder", 10);
    let mut chat = span(
        &coder,
        0xb2,
        Some(0xb1),
        operations::CHAT,
        "claude-sonnet-4-5",
        11,
    );
    chat.tokens = tokens(1000, 200);
    chat.cost_micros = Some(1500);
    chat.model = Some("claude-sonnet-4-5".into());
    let tool = span(
        &coder,
        0xb3,
        Some(0xb1),
        operations::EXECUTE_TOOL,
        "read_file",
        14,
    );
    let link = |span: &Span, direction, body| BatchLink {
        span: span.id.clone(),
        direction,
        position: 0,
        body: BodyRef::New(body),
    };
    store
        .write_batch(&TraceBatch {
            bodies: vec![
                (ContentKind::Message, PROMPT.into()),
                (ContentKind::Response, ANSWER.into()),
            ],
            links: vec![link(&chat, ContentDirection::Output, 1)],
            // What the call sent: the first message of the context it opened.
            context_messages: vec![ContextMessage {
                context: chat.id.clone(),
                position: 0,
                body: BodyRef::New(0),
            }],
            span_contexts: vec![SpanContext {
                span: chat.id.clone(),
                context: chat.id.clone(),
                messages: 1,
            }],
            spans: vec![root, chat.clone()],
            ends: Vec::new(),
        })
        .await
        .unwrap();
    tool_call(store, &tool).await;
    finish(store, &coder, 20, tokens(1000, 200), Some(1500)).await;

    // The reviewer's run: a model without a price.
    let reviewer = trace(0xa2, Some(ready), "reviewer", "openai:gpt-5", 30);
    store.start_trace(&reviewer).await.unwrap();
    let mut review_chat = span(&reviewer, 0xc2, Some(0xc1), operations::CHAT, "gpt-5", 31);
    review_chat.tokens = tokens(3000, 100);
    store
        .write_batch(&TraceBatch {
            spans: vec![
                span(
                    &reviewer,
                    0xc1,
                    None,
                    operations::INVOKE_AGENT,
                    "reviewer",
                    30,
                ),
                review_chat,
            ],
            ..TraceBatch::default()
        })
        .await
        .unwrap();
    finish(store, &reviewer, 35, tokens(3000, 100), None).await;

    // A run of no task.
    let loose = trace(0xa3, None, "explorer", "anthropic:claude-sonnet-4-5", 40);
    store.start_trace(&loose).await.unwrap();
    finish(store, &loose, 41, tokens(10, 10), Some(500)).await;

    Runs {
        coder,
        reviewer,
        loose,
        chat: chat.id,
        tool: tool.id,
    }
}

/// Records the tool call `tool` the way the runtime does: started, ended
/// with an attribute learned at the end, its arguments and result linked.
async fn tool_call(store: &dyn Store, tool: &Span) {
    let mut running_tool = tool.clone();
    running_tool.ended_at = None;
    store.start_span(&running_tool).await.unwrap();
    let end = SpanEnd {
        status: SpanStatus::Ok,
        ended_at: at(16),
        tokens: TokenCounts::default(),
        cost_micros: None,
        error: None,
        attributes: BTreeMap::from([("gen_ai.tool.call.id".to_owned(), json!("call-1"))]),
    };
    store.finish_span(&tool.id, &end).await.unwrap();
    let args = store
        .put_content(ContentKind::ToolArguments, r#"{"path":"src/lib.rs"}"#)
        .await
        .unwrap();
    let result = store
        .put_content(ContentKind::ToolResult, "fn main() {}")
        .await
        .unwrap();
    store
        .link_contents(&tool.id, ContentDirection::Input, &[args])
        .await
        .unwrap();
    store
        .link_contents(&tool.id, ContentDirection::Output, &[result])
        .await
        .unwrap();
}

/// The way of `ready` through planning, reviews and tests to `ready`.
async fn stages(store: &dyn Store, ready: TaskId, runs: &Runs) {
    use TaskState::{CodeReview, Coding, PlanReview, Planning, Queued, Ready, Testing};
    // The ready task's way through the stages.
    store
        .transition(ready, &change(Queued, Planning, 1))
        .await
        .unwrap();
    let mut plan = StageResult::new(ready, "planning", true, "planned");
    plan.body = BIDI_PLAN.into();
    plan.trace_id = Some(runs.coder.id.clone());
    store
        .finish_stage(&plan, Some(&change(Planning, PlanReview, 2)))
        .await
        .unwrap();
    let mut plan_review = StageResult::new(ready, "plan_review", true, "plan is fine");
    plan_review.findings = vec![finding(Severity::Medium, "Name the error type")];
    store
        .finish_stage(&plan_review, Some(&change(PlanReview, Coding, 3)))
        .await
        .unwrap();
    store
        .transition(ready, &change(Coding, Testing, 4))
        .await
        .unwrap();
    let mut testing = StageResult::new(ready, "testing", true, "tests green");
    testing.tests = Some(TestCounts {
        passed: 12,
        failed: 0,
        skipped: 1,
    });
    testing.body = "test result: ok. 12 passed".into();
    store
        .finish_stage(&testing, Some(&change(Testing, CodeReview, 5)))
        .await
        .unwrap();
    let mut review = StageResult::new(ready, "code_review", true, "looks right");
    review.sha = Some(REVIEWED_SHA.into());
    review.trace_id = Some(runs.reviewer.id.clone());
    review.body = "The reviewer's report".into();
    review.findings = vec![finding(Severity::Low, EVIL_FINDING)];
    store
        .finish_stage(&review, Some(&change(CodeReview, Ready, 6)))
        .await
        .unwrap();
}

/// `released` shipped in release-1, then a rollback to it.
async fn releases(store: &dyn Store, released: TaskId) {
    use TaskState::{CodeReview, Coding, PlanReview, Planning, Queued, Ready, Staged, Testing};
    // The released task, and production's moves.
    walk(
        store,
        released,
        &[
            Queued, Planning, PlanReview, Coding, Testing, CodeReview, Ready, Staged,
        ],
    )
    .await;
    let release = NewRelease {
        kind: ReleaseKind::Release,
        number: 1,
        sha: RELEASE_SHA.into(),
        tag: "release-1".into(),
        note: "first <release>".into(),
        actor: "tester".into(),
        tasks: vec![released],
    };
    store.record_release(&release, at(50)).await.unwrap();
    let rollback = NewRelease {
        kind: ReleaseKind::Rollback,
        note: "back again".into(),
        ..release
    };
    store.record_release(&rollback, at(60)).await.unwrap();
}
