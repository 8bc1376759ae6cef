//! Rows as both backends return them (tuples and structs of plain values)
//! and their conversion into domain types, which refuses values that do not parse.

use std::collections::BTreeMap;

use slipway_types::{
    ContentDirection, ContentKind, ContentRef, Lease, Span, SpanId, SpanStatus, Task, TaskEvent,
    TaskId, TaskState, TokenCounts, Trace, TraceId,
};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::error::StoreError;
use crate::store::{CostGroup, CostRow};
use crate::time;

/// `id, title, body, lane, state, created_at, updated_at, depends_on` from
/// `tasks` left-joined with `task_deps`: one row per dependency.
pub(crate) type TaskRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
);

/// `id, task_id, at, actor, from_state, to_state, reason` from `task_events`.
pub(crate) type EventRow = (i64, i64, String, String, Option<String>, String, String);

/// `name, holder, acquired_at, expires_at, generation` from `leases`.
pub(crate) type LeaseRow = (String, String, String, String, i64);

/// Parses a stored state name.
pub(crate) fn state(text: &str, context: &str) -> Result<TaskState, StoreError> {
    text.parse::<TaskState>()
        .map_err(|err| StoreError::corrupt_row(context, err))
}

/// `id, title, lane, state, updated_at` from `tasks`.
pub(crate) type CardRow = (i64, String, String, String, String);

