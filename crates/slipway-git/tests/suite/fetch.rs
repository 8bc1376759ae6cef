//! Fetching a task's branch back from its clone: forced, only that branch,
//! no tags, from a clone another user owns, and never running anything a
//! tampered clone asks for.

use std::path::Path;

use slipway_git::{GitError, unsaved_work};
use slipway_test_support::TempRepo;

use super::support::{
    git, git_output, give_to_nobody, install_hooks, is_root, marker_dir, markers, open, rev,
    script, workspace, write,
};

/// Does what an agent may do to its clone: every setting and hook that
/// makes git run a program, each leaving a marker in `marks` when it runs.
fn tamper(clone: &Path, marks: &Path) {
    let m = |name: &str| format!("touch '{}' #", marks.join(name).display());
    let evil_hooks = clone.join(".evil-hooks");
    install_hooks(&evil_hooks, marks);
    install_hooks(&clone.join(".git/hooks"), marks);
    script(
        &clone.join(".git/hooks/fsmonitor-watchman"),
        &m("fsmonitor-watchman"),
    );
    let config = format!(
        "[core]\n\tfsmonitor = \"{}\"\n\thooksPath = {}\n\tpager = \"{}\"\n\tsshCommand = \"{}\"\n\
         \talternateRefsCommand = \"{}\"\n\teditor = \"{}\"\n\taskPass = \"{}\"\n\
         [uploadpack]\n\tpackObjectsHook = \"{}\"\n\
         [diff]\n\texternal = \"{}\"\n[diff \"evil\"]\n\ttextconv = \"{}\"\n\
         [filter \"evil\"]\n\tclean = \"{}\"\n\tsmudge = \"{}\"\n\
         [credential]\n\thelper = \"!{}\"\n[gpg]\n\tprogram = \"{}\"\n",
        m("fsmonitor"),
        evil_hooks.display(),
        m("pager"),
        m("ssh"),
        m("alternate-refs"),
        m("editor"),
        m("askpass"),
        m("pack-objects-hook"),
        m("diff-external"),
        m("textconv"),
        m("filter-clean"),
        m("filter-smudge"),
        m("credential"),
        m("gpg"),
    );
    let path = clone.join(".git/config");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&config);
    std::fs::write(&path, text).unwrap();
    write(clone, ".gitattributes", "* filter=evil diff=evil\n");
    write(clone, ".git/info/attributes", "* filter=evil diff=evil\n");
    // A fresh timestamp on an unchanged file, so a status hashes it (through the filter).
    let same = std::fs::read_to_string(clone.join("a.txt")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    write(clone, "a.txt", &same);
    write(clone, "notes.txt", "the agent's uncommitted notes\n");
}

/// The agent's commit on its branch, made before the clone is tampered with.
fn agent_commits(clone: &Path, file: &str, contents: &str) -> String {
    write(clone, file, contents);
    git(clone, &["add", "-A"]);
    git(clone, &["commit", "-q", "-m", "agent work"]);
    git(clone, &["rev-parse", "HEAD"])
}

#[tokio::test]
async fn tampering_is_real_when_git_runs_in_the_clone() {
    // The control: plain git in the tampered clone does run what it says,
    // so the tests below would fail if the library ran git there.
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let repo = open(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&repo, dir.path(), "ws", "slipway/1").await;
    let marks = marker_dir();
    tamper(&ws, marks.path());
    let _ = git_output(&ws, &["status"]);
    let _ = git_output(&ws, &["commit", "-q", "--allow-empty", "-m", "x"]);
    let ran = markers(marks.path());
    for expected in [
        "fsmonitor",
        "filter-clean",
        "hook-pre-commit",
        "hook-reference-transaction",
    ] {
        assert!(
            ran.contains(&expected.to_owned()),
            "{expected} did not run: {ran:?}"
        );
    }
}

#[tokio::test]
async fn fetching_from_a_tampered_clone_runs_nothing() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let main_marks = marker_dir();
    install_hooks(&t.join(".git/hooks"), main_marks.path());
    let repo = open(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&repo, dir.path(), "ws", "slipway/1").await;
    let head = agent_commits(&ws, "b.txt", "b\n");
    let marks = marker_dir();
    tamper(&ws, marks.path());

    let fetched = repo.fetch_branch(&ws, "slipway/1").await.unwrap();
    assert_eq!(fetched.as_str(), head);
    assert_eq!(rev(&t, "refs/heads/slipway/1").as_str(), head);
    let base = rev(&t, "main");
    let _ = repo.changes(&base, &fetched).await.unwrap();
    let _ = repo.diff_text(&base, &fetched, 10_000).await.unwrap();
    let lost = unsaved_work(&repo, &ws, "slipway/1", &base).await.unwrap();
    assert_eq!(
        markers(marks.path()),
        Vec::<String>::new(),
        "the clone ran something"
    );
    assert_eq!(
        markers(main_marks.path()),
        Vec::<String>::new(),
        "a main hook ran"
    );
    assert!(
        !ws.join("2").exists(),
        "nothing ran in the clone's directory either"
    );
    assert_eq!(
        lost,
        [
            "1 commit on branch `slipway/1` not merged into ".to_owned() + base.short(),
            "untracked `.evil-hooks/`".to_owned(),
            "untracked `.gitattributes`".to_owned(),
            "untracked `notes.txt`".to_owned()
        ]
    );
}

