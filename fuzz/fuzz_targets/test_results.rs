//! Feeds arbitrary text to the reader of tests by name. Nothing may panic;
//! every test is listed once, under a non-empty, trimmed, one-line name.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use slipway_pipeline::parse_test_results;

fuzz_target!(|bytes: &[u8]| {
    let output = String::from_utf8_lossy(bytes);
    let results = parse_test_results(&output);
    let mut names = HashSet::new();
    for result in &results {
        assert!(!result.name.is_empty());
        assert_eq!(result.name.trim(), result.name);
        assert!(!result.name.contains(['\n', '\r']));
        assert!(
            names.insert(result.name.as_str()),
            "{} listed twice",
            result.name
        );
    }
});
