//! What goes wrong: error statuses and retries, timeouts, refused
//! connections, cut streams and malformed answers.

use std::time::{Duration, Instant};

use slipway_llm::{Api, LlmError, RetryPolicy, StreamEvent, Usage};
use slipway_test_support::{FakeModel, FakeUsage, Protocol, Reply, Turn};

use super::loopback::RawServer;
use super::support::{call, request, settings};

#[tokio::test]
async fn a_429_then_success_is_retried() {
    let fake = FakeModel::start([
        Turn::error(
            429,
            r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#,
        ),
        Turn::text("made it"),
    ]);
    let (_, response) = call(settings(&fake, Api::Chat), &request(false)).await;
    assert_eq!(response.unwrap().text(), "made it");
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body, "the same request again");
}

#[tokio::test]
async fn a_529_overload_is_retried() {
    let overloaded =
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let fake = FakeModel::start([Turn::error(529, overloaded), Turn::text("ok")]);
    let (_, response) = call(settings(&fake, Api::Messages), &request(true)).await;
    assert_eq!(response.unwrap().text(), "ok");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let fake = FakeModel::start([
        Turn::error(429, "slow down").retry_after("1"),
        Turn::text("ok"),
    ]);
    let started = Instant::now();
    let (_, response) = call(settings(&fake, Api::Messages), &request(false)).await;
    response.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1), "waited only {waited:?}");
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");

    // A date already past means "now".
    let fake = FakeModel::start([
        Turn::error(503, "").retry_after("Thu, 01 Jan 1970 00:00:00 GMT"),
        Turn::text("ok"),
    ]);
    let started = Instant::now();
    call(settings(&fake, Api::Chat), &request(false))
        .await
        .1
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_retry_after_longer_than_the_policy_allows_gives_up_at_once() {
    let fake = FakeModel::start([Turn::error(429, "come back in an hour").retry_after("3600")]);
    let (_, response) = call(settings(&fake, Api::Responses), &request(false)).await;
    let error = response.unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_hours(1)));
    assert!(error.is_retryable(), "the caller may still choose to wait");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_400_is_not_retried_and_its_body_is_in_the_error() {
    let body = r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: 99999999 > 64000"}}"#;
    let fake = FakeModel::start([Turn::error(400, body), Turn::text("never")]);
    let (_, response) = call(settings(&fake, Api::Messages), &request(false)).await;
    let error = response.unwrap_err();
    assert!(!error.is_retryable());
    let LlmError::Http {
        status,
        body: kept,
        retry_after,
        location,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(
        (*status, kept.as_str(), *retry_after, location.as_deref()),
        (400, body, None, None)
    );
    assert!(
        error.to_string().contains("max_tokens: 99999999 > 64000"),
        "{error}"
    );
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(fake.remaining(), 1);
}

#[tokio::test]
async fn retries_are_bounded() {
    let fake = FakeModel::start((0..6).map(|_| Turn::error(500, "down")));
    let (_, response) = call(settings(&fake, Api::Chat), &request(false)).await;
    assert_eq!(response.unwrap_err().status(), Some(500));
    assert_eq!(fake.requests().len(), 4, "one try and three retries");
}

#[tokio::test]
async fn a_slow_answer_times_out_and_the_retry_succeeds() {
    let fake = FakeModel::start([Turn::text("late").delayed(Duration::from_secs(5))]);
    let mut quick = settings(&fake, Api::Messages);
    quick.timeout = Duration::from_millis(300);
    quick.retry = RetryPolicy::none();
    let started = Instant::now();
    let (_, response) = call(quick.clone(), &request(false)).await;
    assert_eq!(
        response.unwrap_err(),
        LlmError::Timeout {
            after: Duration::from_millis(300),
            idle: false,
        }
    );
    assert!(started.elapsed() < Duration::from_secs(3));

    let fake = FakeModel::start([
        Turn::text("late").delayed(Duration::from_secs(5)),
        Turn::text("on time"),
    ]);
    let mut retrying = settings(&fake, Api::Chat);
    retrying.timeout = Duration::from_millis(300);
    let (_, response) = call(retrying, &request(true)).await;
    assert_eq!(response.unwrap().text(), "on time");
}

#[tokio::test]
async fn a_refused_connection_is_a_retryable_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fake = FakeModel::start([]);
    let mut settings = settings(&fake, Api::Chat);
    settings.base_url = format!("http://127.0.0.1:{port}/v1");
    settings.retry = RetryPolicy::none();
    let (_, response) = call(settings, &request(false)).await;
    let error = response.unwrap_err();
    assert!(matches!(error, LlmError::Connect { .. }), "{error:?}");
    assert!(error.is_retryable());
}

fn hello() -> Reply {
    Reply {
        text: "Hello, world, how are you?".into(),
        ..Reply::default()
    }
}

