//! Removes known secret shapes (API keys, tokens, private keys) from text
//! before it is stored in a trace.

use std::borrow::Cow;

use slipway_config::find_secret;

/// What a removed secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Returns `text` with every credential-shaped run replaced by [`REDACTED`].
#[must_use]
pub fn redact(text: &str) -> Cow<'_, str> {
    let Some(first) = find_secret(text) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut found = Some(first);
    while let Some(secret) = found {
        let (before, from) = rest.split_at(secret.offset);
        out.push_str(before);
        out.push_str(REDACTED);
        let len = secret_len(from);
        rest = &from[len..];
        found = find_secret(rest);
    }
    out.push_str(rest);
    Cow::Owned(out)
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
}
