use proptest::prelude::*;

use super::*;

fn parse_all(input: &[u8]) -> Result<Vec<SseEvent>, SseError> {
    let mut parser = SseParser::new();
    let events = parser.push(input)?;
    parser.finish()?;
    Ok(events)
}

fn parse_in_chunks(input: &[u8], cuts: &[usize]) -> Result<Vec<SseEvent>, SseError> {
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        events.extend(parser.push(&input[start..cut])?);
        start = cut;
    }
    events.extend(parser.push(&input[start..])?);
    parser.finish()?;
    Ok(events)
}

fn event(name: Option<&str>, data: &str) -> SseEvent {
    SseEvent {
        event: name.map(str::to_owned),
        data: data.to_owned(),
        id: None,
        retry: None,
    }
}

#[test]
fn reads_named_events_and_multi_line_data() {
    let input = b"event: message_start\ndata: {\"a\":1}\n\ndata: one\ndata: two\n\n";
    assert_eq!(
        parse_all(input).unwrap(),
        vec![
            event(Some("message_start"), "{\"a\":1}"),
            event(None, "one\ntwo")
        ]
    );
}

#[test]
fn accepts_every_line_ending() {
    let expected = vec![event(Some("e"), "x\ny"), event(None, "z")];
    for input in [
        "event: e\r\ndata: x\r\ndata: y\r\n\r\ndata: z\r\n\r\n",
        "event: e\rdata: x\rdata: y\r\rdata: z\r\r",
        "event: e\ndata: x\r\ndata: y\r\rdata: z\n\r\n",
    ] {
        assert_eq!(parse_all(input.as_bytes()).unwrap(), expected, "{input:?}");
    }
}

#[test]
fn skips_comments_and_unknown_fields_and_strips_one_space() {
    let input = b": keep-alive\nfoo: bar\ndata:  two spaces\ndata:none\ndata\n\n";
    assert_eq!(
        parse_all(input).unwrap(),
        vec![event(None, " two spaces\nnone\n")]
    );
}

#[test]
fn an_event_without_data_is_not_dispatched() {
    assert_eq!(parse_all(b"event: ping\n\n: c\n\n").unwrap(), vec![]);
    assert_eq!(parse_all(b"data:\n\n").unwrap(), vec![event(None, "")]);
}

#[test]
fn reads_id_and_retry() {
    let events = parse_all(b"id: 7\nretry: 250\ndata: d\n\nretry: soon\ndata: e\n\n").unwrap();
    assert_eq!(events[0].id.as_deref(), Some("7"));
    assert_eq!(events[0].retry, Some(250));
    assert_eq!(events[1].id, None);
    assert_eq!(events[1].retry, None);
}

#[test]
fn strips_a_leading_byte_order_mark_split_across_chunks() {
    let input = "\u{feff}data: x\n\n".as_bytes();
    assert_eq!(
        parse_in_chunks(input, &[1, 2]).unwrap(),
        vec![event(None, "x")]
    );
}

#[test]
fn cr_at_the_end_of_a_chunk_then_lf_is_one_line_end() {
    let mut parser = SseParser::new();
    assert!(parser.push(b"data: a\r").unwrap().is_empty());
    // The `\n` completes the `\r\n` above; a second blank line would be needed
    // to dispatch if it were counted as its own line end.
    assert!(parser.push(b"\n").unwrap().is_empty());
    assert!(parser.push(b"").unwrap().is_empty());
    assert_eq!(parser.push(b"\r\n").unwrap(), vec![event(None, "a")]);
    parser.finish().unwrap();
}

#[test]
fn an_unfinished_event_at_the_end_is_truncation() {
    let cut_line = parse_all(b"data: {\"par").unwrap_err();
    assert_eq!(cut_line, SseError::Truncated { offset: 0 });
    assert!(cut_line.is_truncated());
    let no_blank_line = parse_all(b"data: a\n\ndata: b\n").unwrap_err();
    assert_eq!(no_blank_line, SseError::Truncated { offset: 9 });
    assert!(parse_all(b"data: a\n\n: trailing comment\n").is_ok());
}

#[test]
fn invalid_utf8_names_the_line() {
    let error = parse_all(b"data: ok\n\ndata: \xff\xfe\n\n").unwrap_err();
    assert_eq!(error, SseError::InvalidUtf8 { offset: 10 });
    assert!(!error.is_truncated());
    assert_eq!(
        error.to_string(),
        "event-stream line at byte 10 is not UTF-8"
    );
}

#[test]
fn a_multibyte_character_split_across_chunks_survives() {
    let input = "data: héllo ✓\n\n".as_bytes();
    for cut in 0..=input.len() {
        assert_eq!(
            parse_in_chunks(input, &[cut]).unwrap(),
            vec![event(None, "héllo ✓")]
        );
    }
}

#[test]
fn an_endless_line_is_refused() {
    let mut parser = SseParser::new();
    let chunk = vec![b'a'; 1024 * 1024];
    let mut result = Ok(Vec::new());
    for _ in 0..=MAX_EVENT_BYTES / chunk.len() {
        result = parser.push(&chunk);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result.unwrap_err(), SseError::TooLong { offset: 0 });
}

/// Renders events the way a server might, with a chosen line ending and
/// comments sprinkled in.
fn render(events: &[(Option<String>, Vec<String>)], ending: &str, comments: bool) -> String {
    let mut out = String::new();
    for (name, lines) in events {
        if comments {
            out.push_str(": ping");
            out.push_str(ending);
        }
        if let Some(name) = name {
            out.push_str("event: ");
            out.push_str(name);
            out.push_str(ending);
        }
        for line in lines {
            out.push_str("data: ");
            out.push_str(line);
            out.push_str(ending);
        }
        out.push_str(ending);
    }
    out
}

fn events_strategy() -> impl Strategy<Value = Vec<(Option<String>, Vec<String>)>> {
    let text = "[a-z{}\":,é✓ ]{0,12}";
    prop::collection::vec(
        (
            prop::option::of("[a-z_.]{1,10}"),
            prop::collection::vec(text, 1..4),
        ),
        0..6,
    )
}

proptest! {
    #[test]
    fn chunking_anywhere_gives_the_same_events(
        events in events_strategy(),
        ending in prop::sample::select(vec!["\n", "\r\n", "\r"]),
        comments in any::<bool>(),
    ) {
        let input = render(&events, ending, comments);
        let bytes = input.as_bytes();
        let whole = parse_all(bytes).unwrap();
        let expected: Vec<SseEvent> = events
            .iter()
            .map(|(name, lines)| SseEvent {
                event: name.clone(),
                data: lines.join("\n"),
                id: None,
                retry: None,
            })
            .collect();
        prop_assert_eq!(&whole, &expected);
        for cut in 0..=bytes.len() {
            prop_assert_eq!(&parse_in_chunks(bytes, &[cut]).unwrap(), &whole);
        }
        let every_byte: Vec<usize> = (1..bytes.len()).collect();
        prop_assert_eq!(&parse_in_chunks(bytes, &every_byte).unwrap(), &whole);
    }

    #[test]
    fn arbitrary_bytes_in_arbitrary_chunks_agree_with_one_chunk(
        bytes in prop::collection::vec(
            prop::sample::select(b"data: event:x\r\n{}:\xc3\xa9\xff".to_vec()),
            0..64,
        ),
        cuts in prop::collection::vec(0usize..64, 0..6),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c <= bytes.len()).collect();
        cuts.sort_unstable();
        prop_assert_eq!(parse_in_chunks(&bytes, &cuts), parse_all(&bytes));
    }
}
