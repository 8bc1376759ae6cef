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

use crate::agent::{Agent, Cancel};
use crate::error::RuntimeError;
use crate::recorder::{Recorder, SpanStart};

const INSTRUCTIONS: &str = "You compress an agent's working history. You are given its task (with the \
     summary of any turns compacted before) and the turns since. Summarize them as one: what was learned \
     (files, facts, decisions), what was changed, and what is left to do for the task. Keep paths, names \
     and numbers exact. Reply with the summary only.";

/// Opens the block a summary is added to the task as; a later summary replaces it.
const SUMMARY_HEADER: &str = "Summary of the work so far (earlier turns were compacted):\n";

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

/// Asks the model for a summary of everything before the kept tail: the task,
/// with the summary of an earlier compaction, and the turns since. The
/// summary replaces the earlier one, so repeated compactions do not pile
/// summaries up in the task. `None` when the run was cancelled meanwhile.
pub(crate) async fn summarize(
    agent: &Agent,
    recorder: &Arc<Recorder>,
    parent: &SpanId,
    messages: &[Message],
    boundary: &str,
    cancel: &Cancel,
) -> Result<Option<Compacted>, RuntimeError> {
    let model = &agent.options.model;
    let summarized = &messages[..messages.len() - kept_tail(messages)];
    // The task stays; the turns after it are replaced.
    let replaced = summarized.len().saturating_sub(1);
    let transcript = serde_json::to_string_pretty(summarized).unwrap_or_default();
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
    let span = recorder.start_span(SpanStart {
        parent: Some(parent),
        operation: op::COMPACTION,
        subject: &model.model,
        model: Some(&model.model),
        provider: Some(&model.provider),
        tool_name: None,
        attributes: BTreeMap::from([
            (attr::OPERATION_NAME.to_owned(), json!(op::COMPACTION)),
            ("slipway.compaction.messages".to_owned(), json!(replaced)),
        ]),
    });
    let mut ignore = |_| {};
    let call = agent.provider.chat(&request, &mut ignore);
    let result = tokio::select! {
        result = call => Some(result),
        () = cancel.cancelled() => None,
    };
    let failed = |error: String| {
        recorder.end_span(
            &span,
            SpanStatus::Error,
            TokenCounts::default(),
            None,
            Some(error),
            BTreeMap::new(),
        );
    };
    let Some(result) = result else {
        failed("cancelled".to_owned());
        return Ok(None);
    };
    let response = match result {
        Ok(response) => response,
        Err(err) => {
            failed(err.to_string());
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
    if let Some(id) = recorder.content(ContentKind::Summary, &summary) {
        recorder.link(&span, ContentDirection::Output, &[id]);
    }
    recorder.end_span(&span, SpanStatus::Ok, tokens, cost, None, BTreeMap::new());
    Ok(Some(Compacted {
        summary,
        tokens,
        cost,
    }))
}

/// Returns the task (with the summary in place of any earlier one) followed
/// by the kept tail. The summary was written from tool results, so it is
/// marked as data like them.
pub(crate) fn rebuild(messages: &[Message], summary: &str, boundary: &str) -> Vec<Message> {
    let tail = kept_tail(messages);
    let mut task = messages
        .first()
        .cloned()
        .unwrap_or_else(|| Message::user(""));
    let mut blocks = std::mem::take(&mut task.content).into_iter();
    task.content.extend(blocks.next());
    task.content.extend(blocks.filter(
        |block| !matches!(block, Block::Text { text } if text.starts_with(SUMMARY_HEADER)),
    ));
    let marked = mark_untrusted("compaction summary", summary, boundary);
    task.content
        .push(Block::text(format!("{SUMMARY_HEADER}{marked}")));
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
        let rebuilt = rebuild(&messages, "learned things", "b0und");
        assert_eq!(rebuilt.len(), 3);
        assert_eq!(rebuilt[0].content[0], Block::text("task"));
        assert!(
            matches!(&rebuilt[0].content[1], Block::Text { text } if text.contains("learned things")
                && text.contains("BEGIN b0und"))
        );
        assert_eq!(rebuilt[1], calls("2"));
        assert_eq!(rebuilt[2], results("2"));
    }

    #[test]
    fn a_later_summary_replaces_the_earlier_one() {
        let first = rebuild(
            &[
                Message::user("task"),
                calls("1"),
                results("1"),
                calls("2"),
                results("2"),
            ],
            "first summary",
            "b0und",
        );
        let mut messages = first;
        messages.extend([calls("3"), results("3")]);
        let rebuilt = rebuild(&messages, "second summary", "b0und");
        assert_eq!(rebuilt.len(), 3);
        assert_eq!(
            rebuilt[0].content,
            [
                Block::text("task"),
                Block::text(format!(
                    "{SUMMARY_HEADER}{}",
                    mark_untrusted("compaction summary", "second summary", "b0und")
                ))
            ]
        );
        assert_eq!(rebuilt[1], calls("3"));
    }
}
