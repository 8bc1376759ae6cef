//! Feeds arbitrary bytes to the tool-argument parser and to each protocol's
//! response-body parser. Nothing may panic, and an object the argument parser
//! accepts parses the same after a round trip through its JSON text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_llm::{Api, parse_response, parse_tool_arguments};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(map) = parse_tool_arguments(text) {
            // An accepted object survives a round trip through its text.
            let again = serde_json::Value::Object(map.clone()).to_string();
            assert_eq!(parse_tool_arguments(&again).ok(), Some(map));
        }
    }
    for api in [Api::Messages, Api::Chat, Api::Responses] {
        let _ = parse_response(api, data);
    }
});
