//! `redact` as traces use it: no generated credential survives it, in plain
//! text or in the JSON bodies the recorder stores, and text without one
//! comes back untouched.

use std::borrow::Cow;

use proptest::prelude::*;
use slipway_runtime::{REDACTED, redact};

/// (prefix, shortest body) of each shape `slipway_config::find_secret` knows.
const SHAPES: &[(&str, usize)] = &[
    ("sk-ant-", 20),
    ("sk-proj-", 20),
    ("sk-", 32),
    ("AKIA", 16),
    ("ghp_", 30),
    ("gho_", 30),
    ("ghs_", 30),
    ("github_pat_", 30),
    ("xoxb-", 20),
    ("xoxp-", 20),
    ("AIza", 35),
    ("glpat-", 20),
];

/// A credential: a known prefix and a body long enough to count.
fn key() -> impl Strategy<Value = String> {
    (0..SHAPES.len()).prop_flat_map(|i| {
        let (prefix, min) = SHAPES[i];
        proptest::string::string_regex(&format!("[A-Za-z0-9_-]{{{min},{}}}", min + 24))
            .unwrap()
            .prop_map(move |body| format!("{prefix}{body}"))
    })
}

/// A private key block, of one of the usual headers.
fn pem() -> impl Strategy<Value = (String, String)> {
    (
        prop_oneof![Just("RSA "), Just("EC "), Just("OPENSSH "), Just("")],
        proptest::string::string_regex("[A-Za-z0-9+/]{40,64}").unwrap(),
    )
        .prop_map(|(kind, body)| {
            let block = format!(
                "-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----"
            );
            (block, body)
        })
}

/// Ordinary text around a secret; `\PC` includes letters, digits, quotes, backslashes.
fn filler() -> impl Strategy<Value = String> {
    "\\PC{0,40}"
}

/// What separates a secret from the text before it: anything a token cannot hold.
fn separator() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just(" "),
        Just("\n"),
        Just("\t"),
        Just("\r\n"),
        Just("\""),
        Just("="),
        Just(": "),
        Just("'"),
        Just("("),
        Just("\\"),
        Just("é "),
    ]
}

fn assert_gone(stored: &str, secret: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !stored.contains(secret),
        "{secret:?} survived in {stored:?}"
    );
    prop_assert!(stored.contains(REDACTED));
    Ok(())
}

proptest! {
    #[test]
    fn no_generated_key_survives(
        before in filler(), sep in separator(), key in key(), after in separator(), rest in filler(),
    ) {
        let text = format!("{before}{sep}{key}{after}{rest}");
        assert_gone(&redact(&text), &key)?;
        // The recorder stores messages as JSON: the key must not survive its escaping either.
        let json = serde_json::to_string(&serde_json::json!({"content": text})).unwrap();
        assert_gone(&redact(&json), &key)?;
    }

    #[test]
    fn no_private_key_block_survives(
        before in filler(), (block, body) in pem(), certificate in any::<bool>(), rest in filler(),
    ) {
        let certificate = if certificate {
            "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
        } else {
            ""
        };
        let text = format!("{before}\n{certificate}{block}\n{rest}");
        assert_gone(&redact(&text), &body)?;
        let json = serde_json::to_string(&text).unwrap();
        assert_gone(&redact(&json), &body)?;
    }

    #[test]
    fn text_without_secrets_is_returned_untouched(text in "\\PC{0,200}") {
        prop_assert!(matches!(redact(&text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn near_misses_are_not_secrets(
        i in 0..SHAPES.len(), glued in "[a-z0-9]", short in any::<bool>(), tail in "[ .,;]",
    ) {
        let (prefix, min) = SHAPES[i];
        // Too short, or glued to the word before it: not a credential.
        let text = if short {
            format!("id {prefix}{}{tail}", "x".repeat(min - 1))
        } else {
            format!("id {glued}{prefix}{}{tail}", "x".repeat(min + 5))
        };
        prop_assert_eq!(redact(&text), Cow::Borrowed(text.as_str()));
    }
}

#[test]
fn known_values_are_removed_whatever_their_shape() {
    let secrets = slipway_runtime::SecretValues::new([
        "plain-value-1234".to_owned(),
        "short".to_owned(),
        "  padded-value-5678  ".to_owned(),
    ]);
    assert_eq!(
        secrets.scrub("a plain-value-1234 b padded-value-5678 c short"),
        "a [REDACTED] b [REDACTED] c short",
        "values of fewer than 8 bytes are left: they would cut ordinary words"
    );
    // Shapes are still found without being listed.
    assert!(
        !secrets
            .scrub("sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345")
            .contains("sk-ant-api03-abc")
    );
    assert_eq!(format!("{secrets:?}"), "SecretValues(2 values)");
}
