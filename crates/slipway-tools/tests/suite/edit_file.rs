use serde_json::json;

use super::support::{Fixture, coder, error, ok};

#[tokio::test]
async fn replaces_one_exact_occurrence() {
    let fx = Fixture::new();
    let tools = fx.toolbox(coder("api"));
    let text = ok(
        &tools,
        "edit_file",
        json!({"path": "src/api/lib.rs", "old": "fn two() {}\n", "new": "fn two() {\n    2\n}\n"}),
    )
    .await;
    assert_eq!(
        text,
        "edited `src/api/lib.rs`: lines 2-2 replaced, now lines 2-4"
    );
    assert_eq!(
        fx.read("src/api/lib.rs").as_deref(),
        Some("fn one() {}\nfn two() {\n    2\n}\n")
    );
    let shorter = ok(
        &tools,
        "edit_file",
        json!({"path": "./src/api/lib.rs", "old": "fn two() {\n    2\n}\n", "new": ""}),
    )
    .await;
    assert_eq!(
        shorter,
        "edited `src/api/lib.rs`: lines 2-4 replaced, removed"
    );
    assert_eq!(fx.read("src/api/lib.rs").as_deref(), Some("fn one() {}\n"));
}

#[tokio::test]
async fn a_missing_old_shows_the_most_similar_lines() {
    let fx = Fixture::new();
    let tools = fx.toolbox(coder("api"));
    let text = error(
        &tools,
        "edit_file",
        json!({"path": "src/api/lib.rs", "old": "fn tow() {}", "new": "x"}),
    )
    .await;
    assert_eq!(
        text,
        "`old` does not occur in `src/api/lib.rs`; the lines most like `fn tow() {}` are:\n     \
         1\tfn one() {}\n     2\tfn two() {}"
    );
    let spaced = error(
        &tools,
        "edit_file",
        json!({"path": "src/api/lib.rs", "old": "  fn one() {}\n  fn two() {}", "new": "x"}),
    )
    .await;
    assert!(
        spaced.contains("lines 1-2 match it except for whitespace"),
        "{spaced}"
    );
    assert_eq!(
        fx.read("src/api/lib.rs").as_deref(),
        Some("fn one() {}\nfn two() {}\n")
    );
}

#[tokio::test]
async fn a_repeated_old_gives_the_count_and_the_lines() {
    let fx = Fixture::new();
    fx.put("src/api/dup.rs", "x = 1;\ny = 2;\nx = 1;\nx = 1;\n");
    let tools = fx.toolbox(coder("api"));
    let text = error(
        &tools,
        "edit_file",
        json!({"path": "src/api/dup.rs", "old": "x = 1;", "new": "x = 3;"}),
    )
    .await;
    assert_eq!(
        text,
        "`old` occurs 3 times in `src/api/dup.rs`, starting at lines 1, 3, 4; include more of \
         the surrounding text so that it matches exactly once"
    );
    assert_eq!(
        fx.read("src/api/dup.rs").as_deref(),
        Some("x = 1;\ny = 2;\nx = 1;\nx = 1;\n")
    );
}

#[tokio::test]
async fn empty_or_unchanged_text_and_missing_files_are_errors() {
    let fx = Fixture::new();
    let tools = fx.toolbox(coder("api"));
    let empty = error(
        &tools,
        "edit_file",
        json!({"path": "src/api/lib.rs", "old": "", "new": "x"}),
    )
    .await;
    assert!(empty.contains("field `old` is empty"), "{empty}");
    let same = error(
        &tools,
        "edit_file",
        json!({"path": "src/api/lib.rs", "old": "a", "new": "a"}),
    )
    .await;
    assert!(same.contains("`old` and `new` are the same"), "{same}");
    let missing = error(
        &tools,
        "edit_file",
        json!({"path": "src/api/new.rs", "old": "a", "new": "b"}),
    )
    .await;
    assert_eq!(
        missing,
        "`src/api/new.rs` does not exist; list_dir shows what is there"
    );
    assert!(!fx.exists("src/api/new.rs"));
    let no_new = error(
        &tools,
        "edit_file",
        json!({"path": "src/api/lib.rs", "old": "a"}),
    )
    .await;
    assert_eq!(no_new, "bad arguments for edit_file: missing field `new`");
}

#[tokio::test]
async fn non_utf8_files_are_refused() {
    let fx = Fixture::new();
    if let Err(err) = std::fs::write(fx.root.join("src/api/latin1.txt"), b"caf\xe9\n") {
        panic!("{err}");
    }
    let tools = fx.toolbox(coder("api"));
    let text = error(
        &tools,
        "edit_file",
        json!({"path": "src/api/latin1.txt", "old": "caf", "new": "x"}),
    )
    .await;
    assert_eq!(
        text,
        "`src/api/latin1.txt` is not UTF-8 text; edit_file edits text only"
    );
}
