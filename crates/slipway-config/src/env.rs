//! The environment variables Slipway reads, in one registry.

/// An environment variable Slipway reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    pub name: &'static str,
    pub what: &'static str,
    /// True when the value is a credential and must never be printed.
    pub secret: bool,
}

/// The PostgreSQL URL that replaces the embedded SQLite store.
pub const DATABASE_URL: &str = "SLIPWAY_DATABASE_URL";

/// Every variable Slipway reads.
pub const ENV_VARS: &[EnvVar] = &[
    EnvVar {
        name: DATABASE_URL,
        what: "PostgreSQL URL of the store (default: SQLite in .slipway/slipway.db)",
        secret: true,
    },
    EnvVar {
        name: "ANTHROPIC_API_KEY",
        what: "key for the `anthropic` provider",
        secret: true,
    },
    EnvVar {
        name: "ANTHROPIC_BASE_URL",
        what: "base URL of the `anthropic` provider",
        secret: false,
    },
    EnvVar {
        name: "OPENAI_API_KEY",
        what: "key for the `openai` provider",
        secret: true,
    },
    EnvVar {
        name: "OPENAI_BASE_URL",
        what: "base URL of the `openai` provider, ending in /v1",
        secret: false,
    },
];
