use super::*;
use crate::LaneSpec;

fn ownership() -> Ownership {
    let lanes = [
        LaneSpec {
            name: "api".into(),
            owns: vec!["src/api/**".into()],
        },
        LaneSpec {
            name: "web".into(),
            owns: vec!["web/".into(), "*.css".into()],
        },
    ];
    let seams = [
        "Cargo.lock".to_owned(),
        "*.lock".to_owned(),
        "schema/".to_owned(),
    ];
    match Ownership::new(&lanes, &seams) {
        Ok(ownership) => ownership,
        Err(err) => panic!("should compile: {err}"),
    }
}

fn write_denial(grant: &Grant, path: &str) -> String {
    match check_write(grant, &ownership(), path) {
        Ok(()) => panic!("{path} should be denied to {grant:?}"),
        Err(denial) => {
            assert_eq!(denial.action, Action::Write);
            assert_eq!(denial.path, path);
            denial.to_string()
        }
    }
}

fn coder() -> Grant {
    Grant::new(AgentRole::Coder).with_lane("api")
}

#[test]
fn role_names_round_trip_through_text_and_serde() -> Result<(), serde_json::Error> {
    for role in AgentRole::ALL {
        assert_eq!(role.as_str().parse::<AgentRole>(), Ok(role));
        assert_eq!(role.to_string(), role.as_str());
        let json = serde_json::to_string(&role)?;
        assert_eq!(json, format!("\"{}\"", role.as_str()));
        assert_eq!(serde_json::from_str::<AgentRole>(&json)?, role);
    }
    assert_eq!(" Coder ".parse::<AgentRole>(), Ok(AgentRole::Coder));
    let Err(err) = "boss".parse::<AgentRole>() else {
        panic!("boss is no role");
    };
    assert_eq!(
        err.to_string(),
        "unknown agent role `boss`; known roles: explorer, planner, reviewer, coder, debugger, fixer"
    );
    Ok(())
}

#[test]
fn only_code_writing_roles_run_commands_and_helpers_are_read_only() {
    let runners: Vec<AgentRole> = AgentRole::ALL
        .into_iter()
        .filter(|role| role.can_run_commands())
        .collect();
    assert_eq!(
        runners,
        [AgentRole::Coder, AgentRole::Debugger, AgentRole::Fixer]
    );
    for role in AgentRole::ALL {
        assert!(role.can_delegate_to(AgentRole::Explorer));
        assert!(role.can_delegate_to(AgentRole::Reviewer));
        assert!(!role.can_delegate_to(AgentRole::Coder));
        assert!(!role.can_delegate_to(AgentRole::Planner));
    }
}

