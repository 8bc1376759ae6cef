//! Raw changes and diff text between two commits of the main repository.

use std::fmt::Write as _;
use std::os::unix::fs::{PermissionsExt as _, symlink};

use slipway_git::{Change, ChangeKind, MODE_SUBMODULE, MODE_SYMLINK};
use slipway_test_support::TempRepo;

use super::support::{marker_dir, markers, open, rev, script};

fn entry(status: ChangeKind, path: &str, old_mode: u32, new_mode: u32) -> Change {
    Change {
        status,
        path: path.to_owned(),
        old_mode,
        new_mode,
    }
}

#[tokio::test]
async fn lists_every_kind_of_change_one_path_each() {
    let t = TempRepo::with_files(&[
        ("keep.txt", "same\n"),
        ("edit.txt", "old\n"),
        ("gone.txt", "bye\n"),
        ("old/name.rs", "fn moved() {}\n"),
        ("run.sh", "echo\n"),
        ("becomes_link", "file\n"),
    ]);
    let base = rev(&t, "HEAD");
    t.write("edit.txt", "new\n");
    std::fs::remove_file(t.join("gone.txt")).unwrap();
    std::fs::create_dir_all(t.join("new")).unwrap();
    std::fs::rename(t.join("old/name.rs"), t.join("new/name.rs")).unwrap();
    std::fs::set_permissions(t.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    symlink("keep.txt", t.join("link")).unwrap();
    std::fs::remove_file(t.join("becomes_link")).unwrap();
    symlink("/etc/passwd", t.join("becomes_link")).unwrap();
    t.write("with space.txt", "s\n")
        .write("line\nbreak.txt", "n\n")
        .write("ünï/cödé 文件.md", "u\n")
        .write("tab\there.txt", "t\n");
    t.git(&["add", "-A"]);
    t.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{base},vendor/sub"),
    ]);
    t.git(&["commit", "-q", "-m", "everything"]);
    let head = rev(&t, "HEAD");

    let repo = open(&t).await;
    let mut changes = repo.changes(&base, &head).await.unwrap();
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    let mut expected = vec![
        entry(
            ChangeKind::TypeChanged,
            "becomes_link",
            0o100_644,
            MODE_SYMLINK,
        ),
        entry(ChangeKind::Modified, "edit.txt", 0o100_644, 0o100_644),
        entry(ChangeKind::Deleted, "gone.txt", 0o100_644, 0),
        entry(ChangeKind::Added, "line\nbreak.txt", 0, 0o100_644),
        entry(ChangeKind::Added, "link", 0, MODE_SYMLINK),
        entry(ChangeKind::Added, "new/name.rs", 0, 0o100_644),
        entry(ChangeKind::Deleted, "old/name.rs", 0o100_644, 0),
        entry(ChangeKind::Modified, "run.sh", 0o100_644, 0o100_755),
        entry(ChangeKind::Added, "tab\there.txt", 0, 0o100_644),
        entry(ChangeKind::Added, "vendor/sub", 0, MODE_SUBMODULE),
        entry(ChangeKind::Added, "with space.txt", 0, 0o100_644),
        entry(ChangeKind::Added, "ünï/cödé 文件.md", 0, 0o100_644),
    ];
    expected.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(changes, expected);
    assert!(repo.changes(&head, &head).await.unwrap().is_empty());
}

#[tokio::test]
async fn ignores_config_that_would_hide_changes_or_run_programs() {
    let t = TempRepo::with_files(&[("a.txt", "a\n")]);
    let base = rev(&t, "HEAD");
    t.write("a.txt", "b\n")
        .write("b.txt", "new\n")
        .write(".gitattributes", "*.txt diff=conv\n");
    t.git(&["add", "-A"]);
    t.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{base},sub"),
    ]);
    t.git(&["commit", "-q", "-m", "x"]);
    let head = rev(&t, "HEAD");
    let marks = marker_dir();
    let tool = marks.path().join("tool.sh");
    script(&tool, &format!("touch '{}/ran'", marks.path().display()));
    for (key, value) in [
        ("diff.external", tool.to_str().unwrap()),
        ("diff.conv.textconv", tool.to_str().unwrap()),
        ("diff.renames", "true"),
        ("diff.ignoreSubmodules", "all"),
        ("diff.noprefix", "true"),
        ("color.ui", "always"),
    ] {
        t.git(&["config", key, value]);
    }
    let repo = open(&t).await;
    let changes = repo.changes(&base, &head).await.unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c.path == "sub" && c.new_mode == MODE_SUBMODULE),
        "{changes:?}"
    );
    let text = repo.diff_text(&base, &head, 100_000).await.unwrap();
    assert!(text.contains("diff --git a/a.txt b/a.txt\n"), "{text}");
    assert!(text.contains("-a\n+b\n"), "{text}");
    assert!(text.contains("Subproject commit"), "{text}");
    assert!(!text.contains('\x1b'), "colour codes in {text:?}");
    assert_eq!(markers(marks.path()), ["tool.sh"]);
}

#[tokio::test]
async fn diff_text_is_cut_on_a_line_with_a_note() {
    let t = TempRepo::with_files(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let base = rev(&t, "HEAD");
    let long = (0..200).fold(String::new(), |mut text, i| {
        let _ = writeln!(text, "line {i}");
        text
    });
    t.write("a.txt", &long)
        .write("b.txt", "changed\n")
        .write("ü nï.txt", "u\n")
        .commit("big");
    let head = rev(&t, "HEAD");
    let repo = open(&t).await;

    let whole = repo.diff_text(&base, &head, usize::MAX).await.unwrap();
    assert!(
        whole.contains("+line 199\n") && whole.contains("diff --git a/ü nï.txt b/ü nï.txt"),
        "{whole}"
    );
    let cut = repo.diff_text(&base, &head, 300).await.unwrap();
    let (kept, note) = cut.split_at(cut.find("[diff cut").unwrap());
    assert!(kept.len() <= 300, "{}", kept.len());
    assert!(kept.ends_with('\n'));
    assert!(whole.starts_with(kept));
    assert!(
        note.contains(&format!("{} more bytes", whole.len() - kept.len())),
        "{note}"
    );
    assert!(
        note.contains("the rest of `a.txt`, `b.txt`, `ü nï.txt`"),
        "{note}"
    );
}
