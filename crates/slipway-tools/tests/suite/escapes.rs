//! Tricks to reach a file the policy does not allow: each is refused with a
//! sentence that says why, and nothing outside the lane changes.

use serde_json::json;

use super::support::{CAFE_NFC, CAFE_NFD, Fixture, coder, denied, error, explorer, ok};

#[tokio::test]
async fn dot_dot_and_absolute_paths_are_denied_before_any_io() {
    let fx = Fixture::new();
    let before = fx.protected();
    let tools = fx.toolbox(coder("api"));
    let secret = fx.outside.join("secret.txt");
    let absolute = secret.to_string_lossy().into_owned();
    for (path, reason) in [
        (
            "../outside/secret.txt",
            "it has a `..` segment, and paths never leave the repository",
        ),
        (
            "src/api/../../../outside/secret.txt",
            "it has a `..` segment, and paths never leave the repository",
        ),
        (
            "src/api/../../slipway.toml",
            "it has a `..` segment, and paths never leave the repository",
        ),
        (
            absolute.as_str(),
            "it is absolute, and paths are relative to the repository root",
        ),
    ] {
        let expected = format!(
            "write to `{path}` denied: {reason}; name files from the repository root with `/` \
             between names, such as `src/lib.rs`"
        );
        let write = denied(
            &tools,
            "write_file",
            json!({"path": path, "content": "pwned"}),
        )
        .await;
        assert_eq!(write, expected);
        let edit = denied(
            &tools,
            "edit_file",
            json!({"path": path, "old": "top", "new": "x"}),
        )
        .await;
        assert_eq!(edit, expected);
        let read = denied(&tools, "read_file", json!({"path": path})).await;
        assert_eq!(read, expected.replacen("write to", "read of", 1));
    }
    assert_eq!(fx.protected(), before);
}

#[tokio::test]
async fn a_link_inside_the_workspace_to_a_file_outside_is_never_followed() {
    let fx = Fixture::new();
    let before = fx.protected();
    fx.symlink("../../../outside/secret.txt", "src/api/leak.txt");
    let tools = fx.toolbox(coder("api"));
    let read = error(&tools, "read_file", json!({"path": "src/api/leak.txt"})).await;
    assert_eq!(
        read,
        "`src/api/leak.txt` is a symbolic link to `../../../outside/secret.txt`, and the file \
         tools never follow links; use the path of the file itself"
    );
    let write = error(
        &tools,
        "write_file",
        json!({"path": "src/api/leak.txt", "content": "pwned"}),
    )
    .await;
    assert_eq!(write, read);
    let edit = error(
        &tools,
        "edit_file",
        json!({"path": "src/api/leak.txt", "old": "top", "new": "x"}),
    )
    .await;
    assert_eq!(edit, read);
    assert_eq!(fx.protected(), before);
}

#[tokio::test]
async fn a_link_in_the_lane_to_a_control_file_is_never_followed() {
    let fx = Fixture::new();
    let before = fx.protected();
    fx.symlink("../../slipway.toml", "src/api/config.toml");
    let tools = fx.toolbox(coder("api"));
    let write = error(
        &tools,
        "write_file",
        json!({"path": "src/api/config.toml", "content": "pwned"}),
    )
    .await;
    assert!(
        write.contains("is a symbolic link to `../../slipway.toml`"),
        "{write}"
    );
    assert_eq!(fx.protected(), before);
}

#[tokio::test]
async fn a_linked_directory_is_never_entered() {
    let fx = Fixture::new();
    let before = fx.protected();
    fx.symlink("../../../outside", "src/api/out");
    fx.symlink("../../.slipway", "src/api/state");
    let tools = fx.toolbox(coder("api"));
    let expected = "`src/api/out` is a symbolic link to `../../../outside`, and the file tools \
                    never follow links; use the path of the file itself";
    let read = error(
        &tools,
        "read_file",
        json!({"path": "src/api/out/secret.txt"}),
    )
    .await;
    assert_eq!(read, expected);
    let write = error(
        &tools,
        "write_file",
        json!({"path": "src/api/out/new.txt", "content": "x"}),
    )
    .await;
    assert_eq!(write, expected);
    let deeper = error(
        &tools,
        "write_file",
        json!({"path": "src/api/out/a/b.txt", "content": "x"}),
    )
    .await;
    assert_eq!(deeper, expected);
    let list = error(&tools, "list_dir", json!({"path": "src/api/out"})).await;
    assert_eq!(list, expected);
    let state = error(
        &tools,
        "write_file",
        json!({"path": "src/api/state/slipway.db", "content": "x"}),
    )
    .await;
    assert!(
        state.contains("`src/api/state` is a symbolic link"),
        "{state}"
    );
    assert_eq!(fx.protected(), before);
    assert!(!fx.outside.join("new.txt").exists());
    assert!(!fx.outside.join("a").exists());
}

