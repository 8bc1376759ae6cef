use std::fs;

use super::cli::{initialized, slipway};

#[test]
fn show_prints_the_resolved_configuration() {
    let repo = initialized(&[("Cargo.toml", "")]);
    let run = slipway(&repo, &["config", "show"]).ok();
    for expected in [
        "review_passes = 3",
        "max_steps = 200",
        "[context]\nwindow_tokens = 200000\ncompact_at_percent = 80\n",
        "[trace]\ncapture = true\n",
        "[lanes.main]",
        "tests = \"cargo test\"",
        ".slipway/slipway.db",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing {expected}:\n{}",
            run.stdout
        );
    }
    let json = slipway(&repo, &["config", "show", "--json"]).ok().json();
    assert_eq!(json["config"]["gates"]["debug_tries"], 3);
    assert_eq!(
        json["config"]["models"]["coder"],
        "anthropic:claude-sonnet-4-5"
    );
    assert_eq!(json["environment"]["ANTHROPIC_API_KEY"], false);
    assert_eq!(json["config"]["context"]["compact_at_percent"], 80);
    assert_eq!(json["config"]["trace"]["capture"], true);
}

#[test]
fn context_and_trace_settings_are_checked_with_their_place() {
    let repo = initialized(&[("a.txt", "")]);
    fs::write(
        repo.join("slipway.toml"),
        "[lanes.main]\nowns = [\"**\"]\n[context]\ncompact_at_percent = 0\n[trace]\ncapture = false\n",
    )
    .unwrap();
    let run = slipway(&repo, &["config", "show"]).fails(2);
    assert!(
        run.stderr.contains(
            "slipway.toml:4:22: `context.compact_at_percent`: 0 is out of range: it must be from 1 to 99"
        ),
        "{run:#?}"
    );
    assert!(run.stderr.contains("like 80"), "{run:#?}");
    let text = fs::read_to_string(repo.join("slipway.toml")).unwrap();
    fs::write(repo.join("slipway.toml"), text.replace("= 0", "= 60")).unwrap();
    let json = slipway(&repo, &["config", "show", "--json"]).ok().json();
    assert_eq!(json["config"]["context"]["compact_at_percent"], 60);
    assert_eq!(json["config"]["trace"]["capture"], false);
}

#[test]
fn invalid_configuration_is_located_and_explained() {
    let repo = initialized(&[("a.txt", "")]);
    fs::write(
        repo.join("slipway.toml"),
        "[lanes.main]\nowns = [\"**\"]\n[gates]\nreview_pases = 2\n",
    )
    .unwrap();
    let run = slipway(&repo, &["config", "show"]).fails(2);
    assert!(
        run.stderr
            .contains("slipway.toml:4:1: `gates.review_pases`: unknown key"),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains("did you mean `review_passes`?"),
        "{run:#?}"
    );
}

#[test]
fn bad_globs_are_refused_with_their_place() {
    let repo = initialized(&[("a.txt", "")]);
    fs::write(
        repo.join("slipway.toml"),
        "[lanes.main]\nowns = [\"src/[\"]\n",
    )
    .unwrap();
    let run = slipway(&repo, &["lanes", "check"]).fails(2);
    assert!(
        run.stderr
            .contains("slipway.toml:2:9: `lanes.main.owns`: glob `src/[` is not valid: unclosed"),
        "{run:#?}"
    );
}

#[test]
fn api_keys_in_the_configuration_are_refused() {
    let repo = initialized(&[("a.txt", "")]);
    let text = fs::read_to_string(repo.join("slipway.toml")).unwrap();
    fs::write(repo.join("slipway.toml"), format!("{text}\n[providers.anthropic]\nbase_url = \"sk-ant-api03-aaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n")).unwrap();
    let run = slipway(&repo, &["task", "list"]).fails(2);
    assert!(
        run.stderr.contains("looks like an Anthropic API key"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("ANTHROPIC_API_KEY"), "{run:#?}");
    assert!(
        !run.stderr.contains("aaaaaaaaaaaaaaaa"),
        "the key itself is not echoed: {run:#?}"
    );
}

#[test]
fn commands_outside_a_project_say_to_run_init() {
    let repo = slipway_test_support::TempRepo::with_files(&[("a.txt", "")]);
    let run = slipway(&repo, &["task", "list"]).fails(2);
    assert!(run.stderr.contains("slipway init"), "{run:#?}");
}
