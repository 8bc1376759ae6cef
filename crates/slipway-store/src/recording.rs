//! What recording a trace needs besides SQL: the identity of a stored body,
//! text PostgreSQL can hold, durations, attributes as stored, and the checks
//! of a batch's contexts that need no database.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use sha2::{Digest, Sha256};
use slipway_types::{ContentId, ContentKind, Span, SpanId};

use crate::{BodyRef, ContextMessage, StoreError, TraceBatch};

/// Bodies per statement in a batch write, well under both backends' parameter limits.
pub(crate) const BATCH_ROWS: usize = 200;

/// Returns the hex SHA-256 that identifies a body: of its kind, a NUL byte and
/// the body, so the same text stored as two kinds is two rows, each with its kind.
pub(crate) fn content_hash(kind: ContentKind, body: &str) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hasher = Sha256::new();
    hasher.update(kind.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(body.as_bytes());
    hasher
        .finalize()
        .iter()
        .flat_map(|byte| [byte >> 4, byte & 0xf])
        .map(|nibble| char::from(DIGITS[usize::from(nibble)]))
        .collect()
}

/// Returns `text` as both backends can store it: PostgreSQL text cannot hold
/// NUL, so each NUL becomes U+FFFD (on SQLite too, so both give the same answers).
pub(crate) fn storable(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// [`storable`] for an optional text.
pub(crate) fn storable_opt(text: Option<&str>) -> Option<Cow<'_, str>> {
    text.map(storable)
}

/// Returns the microseconds from `start` to `end` (negative when the clock
/// went back), as the store keeps both: truncated to the microsecond.
pub(crate) fn duration_us(start: Timestamp, end: Timestamp) -> i64 {
    end.as_microsecond().saturating_sub(start.as_microsecond())
}

/// Returns attributes as stored: a JSON object.
pub(crate) fn attributes_text(attributes: &BTreeMap<String, serde_json::Value>) -> String {
    let object: serde_json::Map<String, serde_json::Value> = attributes
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    serde_json::Value::Object(object).to_string()
}

/// Returns the hashes of a batch's bodies, in order.
pub(crate) fn body_hashes(bodies: &[(ContentKind, String)]) -> Vec<String> {
    bodies
        .iter()
        .map(|(kind, body)| content_hash(*kind, body))
        .collect()
}

/// Returns the id of a body a batch names: stored before, or the batch's own.
pub(crate) fn body_id(body: BodyRef, body_ids: &[ContentId]) -> Result<ContentId, StoreError> {
    match body {
        BodyRef::Stored(id) => Ok(id),
        BodyRef::New(i) => body_ids
            .get(i)
            .copied()
            .ok_or_else(|| missing_body(i, body_ids.len())),
    }
}

/// Returns how a statement that stores a batch's bodies in the same query
/// finds a body: the id of one stored before, or the hash of the batch's own.
pub(crate) fn body_id_or_hash(
    body: BodyRef,
    hashes: &[String],
) -> Result<serde_json::Value, StoreError> {
    match body {
        BodyRef::Stored(id) => Ok(serde_json::Value::from(id.0)),
        BodyRef::New(i) => hashes
            .get(i)
            .map(|hash| serde_json::Value::from(hash.as_str()))
            .ok_or_else(|| missing_body(i, hashes.len())),
    }
}

fn missing_body(i: usize, bodies: usize) -> StoreError {
    StoreError::InvalidBatch {
        detail: format!("a record names body {i} of the batch, which has {bodies}"),
    }
}

