use serde_json::json;
use slipway_tools::Limits;

use super::support::{Fixture, denied, error, explorer, ok};

#[tokio::test]
async fn lists_the_root_sorted_with_directories_marked_and_git_hidden() {
    let fx = Fixture::new();
    fx.symlink("src/api/lib.rs", "link.rs");
    let tools = fx.toolbox(explorer());
    let text = ok(&tools, "list_dir", json!({})).await;
    assert_eq!(
        text,
        ".gitignore\nAGENTS.md\nCargo.lock\ndebug.log\nlink.rs -> src/api/lib.rs\nschema/\n\
         slipway.toml\nsrc/\ntarget/\nweb/"
    );
    let same = ok(&tools, "list_dir", json!({"path": "."})).await;
    assert_eq!(same, text);
    let null_args = tools.call("list_dir", &serde_json::Value::Null).await;
    assert_eq!(null_args.text, text);
}

#[tokio::test]
async fn lists_a_subdirectory_given_with_or_without_a_trailing_slash() {
    let fx = Fixture::new();
    fx.put("src/api/nested/deep.rs", "");
    let tools = fx.toolbox(explorer());
    let text = ok(&tools, "list_dir", json!({"path": "src/api/"})).await;
    assert_eq!(text, "found.rs\nlib.rs\nnested/");
    assert_eq!(
        ok(&tools, "list_dir", json!({"path": "./src/api"})).await,
        text
    );
    std::fs::create_dir_all(fx.root.join("empty")).ok();
    assert_eq!(
        ok(&tools, "list_dir", json!({"path": "empty"})).await,
        "(`empty` is empty)"
    );
}

#[tokio::test]
async fn hides_nested_git_directories_and_escapes_control_characters() {
    let fx = Fixture::new();
    fx.put("vendor/.git/HEAD", "ref\n");
    fx.put("vendor/a\nb.txt", "");
    let tools = fx.toolbox(explorer());
    let text = ok(&tools, "list_dir", json!({"path": "vendor"})).await;
    assert_eq!(text, "a\\nb.txt");
}

#[tokio::test]
async fn errors_say_what_the_path_is() {
    let fx = Fixture::new();
    let tools = fx.toolbox(explorer());
    let file = error(&tools, "list_dir", json!({"path": "src/api/lib.rs"})).await;
    assert!(
        file.contains("`src/api/lib.rs` is a file, not a directory"),
        "{file}"
    );
    let missing = error(&tools, "list_dir", json!({"path": "nope"})).await;
    assert_eq!(
        missing,
        "`nope` does not exist; list_dir shows what is there"
    );
    let state = denied(&tools, "list_dir", json!({"path": ".slipway"})).await;
    assert!(state.starts_with("read of `.slipway` denied"), "{state}");
    let escape = denied(&tools, "list_dir", json!({"path": ".."})).await;
    assert!(escape.contains("`..` segment"), "{escape}");
    let unknown = error(&tools, "list_dir", json!({"dir": "src"})).await;
    assert!(
        unknown.contains("unknown field `dir`, expected `path`"),
        "{unknown}"
    );
}

#[tokio::test]
async fn long_listings_are_capped_with_a_note() {
    let fx = Fixture::new();
    for n in 0..5 {
        fx.put(&format!("many/f{n}"), "");
    }
    let limits = Limits {
        list_entries: 2,
        ..Limits::default()
    };
    let tools = fx.toolbox_with(explorer(), limits);
    let text = ok(&tools, "list_dir", json!({"path": "many"})).await;
    assert_eq!(
        text,
        "f0\nf1\n[2 of 5 entries shown; use search with a glob to find the rest]"
    );
}
