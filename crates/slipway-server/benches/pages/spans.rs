//! The runs of the page benchmark: 10,000 runs of about 15 to 800 spans (one
//! of 1,500), 1,000,000 in all, shaped like the runtime records them: an
//! `invoke_agent` root, a `chat` span per model call with its tokens and
//! cost, `execute_tool` spans after it (now and then a `delegate` call
//! running a helper agent a level deeper), every span with its OpenTelemetry
//! attributes; one run in 100 keeps its bodies, recorded as the runtime
//! records them (each model call sends a longer prefix of the run's context,
//! its response and tool bodies are links).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use fastrand::Rng;
use serde_json::json;
use slipway_store::{BatchLink, BodyRef, ContextMessage, SpanContext, TraceBatch};
use slipway_types::{
    ContentDirection, ContentKind, Span, SpanId, SpanStatus, TaskId, TokenCounts, Trace, TraceId,
    attributes as attr, operations as op,
};

use crate::generate::{MINUTE_US, SEED, SPANS, TaskPlan, at, prose, task_id};

pub(crate) const RUNS: usize = 10_000;
/// The run measured as the typical one: exactly this many spans, bodies captured.
pub(crate) const TYPICAL_RUN: usize = 5_000;
const TYPICAL_SPANS: usize = 100;
/// The largest run: a coder at its step limit, several tool calls a step.
const LARGEST_RUN: usize = 7_777;
const LARGEST_SPANS: usize = 1_500;
/// One run in this many keeps its prompts, responses and tool bodies.
const CAPTURE_EVERY: usize = 100;

/// One run: its id, the seed its spans are drawn from, and their number.
pub(crate) struct RunPlan {
    pub(crate) id: TraceId,
    seed: u64,
    pub(crate) spans: usize,
    pub(crate) capture: bool,
    task: TaskId,
    started_us: i64,
    role: &'static str,
    model: &'static Model,
}

/// A model runs were made with, and its prices in micro-dollars per million
/// tokens (input, cache read, cache write, output); `None` when unpriced.
pub(crate) struct Model {
    provider: &'static str,
    name: &'static str,
    prices: Option<[u64; 4]>,
}

const MODELS: [Model; 4] = [
    Model {
        provider: "anthropic",
        name: "claude-sonnet-4-5",
        prices: Some([3_000_000, 300_000, 3_750_000, 15_000_000]),
    },
    Model {
        provider: "openai",
        name: "gpt-5",
        prices: Some([1_250_000, 125_000, 1_250_000, 10_000_000]),
    },
    Model {
        provider: "anthropic",
        name: "claude-opus-4-1",
        prices: Some([15_000_000, 1_500_000, 18_750_000, 75_000_000]),
    },
    Model {
        provider: "ollama",
        name: "qwen3-coder",
        prices: None,
    },
];

impl Model {
    fn cost(&self, t: &TokenCounts) -> Option<i64> {
        let [input, read, write, output] = self.prices?;
        let micros =
            (t.input * input + t.cache_read * read + t.cache_write * write + t.output * output)
                / 1_000_000;
        i64::try_from(micros).ok()
    }
}

const ROLES: [&str; 5] = ["planner", "reviewer", "coder", "debugger", "fixer"];

/// Returns the runs: spread in order over the tasks that left the queue, sizes
/// drawn around 100 spans (a few long ones) and then evened out to `SPANS` in all.
pub(crate) fn run_plans(tasks: &[TaskPlan]) -> Vec<RunPlan> {
    let mut rng = Rng::with_seed(SEED.rotate_left(17));
    let worked: Vec<usize> = (0..tasks.len())
        .filter(|i| tasks[*i].moves.iter().any(|(s, _)| s.is_stage()))
        .collect();
    let mut sizes: Vec<usize> = (0..RUNS)
        .map(|k| match k {
            TYPICAL_RUN => TYPICAL_SPANS,
            LARGEST_RUN => LARGEST_SPANS,
            _ if rng.u8(..100) == 0 => rng.usize(300..=800),
            _ => rng.usize(20..=180),
        })
        .collect();
    let mut excess = sizes.iter().sum::<usize>().cast_signed() - SPANS.cast_signed();
    let mut k = 0;
    while excess != 0 {
        let fixed = k == TYPICAL_RUN || k == LARGEST_RUN;
        if !fixed && excess > 0 && sizes[k] > 10 {
            sizes[k] -= 1;
            excess -= 1;
        } else if !fixed && excess < 0 && sizes[k] < 900 {
            sizes[k] += 1;
            excess += 1;
        }
        k = (k + 1) % RUNS;
    }
    sizes
        .into_iter()
        .enumerate()
        .map(|(k, spans)| {
            let task = worked[k * worked.len() / RUNS];
            let started_us = tasks[task].created_us + rng.i64(5..60) * MINUTE_US;
            RunPlan {
                id: TraceId::from_bytes(rng.u128(..).to_le_bytes()),
                seed: rng.u64(..),
                spans,
                capture: k % CAPTURE_EVERY == 0 && k != LARGEST_RUN,
                task: task_id(task),
                started_us,
                role: ROLES[k % ROLES.len()],
                model: &MODELS[[0, 0, 0, 0, 0, 0, 1, 1, 2, 3][k % 10]],
            }
        })
        .collect()
}

