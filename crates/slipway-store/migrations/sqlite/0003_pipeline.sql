-- The pipeline's records: the seams each task expects to change, the result
-- of every stage run with its findings, and the moves of production
-- (releases and rollbacks) with the tasks they list. Stage results, findings
-- and releases are history: append-only, like task_events.
-- Timestamps are RFC 3339 UTC text with six fractional digits and `Z`.

CREATE TABLE task_seams (
    task_id INTEGER NOT NULL REFERENCES tasks (id),
    seam    TEXT NOT NULL,
    PRIMARY KEY (task_id, seam)
);

CREATE TABLE stage_results (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id       INTEGER NOT NULL REFERENCES tasks (id),
    at            TEXT NOT NULL,
    stage         TEXT NOT NULL,
    passed        INTEGER NOT NULL CHECK (passed IN (0, 1)),
    summary       TEXT NOT NULL,
    body          TEXT NOT NULL,
    sha           TEXT,
    trace_id      TEXT,
    -- All three NULL when the stage counted no tests.
    tests_passed  INTEGER,
    tests_failed  INTEGER,
    tests_skipped INTEGER,
    CHECK ((tests_passed IS NULL) = (tests_failed IS NULL)
        AND (tests_failed IS NULL) = (tests_skipped IS NULL))
);
CREATE INDEX stage_results_task ON stage_results (task_id, id);

CREATE TABLE findings (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    result_id INTEGER NOT NULL REFERENCES stage_results (id),
    task_id   INTEGER NOT NULL REFERENCES tasks (id),
    severity  TEXT NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    title     TEXT NOT NULL,
    detail    TEXT NOT NULL,
    location  TEXT NOT NULL
);
CREATE INDEX findings_task ON findings (task_id, id);

CREATE TABLE releases (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('release', 'rollback')),
    -- A release's own N of `release-N`; for a rollback, the release it went back to.
    number INTEGER NOT NULL,
    sha    TEXT NOT NULL,
    tag    TEXT NOT NULL,
    note   TEXT NOT NULL,
    actor  TEXT NOT NULL
);
CREATE UNIQUE INDEX releases_number ON releases (number) WHERE kind = 'release';

CREATE TABLE release_tasks (
    release_id INTEGER NOT NULL REFERENCES releases (id),
    task_id    INTEGER NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (release_id, task_id)
);
CREATE INDEX release_tasks_task ON release_tasks (task_id);

CREATE TRIGGER stage_results_no_update BEFORE UPDATE ON stage_results
BEGIN
    SELECT RAISE(ABORT, 'stage_results is append-only');
END;
CREATE TRIGGER stage_results_no_delete BEFORE DELETE ON stage_results
BEGIN
    SELECT RAISE(ABORT, 'stage_results is append-only');
END;
CREATE TRIGGER findings_no_update BEFORE UPDATE ON findings
BEGIN
    SELECT RAISE(ABORT, 'findings is append-only');
END;
CREATE TRIGGER findings_no_delete BEFORE DELETE ON findings
BEGIN
    SELECT RAISE(ABORT, 'findings is append-only');
END;
CREATE TRIGGER releases_no_update BEFORE UPDATE ON releases
BEGIN
    SELECT RAISE(ABORT, 'releases is append-only');
END;
CREATE TRIGGER releases_no_delete BEFORE DELETE ON releases
BEGIN
    SELECT RAISE(ABORT, 'releases is append-only');
END;
CREATE TRIGGER release_tasks_no_update BEFORE UPDATE ON release_tasks
BEGIN
    SELECT RAISE(ABORT, 'release_tasks is append-only');
END;
CREATE TRIGGER release_tasks_no_delete BEFORE DELETE ON release_tasks
BEGIN
    SELECT RAISE(ABORT, 'release_tasks is append-only');
END;