/// Returns a batch's context messages as JSON rows `[context span, position,
/// content, check]` (`content` as `content_of` names the body), after
/// checking that each context's positions are consecutive within the batch. `check` is 1 on the first row of a context
/// that does not start at 0: the statement inserts it only when the position
/// before it is stored, so a context never has a gap.
pub(crate) fn context_rows(
    messages: &[ContextMessage],
    content_of: impl Fn(BodyRef) -> Result<serde_json::Value, StoreError>,
) -> Result<Vec<serde_json::Value>, StoreError> {
    let mut last: HashMap<&str, i64> = HashMap::new();
    let mut rows = Vec::with_capacity(messages.len());
    for message in messages {
        let context = message.context.as_str();
        let check = match last.get(context) {
            Some(before) if message.position != before.saturating_add(1) => {
                return Err(StoreError::InvalidBatch {
                    detail: format!(
                        "context {context} has position {} right after {before}",
                        message.position
                    ),
                });
            }
            Some(_) => 0,
            None if message.position < 0 => {
                return Err(StoreError::InvalidBatch {
                    detail: format!("context {context} has position {}", message.position),
                });
            }
            None => i64::from(message.position > 0),
        };
        last.insert(context, message.position);
        rows.push(serde_json::json!([
            context,
            message.position,
            content_of(message.body)?,
            check
        ]));
    }
    Ok(rows)
}

/// A batch's spans, links, context messages and span contexts as the JSON
/// arrays the backends' statements read, with how many rows they hold in all.
pub(crate) struct References {
    /// One row per span, its columns in the order of `sql::span_insert_columns!`.
    pub(crate) spans: String,
    /// `[span, direction, position, content]` rows.
    pub(crate) links: String,
    /// `[context span, position, content, check]` rows (see [`context_rows`]).
    pub(crate) messages: String,
    /// `[span, context span, messages]` rows.
    pub(crate) contexts: String,
    pub(crate) rows: usize,
}

impl References {
    /// A batch's references, each body as `content_of` names it to the
    /// backend's statements: by id, or by hash when the same query stores it.
    pub(crate) fn of(
        batch: &TraceBatch,
        content_of: impl Fn(BodyRef) -> Result<serde_json::Value, StoreError>,
    ) -> Result<Self, StoreError> {
        let mut links = Vec::with_capacity(batch.links.len());
        for link in &batch.links {
            links.push(serde_json::json!([
                link.span.as_str(),
                link.direction.as_str(),
                link.position,
                content_of(link.body)?
            ]));
        }
        let contexts: Vec<serde_json::Value> = batch
            .span_contexts
            .iter()
            .map(|sent| {
                serde_json::json!([sent.span.as_str(), sent.context.as_str(), sent.messages])
            })
            .collect();
        Ok(Self {
            spans: span_rows(&batch.spans),
            links: serde_json::Value::Array(links).to_string(),
            messages: serde_json::Value::Array(context_rows(&batch.context_messages, &content_of)?)
                .to_string(),
            contexts: serde_json::Value::Array(contexts).to_string(),
            rows: batch.spans.len()
                + batch.links.len()
                + batch.context_messages.len()
                + batch.span_contexts.len(),
        })
    }
}

