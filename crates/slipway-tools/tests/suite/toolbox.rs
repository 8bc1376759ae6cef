use serde_json::json;
use slipway_policy::{AgentRole, Grant};
use slipway_tools::{ToolOutcome, Workspace};

use super::support::{Fixture, coder, error, explorer};

#[test]
fn read_only_roles_get_no_write_tools() {
    let fx = Fixture::new();
    for role in [AgentRole::Explorer, AgentRole::Reviewer] {
        let tools = fx.toolbox(Grant::new(role));
        assert_eq!(tools.names(), ["read_file", "list_dir", "search"]);
    }
    for role in [
        AgentRole::Planner,
        AgentRole::Coder,
        AgentRole::Debugger,
        AgentRole::Fixer,
    ] {
        let tools = fx.toolbox(Grant::new(role).with_lane("api"));
        assert_eq!(
            tools.names(),
            ["read_file", "list_dir", "search", "edit_file", "write_file"]
        );
    }
}

#[test]
fn specs_carry_a_schema_and_say_what_the_run_may_write() {
    let fx = Fixture::new();
    let tools = fx.toolbox(coder("api").with_seams(["Cargo.lock"]));
    let specs = tools.specs();
    assert_eq!(specs.len(), 5);
    for spec in &specs {
        assert_eq!(spec.input_schema["type"], "object", "{}", spec.name);
        assert_eq!(
            spec.input_schema["additionalProperties"], false,
            "{}",
            spec.name
        );
        assert!(!spec.description.is_empty());
    }
    let read = &specs[0];
    assert_eq!(read.name, "read_file");
    assert_eq!(read.input_schema["required"], json!(["path"]));
    let write = &specs[4];
    assert_eq!(write.name, "write_file");
    assert!(
        write.description.ends_with(
            "You may write the files of your lane `api` (src/api/**) and the seams Cargo.lock."
        ),
        "{}",
        write.description
    );
    let planner = fx.toolbox(Grant::new(AgentRole::Planner).with_plan_file("plans/7.md"));
    let edit = &planner.specs()[3];
    assert!(
        edit.description
            .ends_with("You may write only your plan file `plans/7.md`.")
    );
}

#[tokio::test]
async fn an_unknown_tool_lists_the_tools() {
    let fx = Fixture::new();
    let tools = fx.toolbox(explorer());
    let text = error(&tools, "cat", json!({})).await;
    assert_eq!(
        text,
        "unknown tool `cat`; the tools are: read_file, list_dir, search"
    );
}

#[tokio::test]
async fn raw_arguments_that_do_not_parse_are_a_tool_error() {
    let fx = Fixture::new();
    let tools = fx.toolbox(explorer());
    let broken = tools.call_json("read_file", "{\"path\": ").await;
    assert!(broken.is_error);
    assert!(
        broken
            .text
            .starts_with("the arguments of read_file are not valid JSON"),
        "{}",
        broken.text
    );
    let fine = tools
        .call_json("read_file", r#"{"path": "AGENTS.md"}"#)
        .await;
    assert_eq!(fine, ToolOutcome::ok("     1\t# Agents\n"));
    let empty = tools.call_json("list_dir", "").await;
    assert!(!empty.is_error, "{}", empty.text);
    let not_object = tools.call_json("read_file", "[1]").await;
    assert_eq!(
        not_object.text,
        "bad arguments for read_file: expected a JSON object of named fields, got an array"
    );
}

#[test]
fn a_missing_workspace_says_what_to_check() {
    let fx = Fixture::new();
    let Err(err) = Workspace::open(fx.root.join("no-such-clone")) else {
        panic!("should fail");
    };
    let text = err.to_string();
    assert!(text.starts_with("cannot open the workspace `"), "{text}");
    assert!(
        text.ends_with("check that the task's clone exists and is a readable directory"),
        "{text}"
    );
}

#[test]
fn the_tool_box_and_its_calls_can_cross_threads() {
    fn shared<T: Send + Sync>(_: &T) {}
    fn sendable<T: Send>(_: T) {}
    let fx = Fixture::new();
    let tools = fx.toolbox(explorer());
    shared(&tools);
    sendable(tools.call("list_dir", &json!({})));
    sendable(tools.call_json("list_dir", "{}"));
}
