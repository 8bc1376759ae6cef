//! Feeds arbitrary text to the reviewer-answer parser. Nothing may panic;
//! every error ends with the expected shape (the reviewer's retry needs
//! it); accepted findings keep to the limits and parse the same after a
//! round trip through their JSON text, fenced or not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_pipeline::parse_findings;

fuzz_target!(|data: &[u8]| {
    let Ok(answer) = std::str::from_utf8(data) else {
        return;
    };
    match parse_findings(answer) {
        Ok(findings) => {
            assert!(findings.len() <= 200);
            for finding in &findings {
                assert!(!finding.title.is_empty());
                assert_eq!(finding.title.trim(), finding.title);
            }
            let again = serde_json::json!({ "findings": findings }).to_string();
            // Defaults written out can push a near-limit answer over 256 KiB.
            if again.len() < 200 * 1024 {
                assert_eq!(parse_findings(&again).ok().as_ref(), Some(&findings));
                let fenced = format!("```json\n{again}\n```");
                assert_eq!(parse_findings(&fenced).ok().as_ref(), Some(&findings));
            }
        }
        Err(error) => {
            assert!(error.to_string().ends_with("when there are none."));
        }
    }
});
