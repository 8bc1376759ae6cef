//! Task workspaces and scratch clones: the branch, the checkout, the
//! identity, copies of untracked files, and a history of its own without hard links.

use std::os::unix::fs::{MetadataExt as _, symlink};
use std::path::Path;

use slipway_git::GitError;
use slipway_test_support::TempRepo;

use super::support::{git, git_output, identity, install_hooks, marker_dir, markers, open, rev};

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn checks_out_the_branch_at_its_base_with_the_identity() {
    let t = TempRepo::with_files(&[("a.txt", "one\n"), ("src/lib.rs", "fn f() {}\n")]);
    let base = rev(&t, "HEAD");
    t.write("a.txt", "two\n").commit("after the base");
    let repo = open(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("work/1");
    repo.create_workspace(&ws, "slipway/1", &base, &identity(), &[])
        .await
        .unwrap();

    assert_eq!(git(&ws, &["symbolic-ref", "HEAD"]), "refs/heads/slipway/1");
    assert_eq!(git(&ws, &["rev-parse", "HEAD"]), base.as_str());
    assert_eq!(std::fs::read_to_string(ws.join("a.txt")).unwrap(), "one\n");
    assert_eq!(
        std::fs::read_to_string(ws.join("src/lib.rs")).unwrap(),
        "fn f() {}\n"
    );
    assert_eq!(git(&ws, &["status", "--porcelain"]), "");
    assert_eq!(git(&ws, &["config", "--local", "user.name"]), "Slipway Bot");
    assert_eq!(
        git(&ws, &["config", "--local", "user.email"]),
        "bot@slipway.invalid"
    );
    // No tags came along, and the main repository did not change.
    assert_eq!(git(&ws, &["tag"]), "");
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}

#[tokio::test]
async fn a_workspace_holds_its_own_copy_of_the_base_history_only() {
    let t = TempRepo::with_files(&[("a.txt", "a\n"), ("b/c.txt", "c\n")]);
    t.git(&["gc", "-q"]); // packed objects: what a local clone would hard-link
    // Work that is not the base's: another branch and a stash of a secret.
    t.git(&["checkout", "-q", "-b", "private"]);
    t.write("secret.txt", "hunter2\n");
    t.commit("private work");
    let private = rev(&t, "HEAD");
    t.git(&["checkout", "-q", "main"]);
    let repo = open(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    repo.create_workspace(&ws, "slipway/2", &rev(&t, "main"), &identity(), &[])
        .await
        .unwrap();

    assert!(!ws.join(".git/objects/info/alternates").exists());
    assert_eq!(
        git(&ws, &["rev-parse", "HEAD"]),
        rev(&t, "main").to_string()
    );
    assert_eq!(
        git(&ws, &["branch", "--format=%(refname:short)"]),
        "slipway/2"
    );
    let missing = git_output(&ws, &["cat-file", "-e", private.as_str()]);
    assert!(
        !missing.status.success(),
        "the private branch's commit is not in the workspace"
    );
    let mut files = Vec::new();
    walk(&ws.join(".git"), &mut files);
    assert!(!files.is_empty());
    for file in &files {
        let meta = std::fs::symlink_metadata(file).unwrap();
        assert_eq!(meta.nlink(), 1, "{} has hard links", file.display());
    }
    // No sample hooks from the template.
    assert!(!ws.join(".git/hooks").exists());
}

#[tokio::test]
async fn copies_untracked_files_and_directories() {
    let t = TempRepo::with_files(&[
        ("a.txt", "a\n"),
        (".gitignore", ".env\nfixtures/\nlinked\n"),
    ]);
    t.write(".env", "SECRET=test\n");
    t.write("fixtures/one.json", "{}\n")
        .write("fixtures/deep/two.json", "[]\n");
    symlink("fixtures/one.json", t.join("linked")).unwrap(); // inside the root: followed
    let repo = open(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let copy = [".env", "./fixtures", "linked"].map(String::from);
    repo.create_workspace(&ws, "slipway/3", &rev(&t, "HEAD"), &identity(), &copy)
        .await
        .unwrap();

    assert_eq!(
        std::fs::read_to_string(ws.join(".env")).unwrap(),
        "SECRET=test\n"
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("fixtures/deep/two.json")).unwrap(),
        "[]\n"
    );
    let linked = std::fs::symlink_metadata(ws.join("linked")).unwrap();
    assert!(
        linked.is_file(),
        "a symlink inside the root is copied as its file"
    );
    assert_eq!(git(&ws, &["status", "--porcelain"]), "");
}

#[tokio::test]
async fn refuses_copies_that_leave_the_root_and_cleans_up() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "s\n").unwrap();
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    symlink(outside.path().join("secret"), t.join("escape")).unwrap();
    symlink(outside.path(), t.join("escape_dir")).unwrap();
    symlink(".git/config", t.join("gitconfig")).unwrap();
    t.write("dir_with_link/ok.txt", "ok\n");
    symlink(outside.path().join("secret"), t.join("dir_with_link/bad")).unwrap();
    let repo = open(&t).await;
    let head = rev(&t, "HEAD");
    let dir = tempfile::tempdir().unwrap();
    let abs = outside.path().join("secret").to_string_lossy().into_owned();
    for (listed, says) in [
        ("../x", "`..`"),
        ("a/../../x", "`..`"),
        (abs.as_str(), "absolute"),
        (".git/config", "`.git`"),
        ("escape", "outside the repository"),
        ("escape_dir/secret", "outside the repository"),
        ("gitconfig", "into `.git`"),
        ("dir_with_link", "outside the repository"),
        ("missing.env", "`missing.env` does not exist"),
    ] {
        let ws = dir.path().join("ws");
        let err = repo
            .create_workspace(&ws, "slipway/4", &head, &identity(), &[listed.to_owned()])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, GitError::Copy { path, .. } if path == listed),
            "{listed}: {err}"
        );
        assert!(err.to_string().contains(says), "{listed}: {err}");
        assert!(
            !ws.exists(),
            "{listed}: the half-made workspace is left behind"
        );
    }
}

