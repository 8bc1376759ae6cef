//! Which environment variable names mark secrets: such a variable never
//! enters an agent's sandbox, whatever the configuration says.

/// Fragments of a variable name that mark it as a secret.
pub const SECRET_NAME_PARTS: [&str; 9] = [
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "AUTH",
    "DSN",
    "DATABASE_URL",
];

/// Whether an environment variable's name marks a secret (ASCII case
/// ignored): `ANTHROPIC_API_KEY`, `github_token`, `SENTRY_DSN`.
#[must_use]
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_NAME_PARTS.iter().any(|part| upper.contains(part))
}

#[cfg(test)]
mod tests {
    use super::is_secret_name;

    #[test]
    fn secret_names_are_recognised() {
        for name in [
            "ANTHROPIC_API_KEY",
            "github_token",
            "DB_PASSWORD",
            "SENTRY_DSN",
            "DATABASE_URL",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["PATH", "LANG", "RUST_LOG", "CARGO_TERM_COLOR", ""] {
            assert!(!is_secret_name(name), "{name}");
        }
    }
}
