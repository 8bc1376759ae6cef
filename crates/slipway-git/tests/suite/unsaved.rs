//! What would be lost: the main work tree's dirty paths (without Slipway's
//! control files) and a clone's uncommitted or unmerged work.

use slipway_git::unsaved_work;
use slipway_test_support::TempRepo;

use super::support::{git, give_to_nobody, identity, is_root, open, rev, write};

#[tokio::test]
async fn dirty_paths_skip_control_files() {
    let t = TempRepo::with_files(&[
        ("a.txt", "a\n"),
        ("AGENTS.md", "# agents\n"),
        ("b.txt", "b\n"),
    ]);
    let repo = open(&t).await;
    assert!(repo.dirty_paths().await.unwrap().is_empty());
    t.write("AGENTS.md", "# agents, synced\n");
    t.write(".slipway/state.db", "x")
        .write(".slipway/work/1/f", "y");
    assert!(repo.dirty_paths().await.unwrap().is_empty());

    t.write("a.txt", "changed\n")
        .write("new dir/ü.txt", "n\n")
        .write("sub/AGENTS.md", "not control\n");
    std::fs::remove_file(t.join("b.txt")).unwrap();
    t.write("staged.txt", "s\n");
    t.git(&["add", "staged.txt"]);
    t.write(".gitignore", "ignored.log\n")
        .write("ignored.log", "i\n");
    let mut dirty = repo.dirty_paths().await.unwrap();
    dirty.sort();
    assert_eq!(
        dirty,
        [
            ".gitignore",
            "a.txt",
            "b.txt",
            "new dir/",
            "staged.txt",
            "sub/"
        ]
    );
}

#[tokio::test]
async fn a_fresh_workspace_has_nothing_to_lose() {
    let t = TempRepo::with_files(&[("a.txt", "a\n"), (".gitignore", "target/\n")]);
    let repo = open(&t).await;
    let head = rev(&t, "HEAD");
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    repo.create_workspace(&ws, "slipway/1", &head, &identity(), &[])
        .await
        .unwrap();
    write(&ws, "target/build.o", "ignored output\n");
    assert_eq!(
        unsaved_work(&repo, &ws, "slipway/1", &head).await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn lists_uncommitted_and_unmerged_work() {
    let t = TempRepo::with_files(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let repo = open(&t).await;
    let base = rev(&t, "HEAD");
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    repo.create_workspace(&ws, "slipway/2", &base, &identity(), &[])
        .await
        .unwrap();

    write(&ws, "c.txt", "c\n");
    git(&ws, &["add", "c.txt"]);
    git(&ws, &["commit", "-q", "-m", "one"]);
    write(&ws, "d.txt", "d\n");
    git(&ws, &["add", "d.txt"]);
    git(&ws, &["commit", "-q", "-m", "two"]);
    write(&ws, "a.txt", "edited\n");
    std::fs::remove_file(ws.join("b.txt")).unwrap();
    write(&ws, "staged.txt", "s\n");
    git(&ws, &["add", "staged.txt"]);
    write(&ws, "untracked dir/x.txt", "x\n");

    let lost = unsaved_work(&repo, &ws, "slipway/2", &base).await.unwrap();
    assert_eq!(
        lost,
        [
            format!(
                "2 commits on branch `slipway/2` not merged into {}",
                base.short()
            ),
            "uncommitted change to `a.txt`".to_owned(),
            "uncommitted change to `b.txt`".to_owned(),
            "uncommitted change to `staged.txt`".to_owned(),
            "untracked `untracked dir/`".to_owned(),
        ]
    );

    // Once the branch is merged and the work tree clean, nothing is lost.
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "rest"]);
    let head = repo.fetch_branch(&ws, "slipway/2").await.unwrap();
    assert_eq!(
        unsaved_work(&repo, &ws, "slipway/2", &head).await.unwrap(),
        Vec::<String>::new()
    );
    // Not yet merged into the base.
    let lost = unsaved_work(&repo, &ws, "slipway/2", &base).await.unwrap();
    assert_eq!(
        lost,
        [format!(
            "3 commits on branch `slipway/2` not merged into {}",
            base.short()
        )]
    );
}

#[tokio::test]
async fn counts_other_branches_a_detached_head_and_the_stash() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let repo = open(&t).await;
    let base = rev(&t, "HEAD");
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    repo.create_workspace(&ws, "slipway/3", &base, &identity(), &[])
        .await
        .unwrap();
    git(&ws, &["checkout", "-q", "-b", "side"]);
    git(&ws, &["commit", "-q", "--allow-empty", "-m", "side"]);
    git(&ws, &["checkout", "-q", "--detach"]);
    git(&ws, &["commit", "-q", "--allow-empty", "-m", "detached"]);
    write(&ws, "a.txt", "stashed\n");
    git(&ws, &["stash", "-q"]);
    let lost = unsaved_work(&repo, &ws, "slipway/3", &base).await.unwrap();
    let short = base.short();
    assert_eq!(
        lost,
        [
            format!("2 commits at the detached HEAD not merged into {short}"),
            format!("1 commit on branch `side` not merged into {short}"),
            "stashed changes (`git stash list`)".to_owned(),
        ]
    );
}

#[tokio::test]
async fn reads_a_clone_another_user_owns() {
    if !is_root() {
        eprintln!("skipped: giving a clone to another user needs root");
        return;
    }
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let repo = open(&t).await;
    let base = rev(&t, "HEAD");
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    repo.create_workspace(&ws, "slipway/4", &base, &identity(), &[])
        .await
        .unwrap();
    write(&ws, "a.txt", "edited\n");
    give_to_nobody(&ws);
    let lost = unsaved_work(&repo, &ws, "slipway/4", &base).await.unwrap();
    assert_eq!(lost, ["uncommitted change to `a.txt`"]);
}
