//! Tool arguments: a JSON value into a typed struct, with errors that name
//! the field.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parses the arguments of `tool`; `null` counts as `{}`.
///
/// The error names the field and what was wrong with it (a missing field,
/// a wrong type, an unknown field with the known ones listed).
pub(crate) fn parse<T: DeserializeOwned>(tool: &str, args: &Value) -> Result<T, String> {
    let value = match args {
        Value::Null => Value::Object(serde_json::Map::new()),
        Value::Object(_) => args.clone(),
        other => {
            return Err(format!(
                "bad arguments for {tool}: expected a JSON object of named fields, got {}",
                kind(other)
            ));
        }
    };
    serde_path_to_error::deserialize(value).map_err(|err| {
        let field = err.path().to_string();
        if field == "." {
            format!("bad arguments for {tool}: {}", err.inner())
        } else {
            format!("bad arguments for {tool}: field `{field}`: {}", err.inner())
        }
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only parsing is tested")]
    struct Args {
        path: String,
        start_line: Option<u64>,
    }

    fn error(args: &Value) -> String {
        match parse::<Args>("read_file", args) {
            Ok(args) => panic!("should fail: {args:?}"),
            Err(err) => err,
        }
    }

    #[test]
    fn errors_name_the_field_and_the_problem() {
        assert_eq!(
            error(&json!({})),
            "bad arguments for read_file: missing field `path`"
        );
        assert_eq!(
            error(&json!({"path": 3})),
            "bad arguments for read_file: field `path`: invalid type: integer `3`, expected a string"
        );
        assert!(error(&json!({"path": "a", "start_line": -1})).contains("field `start_line`"));
        let unknown = error(&json!({"file": "a"}));
        assert!(
            unknown.contains("unknown field `file`, expected `path` or `start_line`"),
            "{unknown}"
        );
        assert_eq!(
            error(&json!(["a"])),
            "bad arguments for read_file: expected a JSON object of named fields, got an array"
        );
        assert!(parse::<Args>("read_file", &json!({"path": "a"})).is_ok());
    }
}
