//! Orchestration overhead per agent step: the real [`Agent`] loop against a
//! zero-latency model (the in-process `ScriptedProvider`) that asks for one
//! `read_file` per turn, with every step recorded as a trace in a store opened
//! the way Slipway ships it (SQLite in WAL with `synchronous = NORMAL`, one
//! commit per step, the store's own checkpoints running beside the agent as
//! they do in use; PostgreSQL with the server's own durability). Target: a
//! median of at most 1 ms per step on SQLite.
//!
//! Run with `cargo bench -p slipway-runtime --bench step`. Plain `std::time`,
//! no harness: for each backend and with content capture on and off, it
//! prints min, median and p95 of (run wall time) / (tool steps); the time of
//! a step near the start and near the end of a run (the context grows); and
//! the mean per step beside the mean spent inside the store's trace calls,
//! counted by a pass-through store (`step/timed.rs`). PostgreSQL
//! runs against a fresh database on the server at `SLIPWAY_BENCH_DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards;
//! when the server cannot be reached, only PostgreSQL is skipped.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::error::Error;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;
use slipway_config::PriceTable;
use slipway_llm::{Block, ChatResponse, ScriptedProvider, StopReason, Usage};
use slipway_policy::{AgentRole, Grant, Ownership};
use slipway_runtime::{
    Agent, Cancel, ModelChoice, Observer, RunEvent, RunOptions, Stop, system_prompt,
};
use slipway_store::{Store, StoreLocation};
use slipway_test_support::{TempRepo, admin_execute, with_database};
use slipway_tools::{ToolBox, Workspace};
use slipway_types::{TraceId, operations as op};

use crate::timed::{Tally, Timed};

// Beside the bench, not in `benches/`, where Cargo would take it for a bench of its own.
#[path = "step/timed.rs"]
mod timed;

/// Model calls that each ask for one tool call; one more call ends the run.
const STEPS: usize = 50;
/// Measured runs per case, after the warm-up runs.
const RUNS: usize = 20;
const WARMUP: usize = 2;
/// Steps at each end of a run compared in the breakdown.
const EDGE: usize = 10;
/// The target for the median per step on SQLite, content capture on.
const TARGET: Duration = Duration::from_millis(1);

const DATABASE_URL_VAR: &str = "SLIPWAY_BENCH_DATABASE_URL";
type BenchResult<T> = Result<T, Box<dyn Error>>;

/// Times each tool call as the run reports it, and collects anything that
/// means the run did not take the path being measured.
#[derive(Default)]
struct Stopwatch {
    calls: Mutex<Vec<Instant>>,
    problems: Mutex<Vec<String>>,
}

impl Observer for Stopwatch {
    fn event(&self, event: RunEvent) {
        let problem = match event {
            RunEvent::ToolCall { .. } => {
                let now = Instant::now();
                self.calls
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(now);
                None
            }
            RunEvent::ToolResult {
                name,
                is_error: true,
                text,
                ..
            } => Some(format!("{name} failed: {text}")),
            RunEvent::Compacted { .. } => Some("the run compacted its context".to_owned()),
            RunEvent::Warning(text) => Some(format!("warning: {text}")),
            RunEvent::Text(_) | RunEvent::ToolResult { .. } => None,
        };
        if let Some(problem) = problem {
            self.problems
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(problem);
        }
    }
}

/// What one run measured.
struct Sample {
    per_step: Duration,
    /// The store's trace calls during the run.
    store: Tally,
    /// Mean time from one tool call to the next, over the first and the last `EDGE` steps.
    early: Duration,
    late: Duration,
}

/// One backend with content capture on or off, over all its runs.
struct Case {
    capture: bool,
    per_step: Vec<Duration>,
    early: Vec<Duration>,
    late: Vec<Duration>,
    store: Tally,
}

impl Case {
    fn new(capture: bool) -> Self {
        Self {
            capture,
            per_step: Vec::new(),
            early: Vec::new(),
            late: Vec::new(),
            store: Tally::new(),
        }
    }

    fn add(&mut self, sample: &Sample) {
        self.per_step.push(sample.per_step);
        self.early.push(sample.early);
        self.late.push(sample.late);
        for (method, (calls, took)) in &sample.store {
            let entry = self.store.entry(method).or_default();
            entry.0 += calls;
            entry.1 += *took;
        }
    }
}

/// Returns min, median and p95.
fn stats(times: &[Duration]) -> (Duration, Duration, Duration) {
    let mut sorted = times.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    }
    let p95 = (sorted.len() * 95).div_ceil(100) - 1;
    (sorted[0], sorted[sorted.len() / 2], sorted[p95])
}

