//! The world a run happens in: a git repository with two lanes, the tools of
//! a role on it, a real provider talking to the fake model server, the
//! builtin price table, and the agent put together from those.

use std::sync::Arc;
use std::time::Duration;

use slipway_config::PriceTable;
use slipway_llm::{Api, Provider, ProviderSettings, RetryPolicy, provider};
use slipway_policy::{AgentRole, Grant, LaneSpec, Ownership};
use slipway_runtime::{Agent, ModelChoice, RunOptions, system_prompt};
use slipway_store::Store;
use slipway_test_support::{FakeModel, FakeUsage, Protocol, TempRepo};
use slipway_tools::{ToolBox, Workspace};
use slipway_types::TokenCounts;

pub(crate) const TASK: &str = "Find where the input is parsed and explain it.";
pub(crate) const LIB_RS: &str = "pub fn parse(input: &str) -> usize {\n    input.len()\n}\n";
/// A line of `LIB_RS` as `read_file` shows it, numbered.
pub(crate) const LIB_RS_LINE: &str = "1\tpub fn parse(input: &str) -> usize {";
pub(crate) const AGENTS_MD: &str = "# Agents\nRun `cargo test` before you finish.\n";
/// Retries a test can wait for: the attempts a retryable failure gets in all.
pub(crate) const ATTEMPTS: usize = 3;

/// A repository with lanes `api` (`src/api/**`) and `web` (`web/**`), the
/// seam `Cargo.lock` and the control files, in one commit.
pub(crate) fn repo() -> TempRepo {
    TempRepo::with_files(&[
        ("src/api/lib.rs", LIB_RS),
        ("src/api/util.rs", "pub fn helper() {}\n"),
        ("web/app.js", "console.log('app');\n"),
        ("Cargo.lock", "# lock\n"),
        ("AGENTS.md", AGENTS_MD),
        ("slipway.toml", "[project]\nname = \"demo\"\n"),
    ])
}

pub(crate) fn ownership() -> Arc<Ownership> {
    let lanes = [
        LaneSpec {
            name: "api".into(),
            owns: vec!["src/api/**".into()],
        },
        LaneSpec {
            name: "web".into(),
            owns: vec!["web/**".into()],
        },
    ];
    Arc::new(Ownership::new(&lanes, &["Cargo.lock".into()]).unwrap())
}

/// The tools of `grant` on `repo`, through a directory handle of their own.
pub(crate) fn tools(repo: &TempRepo, grant: Grant) -> ToolBox {
    ToolBox::new(Workspace::open(repo.path()).unwrap(), grant, ownership())
}

pub(crate) fn coder() -> Grant {
    Grant::new(AgentRole::Coder).with_lane("api")
}

pub(crate) fn explorer() -> Grant {
    Grant::new(AgentRole::Explorer)
}

pub(crate) fn protocol(api: Api) -> Protocol {
    match api {
        Api::Messages => Protocol::Messages,
        Api::Chat => Protocol::Chat,
        Api::Responses => Protocol::Responses,
        Api::Scripted => unreachable!("the scripted provider has no server"),
    }
}

/// A priced model of the protocol's maker.
pub(crate) fn model(api: Api) -> ModelChoice {
    match api {
        Api::Messages => ModelChoice {
            provider: "anthropic".into(),
            model: "claude-sonnet-4-5".into(),
        },
        _ => ModelChoice {
            provider: "openai".into(),
            model: "gpt-5".into(),
        },
    }
}

/// A real provider of `api` at the fake server, with quick retries.
pub(crate) fn provider_for(fake: &FakeModel, api: Api) -> Arc<dyn Provider> {
    Arc::from(provider(ProviderSettings {
        name: model(api).provider,
        api,
        base_url: fake.base_url(protocol(api)),
        api_key: Some("sk-test-not-a-real-key".into()),
        timeout: Duration::from_secs(20),
        retry: RetryPolicy {
            max_retries: u32::try_from(ATTEMPTS - 1).unwrap(),
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_secs(2),
        },
    }))
}

pub(crate) fn prices() -> Arc<PriceTable> {
    Arc::new(PriceTable::builtin().unwrap())
}

/// Options for `role` on the protocol's priced model, streaming or not.
pub(crate) fn options(role: AgentRole, api: Api, stream: bool) -> RunOptions {
    let mut options = RunOptions::new(role, model(api));
    options.stream = stream;
    options
}

/// An agent with the role's system prompt (carrying `AGENTS.md`).
pub(crate) fn agent(
    fake: &FakeModel,
    api: Api,
    tools: ToolBox,
    store: &Arc<dyn Store>,
    options: RunOptions,
) -> Agent {
    Agent::new(
        provider_for(fake, api),
        Arc::new(tools),
        Arc::clone(store),
        prices(),
        system_prompt(options.role, Some(AGENTS_MD)),
        options,
    )
}

/// Usage with every kind of token, distinct so that a swap shows.
pub(crate) fn usage(scale: u64) -> FakeUsage {
    FakeUsage {
        input: 120 * scale,
        output: 30 * scale,
        cache_read: 1000 * scale,
        cache_write: 200 * scale,
        reasoning: 10 * scale,
    }
}

/// The tokens Slipway should record for `usage` as the protocol reports it:
/// OpenAI has no cache writes, Anthropic reports no reasoning.
pub(crate) fn expected_tokens(api: Api, usage: FakeUsage) -> TokenCounts {
    match api {
        Api::Messages => TokenCounts {
            input: usage.input,
            cache_read: usage.cache_read,
            cache_write: usage.cache_write,
            output: usage.output,
            reasoning: 0,
        },
        _ => TokenCounts {
            input: usage.input,
            cache_read: usage.cache_read,
            cache_write: 0,
            output: usage.output,
            reasoning: usage.reasoning,
        },
    }
}
