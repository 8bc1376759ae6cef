//! `run_command` through the tool box, in the real sandbox (as root).
#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use slipway_policy::{Action, AgentRole, Grant};
use slipway_sandbox::{DEFAULT_USER, Helper, Limits, Sandbox, SpecBuilder, User};
use slipway_tools::{Commands, ToolBox};

use super::support::{Fixture, coder};

/// The sandbox helper that `cargo test --workspace` builds beside this test.
fn helper() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let helper = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("slipway-sandbox-helper");
    assert!(
        helper.exists(),
        "build the helper first: cargo build -p slipway-sandbox"
    );
    helper
}

fn commands(fx: &Fixture) -> Commands {
    let user = User::lookup(DEFAULT_USER).unwrap();
    let template = SpecBuilder::new(vec!["true".into()], &fx.root, user);
    let limits = Limits {
        wall: Duration::from_secs(20),
        ..Limits::default()
    };
    Commands::new(
        Sandbox::new(Helper::new(helper())).unwrap(),
        template,
        limits,
    )
}

fn toolbox(fx: &Fixture, grant: Grant) -> ToolBox {
    fx.toolbox(grant).with_commands(commands(fx))
}

#[tokio::test]
async fn a_coder_runs_a_command_in_its_clone_in_the_sandbox() {
    let fx = Fixture::new();
    let tools = toolbox(&fx, coder("api"));
    assert!(tools.names().contains(&"run_command"));
    let out = tools
        .call(
            "run_command",
            &json!({"command": "cat src/api/lib.rs; id -u"}),
        )
        .await;
    assert!(!out.is_error, "{}", out.text);
    assert!(out.text.starts_with("exit code 0"), "{}", out.text);
    assert!(
        out.text.contains("sandboxed, Landlock full"),
        "{}",
        out.text
    );
    assert!(out.text.contains("fn one() {}"), "{}", out.text);
    assert!(out.text.contains("65534"), "{}", out.text);
}

#[tokio::test]
async fn a_failing_command_is_an_error_with_its_output() {
    let fx = Fixture::new();
    let tools = toolbox(&fx, coder("api"));
    let out = tools
        .call(
            "run_command",
            &json!({"command": "cat ../outside/secret.txt; exit 3"}),
        )
        .await;
    assert!(out.is_error);
    assert!(out.text.starts_with("exit code 3"), "{}", out.text);
    assert!(
        out.text.contains("No such file or directory"),
        "{}",
        out.text
    );
    assert!(!out.text.contains("top secret"), "{}", out.text);
}

#[tokio::test]
async fn read_only_roles_are_not_offered_it_and_are_denied() {
    let fx = Fixture::new();
    for role in [AgentRole::Explorer, AgentRole::Reviewer, AgentRole::Planner] {
        let tools = toolbox(&fx, Grant::new(role));
        assert!(!tools.names().contains(&"run_command"), "{role}");
        let out = tools
            .call("run_command", &json!({"command": "touch pwned"}))
            .await;
        let denial = out.denial.unwrap();
        assert_eq!(denial.action, Action::Run);
        assert!(!fx.exists("pwned"));
    }
}

#[tokio::test]
async fn without_a_sandbox_there_is_no_run_command() {
    let fx = Fixture::new();
    let tools = fx.toolbox(coder("api"));
    assert!(!tools.names().contains(&"run_command"));
    let out = tools.call("run_command", &json!({"command": "true"})).await;
    assert!(
        out.is_error && out.text.contains("not available"),
        "{}",
        out.text
    );
}

#[tokio::test]
async fn bad_arguments_and_timeouts_get_clear_answers() {
    let fx = Fixture::new();
    let tools = toolbox(&fx, coder("api"));
    let out = tools.call("run_command", &json!({"command": "  "})).await;
    assert!(
        out.is_error && out.text.contains("`command` is empty"),
        "{}",
        out.text
    );
    let out = tools.call("run_command", &json!({"cmd": "ls"})).await;
    assert!(out.is_error && out.text.contains("cmd"), "{}", out.text);
    let out = tools
        .call(
            "run_command",
            &json!({"command": "sleep 30", "timeout_secs": 1}),
        )
        .await;
    assert!(
        out.is_error && out.text.starts_with("timed out"),
        "{}",
        out.text
    );
}
