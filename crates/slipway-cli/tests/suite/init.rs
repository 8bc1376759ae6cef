use std::fs;

use slipway_test_support::TempRepo;

use super::cli::{slipway, slipway_in};

#[test]
fn outside_a_git_repository_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let run = slipway_in(dir.path(), &["init"], &[]).fails(2);
    assert!(
        run.stderr.contains("not inside a git repository"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("git init"), "{run:#?}");
    assert!(
        fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing may be written"
    );
}

#[test]
fn a_repository_without_commits_says_what_to_do() {
    let repo = TempRepo::new();
    let run = slipway(&repo, &["init"]).fails(2);
    assert!(run.stderr.contains("no commit yet"), "{run:#?}");
    assert!(run.stderr.contains("git commit"), "{run:#?}");
    assert!(!repo.join("slipway.toml").exists());
    assert!(!repo.join(".slipway").exists());
}

#[test]
fn init_sets_up_everything_once() {
    let repo = TempRepo::with_files(&[
        ("Cargo.toml", "[package]\nname = \"x\"\n"),
        ("src/lib.rs", ""),
    ]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    let run = slipway(&repo, &["init"]).ok();
    assert!(run.stdout.contains("created slipway.toml"), "{run:#?}");

    let config = fs::read_to_string(repo.join("slipway.toml")).unwrap();
    assert!(config.contains("tests = \"cargo test\""), "{config}");
    assert!(config.contains("[lanes.main]\nowns = [\"**\"]"), "{config}");
    assert!(config.contains("[seams]\npaths = []"), "{config}");
    assert!(
        config.lines().filter(|l| l.starts_with('#')).count() > 5,
        "the file is commented"
    );
    assert!(repo.join(".slipway/slipway.db").is_file());
    assert_eq!(
        fs::read_to_string(repo.join(".slipway/.gitignore")).unwrap(),
        "*\n"
    );
    assert!(
        !repo.join(".gitignore").exists(),
        "the user's .gitignore is not touched"
    );
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all", ".slipway"]),
        ""
    );
    assert_eq!(repo.git(&["rev-parse", "staging"]), head);
    assert_eq!(repo.git(&["rev-parse", "production"]), head);
    let agents = fs::read_to_string(repo.join("AGENTS.md")).unwrap();
    assert!(agents.contains("## State"), "{agents}");
    assert_eq!(
        repo.git(&["check-ignore", ".slipway/slipway.db"]),
        ".slipway/slipway.db"
    );

    let snapshot = |p: &str| fs::read(repo.join(p)).unwrap();
    let before = ["slipway.toml", "AGENTS.md", ".slipway/.gitignore"].map(snapshot);
    let again = slipway(&repo, &["init"]).ok();
    assert!(
        again.stdout.contains("already set up") && again.stdout.contains("nothing changed"),
        "{again:#?}"
    );
    assert_eq!(
        ["slipway.toml", "AGENTS.md", ".slipway/.gitignore"].map(snapshot),
        before
    );
}

#[test]
fn init_keeps_existing_files_and_branches() {
    let repo = TempRepo::with_files(&[("AGENTS.md", "# mine\n"), (".gitignore", "target")]);
    let first = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["branch", "staging"]);
    repo.write("a.txt", "a").commit("second");
    slipway(&repo, &["init"]).ok();
    assert_eq!(
        fs::read_to_string(repo.join("AGENTS.md")).unwrap(),
        "# mine\n"
    );
    assert_eq!(
        fs::read_to_string(repo.join(".gitignore")).unwrap(),
        "target"
    );
    assert_eq!(
        repo.git(&["rev-parse", "staging"]),
        first,
        "an existing staging branch is not moved"
    );
    assert_eq!(
        repo.git(&["rev-parse", "production"]),
        repo.git(&["rev-parse", "HEAD"])
    );
}

#[test]
fn init_guesses_the_test_command() {
    let cases = [
        ("go.mod", Some("go test ./...")),
        ("package.json", Some("npm test")),
        ("pyproject.toml", Some("pytest")),
        ("README.md", None),
    ];
    for (file, expected) in cases {
        let repo = TempRepo::with_files(&[(file, "x")]);
        let run = slipway(&repo, &["init"]).ok();
        let config = fs::read_to_string(repo.join("slipway.toml")).unwrap();
        if let Some(cmd) = expected {
            assert!(
                config.contains(&format!("tests = \"{cmd}\"")),
                "{file}: {config}"
            );
        } else {
            assert!(config.contains("tests = \"\""), "{config}");
            assert!(run.stdout.contains("could not guess"), "{run:#?}");
        }
    }
}

#[test]
fn init_from_a_subdirectory_sets_up_the_root() {
    let repo = TempRepo::with_files(&[("sub/dir/x.txt", "x")]);
    slipway_in(&repo.join("sub/dir"), &["init"], &[]).ok();
    assert!(repo.join("slipway.toml").is_file());
    assert!(!repo.join("sub/dir/slipway.toml").exists());
}

#[test]
fn an_invalid_existing_configuration_stops_init_before_it_writes() {
    let repo = TempRepo::with_files(&[("slipway.toml", "[lanes.main]\nowns = [\"**\"\n")]);
    let run = slipway(&repo, &["init"]).fails(2);
    assert!(run.stderr.contains("slipway.toml:"), "{run:#?}");
    assert!(!repo.join(".slipway").exists());
    assert!(!repo.join("AGENTS.md").exists());
    assert!(repo.git(&["branch", "--list", "staging"]).is_empty());
}

#[test]
fn a_symlinked_state_directory_is_refused() {
    let repo = TempRepo::with_files(&[("a.txt", "")]);
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), repo.join(".slipway")).unwrap();
    let run = slipway(&repo, &["init"]).fails(2);
    assert!(run.stderr.contains("not a directory"), "{run:#?}");
    assert!(fs::read_dir(elsewhere.path()).unwrap().next().is_none());
}

#[test]
fn an_unreachable_store_stops_init_before_the_repository_changes() {
    let repo = TempRepo::with_files(&[("a.txt", "")]);
    let run = slipway_in(
        repo.path(),
        &["init"],
        &[("SLIPWAY_DATABASE_URL", "postgres://u:pw@127.0.0.1:1/x")],
    )
    .fails(2);
    assert!(run.stderr.contains("127.0.0.1:1"), "{run:#?}");
    assert!(!repo.join("slipway.toml").exists());
    assert!(!repo.join("AGENTS.md").exists());
    assert!(repo.git(&["branch", "--list", "staging"]).is_empty());
}
