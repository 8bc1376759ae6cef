use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;
use slipway_policy::AgentRole;
use slipway_tools::{Delegate, DelegateError};

use super::support::{Fixture, coder, error, explorer, ok};

/// Records each request and answers with a fixed summary, or fails.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<(String, AgentRole)>>,
    fail: bool,
}

#[async_trait]
impl Delegate for Recorder {
    async fn delegate(&self, task: &str, role: AgentRole) -> Result<String, DelegateError> {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push((task.to_owned(), role));
        }
        if self.fail {
            Err(DelegateError::new("the model budget ran out"))
        } else {
            Ok(format!("summary of {task}"))
        }
    }
}

fn calls(recorder: &Recorder) -> Vec<(String, AgentRole)> {
    recorder
        .calls
        .lock()
        .map(|calls| calls.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn delegates_to_an_explorer_by_default_and_returns_its_summary() {
    let fx = Fixture::new();
    let recorder = Arc::new(Recorder::default());
    let tools = fx.toolbox(coder("api")).with_delegate(recorder.clone());
    let text = ok(&tools, "delegate", json!({"task": "where is X parsed?"})).await;
    assert_eq!(text, "summary of where is X parsed?");
    let review = ok(
        &tools,
        "delegate",
        json!({"task": "check it", "role": "reviewer"}),
    )
    .await;
    assert_eq!(review, "summary of check it");
    assert_eq!(
        calls(&recorder),
        [
            ("where is X parsed?".to_owned(), AgentRole::Explorer),
            ("check it".to_owned(), AgentRole::Reviewer)
        ]
    );
}

#[tokio::test]
async fn every_role_may_delegate_but_only_to_read_only_helpers() {
    let fx = Fixture::new();
    let recorder = Arc::new(Recorder::default());
    for grant in [explorer(), coder("api")] {
        let tools = fx.toolbox(grant).with_delegate(recorder.clone());
        assert!(tools.names().contains(&"delegate"));
        let text = error(
            &tools,
            "delegate",
            json!({"task": "write it", "role": "coder"}),
        )
        .await;
        assert!(
            text.contains(
                "field `role`: a helper may only be an explorer or a reviewer, never a coder"
            ),
            "{text}"
        );
        let unknown = error(&tools, "delegate", json!({"task": "t", "role": "boss"})).await;
        assert!(
            unknown.contains("field `role`: unknown agent role `boss`"),
            "{unknown}"
        );
        let empty = error(&tools, "delegate", json!({"task": "  "})).await;
        assert!(empty.contains("field `task` is empty"), "{empty}");
    }
    assert!(calls(&recorder).is_empty());
}

#[tokio::test]
async fn without_a_delegate_the_tool_is_not_offered_and_a_call_is_an_error() {
    let fx = Fixture::new();
    let tools = fx.toolbox(explorer());
    assert!(!tools.names().contains(&"delegate"));
    let text = error(&tools, "delegate", json!({"task": "t"})).await;
    assert_eq!(
        text,
        "delegate is not available in this run; do the work yourself"
    );
}

#[tokio::test]
async fn a_failed_helper_is_a_tool_error() {
    let fx = Fixture::new();
    let recorder = Arc::new(Recorder {
        fail: true,
        ..Recorder::default()
    });
    let tools = fx.toolbox(explorer()).with_delegate(recorder);
    let text = error(&tools, "delegate", json!({"task": "t"})).await;
    assert_eq!(text, "the helper failed: the model budget ran out");
}
