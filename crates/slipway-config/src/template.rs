//! The commented `slipway.toml` that `slipway init` writes.

/// Returns a commented configuration with one lane, `main`, owning every
/// tracked file, and `tests` as the test command (a placeholder when `None`).
#[must_use]
pub fn template(project: &str, tests: Option<&str>) -> String {
    let tests_line = match tests {
        Some(cmd) => format!("tests = {}", toml_string(cmd)),
        None => {
            "# Slipway could not guess how this project runs its tests: set the command here.\n\
                 tests = \"\""
                .to_owned()
        }
    };
    format!(
        r#"# Slipway configuration. Reference: docs/configuration.md in the Slipway repository.
# Keys never live here: providers read them from the environment
# (ANTHROPIC_API_KEY, OPENAI_API_KEY, or the variable named by `api_key_env`).

[project]
name = {name}
# The shared spec that tasks derive from.
spec = "SPEC.md"

[models]
# `provider:model` per role; roles without an entry use `default`.
default = "anthropic:claude-sonnet-4-5"
# planner = "anthropic:claude-opus-4-1"
# explorer = "openai:gpt-5-mini"

# A lane is a slice of the code that one agent at a time may write, as
# gitignore-style globs. Every tracked file belongs to exactly one lane or to a
# seam; `slipway lanes check` says where that is not so. The control files
# (slipway.toml, AGENTS.md, .slipway/) belong to no lane.
[lanes.main]
owns = ["**"]

# Shared files (schemas, lock files) any lane may need; one task at a time
# writes them, holding a lease.
[seams]
paths = []

[gates]
{tests_line}
# test_timeout_secs = 1800
# review_passes = 3
# debug_tries = 3
# tests_first = false

# [workspace]
# setup = "npm ci"          # runs once in each new task workspace
# copy = [".env.test"]      # untracked files each workspace gets a copy of

# [promotion]
# remote = "origin"         # push staging and production moves there

# [budget]
# run_usd = 5.0             # one run's spend, in dollars
# task_usd = 20.0           # all runs of one task together (`agent run --task ID`)
# run_tokens = 2000000      # one run's tokens, all kinds together
# max_steps = 200           # model calls per run

# [context]
# window_tokens = 200000    # the models' context window, in tokens
# compact_at_percent = 80   # summarize older turns once a call's context passes this share

# [trace]
# capture = true            # false keeps spans, tokens and cost but no prompts or responses

# Prices in dollars per million tokens; Slipway ships a table of current models.
# [prices."anthropic:claude-sonnet-4-5"]
# input = 3.0
# output = 15.0
# cache_read = 0.3
# cache_write = 3.75
"#,
        name = toml_string(project),
    )
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn template_parses_with_and_without_a_test_command() {
        for tests in [Some("cargo test"), Some("echo \"quoted\""), None] {
            let text = template("demo \"x\"", tests);
            let config = crate::parse(&text, Path::new("slipway.toml")).unwrap();
            assert_eq!(config.gates.tests, tests.unwrap_or(""));
            assert_eq!(config.project.name, "demo \"x\"");
            assert_eq!(config.lanes["main"].owns, ["**"]);
            assert!(config.seams.paths.is_empty());
        }
    }

    /// Removes the `# ` before every commented table header and `key = value` line.
    fn uncommented(text: &str) -> String {
        text.lines()
            .map(|line| {
                let rest = line.strip_prefix("# ").unwrap_or(line);
                let setting = rest.starts_with('[')
                    || rest.split_once(" = ").is_some_and(|(key, _)| {
                        key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    });
                if setting { rest } else { line }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn every_commented_setting_is_a_valid_key() {
        let text = uncommented(&template("demo", Some("cargo test")));
        assert!(
            text.contains("\n[context]\nwindow_tokens = 200000"),
            "{text}"
        );
        let config = crate::parse(&text, Path::new("slipway.toml")).unwrap();
        assert_eq!(config.models["planner"].model, "claude-opus-4-1");
        assert_eq!(config.budget.task_usd, Some(20.0));
        assert_eq!(config.budget.run_tokens, Some(2_000_000));
        // The values shown for the settings with defaults are the defaults.
        let defaults = crate::parse("", Path::new("slipway.toml")).unwrap();
        assert_eq!(config.budget.max_steps, defaults.budget.max_steps);
        assert_eq!(config.context, defaults.context);
        assert_eq!(config.trace, defaults.trace);
        assert_eq!(config.gates.review_passes, defaults.gates.review_passes);
    }
}