#[tokio::test]
async fn leading_dot_slash_is_dropped_but_changes_nothing_else() {
    let fx = Fixture::new();
    let before = fx.protected();
    let tools = fx.toolbox(coder("api"));
    let text = ok(
        &tools,
        "write_file",
        json!({"path": "././src/api/dot.rs", "content": "x"}),
    )
    .await;
    assert_eq!(text, "created `src/api/dot.rs`: 1 bytes, 1 line");
    assert_eq!(fx.read("src/api/dot.rs").as_deref(), Some("x"));
    let control = denied(
        &tools,
        "write_file",
        json!({"path": "./slipway.toml", "content": "x"}),
    )
    .await;
    assert!(
        control.starts_with("write to `./slipway.toml` denied: `slipway.toml` is a control file"),
        "{control}"
    );
    let inner = denied(
        &tools,
        "write_file",
        json!({"path": "src/./api/x.rs", "content": "x"}),
    )
    .await;
    assert!(inner.contains("it has a `.` segment"), "{inner}");
    assert_eq!(fx.protected(), before);
}

#[tokio::test]
async fn case_variants_of_control_files_are_control_files() {
    let fx = Fixture::new();
    let before = fx.protected();
    let tools = fx.toolbox(coder("api").with_seams(["Cargo.lock", "*.lock"]));
    for path in [
        "Slipway.toml",
        "SLIPWAY.TOML",
        "AGENTS.MD",
        "agents.md",
        ".SLIPWAY/x",
        ".Slipway/slipway.db",
    ] {
        let text = denied(
            &tools,
            "write_file",
            json!({"path": path, "content": "pwned"}),
        )
        .await;
        assert!(
            text.contains(&format!("`{path}` is a control file")),
            "{text}"
        );
        assert!(!fx.exists(path), "{path}");
    }
    let git = denied(
        &tools,
        "write_file",
        json!({"path": ".Git/config", "content": "x"}),
    )
    .await;
    assert!(git.contains("inside git's own directory"), "{git}");
    let lane_case = denied(
        &tools,
        "write_file",
        json!({"path": "SRC/api/x.rs", "content": "x"}),
    )
    .await;
    assert!(
        lane_case.contains("`SRC/api/x.rs` belongs to no lane and no seam"),
        "{lane_case}"
    );
    assert!(!fx.exists("SRC"));
    assert_eq!(fx.protected(), before);
}

#[tokio::test]
async fn unicode_look_alikes_and_other_normalization_forms_are_other_paths() {
    let fx = Fixture::new();
    let before = fx.protected();
    let tools = fx.toolbox(coder("api"));
    // Cyrillic і (U+0456) for the i of `api`.
    let cyrillic = "src/ap\u{456}/x.rs";
    let text = denied(
        &tools,
        "write_file",
        json!({"path": cyrillic, "content": "x"}),
    )
    .await;
    assert!(text.contains("belongs to no lane and no seam"), "{text}");
    assert!(!fx.exists("src/ap\u{456}"));
    // Cyrillic а (U+0430) in `slipway.toml`: not a control file, and no lane's.
    let fake = "slipw\u{430}y.toml";
    let text = denied(&tools, "write_file", json!({"path": fake, "content": "x"})).await;
    assert!(text.contains("belongs to no lane and no seam"), "{text}");

    let docs = fx.toolbox(coder("docs"));
    let nfd = format!("docs/{CAFE_NFD}/menu.md");
    let text = denied(&docs, "write_file", json!({"path": nfd, "content": "x"})).await;
    assert_eq!(
        text,
        format!(
            "write to `{}` denied: the coder of lane `docs` may write only its lane's files \
             (docs/{CAFE_NFC}/**) and the seams it holds; `{}` belongs to no lane and no seam, so \
             no agent may create or change it",
            nfd.escape_debug(),
            nfd.escape_debug()
        )
    );
    assert!(!fx.exists(&format!("docs/{CAFE_NFD}")));
    let nfc = format!("docs/{CAFE_NFC}/menu.md");
    ok(&docs, "write_file", json!({"path": nfc, "content": "x"})).await;
    assert_eq!(fx.read(&nfc).as_deref(), Some("x"));
    assert_eq!(fx.protected(), before);
}

#[tokio::test]
async fn nul_bytes_and_backslashes_are_refused() {
    let fx = Fixture::new();
    let tools = fx.toolbox(coder("api"));
    let nul = denied(
        &tools,
        "write_file",
        json!({"path": "src/api/a\u{0}.rs", "content": "x"}),
    )
    .await;
    assert!(
        nul.starts_with("write to `src/api/a\\0.rs` denied: it contains a NUL byte"),
        "{nul}"
    );
    let read = denied(&tools, "read_file", json!({"path": "src/api/lib.rs\u{0}"})).await;
    assert!(read.contains("it contains a NUL byte"), "{read}");
    let backslash = denied(
        &tools,
        "write_file",
        json!({"path": "src\\api\\a.rs", "content": "x"}),
    )
    .await;
    assert!(backslash.contains("it contains a backslash"), "{backslash}");
    assert_eq!(
        std::fs::read_dir(fx.root.join("src/api")).map_or(0, Iterator::count),
        2,
        "only lib.rs and found.rs"
    );
}

