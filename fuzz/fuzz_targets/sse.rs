//! Feeds arbitrary bytes, cut into arbitrary chunks, to the SSE parser and
//! to each protocol's stream decoder.
//!
//! Oracle: however the input is chunked, the parser gives what it gives for
//! the input in one piece. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_llm::{Api, SseEvent, SseError, SseParser, StreamDecoder};

fn parse(input: &[u8], cuts: &[usize]) -> Result<Vec<SseEvent>, SseError> {
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

fuzz_target!(|input: (Vec<u16>, &[u8])| {
    let (cut_points, bytes) = input;
    let mut cuts: Vec<usize> = cut_points
        .into_iter()
        .map(|cut| usize::from(cut) % (bytes.len() + 1))
        .collect();
    cuts.sort_unstable();
    assert_eq!(parse(bytes, &cuts), parse(bytes, &[]));

    for api in [Api::Messages, Api::Chat, Api::Responses] {
        let Ok(mut decoder) = StreamDecoder::new(api) else {
            continue;
        };
        let mut start = 0;
        let mut failed = false;
        for &cut in &cuts {
            if decoder.push(&bytes[start..cut], &mut |_| {}).is_err() {
                failed = true;
                break;
            }
            start = cut;
        }
        if !failed && decoder.push(&bytes[start..], &mut |_| {}).is_ok() {
            let _ = decoder.finish();
        }
    }
});
