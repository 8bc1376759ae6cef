//! What a trace never stores, and `agent run` never prints: the keys in the
//! environment, whatever their shape.

use slipway_test_support::{FakeModel, FakeToolCall, Turn};

use super::model::{ANSWER, Env, project, trace_id};
use super::store::backends;

#[test]
fn keys_in_the_environment_never_reach_the_trace() {
    for backend in backends() {
        let repo = project(&backend);
        // The test key has no known key shape: only its value can find it.
        std::fs::write(
            repo.join("notes.txt"),
            "deploy with test-anthropic-key today\n",
        )
        .unwrap();
        let fake = FakeModel::start([
            Turn::tool_calls(vec![
                FakeToolCall::new("call_1", "read_file", r#"{"path":"notes.txt"}"#),
                FakeToolCall::new("call_2", "search", r#"{"pattern":"test-anthropic-key"}"#),
            ]),
            Turn::text(ANSWER),
        ]);
        let env = Env::new(&fake, &backend);
        let run = env
            .run(
                &repo,
                &["agent", "run", "--role", "explorer", "Read notes.txt"],
            )
            .ok();
        // Nor does the terminal show it, in the tool calls it prints.
        assert!(run.stderr.contains("→ search"), "{run:#?}");
        assert!(!run.stderr.contains("test-anthropic-key"), "{run:#?}");
        let id = trace_id(&run);
        let full = env.run(&repo, &["trace", "show", &id, "--full"]).ok();
        assert!(
            !full.stdout.contains("test-anthropic-key"),
            "{}: {}",
            backend.name(),
            full.stdout
        );
        assert!(
            full.stdout.contains("deploy with [REDACTED] today"),
            "{}: {}",
            backend.name(),
            full.stdout
        );
    }
}
