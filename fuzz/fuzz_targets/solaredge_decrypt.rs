//! SolarEdge encryption (`solaredge::crypto`, solaredge.md §5) on arbitrary bytes.
//!
//! The whole input goes to `parse_key` and (as lossy UTF-8) to `parse_state_line`; a state
//! line that parses is written back with `state_line` and must parse to the same inverter and
//! payload (and the same time within one unit in the last place: serde_json's default float
//! parsing is not exact). With at least 16 bytes, bytes 0..16 are a key and the rest a payload:
//! `session_key`, `decrypt_003d` and `decrypt_003d_raw` must agree (the first succeeds only
//! on payloads of at least 44 bytes, the second on at least 22; a decrypted frame is a prefix of
//! the raw plaintext and re-parses as one whole frame). With at least 38 bytes, bytes 16..32
//! are an IV, 32..34 the inner seq, 34..38 the mask and the rest R: `encrypt_003d` then
//! `decrypt_003d_raw` gives back (seq, mask, R) exactly; `decrypt_003d` of it succeeds
//! exactly when R starts with a valid frame, which it returns; a frame built around (a prefix
//! of) R always comes back unchanged. Finally the input, cut into 8-byte records, drives a
//! `KeyDeriver` through 0x0012 requests and 0x0090 replies: `key()` is the first of `keys()`,
//! device ids are unique and never both in `keys()` and `zero_keys()`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sekit::protocols::solaredge::crypto::{
    decrypt_003d, decrypt_003d_raw, encrypt_003d, parse_key, parse_state_line, session_key,
    state_line, CryptoError, Key, KeyDeriver, MIN_003D_PAYLOAD, WRAP_OVERHEAD,
};
use sekit::protocols::solaredge::frame::{build, parse_frame};
use sekit::protocols::Parsed;
use sekit::util::bytes::{at, le_u16, le_u32};

fn build_frame(seq: u16, from: u32, to: u32, function: u16, payload: &[u8]) -> Vec<u8> {
    build(seq, from, to, function, payload).expect("payloads here are short")
}

fn check_state_line(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok((inv, ts, payload)) = parse_state_line(&text) {
        assert!(ts.is_finite());
        assert!((32..=256).contains(&payload.len()));
        let line = state_line(inv, ts, &payload);
        assert!(!line.contains('\n'));
        let (inv2, ts2, payload2) = parse_state_line(&line).expect("own line parses");
        assert_eq!((inv2, &payload2), (inv, &payload));
        assert!(
            ts2 == ts || (ts2 - ts).abs() <= ts.abs() * 4.0 * f64::EPSILON,
            "{ts} -> {ts2}"
        );
    }
}

fn check_decrypt(key: &Key, payload: &[u8]) {
    let _ = session_key(key, payload);
    let full = decrypt_003d(key, payload);
    let raw = decrypt_003d_raw(key, payload);
    assert_eq!(raw.is_ok(), payload.len() >= WRAP_OVERHEAD);
    if payload.len() < MIN_003D_PAYLOAD {
        assert!(matches!(full, Err(CryptoError::PayloadTooShort { .. })));
    }
    if let Ok(d) = full {
        let (seq, mask, inner) = raw.expect("raw decrypts too");
        assert_eq!((d.inner_seq, d.mask), (seq, mask));
        assert!(inner.starts_with(&d.frame));
        match parse_frame(&d.frame) {
            Parsed::Frame(f) => assert_eq!(f.bytes.len(), d.frame.len()),
            other => panic!("decrypted frame does not re-parse: {other:?}"),
        }
    }
}

fn check_round_trip(key: &Key, rest: &[u8]) {
    // The caller passes at least 22 bytes.
    let iv = at::<16>(rest, 0).expect("IV");
    let seq = le_u16(rest, 16).expect("inner seq");
    let mask = at::<4>(rest, 18).expect("mask");
    let body = &rest[22..];

    let enc = encrypt_003d(key, iv, seq, mask, body);
    assert_eq!(enc.len(), WRAP_OVERHEAD + body.len());
    assert_eq!(enc[..16], iv);
    let (s2, m2, b2) = decrypt_003d_raw(key, &enc).expect("raw round trip");
    assert_eq!((s2, m2, b2.as_slice()), (seq, mask, body));
    match (decrypt_003d(key, &enc), parse_frame(body)) {
        (Ok(d), Parsed::Frame(f)) => {
            assert_eq!(d.frame, f.bytes);
            assert_eq!((d.inner_seq, d.mask), (seq, mask));
        }
        (Err(_), Parsed::Frame(_)) => panic!("valid inner frame refused"),
        (Ok(_), _) => panic!("invalid inner frame accepted"),
        (Err(_), _) => {}
    }

    // A valid frame around a prefix of the body always comes back unchanged.
    let n = body.len().min(600);
    let fr = build_frame(seq, 0x7f104920, 0xfffffffe, 0x0500, &body[..n]);
    let enc = encrypt_003d(key, iv, seq, mask, &fr);
    let d = decrypt_003d(key, &enc).expect("valid frame decrypts");
    assert_eq!((d.inner_seq, d.mask, d.frame), (seq, mask, fr));
}

fn check_key_deriver(data: &[u8]) {
    let mut kd = KeyDeriver::new();
    for rec in data.chunks_exact(8) {
        let seq = u16::from(rec[1] & 7);
        let dev = 0x7f000000 | u32::from(rec[2] & 3);
        let server = if rec[0] & 0x10 != 0 {
            0xfffffffd
        } else {
            0xfffffffe
        };
        let frame = if rec[0] & 1 == 0 {
            let param = 0x0238 + u16::from(rec[3] % 6);
            build_frame(seq, server, dev, 0x0012, &param.to_le_bytes())
        } else {
            let value = if rec[0] & 2 != 0 {
                0
            } else {
                le_u32(rec, 4).expect("records are 8 bytes")
            };
            let mut p = value.to_le_bytes().to_vec();
            let ty: u16 = if rec[0] & 0x80 != 0 { 1 } else { 0 };
            p.extend(ty.to_le_bytes());
            build_frame(seq, dev, server, 0x0090, &p)
        };
        match parse_frame(&frame) {
            Parsed::Frame(f) => kd.observe(&f),
            other => panic!("built frame invalid: {other:?}"),
        }
    }
    let keys = kd.keys();
    let zeros = kd.zero_keys();
    assert_eq!(kd.key(), keys.first().map(|&(_, k)| k));
    let mut ids: Vec<u32> = keys.iter().map(|&(id, _)| id).collect();
    ids.extend(&zeros);
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "device listed twice");
    assert!(keys.iter().all(|(_, k)| k.iter().any(|&b| b != 0)));
}

fuzz_target!(|data: &[u8]| {
    let _ = parse_key(data);
    check_state_line(data);
    if let Some((key, rest)) = data.split_first_chunk::<16>() {
        check_decrypt(key, rest);
        if rest.len() >= 22 {
            check_round_trip(key, rest);
        }
    }
    check_key_deriver(data);
});
