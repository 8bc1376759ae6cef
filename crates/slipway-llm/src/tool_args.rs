//! Reading a tool call's raw arguments, which the model may have botched.

use serde_json::{Map, Value};

/// Why a tool call's arguments cannot be used. The message is written for
/// the model, which gets it back as the tool's error result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolArgumentsError {
    #[error(
        "the arguments are not valid JSON ({detail} at line {line}, column {column}); call the tool again with one JSON object"
    )]
    Malformed {
        detail: String,
        line: usize,
        column: usize,
    },
    #[error(
        "the arguments are JSON {found}, not an object; call the tool again with one JSON object"
    )]
    NotAnObject { found: &'static str },
}

/// Parses a tool call's raw arguments into a JSON object. Empty (or blank)
/// arguments are an empty object: models send that for tools without
/// parameters. Never panics, whatever the text.
pub fn parse_tool_arguments(raw: &str) -> Result<Map<String, Value>, ToolArgumentsError> {
    if raw.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ToolArgumentsError::NotAnObject {
            found: match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                Value::Array(_) => "an array",
                Value::Object(_) => "an object",
            },
        }),
        Err(error) => {
            let full = error.to_string();
            // serde_json appends " at line L column C"; the fields carry that.
            let detail = full
                .rsplit_once(" at line ")
                .map_or(full.as_str(), |(head, _)| head)
                .to_owned();
            Err(ToolArgumentsError::Malformed {
                detail,
                line: error.line(),
                column: error.column(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_parse_and_blank_is_empty() {
        let map = parse_tool_arguments(r#"{"path": "src/lib.rs", "n": 2}"#).unwrap();
        assert_eq!(map["path"], "src/lib.rs");
        assert!(parse_tool_arguments("  \n").unwrap().is_empty());
    }

    #[test]
    fn errors_say_where_and_what_to_do() {
        let error = parse_tool_arguments("{\"path\": \"a\",\n \"n\": }").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the arguments are not valid JSON (expected value at line 2, column 7); call the tool again with one JSON object"
        );
        let error = parse_tool_arguments("[1]").unwrap_err();
        assert_eq!(error, ToolArgumentsError::NotAnObject { found: "an array" });
        assert!(matches!(
            parse_tool_arguments("{\"a\":1} trailing"),
            Err(ToolArgumentsError::Malformed { .. })
        ));
    }
}