/// Reads the board's cards and counts; counts ordered byte by byte.
pub(crate) fn board(
    cards: Vec<CardRow>,
    counts: Vec<(String, String, i64)>,
) -> Result<crate::Board, StoreError> {
    let cards = cards
        .into_iter()
        .map(|(id, title, lane, state_name, updated_at)| {
            let context = format!("task {id}");
            Ok(crate::BoardCard {
                id: TaskId(id),
                title,
                lane,
                state: state(&state_name, &context)?,
                updated_at: time::from_text(&updated_at, &context)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut counts = counts
        .into_iter()
        .map(|(lane, state_name, n)| {
            let context = format!("the count of lane {lane}");
            Ok((
                lane,
                state(&state_name, &context)?,
                u64::try_from(n).unwrap_or(0),
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    counts.sort_by(|a, b| (a.0.as_bytes(), a.1.as_str()).cmp(&(b.0.as_bytes(), b.1.as_str())));
    Ok(crate::Board { cards, counts })
}

/// Groups joined rows, ordered by task id then dependency, into tasks.
pub(crate) fn tasks(rows: Vec<TaskRow>) -> Result<Vec<Task>, StoreError> {
    let mut tasks: Vec<Task> = Vec::new();
    for (id, title, body, lane, state_name, created_at, updated_at, dep) in rows {
        if tasks.last().is_none_or(|task| task.id.0 != id) {
            let context = format!("task {id}");
            tasks.push(Task {
                id: TaskId(id),
                title,
                body,
                lane,
                state: state(&state_name, &context)?,
                depends_on: Vec::new(),
                created_at: time::from_text(&created_at, &context)?,
                updated_at: time::from_text(&updated_at, &context)?,
            });
        }
        if let (Some(dep), Some(task)) = (dep, tasks.last_mut()) {
            task.depends_on.push(TaskId(dep));
        }
    }
    Ok(tasks)
}

/// Converts event rows.
pub(crate) fn events(rows: Vec<EventRow>) -> Result<Vec<TaskEvent>, StoreError> {
    rows.into_iter()
        .map(|(id, task_id, at, actor, from, to, reason)| {
            let context = format!("event {id}");
            Ok(TaskEvent {
                id,
                task_id: TaskId(task_id),
                at: time::from_text(&at, &context)?,
                actor,
                from: from.map(|from| state(&from, &context)).transpose()?,
                to: state(&to, &context)?,
                reason,
            })
        })
        .collect()
}

/// Converts a lease row.
pub(crate) fn lease(
    (name, holder, acquired_at, expires_at, generation): LeaseRow,
) -> Result<Lease, StoreError> {
    let context = format!("lease `{name}`");
    Ok(Lease {
        acquired_at: time::from_text(&acquired_at, &context)?,
        expires_at: time::from_text(&expires_at, &context)?,
        name,
        holder,
        generation,
    })
}

/// Returns the dependency ids as stored: sorted, without duplicates.
pub(crate) fn dependency_list(depends_on: &[TaskId]) -> Vec<TaskId> {
    let mut deps = depends_on.to_vec();
    deps.sort_unstable();
    deps.dedup();
    deps
}

/// The five token columns in the order the queries select them: input,
/// cache read, cache write, output, reasoning.
pub(crate) type TokenColumns = [i64; 5];

/// Returns the token columns to bind, in the order the queries take them.
/// Counts past `i64::MAX` (never seen) are held there.
pub(crate) fn token_columns(tokens: &TokenCounts) -> TokenColumns {
    [
        tokens.input,
        tokens.cache_read,
        tokens.cache_write,
        tokens.output,
        tokens.reasoning,
    ]
    .map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

fn token_counts(columns: TokenColumns, context: &str) -> Result<TokenCounts, StoreError> {
    let [input, cache_read, cache_write, output, reasoning] = columns.map(u64::try_from);
    let negative =
        |_| StoreError::corrupt_row(context, format!("negative token count in {columns:?}"));
    Ok(TokenCounts {
        input: input.map_err(negative)?,
        cache_read: cache_read.map_err(negative)?,
        cache_write: cache_write.map_err(negative)?,
        output: output.map_err(negative)?,
        reasoning: reasoning.map_err(negative)?,
    })
}

fn span_status(text: &str, context: &str) -> Result<SpanStatus, StoreError> {
    text.parse()
        .map_err(|err| StoreError::corrupt_row(context, err))
}

/// Declares a row struct read column by column, on either backend.
macro_rules! row_struct {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty),+ $(,)? }) => {
        $(#[$meta])*
        pub(crate) struct $name {
            $(pub(crate) $field: $ty),+
        }

        impl<'r, R> sqlx::FromRow<'r, R> for $name
        where
            R: Row,
            usize: ColumnIndex<R>,
            String: Decode<'r, R::Database> + Type<R::Database>,
            i64: Decode<'r, R::Database> + Type<R::Database>,
        {
            fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
                let column = &mut 0_usize;
                Ok(Self {
                    $($field: row_struct!(@get row, column, $field, $ty)),+
                })
            }
        }
    };
    (@get $row:ident, $column:ident, tokens, $ty:ty) => {{
        let mut tokens: TokenColumns = [0; 5];
        for slot in &mut tokens {
            *slot = $row.try_get(*$column)?;
            *$column += 1;
        }
        tokens
    }};
    (@get $row:ident, $column:ident, $field:ident, $ty:ty) => {{
        let value = $row.try_get::<$ty, usize>(*$column)?;
        *$column += 1;
        value
    }};
}

row_struct!(
    /// A row of `traces`, in `sql::trace_columns!` order.
    TraceRow {
        id: String,
        task_id: Option<i64>,
        role: String,
        model: String,
        status: String,
        started_at: String,
        ended_at: Option<String>,
        tokens: TokenColumns,
        cost_micros: Option<i64>,
        error: Option<String>,
    }
);

row_struct!(
    /// A row of `spans`, in `sql::span_columns!` order.
    SpanRow {
        id: String,
        trace_id: String,
        parent_id: Option<String>,
        name: String,
        operation: String,
        started_at: String,
        ended_at: Option<String>,
        status: String,
        error: Option<String>,
        model: Option<String>,
        provider: Option<String>,
        tool_name: Option<String>,
        tokens: TokenColumns,
        cost_micros: Option<i64>,
        attributes: String,
    }
);

/// `key, runs`, the five token sums, `cost_micros, unknown_cost_runs` from `sql::COST_BY_*`.
pub(crate) type CostRowRaw = (String, i64, i64, i64, i64, i64, i64, Option<i64>, i64);

/// `direction, kind, body` from `sql::SPAN_CONTENTS`.
pub(crate) type ContentRow = (String, String, String);

/// Converts a trace row.
pub(crate) fn trace(row: TraceRow) -> Result<Trace, StoreError> {
    let context = format!("trace {}", row.id);
    Ok(Trace {
        task_id: row.task_id.map(TaskId),
        role: row.role,
        model: row.model,
        status: span_status(&row.status, &context)?,
        started_at: time::from_text(&row.started_at, &context)?,
        ended_at: row
            .ended_at
            .map(|at| time::from_text(&at, &context))
            .transpose()?,
        tokens: token_counts(row.tokens, &context)?,
        cost_micros: row.cost_micros,
        error: row.error,
        id: TraceId(row.id),
    })
}

/// Parses a span's stored attributes: a JSON object.
pub(crate) fn attributes(
    text: &str,
    context: &str,
) -> Result<BTreeMap<String, serde_json::Value>, StoreError> {
    serde_json::from_str(text)
        .map_err(|err| StoreError::corrupt_row(context, format!("attributes: {err}")))
}

/// Converts a span row.
pub(crate) fn span(row: SpanRow) -> Result<Span, StoreError> {
    let context = format!("span {}", row.id);
    Ok(Span {
        trace_id: TraceId(row.trace_id),
        parent_id: row.parent_id.map(SpanId),
        name: row.name,
        operation: row.operation,
        started_at: time::from_text(&row.started_at, &context)?,
        ended_at: row
            .ended_at
            .map(|at| time::from_text(&at, &context))
            .transpose()?,
        status: span_status(&row.status, &context)?,
        error: row.error,
        model: row.model,
        provider: row.provider,
        tool_name: row.tool_name,
        tokens: token_counts(row.tokens, &context)?,
        cost_micros: row.cost_micros,
        attributes: attributes(&row.attributes, &context)?,
        id: SpanId(row.id),
    })
}

/// Converts a cost group row.
pub(crate) fn cost_row(
    (key, runs, input, cache_read, cache_write, output, reasoning, cost_micros, unknown): CostRowRaw,
) -> Result<CostRow, StoreError> {
    let context = format!("cost of `{key}`");
    let count = |n: i64| {
        u64::try_from(n)
            .map_err(|_| StoreError::corrupt_row(&context, format!("negative count {n}")))
    };
    Ok(CostRow {
        runs: count(runs)?,
        tokens: token_counts(
            [input, cache_read, cache_write, output, reasoning],
            &context,
        )?,
        cost_micros,
        unknown_cost_runs: count(unknown)?,
        key,
    })
}

/// Orders cost groups by key, byte by byte (tasks by number, no task first),
/// the same on both backends whatever the server's collation.
pub(crate) fn order_cost_rows(group: CostGroup, rows: &mut [CostRow]) {
    match group {
        CostGroup::Task => rows.sort_by_key(|row| row.key.parse::<i64>().unwrap_or(0)),
        CostGroup::Model | CostGroup::Role | CostGroup::Day => {
            rows.sort_by(|a, b| a.key.cmp(&b.key));
        }
    }
}

/// Converts a linked body row.
pub(crate) fn content(
    (direction, kind, body): ContentRow,
) -> Result<(ContentDirection, ContentRef), StoreError> {
    let bad = |err| StoreError::corrupt_row("span contents", err);
    Ok((
        direction.parse().map_err(bad)?,
        ContentRef {
            kind: kind.parse::<ContentKind>().map_err(bad)?,
            body,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, state: &str, dep: Option<i64>) -> TaskRow {
        let at = "2026-01-02T03:04:05.000006Z".to_owned();
        (
            id,
            "t".into(),
            "b".into(),
            "l".into(),
            state.into(),
            at.clone(),
            at,
            dep,
        )
    }

    #[test]
    fn joined_rows_group_into_tasks() {
        let tasks = tasks(vec![
            row(1, "queued", None),
            row(2, "coding", Some(1)),
            row(2, "coding", Some(3)),
        ])
        .unwrap();
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].depends_on, []);
        assert_eq!(tasks[1].depends_on, [TaskId(1), TaskId(3)]);
        assert_eq!(tasks[1].state, TaskState::Coding);
    }

    #[test]
    fn unknown_states_are_corrupt_rows() {
        let err = tasks(vec![row(4, "done", None)]).unwrap_err();
        assert!(matches!(err, StoreError::CorruptRow { .. }), "{err}");
        assert!(err.to_string().contains("task 4"), "{err}");
    }

    #[test]
    fn dependencies_are_sorted_and_unique() {
        let ids = [TaskId(3), TaskId(1), TaskId(3)];
        assert_eq!(dependency_list(&ids), [TaskId(1), TaskId(3)]);
    }

    #[test]
    fn token_columns_round_trip_and_negative_counts_are_corrupt() {
        let tokens = TokenCounts {
            input: 1,
            cache_read: 2,
            cache_write: 3,
            output: 4,
            reasoning: 5,
        };
        assert_eq!(token_columns(&tokens), [1, 2, 3, 4, 5]);
        assert_eq!(token_counts([1, 2, 3, 4, 5], "t").unwrap(), tokens);
        let err = token_counts([1, -2, 3, 4, 5], "span ab").unwrap_err();
        assert!(err.to_string().contains("span ab"), "{err}");
        let huge = TokenCounts {
            output: u64::MAX,
            ..TokenCounts::default()
        };
        assert_eq!(token_columns(&huge)[3], i64::MAX);
    }

    #[test]
    fn unreadable_span_fields_are_corrupt_rows() {
        let row = || SpanRow {
            id: "00f067aa0ba902b7".into(),
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            parent_id: None,
            name: "chat m".into(),
            operation: "chat".into(),
            started_at: "2026-01-02T03:04:05.000006Z".into(),
            ended_at: None,
            status: "ok".into(),
            error: None,
            model: None,
            provider: None,
            tool_name: None,
            tokens: [0; 5],
            cost_micros: None,
            attributes: "{}".into(),
        };
        assert!(span(row()).is_ok());
        for broken in [
            SpanRow {
                status: "fine".into(),
                ..row()
            },
            SpanRow {
                attributes: "[1]".into(),
                ..row()
            },
            SpanRow {
                ended_at: Some("later".into()),
                ..row()
            },
        ] {
            let err = span(broken).unwrap_err();
            assert!(matches!(err, StoreError::CorruptRow { .. }), "{err}");
            assert!(err.to_string().contains("span 00f067aa0ba902b7"), "{err}");
        }
        let err = content(("sideways".into(), "message".into(), String::new())).unwrap_err();
        assert!(err.to_string().contains("sideways"), "{err}");
    }
}