#[tokio::test]
async fn a_stream_cut_before_any_output_is_retried() {
    // message_start and ping, then half of content_block_start.
    let fake = FakeModel::start([Turn::cut(hello(), 2), Turn::Reply(hello())]);
    let (events, response) = call(settings(&fake, Api::Messages), &request(true)).await;
    assert_eq!(response.unwrap().text(), "Hello, world, how are you?");
    let text: String = events
        .iter()
        .map(|e| match e {
            StreamEvent::Text(t) => t.as_str(),
            _ => "",
        })
        .collect();
    assert_eq!(text, "Hello, world, how are you?", "nothing shown twice");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn a_stream_cut_after_output_is_returned_for_the_caller_to_decide() {
    // The role chunk and two text pieces, then half of the third.
    let fake = FakeModel::start([Turn::cut(hello(), 3), Turn::Reply(hello())]);
    let (events, response) = call(settings(&fake, Api::Chat), &request(true)).await;
    let error = response.unwrap_err();
    assert!(matches!(error, LlmError::StreamClosed { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(
        error.partial_usage(),
        None,
        "Chat Completions reports usage only in its last chunk"
    );
    assert_eq!(events.len(), 2);
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_messages_stream_cut_after_output_keeps_the_usage_it_reported() {
    let usage = FakeUsage {
        input: 12,
        output: 34,
        cache_read: 1000,
        cache_write: 200,
        reasoning: 0,
    };
    // message_start (with the input counts), ping, the text block's start
    // and its first piece, then half of the second.
    let fake = FakeModel::start([Turn::cut(hello(), 4).usage(usage), Turn::Reply(hello())]);
    let (events, response) = call(settings(&fake, Api::Messages), &request(true)).await;
    let error = response.unwrap_err();
    assert!(matches!(error, LlmError::StreamClosed { .. }), "{error:?}");
    assert!(
        !events.is_empty(),
        "output was shown, so the call is not retried"
    );
    assert_eq!(
        error.partial_usage(),
        Some(Usage {
            input_tokens: 12,
            cache_read_tokens: 1000,
            cache_write_tokens: 200,
            output_tokens: 1,
            reasoning_tokens: 0,
        })
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_the_key_stays_home() {
    let elsewhere = FakeModel::start([Turn::text("the key went astray")]);
    let target = format!("{}/v1/messages", elsewhere.base_url(Protocol::Messages));
    let redirecting = RawServer::start(format!(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {target}\r\ncontent-length: 0\r\n\r\n"
    ));
    let mut settings = settings(&elsewhere, Api::Messages);
    settings.base_url = redirecting.base_url();
    let (_, response) = call(settings, &request(false)).await;
    let error = response.unwrap_err();
    assert_eq!(error.status(), Some(307));
    assert!(!error.is_retryable());
    let LlmError::Http { location, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(location.as_deref(), Some(target.as_str()));
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "redirects to {target}; set the base URL to {}",
            elsewhere.base_url(Protocol::Messages)
        )),
        "{message}"
    );
    assert_eq!(redirecting.requests(), 1, "asked once, not retried");
    assert!(
        elsewhere.requests().is_empty(),
        "nothing reached the target"
    );
}

#[tokio::test]
async fn every_protocol_reports_a_cut_stream() {
    for api in [Api::Messages, Api::Chat, Api::Responses] {
        let fake = FakeModel::start([Turn::cut(hello(), 1)]);
        let mut settings = settings(&fake, api);
        settings.retry = RetryPolicy::none();
        let (_, response) = call(settings, &request(true)).await;
        let error = response.unwrap_err();
        assert!(
            matches!(error, LlmError::StreamClosed { .. }),
            "{api}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_body_cut_short_is_retried() {
    let fake = FakeModel::start([Turn::cut(hello(), 0), Turn::Reply(hello())]);
    let (_, response) = call(settings(&fake, Api::Responses), &request(false)).await;
    assert_eq!(response.unwrap().text(), "Hello, world, how are you?");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn a_stream_that_ends_without_its_last_event_is_closed_early() {
    let started_only = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"x\"}}\n\n";
    let fake = FakeModel::start([Turn::raw_sse(started_only)]);
    let mut settings = settings(&fake, Api::Messages);
    settings.retry = RetryPolicy::none();
    let (_, response) = call(settings, &request(true)).await;
    assert!(
        matches!(response, Err(LlmError::StreamClosed { .. })),
        "{response:?}"
    );
}

#[tokio::test]
async fn malformed_sse_and_json_are_protocol_errors_not_retried() {
    for (api, turn) in [
        (
            Api::Messages,
            Turn::raw_sse("event: message_start\ndata: {not json\n\n"),
        ),
        (Api::Chat, Turn::raw_sse("data: [1, 2]\n\n")),
        (
            Api::Responses,
            Turn::raw_sse(
                "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\"}\n\n",
            ),
        ),
    ] {
        let fake = FakeModel::start([turn, Turn::text("never")]);
        let (_, response) = call(settings(&fake, api), &request(true)).await;
        let error = response.unwrap_err();
        assert!(
            matches!(error, LlmError::Protocol { .. }),
            "{api}: {error:?}"
        );
        assert!(!error.is_retryable());
        assert_eq!(fake.requests().len(), 1, "{api}");
    }
    let fake = FakeModel::start([Turn::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: "<html>gateway</html>".into(),
    }]);
    let (_, response) = call(settings(&fake, Api::Chat), &request(false)).await;
    assert!(
        matches!(response, Err(LlmError::Protocol { .. })),
        "{response:?}"
    );
}

#[tokio::test]
async fn a_plain_body_answering_a_streaming_request_is_read() {
    let body = r#"{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"plain"},"finish_reason":"stop"}]}"#;
    let fake = FakeModel::start([Turn::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: body.into(),
    }]);
    let (_, response) = call(settings(&fake, Api::Chat), &request(true)).await;
    assert_eq!(response.unwrap().text(), "plain");
}

#[tokio::test]
async fn a_request_past_the_script_says_so() {
    let fake = FakeModel::start([]);
    let (_, response) = call(settings(&fake, Api::Chat), &request(false)).await;
    let error = response.unwrap_err();
    assert_eq!(error.status(), Some(418));
    assert!(error.to_string().contains("no turn left"), "{error}");
}
