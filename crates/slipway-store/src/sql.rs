//! The queries, in SQL that SQLite and PostgreSQL both accept (`$1`
//! placeholders, `ON CONFLICT … DO UPDATE … WHERE`, `RETURNING`, casts of
//! aggregates to `BIGINT`), so one implementation serves both backends.

macro_rules! task_columns {
    () => {
        "t.id, t.title, t.body, t.lane, t.state, t.created_at, t.updated_at, d.depends_on"
    };
}

macro_rules! event_columns {
    () => {
        "id, task_id, at, actor, from_state, to_state, reason"
    };
}

macro_rules! lease_columns {
    () => {
        "name, holder, acquired_at, expires_at, generation"
    };
}

pub(crate) const SCHEMA_VERSION: &str =
    "SELECT COALESCE(MAX(version), 0) FROM slipway_schema_migrations";

pub(crate) const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS slipway_schema_migrations \
     (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)";

pub(crate) const RECORD_MIGRATION: &str =
    "INSERT INTO slipway_schema_migrations (version, applied_at) VALUES ($1, $2)";

pub(crate) const TASK_EXISTS: &str = "SELECT id FROM tasks WHERE id = $1";

pub(crate) const TASK_STATE: &str = "SELECT state FROM tasks WHERE id = $1";

/// Binds `title, body, lane, state, created_at` (also `updated_at`).
pub(crate) const INSERT_TASK: &str = "INSERT INTO tasks \
     (title, body, lane, state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
     RETURNING id";

pub(crate) const INSERT_DEPENDENCY: &str =
    "INSERT INTO task_deps (task_id, depends_on) VALUES ($1, $2)";

/// Binds `task_id, at, actor, from_state, to_state, reason`.
pub(crate) const INSERT_EVENT: &str = "INSERT INTO task_events \
     (task_id, at, actor, from_state, to_state, reason) VALUES ($1, $2, $3, $4, $5, $6)";

/// The compare-and-swap: binds the new state, `updated_at`, the id, the state read.
pub(crate) const SWAP_STATE: &str =
    "UPDATE tasks SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4";

pub(crate) const TASK: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks t LEFT JOIN task_deps d ON d.task_id = t.id",
    " WHERE t.id = $1 ORDER BY d.depends_on"
);

/// Binds an optional state and an optional lane.
pub(crate) const TASKS: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks t LEFT JOIN task_deps d ON d.task_id = t.id",
    " WHERE ($1 IS NULL OR t.state = $1) AND ($2 IS NULL OR t.lane = $2)",
    " ORDER BY t.id, d.depends_on"
);

/// The newest `$1` tasks of each lane and state, without their bodies:
/// `id, title, lane, state, updated_at`.
pub(crate) const BOARD_CARDS: &str = "SELECT id, title, lane, state, updated_at FROM (\
     SELECT id, title, lane, state, updated_at, ROW_NUMBER() OVER (\
     PARTITION BY lane, state ORDER BY updated_at DESC, id DESC) AS n FROM tasks) AS r \
     WHERE n <= $1 ORDER BY id";

/// How many tasks each lane has in each state (`rows::board` orders them
/// byte by byte, whatever the server's collation).
pub(crate) const BOARD_COUNTS: &str =
    "SELECT lane, state, COUNT(*) FROM tasks GROUP BY lane, state";

/// Binds an optional task id.
pub(crate) const EVENTS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM task_events WHERE ($1 IS NULL OR task_id = $1) ORDER BY id"
);

/// Events with an id above `$1`, oldest first; binds the id and the limit.
pub(crate) const EVENTS_AFTER: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM task_events WHERE id > $1 ORDER BY id LIMIT $2"
);

pub(crate) const LAST_EVENT_ID: &str = "SELECT COALESCE(MAX(id), 0) FROM task_events";

/// Takes a free or expired lease, or renews one the holder has (keeping its
/// `acquired_at` and generation); returns no row when someone else holds it.
/// Taking a lease over raises its generation, the fencing token.
///
/// Binds `name, holder, now, expires_at, expires_at_us, now_us`.
pub(crate) const ACQUIRE_LEASE: &str = concat!(
    "INSERT INTO leases (name, holder, acquired_at, expires_at, expires_at_us, generation)",
    " VALUES ($1, $2, $3, $4, $5, 1)",
    " ON CONFLICT (name) DO UPDATE SET",
    " generation = CASE WHEN leases.holder = excluded.holder AND leases.expires_at_us > $6",
    " THEN leases.generation ELSE leases.generation + 1 END,",
    " acquired_at = CASE WHEN leases.holder = excluded.holder AND leases.expires_at_us > $6",
    " THEN leases.acquired_at ELSE excluded.acquired_at END,",
    " holder = excluded.holder,",
    " expires_at = excluded.expires_at,",
    " expires_at_us = excluded.expires_at_us",
    " WHERE leases.holder = excluded.holder OR leases.expires_at_us <= $6",
    " RETURNING ",
    lease_columns!()
);