#[tokio::test]
async fn a_committed_symlink_cannot_redirect_a_copy() {
    let outside = tempfile::tempdir().unwrap();
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    symlink(outside.path(), t.join("conf")).unwrap();
    t.commit("a symlink to a directory outside");
    // In the main work tree, `conf` is replaced by a real directory holding the file to copy.
    std::fs::remove_file(t.join("conf")).unwrap();
    t.write("conf/local.toml", "x = 1\n");
    let repo = open(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let err = repo
        .create_workspace(
            &dir.path().join("ws"),
            "slipway/5",
            &rev(&t, "HEAD"),
            &identity(),
            &["conf/local.toml".into()],
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not a directory in the workspace"),
        "{err}"
    );
    assert!(!outside.path().join("local.toml").exists());
}

#[tokio::test]
async fn refuses_bad_branches_and_occupied_directories() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let repo = open(&t).await;
    let head = rev(&t, "HEAD");
    let dir = tempfile::tempdir().unwrap();
    for bad in ["", "-b", "a b", "x:y", "x..y"] {
        let err = repo
            .create_workspace(&dir.path().join("ws"), bad, &head, &identity(), &[])
            .await
            .unwrap_err();
        assert!(matches!(err, GitError::InvalidName { .. }), "{bad}: {err}");
    }
    std::fs::create_dir(dir.path().join("full")).unwrap();
    std::fs::write(dir.path().join("full/keep"), "mine\n").unwrap();
    let err = repo
        .create_workspace(
            &dir.path().join("full"),
            "slipway/6",
            &head,
            &identity(),
            &[],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("full/keep")).unwrap(),
        "mine\n"
    );
    // A base that is not in the repository: the clone is removed again.
    let err = repo
        .create_workspace(
            &dir.path().join("ws"),
            "slipway/6",
            &"d".repeat(40).parse().unwrap(),
            &identity(),
            &[],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::Failed { .. }), "{err}");
    assert!(!dir.path().join("ws").exists());
}

#[tokio::test]
async fn scratch_clones_are_detached_at_the_commit() {
    let t = TempRepo::with_files(&[("a.txt", "one\n")]);
    let first = rev(&t, "HEAD");
    t.write("a.txt", "two\n").commit("second");
    let repo = open(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("scratch");
    repo.create_scratch(&scratch, &first).await.unwrap();
    assert_eq!(git(&scratch, &["rev-parse", "HEAD"]), first.as_str());
    let out = git_output(&scratch, &["symbolic-ref", "-q", "HEAD"]);
    assert!(!out.status.success(), "HEAD should be detached");
    assert_eq!(
        std::fs::read_to_string(scratch.join("a.txt")).unwrap(),
        "one\n"
    );
    assert!(scratch.join(".git/objects/info/alternates").is_file());
}

#[tokio::test]
async fn an_overlay_scratch_takes_only_the_named_files_from_the_other_commit() {
    let t = TempRepo::with_files(&[("src/a.py", "one\n"), ("tests/t.py", "old\n")]);
    let base = rev(&t, "HEAD");
    t.write("src/a.py", "two\n")
        .write("tests/t.py", "new\n")
        .write("tests/*.py", "a star in a name\n")
        .write("tests/added.py", "added\n")
        .commit("head");
    let head = rev(&t, "HEAD");
    let repo = open(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("scratch");
    repo.create_scratch_overlay(
        &scratch,
        &base,
        &head,
        &["tests/t.py".to_owned(), "tests/*.py".to_owned()],
    )
    .await
    .unwrap();
    let read = |p: &str| std::fs::read_to_string(scratch.join(p)).ok();
    assert_eq!(read("src/a.py").as_deref(), Some("one\n"));
    assert_eq!(read("tests/t.py").as_deref(), Some("new\n"));
    // Taken literally: the star names one file, not a pattern.
    assert_eq!(read("tests/*.py").as_deref(), Some("a star in a name\n"));
    assert_eq!(read("tests/added.py"), None);
    assert_eq!(git(&scratch, &["rev-parse", "HEAD"]), base.as_str());

    // A path the other commit lacks fails, and leaves no directory behind.
    let missing = dir.path().join("missing");
    let err = repo
        .create_scratch_overlay(&missing, &base, &head, &["nope.py".to_owned()])
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::Failed { .. }), "{err}");
    assert!(!missing.exists());
}

#[tokio::test]
async fn making_workspaces_runs_no_hooks() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let marks = marker_dir();
    install_hooks(&t.join(".git/hooks"), marks.path());
    let repo = open(&t).await;
    let dir = tempfile::tempdir().unwrap();
    repo.create_workspace(
        &dir.path().join("ws"),
        "slipway/7",
        &rev(&t, "HEAD"),
        &identity(),
        &[],
    )
    .await
    .unwrap();
    repo.create_scratch(&dir.path().join("scratch"), &rev(&t, "HEAD"))
        .await
        .unwrap();
    assert_eq!(markers(marks.path()), Vec::<String>::new());
}
