//! `slipway trace list`.

use anyhow::Result;
use clap::Args;
use serde_json::json;
use slipway_store::Store;

use super::{cost, cost_json};
use crate::{Outcome, output};

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// How many runs to list
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: &ListArgs, store: &dyn Store) -> Result<Outcome> {
    let traces = store.traces(args.limit).await?;
    if args.json {
        let list: Vec<_> = traces
            .iter()
            .map(|t| {
                json!({
                    "id": t.id,
                    "task_id": t.task_id,
                    "role": t.role,
                    "model": t.model,
                    "status": t.status,
                    "started_at": t.started_at,
                    "ended_at": t.ended_at,
                    "input_tokens": t.tokens.input,
                    "output_tokens": t.tokens.output,
                    "cache_read_tokens": t.tokens.cache_read,
                    "cache_write_tokens": t.tokens.cache_write,
                    "reasoning_tokens": t.tokens.reasoning,
                    "cost_usd": cost_json(t.cost_micros),
                    "error": t.error,
                })
            })
            .collect();
        output::json(&list)?;
        return Ok(Outcome::Success);
    }
    if traces.is_empty() {
        output::line("no runs yet; start one with `slipway agent run --role explorer \"PROMPT\"`")?;
        return Ok(Outcome::Success);
    }
    let rows: Vec<Vec<String>> = traces
        .iter()
        .map(|t| {
            vec![
                t.id.to_string(),
                output::when(t.started_at),
                t.role.clone(),
                t.model.clone(),
                t.status.to_string(),
                format!(
                    "{}/{}/{}",
                    t.tokens.input + t.tokens.cache_write,
                    t.tokens.output,
                    t.tokens.cache_read
                ),
                cost(t.cost_micros),
            ]
        })
        .collect();
    output::table(
        &[
            "ID",
            "STARTED",
            "ROLE",
            "MODEL",
            "STATUS",
            "IN/OUT/CACHED",
            "COST",
        ],
        &rows,
    )?;
    Ok(Outcome::Success)
}