/// Binds `name, holder, expires_at, expires_at_us, now_us`.
pub(crate) const RENEW_LEASE: &str = concat!(
    "UPDATE leases SET expires_at = $3, expires_at_us = $4",
    " WHERE name = $1 AND holder = $2 AND expires_at_us > $5",
    " RETURNING ",
    lease_columns!()
);

/// Marks the lease free but keeps its row, so the generation keeps rising.
pub(crate) const RELEASE_LEASE: &str = "UPDATE leases SET holder = '', expires_at_us = 0 WHERE name = $1 AND holder = $2 AND holder <> ''";

pub(crate) const LEASE: &str = concat!(
    "SELECT ",
    lease_columns!(),
    " FROM leases WHERE name = $1 AND holder <> ''"
);

macro_rules! trace_columns {
    () => {
        "id, task_id, role, model, status, started_at, ended_at, \
         input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, \
         cost_micros, error"
    };
}

macro_rules! span_columns {
    () => {
        "id, trace_id, parent_id, name, operation, started_at, ended_at, status, error, \
         model, provider, tool_name, \
         input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, \
         cost_micros, attributes"
    };
}

/// Binds `id, task_id, role, model, status, started_at, ended_at, duration_us`,
/// the five token counts, `cost_micros, error`.
pub(crate) const INSERT_TRACE: &str = concat!(
    "INSERT INTO traces (",
    "id, task_id, role, model, status, started_at, ended_at, duration_us, ",
    "input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, ",
    "cost_micros, error",
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
);

pub(crate) const TRACE_STARTED_AT: &str = "SELECT started_at FROM traces WHERE id = $1";

/// Binds the id, `status, ended_at, duration_us`, the five token counts, `cost_micros, error`.
pub(crate) const FINISH_TRACE: &str = "UPDATE traces SET status = $2, ended_at = $3, duration_us = $4, \
     input_tokens = $5, cache_read_tokens = $6, cache_write_tokens = $7, output_tokens = $8, \
     reasoning_tokens = $9, cost_micros = $10, error = $11 WHERE id = $1";

/// Newest first; binds the limit.
pub(crate) const TRACES: &str = concat!(
    "SELECT ",
    trace_columns!(),
    " FROM traces ORDER BY started_at DESC, id DESC LIMIT $1"
);

/// A task's runs, oldest first; binds the task id.
pub(crate) const TRACES_OF_TASK: &str = concat!(
    "SELECT ",
    trace_columns!(),
    " FROM traces WHERE task_id = $1 ORDER BY started_at, id"
);

pub(crate) const TRACE: &str = concat!("SELECT ", trace_columns!(), " FROM traces WHERE id = $1");

/// The columns a span is written with, in the order of
/// `recording::span_rows`'s values.
macro_rules! span_insert_columns {
    () => {
        "id, trace_id, parent_id, name, operation, started_at, ended_at, duration_us, status, \
         error, model, provider, tool_name, input_tokens, cache_read_tokens, cache_write_tokens, \
         output_tokens, reasoning_tokens, cost_micros, attributes"
    };
}
pub(crate) use span_insert_columns;

/// Returns the trace of a span; binds the span id.
pub(crate) const SPAN_TRACE: &str = "SELECT trace_id FROM spans WHERE id = $1";

pub(crate) const SPAN_FOR_FINISH: &str = "SELECT started_at, attributes FROM spans WHERE id = $1";

/// Binds the id, `status, ended_at, duration_us, error`, the five token
/// counts, `cost_micros, attributes`.
pub(crate) const FINISH_SPAN: &str = "UPDATE spans SET status = $2, ended_at = $3, duration_us = $4, \
     error = $5, input_tokens = $6, cache_read_tokens = $7, cache_write_tokens = $8, \
     output_tokens = $9, reasoning_tokens = $10, cost_micros = $11, attributes = $12 WHERE id = $1";

/// A trace's spans in the order they started; binds the trace id.
pub(crate) const SPANS_OF_TRACE: &str = concat!(
    "SELECT ",
    span_columns!(),
    " FROM spans WHERE trace_id = $1 ORDER BY started_at, id"
);

pub(crate) const CONTENT_BY_HASH: &str = "SELECT id FROM contents WHERE sha256 = $1";

pub(crate) const CONTENT_EXISTS: &str = "SELECT id FROM contents WHERE id = $1";

/// Returns no row when another writer stored the same body first.
pub(crate) const INSERT_CONTENT: &str = "INSERT INTO contents (sha256, kind, body) VALUES ($1, $2, $3) \
     ON CONFLICT (sha256) DO NOTHING RETURNING id";

/// Binds the span id and the direction.
pub(crate) const NEXT_CONTENT_POSITION: &str = "SELECT COALESCE(MAX(position), -1) + 1 \
     FROM span_contents WHERE span_id = $1 AND direction = $2";

