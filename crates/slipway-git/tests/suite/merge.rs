//! Merges without a work tree: clean, conflicting, already merged.

use slipway_git::{GitError, Merge};
use slipway_test_support::TempRepo;

use super::support::{identity, install_hooks, marker_dir, markers, open, rev};

/// A repository with `main` and a branch `task` from the same base.
fn forked(main_files: &[(&str, &str)], task_files: &[(&str, &str)]) -> TempRepo {
    let t = TempRepo::with_files(&[("shared.txt", "1\n2\n3\n"), ("a b.txt", "x\n")]);
    t.git(&["branch", "task"]);
    for (path, contents) in main_files {
        t.write(path, contents);
    }
    t.commit("on main");
    t.git(&["checkout", "-q", "task"]);
    for (path, contents) in task_files {
        t.write(path, contents);
    }
    t.commit("on task");
    t.git(&["checkout", "-q", "main"]);
    t
}

#[tokio::test]
async fn merges_cleanly_into_a_new_commit_touching_nothing() {
    let t = forked(
        &[("main.txt", "m\n")],
        &[("task.txt", "t\n"), ("shared.txt", "1\n2\n3\n4\n")],
    );
    let marks = marker_dir();
    install_hooks(&t.join(".git/hooks"), marks.path());
    let (onto, task) = (rev(&t, "main"), rev(&t, "task"));
    let repo = open(&t).await;
    let Merge::Merged(merge) = repo
        .merge(&onto, &task, "Merge task 7", &identity())
        .await
        .unwrap()
    else {
        panic!("expected a clean merge");
    };
    let parents = t.git(&["rev-list", "--parents", "-n", "1", merge.as_str()]);
    assert_eq!(parents, format!("{merge} {onto} {task}"));
    assert_eq!(
        t.git(&["log", "-1", "--format=%s|%an|%ae|%cn|%ce", merge.as_str()]),
        "Merge task 7|Slipway Bot|bot@slipway.invalid|Slipway Bot|bot@slipway.invalid"
    );
    assert_eq!(
        t.git(&["show", &format!("{merge}:shared.txt")]),
        "1\n2\n3\n4"
    );
    assert_eq!(t.git(&["show", &format!("{merge}:task.txt")]), "t");
    assert_eq!(t.git(&["show", &format!("{merge}:main.txt")]), "m");
    // No hook ran, no ref moved, the work tree and index are as they were.
    assert_eq!(markers(marks.path()), Vec::<String>::new());
    assert_eq!(rev(&t, "main"), onto);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    assert!(!t.join("task.txt").exists());
}

#[tokio::test]
async fn reports_the_conflicting_paths() {
    let t = forked(
        &[
            ("shared.txt", "1\nmain\n3\n"),
            ("a b.txt", "main\n"),
            ("only.txt", "m\n"),
        ],
        &[
            ("shared.txt", "1\ntask\n3\n"),
            ("a b.txt", "task\n"),
            ("other.txt", "t\n"),
        ],
    );
    let repo = open(&t).await;
    let before = t.git(&["for-each-ref"]);
    let merge = repo
        .merge(&rev(&t, "main"), &rev(&t, "task"), "m", &identity())
        .await
        .unwrap();
    assert_eq!(
        merge,
        Merge::Conflict(vec!["a b.txt".into(), "shared.txt".into()])
    );
    assert_eq!(t.git(&["for-each-ref"]), before);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}

#[tokio::test]
async fn an_ancestor_is_already_merged() {
    let t = forked(&[("main.txt", "m\n")], &[("task.txt", "t\n")]);
    let repo = open(&t).await;
    let (main, task) = (rev(&t, "main"), rev(&t, "task"));
    let Merge::Merged(merged) = repo.merge(&main, &task, "m", &identity()).await.unwrap() else {
        panic!("expected a merge");
    };
    assert_eq!(
        repo.merge(&merged, &task, "again", &identity())
            .await
            .unwrap(),
        Merge::AlreadyMerged
    );
    assert_eq!(
        repo.merge(&main, &main, "self", &identity()).await.unwrap(),
        Merge::AlreadyMerged
    );
    let base = rev(&t, "main~1");
    assert_eq!(
        repo.merge(&main, &base, "old", &identity()).await.unwrap(),
        Merge::AlreadyMerged
    );
}

#[tokio::test]
async fn unrelated_histories_are_an_error() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    t.git(&["checkout", "-q", "--orphan", "other"]);
    t.write("b.txt", "b\n").commit("unrelated");
    t.git(&["checkout", "-q", "main"]);
    let repo = open(&t).await;
    let err = repo
        .merge(&rev(&t, "main"), &rev(&t, "other"), "m", &identity())
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::Failed { .. }), "{err}");
    assert!(err.to_string().contains("unrelated histories"), "{err}");
}
