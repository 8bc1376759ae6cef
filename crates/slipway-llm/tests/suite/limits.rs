//! What a server may send: error bodies are kept to their start, a plain
//! answer and a streamed reply may reach their limit but not pass it.

use std::fmt::Write as _;

use slipway_llm::{
    Api, LlmError, MAX_BODY_BYTES, MAX_ERROR_BODY_BYTES, MAX_STREAMED_BYTES, StreamEvent,
};
use slipway_test_support::{FakeModel, Turn};

use super::loopback::RawServer;
use super::support::{call, replay, request, settings};

const MIB: usize = 1024 * 1024;

fn kept_body(error: LlmError) -> String {
    match error {
        LlmError::Http { body, .. } => body,
        other => panic!("not an HTTP error: {other:?}"),
    }
}

#[tokio::test]
async fn an_error_body_is_kept_to_its_first_64_kib() {
    let at_limit = "e".repeat(MAX_ERROR_BODY_BYTES);
    // 4 MiB of two-byte characters, so that the cut may fall inside one.
    let huge = "é".repeat(2 * MIB);
    let fake = FakeModel::start([Turn::error(400, &at_limit), Turn::error(400, &huge)]);

    let (_, response) = call(settings(&fake, Api::Chat), &request(false)).await;
    assert_eq!(kept_body(response.unwrap_err()), at_limit, "kept whole");

    let (_, response) = call(settings(&fake, Api::Chat), &request(false)).await;
    let error = response.unwrap_err();
    assert_eq!(error.status(), Some(400));
    let kept = kept_body(error);
    assert!(
        kept.len() <= MAX_ERROR_BODY_BYTES,
        "{} bytes kept",
        kept.len()
    );
    let note = format!(" … (cut: the body is longer than {MAX_ERROR_BODY_BYTES} bytes)");
    let start = kept.strip_suffix(&note).expect("the note says it was cut");
    assert!(
        start.len() > MAX_ERROR_BODY_BYTES - note.len() - 2,
        "as much as fits is kept: {}",
        start.len()
    );
    assert!(huge.starts_with(start), "the start of the body, unchanged");
}

const HEAD: &str =
    r#"{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":""#;
const TAIL: &str = r#""},"finish_reason":"stop"}]}"#;

#[tokio::test]
async fn an_error_body_is_not_read_past_the_limit() {
    // A body that promises 1 GiB and ends after 1 MiB: read to its end, it
    // fails; read only as far as the limit, it is merely cut.
    let server = RawServer::start(format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{}",
        1024 * MIB,
        "x".repeat(MIB)
    ));
    let fake = FakeModel::start([]);
    let mut settings = settings(&fake, Api::Chat);
    settings.base_url = server.base_url();
    let (_, response) = call(settings, &request(false)).await;
    let kept = kept_body(response.unwrap_err());
    assert!(
        kept.ends_with(&format!(
            "x … (cut: the body is longer than {MAX_ERROR_BODY_BYTES} bytes)"
        )),
        "{}",
        &kept[kept.len().saturating_sub(200)..]
    );
    assert!(kept.len() <= MAX_ERROR_BODY_BYTES);
}

/// Returns a Chat Completions answer of exactly `len` bytes.
fn chat_body(len: usize) -> String {
    format!("{HEAD}{}{TAIL}", "a".repeat(len - HEAD.len() - TAIL.len()))
}

fn json_turn(body: String) -> Turn {
    Turn::Raw {
        status: 200,
        content_type: "application/json".into(),
        body,
    }
}

#[tokio::test]
async fn a_plain_answer_may_fill_but_not_pass_32_mib() {
    let fake = FakeModel::start([
        json_turn(chat_body(MAX_BODY_BYTES)),
        json_turn(chat_body(MAX_BODY_BYTES + 1)),
    ]);

    let (_, response) = call(settings(&fake, Api::Chat), &request(false)).await;
    let text = response.unwrap().text();
    assert_eq!(text.len(), MAX_BODY_BYTES - HEAD.len() - TAIL.len());

    let (_, response) = call(settings(&fake, Api::Chat), &request(false)).await;
    let error = response.unwrap_err();
    assert!(matches!(error, LlmError::Protocol { .. }), "{error:?}");
    assert!(!error.is_retryable());
    assert!(
        error
            .to_string()
            .contains("a response body longer than 33554432 bytes (32 MiB)"),
        "{error}"
    );
    assert_eq!(
        fake.requests().len(),
        2,
        "the last answer was not asked again"
    );
}

/// Returns a streamed Chat Completions reply: a text piece of each of the
/// `text` lengths, then a tool call with argument pieces of the `arguments`
/// lengths.
fn chat_stream(text: &[usize], arguments: &[usize]) -> String {
    let mut stream = String::new();
    for &len in text {
        let content = "a".repeat(len);
        write!(
            stream,
            "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}}}}]}}\n\n"
        )
        .unwrap();
    }
    for &len in arguments {
        let piece = "b".repeat(len);
        write!(
            stream,
            "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"id\":\"call_1\",\"function\":{{\"name\":\"write\",\"arguments\":\"{piece}\"}}}}]}}}}]}}\n\n"
        )
        .unwrap();
    }
    stream.push_str("data: [DONE]\n\n");
    stream
}

/// Returns the bytes of text and tool-call arguments the events carried.
fn streamed_bytes(events: &[StreamEvent]) -> usize {
    let (text, calls) = replay(events);
    text.len()
        + calls
            .iter()
            .map(|(_, _, arguments)| arguments.len())
            .sum::<usize>()
}

#[tokio::test]
async fn a_streamed_reply_may_fill_but_not_pass_32_mib() {
    assert_eq!(MAX_STREAMED_BYTES, 32 * MIB);
    let fake = FakeModel::start([
        Turn::raw_sse(&chat_stream(&[MIB; 31], &[MIB])),
        // Over by one byte, of tool-call arguments.
        Turn::raw_sse(&chat_stream(&[MIB; 31], &[MIB, 1])),
    ]);

    let (events, response) = call(settings(&fake, Api::Chat), &request(true)).await;
    let response = response.unwrap();
    assert_eq!(streamed_bytes(&events), MAX_STREAMED_BYTES);
    assert_eq!(response.text().len(), 31 * MIB);
    assert_eq!(response.tool_calls()[0].2.len(), MIB);

    let (events, response) = call(settings(&fake, Api::Chat), &request(true)).await;
    let error = response.unwrap_err();
    assert!(matches!(error, LlmError::Protocol { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("more than 33554432 bytes (32 MiB) of text and tool-call arguments"),
        "{error}"
    );
    assert_eq!(
        streamed_bytes(&events),
        MAX_STREAMED_BYTES,
        "what passes the limit is not forwarded"
    );
    assert_eq!(fake.requests().len(), 2);
}
