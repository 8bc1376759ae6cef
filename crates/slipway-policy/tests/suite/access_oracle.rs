//! `check_write` and `check_read` agree with a naive reference that shares
//! no code with the crate: its own path rules, its own control files, and
//! glob matching for the few glob shapes generated here (an anchored
//! directory, an anchored file, `*.ext`, and one negated seam directory).

use std::collections::BTreeSet;

use proptest::prelude::*;
use slipway_policy::{
    AgentRole, Grant, LaneSpec, Ownership, check_read, check_write, is_canonical_path,
    is_control_path, normalize_path,
};

const LANE_GLOBS: [&str; 9] = [
    "/a/",
    "/b/",
    "/a/c/",
    "/\u{e9}/",
    "/A/",
    "*.rs",
    "*.css",
    "/a/x.rs",
    "/b/y.lock",
];
const SEAM_GLOBS: [&str; 5] = [
    "/Cargo.lock",
    "*.lock",
    "/shared/",
    "/a/c/",
    "!/shared/own/",
];

/// Whether one (non-negated) glob of the shapes above reaches the path.
fn reaches(glob: &str, segments: &[&str]) -> bool {
    let glob = glob.trim_start_matches('!');
    if let Some(ext) = glob.strip_prefix("*.") {
        // Unanchored: any file or directory on the way whose name ends so.
        return segments.iter().any(|s| s.ends_with(&format!(".{ext}")));
    }
    let anchored = glob.trim_start_matches('/');
    let (body, dir_only) = match anchored.strip_suffix('/') {
        Some(body) => (body, true),
        None => (anchored, false),
    };
    let wanted: Vec<&str> = body.split('/').collect();
    let deeper = if dir_only {
        segments.len() > wanted.len()
    } else {
        segments.len() >= wanted.len()
    };
    deeper && segments[..wanted.len()] == wanted[..]
}

fn strip_dot_slash(mut path: &str) -> &str {
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    path
}

/// The path's segments when it is plain, relative and free of tricks.
fn plain_segments(path: &str) -> Option<Vec<&str>> {
    if path.is_empty() || path.contains('\0') || path.contains('\\') {
        return None;
    }
    let segments: Vec<&str> = path.split('/').collect();
    let bad = segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == "..");
    (!bad).then_some(segments)
}

fn ref_may_write(lanes: &[LaneSpec], seams: &[String], grant: &Grant, raw: &str) -> bool {
    let path = strip_dot_slash(raw);
    let Some(segments) = plain_segments(path) else {
        return false;
    };
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let root_file = segments.len() == 1 && (lower[0] == "slipway.toml" || lower[0] == "agents.md");
    if root_file || lower[0] == ".slipway" || lower.iter().any(|s| s == ".git") {
        return false;
    }
    match grant.role {
        AgentRole::Explorer | AgentRole::Reviewer => false,
        AgentRole::Planner => grant.plan_file.as_deref().map(strip_dot_slash) == Some(path),
        AgentRole::Coder | AgentRole::Debugger | AgentRole::Fixer => {
            let mut is_seam = false;
            let mut entries = Vec::new();
            for glob in seams {
                if reaches(glob, &segments) {
                    is_seam = !glob.starts_with('!');
                    if is_seam {
                        entries.push(glob);
                    }
                }
            }
            if is_seam {
                return entries.iter().all(|e| grant.held_seams.contains(*e));
            }
            let owners: Vec<&str> = lanes
                .iter()
                .filter(|lane| lane.owns.iter().any(|g| reaches(g, &segments)))
                .map(|lane| lane.name.as_str())
                .collect();
            owners.len() == 1 && grant.lane.as_deref() == Some(owners[0])
        }
    }
}

fn ref_may_read(raw: &str) -> bool {
    let path = strip_dot_slash(raw);
    if path.is_empty() || path == "." {
        return true;
    }
    plain_segments(path).is_some_and(|s| {
        !s[0].eq_ignore_ascii_case(".slipway") && !s.iter().any(|s| s.eq_ignore_ascii_case(".git"))
    })
}

