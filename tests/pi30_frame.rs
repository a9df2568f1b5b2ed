//! PI30 framing and CRC (pi30_tracer.md §1–2): every CRC vector of §2 (tests/data/pi30), the
//! byte-bump quirk, and the per-direction framer fed whole, cut at every byte and byte by byte.

use sekit::protocols::pi30::frame::{self, build, fix_checksum, judge, parse, Check, Role};
use sekit::protocols::pi30::PROTOCOL;
use sekit::protocols::{Found, Parsed};

/// (text, on-wire CRC) from tests/data/pi30/vectors.txt.
fn vectors() -> Vec<(Vec<u8>, [u8; 2])> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pi30/vectors.txt"
    ))
    .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (t, c) = l.split_once('\t').unwrap();
            let c = u16::from_str_radix(c, 16).unwrap().to_be_bytes();
            (t.as_bytes().to_vec(), c)
        })
        .collect()
}

#[test]
fn every_crc_vector_of_the_spec() {
    let v = vectors();
    assert_eq!(v.len(), 19);
    for (text, crc) in &v {
        let mut want = text.clone();
        want.extend_from_slice(crc);
        want.push(0x0D);
        assert_eq!(build(text), want, "{}", String::from_utf8_lossy(text));
        let Parsed::Frame(f) = parse(&want) else {
            panic!("{}", String::from_utf8_lossy(text))
        };
        assert!(f.check.ok());
        assert_eq!(f.bytes, &want[..]);
        assert_eq!(f.text, &text[..]);
        let role = if text[0] == b'(' {
            Role::Reply
        } else {
            Role::Request
        };
        assert_eq!(f.role, role);
    }
}

#[test]
fn qpigs_request_is_the_documented_frame() {
    assert_eq!(
        build(b"QPIGS"),
        [0x51, 0x50, 0x49, 0x47, 0x53, 0xB7, 0xA9, 0x0D]
    );
    assert_eq!(build(b"(NAK"), b"(NAK\x73\x73\x0D");
}

#[test]
fn pop02_crc_byte_is_bumped() {
    // Raw CRC-XMODEM of POP02 is E2 0A; 0x0A is LF, sent as 0x0B (pi30_tracer.md §2).
    assert_eq!(frame::CRC.checksum(b"POP02"), 0xE20A);
    assert_eq!(build(b"POP02"), b"POP02\xE2\x0B\x0D");
    let Parsed::Frame(f) = parse(b"POP02\xE2\x0B\x0D") else {
        panic!()
    };
    assert_eq!(f.check, Check::Bumped);
    // godenerg's unbumped CRC is accepted and named.
    let Parsed::Frame(f) = parse(b"POP02\xE2\x0A\x0D") else {
        panic!()
    };
    assert_eq!(f.check, Check::Unbumped);
    // A CRC of QPIGS is plain under every rule.
    assert_eq!(judge(0xB7A9, 0xB7A9), Check::Plain);
    // 0x00 bumped (mpp-solar since 2023) and 0x28/0x0D/0x0A (Voltronic).
    assert_eq!(judge(0x1200, 0x1201), Check::ZeroBumped);
    assert_eq!(judge(0x1200, 0x1200), Check::Bumped);
    assert_eq!(judge(0x280D, 0x290E), Check::Bumped);
    assert_eq!(judge(0x280D, 0x290F), Check::Bad);
}

#[test]
fn bad_crc_is_parsed_and_judged() {
    let Parsed::Frame(f) = parse(b"QPIGS\xB7\xAA\x0D") else {
        panic!()
    };
    assert_eq!(f.check, Check::Bad);
    assert!(matches!(parse(b"qpigs\xB7\xA9\r"), Parsed::Bad(_)));
    assert!(matches!(parse(b"QPIGS 1\xB7\xA9\r"), Parsed::Bad(_)));
    let mut f = b"QPIGS\x00\x00\x0D".to_vec();
    assert!(fix_checksum(&mut f));
    assert_eq!(f, build(b"QPIGS"));
}

