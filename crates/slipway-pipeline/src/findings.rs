//! Reading a reviewer's findings (docs/findings.md).
//!
//! A reviewer's final answer is one strict JSON object,
//! `{"findings": [...]}`, alone or inside one Markdown code fence. This
//! module owns that contract: the parser and its limits, the errors a
//! reviewer gets back for its one retry, and the instructions the pipeline
//! puts into the reviewer's prompt. What a severity means for a gate lives
//! with `Severity` in slipway-types.
//!
//! serde does the parsing, with unknown fields refused; the path of a field
//! at fault (`findings[2].severity`) is found by a second, untyped read of
//! the answer, only when the first one failed.

use serde::Deserialize;
use serde_json::Value;
use serde_json::error::Category;
use slipway_types::{Finding, Severity};

/// Answers longer than this are refused unread.
pub(crate) const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// At most this many findings in one answer.
pub(crate) const MAX_FINDINGS: usize = 200;
/// At most this many characters in a title, detail or location.
pub(crate) const MAX_FIELD_CHARS: usize = 4_000;

/// The one-line reminder every error ends with.
const SHAPE: &str = "Expected shape: {\"findings\": [{\"severity\": \"critical|high|medium|low\", \
     \"title\": \"...\", \"detail\": \"...\", \"location\": \"path:line\"}]}, \
     or {\"findings\": []} when there are none.";

/// What the pipeline tells a reviewer about the form of its answer.
const SCHEMA_HINT: &str = r#"Give your final answer as one JSON object and nothing else: no text before or after it. You may put it inside one ```json code fence.

{"findings": [{"severity": "high", "title": "One line naming the problem", "detail": "What is wrong, why it matters, how to fix it", "location": "src/lib.rs:42"}]}

Rules:
- "severity" is one of "critical", "high", "medium", "low", in lower case. critical: breaks correctness, security or data; high: must be fixed before this can merge; medium: should be fixed; low: a nit. critical and high send the work back; medium and low are recorded.
- "title" is required and not empty. "detail" and "location" are optional strings; "location" is "path" or "path:line".
- No other fields. At most 200 findings; each text field at most 4000 characters.
- When you find no problems, answer {"findings": []}."#;

/// Returns the instructions for the reviewer's prompt: the answer's shape,
/// an example and the rules [`parse_findings`] enforces.
#[must_use]
pub fn findings_schema_hint() -> &'static str {
    SCHEMA_HINT
}

/// Why a reviewer's answer was refused. The message says what was wrong,
/// where, and ends with the expected shape, so that it can be handed back
/// to the reviewer as is for its retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindingsError {
    /// The answer is over [`MAX_ANSWER_BYTES`].
    #[error(
        "the answer is {bytes} bytes, over the limit of {max} bytes; report at most {MAX_FINDINGS} \
         findings and keep each field under {MAX_FIELD_CHARS} characters. {SHAPE}",
        max = MAX_ANSWER_BYTES
    )]
    TooLarge { bytes: usize },
    /// Nothing but whitespace.
    #[error(
        "the answer is empty; answer with the JSON object, {{\"findings\": []}} when there are \
         no findings. {SHAPE}"
    )]
    Empty,
    /// Text outside the JSON object, or a code fence used wrongly.
    #[error(
        "line {line}, column {column}: {problem}; answer with the JSON object alone, optionally \
         inside one ```json code fence, and no other text. {SHAPE}"
    )]
    Prose {
        line: usize,
        column: usize,
        problem: String,
    },
    /// Not JSON.
    #[error("line {line}, column {column}: invalid JSON: {message}. {SHAPE}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON of the wrong shape: an unknown or missing field, a wrong type,
    /// an unknown severity.
    #[error("{path} (line {line}, column {column}): {message}. {SHAPE}")]
    Shape {
        /// Where in the object, as `findings[2].severity`.
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// The right shape with a rule broken: an empty title, too many
    /// findings, a field too long.
    #[error("{path}: {message}. {SHAPE}")]
    Rule { path: String, message: String },
}

/// One finding as the reviewer writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireFinding {
    severity: Severity,
    title: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    location: String,
}