#[test]
fn a_grant_deserializes_with_defaults() -> Result<(), serde_json::Error> {
    let grant: Grant = serde_json::from_str(r#"{"role":"coder","lane":"api"}"#)?;
    assert_eq!(grant, coder());
    Ok(())
}

#[test]
fn the_coder_writes_its_lane_and_is_told_where_it_may_not() {
    let grant = coder();
    assert_eq!(check_write(&grant, &ownership(), "src/api/a.rs"), Ok(()));
    assert_eq!(
        check_write(&grant, &ownership(), "./src/api/new/b.rs"),
        Ok(())
    );
    assert_eq!(
        write_denial(&grant, "web/app.js"),
        "write to `web/app.js` denied: the coder of lane `api` may write only its lane's \
         files (src/api/**) and the seams it holds; `web/app.js` belongs to lane `web`: \
         leave it to that lane and say in your summary what it needs"
    );
    let unowned = write_denial(&grant, "README.md");
    assert!(
        unowned.contains("belongs to no lane and no seam"),
        "{unowned}"
    );
}

#[test]
fn debuggers_and_fixers_follow_the_coder_rules() {
    for role in [AgentRole::Debugger, AgentRole::Fixer] {
        let grant = Grant::new(role).with_lane("web");
        assert_eq!(check_write(&grant, &ownership(), "web/x.js"), Ok(()));
        assert_eq!(check_write(&grant, &ownership(), "a/b.css"), Ok(()));
        let text = write_denial(&grant, "src/api/a.rs");
        assert!(
            text.contains(&format!("the {role} of lane `web`")),
            "{text}"
        );
        assert!(text.contains("(web/, *.css)"), "{text}");
    }
}

#[test]
fn a_seam_needs_the_lease_of_every_entry_that_matches_it() {
    let entries = ownership();
    assert_eq!(
        entries.seam_entries_for("Cargo.lock"),
        ["Cargo.lock", "*.lock"]
    );
    assert_eq!(entries.seam_entries_for("web/yarn.lock"), ["*.lock"]);
    assert!(entries.seam_entries_for("src/api/a.rs").is_empty());

    let text = write_denial(&coder(), "Cargo.lock");
    assert!(
        text.contains("seam entries (`Cargo.lock`, `*.lock`), and the coder of lane `api` does not hold `Cargo.lock`, `*.lock`"),
        "{text}"
    );
    let partly = coder().with_seams(["*.lock"]);
    let text = write_denial(&partly, "Cargo.lock");
    assert!(text.contains("does not hold `Cargo.lock`;"), "{text}");
    assert_eq!(check_write(&partly, &ownership(), "web/yarn.lock"), Ok(()));

    let both = coder().with_seams(["*.lock", "Cargo.lock"]);
    assert_eq!(check_write(&both, &ownership(), "Cargo.lock"), Ok(()));
    let schema = Grant::new(AgentRole::Fixer).with_seams(["schema/"]);
    assert_eq!(check_write(&schema, &ownership(), "schema/a.sql"), Ok(()));
    assert!(write_denial(&schema, "src/api/a.rs").contains("has no lane"));
}

#[test]
fn read_only_roles_write_nothing() {
    for (role, words) in [
        (AgentRole::Explorer, "the explorer may not write files"),
        (AgentRole::Reviewer, "the reviewer may not write files"),
    ] {
        let grant = Grant::new(role).with_lane("api").with_seams(["Cargo.lock"]);
        for path in ["src/api/a.rs", "notes.md", "Cargo.lock"] {
            let text = write_denial(&grant, path);
            assert!(text.contains(words), "{text}");
        }
    }
}

#[test]
fn the_planner_writes_only_its_plan() {
    let grant = Grant::new(AgentRole::Planner).with_plan_file("./plans/12.md");
    assert_eq!(check_write(&grant, &ownership(), "plans/12.md"), Ok(()));
    assert_eq!(check_write(&grant, &ownership(), "./plans/12.md"), Ok(()));
    let text = write_denial(&grant, "src/api/a.rs");
    assert!(text.contains("only its plan file `plans/12.md`"), "{text}");
    assert!(write_denial(&grant, "plans/13.md").contains("plan file"));
    let none = Grant::new(AgentRole::Planner);
    assert!(write_denial(&none, "plans/12.md").contains("was given none"));
    let control = Grant::new(AgentRole::Planner).with_plan_file("AGENTS.md");
    assert!(write_denial(&control, "AGENTS.md").contains("control file"));
}

#[test]
fn control_files_and_git_are_never_written_in_any_case() {
    let everything = coder().with_seams(["Cargo.lock", "*.lock", "schema/"]);
    for path in [
        "slipway.toml",
        "Slipway.toml",
        "AGENTS.md",
        "AGENTS.MD",
        "./agents.md",
        ".slipway/slipway.db",
        ".SLIPWAY/x",
    ] {
        let text = write_denial(&everything, path);
        assert!(text.contains("is a control file"), "{text}");
    }
    for path in [".git/config", "src/api/.git/hooks/pre-commit", ".GIT/HEAD"] {
        let text = write_denial(&everything, path);
        assert!(text.contains("git's own directory"), "{text}");
    }
}

#[test]
fn non_canonical_paths_are_refused_with_the_reason() {
    for (path, words) in [
        ("", "the path is empty"),
        ("/etc/passwd", "it is absolute"),
        ("src/api/../../slipway.toml", "`..` segment"),
        ("src/api/./a.rs", "`.` segment"),
        ("src/api//a.rs", "empty segment"),
        ("src/api/", "empty segment"),
        ("src\\api\\a.rs", "backslash"),
        ("src/api/a\0.rs", "NUL byte"),
    ] {
        let text = write_denial(&coder(), path);
        assert!(text.contains(words), "{path:?}: {text}");
        assert!(text.contains("such as `src/lib.rs`"), "{text}");
    }
    let nul = write_denial(&coder(), "a\0b");
    assert!(nul.starts_with("write to `a\\0b` denied"), "{nul}");
}

#[test]
fn reads_reach_everything_but_private_state_and_git() {
    let grant = Grant::new(AgentRole::Explorer);
    for path in [
        "",
        ".",
        "./",
        "src/lib.rs",
        "slipway.toml",
        "AGENTS.md",
        ".gitignore",
        ".github/workflows/ci.yml",
        "src/.gitkeep",
        "web",
    ] {
        assert_eq!(check_read(&grant, path), Ok(()), "{path}");
    }
    for path in [".slipway", ".slipway/slipway.db", "./.Slipway/work/1/x"] {
        let Err(denial) = check_read(&grant, path) else {
            panic!("{path} should be denied");
        };
        assert_eq!(denial.action, Action::Read);
        assert!(
            denial
                .to_string()
                .contains("private state, which the explorer may not read"),
            "{denial}"
        );
    }
    for path in [
        ".git",
        ".git/config",
        ".GIT/config",
        "./.Git/HEAD",
        "sub/.git/x",
        "vendor/lib/.git",
    ] {
        let Err(denial) = check_read(&grant, path) else {
            panic!("{path} should be denied");
        };
        assert_eq!(denial.action, Action::Read);
        assert!(
            denial
                .to_string()
                .contains("inside git's own directory, which the explorer may not read"),
            "{denial}"
        );
    }
    for path in ["../x", "/etc/passwd", "a/../b", "a\0"] {
        let Err(denial) = check_read(&grant, path) else {
            panic!("{path:?} should be denied");
        };
        assert!(denial.to_string().starts_with("read of `"), "{denial}");
    }
}

#[test]
fn lane_and_seam_globs_are_listed_as_configured() {
    let own = ownership();
    assert_eq!(own.lane_globs("web"), ["web/", "*.css"]);
    assert!(own.lane_globs("nope").is_empty());
    assert_eq!(own.seam_globs(), ["Cargo.lock", "*.lock", "schema/"]);
}

#[test]
fn negated_seam_entries_are_never_required() {
    let seams = [
        "config/**".to_owned(),
        "!config/local/**".to_owned(),
        "config/local/shared.toml".to_owned(),
    ];
    let Ok(own) = Ownership::new(&[], &seams) else {
        panic!("should compile");
    };
    assert_eq!(
        own.seam_entries_for("config/local/shared.toml"),
        ["config/**", "config/local/shared.toml"]
    );
    assert!(own.seam_entries_for("config/local/mine.toml").is_empty());
    assert_eq!(own.seam_entries_for("config/a.toml"), ["config/**"]);
}

#[test]
fn only_lane_writers_run_commands() {
    for role in AgentRole::ALL {
        let result = check_command(&Grant::new(role), "cargo test");
        assert_eq!(result.is_ok(), role.writes_lane(), "{role}");
        if let Err(denial) = result {
            assert_eq!(denial.action, Action::Run);
            assert!(
                denial
                    .to_string()
                    .starts_with("running `cargo test` denied"),
                "{denial}"
            );
        }
    }
}
