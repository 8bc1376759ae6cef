-- What a model call sent, as a prefix of its context instead of one link per
-- message: between two compactions a conversation only grows at its end, so
-- each message of a context is written once, in its place, and a call names
-- how many of them it sent. Writes per step stay O(1) rows however long the
-- run. Calls recorded before this version keep their input links in
-- span_contents, which also keeps every other link (responses, tool
-- arguments and results, summaries).

-- A context is named by the chat span that opened it; position 0 is the
-- system prompt. Positions of a context are 0..k with no gap.
CREATE TABLE context_messages (
    context_span_id TEXT NOT NULL REFERENCES spans (id),
    position        INTEGER NOT NULL CHECK (position >= 0),
    content_id      INTEGER NOT NULL REFERENCES contents (id),
    PRIMARY KEY (context_span_id, position)
) WITHOUT ROWID;

-- The call sent the first `messages` messages of its context.
CREATE TABLE span_contexts (
    span_id         TEXT PRIMARY KEY REFERENCES spans (id),
    context_span_id TEXT NOT NULL REFERENCES spans (id),
    messages        INTEGER NOT NULL CHECK (messages >= 1)
) WITHOUT ROWID;
