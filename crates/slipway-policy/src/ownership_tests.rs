use super::*;
use crate::{MeceReport, Overlap, UnmatchedGlob};

fn lane(name: &str, owns: &[&str]) -> LaneSpec {
    LaneSpec {
        name: name.to_owned(),
        owns: owns.iter().map(|&glob| glob.to_owned()).collect(),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|&item| item.to_owned()).collect()
}

fn build(lanes: &[LaneSpec], seams: &[&str]) -> Ownership {
    match Ownership::new(lanes, &strings(seams)) {
        Ok(ownership) => ownership,
        Err(err) => panic!("should compile: {err}"),
    }
}

fn owned_by(name: &str) -> Owner {
    Owner::Lane(name.to_owned())
}

#[test]
fn unanchored_globs_match_at_any_depth_and_anchored_ones_at_the_root() {
    let own = build(&[lane("rust", &["*.rs"]), lane("web", &["/web/*.ts"])], &[]);
    assert_eq!(own.owner("lib.rs"), owned_by("rust"));
    assert_eq!(own.owner("crates/a/src/lib.rs"), owned_by("rust"));
    assert_eq!(own.owner("web/app.ts"), owned_by("web"));
    assert_eq!(own.owner("web/deep/app.ts"), Owner::Unowned);
    assert_eq!(own.owner("other/web/app.ts"), Owner::Unowned);
}

#[test]
fn a_trailing_slash_owns_everything_beneath_the_directory() {
    let own = build(
        &[lane("docs", &["docs/"]), lane("vendor", &["vendor"])],
        &[],
    );
    assert_eq!(own.owner("docs/guide/intro.md"), owned_by("docs"));
    assert_eq!(own.owner("docs"), Owner::Unowned, "a file named docs");
    assert_eq!(own.owner("vendor"), owned_by("vendor"));
    assert_eq!(own.owner("third/vendor/x/y.c"), owned_by("vendor"));
}

#[test]
fn double_star_in_the_middle_spans_zero_or_more_directories() {
    let own = build(&[lane("gen", &["crates/**/generated/*.rs"])], &[]);
    assert_eq!(own.owner("crates/generated/a.rs"), owned_by("gen"));
    assert_eq!(own.owner("crates/x/y/generated/a.rs"), owned_by("gen"));
    assert_eq!(own.owner("crates/x/generated/sub/a.rs"), Owner::Unowned);
    assert_eq!(own.owner("other/generated/a.rs"), Owner::Unowned);
}

#[test]
fn negation_takes_paths_back_and_the_last_match_wins() {
    let own = build(
        &[
            lane("core", &["src/", "!src/gen/", "src/gen/keep.rs"]),
            lane("gen", &["src/gen/"]),
        ],
        &[],
    );
    assert_eq!(own.owner("src/lib.rs"), owned_by("core"));
    assert_eq!(own.owner("src/gen/out.rs"), owned_by("gen"));
    assert_eq!(
        own.owner("src/gen/keep.rs"),
        Owner::Contested(strings(&["core", "gen"]))
    );
    assert!(!own.lane_owns("core", "src/gen/out.rs"));
    assert!(own.lane_owns("core", "src/gen/keep.rs"));
}

#[test]
fn seams_come_before_lanes_and_are_no_overlap() {
    let own = build(
        &[lane("a", &["**"]), lane("b", &["*.lock", "src/"])],
        &["Cargo.lock", "src/types/"],
    );
    assert_eq!(own.owner("Cargo.lock"), Owner::Seam);
    assert_eq!(own.owner("src/types/task.rs"), Owner::Seam);
    assert!(own.is_seam("src/types/task.rs"));
    assert!(
        own.lane_owns("a", "Cargo.lock"),
        "the lane's globs still reach it"
    );
    let report = own.check(["Cargo.lock", "src/types/task.rs", "README.md"]);
    assert!(report.is_mece(), "{report:?}");
}

#[test]
fn a_negated_seam_glob_hands_the_path_back_to_the_lanes() {
    let own = build(&[lane("web", &["web/"])], &["web/", "!web/app/"]);
    assert_eq!(own.owner("web/schema.json"), Owner::Seam);
    assert_eq!(own.owner("web/app/main.ts"), owned_by("web"));
}

#[test]
fn control_files_are_never_owned_and_never_orphans() {
    let own = build(
        &[lane("all", &["**", "*.toml", ".slipway/"])],
        &["AGENTS.md"],
    );
    for path in [
        "slipway.toml",
        "AGENTS.md",
        ".slipway/slipway.db",
        "./slipway.toml",
    ] {
        assert_eq!(own.owner(path), Owner::Control, "{path}");
    }
    assert!(
        !own.is_seam("AGENTS.md"),
        "a control file is never a writable seam"
    );
    assert!(
        own.lane_owns("all", "slipway.toml"),
        "lane_owns ignores precedence"
    );

    let nobody = build(&[lane("src", &["src/"])], &[]);
    let report = nobody.check(["slipway.toml", "AGENTS.md", ".slipway/work/1/x", "src/a"]);
    assert!(report.is_mece(), "{report:?}");
    assert_eq!(report.checked, 4);
}

#[test]
fn overlaps_list_every_lane_in_name_order() {
    let own = build(
        &[
            lane("zeta", &["src/"]),
            lane("alpha", &["*.rs"]),
            lane("mid", &["lib.rs"]),
        ],
        &[],
    );
    let report = own.check(["src/main.rs", "src/lib.rs", "src/a.txt"]);
    assert_eq!(
        report.overlaps,
        vec![
            Overlap {
                path: "src/lib.rs".into(),
                lanes: strings(&["alpha", "mid", "zeta"])
            },
            Overlap {
                path: "src/main.rs".into(),
                lanes: strings(&["alpha", "zeta"])
            },
        ]
    );
    assert!(report.orphans.is_empty());
    assert!(!report.is_mece());
}

