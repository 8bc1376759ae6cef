//! Detecting likely prompt injections in untrusted text (DESIGN §5): text
//! from outside the trust boundary that tries to steer an agent.
//!
//! Four kinds of signal, each a [`Detection`] with its byte offset:
//!
//! - instruction-override phrasing ("ignore all previous instructions",
//!   "you are now", "new instructions:");
//! - forged turn or tool markers (`</tool_result>`, `Human:` at the start of
//!   a line, `<|im_start|>`, `[INST]`);
//! - hidden characters (the Unicode tag block, zero-width and bidi
//!   controls), which hide text from a person but not from a model;
//! - encoded payloads: base64 or hex runs that decode to text with one of
//!   the first two signals.
//!
//! A detection is a reason to look, not proof: the caller decides what
//! follows. The patterns are hand-written regular expressions (the `regex`
//! crate); no library ships a maintained rule set for this.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// What a detection found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectionKind {
    /// Phrasing that tries to replace the agent's instructions.
    Override,
    /// Text shaped like a conversation turn or a tool boundary.
    ForgedMarker,
    /// Characters a person does not see.
    HiddenCharacters,
    /// An encoded run that decodes to one of the above.
    EncodedPayload,
}

impl DetectionKind {
    /// The kind's name as printed and stored.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            DetectionKind::Override => "override",
            DetectionKind::ForgedMarker => "forged_marker",
            DetectionKind::HiddenCharacters => "hidden_characters",
            DetectionKind::EncodedPayload => "encoded_payload",
        }
    }
}

/// One suspected injection in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detection {
    /// Byte offset of the match in the scanned text.
    pub offset: usize,
    /// Its length in bytes.
    pub len: usize,
    pub kind: DetectionKind,
    /// One sentence: what was seen.
    pub reason: String,
}

struct Rule {
    kind: DetectionKind,
    pattern: Regex,
    reason: &'static str,
}

/// The phrase and marker rules, compiled once.
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let rules: [(DetectionKind, &str, &str); 19] = [
        (
            DetectionKind::Override,
            r"(?i)\b(ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,40}?\b(previous|prior|above|earlier|preceding|former|all|any|your|system|original)\b[^.\n]{0,30}?\b(instructions?|prompts?|rules|directions|guidelines|commands|context|constraints|orders)\b",
            "asks to set the instructions aside",
        ),
        (
            DetectionKind::Override,
            r"(?i)\byou\s+are\s+now\b|\bfrom\s+now\s+on,?\s+you\b",
            "tries to give the agent a new identity",
        ),
        (
            DetectionKind::Override,
            r"(?i)\bnew\s+(system\s+)?(instructions?|task|prompt|rules)\s*:",
            "announces new instructions",
        ),
        (
            DetectionKind::Override,
            r"(?i)\b(reveal|print|show|repeat|output|leak)\b[^.\n]{0,20}\b(your|the)\s+(system\s+prompt|instructions|initial\s+prompt)\b",
            "asks for the agent's own instructions",
        ),
        (
            DetectionKind::Override,
            r"(?i)\b(do\s+not|don't|never)\s+(tell|inform|alert|mention\s+(this\s+)?to)\s+the\s+(user|human|operator)\b",
            "asks to hide something from the person",
        ),
        (
            DetectionKind::Override,
            r"(?i)\b(jailbreak|jailbroken|developer\s+mode|DAN\s+mode|do\s+anything\s+now)\b",
            "names a jailbreak",
        ),
        (
            DetectionKind::Override,
            r"(?i)\bregardless\s+of\s+(any|all|the)?\s*(previous|prior|earlier|above|other)\s+(input|instructions?|prompts?|rules|context)\b",
            "asks to act regardless of the instructions",
        ),
        (
            DetectionKind::Override,
            r"(?im)(\*{2,}|^\s*#{1,3})\s*new\s+(important\s+)?(system\s+)?instructions?\b|\bNEW\s+(IMPORTANT\s+)?INSTRUCTIONS\b",
            "announces new instructions",
        ),
        (
            DetectionKind::Override,
            r"(?i)\byour\s+(new|real|actual|true)\s+(task|mission|directive|job|objective|instructions?)\b|\b(new|real)\s+directive\b",
            "gives the agent a new task",
        ),
        (
            DetectionKind::Override,
            r"(?i)\bgave\s+you\s+your\s+instructions\b|\bforgot\s+to\s+(ask|tell)\s+you\s+to\b",
            "claims the instructions were incomplete",
        ),
        (
            DetectionKind::Override,
            r"(?i)\bgrant\s+(yourself\s+)?(temporary\s+)?(admin|administrative|administrator|root|elevated)\s+(privileges|access|rights)\b",
            "asks for elevated privileges",
        ),
        (
            DetectionKind::Override,
            r"(?i)\bif\s+you\s+are\s+(told|asked)\s+to\s+(summari[sz]e|answer|translate|review)\b[^.\n]{0,80}\binstead\b|\bthe\s+mission,?\s+should\s+you\s+(choose\s+to\s+)?accept\s+it\b",
            "redirects the agent's task",
        ),
        (
            DetectionKind::ForgedMarker,
            r"(?i)<\s*/?\s*interaction-config\s*>|\bblocked\s+(modes|strings|responses)\s*:",
            "has a forged policy block",
        ),
        (
            DetectionKind::ForgedMarker,
            r"(?i)</?\s*(tool_result|tool_use|function_results?|function_calls?|system|assistant|human|user|instructions?)\s*>",
            "has a tag shaped like a turn or tool boundary",
        ),
        (
            DetectionKind::ForgedMarker,
            r"<\|\s*(im_start|im_end|endoftext|system|user|assistant|eot_id|start_header_id|end_header_id)\s*\|>",
            "has a chat-template token",
        ),
        (
            DetectionKind::ForgedMarker,
            r"\[/?INST\]|<</?SYS>>",
            "has an instruction-template marker",
        ),
        (
            DetectionKind::ForgedMarker,
            r"(?m)^\s*(Human|Assistant|System)\s*:",
            "has a line shaped like a conversation turn",
        ),
        (
            DetectionKind::ForgedMarker,
            r"(?im)^\s*#{1,4}\s*(system|instructions?)\s*(prompt)?\s*:?\s*$",
            "has a heading shaped like a system prompt",
        ),
        (
            DetectionKind::ForgedMarker,
            r"(?i)\bEND\s+UNTRUSTED\b|\bEND\s+OF\s+(UNTRUSTED|TOOL)\s+(DATA|OUTPUT|RESULT)\b",
            "claims the untrusted block ends here",
        ),
    ];
    rules
        .into_iter()
        .filter_map(|(kind, pattern, reason)| {
            // The patterns are constants: a bad one is caught by the tests.
            Regex::new(pattern).ok().map(|pattern| Rule {
                kind,
                pattern,
                reason,
            })
        })
        .collect()
});

