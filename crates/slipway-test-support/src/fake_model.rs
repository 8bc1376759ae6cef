//! A fake model server: real HTTP on `127.0.0.1:0`, speaking Anthropic
//! Messages (`/v1/messages`), OpenAI Chat Completions
//! (`/v1/chat/completions`) and OpenAI Responses (`/v1/responses`), with a
//! body or real server-sent events as each request's `stream` field asks.
//!
//! Replies come from a script of [`Turn`]s, one per request in order,
//! whatever the path: text, tool calls, HTTP errors, streams cut mid-event,
//! raw bytes, delays. Every request is recorded for assertions. A request
//! past the end of the script gets HTTP 418 with a body saying so.
//!
//! The server runs on a thread of its own, so it serves sync and async tests
//! alike; it stops when the [`FakeModel`] is dropped.

mod anthropic;
mod chat;
mod responses;
mod script;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::oneshot;

pub use script::{FakeToolCall, FakeUsage, Reply, Turn};

/// The three wire protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Messages,
    Chat,
    Responses,
}

impl Protocol {
    fn from_path(path: &str) -> Option<Self> {
        match path {
            "/v1/messages" => Some(Self::Messages),
            "/v1/chat/completions" => Some(Self::Chat),
            "/v1/responses" => Some(Self::Responses),
            _ => None,
        }
    }
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The JSON body, or `Value::Null` when it was not JSON.
    pub body: Value,
}

impl RecordedRequest {
    /// Returns the first value of a header, by case-insensitive name.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Default)]
struct Shared {
    turns: Mutex<VecDeque<Turn>>,
    /// Scripts for requests whose body holds a key, checked in the order added.
    routes: Mutex<Vec<(String, VecDeque<Turn>)>>,
    requests: Mutex<Vec<RecordedRequest>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The running server; stops on drop.
pub struct FakeModel {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeModel {
    /// Starts a server that will answer with `turns`, in order.
    pub fn start(turns: impl IntoIterator<Item = Turn>) -> Self {
        let shared = Arc::new(Shared::default());
        lock(&shared.turns).extend(turns);
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fake model server");
        listener
            .set_nonblocking(true)
            .expect("make the fake model's socket non-blocking");
        let addr = listener
            .local_addr()
            .expect("read the fake model's address");
        let (stop, stopped) = oneshot::channel::<()>();
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let thread = std::thread::Builder::new()
            .name("fake-model".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("build the fake model's runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("hand the socket to tokio");
                    tokio::select! {
                        served = axum::serve(listener, app) => {
                            served.expect("serve the fake model");
                        }
                        _ = stopped => {}
                    }
                });
            })
            .expect("start the fake model's thread");
        Self {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Returns the base URL a client of `protocol` is given: the server's
    /// root for Messages, with `/v1` for the OpenAI protocols.
    #[must_use]
    pub fn base_url(&self, protocol: Protocol) -> String {
        match protocol {
            Protocol::Messages => format!("http://{}", self.addr),
            Protocol::Chat | Protocol::Responses => format!("http://{}/v1", self.addr),
        }
    }

    /// Returns the server's address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Appends turns to the script.
    pub fn push(&self, turns: impl IntoIterator<Item = Turn>) {
        lock(&self.shared.turns).extend(turns);
    }

    /// Answers requests whose JSON body contains `key` (as it appears in the
    /// serialized body) with `turns`, in order, before the main script: for
    /// agents that run at the same time, whose requests arrive in no set order.
    /// Keys are tried in the order they were added; one whose turns are used
    /// up is passed over.
    pub fn route(&self, key: &str, turns: impl IntoIterator<Item = Turn>) {
        let mut routes = lock(&self.shared.routes);
        if let Some((_, queue)) = routes.iter_mut().find(|(k, _)| k == key) {
            queue.extend(turns);
        } else {
            routes.push((key.to_owned(), turns.into_iter().collect()));
        }
    }

    /// Returns how many turns are left, routed ones included.
    #[must_use]
    pub fn remaining(&self) -> usize {
        lock(&self.shared.turns).len()
            + lock(&self.shared.routes)
                .iter()
                .map(|(_, q)| q.len())
                .sum::<usize>()
    }

    /// Returns the requests received so far, in order.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let number = {
        let mut requests = lock(&shared.requests);
        requests.push(RecordedRequest {
            method: method.to_string(),
            path: uri.path().to_owned(),
            headers: headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: json.clone(),
        });
        requests.len()
    };
    let Some(protocol) = Protocol::from_path(uri.path()) else {
        return plain(
            StatusCode::NOT_FOUND,
            &format!(
                "FakeModel serves /v1/messages, /v1/chat/completions and /v1/responses, not {}",
                uri.path()
            ),
        );
    };
    let routed = {
        let text = String::from_utf8_lossy(&body);
        lock(&shared.routes)
            .iter_mut()
            .find(|(key, queue)| !queue.is_empty() && text.contains(key.as_str()))
            .and_then(|(_, queue)| queue.pop_front())
    };
    let Some(mut turn) = routed.or_else(|| lock(&shared.turns).pop_front()) else {
        return plain(
            StatusCode::IM_A_TEAPOT,
            &format!(
                "FakeModel: the script has no turn left for request {number} ({method} {}); add turns",
                uri.path()
            ),
        );
    };
    while let Turn::Delayed { delay, turn: inner } = turn {
        tokio::time::sleep(delay).await;
        turn = *inner;
    }
    let request = RequestInfo {
        protocol,
        model: json["model"].as_str().unwrap_or("fake-model").to_owned(),
        stream: json["stream"].as_bool().unwrap_or(false),
        include_usage: json["stream_options"]["include_usage"]
            .as_bool()
            .unwrap_or(false),
        number,
    };
    answer(&request, turn)
}

/// What the renderers need to know of a request.
pub(crate) struct RequestInfo {
    pub(crate) protocol: Protocol,
    pub(crate) model: String,
    pub(crate) stream: bool,
    pub(crate) include_usage: bool,
    /// The request's number, from 1, for ids.
    pub(crate) number: usize,
}

fn answer(request: &RequestInfo, turn: Turn) -> Response {
    match turn {
        Turn::Reply(reply) => {
            if request.stream {
                sse(render_events(request, &reply), None)
            } else {
                json_response(&render_body(request, &reply))
            }
        }
        Turn::Error {
            status,
            body,
            retry_after,
        } => {
            let mut response = plain(status_code(status), &body);
            if let Some(value) = retry_after {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    value.parse().expect("a retry-after header value"),
                );
            }
            if body.trim_start().starts_with('{') {
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    "application/json".parse().expect("a content type"),
                );
            }
            response
        }
        Turn::Cut {
            reply,
            after_events,
        } => {
            if request.stream {
                sse(render_events(request, &reply), Some(after_events))
            } else {
                let body = serde_json::to_vec(&render_body(request, &reply)).expect("JSON");
                let half = Bytes::copy_from_slice(&body[..body.len() / 2]);
                Response::builder()
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(cut_body(vec![half]))
                    .expect("a response")
            }
        }
        Turn::Raw {
            status,
            content_type,
            body,
        } => Response::builder()
            .status(status_code(status))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .expect("a response"),
        Turn::Delayed { turn, .. } => answer(request, *turn),
    }
}

