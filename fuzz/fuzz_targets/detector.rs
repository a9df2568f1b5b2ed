//! Stream bytes cut into chunks (with optional gaps and ends, see `split_harness.rs`) →
//! `sekit::protocols::detect::Detector` with every protocol as a candidate and a 16 KiB
//! window, as `seextract` runs it on each direction. The probe-mode bit of the harness header
//! instead makes the detector `decide()` for protocol `l % n` of the `n` in
//! `registry::PROTOCOLS` (as when the other direction of the connection was detected) before
//! the chunk `l / n % 16`.
//!
//! Checks: no panic; once decided the protocol never changes and the detector never goes back
//! to probing; once given up it stays given up and emits nothing; `data()`/`gap()`/`end()`
//! return `Some(p)` at most once, on the call that decided, with `p` the protocol then
//! reported; every item emitted carries the decided protocol and is emitted only once a
//! protocol is decided; frames of the decided protocol come in increasing offset order.

#![no_main]

#[path = "split_harness.rs"]
mod split_harness;

use libfuzzer_sys::fuzz_target;
use sekit::protocols::detect::Detector;
use sekit::protocols::registry::PROTOCOLS;
use sekit::protocols::{Found, Protocol};
use split_harness::{plan, Op};

const WINDOW: u64 = 16 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some(p) = plan(data) else {
        return;
    };
    // The harness's probe byte, reused: decide for a protocol before a given chunk.
    let force = p.probe.map(|limit| {
        let l = limit / 64 - 1;
        (PROTOCOLS[l % PROTOCOLS.len()], l / PROTOCOLS.len() % 16)
    });
    let mut det: Detector<u32> = Detector::new(PROTOCOLS, None, WINDOW);
    let mut decided: Option<Protocol> = None;
    let mut given_up = false;
    let mut last_frame: Option<u64> = None;
    let mut off = 0u64;
    let mut chunk = 0usize;
    for (step, op) in p.ops.iter().enumerate() {
        let ctx = step as u32;
        let mut emitted: Vec<(Protocol, Option<u64>)> = Vec::new();
        let mut emit = |_: &u32, proto: Protocol, f: Found<'_>| {
            let frame_at = match f {
                Found::Frame { offset, bytes, .. } => {
                    assert!(!bytes.is_empty(), "empty frame");
                    Some(offset)
                }
                Found::Anomaly { .. } => None,
            };
            emitted.push((proto, frame_at));
        };
        let ret = match op {
            Op::Data(r) => {
                if let Some((proto, at)) = force {
                    if at == chunk {
                        det.decide(proto, &mut emit);
                        if decided.is_none() && !given_up {
                            assert_eq!(det.protocol(), Some(proto), "decide() decides");
                        }
                    }
                }
                chunk += 1;
                let r2 = det.data(&ctx, off, &p.stream[r.clone()], &mut emit);
                off += r.len() as u64;
                r2
            }
            Op::Gap(len) => {
                let r2 = det.gap(&ctx, off, *len, &mut emit);
                off += len;
                r2
            }
            Op::End => det.end(&ctx, &mut emit),
        };
        let now = det.protocol();
        if let Some(d) = decided {
            assert_eq!(now, Some(d), "protocol changed after the decision");
            assert!(ret.is_none(), "decided twice");
        }
        if let Some(r) = ret {
            assert_eq!(now, Some(r), "returned protocol is the one decided");
        }
        if given_up {
            assert!(det.given_up(), "given up, then not");
            assert!(emitted.is_empty(), "emitted after giving up");
        }
        if now.is_some() {
            assert!(!det.undecided() && !det.given_up());
        }
        decided = decided.or(now);
        given_up = det.given_up();
        for (proto, frame_at) in emitted {
            assert_eq!(
                Some(proto),
                decided,
                "item of another protocol, or before a decision"
            );
            if let Some(at) = frame_at {
                if let Some(prev) = last_frame {
                    assert!(at > prev, "frame at {at} after the frame at {prev}");
                }
                last_frame = Some(at);
            }
        }
    }
});
