use super::cli::{initialized, set_lanes, slipway, slipway_in};

fn project() -> slipway_test_support::TempRepo {
    initialized(&[
        ("src/api/handler.rs", ""),
        ("src/api/routes.rs", ""),
        ("src/core/engine.rs", ""),
        ("src/schema.sql", ""),
        ("web/app.js", ""),
        ("docs/guide.md", ""),
    ])
}

#[test]
fn the_default_lane_is_mece() {
    let repo = project();
    repo.commit("config");
    let run = slipway(&repo, &["lanes", "check"]).ok();
    assert!(run.stdout.contains("lanes are MECE"), "{run:#?}");
}

#[test]
fn overlaps_and_orphans_fail_the_check() {
    let repo = project();
    set_lanes(
        &repo,
        "[lanes.api]\nowns = [\"src/api/**\"]\n[lanes.core]\nowns = [\"src/**\"]\n[lanes.web]\nowns = [\"web/\"]\n[lanes.ghost]\nowns = [\"nothing/**\"]\n",
    );
    repo.commit("lanes");
    let run = slipway(&repo, &["lanes", "check"]).fails(1);
    assert!(run.stdout.contains("src/api/handler.rs"), "{run:#?}");
    assert!(run.stdout.contains("owned by lanes api, core"), "{run:#?}");
    assert!(run.stdout.contains("docs/guide.md"), "{run:#?}");
    assert!(
        run.stdout
            .contains("lane `ghost` glob `nothing/**` matches no tracked file"),
        "{run:#?}"
    );
    assert!(
        !run.stdout.contains("slipway.toml  "),
        "control files are never orphans: {run:#?}"
    );

    let json = slipway(&repo, &["lanes", "check", "--json"])
        .fails(1)
        .json();
    assert_eq!(json["mece"], false);
    let overlaps: Vec<&str> = json["report"]["overlaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap())
        .collect();
    assert_eq!(overlaps, ["src/api/handler.rs", "src/api/routes.rs"]);
    assert_eq!(
        json["report"]["orphans"],
        serde_json::json!(["docs/guide.md"])
    );
}

#[test]
fn seams_and_unmatched_globs_keep_the_check_green() {
    let repo = project();
    set_lanes(
        &repo,
        "[lanes.api]\nowns = [\"src/api/\"]\n[lanes.core]\nowns = [\"src/core/**\", \"docs/\", \"src/later/**\"]\n[lanes.web]\nowns = [\"web/**\"]\n",
    );
    let text = std::fs::read_to_string(repo.join("slipway.toml"))
        .unwrap()
        .replace("paths = []", "paths = [\"src/schema.sql\", \".gitignore\"]");
    std::fs::write(repo.join("slipway.toml"), text).unwrap();
    repo.commit("lanes");
    let run = slipway(&repo, &["lanes", "check"]).ok();
    assert!(
        run.stdout
            .contains("warning: lane `core` glob `src/later/**`"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("MECE"), "{run:#?}");
}

#[test]
fn which_names_the_owner() {
    let repo = project();
    set_lanes(
        &repo,
        "[lanes.api]\nowns = [\"src/api/**\"]\n[lanes.core]\nowns = [\"src/**\"]\n",
    );
    let text = std::fs::read_to_string(repo.join("slipway.toml"))
        .unwrap()
        .replace("paths = []", "paths = [\"src/schema.sql\"]");
    std::fs::write(repo.join("slipway.toml"), text).unwrap();
    let run = slipway(
        &repo,
        &[
            "lanes",
            "which",
            "src/core/engine.rs",
            "src/schema.sql",
            "slipway.toml",
            "docs/guide.md",
            "src/api/new.rs",
        ],
    )
    .ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "src/core/engine.rs: lane `core`");
    assert!(lines[1].starts_with("src/schema.sql: seam"), "{run:#?}");
    assert!(
        lines[2].starts_with("slipway.toml: control file"),
        "{run:#?}"
    );
    assert!(lines[3].starts_with("docs/guide.md: no owner"), "{run:#?}");
    assert!(
        lines[4].starts_with("src/api/new.rs: contested by lanes api, core"),
        "{run:#?}"
    );

    // Paths are taken relative to where the command runs.
    let run = slipway_in(
        &repo.join("src/core"),
        &["lanes", "which", "engine.rs", "../../web/app.js", "--json"],
        &[],
    )
    .ok();
    let json = run.json();
    assert_eq!(json[0]["path"], "src/core/engine.rs");
    assert_eq!(json[0]["owner"], serde_json::json!({"lane": "core"}));
    assert_eq!(json[1]["path"], "web/app.js");

    let run = slipway(&repo, &["lanes", "which", "/etc/passwd"]).fails(2);
    assert!(run.stderr.contains("outside the project"), "{run:#?}");
}

#[test]
fn which_refuses_the_root_itself() {
    let repo = project();
    let run = slipway(&repo, &["lanes", "which", "."]).fails(2);
    assert!(run.stderr.contains("project root itself"), "{run:#?}");
}
