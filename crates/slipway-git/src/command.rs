//! Running git: the single place a `git` process is started, so that every
//! command carries the same protections (DESIGN §2, pipeline.md "Clones are
//! untrusted"): no hooks, no fsmonitor, no system or global config, no
//! prompt, a fixed locale, stdin closed, and none of the caller's `GIT_*`
//! variables that would point git at another repository or inject config.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::GitError;

/// Settings every command carries, ahead of its own arguments.
const PROTECTIONS: [&str; 6] = [
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=",
    "-c",
    "protocol.file.allow=always",
];

/// The caller's `GIT_*` variables that are kept: how to reach a remote over
/// ssh, and where git's own programs are. Every other `GIT_*` variable is
/// removed (`GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE`, `GIT_CONFIG_*`,
/// `GIT_EXTERNAL_DIFF`, identities, …).
const KEPT_GIT_VARS: [&str; 4] = [
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_SSH_VARIANT",
    "GIT_EXEC_PATH",
];

/// One git command to run in a directory.
#[derive(Debug)]
pub(crate) struct Git {
    dir: PathBuf,
    config: Vec<OsString>,
    args: Vec<OsString>,
    env: Vec<(&'static str, OsString)>,
}

/// What a finished git command left: its exit code and output.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
    pub(crate) command: String,
    dir: PathBuf,
}

impl Git {
    /// Starts a command that runs in `dir`.
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            config: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Adds `-c key=value` for this command only.
    pub(crate) fn config(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        let mut setting = OsString::from(key);
        setting.push("=");
        setting.push(value.as_ref());
        self.config.push("-c".into());
        self.config.push(setting);
        self
    }

    /// Lets git work in `path` though another user may own it.
    pub(crate) fn safe_directory(self, path: &Path) -> Self {
        self.config("safe.directory", path)
    }

    pub(crate) fn env(mut self, key: &'static str, value: impl Into<OsString>) -> Self {
        self.env.push((key, value.into()));
        self
    }

    /// Runs the command and returns its output whatever its exit code.
    pub(crate) async fn output(self) -> Result<Output, GitError> {
        exec(self).await
    }

    /// Runs the command and returns its stdout; a non-zero exit is an error.
    pub(crate) async fn run(self) -> Result<Vec<u8>, GitError> {
        let output = exec(self).await?;
        if output.success() {
            Ok(output.stdout)
        } else {
            Err(output.into_error())
        }
    }
}

impl Output {
    pub(crate) fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Turns a failed command into [`GitError::Failed`].
    pub(crate) fn into_error(self) -> GitError {
        GitError::Failed {
            command: self.command,
            dir: self.dir,
            code: self.code,
            stderr: self.stderr,
        }
    }
}

/// The longest any one git command may run.
const GIT_TIME_LIMIT: std::time::Duration = std::time::Duration::from_mins(10);

/// Starts git with the protections, waits for it, and collects its output.
/// The only function in the crate that starts a process.
async fn exec(git: Git) -> Result<Output, GitError> {
    let command = display(&git.config, &git.args);
    let mut cmd = tokio::process::Command::new("git");
    cmd.args(PROTECTIONS)
        .args(&git.config)
        .args(&git.args)
        .current_dir(&git.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        let name = key.as_bytes();
        if name.starts_with(b"GIT_") && !KEPT_GIT_VARS.iter().any(|k| k.as_bytes() == name) {
            cmd.env_remove(&key);
        }
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .envs(git.env.iter().map(|(k, v)| (k, v)));
    // A clone is untrusted: a FIFO where git expects a file must not hang
    // the orchestrator. Dropping the future kills git (`kill_on_drop`).
    let out = tokio::time::timeout(GIT_TIME_LIMIT, cmd.output())
        .await
        .map_err(|_| {
            GitError::io(
                format!(
                    "`{command}` ran past {} minutes and was stopped",
                    GIT_TIME_LIMIT.as_secs() / 60
                ),
                std::io::Error::from(std::io::ErrorKind::TimedOut),
            )
        })?
        .map_err(|source| GitError::Spawn {
            command: command.clone(),
            source,
        })?;
    Ok(Output {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        command,
        dir: git.dir,
    })
}

/// Renders a command line for messages: `git` and the command's own
/// settings and arguments, quoted where a shell would need it.
fn display(config: &[OsString], args: &[OsString]) -> String {
    let mut line = String::from("git");
    for arg in config.iter().chain(args) {
        let text = arg.to_string_lossy();
        let plain = !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./:=+@^{}~,%".contains(&b));
        if plain {
            let _ = write!(line, " {text}");
        } else {
            let _ = write!(line, " '{}'", text.replace('\'', r"'\''"));
        }
    }
    line
}

/// Quotes `value` for a POSIX shell, for the command lines git itself runs
/// through `sh -c` (`--upload-pack`).
pub(crate) fn shell_quote(value: &OsStr) -> OsString {
    let mut quoted = Vec::with_capacity(value.len() + 2);
    quoted.push(b'\'');
    for &b in value.as_bytes() {
        if b == b'\'' {
            quoted.extend_from_slice(br"'\''");
        } else {
            quoted.push(b);
        }
    }
    quoted.push(b'\'');
    OsStr::from_bytes(&quoted).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_a_command_line_quoted() {
        let line = display(
            &["-c".into(), "safe.directory=/tmp/a b".into()],
            &[
                "commit-tree".into(),
                "-m".into(),
                "it's".into(),
                String::new().into(),
            ],
        );
        assert_eq!(
            line,
            r"git -c 'safe.directory=/tmp/a b' commit-tree -m 'it'\''s' ''"
        );
    }

    #[test]
    fn quotes_for_a_shell() {
        assert_eq!(shell_quote(OsStr::new("/a b/it's")), r"'/a b/it'\''s'");
        assert_eq!(shell_quote(OsStr::new("$(x)")), "'$(x)'");
    }
}
