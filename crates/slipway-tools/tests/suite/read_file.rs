use serde_json::json;
use slipway_tools::Limits;

use super::support::{Fixture, denied, error, explorer, ok};

#[tokio::test]
async fn shows_the_file_with_line_numbers() {
    let fx = Fixture::new();
    let tools = fx.toolbox(explorer());
    let text = ok(&tools, "read_file", json!({"path": "src/api/lib.rs"})).await;
    assert_eq!(text, "     1\tfn one() {}\n     2\tfn two() {}\n");
    let dotted = ok(&tools, "read_file", json!({"path": "./src/api/lib.rs"})).await;
    assert_eq!(dotted, text);
}

#[tokio::test]
async fn reads_a_range_and_says_which() {
    let fx = Fixture::new();
    fx.put("notes.txt", "a\nb\nc\nd\n");
    let tools = fx.toolbox(explorer());
    let middle = ok(
        &tools,
        "read_file",
        json!({"path": "notes.txt", "start_line": 2, "end_line": 3}),
    )
    .await;
    assert_eq!(middle, "     2\tb\n     3\tc\n[lines 2-3 of 4]");
    let tail = ok(
        &tools,
        "read_file",
        json!({"path": "notes.txt", "start_line": 4}),
    )
    .await;
    assert_eq!(tail, "     4\td\n[lines 4-4 of 4]");
    let clamped = ok(
        &tools,
        "read_file",
        json!({"path": "notes.txt", "start_line": 3, "end_line": 99}),
    )
    .await;
    assert_eq!(clamped, "     3\tc\n     4\td\n[lines 3-4 of 4]");
}

#[tokio::test]
async fn bad_ranges_and_arguments_name_the_field() {
    let fx = Fixture::new();
    let tools = fx.toolbox(explorer());
    let past = error(
        &tools,
        "read_file",
        json!({"path": "src/api/lib.rs", "start_line": 5}),
    )
    .await;
    assert_eq!(
        past,
        "start_line 5 is past the end of `src/api/lib.rs`, which has 2 lines"
    );
    let backwards = error(
        &tools,
        "read_file",
        json!({"path": "src/api/lib.rs", "start_line": 2, "end_line": 1}),
    )
    .await;
    assert!(
        backwards.contains("field `end_line`: 1 is before start_line 2"),
        "{backwards}"
    );
    let zero = error(&tools, "read_file", json!({"path": "a", "start_line": 0})).await;
    assert!(
        zero.contains("field `start_line`: lines count from 1"),
        "{zero}"
    );
    let missing = error(&tools, "read_file", json!({})).await;
    assert_eq!(missing, "bad arguments for read_file: missing field `path`");
    let wrong = error(
        &tools,
        "read_file",
        json!({"path": "a", "start_line": "two"}),
    )
    .await;
    assert!(
        wrong.starts_with("bad arguments for read_file: field `start_line`: invalid type"),
        "{wrong}"
    );
}

#[tokio::test]
async fn refuses_binary_files_directories_and_missing_files() {
    let fx = Fixture::new();
    if let Err(err) = std::fs::write(fx.root.join("logo.png"), b"\x89PNG\r\n\x1a\n\0\0\0") {
        panic!("{err}");
    }
    let tools = fx.toolbox(explorer());
    let binary = error(&tools, "read_file", json!({"path": "logo.png"})).await;
    assert_eq!(
        binary,
        "`logo.png` looks like a binary file (it holds NUL bytes); read_file shows text only"
    );
    let dir = error(&tools, "read_file", json!({"path": "src/api"})).await;
    assert_eq!(
        dir,
        "`src/api` is a directory, not a file; use list_dir to see what it holds"
    );
    let missing = error(&tools, "read_file", json!({"path": "src/nope.rs"})).await;
    assert_eq!(
        missing,
        "`src/nope.rs` does not exist; list_dir shows what is there"
    );
    let under_file = error(&tools, "read_file", json!({"path": "src/api/lib.rs/x"})).await;
    assert!(
        under_file.contains("`src/api/lib.rs` is a file, not a directory"),
        "{under_file}"
    );
    let empty = {
        fx.put("empty.txt", "");
        ok(&tools, "read_file", json!({"path": "empty.txt"})).await
    };
    assert_eq!(empty, "(`empty.txt` is empty)");
}

