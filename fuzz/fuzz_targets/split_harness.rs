//! Shared by the `splitter_*` and `detector` targets (included with `#[path]`; not a target of
//! its own): turns a fuzz input into a plan of `data()` / `gap()` / `end()` calls, runs it on
//! a stream state, and checks what the state emitted against what was fed. The
//! `splitter_c37118` and `splitter_solaredge` targets are [`length_driven`] with the
//! protocol's re-parse check; `splitter_sel` uses [`chunked_and_whole`] with checks of its own.
//!
//! Input layout:
//! - byte 0: bits 0–3 = number of cuts `n` (0–15); bit 4 = probe mode; bit 5 = chunking
//!   only (no `gap()`/`end()` injected);
//! - with probe mode, one byte `l`: `probe_limit(Some(64 · (l + 1)))`;
//! - `n` pairs `(op, size)`: a chunk of `size` bytes (0–255, clamped to what is left); before
//!   it, `op % 8 == 0` injects `gap(next offset, op / 8 + 1)` and `op % 8 == 1` injects
//!   `end()` (a datagram boundary);
//! - the rest is the stream, cut into those chunks, the remainder as the last chunk; `end()`
//!   closes it.

#![allow(dead_code)]

use sekit::protocols::{Found, Label, Protocol, StreamState};
use std::ops::Range;

/// One call on a stream state; data is a range of the stream bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Data(Range<usize>),
    Gap(u64),
    End,
}

pub struct Plan<'a> {
    pub ops: Vec<Op>,
    pub probe: Option<usize>,
    /// A `gap()` or `end()` was injected before the final `end()`.
    pub injected: bool,
    pub stream: &'a [u8],
}

pub fn plan(data: &[u8]) -> Option<Plan<'_>> {
    let (&head, mut rest) = data.split_first()?;
    let n = usize::from(head & 0x0f);
    let no_inject = head & 0x20 != 0;
    let probe = if head & 0x10 != 0 {
        let (&l, r) = rest.split_first()?;
        rest = r;
        Some(64 * (usize::from(l) + 1))
    } else {
        None
    };
    if rest.len() < 2 * n {
        return None;
    }
    let (cuts, stream) = rest.split_at(2 * n);
    let mut ops = Vec::new();
    let mut injected = false;
    let mut at = 0usize;
    for c in cuts.chunks_exact(2) {
        let (op, size) = (c[0], usize::from(c[1]));
        if !no_inject {
            match op % 8 {
                0 => {
                    ops.push(Op::Gap(u64::from(op / 8) + 1));
                    injected = true;
                }
                1 => {
                    ops.push(Op::End);
                    injected = true;
                }
                _ => {}
            }
        }
        let end = (at + size).min(stream.len());
        ops.push(Op::Data(at..end));
        at = end;
    }
    ops.push(Op::Data(at..stream.len()));
    ops.push(Op::End);
    Some(Plan {
        ops,
        probe,
        injected,
        stream,
    })
}

/// The same calls with consecutive `data()` calls merged into one: each stretch between
/// `gap()`/`end()` fed whole.
pub fn merged(ops: &[Op]) -> Vec<Op> {
    let mut out: Vec<Op> = Vec::new();
    for op in ops {
        match (out.last_mut(), op) {
            (Some(Op::Data(r)), Op::Data(s)) => {
                assert_eq!(r.end, s.start, "data ranges are consecutive");
                r.end = s.end;
            }
            _ => out.push(op.clone()),
        }
    }
    out
}

/// An emitted item, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Frame {
        offset: u64,
        bytes: Vec<u8>,
        kind: Label,
    },
    Anomaly {
        offset: u64,
        len: u64,
        reason: &'static str,
    },
}

impl Item {
    pub fn from_found(f: &Found<'_>) -> Item {
        match *f {
            Found::Frame {
                offset,
                bytes,
                kind,
            } => Item::Frame {
                offset,
                bytes: bytes.to_vec(),
                kind,
            },
            Found::Anomaly {
                offset,
                len,
                reason,
            } => Item::Anomaly {
                offset,
                len,
                reason,
            },
        }
    }

    pub fn offset(&self) -> u64 {
        match self {
            Item::Frame { offset, .. } | Item::Anomaly { offset, .. } => *offset,
        }
    }

