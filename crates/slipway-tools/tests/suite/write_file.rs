use serde_json::json;
use slipway_tools::Limits;

use super::support::{Fixture, coder, error, ok};

#[tokio::test]
async fn creates_files_and_parent_directories_and_replaces_existing_ones() {
    let fx = Fixture::new();
    let tools = fx.toolbox(coder("api"));
    let created = ok(
        &tools,
        "write_file",
        json!({"path": "src/api/deep/er/new.rs", "content": "a\nb\n"}),
    )
    .await;
    assert_eq!(
        created,
        "created `src/api/deep/er/new.rs`: 4 bytes, 2 lines"
    );
    assert_eq!(fx.read("src/api/deep/er/new.rs").as_deref(), Some("a\nb\n"));
    let replaced = ok(
        &tools,
        "write_file",
        json!({"path": "src/api/lib.rs", "content": ""}),
    )
    .await;
    assert_eq!(replaced, "replaced `src/api/lib.rs`: 0 bytes, 0 lines");
    assert_eq!(fx.read("src/api/lib.rs").as_deref(), Some(""));
}

#[tokio::test]
async fn refuses_directories_oversized_content_and_paths_beneath_files() {
    let fx = Fixture::new();
    let limits = Limits {
        write_bytes: 8,
        ..Limits::default()
    };
    let tools = fx.toolbox_with(coder("api"), limits);
    fx.put("src/api/dir/x", "");
    let dir = error(
        &tools,
        "write_file",
        json!({"path": "src/api/dir", "content": "x"}),
    )
    .await;
    assert!(dir.contains("`src/api/dir` is a directory"), "{dir}");
    let big = error(
        &tools,
        "write_file",
        json!({"path": "src/api/big.rs", "content": "123456789"}),
    )
    .await;
    assert!(
        big.contains("field `content`: 9 bytes is over the limit of 8"),
        "{big}"
    );
    assert!(!fx.exists("src/api/big.rs"));
    let beneath = error(
        &tools,
        "write_file",
        json!({"path": "src/api/lib.rs/x.rs", "content": "x"}),
    )
    .await;
    assert!(
        beneath.contains("`src/api/lib.rs` is a file, not a directory"),
        "{beneath}"
    );
    let missing = error(&tools, "write_file", json!({"path": "src/api/a.rs"})).await;
    assert_eq!(
        missing,
        "bad arguments for write_file: missing field `content`"
    );
}

#[tokio::test]
async fn a_replaced_or_edited_file_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt as _;

    let fx = Fixture::new();
    fx.put("src/api/run.sh", "echo one\n");
    let script = fx.root.join("src/api/run.sh");
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path).map_or(0, |meta| meta.permissions().mode() & 0o777)
    };
    if let Err(err) = std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o751)) {
        panic!("{err}");
    }
    let tools = fx.toolbox(coder("api"));
    ok(
        &tools,
        "write_file",
        json!({"path": "src/api/run.sh", "content": "echo two\n"}),
    )
    .await;
    assert_eq!(fx.read("src/api/run.sh").as_deref(), Some("echo two\n"));
    assert_eq!(mode(&script), 0o751);
    ok(
        &tools,
        "edit_file",
        json!({"path": "src/api/run.sh", "old": "two", "new": "three"}),
    )
    .await;
    assert_eq!(fx.read("src/api/run.sh").as_deref(), Some("echo three\n"));
    assert_eq!(mode(&script), 0o751);
    assert_eq!(fx.names("src/api"), ["found.rs", "lib.rs", "run.sh"]);
}