#[tokio::test]
async fn long_output_is_cut_with_a_note_on_how_to_read_on() {
    let fx = Fixture::new();
    let long = (1..=100)
        .map(|n| format!("line number {n}"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    fx.put("long.txt", &long);
    let limits = Limits {
        read_bytes: 200,
        line_chars: 10,
        ..Limits::default()
    };
    let tools = fx.toolbox_with(explorer(), limits);
    let text = ok(&tools, "read_file", json!({"path": "long.txt"})).await;
    assert!(text.len() < 400, "{text}");
    assert!(
        text.starts_with("     1\tline numbe… [line cut at 10 characters]\n"),
        "{text}"
    );
    let note = text.lines().last().unwrap_or_default();
    assert!(
        note.starts_with("[output cut at line ")
            && note.contains(" of 100 to stay under 200 bytes; call read_file with start_line "),
        "{note}"
    );
}

#[tokio::test]
async fn invalid_utf8_is_shown_lossily_and_crlf_is_trimmed() {
    let fx = Fixture::new();
    if let Err(err) = std::fs::write(fx.root.join("latin1.txt"), b"caf\xe9\r\nok\r\n") {
        panic!("{err}");
    }
    let tools = fx.toolbox(explorer());
    let text = ok(&tools, "read_file", json!({"path": "latin1.txt"})).await;
    assert_eq!(text, "     1\tcaf\u{fffd}\n     2\tok\n");
}

#[tokio::test]
async fn private_state_is_denied_but_control_files_are_readable() {
    let fx = Fixture::new();
    let tools = fx.toolbox(explorer());
    let text = denied(&tools, "read_file", json!({"path": ".slipway/slipway.db"})).await;
    assert_eq!(
        text,
        "read of `.slipway/slipway.db` denied: `.slipway/` holds Slipway's private state, \
         which the explorer may not read; the repository's other files are open to you"
    );
    denied(&tools, "read_file", json!({"path": ".SLIPWAY/slipway.db"})).await;
    let config = ok(&tools, "read_file", json!({"path": "slipway.toml"})).await;
    assert!(config.contains("spec = "));
}

#[tokio::test]
async fn a_huge_file_is_read_no_further_than_the_answer_needs() {
    let fx = Fixture::new();
    // One line of 4 MB with no break in it, then two million short lines.
    let mut huge = "x".repeat(4 << 20);
    huge.push('\n');
    huge.push_str(&"z\n".repeat(2_000_000));
    fx.put("huge.txt", &huge);
    let limits = Limits {
        read_bytes: 2100,
        ..Limits::default()
    };
    let tools = fx.toolbox_with(explorer(), limits);
    let text = ok(&tools, "read_file", json!({"path": "huge.txt"})).await;
    let first = format!(
        "     1\t{}… [line cut at 2000 characters]\n",
        "x".repeat(2000)
    );
    let shown = (2..=7)
        .map(|n| format!("{n:>6}\tz\n"))
        .collect::<Vec<_>>()
        .concat();
    let Some(note) = text.strip_prefix(&format!("{first}{shown}")) else {
        panic!("{text}");
    };
    // The file is not read to its end to count its lines.
    let Some(count) = note
        .strip_prefix("[output cut at line 7 of more than ")
        .and_then(|rest| {
            rest.strip_suffix(
                " to stay under 2100 bytes; call read_file with start_line 8 to read on]",
            )
        })
    else {
        panic!("{note}");
    };
    let count: u64 = count.parse().unwrap_or_default();
    assert!((8..2_000_001).contains(&count), "{note}");

    let range = ok(
        &tools,
        "read_file",
        json!({"path": "huge.txt", "start_line": 3, "end_line": 4}),
    )
    .await;
    let Some(count) = range
        .strip_prefix("     3\tz\n     4\tz\n[lines 3-4 of more than ")
        .and_then(|rest| rest.strip_suffix(']'))
    else {
        panic!("{range}");
    };
    let count: u64 = count.parse().unwrap_or_default();
    assert!((4..2_000_001).contains(&count), "{range}");
}

#[tokio::test]
async fn a_single_line_of_megabytes_is_cut_to_the_line_limit() {
    let fx = Fixture::new();
    fx.put("one.txt", &"é".repeat(3 << 20));
    let tools = fx.toolbox(explorer());
    let text = ok(&tools, "read_file", json!({"path": "one.txt"})).await;
    assert_eq!(
        text,
        format!(
            "     1\t{}… [line cut at 2000 characters]\n",
            "é".repeat(2000)
        )
    );
}
