use proptest::prelude::*;
use slipway_types::{Finding, Severity};

use super::*;

const GOOD: &str = r#"{"findings": [
  {"severity": "high", "title": "Divides by zero", "detail": "`ratio` does not check `total`.", "location": "src/stats.rs:42"},
  {"severity": "low", "title": "Typo in a comment"}
]}"#;

fn finding(severity: Severity, title: &str, detail: &str, location: &str) -> Finding {
    Finding {
        severity,
        title: title.to_owned(),
        detail: detail.to_owned(),
        location: location.to_owned(),
    }
}

fn good_findings() -> Vec<Finding> {
    vec![
        finding(
            Severity::High,
            "Divides by zero",
            "`ratio` does not check `total`.",
            "src/stats.rs:42",
        ),
        finding(Severity::Low, "Typo in a comment", "", ""),
    ]
}

fn err(answer: &str) -> FindingsError {
    parse_findings(answer).unwrap_err()
}

#[test]
fn a_plain_answer_parses_with_defaults_for_detail_and_location() {
    assert_eq!(parse_findings(GOOD).unwrap(), good_findings());
}

#[test]
fn no_findings_is_an_empty_list() {
    assert_eq!(parse_findings(r#"{"findings": []}"#).unwrap(), []);
    assert_eq!(parse_findings("  \n{\"findings\":[]}\n\n").unwrap(), []);
}

#[test]
fn one_fence_with_or_without_json_is_accepted() {
    for open in ["```json", "```", "```JSON", "``` json "] {
        let answer = format!("\n{open}\n{GOOD}\n```\n");
        assert_eq!(parse_findings(&answer).unwrap(), good_findings(), "{open}");
    }
    // The closing fence right after the object, on its line.
    let answer = "```json\n{\"findings\": []}```";
    assert_eq!(parse_findings(answer).unwrap(), []);
}

#[test]
fn text_fields_are_trimmed() {
    let answer = r#"{"findings": [{"severity": "medium", "title": "  Leaks a file handle \n", "detail": " d ", "location": " a.rs:1 "}]}"#;
    assert_eq!(
        parse_findings(answer).unwrap(),
        [finding(
            Severity::Medium,
            "Leaks a file handle",
            "d",
            "a.rs:1"
        )]
    );
}

#[test]
fn prose_before_the_object_is_refused_with_its_start_quoted() {
    let e = err(&format!("Here are my findings:\n```json\n{GOOD}\n```"));
    let FindingsError::Prose { line, column, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!((*line, *column), (1, 1));
    assert!(
        e.to_string()
            .contains("the answer starts with `Here are my findings:`"),
        "{e}"
    );
}

#[test]
fn prose_after_the_object_is_refused_with_its_position() {
    let e = err(&format!("{GOOD}\nThat is all."));
    let FindingsError::Prose {
        line,
        column,
        problem,
    } = &e
    else {
        panic!("{e:?}");
    };
    assert_eq!(problem, "text after the JSON object");
    assert_eq!((*line, *column), (5, 1));

    let e = err(&format!("```json\n{GOOD}\n```\nHope this helps!"));
    assert!(
        e.to_string()
            .contains("text after the code fence: `Hope this helps!`"),
        "{e}"
    );
    let FindingsError::Prose { line, .. } = e else {
        panic!("{e:?}");
    };
    assert_eq!(line, 7);
}

#[test]
fn a_second_fence_is_refused() {
    let answer = "```json\n{\"findings\": []}\n```\n```json\n{\"findings\": []}\n```";
    assert!(
        err(answer)
            .to_string()
            .contains("text after the code fence: ````json`"),
    );
}

#[test]
fn fences_used_wrongly_are_refused() {
    let cases = [
        (
            "```json\n{\"findings\": []}",
            "the code fence is not closed",
        ),
        ("```python\n{\"findings\": []}\n```", "marked `python`"),
        (
            "```{\"findings\": []}```",
            "open with ```json on a line of its own",
        ),
        ("```json\n\n```", "the code fence is empty"),
    ];
    for (answer, wanted) in cases {
        let e = err(answer);
        assert!(matches!(e, FindingsError::Prose { .. }), "{answer}: {e:?}");
        assert!(e.to_string().contains(wanted), "{answer}: {e}");
    }
}

#[test]
fn a_bare_array_is_told_to_wrap_it() {
    let e = err(r#"[{"severity": "low", "title": "x"}]"#);
    assert!(
        e.to_string().contains("wrap it as {\"findings\": [...]}"),
        "{e}"
    );
}

#[test]
fn an_unknown_field_is_refused_with_the_finding_it_is_in() {
    let answer = "{\"findings\": [\n  {\"severity\": \"low\", \"title\": \"a\"},\n  {\"severity\": \"low\", \"title\": \"b\", \"file\": \"x.rs\"}\n]}";
    let e = err(answer);
    let FindingsError::Shape {
        path,
        line,
        message,
        ..
    } = &e
    else {
        panic!("{e:?}");
    };
    assert_eq!(path, "findings[1].file");
    assert_eq!(*line, 3);
    assert!(
        message.starts_with("unknown field `file`, expected one of"),
        "{message}"
    );
    assert!(!message.contains(" at line "), "{message}");

    let e = err(r#"{"findings": [], "summary": "fine"}"#);
    assert!(
        e.to_string()
            .starts_with("the top-level object (line 1, column 26): unknown field `summary`"),
        "{e}"
    );
}

#[test]
fn an_unknown_severity_names_the_field_and_the_choices() {
    let answer = "```json\n{\"findings\": [{\"severity\": \"High\", \"title\": \"x\"}]}\n```";
    let e = err(answer);
    let FindingsError::Shape { path, line, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(path, "findings[0].severity");
    // Line 2 of the answer: the fence is line 1.
    assert_eq!(*line, 2);
    let text = e.to_string();
    assert!(text.contains("unknown variant `High`"), "{text}");
    assert!(
        text.contains("`critical`, `high`, `medium`, `low`"),
        "{text}"
    );
}

#[test]
fn wrong_types_and_missing_fields_name_the_place() {
    let cases = [
        (
            r#"{"findings": [{"severity": "low", "title": 5}]}"#,
            "findings[0].title",
            "invalid type: integer `5`, expected a string",
        ),
        (
            r#"{"findings": [{"severity": "low", "title": "t", "detail": null}]}"#,
            "findings[0].detail",
            "invalid type: null",
        ),
        (
            r#"{"findings": [{"severity": "low"}]}"#,
            "findings[0]",
            "missing field `title`",
        ),
        (
            r#"{"findings": [{"severity": "low", "title": "a"}, "b"]}"#,
            "findings[1]",
            "invalid type: string",
        ),
        (r#"{"findings": {}}"#, "findings", "invalid type: map"),
        (r"{}", "the top-level object", "missing field `findings`"),
        (
            r#"{"findings": [{"severity": "low", "title": "a", "title": "b"}]}"#,
            "the top-level object",
            "duplicate field `title`",
        ),
    ];
    for (answer, wanted_path, wanted) in cases {
        let e = err(answer);
        let FindingsError::Shape { path, message, .. } = &e else {
            panic!("{answer}: {e:?}");
        };
        assert_eq!(path, wanted_path, "{answer}");
        assert!(message.starts_with(wanted), "{answer}: {message}");
    }
}

#[test]
fn syntax_errors_give_the_line_and_column_in_the_answer() {
    let e = err("```json\n{\"findings\": [\n  {\"severity\": \"low\" \"title\": \"x\"}\n]}\n```");
    let FindingsError::Syntax { line, column, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!((*line, *column), (3, 22));
    assert!(
        e.to_string()
            .starts_with("line 3, column 22: invalid JSON: expected `,` or `}`")
    );

    // The first line's column counts the whitespace before the object.
    let FindingsError::Syntax { line, column, .. } = err("  {\"findings\": [}") else {
        panic!();
    };
    assert_eq!((line, column), (1, 17));

    assert!(matches!(
        err(r#"{"findings": [{"severity": "low", "title": "cut off"#),
        FindingsError::Syntax { .. }
    ));
}

#[test]
fn an_empty_title_is_refused() {
    let e = err(
        r#"{"findings": [{"severity": "low", "title": "ok"}, {"severity": "low", "title": " \n "}]}"#,
    );
    assert_eq!(
        e,
        FindingsError::Rule {
            path: "findings[1].title".to_owned(),
            message: "the title is empty; give every finding a one-line title".to_owned(),
        }
    );
}

fn answer_of(findings: &[Finding]) -> String {
    serde_json::json!({ "findings": findings }).to_string()
}

#[test]
fn at_most_200_findings() {
    let one = finding(Severity::Low, "t", "", "");
    assert_eq!(
        parse_findings(&answer_of(&vec![one.clone(); 200]))
            .unwrap()
            .len(),
        200
    );
    let e = err(&answer_of(&vec![one; 201]));
    assert!(
        e.to_string()
            .starts_with("findings: 201 findings, over the limit of 200"),
        "{e}"
    );
}

#[test]
fn text_fields_are_limited_to_4000_characters() {
    let long = "é".repeat(MAX_FIELD_CHARS);
    let at_limit = finding(Severity::Low, &long, &long, &long);
    assert_eq!(
        parse_findings(&answer_of(std::slice::from_ref(&at_limit))).unwrap(),
        [at_limit]
    );
    for field in ["title", "detail", "location"] {
        let mut over = finding(Severity::Low, "t", "", "");
        let text = "x".repeat(MAX_FIELD_CHARS + 1);
        match field {
            "title" => over.title = text,
            "detail" => over.detail = text,
            _ => over.location = text,
        }
        let e = err(&answer_of(&[over]));
        assert_eq!(
            e.to_string().split(". ").next().unwrap(),
            format!("findings[0].{field}: 4001 characters, over the limit of 4000; shorten it")
        );
    }
}

#[test]
fn answers_over_256_kib_are_refused_unread() {
    let answer = format!("{{\"findings\": []}}{}", " ".repeat(MAX_ANSWER_BYTES));
    assert_eq!(
        err(&answer),
        FindingsError::TooLarge {
            bytes: MAX_ANSWER_BYTES + 16
        }
    );
}

#[test]
fn an_empty_answer_is_refused() {
    assert_eq!(err(""), FindingsError::Empty);
    assert_eq!(err(" \n\t "), FindingsError::Empty);
}

#[test]
fn every_error_ends_with_the_expected_shape() {
    let errors = [
        err(""),
        err("prose"),
        err("{\"findings\": [}"),
        err("{\"x\": 1}"),
        err(r#"{"findings": [{"severity": "low", "title": ""}]}"#),
        err(&" ".repeat(MAX_ANSWER_BYTES + 1)),
    ];
    for e in errors {
        assert!(e.to_string().ends_with(SHAPE), "{e}");
    }
}

#[test]
fn the_schema_hint_states_the_rules_and_its_example_parses() {
    let hint = findings_schema_hint();
    for needle in [
        "\"critical\", \"high\", \"medium\", \"low\"",
        "No other fields",
        "At most 200 findings",
        "4000 characters",
        "{\"findings\": []}",
        "```json",
    ] {
        assert!(hint.contains(needle), "{needle}");
    }
    let example = hint
        .lines()
        .find(|line| line.starts_with("{\"findings\": [{"))
        .unwrap();
    let parsed = parse_findings(example).unwrap();
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0].severity, Severity::High);
}

fn severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(Severity::ALL.to_vec())
}

/// Text with the characters JSON escapes and some that it does not.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 é✓\"\\\\/:.\n\t`{}\\[\\],-]{0,40}"
}

fn valid_finding() -> impl Strategy<Value = Finding> {
    (severity(), text(), text(), text())
        .prop_filter("a title", |(_, title, _, _)| !title.trim().is_empty())
        .prop_map(|(severity, title, detail, location)| Finding {
            severity,
            title: title.trim().to_owned(),
            detail: detail.trim().to_owned(),
            location: location.trim().to_owned(),
        })
}

/// Text that is neither whitespace nor the start of a fence or an object.
fn junk() -> impl Strategy<Value = String> {
    "[^{`\\s][^\n]{0,30}"
}

proptest! {
    #[test]
    fn valid_findings_survive_a_round_trip(
        findings in prop::collection::vec(valid_finding(), 0..8),
        pretty in any::<bool>(),
        fence in prop::sample::select(vec!["", "```\n", "```json\n"]),
        before in "[ \n\t]{0,3}",
        after in "[ \n\t]{0,3}",
    ) {
        let value = serde_json::json!({ "findings": &findings });
        let json = if pretty {
            serde_json::to_string_pretty(&value).unwrap()
        } else {
            value.to_string()
        };
        let closing = if fence.is_empty() { "" } else { "\n```" };
        let answer = format!("{before}{fence}{json}{closing}{after}");
        prop_assert_eq!(parse_findings(&answer).unwrap(), findings);
    }

    #[test]
    fn junk_never_panics_and_errors_end_with_the_shape(answer in "\\PC{0,200}") {
        if let Err(e) = parse_findings(&answer) {
            prop_assert!(e.to_string().ends_with(SHAPE));
        }
    }

    #[test]
    fn text_around_a_valid_answer_is_refused(
        findings in prop::collection::vec(valid_finding(), 0..3),
        junk in junk(),
        junk_first in any::<bool>(),
        fenced in any::<bool>(),
    ) {
        let mut json = answer_of(&findings);
        if fenced {
            json = format!("```json\n{json}\n```");
        }
        let answer = if junk_first {
            format!("{junk}\n{json}")
        } else {
            format!("{json}\n{junk}")
        };
        let e = parse_findings(&answer).unwrap_err();
        prop_assert!(matches!(e, FindingsError::Prose { .. }), "{:?}", e);
    }

    #[test]
    fn a_cut_off_answer_is_refused(
        findings in prop::collection::vec(valid_finding(), 0..3),
        cut in any::<prop::sample::Index>(),
    ) {
        let json = answer_of(&findings);
        let end = json.rfind('}').unwrap();
        let mut at = cut.index(end);
        while !json.is_char_boundary(at) {
            at -= 1;
        }
        prop_assert!(parse_findings(&json[..at]).is_err());
    }
}