#[derive(Debug, PartialEq, Clone)]
enum Out {
    F(u64, Vec<u8>, String),
    A(u64, u64, &'static str),
}

fn feed(chunks: &[&[u8]]) -> (Vec<Out>, bool) {
    let mut st = PROTOCOL.new_state();
    let mut out = Vec::new();
    let mut off = 0u64;
    let mut emit = |f: Found<'_>| match f {
        Found::Frame {
            offset,
            bytes,
            kind,
        } => out.push(Out::F(offset, bytes.to_vec(), kind.to_string())),
        Found::Anomaly {
            offset,
            len,
            reason,
        } => out.push(Out::A(offset, len, reason)),
    };
    for c in chunks {
        st.data(off, c, &mut emit);
        off += c.len() as u64;
    }
    st.end(&mut emit);
    let confident = st.confident();
    (out, confident)
}

/// A bridge's serial stream: requests and replies with garbage, NUL padding and a bad CRC.
fn stream() -> (Vec<u8>, Vec<Out>) {
    let mut s = Vec::new();
    let mut want = Vec::new();
    fn frame(s: &mut Vec<u8>, want: &mut Vec<Out>, b: Vec<u8>, kind: &str) {
        want.push(Out::F(s.len() as u64, b.clone(), kind.into()));
        s.extend_from_slice(&b);
    }
    frame(&mut s, &mut want, build(b"QPIGS"), "request");
    let qpigs = build(b"(000.0 00.0 230.0 50.0 0184 0071 003 404 50.10 000 079 0049 0000 000.0 00.00 00001 01010000 00 00 00000 010");
    frame(&mut s, &mut want, qpigs, "reply");
    s.extend_from_slice(&[0, 0]); // HID padding after CR: dropped silently
    frame(&mut s, &mut want, build(b"POP02"), "request");
    frame(&mut s, &mut want, build(b"(NAK"), "reply");
    let at = s.len() as u64;
    s.extend_from_slice(b"\x01\x02~");
    want.push(Out::A(at, 3, "not a PI30 frame start"));
    let mut bad = build(b"QMOD");
    bad[4] ^= 1;
    want.push(Out::A(s.len() as u64, 7, "bad PI30 CRC"));
    frame(&mut s, &mut want, bad, "bad-crc");
    frame(&mut s, &mut want, build(b"QMOD"), "request");
    frame(&mut s, &mut want, build(b"(S"), "reply");
    (s, want)
}

#[test]
fn framer_finds_every_frame_however_cut() {
    let (s, want) = stream();
    let (out, confident) = feed(&[&s]);
    assert_eq!(out, want);
    assert!(confident);
    for cut in 1..s.len() {
        let (a, b) = s.split_at(cut);
        assert_eq!(feed(&[a, b]).0, want, "cut at {cut}");
    }
    let bytes: Vec<&[u8]> = s.chunks(1).collect();
    assert_eq!(feed(&bytes).0, want, "byte by byte");
}

#[test]
fn truncated_frame_at_the_end_is_reported() {
    let q = build(b"QPIGS");
    let (out, _) = feed(&[&q, b"(230.0"]);
    assert_eq!(
        out,
        [
            Out::F(0, q, "request".into()),
            Out::A(8, 6, "PI30 frame truncated")
        ]
    );
}

/// An Eybond-wrapped direction (pi30_tracer.md §7): headers removed, frames at their raw
/// offsets after each header, the same however the stream is cut.
#[test]
fn eybond_direction_framed_at_raw_offsets() {
    fn eyb(counter: u16, pi30: &[u8]) -> Vec<u8> {
        let mut v = counter.to_be_bytes().to_vec();
        v.extend_from_slice(&[0, 1]);
        v.extend_from_slice(&((pi30.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(&[0xFF, 0x04]);
        v.extend_from_slice(pi30);
        v
    }
    let frames = [
        build(b"QPIGS"),
        build(b"QMOD"),
        build(b"POP02"),
        build(b"QPI"),
    ];
    let mut s = Vec::new();
    let mut want = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let m = eyb(i as u16 + 1, f);
        want.push(Out::F(s.len() as u64 + 8, f.clone(), "request".into()));
        s.extend_from_slice(&m);
    }
    let (out, confident) = feed(&[&s]);
    assert_eq!(out, want);
    assert!(confident);
    for cut in 1..s.len() {
        let (a, b) = s.split_at(cut);
        assert_eq!(feed(&[a, b]).0, want, "cut at {cut}");
    }
    let bytes: Vec<&[u8]> = s.chunks(1).collect();
    assert_eq!(feed(&bytes).0, want, "byte by byte");
}
