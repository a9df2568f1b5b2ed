//! Byte 0 = flags, the rest is split on the marker `MARK` into frames, all decoded in order by
//! one `c37118::session::Session` (so configurations, CFG-3 fragments and data frames interact).
//! Flag bit 0: before decoding, make each piece consistent where it is at least 16 bytes —
//! SYNC byte 0xAA, FRAMESIZE = its length, CHK = its CRC — so the fuzzer reaches the decoding
//! of configuration and data payloads instead of stopping at the CRC.
//!
//! Checks: no panic; every `Decoded` serializes with `serde_json::to_vec` to valid JSON (it
//! re-parses) holding an object with `"proto": "c37118"` and a `frame` name; a data frame
//! reported `decoded: true` has one PMU block per PMU of the configuration the decoder held
//! before the call, and a payload of exactly the size that configuration implies.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sekit::protocols::c37118::frame::{fix_checksum, HEADER_LEN, MIN_FRAME};
use sekit::protocols::c37118::session::Session;
use sekit::util::bytes::be_u16;
use serde_json::Value;

/// Separates frames in the input.
const MARK: &[u8] = b"\xAA\xAA\xAA\xAA";

fn pieces(mut rest: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some(i) = rest.windows(MARK.len()).position(|w| w == MARK) {
        out.push(&rest[..i]);
        rest = &rest[i + MARK.len()..];
    }
    out.push(rest);
    out
}

fn fix(frame: &mut [u8]) {
    let n = frame.len();
    if !(MIN_FRAME..=usize::from(u16::MAX)).contains(&n) {
        return;
    }
    frame[0] = 0xAA;
    frame[2..4].copy_from_slice(&(n as u16).to_be_bytes());
    assert!(
        fix_checksum(frame),
        "a frame of FRAMESIZE bytes gets its CHK"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut dec = Session::new();
    for piece in pieces(rest) {
        let mut frame = piece.to_vec();
        if flags & 1 != 0 {
            fix(&mut frame);
        }
        // What the decoder holds for this IDCODE before the call (a data frame uses it).
        let expect = (frame.len() >= HEADER_LEN)
            .then(|| be_u16(&frame, 4))
            .flatten()
            .and_then(|id| dec.config(id))
            .map(|(_, c)| (c.pmus.len(), c.data_len()));
        let d = dec.decode(&frame);
        let json = serde_json::to_vec(&d).expect("Decoded serializes");
        let v: Value = serde_json::from_slice(&json).expect("serialized Decoded is valid JSON");
        assert_eq!(v["proto"], "c37118");
        assert!(v["frame"].is_string(), "frame name: {v}");
        if let Some(df) = d.data() {
            if df.decoded {
                let (pmus, len) = expect.expect("decoded without a configuration");
                assert_eq!(df.pmus.len(), pmus, "one block per configured PMU");
                let size = d.framesize.expect("a data frame has a FRAMESIZE");
                assert_eq!(
                    u64::from(size) - MIN_FRAME as u64,
                    len,
                    "payload size is the configuration's"
                );
                assert_eq!(v["decoded"], true);
            }
        }
    }
});
