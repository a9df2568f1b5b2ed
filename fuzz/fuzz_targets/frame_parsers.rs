//! First byte (mod 3) picks a protocol; the rest goes to its pure frame parser:
//! `c37118::frame::parse_frame`, `solaredge::frame::parse_frame` or
//! `sel::frame::parse_message`.
//!
//! Checks: no panic; a `Frame` borrows a prefix of the input (never longer than it); a SEL
//! bare request is exactly `A5 t`; `Incomplete(n)` has `n ≥ 1`, and appending fewer than `n`
//! bytes (copies of the input's first bytes, then 0x00 or 0xFF) never yields a `Frame` — for
//! SEL never a framed message: a bare request can be decided sooner than `n` says, because `n`
//! counts up to the end of the header (`A5C1`–`A5C3`: 10 bytes) while an earlier field may
//! already contradict the layout (`a5 c3 e4 25` is `Incomplete(6)`, one more byte `a5` makes
//! it the request `A5C3-req`); every strict prefix of a C37.118/SolarEdge frame or a framed
//! SEL message (checked: one byte short, and half) is `Incomplete`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sekit::protocols::{c37118, sel, solaredge, Parsed};

/// Outcome reduced to what the checks need: frame length (and whether a SEL request),
/// bytes needed, or bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Frame(usize, bool),
    Incomplete(usize),
    Bad,
}

fn parse(proto: u8, buf: &[u8]) -> Out {
    let reduce = |p: Parsed<(usize, bool, *const u8)>| match p {
        Parsed::Frame((n, req, ptr)) => {
            assert!(
                n <= buf.len(),
                "frame of {n} bytes from {} bytes",
                buf.len()
            );
            assert_eq!(ptr, buf.as_ptr(), "frame borrows the start of the input");
            Out::Frame(n, req)
        }
        Parsed::Incomplete(n) => {
            assert!(n >= 1, "Incomplete(0)");
            Out::Incomplete(n)
        }
        Parsed::Bad(_) => Out::Bad,
    };
    match proto {
        0 => reduce(match c37118::frame::parse_frame(buf) {
            Parsed::Frame(f) => Parsed::Frame((f.bytes.len(), false, f.bytes.as_ptr())),
            Parsed::Incomplete(n) => Parsed::Incomplete(n),
            Parsed::Bad(r) => Parsed::Bad(r),
        }),
        1 => reduce(match solaredge::frame::parse_frame(buf) {
            Parsed::Frame(f) => {
                assert_eq!(
                    f.payload.len() + 22,
                    f.bytes.len(),
                    "SolarEdge payload length"
                );
                Parsed::Frame((f.bytes.len(), false, f.bytes.as_ptr()))
            }
            Parsed::Incomplete(n) => Parsed::Incomplete(n),
            Parsed::Bad(r) => Parsed::Bad(r),
        }),
        _ => reduce(match sel::frame::parse_message(buf) {
            Parsed::Frame(m) => {
                if m.request {
                    assert_eq!(m.bytes.len(), 2, "bare request");
                    assert!(sel::frame::is_request_type(m.msg_type), "request type");
                } else {
                    assert!(m.bytes.len() >= 3, "framed message");
                    assert_eq!(usize::from(m.bytes[2]), m.bytes.len(), "sliced by len");
                }
                Parsed::Frame((m.bytes.len(), m.request, m.bytes.as_ptr()))
            }
            Parsed::Incomplete(n) => Parsed::Incomplete(n),
            Parsed::Bad(r) => Parsed::Bad(r),
        }),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, buf)) = data.split_first() else {
        return;
    };
    let proto = sel % 3;
    match parse(proto, buf) {
        Out::Incomplete(n) => {
            // Fewer than n more bytes never complete a frame.
            let k = (n - 1).min(1 << 17);
            for fill in [0u8, 0xFF] {
                let mut ext = buf.to_vec();
                ext.extend((0..k).map(|i| buf.get(i).copied().unwrap_or(fill)));
                let got = parse(proto, &ext);
                let sel_request = proto == 2 && got == Out::Frame(2, true);
                assert!(
                    !matches!(got, Out::Frame(..)) || sel_request,
                    "Incomplete({n}) completed by {k} bytes: {got:?}"
                );
            }
        }
        Out::Frame(len, false) if len > 0 => {
            for cut in [len - 1, len / 2] {
                let got = parse(proto, &buf[..cut]);
                assert!(
                    matches!(got, Out::Incomplete(_)),
                    "prefix of {cut} of a {len}-byte frame: {got:?}"
                );
            }
        }
        _ => {}
    }
});