#[tokio::test]
async fn very_long_components_fail_cleanly() {
    let fx = Fixture::new();
    let before = fx.protected();
    let tools = fx.toolbox(coder("api"));
    let long = format!("src/api/{}.rs", "a".repeat(300));
    let text = error(&tools, "write_file", json!({"path": long, "content": "x"})).await;
    assert!(text.contains(&format!("`{long}`")), "{text}");
    assert!(text.to_lowercase().contains("name"), "{text}");
    let deep = format!("src/api/{}/x.rs", "d".repeat(300));
    let text = error(&tools, "write_file", json!({"path": deep, "content": "x"})).await;
    assert!(text.to_lowercase().contains("name"), "{text}");
    let read = error(&tools, "read_file", json!({"path": long})).await;
    assert!(read.to_lowercase().contains("name"), "{read}");
    assert_eq!(
        std::fs::read_dir(fx.root.join("src/api")).map_or(0, Iterator::count),
        2
    );
    assert_eq!(fx.protected(), before);
}

#[tokio::test]
async fn reads_escape_no_more_than_writes() {
    let fx = Fixture::new();
    fx.symlink("../outside", "out");
    let tools = fx.toolbox(explorer());
    let list = error(&tools, "list_dir", json!({"path": "out"})).await;
    assert!(
        list.contains("`out` is a symbolic link to `../outside`"),
        "{list}"
    );
    let search = ok(&tools, "search", json!({"pattern": "top secret"})).await;
    assert_eq!(search, "no matches for `top secret`");
    let root = ok(&tools, "list_dir", json!({})).await;
    assert!(root.contains("out -> ../outside"), "{root}");
}

#[tokio::test]
async fn a_hard_link_in_the_lane_is_replaced_never_written_through() {
    use std::os::unix::fs::MetadataExt as _;

    let fx = Fixture::new();
    let before = fx.protected();
    fx.hard_link("slipway.toml", "src/api/x.rs");
    fx.hard_link(".git/config", "src/api/y.rs");
    let tools = fx.toolbox(coder("api"));
    let write = ok(
        &tools,
        "write_file",
        json!({"path": "src/api/x.rs", "content": "pwned\n"}),
    )
    .await;
    assert_eq!(write, "replaced `src/api/x.rs`: 6 bytes, 1 line");
    assert_eq!(fx.read("src/api/x.rs").as_deref(), Some("pwned\n"));
    let edit = ok(
        &tools,
        "edit_file",
        json!({"path": "src/api/y.rs", "old": "[core]\n", "new": "[core]\n\thooksPath = /tmp/x\n"}),
    )
    .await;
    assert_eq!(
        edit,
        "edited `src/api/y.rs`: lines 1-1 replaced, now lines 1-2"
    );
    assert_eq!(
        fx.read("src/api/y.rs").as_deref(),
        Some("[core]\n\thooksPath = /tmp/x\n")
    );
    assert_eq!(fx.protected(), before);
    assert_eq!(fx.read(".git/config").as_deref(), Some("[core]\n"));
    for path in [
        "slipway.toml",
        ".git/config",
        "src/api/x.rs",
        "src/api/y.rs",
    ] {
        let links = std::fs::metadata(fx.root.join(path)).map_or(0, |meta| meta.nlink());
        assert_eq!(links, 1, "{path} should have one name again");
    }
    // The write went through a temporary file that is gone now.
    assert_eq!(fx.names("src/api"), ["found.rs", "lib.rs", "x.rs", "y.rs"]);

    // A symbolic link is still refused, not replaced.
    fx.symlink("../../slipway.toml", "src/api/z.rs");
    let link = error(
        &tools,
        "write_file",
        json!({"path": "src/api/z.rs", "content": "pwned"}),
    )
    .await;
    assert!(
        link.contains("`src/api/z.rs` is a symbolic link to `../../slipway.toml`"),
        "{link}"
    );
    let edit_link = error(
        &tools,
        "edit_file",
        json!({"path": "src/api/z.rs", "old": "spec", "new": "x"}),
    )
    .await;
    assert_eq!(edit_link, link);
    assert!(
        std::fs::symlink_metadata(fx.root.join("src/api/z.rs"))
            .is_ok_and(|meta| meta.file_type().is_symlink())
    );
    assert_eq!(fx.protected(), before);
}
