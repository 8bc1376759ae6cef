//! A provider that replays a list of responses in process: for
//! `slipway demo` and for tests of code above the model.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use crate::{Block, ChatRequest, ChatResponse, LlmError, Provider, StreamEvent};

/// Replies from a list of [`ChatResponse`]s, in order, one per call; a call
/// past the end is [`LlmError::ScriptExhausted`]. A streaming request gets
/// the reply's blocks as events first. Every request is kept.
pub struct ScriptedProvider {
    name: String,
    total: usize,
    state: Mutex<State>,
}

struct State {
    replies: VecDeque<ChatResponse>,
    requests: Vec<ChatRequest>,
}

impl ScriptedProvider {
    /// Returns a provider named "scripted" that will give `replies`.
    #[must_use]
    pub fn new(replies: Vec<ChatResponse>) -> Self {
        Self {
            name: "scripted".to_owned(),
            total: replies.len(),
            state: Mutex::new(State {
                replies: replies.into(),
                requests: Vec::new(),
            }),
        }
    }

    /// Returns the same provider under another name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Returns how many replies are left.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.lock().replies.len()
    }

    /// Returns the requests received so far, in order.
    #[must_use]
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent across a panic: every change is one push or pop.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Provider for ScriptedProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn chat(
        &self,
        request: &ChatRequest,
        on_event: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let reply = {
            let mut state = self.lock();
            state.requests.push(request.clone());
            let call = state.requests.len();
            state.replies.pop_front().ok_or(LlmError::ScriptExhausted {
                call,
                replies: self.total,
            })?
        };
        if request.stream {
            for block in &reply.content {
                match block {
                    Block::Text { text } => on_event(StreamEvent::Text(text.clone())),
                    Block::ToolCall {
                        id,
                        name,
                        arguments,
                    } => {
                        on_event(StreamEvent::ToolCallStarted {
                            id: id.clone(),
                            name: name.clone(),
                        });
                        on_event(StreamEvent::ToolArguments {
                            id: id.clone(),
                            delta: arguments.clone(),
                        });
                    }
                    Block::ToolResult { .. } => {}
                }
            }
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{StopReason, Usage};

    fn reply(text: &str) -> ChatResponse {
        ChatResponse {
            id: None,
            model: "script".into(),
            content: vec![
                Block::text(text),
                Block::ToolCall {
                    id: "1".into(),
                    name: "ls".into(),
                    arguments: "{}".into(),
                },
            ],
            stop: StopReason::EndTurn,
            usage: Usage::default(),
        }
    }

    fn request(stream: bool) -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            system: String::new(),
            messages: vec![crate::Message::user("hi")],
            tools: vec![],
            max_tokens: 10,
            stream,
        }
    }

    #[tokio::test]
    async fn replays_in_order_then_says_the_script_ran_out() {
        let provider = ScriptedProvider::new(vec![reply("one"), reply("two")]);
        let mut events = Vec::new();
        let mut sink = |event| events.push(event);
        assert_eq!(
            provider
                .chat(&request(true), &mut sink)
                .await
                .unwrap()
                .text(),
            "one"
        );
        assert_eq!(
            provider
                .chat(&request(false), &mut sink)
                .await
                .unwrap()
                .text(),
            "two"
        );
        let error = provider.chat(&request(false), &mut sink).await.unwrap_err();
        assert_eq!(
            error,
            LlmError::ScriptExhausted {
                call: 3,
                replies: 2
            }
        );
        assert_eq!(
            error.to_string(),
            "the scripted model has no reply left for call 3 (it holds 2): add replies to the script"
        );
        assert_eq!(events.len(), 3, "only the streaming call sends events");
        assert_eq!(provider.requests().len(), 3);
        assert_eq!(provider.remaining(), 0);
        assert_eq!(provider.name(), "scripted");
    }
}