    /// Length in stream bytes (for a frame: its bytes, which for SEL are Telnet-decoded).
    pub fn len(&self) -> u64 {
        match self {
            Item::Frame { bytes, .. } => bytes.len() as u64,
            Item::Anomaly { len, .. } => *len,
        }
    }
}

/// Stream bytes fed without a `gap()` or `end()` in between: stream offset of the first
/// byte, and the range of the stream.
#[derive(Clone, Debug)]
pub struct Segment {
    pub start: u64,
    pub range: Range<usize>,
}

impl Segment {
    pub fn end(&self) -> u64 {
        self.start + self.range.len() as u64
    }
}

/// Runs `ops` on `state` (stream offsets from 0; a gap advances them by its length). Returns
/// what was emitted, in order, and the segments fed. `after` is called after every op.
pub fn run(
    state: &mut dyn StreamState,
    stream: &[u8],
    ops: &[Op],
    mut after: impl FnMut(&dyn StreamState, &[Item]),
) -> (Vec<Item>, Vec<Segment>) {
    let mut items = Vec::new();
    let mut segs: Vec<Segment> = Vec::new();
    let mut off = 0u64;
    let mut cur: Option<Segment> = None;
    for op in ops {
        let mut emit = |f: Found<'_>| items.push(Item::from_found(&f));
        match op {
            Op::Data(r) => {
                state.data(off, &stream[r.clone()], &mut emit);
                match &mut cur {
                    Some(s) => s.range.end = r.end,
                    None => {
                        cur = Some(Segment {
                            start: off,
                            range: r.clone(),
                        })
                    }
                }
                off += r.len() as u64;
            }
            Op::Gap(len) => {
                state.gap(off, *len, &mut emit);
                segs.extend(cur.take());
                off += len;
            }
            Op::End => {
                state.end(&mut emit);
                segs.extend(cur.take());
            }
        }
        after(state, &items);
    }
    segs.extend(cur.take());
    (items, segs)
}

/// The segment holding stream bytes `[offset, offset + len)`, if one does.
pub fn segment_of(segs: &[Segment], offset: u64, len: u64) -> Option<&Segment> {
    segs.iter()
        .find(|s| s.start <= offset && offset + len <= s.end() && (len > 0 || offset < s.end()))
}

/// Checks of the length-driven splitter (C37.118, SolarEdge), which hold for every input:
/// - frames and anomalies are non-empty, lie inside one segment (nothing spans a gap or a
///   datagram boundary), come in increasing offset order and never overlap;
/// - a frame's bytes are the stream bytes at its offset;
/// - together they cover every byte fed exactly once (the final `end()` flushes everything);
/// - in probe mode no frame is longer than the limit (only with `SEKIT_FUZZ_STRICT=1`: see
///   [`over_probe_limit`]).
///
/// Returns the frames as (offset, bytes, label).
pub fn check_splitter(
    items: &[Item],
    segs: &[Segment],
    stream: &[u8],
    probe: Option<usize>,
) -> Vec<(u64, Vec<u8>, Label)> {
    let mut frames = Vec::new();
    let mut prev_end = 0u64;
    let mut covered = 0u64;
    for it in items {
        let (off, len) = (it.offset(), it.len());
        assert!(len > 0, "empty item {it:?}");
        assert!(
            off >= prev_end,
            "{it:?} overlaps or precedes the previous item (end {prev_end})"
        );
        let seg = segment_of(segs, off, len)
            .unwrap_or_else(|| panic!("{it:?} not inside one fed segment: {segs:?}"));
        if let Item::Frame { bytes, kind, .. } = it {
            let at = seg.range.start + (off - seg.start) as usize;
            assert_eq!(
                &bytes[..],
                &stream[at..at + bytes.len()],
                "frame bytes differ from the stream at {off}"
            );
            if let (Some(limit), true) = (probe, strict()) {
                assert!(
                    bytes.len() <= limit,
                    "frame of {} > probe limit {limit}",
                    bytes.len()
                );
            }
            frames.push((off, bytes.clone(), *kind));
        }
        prev_end = off + len;
        covered += len;
    }
    let fed: u64 = segs.iter().map(|s| s.range.len() as u64).sum();
    assert_eq!(
        covered, fed,
        "frames and anomalies cover every byte fed exactly once"
    );
    frames
}

