//! Slipway's model providers: one provider-neutral conversation
//! ([`ChatRequest`] → [`ChatResponse`]) spoken over Anthropic Messages,
//! OpenAI Chat Completions (and the many servers compatible with it) and
//! OpenAI Responses, streaming or not, with usage kept apart by token kind,
//! retries with jittered backoff, a per-call timeout, and limits on what a
//! server may send ([`MAX_BODY_BYTES`], [`MAX_ERROR_BODY_BYTES`],
//! [`MAX_STREAMED_BYTES`]). Also the scripted in-process provider that
//! `slipway demo` uses.
//!
//! This crate knows nothing of traces, prices or policy: the runtime
//! (`slipway-runtime`) records every call, `slipway-config` holds the price
//! table, and tool-call arguments are handed over as the raw text the model
//! sent, for the runtime to judge. API keys are passed in by the caller,
//! read from the environment, never from `slipway.toml`.
//!
//! The server-sent-events parser ([`SseParser`]) is hand-written and fuzzed
//! (`fuzz/` at the repository root), as are [`parse_response`] and
//! [`parse_tool_arguments`].

mod anthropic;
mod body;
mod error;
mod http;
mod openai_chat;
mod openai_responses;
mod provider;
mod retry;
mod scripted;
mod sse;
mod tool_args;
mod types;
mod wire;

pub use body::{MAX_BODY_BYTES, MAX_ERROR_BODY_BYTES};
pub use error::LlmError;
pub use provider::{
    Api, Provider, ProviderSettings, api_key_from_env, api_key_var, base_url_from_env,
    default_base_url, is_loopback_url, provider,
};
pub use retry::{RetryPolicy, parse_retry_after, parse_retry_after_ms};
pub use scripted::ScriptedProvider;
pub use sse::{MAX_EVENT_BYTES, SseError, SseEvent, SseParser};
pub use tool_args::{ToolArgumentsError, parse_tool_arguments};
pub use types::{
    Block, ChatRequest, ChatResponse, Message, Role, StopReason, StreamEvent, ToolSpec, Usage,
};
pub use wire::{MAX_STREAMED_BYTES, StreamDecoder, parse_response, request_body};
