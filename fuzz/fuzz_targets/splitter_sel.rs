//! Stream bytes cut into chunks (with optional gaps and ends, see `split_harness.rs`) →
//! `sel::PROTOCOL.new_state()` (Telnet removal, binary `A5` messages, ASCII lines, prompts).
//!
//! SEL frames carry raw (on-the-wire) offsets but Telnet-decoded bytes, a compressed-ASCII
//! line with a bad checksum is followed by an anomaly with the same offset and length, and
//! line terminators belong to no item, so the splitter targets' tiling check does not apply.
//! Checked instead:
//! - frames are non-empty, in strictly increasing offset order, and a frame's decoded bytes
//!   fit before the next frame and inside one fed segment (Telnet removal only shrinks);
//! - anomalies are non-empty and lie inside one fed segment;
//! - in a segment without 0xFF (no Telnet), a frame's bytes are the stream bytes at its offset;
//! - binary messages re-parse with `sel::frame::parse_message` as one whole message of the
//!   same name, and `sel::frame::build` of its type and body gives the same bytes; bare
//!   requests (`A5xx-req`) are the two bytes `A5 t` of a request type;
//! - feeding each stretch between gaps/ends whole gives the same items as the chunked feed,
//!   when the stream holds none of 0xA5, `=`, `?`: a bare request
//!   or a prompt ending a `data()` call is taken at that call's boundary by design (sel.md §4
//!   "followed by … end of segment"), so chunking legitimately changes those.

#![no_main]

#[path = "split_harness.rs"]
mod split_harness;

use libfuzzer_sys::fuzz_target;
use sekit::protocols::sel::{
    self,
    frame::{build, parse_message, request_name},
};
use sekit::protocols::{Label, Parsed};
use split_harness::{chunked_and_whole, segment_of, Item, Plan, Segment};

fn check_binary(off: u64, bytes: &[u8], name: &str) {
    if let Some(t) = name.strip_suffix("-req") {
        assert_eq!(bytes.len(), 2, "request at {off}: {bytes:02x?}");
        assert_eq!(bytes[0], 0xA5, "request at {off}");
        assert_eq!(request_name(bytes[1]), Some(name), "request at {off}");
        assert_eq!(t, format!("A5{:02X}", bytes[1]), "request at {off}");
        return;
    }
    match parse_message(bytes) {
        Parsed::Frame(m) => {
            assert_eq!(
                m.bytes.len(),
                bytes.len(),
                "message at {off} re-parses whole"
            );
            assert!(!m.request, "message at {off} re-parses as a request");
            assert_eq!(m.name(), name, "name of the message at {off}");
            assert_eq!(
                build(m.kind(), m.body()).as_deref(),
                Ok(bytes),
                "message at {off} rebuilds"
            );
        }
        other => panic!("message at {off} ({name}, {bytes:02x?}) does not re-parse: {other:?}"),
    }
}

/// The checks of one run (chunked or whole) on what it emitted.
fn check(p: &Plan<'_>, items: &[Item], segs: &[Segment]) {
    let mut prev: Option<(u64, u64)> = None;
    for it in items {
        let (off, len) = (it.offset(), it.len());
        assert!(len > 0, "empty item {it:?}");
        let Some(seg) = segment_of(segs, off, len) else {
            panic!("{it:?} not inside one fed segment: {segs:?}");
        };
        let Item::Frame { bytes, kind, .. } = it else {
            continue;
        };
        if let Some((po, pend)) = prev {
            assert!(off > po, "frame at {off} not after the frame at {po}");
            assert!(
                off >= pend,
                "frame at {off} overlaps the previous one (ends at {pend})"
            );
        }
        prev = Some((off, off + len));
        let raw = &p.stream[seg.range.clone()];
        if !raw.contains(&0xFF) {
            let at = (off - seg.start) as usize;
            assert_eq!(
                &bytes[..],
                &raw[at..at + bytes.len()],
                "frame bytes at {off}"
            );
        }
        let Label::Name(name) = kind else {
            panic!("numeric SEL label {kind:?}");
        };
        if name.starts_with("A5") {
            check_binary(off, bytes, name);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((p, chunked, whole)) = chunked_and_whole(data, sel::PROTOCOL, check) else {
        return;
    };
    if !p.stream.iter().any(|b| matches!(b, 0xA5 | b'=' | b'?')) {
        assert_eq!(chunked, whole, "chunked and whole feeding differ");
    }
});