/// Returns spans as a JSON array of rows, each value as stored.
fn span_rows(spans: &[Span]) -> String {
    let rows: Vec<serde_json::Value> = spans
        .iter()
        .map(|span| {
            let started_at = crate::time::truncate(span.started_at);
            let ended_at = span.ended_at.map(crate::time::truncate);
            let [input, cache_read, cache_write, output, reasoning] =
                crate::rows::token_columns(&span.tokens);
            serde_json::json!([
                span.id.as_str(),
                span.trace_id.as_str(),
                span.parent_id.as_ref().map(SpanId::as_str),
                storable(&span.name),
                storable(&span.operation),
                crate::time::to_text(started_at),
                ended_at.map(crate::time::to_text),
                ended_at.map(|end| duration_us(started_at, end)),
                span.status.as_str(),
                storable_opt(span.error.as_deref()),
                storable_opt(span.model.as_deref()),
                storable_opt(span.provider.as_deref()),
                storable_opt(span.tool_name.as_deref()),
                input,
                cache_read,
                cache_write,
                output,
                reasoning,
                span.cost_micros,
                attributes_text(&span.attributes),
            ])
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// The refusal of a context message that does not follow its context's
/// stored ones, or of a call naming messages its context does not hold.
pub(crate) fn refused_references() -> StoreError {
    StoreError::InvalidBatch {
        detail: "a context's messages must start at position 0 or follow the ones stored \
                 before, and a model call may send only messages its context, of its own \
                 run, holds"
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use slipway_types::SpanId;

    use super::*;

    proptest! {
        /// A batch's context rows are accepted exactly when each context's
        /// positions start at 0 or more and go up by one; the first row of a
        /// context is checked against the store exactly when it is not 0.
        #[test]
        fn context_rows_accept_only_consecutive_positions(
            rows in proptest::collection::vec((0u8..3, -1i64..6), 0..12),
        ) {
            let messages: Vec<ContextMessage> = rows
                .iter()
                .map(|(context, position)| ContextMessage {
                    context: SpanId::from_bytes([*context; 8]),
                    position: *position,
                    body: BodyRef::Stored(ContentId(1)),
                })
                .collect();
            let mut last: HashMap<u8, i64> = HashMap::new();
            let mut valid = true;
            let mut checks = Vec::new();
            for (context, position) in &rows {
                if let Some(before) = last.get(context) {
                    valid &= *position == before + 1;
                    checks.push(0);
                } else {
                    valid &= *position >= 0;
                    checks.push(i64::from(*position > 0));
                }
                last.insert(*context, *position);
            }
            match context_rows(&messages, |body| body_id(body, &[]).map(|id| serde_json::Value::from(id.0))) {
                Ok(json) => {
                    prop_assert!(valid, "{rows:?} accepted");
                    let got: Vec<i64> = json.iter().map(|r| r[3].as_i64().unwrap_or(-1)).collect();
                    prop_assert_eq!(got, checks);
                }
                Err(err) => {
                    prop_assert!(!valid, "{rows:?} refused: {err}");
                    let invalid = matches!(err, StoreError::InvalidBatch { .. });
                    prop_assert!(invalid, "{err:?}");
                }
            }
        }
    }

    #[test]
    fn hashes_cover_kind_and_body() {
        let message = content_hash(ContentKind::Message, "hello");
        assert_eq!(message.len(), 64);
        assert!(
            message
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(message, content_hash(ContentKind::Message, "hello"));
        assert_ne!(message, content_hash(ContentKind::Response, "hello"));
        assert_ne!(message, content_hash(ContentKind::Message, "hello "));
        // `printf 'system\0' | sha256sum`: the kind and its separator alone.
        assert_eq!(
            content_hash(ContentKind::System, ""),
            "4640409de0d747cb8301bbb401176ab3c93490258a4c5acfca3189a6686f1e08"
        );
    }

    #[test]
    fn nul_is_replaced_and_other_text_borrowed() {
        assert!(matches!(storable("plain"), Cow::Borrowed("plain")));
        assert_eq!(storable("a\0b"), "a\u{fffd}b");
        assert_eq!(storable_opt(None), None);
    }

    #[test]
    fn durations_are_whole_microseconds() {
        let start: Timestamp = "2026-11-24T13:11:46.123456Z".parse().unwrap();
        let end: Timestamp = "2026-11-24T13:11:48.000001Z".parse().unwrap();
        assert_eq!(duration_us(start, end), 1_876_545);
        assert_eq!(duration_us(end, start), -1_876_545);
    }

    #[test]
    fn attributes_are_a_json_object() {
        let attributes = BTreeMap::from([
            (
                "gen_ai.usage.input_tokens".to_owned(),
                serde_json::json!(12),
            ),
            (
                "gen_ai.tool.name".to_owned(),
                serde_json::json!("read_file"),
            ),
        ]);
        let text = attributes_text(&attributes);
        assert_eq!(
            text,
            r#"{"gen_ai.tool.name":"read_file","gen_ai.usage.input_tokens":12}"#
        );
        assert_eq!(attributes_text(&BTreeMap::new()), "{}");
    }
}
