//! Git's directories and Slipway's private state are never read, listed or
//! searched, whatever the path's case or depth.

use serde_json::json;

use super::support::{Fixture, denied, explorer, ok};

#[tokio::test]
async fn git_directories_and_private_state_are_closed_to_every_read_tool() {
    let fx = Fixture::new();
    fx.put(
        ".git/config",
        "[remote \"origin\"]\n\turl = https://token@example.com/r.git\n",
    );
    fx.put("sub/.git/x", "token in a nested git directory\n");
    fx.put("sub/code.rs", "// no secret here\n");
    let tools = fx.toolbox(explorer());
    for (path, reason) in [
        (".git/config", "inside git's own directory"),
        (".GIT/config", "inside git's own directory"),
        ("sub/.git/x", "inside git's own directory"),
        (".git", "inside git's own directory"),
        ("sub/.Git", "inside git's own directory"),
        (".slipway/slipway.db", "Slipway's private state"),
        (".slipway", "Slipway's private state"),
    ] {
        let read = denied(&tools, "read_file", json!({"path": path})).await;
        assert!(
            read.starts_with(&format!("read of `{path}` denied: ")) && read.contains(reason),
            "{read}"
        );
        let list = denied(&tools, "list_dir", json!({"path": path})).await;
        assert_eq!(list, read);
        let search = denied(&tools, "search", json!({"pattern": "token", "path": path})).await;
        assert_eq!(search, read);
    }
    let everywhere = ok(&tools, "search", json!({"pattern": "token|private state"})).await;
    assert_eq!(everywhere, "no matches for `token|private state`");
    let sub = ok(&tools, "list_dir", json!({"path": "sub"})).await;
    assert_eq!(sub, "code.rs");
}