/// The whole answer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireAnswer {
    findings: Vec<WireFinding>,
}

/// The JSON text inside an answer, with where it starts in the answer.
struct Body<'a> {
    text: &'a str,
    /// Byte offset of `text` in the answer.
    start: usize,
}

/// Parses a reviewer's final answer into its findings (docs/findings.md).
///
/// The answer must be exactly one JSON object `{"findings": [...]}`,
/// optionally inside one Markdown code fence (```` ```json ```` or
/// ```` ``` ````), with nothing but whitespace around it. Unknown fields are
/// refused; `detail` and `location` default to empty; text fields are
/// trimmed. `{"findings": []}` is a valid answer with no findings.
pub fn parse_findings(answer: &str) -> Result<Vec<Finding>, FindingsError> {
    if answer.len() > MAX_ANSWER_BYTES {
        return Err(FindingsError::TooLarge {
            bytes: answer.len(),
        });
    }
    let body = extract_body(answer)?;
    let mut de = serde_json::Deserializer::from_str(body.text);
    let wire = WireAnswer::deserialize(&mut de).map_err(|err| json_error(answer, &body, &err))?;
    de.end().map_err(|err| {
        let (line, column) = shift(answer, &body, &err);
        FindingsError::Prose {
            line,
            column,
            problem: "text after the JSON object".to_owned(),
        }
    })?;
    check_rules(wire.findings)
}

/// Finds the JSON text: the trimmed answer, or the inside of its one fence.
fn extract_body(answer: &str) -> Result<Body<'_>, FindingsError> {
    let trimmed = answer.trim();
    if trimmed.is_empty() {
        return Err(FindingsError::Empty);
    }
    let start = answer.len() - answer.trim_start().len();
    let body = if trimmed.starts_with("```") {
        unfence(answer, trimmed)?
    } else {
        Body {
            text: trimmed,
            start,
        }
    };
    let first = body.text.trim_start();
    if first.starts_with('{') {
        return Ok(body);
    }
    let at = body.start + (body.text.len() - first.len());
    let (line, column) = position(answer, at);
    let problem = if first.is_empty() {
        "the code fence is empty".to_owned()
    } else if first.starts_with('[') {
        "the answer is a bare JSON array; wrap it as {\"findings\": [...]}".to_owned()
    } else {
        format!("the answer starts with `{}`, not with `{{`", snippet(first))
    };
    Err(FindingsError::Prose {
        line,
        column,
        problem,
    })
}

/// Takes the inside of the fence that opens the answer. `trimmed` is the
/// answer without surrounding whitespace and starts with three backticks.
fn unfence<'a>(answer: &'a str, trimmed: &'a str) -> Result<Body<'a>, FindingsError> {
    // Every slice below is a suffix of `trimmed`, so its offset in the
    // answer is `end` minus its length.
    let end = answer.trim_end().len();
    let offset = |suffix: &str| end - suffix.len();
    let prose = |at: usize, problem: String| {
        let (line, column) = position(answer, at);
        FindingsError::Prose {
            line,
            column,
            problem,
        }
    };
    let Some((info, inside)) = trimmed[3..].split_once('\n') else {
        return Err(prose(
            offset(trimmed),
            "the code fence must open with ```json on a line of its own".to_owned(),
        ));
    };
    let info = info.trim();
    if !(info.is_empty() || info.eq_ignore_ascii_case("json")) {
        return Err(prose(
            offset(trimmed),
            format!(
                "the code fence is marked `{}`; mark it ```json",
                snippet(info)
            ),
        ));
    }
    // A JSON string cannot hold a raw newline, so the first "\n```" closes the fence.
    let (text, after) = match inside.find("\n```") {
        Some(at) => (&inside[..at], &inside[at + 1..]),
        None => match inside.strip_suffix("```") {
            Some(text) => (text, &inside[text.len()..]),
            None => {
                return Err(prose(
                    end,
                    "the code fence is not closed; end it with ``` on a line of its own".to_owned(),
                ));
            }
        },
    };
    let rest = after.trim_start_matches('`').trim_start();
    if !rest.is_empty() {
        return Err(prose(
            offset(rest),
            format!("text after the code fence: `{}`", snippet(rest)),
        ));
    }
    Ok(Body {
        text,
        start: offset(inside),
    })
}

