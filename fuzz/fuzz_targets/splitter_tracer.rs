//! Stream bytes cut into chunks (with optional gaps and ends, see `split_harness.rs`) →
//! `tracer::PROTOCOL.new_state()` (the shared splitter over the MT-5 framing). Checked: the
//! splitter contract of `split_harness::check_splitter`; every frame re-parses with
//! `tracer::frame::parse` as one whole frame of the same label and decodes without panicking;
//! the whole feed gives the same items as the chunked one.

#![no_main]

#[path = "split_harness.rs"]
mod split_harness;

use libfuzzer_sys::fuzz_target;
use sekit::protocols::tracer::{self, frame::parse, session::Session};
use sekit::protocols::{Envelope, Label, Parsed};

fn reparse(off: u64, bytes: &[u8], kind: Label) {
    match parse(bytes) {
        Parsed::Frame(f) => {
            assert_eq!(f.bytes.len(), bytes.len(), "frame at {off} re-parses whole");
            assert_eq!(kind, f.label(), "label of the frame at {off}");
            let m = Session::new().decode(&Envelope::default(), bytes);
            serde_json::to_vec(&m).expect("message serializes");
        }
        other => panic!("frame at {off} does not re-parse: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    split_harness::length_driven(data, tracer::PROTOCOL, reparse);
});
