//! Byte 0 picks the function code (an index into `FUNCTIONS`, the ones with a decoder; past
//! its end, bytes 1–2 give any code), the rest is the payload (at most 65 535 bytes, as in a
//! frame). The payload goes through `solaredge::telemetry::parse_devices` and, in a frame with a
//! correct CRC, through `decode`, whose result is serialised.
//!
//! Checks: no panic; the records' headers and bodies plus the trailing bytes reported by
//! `decode` cover the payload exactly; every body is at most its declared length and its raw
//! rest at most the body; without a walker anomaly the records end exactly at the payload's
//! end; the JSON is valid, starts with `{"proto":"solaredge",`, names the function, says the
//! CRC is "ok", and for 0x0500 lists as many devices as `parse_devices` returned.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sekit::protocols::solaredge::decode::decode;
use sekit::protocols::solaredge::frame::{frame_crc, Frame};
use sekit::protocols::solaredge::telemetry::{parse_devices, RECORD_HEADER};
use sekit::util::bytes::le_u16;
use serde_json::Value;

const FUNCTIONS: [u16; 13] = [
    0x0500, 0x0080, 0x0081, 0x0501, 0x0012, 0x0011, 0x0090, 0x0580, 0x038d, 0x00b0, 0x0382, 0x0503,
    0x003d,
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (function, payload) = match FUNCTIONS.get(usize::from(sel)) {
        Some(&f) => (f, rest),
        None => match le_u16(rest, 0) {
            Some(code) => (code, &rest[2..]),
            None => return,
        },
    };
    let payload = &payload[..payload.len().min(usize::from(u16::MAX))];

    let (devs, walk) = parse_devices(payload);
    let used: usize = devs.iter().map(|d| RECORD_HEADER + d.body.len()).sum();
    assert!(used <= payload.len());
    if walk.is_none() {
        assert_eq!(used, payload.len(), "no anomaly but bytes left over");
    }
    for d in &devs {
        assert!(d.body.len() <= usize::from(d.len));
        assert!(d.raw.len() <= d.body.len());
    }

    let (seq, from, to) = (0x1234, 0x7e9a_06db, 0xffff_fffe);
    let frame = Frame {
        bytes: &[],
        seq,
        from,
        to,
        function,
        payload,
        crc: frame_crc(seq, from, to, function, payload),
    };
    let d = decode(&frame);
    let text = serde_json::to_string(&d).expect("Decoded serialises");
    assert!(text.starts_with(r#"{"proto":"solaredge","#), "{text}");
    let v: Value = serde_json::from_str(&text).expect("valid JSON");
    assert!(v["function_name"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(v["crc"], "ok");
    if function == 0x0500 {
        let listed = v["devices"].as_array().expect("devices").len();
        assert_eq!(listed, devs.len());
        let trailing = v
            .get("trailing")
            .and_then(Value::as_str)
            .map_or(0, |t| t.len() / 2);
        assert_eq!(
            used + trailing,
            payload.len(),
            "every payload byte accounted for"
        );
        assert_eq!(
            d.anomaly.is_none(),
            walk.is_none() && devs.iter().all(|x| x.anomaly.is_none())
        );
    }
});
