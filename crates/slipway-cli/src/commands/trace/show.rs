//! `slipway trace show`.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::Args;
use serde_json::{Value, json};
use slipway_store::{Store, StoreError};
use slipway_types::{Span, SpanId, TraceId};

use super::{cost, cost_json};
use crate::{Outcome, output};

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The run's id (or a unique prefix of it)
    id: String,
    /// Print JSON
    #[arg(long)]
    json: bool,
    /// Include prompts, responses, tool arguments and results
    #[arg(long)]
    full: bool,
}

pub(crate) async fn run(args: &ShowArgs, store: &dyn Store) -> Result<Outcome> {
    let id = resolve(store, &args.id).await?;
    let (trace, spans) = store.trace(&id).await?;
    let mut contents: BTreeMap<SpanId, Vec<Value>> = BTreeMap::new();
    if args.full {
        for span in &spans {
            let bodies = store.span_contents(&span.id).await?;
            contents.insert(
                span.id.clone(),
                bodies
                    .into_iter()
                    .map(|(dir, c)| json!({ "direction": dir, "kind": c.kind, "body": c.body }))
                    .collect(),
            );
        }
    }
    if args.json {
        print_json(&trace, &spans, &contents)?;
        return Ok(Outcome::Success);
    }
    output::line(format!(
        "trace {} · {} · {} · {} · cost {}",
        trace.id,
        trace.role,
        trace.model,
        trace.status,
        cost(trace.cost_micros)
    ))?;
    if let Some(error) = &trace.error {
        output::line(format!("  {error}"))?;
    }
    let mut children: BTreeMap<Option<SpanId>, Vec<&Span>> = BTreeMap::new();
    for span in &spans {
        children
            .entry(span.parent_id.clone())
            .or_default()
            .push(span);
    }
    let mut stack: Vec<(&Span, usize)> = children
        .get(&None)
        .map(|r| r.iter().rev().map(|s| (*s, 0)).collect())
        .unwrap_or_default();
    while let Some((span, depth)) = stack.pop() {
        output::line(format!("{}{}", "  ".repeat(depth + 1), span_line(span)))?;
        if let Some(error) = &span.error {
            output::line(format!("{}  {}", "  ".repeat(depth + 1), first_line(error)))?;
        }
        for body in contents.get(&span.id).into_iter().flatten() {
            output::line(format!(
                "{}  {} {}: {}",
                "  ".repeat(depth + 1),
                body["direction"].as_str().unwrap_or(""),
                body["kind"].as_str().unwrap_or(""),
                output::clean(body["body"].as_str().unwrap_or(""))
            ))?;
        }
        if let Some(kids) = children.get(&Some(span.id.clone())) {
            stack.extend(kids.iter().rev().map(|s| (*s, depth + 1)));
        }
    }
    Ok(Outcome::Success)
}

fn print_json(
    trace: &slipway_types::Trace,
    spans: &[Span],
    contents: &BTreeMap<SpanId, Vec<Value>>,
) -> Result<()> {
    let spans: Vec<Value> = spans
        .iter()
        .map(|s| {
            let mut v = json!({
                "id": s.id, "parent_id": s.parent_id, "name": s.name, "operation": s.operation,
                "start": s.started_at, "end": s.ended_at, "duration_ms": duration_ms(s),
                "status": s.status, "error": s.error, "model": s.model, "provider": s.provider,
                "tool_name": s.tool_name, "attributes": s.attributes,
                "input_tokens": s.tokens.input, "output_tokens": s.tokens.output,
                "cache_read_tokens": s.tokens.cache_read, "cache_write_tokens": s.tokens.cache_write,
                "reasoning_tokens": s.tokens.reasoning, "cost_usd": cost_json(s.cost_micros),
            });
            if let Some(bodies) = contents.get(&s.id) {
                v["content"] = Value::Array(bodies.clone());
            }
            v
        })
        .collect();
    output::json(
        &json!({ "trace": trace, "cost_usd": cost_json(trace.cost_micros), "spans": spans }),
    )?;
    Ok(())
}

/// One span's line: its name, duration, tokens, cost and status.
fn span_line(span: &Span) -> String {
    let tokens = if span.tokens.total() > 0 {
        format!(
            " · {} in, {} out, {} cached",
            span.tokens.input + span.tokens.cache_write,
            span.tokens.output,
            span.tokens.cache_read
        )
    } else {
        String::new()
    };
    let money = if span.cost_micros.is_some() || span.operation == "chat" {
        format!(" · {}", cost(span.cost_micros))
    } else {
        String::new()
    };
    let status = if span.status.as_str() == "ok" {
        String::new()
    } else {
        format!(" [{}]", span.status)
    };
    let ms = duration_ms(span).map_or_else(|| "running".to_owned(), |ms| format!("{ms} ms"));
    format!("{} · {ms}{tokens}{money}{status}", span.name)
}

fn duration_ms(span: &Span) -> Option<i64> {
    let end = span.ended_at?;
    Some(
        end.duration_since(span.started_at)
            .as_millis()
            .try_into()
            .unwrap_or(i64::MAX),
    )
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Returns the run `given` names: an id, or a unique prefix of a recent one.
async fn resolve(store: &dyn Store, given: &str) -> Result<TraceId> {
    let id = TraceId(given.trim().to_owned());
    match store.trace(&id).await {
        Ok(_) => return Ok(id),
        Err(StoreError::UnknownTrace { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let matches: Vec<TraceId> = store
        .traces(10_000)
        .await?
        .into_iter()
        .filter(|t| !given.is_empty() && t.id.as_str().starts_with(given.trim()))
        .map(|t| t.id)
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => anyhow::bail!("no run `{given}`: `slipway trace list` shows the runs"),
        more => anyhow::bail!("`{given}` names {} runs: give more of the id", more.len()),
    }
}