fn lanes() -> impl Strategy<Value = Vec<LaneSpec>> {
    let lane_globs = prop::sample::subsequence(LANE_GLOBS.to_vec(), 1..=2);
    prop::collection::vec(lane_globs, 1..=3).prop_map(|globs| {
        ["api", "web", "core"]
            .into_iter()
            .zip(globs)
            .map(|(name, owns)| LaneSpec {
                name: name.to_owned(),
                owns: owns.into_iter().map(str::to_owned).collect(),
            })
            .collect()
    })
}

fn seams() -> impl Strategy<Value = Vec<String>> {
    prop::sample::subsequence(SEAM_GLOBS.to_vec(), 0..=4)
        .prop_map(|globs| globs.into_iter().map(str::to_owned).collect())
}

fn grant() -> impl Strategy<Value = Grant> {
    (
        prop::sample::select(AgentRole::ALL.to_vec()),
        prop::option::weighted(
            0.8,
            prop::sample::select(vec!["api", "web", "core", "zeta"]),
        ),
        prop::sample::subsequence(SEAM_GLOBS[..4].to_vec(), 0..=4),
        prop::option::of(prop::sample::select(vec![
            "plan.md",
            "./plan.md",
            "a/x.rs",
            "slipway.toml",
            ".git/plan",
        ])),
    )
        .prop_map(|(role, lane, seams, plan)| Grant {
            role,
            lane: lane.map(str::to_owned),
            held_seams: seams
                .into_iter()
                .map(str::to_owned)
                .collect::<BTreeSet<_>>(),
            plan_file: plan.map(str::to_owned),
        })
}

fn path() -> impl Strategy<Value = String> {
    let segment = prop::sample::select(vec![
        "a",
        "b",
        "c",
        "A",
        "x.rs",
        "y.lock",
        "Cargo.lock",
        "shared",
        "own",
        "plan.md",
        "\u{e9}",
        "e\u{301}",
        "\u{430}",
        "\u{c9}",
        "..",
        ".",
        "",
        ".git",
        ".GIT",
        "slipway.toml",
        "Slipway.toml",
        "AGENTS.md",
        "AGENTS.MD",
        ".slipway",
        ".Slipway",
        "n\0ul",
        "back\\slash",
        "s.css",
        "x.RS",
    ]);
    let prefix = prop::sample::select(vec!["", "", "", "", "./", "././", "/", "../"]);
    (prefix, prop::collection::vec(segment, 1..=4))
        .prop_map(|(prefix, segments)| format!("{prefix}{}", segments.join("/")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn check_write_agrees_with_the_reference(
        lanes in lanes(),
        seams in seams(),
        grant in grant(),
        paths in prop::collection::vec(path(), 1..=16),
    ) {
        let ownership = Ownership::new(&lanes, &seams)
            .map_err(|err| TestCaseError::fail(format!("generated globs should compile: {err}")))?;
        for path in &paths {
            let decision = check_write(&grant, &ownership, path);
            prop_assert_eq!(
                decision.is_ok(),
                ref_may_write(&lanes, &seams, &grant, path),
                "path {:?}, grant {:?}, lanes {:?}, seams {:?}: {:?}",
                path, grant, lanes, seams, decision
            );
            if decision.is_ok() {
                let normalized = normalize_path(path);
                prop_assert!(is_canonical_path(normalized), "{:?}", path);
                prop_assert!(!is_control_path(path), "{:?}", path);
            }
            if let Err(denial) = &decision {
                prop_assert_eq!(&denial.path, path);
                prop_assert!(denial.to_string().starts_with("write to `"));
            }
            prop_assert_eq!(check_read(&grant, path).is_ok(), ref_may_read(path), "{:?}", path);
        }
    }
}

#[test]
fn the_reference_matches_globs_as_gitignore_would() {
    let cases = [
        ("/a/", "a/b", true),
        ("/a/", "a", false),
        ("/a/", "b/a/c", false),
        ("/a/x.rs", "a/x.rs", true),
        ("/a/x.rs", "a/x.rs/deeper", true),
        ("*.rs", "b/c/x.rs", true),
        ("*.rs", "b/c.rs/x", true),
        ("*.rs", "b/x.RS", false),
        ("/\u{e9}/", "e\u{301}/a", false),
    ];
    for (glob, path, expected) in cases {
        let segments: Vec<&str> = path.split('/').collect();
        assert_eq!(reaches(glob, &segments), expected, "{glob} vs {path}");
    }
}
