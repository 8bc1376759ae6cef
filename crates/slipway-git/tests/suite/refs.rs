//! The environment branches, compare-and-swap moves, release tags and
//! pushes; none of them runs the main repository's hooks.

use slipway_git::GitError;
use slipway_test_support::TempRepo;

use super::support::{git, install_hooks, marker_dir, markers, open, rev};

#[tokio::test]
async fn makes_environments_at_head_once() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let repo = open(&t).await;
    let head = rev(&t, "HEAD");
    let envs = repo.ensure_environments().await.unwrap();
    assert_eq!(
        (envs.staging.clone(), envs.production.clone()),
        (head.clone(), head.clone())
    );
    assert_eq!(rev(&t, "refs/heads/staging"), head);
    assert_eq!(rev(&t, "refs/heads/production"), head);

    // HEAD moves on; the environments stay where they are.
    t.write("a.txt", "b\n").commit("second");
    assert_eq!(repo.ensure_environments().await.unwrap(), envs);
    assert_eq!(rev(&t, "refs/heads/staging"), head);
}

#[tokio::test]
async fn keeps_existing_environment_branches() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let old = rev(&t, "HEAD");
    t.git(&["branch", "production"]);
    t.write("a.txt", "b\n").commit("second");
    let head = rev(&t, "HEAD");
    let repo = open(&t).await;
    let envs = repo.ensure_environments().await.unwrap();
    assert_eq!(envs.production, old);
    assert_eq!(envs.staging, head);
}

#[tokio::test]
async fn moves_a_branch_only_from_the_expected_head() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let first = rev(&t, "HEAD");
    t.write("a.txt", "b\n").commit("second");
    let second = rev(&t, "HEAD");
    let repo = open(&t).await;
    repo.ensure_environments().await.unwrap(); // both at `second`

    assert!(repo.move_branch("staging", &first, &second).await.unwrap());
    assert_eq!(rev(&t, "staging"), first);
    // Stale old value: refused, nothing moves.
    assert!(!repo.move_branch("staging", &second, &second).await.unwrap());
    assert_eq!(rev(&t, "staging"), first);
    // A branch that does not exist does not point at `old`.
    assert!(!repo.move_branch("nope", &second, &first).await.unwrap());
    assert_eq!(repo.resolve("refs/heads/nope").await.unwrap(), None);

    let err = repo.move_branch("a..b", &second, &first).await.unwrap_err();
    assert!(matches!(err, GitError::InvalidName { .. }), "{err}");
    let err = repo.move_branch("-d", &second, &first).await.unwrap_err();
    assert!(matches!(err, GitError::InvalidName { .. }), "{err}");
}

#[tokio::test]
async fn concurrent_moves_from_the_same_head_have_one_winner() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let base = rev(&t, "HEAD");
    let mut candidates = Vec::new();
    for i in 0..4 {
        t.git(&["commit", "-q", "--allow-empty", "-m", &format!("c{i}")]);
        candidates.push(rev(&t, "HEAD"));
    }
    let repo = open(&t).await;
    for round in 0..5 {
        t.git(&["update-ref", "refs/heads/staging", base.as_str()]);
        let (one, two, three, four) = tokio::join!(
            repo.move_branch("staging", &candidates[0], &base),
            repo.move_branch("staging", &candidates[1], &base),
            repo.move_branch("staging", &candidates[2], &base),
            repo.move_branch("staging", &candidates[3], &base),
        );
        let won: Vec<bool> = [one, two, three, four]
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "round {round}: {won:?}"
        );
        let winner = won.iter().position(|w| *w).unwrap();
        assert_eq!(rev(&t, "staging"), candidates[winner], "round {round}");
    }
}