fn report(backend: &str, case: &Case) {
    let (min, median, p95) = stats(&case.per_step);
    let (_, early, _) = stats(&case.early);
    let (_, late, _) = stats(&case.late);
    let capture = if case.capture {
        "capture on"
    } else {
        "capture off"
    };
    println!(
        "{backend:<10} {capture:<11}  per step: min {min:>9.2?}  median {median:>9.2?}  \
         p95 {p95:>9.2?}   (a step of 1-{EDGE}: {early:.2?}, of {}-{STEPS}: {late:.2?}; medians)",
        STEPS - EDGE + 1
    );
    // Means over every measured step: all of it, and the part inside the store's trace calls.
    let steps = u32::try_from(RUNS * STEPS).unwrap_or(u32::MAX);
    let mean = case.per_step.iter().sum::<Duration>() / u32::try_from(RUNS).unwrap_or(1);
    let in_store: Duration = case.store.values().map(|(_, took)| *took).sum::<Duration>() / steps;
    let methods: Vec<String> = case
        .store
        .iter()
        .filter(|(_, (n, _))| *n >= u64::from(steps) / 2)
        .map(|(method, (n, took))| {
            #[expect(clippy::cast_precision_loss, reason = "call counts are far below 2^52")]
            let per_step = *n as f64 / f64::from(steps);
            format!("{method} {per_step:.1}× {:.2?}", *took / steps)
        })
        .collect();
    println!(
        "{:<23}  mean per step {mean:.2?}, of which in the store {in_store:.2?} ({})",
        "",
        methods.join(", ")
    );
}

/// The model's replies: `STEPS` turns that each read the next file of `dir`, then a text turn.
fn script(dir: &str) -> Vec<ChatResponse> {
    let usage = Usage {
        input_tokens: 1_200,
        output_tokens: 40,
        ..Usage::default()
    };
    let mut replies: Vec<ChatResponse> = (0..STEPS)
        .map(|step| ChatResponse {
            id: Some(format!("msg_{step:03}")),
            model: "claude-sonnet-4-5".to_owned(),
            content: vec![
                Block::text("Reading the next file."),
                Block::ToolCall {
                    id: format!("call_{step:03}"),
                    name: "read_file".to_owned(),
                    arguments: json!({ "path": file(dir, step) }).to_string(),
                },
            ],
            stop: StopReason::ToolUse,
            usage,
        })
        .collect();
    replies.push(ChatResponse {
        id: Some("msg_end".to_owned()),
        model: "claude-sonnet-4-5".to_owned(),
        content: vec![Block::text("Every file is read.")],
        stop: StopReason::EndTurn,
        usage,
    });
    replies
}

fn file(dir: &str, step: usize) -> String {
    format!("{dir}/f{step:02}.rs")
}

/// Writes `runs` directories of `STEPS` small Rust files, so no run reads
/// (and stores) the same tool call or result as another.
fn fill(repo: &TempRepo, runs: usize) {
    for run in 0..runs {
        let dir = format!("src/r{run:02}");
        for step in 0..STEPS {
            let body = (0..24).fold(String::new(), |mut body, line| {
                let _ = writeln!(body, "pub fn r{run}_f{step}_{line}() -> usize {{ {line} }}");
                body
            });
            repo.write(&file(&dir, step), &body);
        }
    }
}

/// Everything a run needs besides its script.
struct Bench<'a> {
    store: Arc<Timed>,
    repo: &'a Path,
    ownership: Arc<Ownership>,
    prices: Arc<PriceTable>,
}

