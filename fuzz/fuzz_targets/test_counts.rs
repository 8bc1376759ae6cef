//! Feeds arbitrary text to the test-output readers. Nothing may panic, and
//! a trimmed failure never exceeds its byte budget.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_pipeline::{parse_test_counts, trim_failure};

fuzz_target!(|input: (u16, &[u8])| {
    let (budget, bytes) = input;
    let output = String::from_utf8_lossy(bytes);
    let _ = parse_test_counts(&output);
    let max_bytes = usize::from(budget);
    assert!(trim_failure(&output, max_bytes).len() <= max_bytes);
});