#[test]
fn orphans_are_sorted_and_reported_once() {
    let own = build(&[lane("src", &["src/"])], &[]);
    let report = own.check(["z.md", "src/a.rs", "b/c.txt", "z.md", ""]);
    assert_eq!(report.orphans, strings(&["b/c.txt", "z.md"]));
    assert_eq!(report.checked, 4, "the empty string is no path");
    assert!(!report.is_mece());
}

#[test]
fn unmatched_globs_are_warnings_not_failures() {
    let own = build(
        &[
            lane("web", &["web/", "!web/gen/", "wbe/"]),
            lane("api", &["api/", "AGENTS.md"]),
        ],
        &["schema/", "Cargo.lock"],
    );
    let report = own.check(["web/a.ts", "api/b.rs", "Cargo.lock", "AGENTS.md"]);
    assert!(report.is_mece(), "{report:?}");
    let unmatched = |lane: Option<&str>, glob: &str| UnmatchedGlob {
        lane: lane.map(str::to_owned),
        glob: glob.to_owned(),
    };
    assert_eq!(
        report.unmatched,
        vec![
            unmatched(None, "schema/"),
            unmatched(Some("api"), "AGENTS.md"),
            unmatched(Some("web"), "wbe/"),
        ]
    );
}

#[test]
fn bad_globs_name_the_lane_or_the_seams_and_the_glob() {
    let Err(err) = Ownership::new(&[lane("ok", &["src/"]), lane("api", &["api/", "[x"])], &[])
    else {
        panic!("should fail");
    };
    assert_eq!(err.lane.as_deref(), Some("api"));
    assert_eq!(err.glob, "[x");
    assert!(
        err.reason.contains("unclosed character class"),
        "{}",
        err.reason
    );
    assert!(err.to_string().contains("lane `api`: glob `[x`"), "{err}");

    let Err(err) = Ownership::new(&[], &strings(&["docs/", ""])) else {
        panic!("should fail");
    };
    assert_eq!((err.lane, err.glob.as_str()), (None, ""));
    assert!(err.reason.contains("is empty"));
}

#[test]
fn lane_names_must_be_present_and_distinct() {
    let Err(err) = Ownership::new(&[lane("", &["src/"])], &[]) else {
        panic!("should fail");
    };
    assert_eq!(err.lane.as_deref(), Some(""));
    assert!(err.to_string().contains("empty name"), "{err}");

    let Err(err) = Ownership::new(&[lane("api", &["a/"]), lane("api", &["b/"])], &[]) else {
        panic!("should fail");
    };
    assert_eq!(err.lane.as_deref(), Some("api"));
    assert!(err.to_string().contains("used by two lanes"), "{err}");
}

#[test]
fn paths_with_spaces_and_unicode_match_like_any_other() {
    let own = build(
        &[
            lane("docs", &["my docs/", "naïve/*.md"]),
            lane("data", &["données/**/*.csv"]),
        ],
        &["* *.lock"],
    );
    assert_eq!(own.owner("my docs/read me.txt"), owned_by("docs"));
    assert_eq!(own.owner("naïve/résumé.md"), owned_by("docs"));
    assert_eq!(own.owner("données/2024/été.csv"), owned_by("data"));
    assert_eq!(own.owner("x/yarn v2.lock"), Owner::Seam);
    assert_eq!(own.owner("mydocs/a.txt"), Owner::Unowned);
}

#[test]
fn unknown_lanes_own_nothing_and_lanes_are_listed_sorted() {
    let own = build(&[lane("b", &["**"]), lane("a", &["x"])], &[]);
    assert!(!own.lane_owns("c", "anything"));
    assert_eq!(own.lanes(), strings(&["a", "b"]));
}

#[test]
fn reports_and_owners_serialize_for_json_output() -> Result<(), serde_json::Error> {
    let report = MeceReport {
        overlaps: vec![Overlap {
            path: "a".into(),
            lanes: strings(&["x", "y"]),
        }],
        orphans: strings(&["b"]),
        unmatched: vec![UnmatchedGlob {
            lane: None,
            glob: "c/".into(),
        }],
        checked: 3,
    };
    assert_eq!(
        serde_json::to_string(&report)?,
        r#"{"overlaps":[{"path":"a","lanes":["x","y"]}],"orphans":["b"],"unmatched":[{"lane":null,"glob":"c/"}],"checked":3}"#
    );
    assert_eq!(serde_json::to_string(&Owner::Seam)?, r#""seam""#);
    assert_eq!(
        serde_json::to_string(&owned_by("api"))?,
        r#"{"lane":"api"}"#
    );
    assert_eq!(
        Owner::Contested(strings(&["a", "b"])).to_string(),
        "contested by lanes a, b"
    );
    Ok(())
}

#[test]
fn paths_that_are_not_canonical_are_owned_by_no_lane() {
    let ownership = build(
        &[lane("api", &["src/api/**"]), lane("all", &["*.toml"])],
        &[],
    );
    assert_eq!(ownership.owner("src/api/x.rs"), owned_by("api"));
    for path in [
        "src/api/../slipway.toml",
        "src/api/../../etc/passwd",
        "/src/api/x.rs",
        "src//api/x.rs",
        "src/api/./x.rs",
        "src\\api\\x.rs",
    ] {
        assert!(
            matches!(ownership.owner(path), Owner::Unowned | Owner::Control),
            "{path}"
        );
    }
    assert_eq!(ownership.owner("Slipway.toml"), Owner::Control);
}
