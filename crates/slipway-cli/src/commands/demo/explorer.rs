//! The demo's agent run: an explorer on the sample project, driven by the
//! in-process scripted model so that the tour needs no key and no network.
//! Everything else is what `slipway agent run` uses: the tools, the policy
//! check on every call, the recorder and the project's own store.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use slipway_llm::{Block, ChatResponse, ScriptedProvider, StopReason, Usage};
use slipway_policy::{AgentRole, Grant};
use slipway_runtime::{Agent, Cancel, ModelChoice, RunOptions, SecretValues, Stop, system_prompt};
use slipway_store::Store;
use slipway_tools::{ToolBox, Workspace};
use slipway_types::TraceId;

use crate::commands::GlobalArgs;
use crate::commands::agent::{Printer, print_report};
use crate::output;
use crate::project::Project;

/// The model the demo's explorer runs on; the demo's `slipway.toml` prices it.
const MODEL: &str = "scripted:demo";

/// The price the demo gives its scripted model, in `slipway.toml` syntax.
pub(super) const PRICE: &str = "\n[prices.\"scripted:demo\"]\ninput = 3.0\noutput = 15.0\ncache_read = 0.3\ncache_write = 3.75\n";

/// The explorer's task in the tour.
const PROMPT: &str = "How does Tally count? Look, and do not change anything.";

/// Shows the command, runs the explorer on the sample project in `dir` and
/// returns its trace id.
pub(super) fn tour(dir: &Path) -> Result<TraceId> {
    output::line(format!(
        "(the model is scripted, `{MODEL}`, so the tour needs no key; with a key, \
         `slipway agent run --role explorer \"...\"` runs the configured one)"
    ))?;
    output::line(format!(
        "$ slipway agent run --role explorer {}",
        super::shell_word(PROMPT)
    ))?;
    let global = GlobalArgs {
        project: Some(dir.to_path_buf()),
        database_url: None,
    };
    let trace = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(run(&global))?;
    output::line("")?;
    Ok(trace)
}

/// Runs the explorer on the project `global` names and returns its trace id.
async fn run(global: &GlobalArgs) -> Result<TraceId> {
    let project = Project::open(global)?;
    let store: Arc<dyn Store> = Arc::from(project.store().await?);
    let agents_md = std::fs::read_to_string(project.root.join("AGENTS.md")).ok();
    let workspace = Workspace::open(&project.root).map_err(|e| anyhow::anyhow!("{e}"))?;
    let tools = ToolBox::new(
        workspace,
        Grant::new(AgentRole::Explorer),
        Arc::new(project.ownership()?),
    );
    let (provider, model) = MODEL.split_once(':').context("the demo's model")?;
    let mut options = RunOptions::new(
        AgentRole::Explorer,
        ModelChoice {
            provider: provider.to_owned(),
            model: model.to_owned(),
        },
    );
    options.capture = project.config.trace.capture;
    let agent = Agent::new(
        Arc::new(ScriptedProvider::new(script()).with_name(provider)),
        Arc::new(tools),
        store,
        Arc::new(project.config.prices.clone()),
        system_prompt(AgentRole::Explorer, agents_md.as_deref()),
        options,
    );
    eprintln!("explorer on {MODEL} · trace follows");
    let printer = Printer::new(SecretValues::default());
    let report = agent.run(PROMPT, &printer, &Cancel::default()).await;
    printer.end_line();
    let report = report.context("the demo's agent run")?;
    print_report(&report);
    anyhow::ensure!(
        report.stop == Stop::Finished && report.denied == 1,
        "the demo's explorer ended unexpectedly ({:?}, {} denied); this is a bug in the demo",
        report.stop,
        report.denied
    );
    Ok(report.trace_id)
}

/// What the scripted model answers, turn by turn: it looks around (two tool
/// calls in one turn), searches, tries to write — which an explorer may not —
/// and reports.
fn script() -> Vec<ChatResponse> {
    vec![
        turn(
            vec![
                text("I'll start with the API's files.\n"),
                call("call_1", "list_dir", r#"{"path": "api"}"#),
                call("call_2", "read_file", r#"{"path": "api/server.py"}"#),
            ],
            usage(1_850, 0, 1_620, 64),
        ),
        turn(
            vec![call("call_3", "search", r#"{"pattern": "increment"}"#)],
            usage(310, 1_620, 0, 41),
        ),
        turn(
            vec![
                text("A docstring would help; let me add one.\n"),
                call(
                    "call_4",
                    "write_file",
                    r#"{"path": "api/server.py", "content": "\"\"\"Counters.\"\"\"\n"}"#,
                ),
            ],
            usage(420, 1_620, 0, 58),
        ),
        turn(
            vec![text(
                "That write was refused: an explorer reads and never writes. Here is what I found.\n\
                 Tally counts in `api/server.py`: `increment(counters, name)` adds one to the \
                 named counter, starting from zero, and returns the new value. \
                 `api/test_server.py` tests the first increment. The web page (`web/app.js`) \
                 only formats a count; the schema in `db/schema.sql` stores counters by name.\n",
            )],
            usage(560, 1_620, 0, 96),
        ),
    ]
}

fn turn(content: Vec<Block>, usage: Usage) -> ChatResponse {
    let stop = if content.iter().any(|b| matches!(b, Block::ToolCall { .. })) {
        StopReason::ToolUse
    } else {
        StopReason::EndTurn
    };
    ChatResponse {
        id: None,
        model: "demo".to_owned(),
        content,
        stop,
        usage,
    }
}

fn text(text: &str) -> Block {
    Block::Text {
        text: text.to_owned(),
    }
}

fn call(id: &str, name: &str, arguments: &str) -> Block {
    Block::ToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        arguments: arguments.to_owned(),
    }
}

fn usage(input: u64, cache_read: u64, cache_write: u64, output: u64) -> Usage {
    Usage {
        input_tokens: input,
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        output_tokens: output,
        reasoning_tokens: 0,
    }
}