/// Base64 and hex runs long enough to carry a sentence.
static ENCODED: LazyLock<Vec<(Regex, Encoding)>> = LazyLock::new(|| {
    [
        (r"[A-Za-z0-9+/]{24,}={0,2}", Encoding::Base64),
        (r"\b(?:[0-9a-fA-F]{2}){16,}\b", Encoding::Hex),
    ]
    .into_iter()
    .filter_map(|(p, e)| Regex::new(p).ok().map(|r| (r, e)))
    .collect()
});

#[derive(Debug, Clone, Copy)]
enum Encoding {
    Base64,
    Hex,
}

/// Whether `c` is invisible to a person reading the text: the tag block,
/// zero-width characters and joiners, word joiners, bidi controls, and a
/// byte-order mark anywhere.
fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{E0000}'..='\u{E007F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}'
    )
}

/// Returns every likely injection in `text`, by offset.
#[must_use]
pub fn detect_injection(text: &str) -> Vec<Detection> {
    let mut found = phrases_and_markers(text);
    found.extend(hidden(text));
    found.extend(encoded(text));
    found.sort_by_key(|d| (d.offset, d.kind.as_str()));
    found
}

fn phrases_and_markers(text: &str) -> Vec<Detection> {
    let mut found = Vec::new();
    for rule in RULES.iter() {
        for m in rule.pattern.find_iter(text) {
            found.push(Detection {
                offset: m.start(),
                len: m.len(),
                kind: rule.kind,
                reason: format!("{}: {:?}", rule.reason, clip(m.as_str())),
            });
        }
    }
    found
}

/// One detection per run of hidden characters.
fn hidden(text: &str) -> Vec<Detection> {
    let mut found = Vec::new();
    let mut run: Option<(usize, usize, usize)> = None; // start, end, count
    for (at, c) in text.char_indices() {
        if is_hidden(c) && !(c == '\u{FEFF}' && at == 0) {
            let end = at + c.len_utf8();
            run = Some(run.map_or((at, end, 1), |(start, _, n)| (start, end, n + 1)));
        } else if let Some((start, end, n)) = run.take() {
            found.push(hidden_run(text, start, end, n));
        }
    }
    if let Some((start, end, n)) = run {
        found.push(hidden_run(text, start, end, n));
    }
    found
}

fn hidden_run(text: &str, start: usize, end: usize, count: usize) -> Detection {
    let tags: String = text[start..end]
        .chars()
        .filter_map(|c| {
            let code = u32::from(c);
            (0xE0020..=0xE007E)
                .contains(&code)
                .then(|| char::from_u32(code - 0xE0000))
                .flatten()
        })
        .collect();
    let reason = if tags.is_empty() {
        let first = text[start..].chars().next().map_or(0, u32::from);
        format!("{count} invisible character(s), the first U+{first:04X}")
    } else {
        format!(
            "{count} invisible tag character(s) spelling {:?}",
            clip(&tags)
        )
    };
    Detection {
        offset: start,
        len: end - start,
        kind: DetectionKind::HiddenCharacters,
        reason,
    }
}

fn encoded(text: &str) -> Vec<Detection> {
    let mut found = Vec::new();
    for (pattern, encoding) in ENCODED.iter() {
        for m in pattern.find_iter(text) {
            let Some(decoded) = decode(m.as_str(), *encoding) else {
                continue;
            };
            if let Some(inner) = phrases_and_markers(&decoded).first() {
                found.push(Detection {
                    offset: m.start(),
                    len: m.len(),
                    kind: DetectionKind::EncodedPayload,
                    reason: format!(
                        "{} decodes to text that {}",
                        match encoding {
                            Encoding::Base64 => "base64",
                            Encoding::Hex => "hex",
                        },
                        inner.reason
                    ),
                });
            }
        }
    }
    found
}

/// Decodes a run to text, if it is mostly printable.
fn decode(run: &str, encoding: Encoding) -> Option<String> {
    let bytes = match encoding {
        Encoding::Base64 => base64_decode(run)?,
        Encoding::Hex => (0..run.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(run.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?,
    };
    let text = String::from_utf8(bytes).ok()?;
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .count();
    (printable * 10 >= text.chars().count() * 9).then_some(text)
}

/// Standard base64, padding optional; `None` on a character outside the
/// alphabet. Written here: the project has no base64 crate, and this is all
/// the decoding the detector needs.
fn base64_decode(run: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(run.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in run.bytes().take_while(|b| *b != b'=') {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// A match shown in a reason, cut to 80 characters.
fn clip(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
