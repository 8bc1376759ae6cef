//! Opening the main repository, resolving revisions, ancestry and file counts.

use slipway_git::{GitError, Repo};
use slipway_test_support::TempRepo;

use super::support::{git, open, rev, sha};

#[tokio::test]
async fn opens_a_work_tree_root_with_commits() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let repo = open(&t).await;
    assert_eq!(repo.root(), t.path().canonicalize().unwrap());
}

#[tokio::test]
async fn refuses_a_directory_that_is_not_a_repository() {
    let dir = tempfile::tempdir().unwrap();
    let err = Repo::open(dir.path()).await.unwrap_err();
    assert!(matches!(err, GitError::NotARepository { .. }), "{err}");
    assert!(err.to_string().contains("not a git repository"), "{err}");
    let err = Repo::open(&dir.path().join("missing")).await.unwrap_err();
    assert!(matches!(err, GitError::NotARepository { .. }), "{err}");
}

#[tokio::test]
async fn refuses_a_repository_without_commits() {
    let t = TempRepo::new();
    let err = Repo::open(t.path()).await.unwrap_err();
    assert!(matches!(err, GitError::NoCommits { .. }), "{err}");
    assert!(err.to_string().contains("commit something first"), "{err}");
}

#[tokio::test]
async fn refuses_a_subdirectory_and_names_the_root() {
    let t = TempRepo::with_files(&[("sub/a.txt", "a\n")]);
    let err = Repo::open(&t.join("sub")).await.unwrap_err();
    match &err {
        GitError::NotRoot { root, .. } => assert_eq!(root, &t.path().canonicalize().unwrap()),
        other => panic!("expected NotRoot, got {other}"),
    }
}

#[tokio::test]
async fn refuses_a_bare_repository() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("bare.git");
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "--bare",
            t.path().to_str().unwrap(),
            "bare.git",
        ],
    );
    let err = Repo::open(&bare).await.unwrap_err();
    assert!(matches!(err, GitError::NoWorkTree { .. }), "{err}");
    let err = Repo::open(&t.join(".git")).await.unwrap_err();
    assert!(matches!(err, GitError::NoWorkTree { .. }), "{err}");
}

#[tokio::test]
async fn ignores_git_variables_of_the_caller() {
    // A GIT_DIR pointing elsewhere must not redirect the library.
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let other = TempRepo::new();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "suite::open::probe_open_in_child",
            "--ignored",
            "--nocapture",
        ])
        .env("GIT_DIR", other.join(".git"))
        .env("GIT_WORK_TREE", other.path())
        .env("GIT_INDEX_FILE", "/nonexistent/index")
        .env("SLIPWAY_PROBE_REPO", t.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

/// Run by `ignores_git_variables_of_the_caller` in a child with `GIT_DIR` set.
#[tokio::test]
#[ignore = "run in a child process by ignores_git_variables_of_the_caller"]
async fn probe_open_in_child() {
    let path = std::env::var_os("SLIPWAY_PROBE_REPO").expect("run by its parent test");
    let repo = Repo::open(std::path::Path::new(&path)).await.unwrap();
    assert!(repo.resolve("HEAD").await.unwrap().is_some());
    assert!(repo.dirty_paths().await.unwrap().is_empty());
}

#[tokio::test]
async fn resolves_revisions_to_commits_or_none() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    t.git(&["tag", "-a", "-m", "annotated", "v1"]);
    let repo = open(&t).await;
    let head = rev(&t, "HEAD");
    assert_eq!(repo.resolve("HEAD").await.unwrap(), Some(head.clone()));
    assert_eq!(repo.resolve("main").await.unwrap(), Some(head.clone()));
    // An annotated tag peels to its commit.
    assert_eq!(repo.resolve("v1").await.unwrap(), Some(head.clone()));
    assert_eq!(
        repo.resolve(head.as_str()).await.unwrap(),
        Some(head.clone())
    );
    for missing in [
        "nope",
        "HEAD~5",
        "--help",
        "-q",
        "",
        "HEAD:a.txt",
        &"f".repeat(40),
    ] {
        assert_eq!(repo.resolve(missing).await.unwrap(), None, "{missing}");
    }
}

#[tokio::test]
async fn tells_ancestry() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let first = rev(&t, "HEAD");
    t.write("a.txt", "b\n").commit("second");
    let second = rev(&t, "HEAD");
    let repo = open(&t).await;
    assert!(repo.is_ancestor(&first, &second).await.unwrap());
    assert!(repo.is_ancestor(&second, &second).await.unwrap());
    assert!(!repo.is_ancestor(&second, &first).await.unwrap());
    let err = repo
        .is_ancestor(&sha(&"e".repeat(40)), &first)
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::Failed { .. }), "{err}");
    assert!(err.to_string().contains("merge-base"), "{err}");
}

#[tokio::test]
async fn counts_files_of_a_commit() {
    let t = TempRepo::with_files(&[("a.txt", "a\n"), ("d/b.txt", "b\n"), ("d/e/c.txt", "c\n")]);
    let repo = open(&t).await;
    assert_eq!(repo.file_count(&rev(&t, "HEAD")).await.unwrap(), 3);
}