/// `items` for the whole-versus-chunked comparison. In probe mode the reason of a skipped run
/// is not compared: the splitter asks `Framing::plausible` (which cannot tell yet on a short
/// buffer) before `Framing::parse`, and in probe mode an `Incomplete` longer than the limit is
/// reported before the header checks that need more bytes, so the first reason recorded for
/// the same skipped bytes depends on where the chunks end (offsets and lengths do not).
pub fn comparable(items: &[Item], probe: Option<usize>) -> Vec<Item> {
    items
        .iter()
        .map(|it| match it {
            Item::Anomaly { offset, len, .. } if probe.is_some() => Item::Anomaly {
                offset: *offset,
                len: *len,
                reason: "",
            },
            other => other.clone(),
        })
        .collect()
}

/// `SEKIT_FUZZ_STRICT=1` in the environment: also assert the contracts of known bugs that the
/// targets otherwise step around (see [`over_probe_limit`]).
pub fn strict() -> bool {
    static STRICT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("SEKIT_FUZZ_STRICT").is_some_and(|v| v == "1"))
}

/// Known bug: in probe mode the splitter enforces the limit only on a frame still incomplete
/// (`Parsed::Incomplete` in `Splitter::scan`); a longer frame that lies wholly inside one
/// `data()` call is accepted. So a frame over the limit comes out when fed whole and is
/// skipped as "frame longer than the protocol allows" when cut, and what follows differs.
/// Without `SEKIT_FUZZ_STRICT=1`, inputs where that happened are not compared.
pub fn over_probe_limit(items: &[Item], probe: Option<usize>) -> bool {
    probe.is_some_and(|limit| {
        items
            .iter()
            .any(|it| matches!(it, Item::Frame { bytes, .. } if bytes.len() > limit))
    })
}

/// A fresh stream state of `p`, in probe mode with that limit when `probe` is set.
pub fn state(p: Protocol, probe: Option<usize>) -> Box<dyn StreamState> {
    let mut s = p.new_state();
    if probe.is_some() {
        s.probe_limit(probe);
    }
    s
}

/// Plans `data` and feeds the plan to two fresh states of `p`: chunked as planned, and with
/// each stretch between gaps/ends in one `data()` call ([`merged`]). `check` sees the plan and
/// each run's items and segments. Returns the plan and the items of both runs (chunked,
/// whole), or `None` when `data` is too short for the plan its header asks for.
pub fn chunked_and_whole<'a>(
    data: &'a [u8],
    p: Protocol,
    mut check: impl FnMut(&Plan<'_>, &[Item], &[Segment]),
) -> Option<(Plan<'a>, Vec<Item>, Vec<Item>)> {
    let plan = plan(data)?;
    let mut feed = |ops: &[Op]| {
        let mut s = state(p, plan.probe);
        let (items, segs) = run(s.as_mut(), plan.stream, ops, |_, _| {});
        check(&plan, &items, &segs);
        items
    };
    let chunked = feed(&plan.ops);
    let whole = feed(&merged(&plan.ops));
    Some((plan, chunked, whole))
}

/// The `splitter_*` target of a length-driven protocol `p` (the generic splitter): both runs
/// of [`chunked_and_whole`] pass [`check_splitter`], `reparse(offset, bytes, label)` is called
/// for every frame they emit (it re-parses the frame with the protocol's parser and asserts),
/// and the chunked run gives the same items as the whole one ([`comparable`]; inputs where
/// [`over_probe_limit`] holds are skipped unless [`strict`]).
pub fn length_driven(data: &[u8], p: Protocol, reparse: impl Fn(u64, &[u8], Label)) {
    let Some((plan, chunked, whole)) = chunked_and_whole(data, p, |plan, items, segs| {
        for (off, bytes, kind) in check_splitter(items, segs, plan.stream, plan.probe) {
            reparse(off, &bytes, kind);
        }
    }) else {
        return;
    };
    if !strict() && over_probe_limit(&whole, plan.probe) {
        return;
    }
    assert_eq!(
        comparable(&chunked, plan.probe),
        comparable(&whole, plan.probe),
        "chunked and whole feeding differ"
    );
}
