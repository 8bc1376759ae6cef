//! The root-cause queries `docs/tracing.md` documents, kept here so the
//! conformance suite runs each one, as written there, on SQLite and on
//! PostgreSQL.
//!
//! They stay within what both dialects accept: `$1` parameters, days as
//! `substr(started_at, 1, 10)`, `CAST(SUM(…) AS BIGINT)` (PostgreSQL's sum of
//! BIGINT is NUMERIC), `NULLIF` against division by zero, no date functions.

/// `(title, SQL)` of each documented query; a title names the query's parameters.
pub const DOC_QUERIES: &[(&str, &str)] = &[
    (
        "The slowest tool calls of a run ($1: the trace id)",
        "SELECT tool_name, name, status, duration_us
FROM spans
WHERE trace_id = $1 AND operation = 'execute_tool' AND duration_us IS NOT NULL
ORDER BY duration_us DESC, id
LIMIT 10",
    ),
    (
        "The step (model call) of a run that burned the most tokens ($1: the trace id)",
        "SELECT id, name,
       input_tokens + cache_read_tokens + cache_write_tokens + output_tokens AS tokens,
       cache_read_tokens, output_tokens, cost_micros
FROM spans
WHERE trace_id = $1 AND operation = 'chat'
ORDER BY tokens DESC, started_at, id
LIMIT 1",
    ),
    (
        "Roles and models whose cost per run rose against the week before \
         ($1: the first of the last 7 days, $2: the first of the 7 before)",
        "WITH runs AS (
    SELECT role, model, cost_micros,
           CASE WHEN substr(started_at, 1, 10) >= $1 THEN 1 ELSE 0 END AS recent
    FROM traces
    WHERE substr(started_at, 1, 10) >= $2 AND cost_micros IS NOT NULL
),
weeks AS (
    SELECT role, model,
           CAST(SUM(CASE WHEN recent = 0 THEN cost_micros END) AS BIGINT)
               / NULLIF(SUM(1 - recent), 0) AS before_per_run,
           CAST(SUM(CASE WHEN recent = 1 THEN cost_micros END) AS BIGINT)
               / NULLIF(SUM(recent), 0) AS recent_per_run
    FROM runs
    GROUP BY role, model
)
SELECT role, model, before_per_run, recent_per_run
FROM weeks
WHERE recent_per_run > before_per_run
ORDER BY recent_per_run - before_per_run DESC, role, model",
    ),
    (
        "Tool calls policy denied, newest first",
        "SELECT t.role, s.tool_name, s.error, s.started_at, s.trace_id
FROM spans s
JOIN traces t ON t.id = s.trace_id
WHERE s.operation = 'execute_tool' AND s.status = 'denied'
ORDER BY s.started_at DESC, s.id
LIMIT 50",
    ),
    (
        "Model call errors by provider",
        "SELECT provider,
       COUNT(*) AS calls,
       SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS errors,
       MAX(CASE WHEN status = 'error' THEN started_at END) AS last_error_at
FROM spans
WHERE operation = 'chat'
GROUP BY provider
HAVING SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) > 0
ORDER BY errors DESC, provider",
    ),
    (
        "What a model call sent ($1: the span id)",
        "SELECT 'context' AS source, cm.position, c.kind, c.body
FROM span_contexts sx
JOIN context_messages cm ON cm.context_span_id = sx.context_span_id
                         AND cm.position < sx.messages
JOIN contents c ON c.id = cm.content_id
WHERE sx.span_id = $1
UNION ALL
SELECT 'link', sc.position, c.kind, c.body
FROM span_contents sc
JOIN contents c ON c.id = sc.content_id
WHERE sc.span_id = $1 AND sc.direction = 'input'
ORDER BY source, position",
    ),
    (
        "The bodies that fill the context: sent most, times their length",
        "WITH sends AS (
  SELECT cm.content_id
  FROM span_contexts sx
  JOIN context_messages cm ON cm.context_span_id = sx.context_span_id
                           AND cm.position < sx.messages
  UNION ALL
  SELECT content_id FROM span_contents WHERE direction = 'input'
)
SELECT c.id, c.kind, LENGTH(c.body) AS chars, COUNT(*) AS sends
FROM sends
JOIN contents c ON c.id = sends.content_id
GROUP BY c.id
ORDER BY COUNT(*) * LENGTH(c.body) DESC, c.id
LIMIT 10",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_unique_and_parameters_are_named() {
        let mut titles: Vec<&str> = DOC_QUERIES.iter().map(|(title, _)| *title).collect();
        titles.sort_unstable();
        titles.dedup();
        assert_eq!(titles.len(), DOC_QUERIES.len());
        for (title, sql) in DOC_QUERIES {
            for param in ["$1", "$2"] {
                assert_eq!(
                    sql.contains(param),
                    title.contains(param),
                    "{title}: the title names exactly the parameters the query uses"
                );
            }
            assert!(!sql.ends_with(';') && !sql.ends_with('\n'), "{title}");
        }
    }
}