/// A batch being filled, with each role's system prompt stored once in it.
#[derive(Default)]
pub(crate) struct Batch {
    pub(crate) inner: TraceBatch,
    system: BTreeMap<&'static str, usize>,
}

impl Batch {
    fn body(&mut self, kind: ContentKind, text: String) -> usize {
        self.inner.bodies.push((kind, text));
        self.inner.bodies.len() - 1
    }

    fn system(&mut self, role: &'static str) -> usize {
        if let Some(i) = self.system.get(role) {
            return *i;
        }
        let text = format!(
            "You are Slipway's {role}.\n{}",
            prose(&mut Rng::with_seed(SEED), 6_000)
        );
        let i = self.body(ContentKind::System, text);
        self.system.insert(role, i);
        i
    }

    /// Records that `span` sent the first `sent` messages of `context`,
    /// whose messages from `from` on are new.
    fn send(&mut self, span: &SpanId, context: &SpanId, from: usize, sent: &[usize]) {
        for (position, body) in sent.iter().enumerate().skip(from) {
            self.inner.context_messages.push(ContextMessage {
                context: context.clone(),
                position: i64::try_from(position).unwrap_or(i64::MAX),
                body: BodyRef::New(*body),
            });
        }
        self.inner.span_contexts.push(SpanContext {
            span: span.clone(),
            context: context.clone(),
            messages: i64::try_from(sent.len()).unwrap_or(i64::MAX),
        });
    }

    fn link(&mut self, span: &SpanId, direction: ContentDirection, bodies: &[usize]) {
        for (position, body) in bodies.iter().enumerate() {
            self.inner.links.push(BatchLink {
                span: span.clone(),
                direction,
                position: i64::try_from(position).unwrap_or(i64::MAX),
                body: BodyRef::New(*body),
            });
        }
    }
}

/// What [`build_run`] made besides the spans it put in the batch.
pub(crate) struct Built {
    pub(crate) trace: Trace,
    pub(crate) last_chat: SpanId,
    pub(crate) last_chat_links: usize,
}

/// Draws one run's spans from its seed (the same every time) into `batch`.
struct RunBuilder<'a> {
    plan: &'a RunPlan,
    rng: Rng,
    batch: &'a mut Batch,
    /// Whether this call's bodies are kept: the run's choice, off inside a helper.
    capture: bool,
    /// Model calls so far: the cached context grows with them.
    calls: u64,
    clock: i64,
    first: usize,
    tokens: TokenCounts,
    cost: Option<i64>,
    /// The bodies the next model call sends, when bodies are kept.
    conversation: Vec<usize>,
    /// The run's context: the call that opened it, and how many of the
    /// conversation's bodies it holds.
    context: Option<(SpanId, usize)>,
    last_chat: Option<(SpanId, usize)>,
}

pub(crate) fn build_run(plan: &RunPlan, batch: &mut Batch) -> Built {
    let first = batch.inner.spans.len();
    let mut run = RunBuilder {
        plan,
        rng: Rng::with_seed(plan.seed),
        batch,
        capture: plan.capture,
        calls: 0,
        clock: plan.started_us,
        first,
        tokens: TokenCounts::default(),
        cost: plan.model.prices.map(|_| 0),
        conversation: Vec::new(),
        context: None,
        last_chat: None,
    };
    if plan.capture {
        let system = run.batch.system(plan.role);
        let text = prose(&mut run.rng, 1_200);
        let task = run.batch.body(ContentKind::Message, text);
        run.conversation = vec![system, task];
    }
    let root = run.open(None, op::INVOKE_AGENT, plan.role);
    run.set(root, |s| {
        s.model = Some(plan.model.name.to_owned());
        s.provider = Some(plan.model.provider.to_owned());
        s.attributes
            .insert(attr::AGENT_NAME.to_owned(), json!(plan.role));
    });
    let root_id = run.id(root);
    let mut steps = 0;
    while run.len() < plan.spans {
        steps += 1;
        let last = plan.spans - run.len() == 1;
        run.chat(&root_id, last);
        let calls = 1 + usize::from(run.rng.u8(..100) < 30) + usize::from(run.rng.u8(..100) < 10);
        for _ in 0..calls {
            let left = plan.spans - run.len();
            if left >= 8 && run.rng.u8(..100) < 3 {
                run.delegate(&root_id);
            } else if left >= 2 {
                run.tool(&root_id);
            }
        }
    }
    let failed = run.rng.u8(..100) < 3;
    let status = if failed {
        SpanStatus::Error
    } else {
        SpanStatus::Ok
    };
    let error = failed.then(|| format!("stopped: {steps} steps and the budget ran out"));
    let (tokens, cost) = (run.tokens, run.cost);
    run.close(root, status, error.clone());
    run.set(root, |s| {
        s.tokens = tokens;
        s.cost_micros = cost;
    });
    let ended_us = run.clock;
    let (last_chat, last_chat_links) = run.last_chat.take().unwrap_or((root_id, 0));
    Built {
        trace: Trace {
            id: plan.id.clone(),
            task_id: Some(plan.task),
            role: plan.role.to_owned(),
            model: format!("{}:{}", plan.model.provider, plan.model.name),
            status,
            started_at: at(plan.started_us),
            ended_at: Some(at(ended_us)),
            tokens,
            cost_micros: cost,
            error,
        },
        last_chat,
        last_chat_links,
    }
}

