-- Traces (one per run), their spans, and the prompt and response bodies the
-- spans sent and received, each body stored once.
-- Tokens are kept apart by kind: input_tokens is uncached input only;
-- cache_read_tokens and cache_write_tokens are the input read from and written
-- to the provider's prompt cache; output_tokens includes reasoning_tokens.
-- Costs are integer micro-dollars, NULL when the price was unknown (never 0).
-- Timestamps are RFC 3339 UTC text with six fractional digits and `Z`.

CREATE TABLE traces (
    id                 TEXT PRIMARY KEY,
    task_id            INTEGER REFERENCES tasks (id),
    role               TEXT NOT NULL,
    model              TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('running', 'ok', 'error', 'denied')),
    started_at         TEXT NOT NULL,
    ended_at           TEXT,
    duration_us        INTEGER,
    input_tokens       INTEGER NOT NULL,
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost_micros        INTEGER,
    error              TEXT
);
CREATE INDEX traces_started ON traces (started_at);
CREATE INDEX traces_task ON traces (task_id, started_at);

CREATE TABLE spans (
    id                 TEXT PRIMARY KEY,
    trace_id           TEXT NOT NULL REFERENCES traces (id),
    parent_id          TEXT REFERENCES spans (id),
    name               TEXT NOT NULL,
    operation          TEXT NOT NULL,
    started_at         TEXT NOT NULL,
    ended_at           TEXT,
    duration_us        INTEGER,
    status             TEXT NOT NULL CHECK (status IN ('running', 'ok', 'error', 'denied')),
    error              TEXT,
    model              TEXT,
    provider           TEXT,
    tool_name          TEXT,
    input_tokens       INTEGER NOT NULL,
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost_micros        INTEGER,
    -- A JSON object of OpenTelemetry attributes, as text.
    attributes         TEXT NOT NULL
);
CREATE INDEX spans_trace ON spans (trace_id, started_at);
CREATE INDEX spans_parent ON spans (parent_id);
CREATE INDEX spans_operation_status ON spans (operation, status);
CREATE INDEX spans_provider_status ON spans (provider, status);

CREATE TABLE contents (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Hex SHA-256 of the kind, a NUL byte, and the body as sent.
    sha256 TEXT NOT NULL UNIQUE,
    kind   TEXT NOT NULL,
    body   TEXT NOT NULL
);

CREATE TABLE span_contents (
    span_id    TEXT NOT NULL REFERENCES spans (id),
    direction  TEXT NOT NULL CHECK (direction IN ('input', 'output')),
    position   INTEGER NOT NULL,
    content_id INTEGER NOT NULL REFERENCES contents (id),
    PRIMARY KEY (span_id, direction, position)
);
CREATE INDEX span_contents_content ON span_contents (content_id);