#[tokio::test]
async fn tags_are_idempotent_and_never_move() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let first = rev(&t, "HEAD");
    t.write("a.txt", "b\n").commit("second");
    let second = rev(&t, "HEAD");
    let repo = open(&t).await;

    repo.tag("release-1", &first).await.unwrap();
    assert_eq!(rev(&t, "refs/tags/release-1"), first);
    repo.tag("release-1", &first).await.unwrap();
    let err = repo.tag("release-1", &second).await.unwrap_err();
    match &err {
        GitError::TagConflict { name, at } => {
            assert_eq!((name.as_str(), at), ("release-1", &first));
        }
        other => panic!("expected TagConflict, got {other}"),
    }
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(rev(&t, "refs/tags/release-1"), first);

    // An annotated tag of the same commit counts as the same.
    t.git(&["tag", "-a", "-m", "by hand", "release-2", second.as_str()]);
    repo.tag("release-2", &second).await.unwrap();
    assert!(repo.tag("bad name", &second).await.is_err());
}

#[tokio::test]
async fn pushes_to_a_bare_remote_and_reports_refusals() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "--bare", "remote.git"]);
    let remote = dir.path().join("remote.git");
    t.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    let repo = open(&t).await;
    let envs = repo.ensure_environments().await.unwrap();
    repo.tag("release-1", &envs.production).await.unwrap();

    let specs = ["staging", "production", "refs/tags/release-1"].map(String::from);
    repo.push("origin", &specs).await.unwrap();
    assert_eq!(
        git(&remote, &["rev-parse", "staging"]),
        envs.staging.as_str()
    );
    assert_eq!(
        git(&remote, &["rev-parse", "release-1"]),
        envs.production.as_str()
    );
    // By path, too.
    repo.push(remote.to_str().unwrap(), &["production".into()])
        .await
        .unwrap();

    // The remote moves on; a non-fast-forward push is refused and named.
    let other = TempRepo::new();
    other.git(&["fetch", "-q", remote.to_str().unwrap(), "staging:staging"]);
    other.git(&["checkout", "-q", "staging"]);
    other.write("b.txt", "b\n").commit("elsewhere");
    other.git(&["push", "-q", remote.to_str().unwrap(), "staging"]);
    t.write("c.txt", "c\n").commit("here");
    let head = rev(&t, "HEAD");
    assert!(
        repo.move_branch("staging", &head, &envs.staging)
            .await
            .unwrap()
    );
    let err = repo.push("origin", &["staging".into()]).await.unwrap_err();
    match &err {
        GitError::PushRejected { remote, refs } => {
            assert_eq!(remote, "origin");
            assert!(refs[0].contains("refs/heads/staging"), "{refs:?}");
            assert!(refs[0].contains("rejected"), "{refs:?}");
        }
        other => panic!("expected PushRejected, got {other}"),
    }

    for bad in [vec![], vec!["--mirror".to_owned()]] {
        assert!(matches!(
            repo.push("origin", &bad).await,
            Err(GitError::InvalidName { .. })
        ));
    }
    assert!(matches!(
        repo.push("--receive-pack=touch x", &["staging".into()])
            .await,
        Err(GitError::InvalidName { .. })
    ));
    let err = repo.push("nowhere", &["staging".into()]).await.unwrap_err();
    assert!(matches!(err, GitError::Failed { .. }), "{err}");
}

#[tokio::test]
async fn main_repository_hooks_never_run() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let marks = marker_dir();
    install_hooks(&t.join(".git/hooks"), marks.path());
    // The hooks work when git runs them: a commit by hand leaves markers.
    t.write("b.txt", "b\n").commit("by hand");
    assert!(markers(marks.path()).contains(&"hook-reference-transaction".to_owned()));
    for entry in std::fs::read_dir(marks.path()).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    // The remote's own hooks are its business (they run on its side); the
    // main repository's `pre-push` and `reference-transaction` must not run.
    git(dir.path(), &["init", "-q", "--bare", "remote.git"]);
    let repo = open(&t).await;
    let envs = repo.ensure_environments().await.unwrap();
    let head = rev(&t, "HEAD~1");
    assert!(
        repo.move_branch("staging", &head, &envs.staging)
            .await
            .unwrap()
    );
    repo.tag("release-1", &head).await.unwrap();
    let remote = dir.path().join("remote.git");
    repo.push(remote.to_str().unwrap(), &["staging".into()])
        .await
        .unwrap();
    assert_eq!(markers(marks.path()), Vec::<String>::new());
}
