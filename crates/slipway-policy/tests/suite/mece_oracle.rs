//! The MECE check and `owner` agree with a brute-force reference that shares
//! no code with the crate: its own recursive glob matcher for a small
//! grammar, its own gitignore rules (any depth, anchoring, directories,
//! negation) and its own control/seam/lane precedence.

use proptest::prelude::*;
use slipway_policy::{LaneSpec, MeceReport, Overlap, Owner, Ownership, UnmatchedGlob};

/// One character of a glob segment or one whole segment against one name.
fn segment_matches(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| segment_matches(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && segment_matches(rest, &name[1..]),
        Some((&c, rest)) => name.first() == Some(&c) && segment_matches(rest, &name[1..]),
    }
}

/// Glob segments against path segments. A `**` segment spans zero or more
/// names, except at the end, where it needs at least one ("everything inside").
fn segments_match(pattern: &[&str], names: &[&str]) -> bool {
    match pattern.split_first() {
        None => names.is_empty(),
        Some((&"**", [])) => !names.is_empty(),
        Some((&"**", rest)) => (0..=names.len()).any(|skip| segments_match(rest, &names[skip..])),
        Some((segment, rest)) => names.first().is_some_and(|name| {
            segment_matches(segment.as_bytes(), name.as_bytes())
                && segments_match(rest, &names[1..])
        }),
    }
}

struct RefPattern {
    negated: bool,
    dir_only: bool,
    anchored: bool,
    segments: Vec<String>,
}

fn parse(glob: &str) -> RefPattern {
    let negated = glob.starts_with('!');
    let glob = if negated { &glob[1..] } else { glob };
    let dir_only = glob.ends_with('/');
    let glob = if dir_only {
        &glob[..glob.len() - 1]
    } else {
        glob
    };
    let leading = glob.starts_with('/');
    let glob = if leading { &glob[1..] } else { glob };
    let segments: Vec<String> = glob.split('/').map(String::from).collect();
    RefPattern {
        negated,
        dir_only,
        anchored: leading || segments.len() > 1,
        segments,
    }
}

/// Whether the pattern, ignoring its `!`, matches this exact path or directory.
fn matches_exactly(pattern: &RefPattern, names: &[&str]) -> bool {
    let segments: Vec<&str> = pattern.segments.iter().map(String::as_str).collect();
    if pattern.anchored {
        segments_match(&segments, names)
    } else {
        (0..names.len()).any(|start| segments_match(&segments, &names[start..]))
    }
}

/// Whether the pattern reaches a tracked file: the file itself (unless the
/// pattern wants a directory) or any directory above it.
fn reaches(pattern: &RefPattern, path: &str) -> bool {
    let names: Vec<&str> = path.split('/').collect();
    let itself = !pattern.dir_only && matches_exactly(pattern, &names);
    itself || (1..names.len()).any(|depth| matches_exactly(pattern, &names[..depth]))
}

/// Last match wins; no match owns nothing.
fn list_owns(globs: &[String], path: &str) -> bool {
    let mut owned = false;
    for glob in globs {
        let pattern = parse(glob);
        if reaches(&pattern, path) {
            owned = !pattern.negated;
        }
    }
    owned
}

fn ref_is_control(path: &str) -> bool {
    path == "slipway.toml" || path == "AGENTS.md" || path.split('/').next() == Some(".slipway")
}

fn ref_owner(lanes: &[LaneSpec], seams: &[String], path: &str) -> Owner {
    if ref_is_control(path) {
        return Owner::Control;
    }
    if list_owns(seams, path) {
        return Owner::Seam;
    }
    let mut owners: Vec<String> = lanes
        .iter()
        .filter(|lane| list_owns(&lane.owns, path))
        .map(|lane| lane.name.clone())
        .collect();
    owners.sort();
    match owners.len() {
        0 => Owner::Unowned,
        1 => Owner::Lane(owners.remove(0)),
        _ => Owner::Contested(owners),
    }
}

