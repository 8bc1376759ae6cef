use serde_json::json;
use slipway_tools::Limits;

use super::support::{Fixture, denied, error, explorer, ok};

#[tokio::test]
async fn finds_matches_and_skips_ignored_hidden_and_private_files() {
    let fx = Fixture::new();
    let tools = fx.toolbox(explorer());
    let text = ok(&tools, "search", json!({"pattern": "needle"})).await;
    assert_eq!(
        text,
        "schema/db.sql:1: create table t (needle int);\n\
         src/api/found.rs:1: // the needle is here\n\
         src/api/found.rs:2: let needle = 1;\n\
         web/app.js:1: console.log('needle');"
    );
}

#[tokio::test]
async fn narrows_by_path_and_glob() {
    let fx = Fixture::new();
    let tools = fx.toolbox(explorer());
    let in_src = ok(
        &tools,
        "search",
        json!({"pattern": "needle", "path": "src/"}),
    )
    .await;
    assert_eq!(
        in_src,
        "src/api/found.rs:1: // the needle is here\nsrc/api/found.rs:2: let needle = 1;"
    );
    let js = ok(
        &tools,
        "search",
        json!({"pattern": "needle", "glob": "*.js"}),
    )
    .await;
    assert_eq!(js, "web/app.js:1: console.log('needle');");
    let not_js = ok(
        &tools,
        "search",
        json!({"pattern": "needle", "glob": "!*.js", "path": "web"}),
    )
    .await;
    assert_eq!(
        not_js,
        "no matches for `needle` in `web` among files matching `!*.js`"
    );
    let one_file = ok(
        &tools,
        "search",
        json!({"pattern": "^let", "path": "src/api/found.rs"}),
    )
    .await;
    assert_eq!(one_file, "src/api/found.rs:2: let needle = 1;");
    // An ignored file named explicitly is searched, as ripgrep does.
    let explicit = ok(
        &tools,
        "search",
        json!({"pattern": "needle", "path": "debug.log"}),
    )
    .await;
    assert_eq!(explicit, "debug.log:1: needle in a log");
}

#[tokio::test]
async fn honours_nested_gitignores_negation_and_info_exclude() {
    let fx = Fixture::new();
    fx.put("pkg/.gitignore", "gen/\n!keep.log\n");
    fx.put("pkg/gen/a.txt", "needle\n");
    fx.put("pkg/keep.log", "needle kept\n");
    fx.put("pkg/other.log", "needle dropped\n");
    fx.put(".git/info/exclude", "local/\n");
    fx.put("local/x.txt", "needle local\n");
    let tools = fx.toolbox(explorer());
    let text = ok(
        &tools,
        "search",
        json!({"pattern": "needle", "path": "pkg"}),
    )
    .await;
    assert_eq!(text, "pkg/keep.log:1: needle kept");
    let root = ok(&tools, "search", json!({"pattern": "needle local"})).await;
    assert_eq!(root, "no matches for `needle local`");
}

#[tokio::test]
async fn does_not_follow_links_out_of_the_workspace() {
    let fx = Fixture::new();
    fx.put_outside("stash/leak.txt", "needle outside\n");
    fx.symlink("../../../outside/stash", "src/api/stash");
    fx.symlink("../../../outside/secret.txt", "src/api/secret.txt");
    let tools = fx.toolbox(explorer());
    let text = ok(
        &tools,
        "search",
        json!({"pattern": "needle outside|top secret"}),
    )
    .await;
    assert_eq!(text, "no matches for `needle outside|top secret`");
    let direct = error(
        &tools,
        "search",
        json!({"pattern": "secret", "path": "src/api/secret.txt"}),
    )
    .await;
    assert!(direct.contains("is a symbolic link"), "{direct}");
}

#[tokio::test]
async fn bad_patterns_and_globs_name_the_field() {
    let fx = Fixture::new();
    let tools = fx.toolbox(explorer());
    let regex = error(&tools, "search", json!({"pattern": "(unclosed"})).await;
    assert!(
        regex.starts_with(
            "bad arguments for search: field `pattern` is not a valid regular expression"
        ),
        "{regex}"
    );
    let glob = error(&tools, "search", json!({"pattern": "x", "glob": "[z"})).await;
    assert!(
        glob.starts_with("bad arguments for search: field `glob` is not a valid glob"),
        "{glob}"
    );
    let private = denied(
        &tools,
        "search",
        json!({"pattern": "x", "path": ".slipway"}),
    )
    .await;
    assert!(
        private.starts_with("read of `.slipway` denied"),
        "{private}"
    );
    let missing = error(&tools, "search", json!({"pattern": "x", "path": "nope"})).await;
    assert!(missing.contains("`nope` does not exist"), "{missing}");
}

#[tokio::test]
async fn many_matches_are_capped_with_a_note_and_binary_files_skipped() {
    let fx = Fixture::new();
    let many = (0..50)
        .map(|n| format!("hit {n}"))
        .collect::<Vec<_>>()
        .join("\n");
    fx.put("many.txt", &many);
    if let Err(err) = std::fs::write(fx.root.join("blob.bin"), b"\0hit in binary\n") {
        panic!("{err}");
    }
    let limits = Limits {
        search_matches: 3,
        ..Limits::default()
    };
    let tools = fx.toolbox_with(explorer(), limits);
    let text = ok(&tools, "search", json!({"pattern": "^hit"})).await;
    assert_eq!(
        text,
        "many.txt:1: hit 0\nmany.txt:2: hit 1\nmany.txt:3: hit 2\n\
         [only the first 3 matches are shown; narrow the search with `path`, `glob` or a more \
         precise pattern]"
    );
}

#[tokio::test]
async fn a_long_answer_is_cut_by_size_with_a_note() {
    let fx = Fixture::new();
    let wide = (0..50)
        .map(|n| format!("hit {n:02} {}", "w".repeat(100)))
        .collect::<Vec<_>>()
        .join("\n");
    fx.put("wide.txt", &wide);
    let limits = Limits {
        read_bytes: 1000,
        ..Limits::default()
    };
    let tools = fx.toolbox_with(explorer(), limits);
    let text = ok(&tools, "search", json!({"pattern": "^hit"})).await;
    // Each match is `wide.txt:N: hit NN w…w`, about 120 bytes: eight fit.
    let shown: Vec<String> = (0..8)
        .map(|n| format!("wide.txt:{}: hit {n:02} {}", n + 1, "w".repeat(100)))
        .collect();
    assert_eq!(
        text,
        format!(
            "{}\n[the answer was cut after 8 matches to stay under 1000 bytes; narrow the \
             search with `path`, `glob` or a more precise pattern]",
            shown.join("\n")
        )
    );
}
