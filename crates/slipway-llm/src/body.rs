//! Reading response bodies within limits: a wait between reads that ends a
//! stalled answer, and caps on what is kept, so that no server can hold a
//! call forever or fill the memory of the process.

use std::time::Duration;

use crate::LlmError;
use crate::http::error_chain;

/// The most of an error answer's body that is kept (64 KiB); the rest is
/// dropped unread, and the kept part says it was cut.
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// The most a successful answer that is not streamed may hold (32 MiB).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Returns the next chunk of the body, `None` at its end. A body silent for
/// `idle` is [`LlmError::Timeout`] with `idle` set; a connection that fails
/// is [`LlmError::StreamClosed`].
pub(crate) async fn next_chunk(
    response: &mut reqwest::Response,
    idle: Duration,
) -> Result<Option<impl AsRef<[u8]>>, LlmError> {
    match tokio::time::timeout(idle, response.chunk()).await {
        Err(_) => Err(LlmError::Timeout {
            after: idle,
            idle: true,
        }),
        Ok(Ok(chunk)) => Ok(chunk),
        Ok(Err(error)) => Err(LlmError::stream_closed(error_chain(&error))),
    }
}

/// Reads a successful answer whole, refusing one longer than
/// [`MAX_BODY_BYTES`].
pub(crate) async fn whole(
    response: &mut reqwest::Response,
    idle: Duration,
) -> Result<Vec<u8>, LlmError> {
    let mut body = Vec::new();
    while let Some(chunk) = next_chunk(response, idle).await? {
        let chunk = chunk.as_ref();
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(LlmError::protocol(format!(
                "a response body longer than {MAX_BODY_BYTES} bytes (32 MiB), the most this client reads"
            )));
        }
        body.extend_from_slice(chunk);
    }
    Ok(body)
}

/// Reads an error answer's body as text, keeping at most
/// [`MAX_ERROR_BODY_BYTES`]: the start of a longer body, with a note saying
/// it was cut. A body that cannot be read says so in place of the rest.
pub(crate) async fn error_text(response: &mut reqwest::Response, idle: Duration) -> String {
    let mut body = Vec::new();
    let mut failure = None;
    // One byte past the cap tells a body at the cap from a longer one.
    while body.len() <= MAX_ERROR_BODY_BYTES {
        match next_chunk(response, idle).await {
            Ok(Some(chunk)) => body.extend_from_slice(chunk.as_ref()),
            Ok(None) => break,
            Err(error) => {
                let why = match error {
                    LlmError::StreamClosed { detail, .. } => detail,
                    other => other.to_string(),
                };
                failure = Some(format!(" (the body could not be read further: {why})"));
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&body);
    let note = failure.or_else(|| {
        (text.len() > MAX_ERROR_BODY_BYTES)
            .then(|| format!(" … (cut: the body is longer than {MAX_ERROR_BODY_BYTES} bytes)"))
    });
    match note {
        None => text.into_owned(),
        Some(note) => {
            let room = MAX_ERROR_BODY_BYTES.saturating_sub(note.len());
            let mut kept = text[..text.floor_char_boundary(room)].to_owned();
            kept.push_str(&note);
            kept
        }
    }
}
