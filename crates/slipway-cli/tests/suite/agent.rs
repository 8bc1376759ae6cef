//! `slipway agent run` against the fake model server: runs that work.

use slipway_test_support::{FakeModel, FakeToolCall, FakeUsage, Turn};

use super::cli::Run;
use super::model::{
    ANSWER, Env, FIRST, GPT_4O, LIB, LIB_TEXT, SECOND, SONNET, assert_usd, cost_micros, project,
    read_lib, read_then_answer, trace_id,
};
use super::store::{Backend, backends};
use super::trace;

const PROMPT: &str = "What does answer() return?";

#[test]
fn an_explorer_reads_a_file_answers_and_its_run_is_traced() {
    for backend in backends() {
        let repo = project(&backend);
        let fake = FakeModel::start(read_then_answer());
        let env = Env::new(&fake, &backend);
        let run = env
            .run(&repo, &["agent", "run", "--role", "explorer", PROMPT])
            .ok();
        assert_eq!(run.stdout.trim(), ANSWER, "{}: {run:#?}", backend.name());
        assert!(
            run.stderr
                .starts_with(&format!("explorer on {SONNET} · trace follows\n")),
            "{run:#?}"
        );
        assert!(
            run.stderr
                .contains(&format!("→ read_file {{\"path\":\"{LIB}\"}}\n")),
            "{run:#?}"
        );
        assert!(run.stderr.contains("← read_file ok ("), "{run:#?}");
        assert!(
            run.stderr
                .contains("· 2 model calls · 1 tool calls (0 denied) ·"),
            "{run:#?}"
        );
        let id = trace_id(&run);

        let requests = fake.requests();
        assert_eq!(requests.len(), 2, "{requests:#?}");
        assert_eq!(requests[0].path, "/v1/messages");
        assert_eq!(requests[0].header("x-api-key"), Some("test-anthropic-key"));
        assert_eq!(requests[0].body["model"], "claude-sonnet-4-5");
        assert!(requests[0].body.to_string().contains(PROMPT));
        // The file's text went back to the model as the tool's result.
        assert!(
            requests[1]
                .body
                .to_string()
                .contains("pub fn answer() -> u32"),
            "{:#}",
            requests[1].body
        );

        trace::check_list(&env, &repo, &id);
        trace::check_show(&env, &repo, &id);
        trace::check_cost(&env, &repo);
    }
}

/// Runs the explorer on `model`, streaming or not, and returns the run and the fake's requests.
fn run_on(model: &str, stream: bool, usage: FakeUsage) -> (Run, Vec<serde_json::Value>, Env) {
    let backend = Backend::Sqlite;
    let repo = project(&backend);
    let fake = FakeModel::start([
        read_lib("call_1").usage(usage),
        Turn::text(ANSWER).usage(usage),
    ]);
    let env = Env::new(&fake, &backend);
    let mut args = vec!["agent", "run", "--role", "explorer", "--model", model];
    if !stream {
        args.push("--no-stream");
    }
    args.push(PROMPT);
    let run = env.run(&repo, &args);
    let list = env.json(&repo, &["trace", "list"]);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "{model}: {requests:#?}");
    for request in &requests {
        let (path, key_header, key) = if model == SONNET {
            ("/v1/messages", "x-api-key", "test-anthropic-key")
        } else {
            (
                "/v1/chat/completions",
                "authorization",
                "Bearer test-openai-key",
            )
        };
        assert_eq!(request.path, path);
        assert_eq!(request.header(key_header), Some(key));
        assert_eq!(
            request.body["stream"].as_bool().unwrap_or(false),
            stream,
            "{model}: {:#}",
            request.body
        );
    }
    (run, list.as_array().unwrap().clone(), env)
}