#[tokio::test]
async fn fetches_a_rewritten_branch_forced_and_nothing_else() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let repo = open(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&repo, dir.path(), "ws", "slipway/2").await;
    let first = agent_commits(&ws, "b.txt", "first\n");
    git(&ws, &["tag", "light"]);
    git(&ws, &["tag", "-a", "-m", "annotated", "heavy"]);
    git(&ws, &["checkout", "-q", "-b", "slipway/other"]);
    let other = agent_commits(&ws, "c.txt", "other\n");
    git(&ws, &["checkout", "-q", "slipway/2"]);

    assert_eq!(
        repo.fetch_branch(&ws, "slipway/2").await.unwrap().as_str(),
        first
    );
    // The agent rewrites its branch: the fetch follows it.
    write(&ws, "b.txt", "rewritten\n");
    git(&ws, &["commit", "-q", "-a", "--amend", "-m", "rewritten"]);
    let second = git(&ws, &["rev-parse", "HEAD"]);
    assert_ne!(first, second);
    assert_eq!(
        repo.fetch_branch(&ws, "slipway/2").await.unwrap().as_str(),
        second
    );
    assert_eq!(rev(&t, "slipway/2").as_str(), second);

    assert_eq!(t.git(&["tag", "-l"]), "", "tags came along");
    assert_eq!(
        repo.resolve("refs/heads/slipway/other").await.unwrap(),
        None
    );
    let out = git_output(t.path(), &["cat-file", "-e", &other]);
    assert!(
        !out.status.success(),
        "the other branch's commit came along"
    );
    assert!(!t.join(".git/FETCH_HEAD").exists());
    let refs = t.git(&["for-each-ref", "--format=%(refname)"]);
    assert_eq!(refs, "refs/heads/main\nrefs/heads/slipway/2");
}

#[tokio::test]
async fn fetches_from_a_clone_another_user_owns() {
    if !is_root() {
        eprintln!("skipped: giving a clone to another user needs root");
        return;
    }
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let repo = open(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&repo, dir.path(), "ws", "slipway/3").await;
    let head = agent_commits(&ws, "b.txt", "b\n");
    give_to_nobody(&ws);
    // Plain git refuses a repository of another user.
    let ws_git = ws.join(".git");
    let out = git_output(t.path(), &["fetch", ws_git.to_str().unwrap(), "slipway/3"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("dubious ownership"));

    assert_eq!(
        repo.fetch_branch(&ws, "slipway/3").await.unwrap().as_str(),
        head
    );
    let merged = rev(&t, "main");
    let lost = unsaved_work(&repo, &ws, "slipway/3", &merged)
        .await
        .unwrap();
    assert_eq!(
        lost,
        ["1 commit on branch `slipway/3` not merged into ".to_owned() + merged.short()]
    );
}

#[tokio::test]
async fn names_a_missing_branch_and_refuses_bad_names() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let repo = open(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&repo, dir.path(), "ws", "slipway/4").await;
    let err = repo.fetch_branch(&ws, "slipway/none").await.unwrap_err();
    assert!(matches!(err, GitError::NoSuchBranch { .. }), "{err}");
    assert!(
        err.to_string().contains("no branch `slipway/none`"),
        "{err}"
    );
    for bad in ["x:y", "*", "a b", "-x", "x^", ""] {
        let err = repo.fetch_branch(&ws, bad).await.unwrap_err();
        assert!(matches!(err, GitError::InvalidName { .. }), "{bad}: {err}");
    }
}

#[tokio::test]
async fn refuses_a_clone_whose_git_dir_leads_elsewhere() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    t.git(&["branch", "slipway/5"]);
    let repo = open(&t).await;
    let dir = tempfile::tempdir().unwrap();

    let gitfile = dir.path().join("gitfile");
    std::fs::create_dir(&gitfile).unwrap();
    std::fs::write(
        gitfile.join(".git"),
        format!("gitdir: {}\n", t.join(".git").display()),
    )
    .unwrap();
    let linked = dir.path().join("linked");
    std::fs::create_dir(&linked).unwrap();
    std::os::unix::fs::symlink(t.join(".git"), linked.join(".git")).unwrap();
    let missing = dir.path().join("missing");

    for clone in [&gitfile, &linked, &missing] {
        let err = repo.fetch_branch(clone, "slipway/5").await.unwrap_err();
        assert!(
            matches!(err, GitError::UnsafeClone { .. }),
            "{}: {err}",
            clone.display()
        );
        let base = rev(&t, "main");
        let err = unsaved_work(&repo, clone, "slipway/5", &base)
            .await
            .unwrap_err();
        assert!(
            matches!(err, GitError::UnsafeClone { .. }),
            "{}: {err}",
            clone.display()
        );
    }
}