/// Turns serde's error on the body into one that names the place in the answer.
fn json_error(answer: &str, body: &Body<'_>, err: &serde_json::Error) -> FindingsError {
    let (line, column) = shift(answer, body, err);
    let message = bare_message(err);
    match err.classify() {
        Category::Data => FindingsError::Shape {
            path: locate(body.text),
            line,
            column,
            message,
        },
        Category::Syntax | Category::Eof | Category::Io => FindingsError::Syntax {
            line,
            column,
            message,
        },
    }
}

/// serde's message without the " at line L column C" it appends.
fn bare_message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_owned()
}

/// Maps serde's position in the body to a position in the whole answer.
fn shift(answer: &str, body: &Body<'_>, err: &serde_json::Error) -> (usize, usize) {
    let (body_line, body_column) = position(answer, body.start);
    let line = body_line + err.line().saturating_sub(1);
    let column = if err.line() <= 1 {
        body_column + err.column().saturating_sub(1)
    } else {
        err.column()
    };
    (line, column)
}

/// Names the first finding (and field) that does not fit the schema, by
/// reading the body again as untyped JSON; the top level when it cannot.
fn locate(body: &str) -> String {
    const TOP: &str = "the top-level object";
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return TOP.to_owned();
    };
    let Some(findings) = value.get("findings") else {
        return TOP.to_owned();
    };
    let Some(items) = findings.as_array() else {
        return "findings".to_owned();
    };
    for (index, item) in items.iter().enumerate() {
        let Some(fields) = item.as_object() else {
            return format!("findings[{index}]");
        };
        for (key, field) in fields {
            let wrong = match key.as_str() {
                "severity" => Severity::deserialize(field).is_err(),
                "title" | "detail" | "location" => String::deserialize(field).is_err(),
                _ => true,
            };
            if wrong {
                return format!("findings[{index}].{key}");
            }
        }
        if WireFinding::deserialize(item).is_err() {
            return format!("findings[{index}]");
        }
    }
    TOP.to_owned()
}

/// Applies the rules serde cannot: the count, empty titles, field lengths.
fn check_rules(wire: Vec<WireFinding>) -> Result<Vec<Finding>, FindingsError> {
    if wire.len() > MAX_FINDINGS {
        return Err(FindingsError::Rule {
            path: "findings".to_owned(),
            message: format!(
                "{} findings, over the limit of {MAX_FINDINGS}; merge related findings and keep \
                 the most severe",
                wire.len()
            ),
        });
    }
    let mut findings = Vec::with_capacity(wire.len());
    for (index, finding) in wire.into_iter().enumerate() {
        let title = finding.title.trim();
        if title.is_empty() {
            return Err(FindingsError::Rule {
                path: format!("findings[{index}].title"),
                message: "the title is empty; give every finding a one-line title".to_owned(),
            });
        }
        let detail = finding.detail.trim();
        let location = finding.location.trim();
        for (name, text) in [("title", title), ("detail", detail), ("location", location)] {
            let chars = text.chars().count();
            if chars > MAX_FIELD_CHARS {
                return Err(FindingsError::Rule {
                    path: format!("findings[{index}].{name}"),
                    message: format!(
                        "{chars} characters, over the limit of {MAX_FIELD_CHARS}; shorten it"
                    ),
                });
            }
        }
        findings.push(Finding {
            severity: finding.severity,
            title: title.to_owned(),
            detail: detail.to_owned(),
            location: location.to_owned(),
        });
    }
    Ok(findings)
}

/// Returns the 1-based line and column (in characters) of byte `at` in `text`.
fn position(text: &str, at: usize) -> (usize, usize) {
    let at = floor_char_boundary(text, at);
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The largest char boundary not after `at`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The start of some text, for quoting in an error: its first line, at most
/// 40 characters.
fn snippet(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim_end();
    match line.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
#[path = "findings_tests.rs"]
mod tests;
