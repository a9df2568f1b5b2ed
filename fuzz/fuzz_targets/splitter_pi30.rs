//! Stream bytes cut into chunks (with optional gaps and ends, see `split_harness.rs`) →
//! `pi30::PROTOCOL.new_state()` (Eybond removal, framing on CR, NUL padding).
//!
//! A frame with a bad CRC is reported both as an anomaly and as a `bad-crc` frame at the same
//! offset, and Eybond headers lie between frames' bytes, so the tiling check of the length-
//! driven targets does not apply. Checked instead:
//! - frames are non-empty, in strictly increasing offset order, never overlap, and lie inside
//!   one fed segment; anomalies are non-empty and inside one fed segment;
//! - each frame re-parses with `pi30::frame::parse` as one whole frame with the same label, and
//!   decodes (`pi30::session::Session`) to a message that serializes;
//! - feeding each stretch between gaps/ends whole gives the same items as the chunked feed.

#![no_main]

#[path = "split_harness.rs"]
mod split_harness;

use libfuzzer_sys::fuzz_target;
use sekit::protocols::pi30::{self, frame::parse, session::Session};
use sekit::protocols::{Envelope, Parsed};
use split_harness::{chunked_and_whole, segment_of, Item, Plan, Segment};

fn check(_p: &Plan<'_>, items: &[Item], segs: &[Segment]) {
    let mut prev: Option<(u64, u64)> = None;
    let mut session = Session::new();
    for it in items {
        let (off, len) = (it.offset(), it.len());
        assert!(len > 0, "empty item {it:?}");
        assert!(
            segment_of(segs, off, len).is_some(),
            "{it:?} not inside one fed segment: {segs:?}"
        );
        let Item::Frame { bytes, kind, .. } = it else {
            continue;
        };
        if let Some((po, pend)) = prev {
            assert!(off > po && off >= pend, "frame at {off} overlaps the one at {po}");
        }
        prev = Some((off, off + len));
        match parse(bytes) {
            Parsed::Frame(f) => {
                assert_eq!(f.bytes.len(), bytes.len(), "frame at {off} re-parses whole");
                assert_eq!(*kind, f.label(), "label of the frame at {off}");
            }
            other => panic!("frame at {off} does not re-parse: {other:?}"),
        }
        let m = session.decode(&Envelope::default(), bytes);
        serde_json::to_vec(&m).expect("message serializes");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((_, chunked, whole)) = chunked_and_whole(data, pi30::PROTOCOL, check) else {
        return;
    };
    assert_eq!(chunked, whole, "chunked and whole feeding differ");
});
