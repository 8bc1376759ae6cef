//! The idle timeout, against servers on loopback: it ends a stream that
//! stalls mid-answer, and leaves alone an answer that is slow to start.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::time::Duration;

use slipway_test_support::{FakeModel, Turn};

use super::*;
use crate::{Message, RetryPolicy};

fn settings(base_url: String) -> ProviderSettings {
    ProviderSettings {
        name: "loopback".into(),
        api: Api::Messages,
        base_url,
        api_key: Some("sk-test-key".into()),
        timeout: Duration::from_secs(30),
        retry: RetryPolicy::none(),
    }
}

fn request(stream: bool) -> ChatRequest {
    ChatRequest {
        model: "test-model".into(),
        system: String::new(),
        messages: vec![Message::user("hi")],
        tools: Vec::new(),
        max_tokens: 64,
        stream,
    }
}

/// Reads one request, head and body, so that what the client sends next
/// (nothing, or the end of the connection) is what a read sees.
fn read_request(stream: &mut std::net::TcpStream) {
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        let read = stream.read(&mut buffer).unwrap();
        assert!(read > 0, "the client hung up before its request was read");
        received.extend_from_slice(&buffer[..read]);
        let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map_or(0, |value| value.trim().parse().unwrap());
        if received.len() >= end + 4 + length {
            return;
        }
    }
}

/// Serves one connection: the head of a streamed Messages answer and its
/// first text, then silence until the client hangs up.
fn stalling_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        read_request(&mut stream);
        let events = concat!(
            "event: message_start\n",
            "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":5}}}\n\n",
            "event: content_block_start\n",
            "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: content_block_delta\n",
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n",
        );
        write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{events}\r\n",
            events.len()
        )
        .unwrap();
        stream.flush().unwrap();
        // Silent until the client gives up and closes the connection.
        let _ = stream.read(&mut [0; 1]);
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_stream_that_stalls_mid_answer_ends_in_an_idle_timeout() {
    let idle = Duration::from_millis(200);
    let provider = HttpProvider::new(settings(stalling_server())).with_idle_timeout(idle);
    let mut events = Vec::new();
    let result = provider
        .chat(&request(true), &mut |event| events.push(event))
        .await;
    let error = result.unwrap_err();
    assert_eq!(
        error,
        LlmError::Timeout {
            after: idle,
            idle: true
        },
        "not the 30 s limit of the whole call"
    );
    assert!(error.is_retryable());
    assert_eq!(events, [StreamEvent::Text("Hel".into())]);
}

#[tokio::test]
async fn an_answer_slow_to_start_is_not_an_idle_timeout() {
    // A reply that is not streamed starts only once the model is done.
    let fake = FakeModel::start([Turn::text("worth the wait").delayed(Duration::from_millis(600))]);
    let provider = HttpProvider::new(settings(
        fake.base_url(slipway_test_support::Protocol::Messages),
    ))
    .with_idle_timeout(Duration::from_millis(100));
    let response = provider.chat(&request(false), &mut |_| {}).await.unwrap();
    assert_eq!(response.text(), "worth the wait");
}
