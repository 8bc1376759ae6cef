//! An incremental parser for `text/event-stream` (server-sent events).
//!
//! Hand-written: SSE is a small line protocol, and the crates for it pull in
//! a stream stack this crate does not otherwise need. It follows the HTML
//! standard's event-stream interpretation — lines end in `\r\n`, `\n` or
//! `\r`; `data:` lines join with `\n`; lines starting with `:` are comments;
//! a blank line dispatches the event — and it takes its input in chunks split
//! anywhere, even inside a UTF-8 character or between `\r` and `\n`. Where the
//! standard quietly drops an unfinished event at the end of the input, this
//! parser reports it: for a model's response it means the stream was cut.

use std::fmt;

/// The most bytes one event (its lines together) may take before the input
/// is called malformed: a guard against a server that never ends a line.
pub const MAX_EVENT_BYTES: usize = 32 * 1024 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if the event had one (the standard's "message"
    /// when it did not).
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The `id:` field, if this event had one.
    pub id: Option<String>,
    /// The `retry:` field in milliseconds, if this event had a valid one.
    pub retry: Option<u64>,
}

/// Input the parser cannot read. The parser is unusable after one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SseError {
    /// A line that is not UTF-8, at this byte offset of the whole input.
    InvalidUtf8 { offset: u64 },
    /// An event longer than [`MAX_EVENT_BYTES`].
    TooLong { offset: u64 },
    /// The input ended inside an event: a line without its end, or fields
    /// without the blank line that dispatches them.
    Truncated { offset: u64 },
}

impl SseError {
    /// Returns true when the input was well-formed but ended too soon.
    #[must_use]
    pub fn is_truncated(&self) -> bool {
        matches!(self, Self::Truncated { .. })
    }
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUtf8 { offset } => {
                write!(f, "event-stream line at byte {offset} is not UTF-8")
            }
            Self::TooLong { offset } => write!(
                f,
                "event-stream event at byte {offset} is longer than {MAX_EVENT_BYTES} bytes"
            ),
            Self::Truncated { offset } => {
                write!(f, "event stream ended inside an event at byte {offset}")
            }
        }
    }
}

impl std::error::Error for SseError {}

/// The parser's state between chunks.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the line not yet ended.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` starting the next one belongs to it.
    after_cr: bool,
    /// Bytes consumed so far, for error offsets.
    offset: u64,
    /// Offset where the current line started.
    line_start: u64,
    /// Offset where the current event started.
    event_start: u64,
    seen_first_line: bool,
    /// Some field line was read since the last dispatch.
    pending: bool,
    event_bytes: usize,
    event: Option<String>,
    data: String,
    id: Option<String>,
    retry: Option<u64>,
}

impl SseParser {
    /// Returns a parser at the start of a stream.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one chunk and returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut events = Vec::new();
        let mut rest = chunk;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
                self.offset += 1;
                self.line_start = self.offset;
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.extend_line(&rest[..end])?;
            let mut used = end + 1;
            if rest[end] == b'\r' {
                match rest.get(end + 1) {
                    Some(b'\n') => used += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            rest = &rest[used..];
            self.offset += used as u64 - end as u64;
            self.end_line(&mut events)?;
            self.line_start = self.offset;
        }
        self.extend_line(rest)?;
        Ok(events)
    }

    /// Ends the input: an error when it stopped inside an event.
    pub fn finish(&mut self) -> Result<(), SseError> {
        if !self.line.is_empty() {
            return Err(SseError::Truncated {
                offset: self.line_start,
            });
        }
        if self.pending {
            return Err(SseError::Truncated {
                offset: self.event_start,
            });
        }
        Ok(())
    }

    /// Returns true when the input so far ended between events.
    #[must_use]
    pub fn at_boundary(&self) -> bool {
        self.line.is_empty() && !self.pending
    }

    fn extend_line(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        self.line.extend_from_slice(bytes);
        self.offset += bytes.len() as u64;
        if self.event_bytes + self.line.len() > MAX_EVENT_BYTES {
            return Err(SseError::TooLong {
                offset: self.event_start,
            });
        }
        Ok(())
    }

    fn end_line(&mut self, events: &mut Vec<SseEvent>) -> Result<(), SseError> {
        let bytes = std::mem::take(&mut self.line);
        let mut line = std::str::from_utf8(&bytes).map_err(|_| SseError::InvalidUtf8 {
            offset: self.line_start,
        })?;
        if !self.seen_first_line {
            self.seen_first_line = true;
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(events);
            return Ok(());
        }
        if line.starts_with(':') {
            return Ok(());
        }
        self.event_bytes += bytes.len() + 1;
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        self.pending = true;
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok();
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
        let event = self.event.take();
        let id = self.id.take();
        let retry = self.retry.take();
        let mut data = std::mem::take(&mut self.data);
        self.pending = false;
        self.event_bytes = 0;
        self.event_start = self.offset;
        // The standard dispatches nothing for an event without data lines.
        if data.is_empty() {
            return;
        }
        data.pop();
        events.push(SseEvent {
            event,
            data,
            id,
            retry,
        });
    }
}

#[cfg(test)]
#[path = "sse_tests.rs"]
mod tests;
