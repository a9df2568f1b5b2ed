//! Byte 0 = flags, the rest is split on the marker `MARK` into frames, all decoded in order by
//! one `tracer::session::Session` (so requests and replies pair up across pieces). Flag bit 0:
//! before decoding, recompute each piece's MT-5 CRC when it has one whole frame's extent
//! (`frame::fix_checksum`), so the fuzzer reaches the data layouts. Flag bit 1: odd pieces are
//! on a second connection (pairing is per connection). Pieces alternate directions (c2s, s2c),
//! so the session learns which side is the master.
//!
//! Checks: no panic; every message serializes to valid JSON holding `"proto": "tracer"`; a
//! piece whose CRC was recomputed parses as one frame (not an invalid-frame anomaly).

#![no_main]

#[path = "pieces.rs"]
mod pieces;

use libfuzzer_sys::fuzz_target;
use pieces::pieces;
use sekit::protocols::tracer::frame::fix_checksum;
use sekit::protocols::tracer::session::Session;
use sekit::protocols::Envelope;
use sekit::reassembly::Dir;
use serde_json::Value;

/// Separates frames in the input.
const MARK: &[u8] = b"\xDE\xAD\xBE\xEF";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut dec = Session::new();
    for (i, piece) in pieces(rest, MARK).into_iter().enumerate() {
        let mut frame = piece.to_vec();
        let fixed = flags & 1 != 0 && fix_checksum(&mut frame);
        let conn = if flags & 2 != 0 { 1 + (i as u64 % 2) } else { 1 };
        let env = Envelope {
            conn: Some(conn),
            dir: Some(if i % 2 == 0 { Dir::C2S } else { Dir::S2C }),
            ..Envelope::default()
        };
        let m = dec.decode(&env, &frame);
        let json = serde_json::to_vec(&m).expect("a message serializes");
        let v: Value = serde_json::from_slice(&json).expect("valid JSON");
        assert_eq!(v["proto"], "tracer");
        if fixed {
            assert_ne!(v["anomaly"], "not a valid MT-5 frame", "fixed frame parses: {v}");
        }
    }
});
