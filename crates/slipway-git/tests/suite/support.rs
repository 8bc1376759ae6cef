//! Helpers shared by the tests: running git outside the crate (as the
//! agent or the user would), hooks that leave a marker, identities.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use slipway_git::{Identity, Repo, Sha};
use slipway_test_support::TempRepo;

pub(crate) fn identity() -> Identity {
    Identity {
        name: "Slipway Bot".into(),
        email: "bot@slipway.invalid".into(),
    }
}

pub(crate) async fn open(repo: &TempRepo) -> Repo {
    Repo::open(repo.path()).await.unwrap()
}

pub(crate) fn sha(text: &str) -> Sha {
    text.parse().unwrap()
}

/// Returns the commit `rev` names in `repo`.
pub(crate) fn rev(repo: &TempRepo, rev: &str) -> Sha {
    sha(&repo.git(&["rev-parse", &format!("{rev}^{{commit}}")]))
}

/// Runs git in `dir` as a person or an agent would (no protections beyond
/// ignoring the machine's config) and returns its trimmed stdout.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_output(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub(crate) fn git_output(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args([
            "-c",
            "user.name=Agent",
            "-c",
            "user.email=agent@slipway.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .unwrap()
}

/// Writes `contents` to `dir/rel`, creating parents.
pub(crate) fn write(dir: &Path, rel: &str, contents: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// Writes an executable shell script.
pub(crate) fn script(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Hook names that fetch, checkout, commit, push and ref updates could run.
pub(crate) const HOOKS: [&str; 10] = [
    "reference-transaction",
    "post-checkout",
    "post-merge",
    "pre-commit",
    "post-commit",
    "pre-push",
    "pre-receive",
    "update",
    "post-update",
    "post-index-change",
];

/// Installs every hook of [`HOOKS`] in `hooks_dir`, each touching a file
/// named after it in `markers`.
pub(crate) fn install_hooks(hooks_dir: &Path, markers: &Path) {
    for hook in HOOKS {
        let marker = markers.join(format!("hook-{hook}"));
        script(
            &hooks_dir.join(hook),
            &format!("touch '{}'", marker.display()),
        );
    }
}

/// Returns the names of the files in `markers`: what ran.
pub(crate) fn markers(markers: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(markers)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A directory for markers, outside every repository.
pub(crate) fn marker_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("slipway-markers-")
        .tempdir()
        .unwrap()
}

/// Whether the tests run as root, so they can give a clone to another user.
pub(crate) fn is_root() -> bool {
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid() == 0
}

/// Gives `dir` and everything in it to `nobody` (65534), as `hand_over` does.
pub(crate) fn give_to_nobody(dir: &Path) {
    let status = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Makes a workspace of `repo` at `dir/name` on `branch` at HEAD.
pub(crate) async fn workspace(repo: &Repo, parent: &Path, name: &str, branch: &str) -> PathBuf {
    let dir = parent.join(name);
    let head = repo.resolve("HEAD").await.unwrap().unwrap();
    repo.create_workspace(&dir, branch, &head, &identity(), &[])
        .await
        .unwrap();
    dir
}
