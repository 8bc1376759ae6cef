//! Recognizes the shapes of well-known credentials, so that a key pasted into
//! `slipway.toml` is refused before it is committed.
//!
//! Hand-written prefix scanning: the shapes are few and fixed, and a regex
//! engine would be the only reason to take one on here.

/// A credential-shaped run of text: where it starts and what it looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretMatch {
    pub offset: usize,
    pub kind: &'static str,
}

/// (prefix, minimum length of the token body after the prefix, kind).
const SHAPES: &[(&str, usize, &str)] = &[
    ("sk-ant-", 20, "an Anthropic API key"),
    ("sk-proj-", 20, "an OpenAI API key"),
    ("sk-", 32, "an OpenAI-style API key"),
    ("AKIA", 16, "an AWS access key id"),
    ("ghp_", 30, "a GitHub token"),
    ("gho_", 30, "a GitHub token"),
    ("ghs_", 30, "a GitHub token"),
    ("github_pat_", 30, "a GitHub token"),
    ("xoxb-", 20, "a Slack token"),
    ("xoxp-", 20, "a Slack token"),
    ("AIza", 35, "a Google API key"),
    ("glpat-", 20, "a GitLab token"),
];

fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// Returns the first credential-shaped text in `text`, if any.
#[must_use]
pub fn find_secret(text: &str) -> Option<SecretMatch> {
    let bytes = text.as_bytes();
    let mut best: Option<SecretMatch> = None;
    if let Some(offset) = text.find("-----BEGIN") {
        let rest = text.get(offset..).unwrap_or_default();
        let header_end = rest.find('\n').unwrap_or(rest.len());
        if rest
            .get(..header_end)
            .is_some_and(|h| h.contains("PRIVATE KEY"))
        {
            best = Some(SecretMatch {
                offset,
                kind: "a private key",
            });
        }
    }
    for (prefix, min_body, kind) in SHAPES {
        let mut from = 0;
        while let Some(found) = text.get(from..).and_then(|t| t.find(prefix)) {
            let start = from + found;
            from = start + prefix.len();
            // The token must start at a word boundary.
            if start > 0 && is_token_char(bytes[start - 1]) {
                continue;
            }
            let body = bytes[from..]
                .iter()
                .take_while(|c| is_token_char(**c))
                .count();
            if body >= *min_body && best.is_none_or(|b| start < b.offset) {
                best = Some(SecretMatch {
                    offset: start,
                    kind,
                });
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_common_key_shapes() {
        let cases = [
            (
                "key = \"sk-ant-api03-abcdefghijklmnopqrstuvwxyz\"",
                "an Anthropic API key",
            ),
            ("sk-proj-ABCDEFGHIJKLMNOPQRSTUV1234", "an OpenAI API key"),
            ("x AKIAABCDEFGHIJKLMNOP", "an AWS access key id"),
            ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "a GitHub token"),
            ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc", "a private key"),
        ];
        for (text, kind) in cases {
            let found = find_secret(text).unwrap_or_else(|| panic!("missed {text}"));
            assert_eq!(found.kind, kind, "{text}");
        }
        let found = find_secret("x = 1\napi = \"sk-ant-0123456789012345678901\"").unwrap();
        assert_eq!(found.offset, 13);
    }

    #[test]
    fn ignores_ordinary_text() {
        for text in [
            "model = \"anthropic:claude-sonnet-4-5\"",
            "tests = \"cargo test --workspace\"",
            "desk-top = 1",
            "api_key_env = \"ANTHROPIC_API_KEY\"",
            "sk-short",
            "mask-ant-abcdefghijklmnopqrstuvwxyz",
            "-----BEGIN CERTIFICATE-----",
        ] {
            assert_eq!(find_secret(text), None, "{text}");
        }
    }
}
