//! A bare HTTP server on loopback for answers the fake model cannot give (a
//! redirect): it reads each request and answers with the same raw bytes.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) struct RawServer {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl RawServer {
    /// Starts a server answering every request with `answer`, verbatim,
    /// and closing the connection. It lives as long as the test process.
    pub(crate) fn start(answer: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                if read_request(&mut stream) {
                    counted.fetch_add(1, Ordering::SeqCst);
                    stream.write_all(answer.as_bytes()).unwrap();
                }
            }
        });
        Self { addr, requests }
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Returns how many requests were answered.
    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Reads one request, head and body; false when the client hung up first.
fn read_request(stream: &mut TcpStream) -> bool {
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        let Ok(read @ 1..) = stream.read(&mut buffer) else {
            return false;
        };
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
            return true;
        }
    }
}
