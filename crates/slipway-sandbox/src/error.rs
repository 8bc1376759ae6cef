//! What can go wrong before or around a sandboxed command; what the command
//! itself does wrong is its [`crate::Outcome`].

/// A sandbox that could not run a command.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// This host cannot sandbox: not root, or the kernel lacks namespaces.
    #[error("the sandbox is unavailable: {0}")]
    Unavailable(String),
    /// The command, its clone or its configuration is unusable.
    #[error("{0}")]
    BadSpec(String),
    /// The helper could not build the sandbox.
    #[error("the sandbox could not be set up: {0}")]
    Setup(String),
    /// An I/O error of the orchestrator's own.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
}