fn ref_report(lanes: &[LaneSpec], seams: &[String], tracked: &[String]) -> MeceReport {
    let mut paths = tracked.to_vec();
    paths.sort();
    paths.dedup();
    let mut report = MeceReport {
        checked: tracked.len(),
        ..MeceReport::default()
    };
    for path in &paths {
        match ref_owner(lanes, seams, path) {
            Owner::Unowned => report.orphans.push(path.clone()),
            Owner::Contested(lanes) => report.overlaps.push(Overlap {
                path: path.clone(),
                lanes,
            }),
            _ => {}
        }
    }
    let mut by_name: Vec<&LaneSpec> = lanes.iter().collect();
    by_name.sort_by(|a, b| a.name.cmp(&b.name));
    let lists = std::iter::once((None, seams)).chain(
        by_name
            .iter()
            .map(|lane| (Some(lane.name.clone()), &lane.owns[..])),
    );
    for (lane, globs) in lists {
        for glob in globs {
            let pattern = parse(glob);
            let reached = paths
                .iter()
                .any(|p| !ref_is_control(p) && reaches(&pattern, p));
            if !pattern.negated && !reached {
                report.unmatched.push(UnmatchedGlob {
                    lane: lane.clone(),
                    glob: glob.clone(),
                });
            }
        }
    }
    report
}

/// A glob segment: `**`, or one to three of `a`, `b`, `*`, `?` without two
/// stars in a row.
fn glob_segment() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec!["a", "b", "*", "?"]);
    prop_oneof![
        1 => Just("**".to_owned()),
        5 => prop::collection::vec(token, 1..=3).prop_map(|tokens| {
            let mut segment = tokens.concat();
            while segment.contains("**") {
                segment = segment.replace("**", "*");
            }
            segment
        }),
    ]
}

fn glob() -> impl Strategy<Value = String> {
    (
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.3),
        prop::collection::vec(glob_segment(), 1..=3),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(negated, leading, segments, trailing)| {
            let bang = if negated { "!" } else { "" };
            let lead = if leading { "/" } else { "" };
            let trail = if trailing { "/" } else { "" };
            format!("{bang}{lead}{}{trail}", segments.join("/"))
        })
}

fn lanes() -> impl Strategy<Value = Vec<LaneSpec>> {
    let names = vec!["web", "api", "core", "docs", "zeta"];
    (1..=5usize)
        .prop_flat_map(move |count| {
            let chosen = Just(names.clone()).prop_shuffle().prop_map(move |mut n| {
                n.truncate(count);
                n
            });
            (
                chosen,
                prop::collection::vec(prop::collection::vec(glob(), 1..=4), count),
            )
        })
        .prop_map(|(names, globs)| {
            names
                .into_iter()
                .zip(globs)
                .map(|(name, owns)| LaneSpec {
                    name: name.to_owned(),
                    owns,
                })
                .collect()
        })
}

fn path() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec!["a", "b", "ab", "ba", "aab", "bb"]);
    let control = prop::sample::select(vec![
        "slipway.toml",
        "AGENTS.md",
        ".slipway/a",
        ".slipway/a/b",
        "a/slipway.toml",
        "b/AGENTS.md",
    ]);
    prop_oneof![
        9 => prop::collection::vec(name, 1..=4).prop_map(|names| names.join("/")),
        1 => control.prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn check_and_owner_agree_with_brute_force(
        lanes in lanes(),
        seams in prop::collection::vec(glob(), 0..=3),
        tracked in prop::collection::vec(path(), 0..=40),
    ) {
        let ownership = Ownership::new(&lanes, &seams)
            .map_err(|err| TestCaseError::fail(format!("generated globs should compile: {err}")))?;

        let report = ownership.check(tracked.iter().map(String::as_str));
        prop_assert_eq!(&report, &ref_report(&lanes, &seams, &tracked));
        prop_assert_eq!(report.is_mece(), report.overlaps.is_empty() && report.orphans.is_empty());

        for path in &tracked {
            prop_assert_eq!(ownership.owner(path), ref_owner(&lanes, &seams, path), "{}", path);
            prop_assert_eq!(
                ownership.is_seam(path),
                !ref_is_control(path) && list_owns(&seams, path),
                "{}", path
            );
            for lane in &lanes {
                prop_assert_eq!(
                    ownership.lane_owns(&lane.name, path),
                    list_owns(&lane.owns, path),
                    "lane {} path {}", lane.name, path
                );
            }
        }
    }
}

#[test]
fn the_reference_itself_follows_gitignore_on_known_cases() {
    let cases = [
        ("a", "b/a/x", true),
        ("/a", "b/a/x", false),
        ("a/", "a", false),
        ("a/", "b/a/x", true),
        ("a/**", "a", false),
        ("a/**", "a/b", true),
        ("a/**/b", "a/b", true),
        ("**/", "a", false),
        ("**/", "a/b", true),
        ("?b", "ab", true),
        ("a*", "b/ab/b", true),
        ("a/*", "a/b/c", true),
        ("b/*", "a/b/c", false),
    ];
    for (glob, path, expected) in cases {
        assert_eq!(reaches(&parse(glob), path), expected, "`{glob}` vs {path}");
    }
}