fn render_body(request: &RequestInfo, reply: &Reply) -> Value {
    match request.protocol {
        Protocol::Messages => anthropic::body(request, reply),
        Protocol::Chat => chat::body(request, reply),
        Protocol::Responses => responses::body(request, reply),
    }
}

/// Returns the reply's events, each a complete SSE event ending in a blank line.
fn render_events(request: &RequestInfo, reply: &Reply) -> Vec<String> {
    match request.protocol {
        Protocol::Messages => anthropic::events(request, reply),
        Protocol::Chat => chat::events(request, reply),
        Protocol::Responses => responses::events(request, reply),
    }
}

/// A streaming answer, one chunk per event; with `cut_after`, that many
/// events, half of the next, and then the connection drops.
fn sse(events: Vec<String>, cut_after: Option<usize>) -> Response {
    let mut chunks = Vec::new();
    let mut cut = false;
    for (index, event) in events.into_iter().enumerate() {
        if cut_after == Some(index) {
            let half = event.len() / 2;
            let half = (0..=half)
                .rev()
                .find(|&i| event.is_char_boundary(i))
                .unwrap_or(0);
            chunks.push(Bytes::from(event[..half].to_owned()));
            cut = true;
            break;
        }
        chunks.push(Bytes::from(event));
    }
    let body = if cut {
        cut_body(chunks)
    } else {
        Body::from_stream(futures_util::stream::iter(
            chunks.into_iter().map(Ok::<_, std::io::Error>),
        ))
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(body)
        .expect("a response")
}

/// A body that sends `chunks` and then drops the connection. The pause
/// before the drop lets the headers and chunks reach the client first, so
/// that the client sees a cut body, not a refused request.
fn cut_body(chunks: Vec<Bytes>) -> Body {
    let sent = futures_util::stream::iter(chunks.into_iter().map(Ok));
    let cut = futures_util::stream::once(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "FakeModel cut the stream",
        ))
    });
    Body::from_stream(futures_util::StreamExt::chain(sent, cut))
}

fn json_response(body: &Value) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).expect("JSON")))
        .expect("a response")
}

fn plain(status: StatusCode, body: &str) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(body.to_owned()))
        .expect("a response")
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).expect("a scripted HTTP status between 100 and 999")
}

/// Returns one SSE event: an `event:` line when named, one `data:` line.
pub(crate) fn sse_event(name: Option<&str>, data: &Value) -> String {
    let data = serde_json::to_string(data).expect("JSON");
    match name {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

/// Splits text into up to three pieces at character boundaries, so that
/// deltas really arrive in parts.
pub(crate) fn pieces(text: &str) -> Vec<&str> {
    let chars: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    if chars.len() < 3 {
        return if text.is_empty() { vec![] } else { vec![text] };
    }
    let a = chars[chars.len() / 3];
    let b = chars[2 * chars.len() / 3];
    vec![&text[..a], &text[a..b], &text[b..]]
}

/// Returns a call's arguments as JSON: the value when they parse, else the
/// raw text as a JSON string.
pub(crate) fn arguments_value(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_owned()))
}
