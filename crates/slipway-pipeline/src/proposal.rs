//! `slipway plan SPEC.md`: the planner's proposal of tasks, as strict JSON,
//! checked against the project's lanes and seams before a person confirms it.
//!
//! ```json
//! {"tasks": [
//!   {"title": "Add decrement", "lane": "api", "body": "…", "seams": [], "depends_on": []},
//!   {"title": "Show it", "lane": "web", "body": "…", "seams": [], "depends_on": [1]}
//! ]}
//! ```
//!
//! `depends_on` names earlier tasks of the same proposal by their position,
//! from 1, so the dependencies cannot form a cycle.

use serde::Deserialize;

/// One task the planner proposes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposedTask {
    pub title: String,
    pub lane: String,
    #[serde(default)]
    pub body: String,
    /// Seam entries the task expects to change, as `[seams] paths` lists them.
    #[serde(default)]
    pub seams: Vec<String>,
    /// Positions (from 1) of earlier tasks in the proposal that must be staged first.
    #[serde(default)]
    pub depends_on: Vec<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Proposal {
    tasks: Vec<ProposedTask>,
}

/// The most tasks one proposal may hold.
pub const MAX_PROPOSED: usize = 50;

/// What the planner should answer, for its prompt.
pub const PROPOSAL_HINT: &str = "Answer with only a JSON object, no prose around it: \
{\"tasks\": [{\"title\": \"one line\", \"lane\": \"a lane of this project\", \"body\": \"what to do and how to know it is done\", \
\"seams\": [\"seam paths it must change, from [seams]\"], \"depends_on\": [positions, from 1, of earlier tasks it needs]}]}. \
Each task fits in one lane; split work that crosses lanes into tasks with dependencies.";

/// Why a proposal cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the proposal cannot be used: {0}")]
pub struct ProposalError(pub String);

/// Reads the planner's answer (one JSON object, optionally in one Markdown
/// fence) and checks every task against `lanes` and `seams`.
pub fn parse_proposal(
    answer: &str,
    lanes: &[&str],
    seams: &[&str],
) -> Result<Vec<ProposedTask>, ProposalError> {
    let text = unfence(answer.trim());
    let proposal: Proposal = serde_json::from_str(text).map_err(|e| {
        ProposalError(format!(
            "{e} (line {}, column {}); {PROPOSAL_HINT}",
            e.line(),
            e.column()
        ))
    })?;
    let tasks = proposal.tasks;
    if tasks.is_empty() {
        return Err(ProposalError("it holds no task".into()));
    }
    if tasks.len() > MAX_PROPOSED {
        return Err(ProposalError(format!(
            "it holds {} tasks, more than {MAX_PROPOSED}: split the spec",
            tasks.len()
        )));
    }
    for (i, task) in tasks.iter().enumerate() {
        let n = i + 1;
        let bad = |what: String| ProposalError(format!("task {n}: {what}"));
        if task.title.trim().is_empty() {
            return Err(bad("its title is empty".into()));
        }
        if !lanes.contains(&task.lane.as_str()) {
            return Err(bad(format!(
                "no lane `{}`; lanes: {}",
                task.lane,
                lanes.join(", ")
            )));
        }
        if let Some(seam) = task.seams.iter().find(|s| !seams.contains(&s.as_str())) {
            return Err(bad(format!(
                "`{seam}` is not a seam of this project; seams: {}",
                if seams.is_empty() {
                    "none".to_owned()
                } else {
                    seams.join(", ")
                }
            )));
        }
        if let Some(dep) = task.depends_on.iter().find(|d| **d == 0 || **d >= n) {
            return Err(bad(format!(
                "it depends on {dep}, which is not an earlier task of the proposal (1 to {})",
                n - 1
            )));
        }
    }
    Ok(tasks)
}

/// Returns the text inside one enclosing Markdown code fence, or the text.
fn unfence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let Some(body_start) = rest.find('\n') else {
        return text;
    };
    let body = &rest[body_start + 1..];
    body.strip_suffix("```").map_or(text, str::trim)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const LANES: &[&str] = &["api", "web"];
    const SEAMS: &[&str] = &["db/schema.sql"];

    #[test]
    fn a_good_proposal_is_read_in_a_fence_or_bare() {
        let json = r#"{"tasks": [
            {"title": "Add decrement", "lane": "api", "seams": ["db/schema.sql"]},
            {"title": "Show it", "lane": "web", "body": "in the title", "depends_on": [1]}
        ]}"#;
        for answer in [json.to_owned(), format!("```json\n{json}\n```")] {
            let tasks = parse_proposal(&answer, LANES, SEAMS).unwrap();
            assert_eq!(tasks.len(), 2);
            assert_eq!(tasks[1].depends_on, [1]);
            assert_eq!(tasks[0].seams, ["db/schema.sql"]);
            assert_eq!(tasks[1].body, "in the title");
        }
    }

    #[test]
    fn bad_proposals_say_what_is_wrong() {
        let cases = [
            ("Here are the tasks: {}", "expected value"),
            (r#"{"tasks": []}"#, "no task"),
            (
                r#"{"tasks": [{"title": " ", "lane": "api"}]}"#,
                "task 1: its title is empty",
            ),
            (
                r#"{"tasks": [{"title": "x", "lane": "db"}]}"#,
                "no lane `db`; lanes: api, web",
            ),
            (
                r#"{"tasks": [{"title": "x", "lane": "api", "seams": ["Cargo.lock"]}]}"#,
                "`Cargo.lock` is not a seam",
            ),
            (
                r#"{"tasks": [{"title": "x", "lane": "api", "depends_on": [1]}]}"#,
                "depends on 1, which is not an earlier task",
            ),
            (
                r#"{"tasks": [{"title": "x", "lane": "api", "owner": "me"}]}"#,
                "unknown field `owner`",
            ),
        ];
        for (answer, expected) in cases {
            let err = parse_proposal(answer, LANES, SEAMS)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{answer}: {err}");
        }
    }

    proptest! {
        /// Dependencies only ever point backwards, so a proposal that parses has no cycle.
        #[test]
        fn accepted_dependencies_point_to_earlier_tasks(deps in proptest::collection::vec(proptest::collection::vec(0usize..8, 0..3), 1..8)) {
            let tasks: Vec<String> = deps
                .iter()
                .map(|d| format!(r#"{{"title": "t", "lane": "api", "depends_on": {d:?}}}"#))
                .collect();
            let answer = format!(r#"{{"tasks": [{}]}}"#, tasks.join(","));
            match parse_proposal(&answer, LANES, SEAMS) {
                Ok(parsed) => {
                    for (i, task) in parsed.iter().enumerate() {
                        prop_assert!(task.depends_on.iter().all(|d| *d >= 1 && *d <= i));
                    }
                }
                Err(err) => {
                    let bad = deps.iter().enumerate().any(|(i, d)| d.iter().any(|x| *x == 0 || *x > i));
                    prop_assert!(bad, "refused a good proposal: {err}");
                }
            }
        }

        #[test]
        fn any_text_gives_an_answer_and_no_panic(text in ".{0,300}") {
            let _ = parse_proposal(&text, LANES, SEAMS);
        }
    }
}
