//! `slipway agent run` when something is wrong: the arguments, the key, the
//! provider, or a person pressing Ctrl-C.

use std::process::Stdio;
use std::time::{Duration, Instant};

use slipway_test_support::{FakeModel, Turn};

use super::cli::{Run, command_in, set_lanes};
use super::model::{ANSWER, Env, GPT_4O, SONNET, project, read_then_answer};
use super::store::{Backend, backends};

#[test]
fn bad_arguments_are_refused_before_any_model_call() {
    let backend = Backend::Sqlite;
    let repo = project(&backend);
    set_lanes(&repo, "[lanes.core]\nowns = [\"**\"]\n");
    let fake = FakeModel::start(read_then_answer());
    let env = Env::new(&fake, &backend);
    let agent = |args: &[&str]| -> Run {
        let args: Vec<&str> = ["agent", "run"].iter().chain(args).copied().collect();
        env.run(&repo, &args).fails(2)
    };
    let cases: [(&[&str], &[&str]); 7] = [
        (
            &["--role", "coder", "fix it"],
            &["a coder writes only its lane: pass --lane LANE"],
        ),
        (
            &["--role", "fixer", "fix it"],
            &["a fixer writes only its lane: pass --lane LANE"],
        ),
        (
            &["--role", "coder", "--lane", "web", "fix it"],
            &["no lane `web` in slipway.toml; lanes: core"],
        ),
        (
            &["--role", "explorer", "--model", "claude-sonnet-4-5", "look"],
            &[
                "--model `claude-sonnet-4-5` does not name its provider: write it as `provider:model`",
            ],
        ),
        (
            &["--role", "explorer", "--model", "ollama:qwen3", "look"],
            &["no provider `ollama`", "[providers.ollama]"],
        ),
        (
            &["--role", "boss", "look"],
            &["invalid value 'boss' for '--role <ROLE>'"],
        ),
        (&["--role", "explorer", "--task", "7", "look"], &["task 7"]),
    ];
    for (args, expected) in cases {
        let run = agent(args);
        for text in expected {
            assert!(
                run.stderr.contains(text),
                "{args:?}: missing {text:?}:\n{run:#?}"
            );
        }
    }
    assert!(fake.requests().is_empty(), "{:#?}", fake.requests());
    assert!(
        env.json(&repo, &["trace", "list"])
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_missing_key_names_its_variable() {
    let backend = Backend::Sqlite;
    let repo = project(&backend);
    let fake = FakeModel::start(read_then_answer());
    let cases = [
        (SONNET, "ANTHROPIC_API_KEY", "anthropic"),
        // Helpers of a run on another model use that model: no Anthropic key is needed.
        (GPT_4O, "OPENAI_API_KEY", "openai"),
    ];
    for (model, var, provider) in cases {
        let env = Env::new(&fake, &backend)
            .with("ANTHROPIC_API_KEY", "")
            .with("OPENAI_API_KEY", "");
        let run = env
            .run(
                &repo,
                &[
                    "agent", "run", "--role", "explorer", "--model", model, "look",
                ],
            )
            .fails(2);
        assert!(
            run.stderr.contains(&format!(
                "set {var} in the environment: the `{provider}` provider needs its key"
            )),
            "{run:#?}"
        );
        let other = if var == "OPENAI_API_KEY" {
            "ANTHROPIC_API_KEY"
        } else {
            "OPENAI_API_KEY"
        };
        assert!(!run.stderr.contains(other), "{run:#?}");
    }
    assert!(fake.requests().is_empty());
}

#[test]
fn a_provider_error_fails_the_run_and_is_recorded() {
    for backend in backends() {
        let repo = project(&backend);
        let body = r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: 8192 > 4096, the maximum for this model"}}"#;
        let fake = FakeModel::start([Turn::error(400, body)]);
        let env = Env::new(&fake, &backend);
        let run = env
            .run(&repo, &["agent", "run", "--role", "explorer", "look"])
            .fails(2);
        assert!(
            run.stderr
                .contains("error: the run failed; `slipway trace list` shows its trace"),
            "{run:#?}"
        );
        assert!(run.stderr.contains("400"), "{run:#?}");
        assert_eq!(
            run.stderr.matches("max_tokens: 8192 > 4096").count(),
            1,
            "the provider's message, once: {run:#?}"
        );
        assert_eq!(fake.requests().len(), 1, "a 400 is not retried");

        let list = env.json(&repo, &["trace", "list"]);
        assert_eq!(list.as_array().unwrap().len(), 1, "{list:#}");
        assert_eq!(list[0]["status"], "error");
        assert!(
            list[0]["error"].as_str().unwrap().contains("400"),
            "{list:#}"
        );
        let id = list[0]["id"].as_str().unwrap();
        let shown = env.json(&repo, &["trace", "show", id]);
        let chat = &shown["spans"][1];
        assert_eq!(chat["name"], "chat claude-sonnet-4-5", "{shown:#}");
        assert_eq!(chat["status"], "error");
        assert_eq!(chat["attributes"]["error.type"], "http");
    }
}

#[test]
fn ctrl_c_cancels_the_run_and_its_trace_says_so() {
    for backend in backends() {
        let repo = project(&backend);
        // The answer would come after two minutes: the run is cancelled before.
        let fake = FakeModel::start([Turn::text(ANSWER).delayed(Duration::from_mins(2))]);
        let env = Env::new(&fake, &backend);
        let mut child = command_in(
            repo.path(),
            &["agent", "run", "--role", "explorer", "look"],
            &env.pairs(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        // Waits for the model call to be in flight, not for any given time.
        let deadline = Instant::now() + Duration::from_mins(2);
        while fake.requests().is_empty() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the run ended ({status}) before calling the model");
            }
            assert!(Instant::now() < deadline, "the run never called the model");
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = child.id().to_string();
        let kill = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        assert!(kill.success());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{stderr}");
        assert!(
            stderr.contains("· cancelling: the run stops and its trace is kept"),
            "{stderr}"
        );
        assert!(stderr.contains("stopped: cancelled"), "{stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains(ANSWER));

        let list = env.json(&repo, &["trace", "list"]);
        assert_eq!(list[0]["status"], "error", "{}: {list:#}", backend.name());
        assert_eq!(list[0]["error"], "stopped: cancelled");
        assert!(list[0]["ended_at"].is_string(), "{list:#}");
        let shown = env.json(&repo, &["trace", "show", list[0]["id"].as_str().unwrap()]);
        assert_eq!(shown["spans"][1]["error"], "cancelled", "{shown:#}");
    }
}
