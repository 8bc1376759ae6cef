//! What agent-run tests share: a project, an environment that points both
//! providers at the fake model server, scripted turns, and what they cost.

use std::fs;

use slipway_test_support::{FakeModel, FakeToolCall, FakeUsage, Protocol, TempRepo, Turn};

use super::cli::{Run, initialized, slipway_in};
use super::store::Backend;

/// The tracked file the agents read.
pub(crate) const LIB: &str = "src/lib.rs";
pub(crate) const LIB_TEXT: &str = "pub fn answer() -> u32 {\n    42\n}\n";

/// What the fake model says after reading [`LIB`].
pub(crate) const ANSWER: &str = "The answer is 42.";

pub(crate) const SONNET: &str = "anthropic:claude-sonnet-4-5";
pub(crate) const GPT_4O: &str = "openai:gpt-4o";

/// The usage of the first and the second model call of [`read_then_answer`].
pub(crate) const FIRST: FakeUsage = FakeUsage {
    input: 1200,
    output: 80,
    cache_read: 3000,
    cache_write: 400,
    reasoning: 0,
};
pub(crate) const SECOND: FakeUsage = FakeUsage {
    input: 300,
    output: 150,
    cache_read: 4200,
    cache_write: 0,
    reasoning: 0,
};

/// A project whose one lane, `main`, owns every tracked file, with its store on `backend`.
pub(crate) fn project(backend: &Backend) -> TempRepo {
    let repo = initialized(&[(LIB, LIB_TEXT), ("README.md", "# Demo\n")]);
    if backend.is_postgres() {
        slipway_in(repo.path(), &["init"], &backend.env()).ok();
    }
    repo
}

/// Appends `toml` to the project's `slipway.toml`.
pub(crate) fn configure(repo: &TempRepo, toml: &str) {
    let path = repo.join("slipway.toml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(path, format!("{text}\n{toml}")).unwrap();
}

/// A tool call of `read_file` on [`LIB`].
pub(crate) fn read_lib(id: &str) -> Turn {
    Turn::tool_calls(vec![FakeToolCall::new(
        id,
        "read_file",
        &format!(r#"{{"path":"{LIB}"}}"#),
    )])
}

/// A model that reads [`LIB`], then answers [`ANSWER`].
pub(crate) fn read_then_answer() -> Vec<Turn> {
    vec![
        read_lib("call_1").usage(FIRST),
        Turn::text(ANSWER).usage(SECOND),
    ]
}

/// The environment of a run: the store, and both providers pointed at the
/// fake model with dummy keys.
pub(crate) struct Env {
    vars: Vec<(String, String)>,
}

impl Env {
    pub(crate) fn new(fake: &FakeModel, backend: &Backend) -> Self {
        let mut vars: Vec<(String, String)> = [
            ("ANTHROPIC_BASE_URL", fake.base_url(Protocol::Messages)),
            ("OPENAI_BASE_URL", fake.base_url(Protocol::Chat)),
            ("ANTHROPIC_API_KEY", "test-anthropic-key".to_owned()),
            ("OPENAI_API_KEY", "test-openai-key".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        vars.extend(
            backend
                .env()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        Self { vars }
    }

    /// Returns the environment with `name` set to `value` (empty counts as unset).
    pub(crate) fn with(mut self, name: &str, value: &str) -> Self {
        self.vars.retain(|(k, _)| k != name);
        self.vars.push((name.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn pairs(&self) -> Vec<(&str, &str)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// Runs `slipway ARGS` at the root of `repo` in this environment.
    pub(crate) fn run(&self, repo: &TempRepo, args: &[&str]) -> Run {
        slipway_in(repo.path(), args, &self.pairs())
    }

    /// Runs `slipway ARGS --json` and returns the JSON it printed.
    pub(crate) fn json(&self, repo: &TempRepo, args: &[&str]) -> serde_json::Value {
        let args: Vec<&str> = args.iter().copied().chain(["--json"]).collect();
        self.run(repo, &args).ok().json()
    }
}

/// Returns the id on the `trace ID · …` line a run prints on stderr.
#[track_caller]
pub(crate) fn trace_id(run: &Run) -> String {
    let id = run
        .stderr
        .lines()
        .find_map(|line| line.strip_prefix("trace ")?.split_whitespace().next())
        .unwrap_or_else(|| panic!("no trace line:\n{run:#?}"))
        .to_owned();
    assert!(
        run.stderr
            .contains(&format!("see it with `slipway trace show {id}`")),
        "{run:#?}"
    );
    id
}

/// Returns what `usage` costs on `model` in micro-dollars, from the shipped
/// prices (written out here, so a wrong price table fails the tests),
/// rounded half up as Slipway rounds each call.
pub(crate) fn cost_micros(model: &str, usage: FakeUsage) -> i64 {
    // Hundredths of a micro-dollar per token: input, output, cache read, cache write.
    let [input, output, cache_read, cache_write]: [u64; 4] = match model {
        SONNET => [300, 1500, 30, 375],
        GPT_4O => [250, 1000, 125, 250],
        other => panic!("no price written down for {other}"),
    };
    let hundredths = usage.input * input
        + usage.output * output
        + usage.cache_read * cache_read
        + usage.cache_write * cache_write;
    i64::try_from((hundredths + 50) / 100).unwrap()
}

/// Asserts that a JSON `cost_usd` is `micros` micro-dollars.
#[track_caller]
pub(crate) fn assert_usd(value: &serde_json::Value, micros: i64) {
    let usd = value
        .as_f64()
        .unwrap_or_else(|| panic!("not a cost: {value}"));
    #[allow(clippy::cast_precision_loss, reason = "test amounts are small")]
    let expected = micros as f64 / 1_000_000.0;
    assert!(
        (usd - expected).abs() < 1e-9,
        "cost {usd}, expected {expected}"
    );
}
