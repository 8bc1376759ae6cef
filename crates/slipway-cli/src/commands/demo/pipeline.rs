//! The demo's agents: one scripted model per role, in process, answering
//! the pipeline's stages for the sample's three tasks in the order they run.
//! Everything else is what `slipway run` uses: the stages and gates, the
//! sandbox, git, the store and the recorder.

use std::collections::BTreeMap;
use std::sync::Arc;

use slipway_llm::{Block, ChatResponse, Provider, ScriptedProvider, StopReason, Usage};
use slipway_policy::AgentRole;

/// The model every role of the demo runs on; the demo's `slipway.toml` names and prices it.
pub(super) const MODEL: &str = "scripted:demo";

/// The price the demo gives its scripted model, in `slipway.toml` syntax.
pub(super) const PRICE: &str = "\n[prices.\"scripted:demo\"]\ninput = 3.0\noutput = 15.0\ncache_read = 0.3\ncache_write = 3.75\n";

/// Returns the scripted model of each role, for the demo's three tasks.
pub(super) fn scripted() -> BTreeMap<AgentRole, Arc<dyn Provider>> {
    let mut roles: BTreeMap<AgentRole, Arc<dyn Provider>> = BTreeMap::new();
    let mut add = |role: AgentRole, replies: Vec<ChatResponse>| {
        roles.insert(
            role,
            Arc::new(ScriptedProvider::new(replies).with_name("scripted")),
        );
    };
    add(
        AgentRole::Planner,
        vec![
            answer(PLAN_1),
            answer(PLAN_2),
            answer(PLAN_WEB),
            answer(PLAN_DOCS),
        ],
    );
    add(
        AgentRole::Reviewer,
        vec![
            answer(PLAN_REVIEW_1),
            answer(PLAN_REVIEW_2),
            answer(r#"{"findings": []}"#),
            answer(r#"{"findings": []}"#),
            answer(r#"{"findings": []}"#),
            answer(r#"{"findings": []}"#),
            answer(DOCS_REVIEW),
        ],
    );
    add(
        AgentRole::Coder,
        vec![
            calls(vec![
                call("c1", "write_file", &write("api/server.py", SERVER_BUGGY)),
                call("c2", "write_file", &write("api/test_server.py", TESTS)),
            ]),
            answer("Added `decrement`, which floors at zero, and three tests for it."),
            calls(vec![call(
                "c3",
                "edit_file",
                &edit(
                    "web/app.js",
                    "return `count: ${count}`;",
                    "document.title = `Tally (${count})`;\n  return `count: ${count}`;",
                ),
            )]),
            answer("The page title now shows the count."),
            calls(vec![call(
                "c4",
                "edit_file",
                &edit(
                    "README.md",
                    "A small counter service with a web page.\n",
                    "A small counter service with a web page.\n\n\
                     `increment(counters, name)` adds one to a counter; \
                     `decrement(counters, name)` takes one away and stops at zero. \
                     Both return the new value.\n",
                ),
            )]),
            answer("The README now says what increment and decrement do."),
        ],
    );
    add(
        AgentRole::Debugger,
        vec![
            calls(vec![call(
                "d1",
                "edit_file",
                &edit(
                    "api/server.py",
                    "counters.get(name, 0) - 1",
                    "max(0, counters.get(name, 0) - 1)",
                ),
            )]),
            answer(
                "The cause: `decrement` subtracted without a floor, so a counter at zero went to -1. It now stops at zero.",
            ),
        ],
    );
    roles
}

const PLAN_1: &str =
    "Add `decrement(counters, name)` to api/server.py: one less than the counter, returned.

## Test matrix
- a counter above zero goes down by one: test_decrement

## Seams
- none";

const PLAN_REVIEW_1: &str = r#"{"findings": [
  {"severity": "high", "title": "The plan never tests a counter at zero", "detail": "Decrementing a counter at zero, or one that does not exist yet, must leave it at 0; the matrix has no such case.", "location": "api/server.py"},
  {"severity": "low", "title": "Say what decrement returns", "detail": "State that it returns the new value, as increment does."}
]}"#;

const PLAN_2: &str = "Add `decrement(counters, name)` to api/server.py: one less than the counter, never below zero; it returns the new value, as `increment` does.

## Test matrix
- a counter above zero goes down by one: test_decrement
- a counter at zero stays at zero: test_decrement_stops_at_zero
- a counter that does not exist is created at zero: test_decrement_stops_at_zero

## Seams
- none";

const PLAN_REVIEW_2: &str = r#"{"findings": [
  {"severity": "low", "title": "Consider a test for many decrements in a row", "detail": "Optional: the zero floor covers it."}
]}"#;

const PLAN_WEB: &str = "Show the count in the page's title from `show` in web/app.js.

## Test matrix
- the title follows the count (checked by hand in the browser; the page has no test suite yet)

## Seams
- none";

const PLAN_DOCS: &str = "Say in README.md what `increment` and `decrement` do and return.

## Test matrix
- none: documentation only; the suite must stay green

## Seams
- none";

const DOCS_REVIEW: &str = r#"{"findings": [
  {"severity": "low", "title": "Show an example call", "detail": "A two-line example would help a first reader.", "location": "README.md"}
]}"#;

const SERVER_BUGGY: &str = "def increment(counters, name):
    counters[name] = counters.get(name, 0) + 1
    return counters[name]


def decrement(counters, name):
    counters[name] = counters.get(name, 0) - 1
    return counters[name]
";

const TESTS: &str = "import unittest

from api.server import decrement, increment


class CounterTest(unittest.TestCase):
    def test_increment(self):
        self.assertEqual(increment({}, \"a\"), 1)

    def test_decrement(self):
        self.assertEqual(decrement({\"a\": 2}, \"a\"), 1)

    def test_decrement_stops_at_zero(self):
        counters = {}
        self.assertEqual(decrement(counters, \"a\"), 0)
        self.assertEqual(decrement(counters, \"a\"), 0)


if __name__ == \"__main__\":
    unittest.main()
";

fn write(path: &str, content: &str) -> String {
    serde_json::json!({"path": path, "content": content}).to_string()
}

fn edit(path: &str, old: &str, new: &str) -> String {
    serde_json::json!({"path": path, "old": old, "new": new}).to_string()
}

fn answer(text: &str) -> ChatResponse {
    reply(
        vec![Block::Text {
            text: text.to_owned(),
        }],
        StopReason::EndTurn,
    )
}

fn calls(blocks: Vec<Block>) -> ChatResponse {
    reply(blocks, StopReason::ToolUse)
}

fn reply(content: Vec<Block>, stop: StopReason) -> ChatResponse {
    ChatResponse {
        id: None,
        model: "demo".to_owned(),
        content,
        stop,
        usage: Usage {
            input_tokens: 1_200,
            cache_read_tokens: 900,
            cache_write_tokens: 0,
            output_tokens: 180,
            reasoning_tokens: 0,
        },
    }
}

fn call(id: &str, name: &str, arguments: &str) -> Block {
    Block::ToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        arguments: arguments.to_owned(),
    }
}
