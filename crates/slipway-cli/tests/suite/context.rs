//! `[context]`: when a run's conversation is compacted.

use slipway_test_support::{FakeModel, Turn};

use super::model::{ANSWER, Env, FIRST, SECOND, configure, project, read_lib, trace_id};
use super::store::Backend;

#[test]
fn compaction_starts_at_the_configured_share_of_the_window() {
    let backend = Backend::Sqlite;
    let repo = project(&backend);
    // Each call's context is 4,680 tokens: past 50% of 8,000 but not 80%, and
    // far below the default 80% of 200,000.
    configure(
        &repo,
        "[context]\nwindow_tokens = 8000\ncompact_at_percent = 50\n",
    );
    let summary = "Read src/lib.rs twice: answer() returns 42.";
    let fake = FakeModel::start([
        read_lib("c1").usage(FIRST),
        read_lib("c2").usage(FIRST),
        Turn::text(summary).usage(SECOND),
        Turn::text(ANSWER).usage(SECOND),
    ]);
    let env = Env::new(&fake, &backend);
    let run = env
        .run(&repo, &["agent", "run", "--role", "explorer", "look twice"])
        .ok();
    assert_eq!(run.stdout.trim(), ANSWER, "{run:#?}");
    assert!(
        run.stderr
            .contains("· compacted the context: 5 messages → "),
        "{run:#?}"
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 4);
    assert!(
        requests[2].body.to_string().contains("You compress"),
        "the third call asks for the summary: {:#}",
        requests[2].body
    );
    assert!(
        requests[3].body.to_string().contains(summary),
        "the next call carries it: {:#}",
        requests[3].body
    );
    let shown = env.json(&repo, &["trace", "show", &trace_id(&run)]);
    let names: Vec<&str> = shown["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"compaction claude-sonnet-4-5"), "{names:?}");
}
