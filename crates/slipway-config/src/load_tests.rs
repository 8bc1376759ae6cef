use std::path::Path;

use proptest::prelude::*;

use super::*;

const LANE: &str = "[lanes.main]\nowns = [\"**\"]\n";

fn errors(text: &str) -> Vec<ConfigError> {
    match parse(text, Path::new("p/slipway.toml")) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.problems().to_vec(),
    }
}

fn one_error(text: &str) -> ConfigError {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn empty_file_resolves_to_defaults() {
    let config = parse("", Path::new("slipway.toml")).unwrap();
    assert!(config.lanes.is_empty());
    assert_eq!(config.gates.review_passes, 3);
    assert_eq!(config.budget.max_steps, 200);
    assert_eq!(config.project.spec, "SPEC.md");
    for role in ROLES {
        assert_eq!(config.models[role].to_string(), DEFAULT_MODEL);
    }
    assert_eq!(config.providers["openai"].api, "chat");
    assert_eq!(
        config.providers["anthropic"].api_key_env.as_deref(),
        Some("ANTHROPIC_API_KEY")
    );
}

#[test]
fn roles_fall_back_to_default_model() {
    let text = "[models]\ndefault = \"openai:gpt-5\"\nreviewer = \"anthropic:claude-opus-4-1\"\n";
    let config = parse(text, Path::new("slipway.toml")).unwrap();
    assert_eq!(config.models["coder"].to_string(), "openai:gpt-5");
    assert_eq!(config.models["reviewer"].provider, "anthropic");
    assert_eq!(config.models["reviewer"].model, "claude-opus-4-1");
}

#[test]
fn unknown_key_suggests_the_nearest_known_one() {
    let e = one_error(&format!(
        "{LANE}\n[gates]\ntests = \"x\"\nreveiw_passes = 2\n"
    ));
    assert_eq!(e.key, "gates.reveiw_passes");
    assert_eq!((e.at.line, e.at.column), (6, 1));
    assert_eq!(e.help.as_deref(), Some("did you mean `review_passes`?"));
    assert!(
        e.to_string()
            .starts_with("p/slipway.toml:6:1: `gates.reveiw_passes`: unknown key"),
        "{e}"
    );

    let e = one_error("[lanse.main]\nowns = [\"**\"]\n");
    assert_eq!(e.key, "lanse");
    assert_eq!(e.help.as_deref(), Some("did you mean `lanes`?"));

    let e = one_error("[lanes.main]\nown = [\"**\"]\n");
    assert_eq!(e.key, "lanes.main.own");
    assert_eq!(e.help.as_deref(), Some("did you mean `owns`?"));
}

#[test]
fn unknown_key_far_from_any_lists_the_known_ones() {
    let e = one_error("[budget]\nzzzzzzzzzz = 1\n");
    assert!(e.help.as_deref().unwrap().contains("max_steps"), "{e}");
}

#[test]
fn key_shaped_keys_point_to_the_environment() {
    let e = one_error("[providers.anthropic]\napi_key = \"abc\"\n");
    assert!(e.help.as_deref().unwrap().contains("environment"), "{e}");
}

#[test]
fn api_keys_in_the_file_are_refused_with_their_place() {
    let text = format!(
        "{LANE}\n[providers.openai]\nbase_url = \"sk-proj-abcdefghijklmnopqrstuvwxyz12\"\n"
    );
    let e = one_error(&text);
    assert_eq!((e.at.line, e.at.column), (5, 13));
    assert_eq!(e.key, "providers.openai");
    assert!(e.message.contains("OpenAI API key"), "{e}");
    assert!(e.help.as_deref().unwrap().contains("environment"), "{e}");
    // A key in a comment is committed all the same.
    let e = one_error("# ANTHROPIC_API_KEY=sk-ant-api03-abcdefghijklmnopqrstuvwxyz\n");
    assert_eq!(e.at.line, 1);
}

#[test]
fn syntax_errors_are_located() {
    let e = one_error("[gates]\ntests = \"cargo test\n");
    assert_eq!(e.at.line, 2);
    assert_eq!(e.key, "gates");
    assert!(e.help.is_some());
}

#[test]
fn type_errors_are_located() {
    let e = one_error("[gates]\nreview_passes = \"three\"\n");
    assert_eq!(e.at.line, 2);
}

#[test]
fn lane_without_globs_is_an_error() {
    let e = one_error("[lanes.api]\nowns = []\n");
    assert_eq!(e.key, "lanes.api.owns");
    assert_eq!(e.at.line, 1);
    assert!(e.message.contains("owns no files"), "{e}");
}

#[test]
fn bad_lane_names_are_errors() {
    let e = one_error("[lanes.\"a b\"]\nowns = [\"x\"]\n");
    assert!(e.message.contains("not a valid lane name"), "{e}");
}

#[test]
fn model_without_provider_is_an_error() {
    let e = one_error("[models]\ncoder = \"claude-sonnet-4-5\"\n");
    assert_eq!(e.key, "models.coder");
    assert_eq!((e.at.line, e.at.column), (2, 9));
    assert!(
        e.help
            .as_deref()
            .unwrap()
            .contains("anthropic:claude-sonnet-4-5"),
        "{e}"
    );
    for bad in [":x", "anthropic:", ""] {
        let e = one_error(&format!("[models]\ncoder = \"{bad}\"\n"));
        assert!(
            e.message.contains("does not name its provider"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn model_with_unknown_provider_is_an_error_unless_configured() {
    let e = one_error("[models]\ncoder = \"ollama:qwen3\"\n");
    assert!(e.message.contains("unknown provider `ollama`"), "{e}");
    let text = "[models]\ncoder = \"ollama:qwen3\"\n[providers.ollama]\nbase_url = \"http://127.0.0.1:11434/v1\"\n";
    let config = parse(text, Path::new("slipway.toml")).unwrap();
    assert_eq!(config.providers["ollama"].api, "chat");
    assert_eq!(config.providers["ollama"].api_key_env, None);
}

#[test]
fn unknown_role_suggests_the_nearest() {
    let e = one_error("[models]\nreviwer = \"openai:gpt-5\"\n");
    assert_eq!(e.help.as_deref(), Some("did you mean `reviewer`?"));
}

#[test]
fn provider_settings_are_checked() {
    let errs = errors("[providers.openai]\napi = \"graphql\"\napi_key_env = \"my key\"\n");
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!(errs[0].key, "providers.openai.api");
    assert_eq!(errs[1].key, "providers.openai.api_key_env");
}

#[test]
fn only_api_key_variables_may_carry_keys() {
    let text = "[providers.x]\nbase_url = \"http://127.0.0.1:1/v1\"\napi_key_env = \"X_API_KEY\"\n";
    let config = parse(text, Path::new("slipway.toml")).unwrap();
    assert_eq!(
        config.providers["x"].api_key_env.as_deref(),
        Some("X_API_KEY")
    );
    for var in [
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "_API_KEY",
        "x_api_key",
    ] {
        let e = one_error(&format!("[providers.x]\napi_key_env = \"{var}\"\n"));
        assert_eq!(e.key, "providers.x.api_key_env", "{var}");
    }
}

#[test]
fn repository_paths_stay_inside_the_repository() {
    let text = "[project]\nspec = \"docs/SPEC.md\"\n[workspace]\ncopy = [\".env.test\", \"./fixtures/a\"]\n";
    let config = parse(text, Path::new("slipway.toml")).unwrap();
    assert_eq!(config.project.spec, "docs/SPEC.md");
    assert_eq!(config.workspace.copy, [".env.test", "./fixtures/a"]);
    for bad in [
        "/home/u/.aws/credentials",
        "../secrets",
        "a/../../b",
        "~/.ssh/id_rsa",
        ".slipway/token",
        "",
    ] {
        let e = one_error(&format!("[workspace]\ncopy = [\"{bad}\"]\n"));
        assert_eq!(e.key, "workspace.copy", "{bad}");
        assert_eq!(e.at.line, 2);
    }
    let e = one_error("[project]\nspec = \"../x.md\"\n");
    assert_eq!(e.key, "project.spec");
}

#[test]
fn negative_and_zero_limits_are_errors() {
    let e = one_error("[gates]\ndebug_tries = -1\n");
    assert_eq!(e.key, "gates.debug_tries");
    assert!(e.message.contains("negative"), "{e}");
    let e = one_error("[gates]\nreview_passes = 0\n");
    assert!(e.message.contains("too small"), "{e}");
    let e = one_error("[budget]\nrun_usd = -5.0\n");
    assert_eq!(e.key, "budget.run_usd");
    let e = one_error("[gates]\nreview_passes = 99999999999\n");
    assert!(e.message.contains("too large"), "{e}");
}

#[test]
fn context_and_trace_settings_default_and_resolve() {
    let config = parse("", Path::new("slipway.toml")).unwrap();
    assert_eq!(config.context.window_tokens, 200_000);
    assert_eq!(config.context.compact_at_percent, 80);
    assert!(config.trace.capture);
    let text =
        "[context]\nwindow_tokens = 1000000\ncompact_at_percent = 99\n[trace]\ncapture = false\n";
    let config = parse(text, Path::new("slipway.toml")).unwrap();
    assert_eq!(config.context.window_tokens, 1_000_000);
    assert_eq!(config.context.compact_at_percent, 99);
    assert!(!config.trace.capture);
    assert_eq!(
        config.location("context.compact_at_percent"),
        Some(Location {
            line: 3,
            column: 22
        })
    );
}

#[test]
fn compaction_share_outside_one_to_ninety_nine_is_located() {
    for bad in ["0", "100", "-5", "300"] {
        let e = one_error(&format!("[context]\ncompact_at_percent = {bad}\n"));
        assert_eq!(e.key, "context.compact_at_percent", "{bad}");
        assert_eq!((e.at.line, e.at.column), (2, 22), "{bad}");
        assert_eq!(
            e.message,
            format!("{bad} is out of range: it must be from 1 to 99")
        );
        assert!(e.help.as_deref().unwrap().contains("like 80"), "{e}");
    }
    let e = one_error("[context]\ncompact_at_percent = 0.5\n");
    assert_eq!(e.at.line, 2, "a fraction is a type error: {e}");
}

#[test]
fn context_window_outside_its_range_is_located() {
    for bad in ["0", "-1", "999", "100000001", "9223372036854775807"] {
        let e = one_error(&format!("[context]\nwindow_tokens = {bad}\n"));
        assert_eq!(e.key, "context.window_tokens", "{bad}");
        assert_eq!((e.at.line, e.at.column), (2, 17), "{bad}");
        assert!(e.message.contains("from 1000 to 100000000"), "{e}");
        assert!(e.help.as_deref().unwrap().contains("200000"), "{e}");
    }
}

#[test]
fn context_and_trace_tables_refuse_unknown_keys() {
    let e = one_error("[trace]\ncaptue = false\n");
    assert_eq!(e.key, "trace.captue");
    assert_eq!(e.help.as_deref(), Some("did you mean `capture`?"));
    let e = one_error("[context]\nwindow = 100000\n");
    assert_eq!(e.key, "context.window");
    assert!(e.help.as_deref().unwrap().contains("window_tokens"), "{e}");
    let e = one_error("[trace]\ncapture = \"no\"\n");
    assert_eq!((e.at.line, e.at.column), (2, 11), "{e}");
}

#[test]
fn several_problems_are_all_reported_in_file_order() {
    let errs = errors("[models]\ncoder = \"x\"\n[lanes.a]\nowns = []\n[gates]\ndebug_tries = -2\n");
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["models.coder", "lanes.a.owns", "gates.debug_tries"]);
}

#[test]
fn bad_globs_are_located_by_the_checker() {
    let text = "[lanes.a]\nowns = [\"ok/**\", \"bad[\"]\n[seams]\npaths = [\"x[\"]\n";
    let config = parse(text, Path::new("slipway.toml")).unwrap();
    let errs = config.check_globs(|g| {
        if g.contains('[') {
            Err("unclosed class".into())
        } else {
            Ok(())
        }
    });
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[0].key, "lanes.a.owns");
    assert_eq!((errs[0].at.line, errs[0].at.column), (2, 18));
    assert_eq!(errs[0].message, "glob `bad[` unclosed class");
    assert!(errs[0].message.contains("`bad[`"), "{}", errs[0]);
    assert_eq!(errs[1].key, "seams.paths");
    assert_eq!(errs[1].at.line, 4);
}

#[test]
fn resolved_config_renders_as_toml_that_parses_back() {
    let text = format!("{LANE}[gates]\ntests = \"pytest\"\n[budget]\nrun_usd = 2.5\n");
    let config = parse(&text, Path::new("slipway.toml")).unwrap();
    let shown = config.to_toml();
    for default in [
        "review_passes = 3",
        "[context]\nwindow_tokens = 200000\ncompact_at_percent = 80\n",
        "[trace]\ncapture = true\n",
    ] {
        assert!(shown.contains(default), "missing {default:?}:\n{shown}");
    }
    let again = parse(&shown, Path::new("slipway.toml")).unwrap();
    assert_eq!(again.gates.tests, "pytest");
    assert_eq!(again.budget.run_usd, Some(2.5));
    assert_eq!(again.lanes, config.lanes);
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text, Path::new("slipway.toml"));
    }

    #[test]
    fn limits_accept_exactly_the_valid_range(n in -1000i64..1000) {
        let result = parse(&format!("[gates]\ndebug_tries = {n}\n"), Path::new("slipway.toml"));
        match result {
            Ok(config) => prop_assert_eq!(i64::from(config.gates.debug_tries), n),
            Err(e) => {
                prop_assert!(n < 0);
                prop_assert_eq!(e.problems()[0].key.as_str(), "gates.debug_tries");
            }
        }
    }
}

#[test]
fn the_sandbox_section_resolves_with_defaults() {
    let config = parse("", Path::new("slipway.toml")).unwrap();
    assert_eq!(config.sandbox, SandboxSettings::default());
    let text = "[sandbox]\nuser = \"builder\"\nread_only = [\"/opt/sdk\"]\nenv = [\"RUST_LOG\"]\n\
                timeout_secs = 30\nmemory_mb = 2048\nprocesses = 64\noutput_kb = 256\n";
    let sandbox = parse(text, Path::new("slipway.toml")).unwrap().sandbox;
    assert_eq!(sandbox.user, "builder");
    assert_eq!(sandbox.read_only, ["/opt/sdk"]);
    assert_eq!(sandbox.env, ["RUST_LOG"]);
    assert_eq!(
        (
            sandbox.timeout_secs,
            sandbox.memory_mb,
            sandbox.processes,
            sandbox.output_kb
        ),
        (30, 2048, 64, 256)
    );
}

#[test]
fn secret_names_and_zero_limits_in_the_sandbox_are_refused() {
    let err = one_error("[sandbox]\nenv = [\"RUST_LOG\", \"GITHUB_TOKEN\"]\n");
    assert!(err.to_string().contains("GITHUB_TOKEN"), "{err}");
    assert!(err.to_string().contains("secret"), "{err}");
    let err = one_error("[sandbox]\ntimeout_secs = 0\n");
    assert!(err.to_string().contains("sandbox.timeout_secs"), "{err}");
}

#[test]
fn the_guard_policy_is_read_and_checked() {
    assert_eq!(
        parse("", Path::new("slipway.toml"))
            .unwrap()
            .guard
            .on_detect,
        OnDetect::Mark
    );
    let config = parse("[guard]\non_detect = \"stop\"\n", Path::new("slipway.toml")).unwrap();
    assert_eq!(config.guard.on_detect, OnDetect::Stop);
    let err = one_error("[guard]\non_detect = \"shout\"\n");
    assert!(err.to_string().contains("guard.on_detect"), "{err}");
    assert!(err.to_string().contains("mark, quarantine, stop"), "{err}");
}
