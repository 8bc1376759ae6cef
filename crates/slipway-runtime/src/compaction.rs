//! Context compaction: near the model's context window, older turns are
//! summarized by a model call (a `compaction` span) and replaced, keeping the
//! system prompt, the task and the latest tool calls with their results.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use slipway_llm::{Block, ChatRequest, Message, Role};
use slipway_policy::mark_untrusted;
use slipway_types::{
    ContentDirection, ContentKind, SpanId, SpanStatus, TokenCounts, attributes as attr,
    operations as op,
};

use crate::agent::Agent;
use crate::error::RuntimeError;
use crate::recorder::{Recorder, SpanStart};

const INSTRUCTIONS: &str = "You compress an agent's working history. Summarize the conversation you are \
     given: what was learned (files, facts, decisions), what was changed, and what is left to do. Keep \
     paths, names and numbers exact. Reply with the summary only.";

/// A summary and what it cost.
pub(crate) struct Compacted {
    pub(crate) summary: String,
    pub(crate) tokens: TokenCounts,
    pub(crate) cost: Option<i64>,
}

/// Returns how many messages at the end stay as they are: the latest
/// assistant turn and the tool results that answer it.
fn kept_tail(messages: &[Message]) -> usize {
    match messages.last() {
        Some(last) if last.role == Role::User && messages.len() >= 3 => 2,
        Some(_) if messages.len() >= 2 => 1,
        _ => 0,
    }
}

/// Asks the model for a summary of everything between the task and the kept tail.
pub(crate) async fn summarize(
    agent: &Agent,
    recorder: &Arc<Recorder>,
    parent: &SpanId,
    messages: &[Message],
    boundary: &str,
) -> Result<Compacted, RuntimeError> {
    let model = &agent.options.model;
    let older = &messages[1..messages.len() - kept_tail(messages)];
    let transcript = serde_json::to_string_pretty(older).unwrap_or_default();
    let request = ChatRequest {
        model: model.model.clone(),
        system: INSTRUCTIONS.to_owned(),
        messages: vec![Message::user(mark_untrusted(
            "conversation history",
            &transcript,
            boundary,
        ))],
        tools: Vec::new(),
        max_tokens: agent.options.max_output_tokens,
        stream: false,
    };
    let span = recorder
        .start_span(SpanStart {
            parent: Some(parent),
            operation: op::COMPACTION,
            subject: &model.model,
            model: Some(&model.model),
            provider: Some(&model.provider),
            tool_name: None,
            attributes: BTreeMap::from([
                (attr::OPERATION_NAME.to_owned(), json!(op::COMPACTION)),
                ("slipway.compaction.messages".to_owned(), json!(older.len())),
            ]),
        })
        .await?;
    let response = match agent.provider.chat(&request, &mut |_| {}).await {
        Ok(response) => response,
        Err(err) => {
            recorder
                .end_span(
                    &span,
                    SpanStatus::Error,
                    TokenCounts::default(),
                    None,
                    Some(err.to_string()),
                    BTreeMap::new(),
                )
                .await?;
            return Err(RuntimeError::Model {
                provider: model.provider.clone(),
                source: err,
            });
        }
    };
    let tokens = crate::tokens(&response.usage);
    let cost = agent.prices.cost_micros(&model.key(), &tokens);
    recorder.add_usage(tokens, cost);
    let summary = response.text();
    if let Some(id) = recorder.content(ContentKind::Summary, &summary).await? {
        recorder
            .link(&span, ContentDirection::Output, &[id])
            .await?;
    }
    recorder
        .end_span(&span, SpanStatus::Ok, tokens, cost, None, BTreeMap::new())
        .await?;
    Ok(Compacted {
        summary,
        tokens,
        cost,
    })
}

/// Returns the task (with the summary added, marked as data) followed by the kept tail.
pub(crate) fn rebuild(messages: &[Message], summary: &str) -> Vec<Message> {
    let tail = kept_tail(messages);
    let mut task = messages
        .first()
        .cloned()
        .unwrap_or_else(|| Message::user(""));
    task.content.push(Block::text(format!(
        "Summary of the work so far (earlier turns were compacted):\n{summary}"
    )));
    std::iter::once(task)
        .chain(messages[messages.len() - tail..].iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(id: &str) -> Message {
        Message::assistant(vec![Block::ToolCall {
            id: id.into(),
            name: "read_file".into(),
            arguments: "{}".into(),
        }])
    }

    fn results(id: &str) -> Message {
        Message {
            role: Role::User,
            content: vec![Block::ToolResult {
                call_id: id.into(),
                content: "x".into(),
                is_error: false,
            }],
        }
    }

    #[test]
    fn rebuilding_keeps_the_task_and_the_latest_call_with_its_results() {
        let messages = vec![
            Message::user("task"),
            calls("1"),
            results("1"),
            calls("2"),
            results("2"),
        ];
        let rebuilt = rebuild(&messages, "learned things");
        assert_eq!(rebuilt.len(), 3);
        assert_eq!(rebuilt[0].content[0], Block::text("task"));
        assert!(
            matches!(&rebuilt[0].content[1], Block::Text { text } if text.contains("learned things"))
        );
        assert_eq!(rebuilt[1], calls("2"));
        assert_eq!(rebuilt[2], results("2"));
    }
}
