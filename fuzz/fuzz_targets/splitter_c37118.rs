//! Stream bytes cut into chunks (with optional gaps and datagram ends, see `split_harness.rs`)
//! → `c37118::PROTOCOL.new_state()` (the length-driven splitter over `c37118::frame`).
//!
//! Checks, for every input (`split_harness::length_driven`, `check_splitter`): frames and
//! anomalies are non-empty, in increasing offset order, never overlap, never span a gap or
//! `end()`, and together cover every byte fed exactly once; a frame's bytes are the stream
//! bytes at its offset and re-parse with `c37118::frame::parse_frame` as one whole valid frame
//! of the same kind; in probe mode no frame exceeds the limit (with `SEKIT_FUZZ_STRICT=1`; see
//! `split_harness::over_probe_limit` for the known bug that otherwise is stepped around).
//! Feeding each stretch between gaps/ends in one `data()` call gives the same items (frames and
//! anomalies) as the chunked feed; in probe mode the reason of an anomaly may differ (see
//! `split_harness::comparable`).

#![no_main]

#[path = "split_harness.rs"]
mod split_harness;

use libfuzzer_sys::fuzz_target;
use sekit::protocols::c37118::{self, frame::parse_frame};
use sekit::protocols::{Label, Parsed};

fn reparse(off: u64, bytes: &[u8], kind: Label) {
    match parse_frame(bytes) {
        Parsed::Frame(f) => {
            assert_eq!(f.bytes.len(), bytes.len(), "frame at {off} re-parses whole");
            assert_eq!(kind, Label::Name(f.kind()), "label of the frame at {off}");
        }
        other => panic!("frame at {off} does not re-parse: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    split_harness::length_driven(data, c37118::PROTOCOL, reparse);
});