impl Bench<'_> {
    /// Runs one agent over a fresh script reading the files of `dir`.
    async fn run(&self, dir: &str, capture: bool, check: bool) -> BenchResult<Sample> {
        let tools = ToolBox::new(
            Workspace::open(self.repo)?,
            Grant::new(AgentRole::Explorer),
            Arc::clone(&self.ownership),
        );
        let mut options = RunOptions::new(
            AgentRole::Explorer,
            ModelChoice {
                provider: "anthropic".to_owned(),
                model: "claude-sonnet-4-5".to_owned(),
            },
        );
        options.capture = capture;
        let agent = Agent::new(
            Arc::new(ScriptedProvider::new(script(dir)).with_name("anthropic")),
            Arc::new(tools),
            Arc::clone(&self.store) as Arc<dyn Store>,
            Arc::clone(&self.prices),
            system_prompt(AgentRole::Explorer, None),
            options,
        );
        let watch = Stopwatch::default();
        let cancel = Cancel::default();
        self.store.take();

        let start = Instant::now();
        let report = agent
            .run(
                "Read every file under src/ and say what they define.",
                &watch,
                &cancel,
            )
            .await?;
        let elapsed = start.elapsed();
        let store = self.store.take();

        let problems = watch
            .problems
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        if report.stop != Stop::Finished
            || report.tool_calls as usize != STEPS
            || !problems.is_empty()
        {
            return Err(format!(
                "the run did not take the measured path: stopped {:?} after {} tool calls; {}",
                report.stop,
                report.tool_calls,
                problems.join("; ")
            )
            .into());
        }
        if check {
            self.check_trace(&report.trace_id, capture).await?;
        }
        let calls = watch
            .calls
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let gaps: Vec<Duration> = calls.windows(2).map(|w| w[1] - w[0]).collect();
        let mean = |gaps: &[Duration]| {
            gaps.iter().sum::<Duration>() / u32::try_from(gaps.len().max(1)).unwrap_or(1)
        };
        Ok(Sample {
            per_step: elapsed / u32::try_from(STEPS).unwrap_or(1),
            store,
            early: mean(&gaps[..EDGE.min(gaps.len())]),
            late: mean(&gaps[gaps.len().saturating_sub(EDGE)..]),
        })
    }

    /// Checks that the trace was persisted: the run, a span per model call
    /// and per tool call, and (with capture) every message the last call sent.
    async fn check_trace(&self, id: &TraceId, capture: bool) -> BenchResult<()> {
        let (_, spans) = self.store.trace(id).await?;
        let chats: Vec<_> = spans.iter().filter(|s| s.operation == op::CHAT).collect();
        let tools = spans
            .iter()
            .filter(|s| s.operation == op::EXECUTE_TOOL)
            .count();
        if chats.len() != STEPS + 1 || tools != STEPS || spans.len() != 2 * STEPS + 2 {
            return Err(format!(
                "the trace holds {} spans ({} model calls, {tools} tool calls)",
                spans.len(),
                chats.len()
            )
            .into());
        }
        if let Some(last) = chats.last() {
            let bodies = self.store.span_contents(&last.id).await?.len();
            // The system prompt, the task, each turn's call and result, and the reply.
            let expected = if capture { 2 + 2 * STEPS + 1 } else { 0 };
            if bodies != expected {
                return Err(format!(
                    "the last model call sent and received {bodies} bodies, not {expected}"
                )
                .into());
            }
        }
        Ok(())
    }

    /// Runs every case, interleaving capture on and off so noise hits both alike.
    async fn cases(&self) -> BenchResult<[Case; 2]> {
        let mut cases = [Case::new(true), Case::new(false)];
        for run in 0..WARMUP + RUNS {
            for (index, case) in cases.iter_mut().enumerate() {
                let dir = format!("src/r{:02}", run * 2 + index);
                let sample = self.run(&dir, case.capture, run == WARMUP).await?;
                if run >= WARMUP {
                    case.add(&sample);
                }
            }
        }
        Ok(cases)
    }
}

async fn sqlite(repo: &TempRepo, prices: &Arc<PriceTable>) -> BenchResult<[Case; 2]> {
    // Where and how `slipway init` puts the store: `.slipway/slipway.db` in
    // the project, opened with the shipped options.
    let state = repo.join(".slipway");
    std::fs::create_dir_all(&state)?;
    let location = StoreLocation::Sqlite(state.join("slipway.db"));
    let bench = Bench {
        store: Arc::new(Timed::new(slipway_store::open(&location).await?)),
        repo: repo.path(),
        ownership: Arc::new(Ownership::new(&[], &[])?),
        prices: Arc::clone(prices),
    };
    bench.cases().await
}

async fn postgres(url: &str, repo: &TempRepo, prices: &Arc<PriceTable>) -> BenchResult<[Case; 2]> {
    let location = StoreLocation::Postgres(url.to_owned());
    let bench = Bench {
        store: Arc::new(Timed::new(slipway_store::open(&location).await?)),
        repo: repo.path(),
        ownership: Arc::new(Ownership::new(&[], &[])?),
        prices: Arc::clone(prices),
    };
    bench.cases().await
}

fn main() -> BenchResult<()> {
    // The CLI's runtime: one thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let prices = Arc::new(PriceTable::builtin()?);
    let repo = TempRepo::new();
    fill(&repo, 2 * (WARMUP + RUNS));
    println!(
        "{RUNS} runs of {STEPS} steps per case (after {WARMUP} warm-up runs); a step is a model \
         call with one read_file call; per step = run wall time / {STEPS}"
    );

    let cases = runtime.block_on(sqlite(&repo, &prices))?;
    for case in &cases {
        report("SQLite", case);
    }
    let (_, median, _) = stats(&cases[0].per_step);
    println!(
        "target: a median per step on SQLite with capture on of at most {TARGET:?}: {}",
        if median <= TARGET { "met" } else { "NOT met" }
    );

    let base = std::env::var(DATABASE_URL_VAR)
        .unwrap_or_else(|_| slipway_test_support::DEFAULT_TEST_DATABASE_URL.to_owned());
    let shown = StoreLocation::Postgres(base.clone()).describe();
    let name = format!("slipway_bench_{}", std::process::id());
    let created = runtime.block_on(admin_execute(&base, &format!("CREATE DATABASE \"{name}\"")));
    if let Err(err) = created {
        println!(
            "PostgreSQL skipped: cannot create a database on {shown} ({err}); start the server \
             or set {DATABASE_URL_VAR} to one where this user may create databases"
        );
        return Ok(());
    }
    let result = runtime.block_on(postgres(&with_database(&base, &name), &repo, &prices));
    let dropped = runtime.block_on(admin_execute(
        &base,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    ));
    if let Err(err) = dropped {
        eprintln!("warning: cannot drop the bench database {name} on {shown}: {err}");
    }
    for case in &result? {
        report("PostgreSQL", case);
    }
    Ok(())
}
