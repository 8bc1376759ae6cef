//! Removes known secret shapes (API keys, tokens, private keys) from text
//! before it is stored in a trace.
//!
//! Much of what is stored is JSON (messages, responses, tool arguments, the
//! bodies of error answers), where a key at the start of a line follows the
//! escape `\n`: to `find_secret` that is a key glued to the letter `n`, not a
//! key. So secrets are looked for in a view of the text in which the letters
//! of each JSON escape are line breaks, byte for byte, and cut from the text
//! itself at the same offsets.

use std::borrow::Cow;

use slipway_config::find_secret;

/// What a removed secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Secret values known to the run (the API keys in its environment, say),
/// removed from stored text whatever their shape. Shorter values than
/// [`SecretValues::MIN_LEN`] are ignored: they would cut ordinary words.
#[derive(Clone, Default)]
pub struct SecretValues(Vec<String>);

impl SecretValues {
    pub const MIN_LEN: usize = 8;

    /// Returns the values worth looking for, longest first.
    #[must_use]
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = values
            .into_iter()
            .map(|v| v.trim().to_owned())
            .filter(|v| v.len() >= Self::MIN_LEN)
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Self(values)
    }

    /// Returns `text` without known secret values and secret shapes.
    #[must_use]
    pub fn scrub(&self, text: &str) -> String {
        let mut out = redact(text).into_owned();
        for value in &self.0 {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), REDACTED);
            }
        }
        out
    }
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretValues({} values)", self.0.len())
    }
}

/// Returns `text` with every credential-shaped run replaced by [`REDACTED`].
#[must_use]
pub fn redact(text: &str) -> Cow<'_, str> {
    let view = escapes_as_breaks(text);
    let Some(first) = next_secret(&view) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut found = Some(first);
    while let Some(start) = found {
        out.push_str(&text[at..start]);
        out.push_str(REDACTED);
        at = start + secret_len(&view[start..]);
        found = next_secret(&view[at..]).map(|offset| at + offset);
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Returns where the first secret in `text` starts: a shape `find_secret`
/// knows, or a private key block after other PEM blocks (`find_secret`
/// judges only the first `-----BEGIN` of a text, so a private key after a
/// certificate would pass).
fn next_secret(text: &str) -> Option<usize> {
    let shape = find_secret(text).map(|found| found.offset);
    let block = text.match_indices("-----BEGIN").map(|(i, _)| i).find(|&i| {
        let header = text[i..].split('\n').next().unwrap_or_default();
        header.contains("PRIVATE KEY")
    });
    match (shape, block) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Returns `text` with the letters of each JSON escape (`\n`, `\t`, `\u00e9`,
/// …) replaced by line breaks. Only ASCII bytes change, one for one, so
/// offsets and character boundaries are those of `text`.
///
/// JSON nested in JSON (tool arguments inside a stored response) escapes
/// `\n` as `\\n`, so a letter after any run of backslashes counts as
/// escaped: at worst a little more is redacted than need be.
fn escapes_as_breaks(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut bytes = text.as_bytes().to_vec();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        while bytes.get(i) == Some(&b'\\') {
            i += 1;
        }
        let letters = match bytes.get(i) {
            Some(b'b' | b'f' | b'n' | b'r' | b't') => 1,
            Some(b'u')
                if bytes
                    .get(i + 1..i + 5)
                    .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) =>
            {
                5
            }
            _ => 0,
        };
        bytes[i..i + letters].fill(b'\n');
        i += letters;
    }
    String::from_utf8(bytes).map_or(Cow::Borrowed(text), Cow::Owned)
}

/// Returns the length of the secret at the start of `text`.
fn secret_len(text: &str) -> usize {
    if text.starts_with("-----BEGIN") {
        const END: &str = "PRIVATE KEY-----";
        // The whole block, through its END line; without one, the rest of the text.
        return text
            .find("-----END")
            .and_then(|end| text[end..].find(END).map(|e| end + e + END.len()))
            .unwrap_or(text.len());
    }
    text.bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        .count()
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_and_the_rest_kept() {
        let text = "key=sk-ant-api03-abcdefghijklmnopqrstuvwxyz and ghp_abcdefghijklmnopqrstuvwxyz0123456789 end";
        assert_eq!(redact(text), "key=[REDACTED] and [REDACTED] end");
        let pem = "a\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\nb";
        assert_eq!(redact(pem), "a\n[REDACTED]\nb");
        assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn secrets_after_json_escapes_are_found() {
        let key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz";
        for escape in ["\\n", "\\t", "\\r", "\\u00e9"] {
            let json = format!(r#"{{"text":"line{escape}{key} end"}}"#);
            assert_eq!(
                redact(&json),
                format!(r#"{{"text":"line{escape}[REDACTED] end"}}"#),
                "{escape}"
            );
        }
        // JSON in JSON: tool arguments inside a stored response.
        let arguments = serde_json::json!({"content": format!("x\n{key}")}).to_string();
        let nested = serde_json::json!([{"arguments": arguments}]).to_string();
        assert!(nested.contains(r"x\\n"), "{nested}");
        assert!(!redact(&nested).contains(key), "{nested}");
        // A plain backslash before a word changes nothing.
        assert_eq!(redact(r"C:\Users\dev"), r"C:\Users\dev");
    }

    #[test]
    fn a_private_key_after_a_certificate_is_found() {
        let text = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n\
                    -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\nafter";
        assert_eq!(
            redact(text),
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n[REDACTED]\nafter"
        );
    }
}