#[test]
fn both_providers_work_streaming_and_not() {
    // No cache writes: OpenAI's Chat Completions reports none.
    let usage = FakeUsage {
        input: 500,
        output: 40,
        cache_read: 2000,
        cache_write: 0,
        reasoning: 0,
    };
    for model in [SONNET, GPT_4O] {
        for stream in [true, false] {
            let (run, list, _env) = run_on(model, stream, usage);
            let run = run.ok();
            assert_eq!(run.stdout.trim(), ANSWER, "{model} stream={stream}");
            assert!(
                run.stderr.starts_with(&format!("explorer on {model} ·")),
                "{run:#?}"
            );
            assert!(run.stderr.contains("← read_file ok"), "{run:#?}");
            assert_eq!(list.len(), 1);
            let trace = &list[0];
            assert_eq!(trace["model"], model);
            assert_eq!(trace["status"], "ok");
            assert_eq!(trace["input_tokens"], 1000, "{model}: {trace:#}");
            assert_eq!(trace["cache_read_tokens"], 4000, "{model}: {trace:#}");
            assert_eq!(trace["output_tokens"], 80, "{model}: {trace:#}");
            assert_usd(&trace["cost_usd"], 2 * cost_micros(model, usage));
        }
    }
}

#[test]
fn an_explorer_asked_to_write_is_denied_and_the_denial_is_traced() {
    for backend in backends() {
        let repo = project(&backend);
        let fake = FakeModel::start([
            Turn::tool_calls(vec![FakeToolCall::new(
                "call_w",
                "write_file",
                &format!(r#"{{"path":"{LIB}","content":"pub fn answer() -> u32 {{ 0 }}\n"}}"#),
            )])
            .usage(FIRST),
            Turn::text("I may not write files.").usage(SECOND),
        ]);
        let env = Env::new(&fake, &backend);
        let run = env
            .run(
                &repo,
                &[
                    "agent",
                    "run",
                    "--role",
                    "explorer",
                    "Make answer() return 0",
                ],
            )
            .ok();
        assert_eq!(run.stdout.trim(), "I may not write files.");
        assert!(run.stderr.contains("← write_file denied: "), "{run:#?}");
        assert!(run.stderr.contains("(1 denied)"), "{run:#?}");
        assert_eq!(
            std::fs::read_to_string(repo.join(LIB)).unwrap(),
            LIB_TEXT,
            "the file is unchanged"
        );
        // The model was told, as an error result of its call.
        let told = fake.requests()[1].body.to_string();
        assert!(
            told.contains("\"is_error\":true") && told.contains("call_w"),
            "{told}"
        );

        let id = trace_id(&run);
        let shown = env.json(&repo, &["trace", "show", &id]);
        assert_eq!(shown["trace"]["status"], "ok", "{shown:#}");
        let spans = shown["spans"].as_array().unwrap();
        let write = spans
            .iter()
            .find(|s| s["name"] == "execute_tool write_file")
            .unwrap_or_else(|| panic!("no write_file span: {shown:#}"));
        assert_eq!(write["status"], "denied", "{write:#}");
        assert_eq!(write["attributes"]["error.type"], "denied", "{write:#}");
        assert!(
            write["error"].as_str().is_some_and(|e| e.contains(LIB)),
            "the denial names the path: {write:#}"
        );
        let text = env.run(&repo, &["trace", "show", &id]).ok();
        assert!(
            text.stdout
                .lines()
                .any(|l| l.starts_with("    execute_tool write_file ·") && l.ends_with("[denied]")),
            "{text:#?}"
        );
    }
}

#[test]
fn help_shows_a_commands_own_options_before_the_global_ones() {
    let dir = tempfile::tempdir().unwrap();
    let top = super::cli::slipway_in(dir.path(), &["--help"], &[]).ok();
    assert!(
        top.stdout
            .starts_with("Runs a team of AI coding agents on one codebase"),
        "{top:#?}"
    );
    let help = super::cli::slipway_in(dir.path(), &["agent", "run", "--help"], &[]).ok();
    let at = |text: &str| {
        help.stdout
            .find(text)
            .unwrap_or_else(|| panic!("missing {text:?}:\n{}", help.stdout))
    };
    assert!(at("--no-stream") < at("Global options:"));
    assert!(at("Global options:") < at("--database-url <URL>"));
    assert!(at("Examples:") > at("--database-url"));
    assert!(help.stdout.contains("130 cancelled"), "{help:#?}");
}