/// Inputs (the prefix of its context the span sent, then its own input
/// links), then outputs, each in order; binds the span id.
pub(crate) const SPAN_CONTENTS: &str = "SELECT 'input' AS direction, c.kind, c.body, \
     0 AS part, cm.position AS position \
     FROM span_contexts sx \
     JOIN context_messages cm ON cm.context_span_id = sx.context_span_id \
     AND cm.position < sx.messages \
     JOIN contents c ON c.id = cm.content_id WHERE sx.span_id = $1 \
     UNION ALL \
     SELECT sc.direction, c.kind, c.body, CASE sc.direction WHEN 'input' THEN 1 ELSE 2 END, \
     sc.position \
     FROM span_contents sc JOIN contents c ON c.id = sc.content_id WHERE sc.span_id = $1 \
     ORDER BY part, position";

/// Tokens and cost of runs grouped by `$key`, since an optional instant (`$1`).
/// `SUM` skips NULL costs and is NULL when all are: an unknown cost is never
/// summed as 0. PostgreSQL's `SUM(BIGINT)` is NUMERIC, hence the casts. The
/// caller orders the rows, so the order does not hang on a server's collation.
macro_rules! cost_by {
    ($key:literal) => {
        concat!(
            "SELECT ",
            $key,
            ", COUNT(*),",
            " CAST(SUM(input_tokens) AS BIGINT), CAST(SUM(cache_read_tokens) AS BIGINT),",
            " CAST(SUM(cache_write_tokens) AS BIGINT), CAST(SUM(output_tokens) AS BIGINT),",
            " CAST(SUM(reasoning_tokens) AS BIGINT), CAST(SUM(cost_micros) AS BIGINT),",
            " CAST(SUM(CASE WHEN cost_micros IS NULL THEN 1 ELSE 0 END) AS BIGINT)",
            " FROM traces WHERE ($1 IS NULL OR started_at >= $1)",
            " GROUP BY ",
            $key
        )
    };
}

pub(crate) const COST_BY_MODEL: &str = cost_by!("model");
pub(crate) const COST_BY_ROLE: &str = cost_by!("role");
/// Runs of no task have the empty key.
pub(crate) const COST_BY_TASK: &str = cost_by!("COALESCE(CAST(task_id AS TEXT), '')");
pub(crate) const COST_BY_DAY: &str = cost_by!("substr(started_at, 1, 10)");

pub(crate) const DELETE_TASK_SEAMS: &str = "DELETE FROM task_seams WHERE task_id = $1";

pub(crate) const INSERT_TASK_SEAM: &str = "INSERT INTO task_seams (task_id, seam) VALUES ($1, $2)";

/// Unordered: the caller sorts, so the order does not hang on a server's collation.
pub(crate) const TASK_SEAMS: &str = "SELECT seam FROM task_seams WHERE task_id = $1";

/// Binds `task_id, at, stage, passed, summary, body, sha, trace_id`, the three test counts.
pub(crate) const INSERT_STAGE_RESULT: &str = "INSERT INTO stage_results \
     (task_id, at, stage, passed, summary, body, sha, trace_id, \
     tests_passed, tests_failed, tests_skipped) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";

/// Binds `result_id, task_id, severity, title, detail, location`.
pub(crate) const INSERT_FINDING: &str = "INSERT INTO findings \
     (result_id, task_id, severity, title, detail, location) VALUES ($1, $2, $3, $4, $5, $6)";

/// A task's stage results, oldest first; binds the task id.
pub(crate) const STAGE_RESULTS: &str = "SELECT id, task_id, at, stage, passed, summary, body, \
     sha, trace_id, tests_passed, tests_failed, tests_skipped \
     FROM stage_results WHERE task_id = $1 ORDER BY id";

/// A task's findings in the order they were written; binds the task id.
pub(crate) const FINDINGS: &str = "SELECT result_id, severity, title, detail, location \
     FROM findings WHERE task_id = $1 ORDER BY id";

/// Returns no row when a release of the same number is recorded (a rollback
/// never conflicts). Binds `at, kind, number, sha, tag, note, actor`.
pub(crate) const INSERT_RELEASE: &str = "INSERT INTO releases \
     (at, kind, number, sha, tag, note, actor) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (number) WHERE kind = 'release' DO NOTHING RETURNING id";

pub(crate) const INSERT_RELEASE_TASK: &str =
    "INSERT INTO release_tasks (release_id, task_id) VALUES ($1, $2)";

/// Newest (last recorded) first.
pub(crate) const RELEASES: &str =
    "SELECT id, at, kind, number, sha, tag, note, actor FROM releases ORDER BY id DESC";

pub(crate) const RELEASE_TASKS: &str =
    "SELECT release_id, task_id FROM release_tasks ORDER BY release_id, task_id";