impl RunBuilder<'_> {
    fn len(&self) -> usize {
        self.batch.inner.spans.len() - self.first
    }

    fn id(&self, span: usize) -> SpanId {
        self.batch.inner.spans[span].id.clone()
    }

    fn set(&mut self, span: usize, change: impl FnOnce(&mut Span)) {
        change(&mut self.batch.inner.spans[span]);
    }

    /// Starts a span now and returns its index in the batch.
    fn open(&mut self, parent: Option<&SpanId>, operation: &str, subject: &str) -> usize {
        self.clock += self.rng.i64(1_000..50_000);
        let span = Span {
            id: SpanId::from_bytes(self.rng.u64(..).to_le_bytes()),
            trace_id: self.plan.id.clone(),
            parent_id: parent.cloned(),
            name: format!("{operation} {subject}"),
            operation: operation.to_owned(),
            started_at: at(self.clock),
            ended_at: None,
            status: SpanStatus::Running,
            error: None,
            model: None,
            provider: None,
            tool_name: None,
            tokens: TokenCounts::default(),
            cost_micros: None,
            attributes: BTreeMap::from([(attr::OPERATION_NAME.to_owned(), json!(operation))]),
        };
        self.batch.inner.spans.push(span);
        self.batch.inner.spans.len() - 1
    }

    /// Ends a span at the clock.
    fn close(&mut self, span: usize, status: SpanStatus, error: Option<String>) {
        self.clock += self.rng.i64(100..5_000);
        let end = at(self.clock);
        self.set(span, |s| {
            s.ended_at = Some(end);
            s.status = status;
            s.error = error;
        });
    }

    /// One model call: 1.5–25 s, tokens growing with the conversation.
    fn chat(&mut self, parent: &SpanId, last: bool) {
        let model = self.plan.model;
        let span = self.open(Some(parent), op::CHAT, model.name);
        let id = self.id(span);
        self.clock += self.rng.i64(1_500_000..25_000_000);
        self.calls += 1;
        let step = self.calls;
        let output = self.rng.u64(40..900);
        let tokens = TokenCounts {
            input: self.rng.u64(200..3_000),
            cache_read: (4_000 + step * 900 + self.rng.u64(0..2_000)).min(180_000),
            cache_write: self.rng.u64(0..1_500),
            output,
            reasoning: if model.provider == "openai" {
                output / 3
            } else {
                0
            },
        };
        let cost = model.cost(&tokens);
        self.tokens += tokens;
        self.cost = self.cost.zip(cost).map(|(a, b)| a + b);
        let response_id = format!("msg_{:016x}", self.rng.u64(..));
        let finish = if last { "end_turn" } else { "tool_use" };
        self.close(span, SpanStatus::Ok, None);
        self.set(span, |s| {
            s.model = Some(model.name.to_owned());
            s.provider = Some(model.provider.to_owned());
            s.tokens = tokens;
            s.cost_micros = cost;
            for (name, value) in [
                (attr::PROVIDER_NAME, json!(model.provider)),
                (attr::REQUEST_MODEL, json!(model.name)),
                (attr::RESPONSE_MODEL, json!(model.name)),
                (attr::INPUT_TOKENS, json!(tokens.input)),
                (attr::OUTPUT_TOKENS, json!(tokens.output)),
                (attr::CACHE_READ_INPUT_TOKENS, json!(tokens.cache_read)),
                (attr::CACHE_CREATION_INPUT_TOKENS, json!(tokens.cache_write)),
                (attr::RESPONSE_FINISH_REASONS, json!([finish])),
                (attr::RESPONSE_ID, json!(response_id)),
            ] {
                s.attributes.insert(name.to_owned(), value);
            }
        });
        if self.capture {
            let inputs = self.conversation.clone();
            let (context, from) = self.context.take().unwrap_or((id.clone(), 0));
            self.batch.send(&id, &context, from, &inputs);
            self.context = Some((context, inputs.len()));
            let bytes = self.rng.usize(200..1_500);
            let text = prose(&mut self.rng, bytes);
            let response = self.batch.body(ContentKind::Response, text);
            self.batch.link(&id, ContentDirection::Output, &[response]);
            self.conversation.push(response);
            self.last_chat = Some((id, inputs.len() + 1));
        } else {
            self.last_chat = Some((id, 0));
        }
    }

    /// One tool call: mostly fast reads, some commands that take seconds;
    /// a few fail or are refused by policy.
    fn tool(&mut self, parent: &SpanId) {
        const TOOLS: [(&str, u8); 5] = [
            ("read_file", 50),
            ("search", 65),
            ("edit_file", 80),
            ("run_command", 95),
            ("list_dir", 100),
        ];
        let roll = self.rng.u8(..100);
        let name = TOOLS
            .iter()
            .find(|(_, upto)| roll < *upto)
            .map_or("read_file", |t| t.0);
        let span = self.open(Some(parent), op::EXECUTE_TOOL, name);
        let id = self.id(span);
        self.clock += if name == "run_command" {
            self.rng.i64(500_000..60_000_000)
        } else {
            self.rng.i64(200..80_000)
        };
        let result_bytes = self.rng.usize(100..8_000);
        let call_id = format!("toolu_{:016x}", self.rng.u64(..));
        let (status, error, kind) = match self.rng.u8(..100) {
            0 => (
                SpanStatus::Denied,
                Some(format!("policy: `{name}` outside the lane's paths")),
                "denied",
            ),
            1..=3 => (
                SpanStatus::Error,
                Some("the command exited with status 1".to_owned()),
                "tool_error",
            ),
            _ => (SpanStatus::Ok, None, ""),
        };
        self.close(span, status, error);
        self.set(span, |s| {
            s.tool_name = Some(name.to_owned());
            s.attributes.insert(attr::TOOL_NAME.to_owned(), json!(name));
            s.attributes
                .insert(attr::TOOL_CALL_ID.to_owned(), json!(call_id));
            s.attributes
                .insert("slipway.tool.result_bytes".to_owned(), json!(result_bytes));
            if !kind.is_empty() {
                s.attributes
                    .insert(attr::ERROR_TYPE.to_owned(), json!(kind));
            }
        });
        if self.capture {
            let mut arguments = String::new();
            let _ = write!(arguments, "{{\"path\":\"src/{}.rs\"}}", self.rng.u32(..));
            let arguments = self.batch.body(ContentKind::ToolArguments, arguments);
            let text = prose(&mut self.rng, result_bytes);
            let result = self.batch.body(ContentKind::ToolResult, text);
            self.batch.link(&id, ContentDirection::Input, &[arguments]);
            self.batch.link(&id, ContentDirection::Output, &[result]);
            self.conversation.push(result);
        }
    }

    /// A `delegate` tool call running a helper agent: 7 spans, depth 2 and 3.
    fn delegate(&mut self, parent: &SpanId) {
        let call = self.open(Some(parent), op::EXECUTE_TOOL, "delegate");
        let call_id = self.id(call);
        let helper = self.open(Some(&call_id), op::INVOKE_AGENT, "explorer");
        let helper_id = self.id(helper);
        let (tokens, cost) = (self.tokens, self.cost);
        // The helper's calls keep no bodies: its conversation is its own.
        let (capture, last_chat) = (self.capture, self.last_chat.take());
        self.capture = false;
        for last in [false, false, true] {
            self.chat(&helper_id, last);
            if !last {
                self.tool(&helper_id);
            }
        }
        self.capture = capture;
        self.last_chat = last_chat;
        let spent = self.tokens;
        let spent_cost = self.cost.zip(cost).map(|(all, before)| all - before);
        self.close(helper, SpanStatus::Ok, None);
        self.set(helper, |s| {
            s.tokens = TokenCounts {
                input: spent.input - tokens.input,
                cache_read: spent.cache_read - tokens.cache_read,
                cache_write: spent.cache_write - tokens.cache_write,
                output: spent.output - tokens.output,
                reasoning: spent.reasoning - tokens.reasoning,
            };
            s.cost_micros = spent_cost;
            s.attributes
                .insert(attr::AGENT_NAME.to_owned(), json!("explorer"));
        });
        self.close(call, SpanStatus::Ok, None);
        self.set(call, |s| {
            s.tool_name = Some("delegate".to_owned());
            s.attributes
                .insert(attr::TOOL_NAME.to_owned(), json!("delegate"));
        });
    }
}
