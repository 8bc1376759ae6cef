//! Content capture: every body stored once and referenced by each call that
//! sent it (O(n) rows for n steps), nothing stored with capture off, and
//! secrets redacted in what is stored (never in what the model is sent).

use std::sync::Arc;

use slipway_llm::Api;
use slipway_policy::AgentRole;
use slipway_runtime::{Cancel, RunOptions, RunReport, Stop};
use slipway_store::Store;
use slipway_test_support::{FakeModel, FakeToolCall, TempRepo, Turn};
use slipway_types::{ContentDirection, ContentKind, SpanStatus, operations as op};

use super::fixture::{TASK, agent, coder, options, repo, tools, usage};
use super::recorded::{Recorded, bodies, of_kind};
use super::support::{Events, TestDb, on_both_backends};
use super::wire::mentions;

on_both_backends!(
    every_body_is_stored_once,
    capture_off_stores_no_content,
    secrets_are_redacted_in_stored_content,
    a_secret_in_an_error_is_redacted,
);

const API: Api = Api::Messages;
const PATHS: [&str; 4] = [
    "src/api/lib.rs",
    "src/api/util.rs",
    "web/app.js",
    "Cargo.lock",
];

/// One read per path, then the final text.
fn reads() -> Vec<Turn> {
    let mut turns: Vec<Turn> = PATHS
        .iter()
        .enumerate()
        .map(|(i, path)| {
            Turn::tool_calls(vec![FakeToolCall::new(
                &format!("call_{i}"),
                "read_file",
                &format!(r#"{{"path":"{path}"}}"#),
            )])
            .usage(usage(1))
        })
        .collect();
    turns.push(Turn::text("read them all").usage(usage(1)));
    turns
}

async fn run(
    store: &Arc<dyn Store>,
    repo: &TempRepo,
    fake: &FakeModel,
    options: RunOptions,
) -> RunReport {
    let agent = agent(fake, API, tools(repo, coder()), store, options);
    let report = agent
        .run(TASK, &Events::default(), &Cancel::default())
        .await
        .unwrap();
    assert_eq!(report.stop, Stop::Finished);
    report
}

/// Returns the ids of the bodies a model call sent, in order: the prefix of its context.
async fn input_ids(db: &TestDb, span: &str) -> Vec<i64> {
    db.ints(
        "SELECT cm.content_id FROM span_contexts sx \
         JOIN context_messages cm ON cm.context_span_id = sx.context_span_id \
         AND cm.position < sx.messages WHERE sx.span_id = $1 ORDER BY cm.position",
        &[span],
    )
    .await
}

async fn every_body_is_stored_once(db: &TestDb) {
    let store = db.open().await;
    let repo = repo();
    let fake = FakeModel::start(reads());
    let report = run(&store, &repo, &fake, options(AgentRole::Coder, API, true)).await;
    assert_eq!(report.steps, 5);
    // The system prompt; the task and 4 × (assistant turn, tool results) as
    // messages; 5 responses; 4 × (arguments, result) of the tools.
    let rows = 1 + (1 + 2 * 4) + 5 + 2 * 4;
    assert_eq!(db.count("SELECT COUNT(*) FROM contents").await, rows);

    // Each call sends what the one before sent, by the same ids, and its two new messages.
    let recorded = Recorded::load(&*store, &report.trace_id).await;
    let chats = recorded.of(op::CHAT);
    let mut sent_before: Vec<i64> = Vec::new();
    for (n, chat) in chats.iter().enumerate() {
        let ids = input_ids(db, chat.id.as_str()).await;
        assert_eq!(ids.len(), 2 * n + 2, "system, task, 2 per earlier step");
        assert!(
            ids.starts_with(&sent_before),
            "call {n} reuses the stored bodies"
        );
        sent_before = ids;
    }
    // One context: each message is one row, each call one row, and no call
    // links its inputs one by one.
    assert_eq!(
        db.count("SELECT COUNT(DISTINCT context_span_id) FROM span_contexts")
            .await,
        1
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM context_messages").await,
        1 + 1 + 2 * 4
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM span_contexts").await, 5);
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM span_contents sc JOIN spans s ON s.id = sc.span_id \
             WHERE s.operation = 'chat' AND sc.direction = 'input'"
        )
        .await,
        0
    );
    let last = bodies(&*store, &chats[4].id, ContentDirection::Input).await;
    let kinds: Vec<ContentKind> = last.iter().map(|b| b.kind).collect();
    assert_eq!(kinds[0], ContentKind::System);
    assert!(kinds[1..].iter().all(|k| *k == ContentKind::Message));
    assert!(last[1].body.contains(TASK));
    let answer = bodies(&*store, &chats[4].id, ContentDirection::Output).await;
    assert!(of_kind(&answer, ContentKind::Response)[0].contains("read them all"));
    let tool = recorded.of(op::EXECUTE_TOOL)[0];
    let io = store.span_contents(&tool.id).await.unwrap();
    assert_eq!(io.len(), 2);
    assert_eq!(
        (io[0].0, io[0].1.kind),
        (ContentDirection::Input, ContentKind::ToolArguments)
    );
    assert_eq!(io[0].1.body, r#"{"path":"src/api/lib.rs"}"#);
    assert_eq!(
        (io[1].0, io[1].1.kind),
        (ContentDirection::Output, ContentKind::ToolResult)
    );
    assert!(
        io[1]
            .1
            .body
            .starts_with("[untrusted data from tool read_file")
    );

    // A second run of the same script stores only what differs: its tool
    // results (each run marks them with its own boundary) and the messages
    // that carry them.
    let fake = FakeModel::start(reads());
    run(&store, &repo, &fake, options(AgentRole::Coder, API, true)).await;
    assert_eq!(
        db.count("SELECT COUNT(*) FROM contents").await,
        rows + 2 * 4
    );
}

async fn capture_off_stores_no_content(db: &TestDb) {
    let store = db.open().await;
    let repo = repo();
    let fake = FakeModel::start(reads());
    let mut options = options(AgentRole::Coder, API, false);
    options.capture = false;
    let report = run(&store, &repo, &fake, options).await;
    assert_eq!(db.count("SELECT COUNT(*) FROM contents").await, 0);
    for table in ["span_contents", "context_messages", "span_contexts"] {
        assert_eq!(
            db.count(&format!("SELECT COUNT(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }
    let recorded = Recorded::load(&*store, &report.trace_id).await;
    assert_eq!(
        recorded.of(op::CHAT).len(),
        5,
        "the spans are recorded all the same"
    );
    assert_eq!(recorded.of(op::EXECUTE_TOOL).len(), 4);
    assert!(recorded.trace.tokens.total() > 0);
    recorded.assert_totals_are_sums();
}

/// Secret shapes, each spelled the way it is stored: at the start of a
/// line, after a tab, after `=`, and a private key block after a certificate.
const ANTHROPIC_KEY: &str = "sk-ant-api03-Zq7Xw2Lr9Kp4Tn6Vb1Hc8Md3Fg5Js0Ay";
const GITHUB_TOKEN: &str = "ghp_R4nD0mT0k3nV4lu3F0rT3st1ngPurp0s3s1";
const AWS_KEY: &str = "AKIAQWERTYUIOPASDFGH";
const PEM_BODY: &str = "MIIEowIBAAKCAQEA7bqX0rT3stK3yB0dyN0tR3al";

fn secrets_file() -> String {
    format!(
        "# credentials, committed by mistake\n\
         ANTHROPIC_API_KEY={ANTHROPIC_KEY}\n\
         {GITHUB_TOKEN}\n\
         aws\t{AWS_KEY}\n\
         -----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUPublicCertificate\n-----END CERTIFICATE-----\n\
         -----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\n"
    )
}

const SECRETS: [&str; 4] = [ANTHROPIC_KEY, GITHUB_TOKEN, AWS_KEY, PEM_BODY];

async fn secrets_are_redacted_in_stored_content(db: &TestDb) {
    let store = db.open().await;
    let repo = repo();
    repo.write("src/api/secrets.env", &secrets_file());
    // The model reads the file, then writes one of the keys into another.
    let write = serde_json::json!({
        "path": "src/api/keys.rs",
        "content": format!("// keys\n{ANTHROPIC_KEY}\n"),
    });
    let fake = FakeModel::start([
        Turn::tool_calls(vec![FakeToolCall::new(
            "call_1",
            "read_file",
            r#"{"path":"src/api/secrets.env"}"#,
        )]),
        Turn::tool_calls(vec![FakeToolCall::new(
            "call_2",
            "write_file",
            &write.to_string(),
        )]),
        Turn::text(&format!("Found {GITHUB_TOKEN} in the file.")),
    ]);
    let report = run(&store, &repo, &fake, options(AgentRole::Coder, API, true)).await;

    // The model worked with the real text; only the trace is redacted.
    for secret in SECRETS {
        assert!(mentions(&fake.requests()[1], secret), "{secret} was sent");
    }
    let stored = db.strings("SELECT body FROM contents").await;
    assert!(!stored.is_empty());
    for body in &stored {
        for secret in SECRETS {
            assert!(!body.contains(secret), "{secret} is stored in:\n{body}");
        }
    }
    assert!(stored.iter().any(|b| b.contains(slipway_runtime::REDACTED)));
    assert!(
        stored
            .iter()
            .any(|b| b.contains("MIIBszCCAVmgAwIBAgIUPublicCertificate")),
        "a certificate is not a secret"
    );
    let recorded = Recorded::load(&*store, &report.trace_id).await;
    assert_eq!(recorded.trace.status, SpanStatus::Ok);
}

async fn a_secret_in_an_error_is_redacted(db: &TestDb) {
    let store = db.open().await;
    let repo = repo();
    let body = format!(
        r#"{{"type":"error","error":{{"type":"authentication_error","message":"invalid x-api-key\n{ANTHROPIC_KEY}"}}}}"#
    );
    let fake = FakeModel::start([Turn::error(401, &body)]);
    let agent = agent(
        &fake,
        API,
        tools(&repo, coder()),
        &store,
        options(AgentRole::Coder, API, true),
    );
    let err = agent
        .run(TASK, &Events::default(), &Cancel::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTTP 401"));
    let trace = &store.traces(1).await.unwrap()[0];
    let recorded = Recorded::load(&*store, &trace.id).await;
    let errors: Vec<&str> = std::iter::once(&recorded.trace.error)
        .chain(recorded.spans.iter().map(|s| &s.error))
        .filter_map(|e| e.as_deref())
        .collect();
    assert_eq!(
        errors.len(),
        3,
        "the trace, its root and its call: {errors:?}"
    );
    for error in errors {
        assert!(
            error.contains("HTTP 401") && error.contains("[REDACTED]"),
            "{error}"
        );
        assert!(!error.contains(ANTHROPIC_KEY), "{error}");
    }
}
