//! Running the binary and reading what it did.

use std::path::Path;
use std::process::{Command, Stdio};

use slipway_test_support::TempRepo;

/// What one run of `slipway` printed and how it exited.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    #[track_caller]
    pub(crate) fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success:\n{self:#?}");
        self
    }

    #[track_caller]
    pub(crate) fn fails(self, code: i32) -> Self {
        assert_eq!(self.code, code, "expected exit {code}:\n{self:#?}");
        self
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// Returns `slipway ARGS` to run in `dir` with a clean environment (no store
/// URL unless `env` sets one).
pub(crate) fn command_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slipway"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("SLIPWAY_DATABASE_URL")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `slipway ARGS` in `dir` with a clean environment (no store URL unless `env` sets one).
pub(crate) fn slipway_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = command_in(dir, args, env).output().expect("run slipway");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `slipway ARGS` at the root of `repo`.
pub(crate) fn slipway(repo: &TempRepo, args: &[&str]) -> Run {
    slipway_in(repo.path(), args, &[])
}

/// A repository with a committed project, after `slipway init`.
pub(crate) fn initialized(files: &[(&str, &str)]) -> TempRepo {
    let repo = TempRepo::with_files(files);
    slipway(&repo, &["init"]).ok();
    repo
}

/// Rewrites the generated `slipway.toml`: each `(from, to)` replacement, and
/// the `[gates] tests` line set to `tests` when given.
pub(crate) fn set_config(repo: &TempRepo, tests: Option<&str>, replace: &[(&str, &str)]) {
    let path = repo.join("slipway.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "slipway.toml has no {from:?}");
        text = text.replace(from, to);
    }
    let text: Vec<String> = text
        .lines()
        .map(|l| match tests {
            Some(tests) if l.starts_with("tests = ") => format!("tests = \"{tests}\""),
            _ => l.to_owned(),
        })
        .collect();
    std::fs::write(path, text.join("\n") + "\n").unwrap();
}

/// Replaces the `[lanes.main]` table of the generated configuration with `lanes`.
pub(crate) fn set_lanes(repo: &TempRepo, lanes: &str) {
    let path = repo.join("slipway.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace("[lanes.main]\nowns = [\"**\"]\n", lanes);
    std::fs::write(path, text).unwrap();
}
