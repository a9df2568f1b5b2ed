//! The input is a 0x0500 payload for `output::Semonitor::line` (POSIX time zone, no file read).
//!
//! Checks: no panic; `None` only for an empty payload; otherwise one ASCII line without a
//! newline that parses as JSON to an object holding the objects "inverters", "optimizers" and
//! "events" (semonitor's top level, solaredge.md §7).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sekit::output::Semonitor;
use serde_json::Value;
use std::sync::OnceLock;

static SM: OnceLock<Semonitor> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let sm = SM.get_or_init(|| Semonitor::with_tz("CET-1CEST,M3.5.0,M10.5.0/3").unwrap());
    match sm.line(data) {
        None => assert!(data.is_empty()),
        Some(line) => {
            assert!(line.is_ascii() && !line.contains('\n'));
            let v: Value = serde_json::from_str(&line).expect("valid JSON");
            for k in ["inverters", "optimizers", "events"] {
                assert!(v[k].is_object(), "{k}");
            }
        }
    }
});
