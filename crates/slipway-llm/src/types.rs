//! The provider-neutral conversation: what the runtime sends and gets back,
//! whatever the wire protocol.

use serde::{Deserialize, Serialize};

/// Who wrote a message. The system prompt is not a message: it is
/// [`ChatRequest::system`], sent the way each protocol wants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Text {
        text: String,
    },
    /// `arguments` is the raw JSON text the model produced: it may not parse.
    /// [`crate::parse_tool_arguments`] turns it into a JSON object, or an
    /// error to give back to the model.
    ToolCall {
        id: String,
        name: String,
        arguments: String,
    },
    ToolResult {
        call_id: String,
        content: String,
        is_error: bool,
    },
}

impl Block {
    /// Returns a text block.
    #[must_use]
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Block>,
}

impl Message {
    /// Returns a user message holding one text block.
    #[must_use]
    pub fn user(text: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: vec![Block::text(text)],
        }
    }

    /// Returns an assistant message with the given blocks.
    #[must_use]
    pub fn assistant(content: Vec<Block>) -> Self {
        Self {
            role: Role::Assistant,
            content,
        }
    }
}

/// A tool the model may call; `input_schema` is a JSON Schema object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
}

/// One model call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model's name, without the provider prefix.
    pub model: String,
    /// The stable prefix (role prompt + `AGENTS.md`); byte-stable across
    /// turns so that providers can cache it.
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    pub max_tokens: u32,
    /// Asks for server-sent events; the events go to the `on_event` callback
    /// of [`crate::Provider::chat`] as they arrive.
    pub stream: bool,
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
    Refusal,
    /// A reason this crate does not know, as the provider spelled it.
    Other(String),
}

/// Tokens of one call, each kind counted once.
///
/// The three input kinds are disjoint: `input_tokens` excludes the cached
/// ones. `reasoning_tokens` is the part of `output_tokens` the model spent
/// reasoning (OpenAI bills it as output), so it is not added again for cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Usage {
    /// Uncached input.
    pub input_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
}

impl Usage {
    /// Returns every input token, cached or not.
    #[must_use]
    pub fn total_input_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.cache_read_tokens)
            .saturating_add(self.cache_write_tokens)
    }
}

/// What one model call produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub id: Option<String>,
    pub model: String,
    pub content: Vec<Block>,
    pub stop: StopReason,
    pub usage: Usage,
}

impl ChatResponse {
    /// Returns the text blocks joined, in order.
    #[must_use]
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|block| match block {
                Block::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Returns the tool calls as `(id, name, raw arguments)`, in order.
    #[must_use]
    pub fn tool_calls(&self) -> Vec<(&str, &str, &str)> {
        self.content
            .iter()
            .filter_map(|block| match block {
                Block::ToolCall {
                    id,
                    name,
                    arguments,
                } => Some((id.as_str(), name.as_str(), arguments.as_str())),
                _ => None,
            })
            .collect()
    }
}

/// What a streaming call reports as it goes. The [`ChatResponse`] returned
/// at the end is the authority; these are for showing progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamEvent {
    Text(String),
    ToolCallStarted { id: String, name: String },
    ToolArguments { id: String, delta: String },
}
