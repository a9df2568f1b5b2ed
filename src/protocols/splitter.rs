//! A length-driven frame splitter shared by the protocols whose frames carry their own length
//! and checksum (SolarEdge, C37.118): parse at the current position; on a valid frame emit it;
//! on `Incomplete` wait for more bytes; on `Bad` skip to the next sync candidate and report the
//! skipped bytes once framing resumes (Suricata-style resync, habit 4). Zero-copy when a frame
//! lies inside one chunk of input; only a frame in progress is buffered.

use super::{Found, Label, Parsed, Protocol, StreamState};
use std::marker::PhantomData;

/// What a protocol's `frame.rs` provides to the splitter.
pub trait Framing: Send + 'static {
    const PROTOCOL: Protocol;
    /// Largest possible frame (bounds the buffer).
    const MAX_FRAME: usize;
    /// Length of the sync pattern.
    const SYNC_LEN: usize;
    /// A frame at the start of `buf`: its length and a label of its kind.
    fn parse(buf: &[u8]) -> Parsed<(usize, Label)>;
    /// Index of the next position at or after `from` where a frame could start, including a
    /// sync pattern cut by the end of `buf` (it may continue in the next chunk).
    fn find_sync(buf: &[u8], from: usize) -> Option<usize>;
    /// Stricter checks of a frame start used while probing (false while the bytes present
    /// already rule it out; true when they cannot tell yet).
    fn plausible(_buf: &[u8]) -> bool {
        true
    }
}

pub struct Splitter<F: Framing> {
    buf: Vec<u8>,
    /// Stream offset of `buf[0]` (of the next byte when `buf` is empty).
    pos: u64,
    /// Skipping since this offset, for this reason.
    skipping: Option<(u64, &'static str)>,
    run: u32,
    best_run: u32,
    unit_frames: u32,
    unit_clean: bool,
    clean_units: u32,
    pub frames: u64,
    /// Probe mode: largest frame accepted.
    probe: Option<usize>,
    /// Bytes fed so far.
    seen: u64,
    /// Probing: a checkpoint found the stream hopeless.
    gave_up: bool,
    _f: PhantomData<F>,
}

impl<F: Framing> Default for Splitter<F> {
    fn default() -> Self {
        Splitter {
            buf: Vec::new(),
            pos: 0,
            skipping: None,
            run: 0,
            best_run: 0,
            unit_frames: 0,
            unit_clean: true,
            clean_units: 0,
            frames: 0,
            probe: None,
            seen: 0,
            gave_up: false,
            _f: PhantomData,
        }
    }
}

impl<F: Framing> Splitter<F> {
    fn flush_skip(&mut self, upto: u64, emit: &mut dyn FnMut(Found<'_>)) {
        if let Some((start, reason)) = self.skipping.take() {
            if upto > start {
                emit(Found::Anomaly {
                    offset: start,
                    len: upto - start,
                    reason,
                });
            }
        }
    }

    fn bad(&mut self, at: u64, reason: &'static str) {
        self.run = 0;
        self.unit_clean = false;
        if self.skipping.is_none() {
            self.skipping = Some((at, reason));
        }
    }

    /// Frames `data` (stream offset `base`); returns how many bytes were consumed. The rest is a
    /// frame in progress (or a possible start of one) to keep.
    fn scan(&mut self, data: &[u8], base: u64, emit: &mut dyn FnMut(Found<'_>)) -> usize {
        let mut i = 0;
        let limit = self.probe.unwrap_or(F::MAX_FRAME);
        while i < data.len() {
            let parsed = match F::parse(&data[i..]) {
                // While probing: stricter checks, and no frame longer than the limit however
                // the bytes arrived.
                Parsed::Frame((n, _)) if self.probe.is_some() && n > limit => {
                    Parsed::Bad("frame longer than the protocol allows")
                }
                Parsed::Frame(_) | Parsed::Incomplete(_)
                    if self.probe.is_some() && !F::plausible(&data[i..]) =>
                {
                    Parsed::Bad("implausible frame header")
                }
                other => other,
            };
            match parsed {
                Parsed::Frame((n, kind)) => {
                    let at = base + i as u64;
                    self.flush_skip(at, emit);
                    emit(Found::Frame {
                        offset: at,
                        bytes: &data[i..i + n],
                        kind,
                    });
                    self.frames += 1;
                    self.unit_frames += 1;
                    self.run += 1;
                    self.best_run = self.best_run.max(self.run);
                    i += n;
                }
                Parsed::Incomplete(need) if data.len() - i + need <= limit => break,
                Parsed::Incomplete(_) => {
                    self.bad(base + i as u64, "frame longer than the protocol allows");
                    i = F::find_sync(data, i + 1).unwrap_or(data.len());
                }
                Parsed::Bad(reason) => {
                    self.bad(base + i as u64, reason);
                    // Nothing to keep when no frame can start (find_sync reports a sync
                    // pattern cut by the end), so the next chunk is framed in place.
                    i = F::find_sync(data, i + 1).unwrap_or(data.len());
                }
            }
        }
        i
    }

    /// The stream stops here (a gap or its end): the candidate frame waiting for more bytes
    /// will never complete. It is skipped and the rest of the buffer is framed again, so a
    /// false frame start (a sync pattern with a large length) does not hide the frames after it.
    fn drop_pending(&mut self, reason: &'static str, emit: &mut dyn FnMut(Found<'_>)) {
        let buf = std::mem::take(&mut self.buf);
        let base = self.pos;
        let end = base + buf.len() as u64;
        let mut i = 0;
        while i < buf.len() {
            self.bad(base + i as u64, reason);
            let next = F::find_sync(&buf, i + 1).unwrap_or(buf.len());
            i = next + self.scan(&buf[next..], base + next as u64, emit);
        }
        self.flush_skip(end, emit);
        self.pos = end;
        self.run = 0;
    }
}

impl<F: Framing> StreamState for Splitter<F> {
    fn protocol(&self) -> Protocol {
        F::PROTOCOL
    }

    fn footprint(&self) -> usize {
        std::mem::size_of::<Self>() + self.buf.capacity()
    }

    /// While probing, the data is cut at the checkpoints of [`StreamState::hopeless`], so the
    /// verdict is taken at the same stream position however the stream is segmented; once it
    /// is given, nothing more is framed.
    fn data(&mut self, offset: u64, bytes: &[u8], emit: &mut dyn FnMut(Found<'_>)) {
        let (mut offset, mut bytes) = (offset, bytes);
        while !bytes.is_empty() {
            if self.hopeless() {
                return self.skip_unread(offset, bytes.len() as u64, emit);
            }
            let n = self.probe_cut(bytes.len()).unwrap_or(bytes.len());
            self.feed(offset, &bytes[..n], emit);
            self.checkpoint();
            offset += n as u64;
            bytes = &bytes[n..];
        }
    }

    fn gap(&mut self, offset: u64, len: u64, emit: &mut dyn FnMut(Found<'_>)) {
        self.drop_pending("frame cut by a gap", emit);
        self.unit_clean = false;
        self.pos = offset + len;
    }

    fn end(&mut self, emit: &mut dyn FnMut(Found<'_>)) {
        self.drop_pending("frame truncated at the end of the stream", emit);
        if self.unit_clean && self.unit_frames > 0 {
            self.clean_units += 1;
        }
        self.unit_clean = true;
        self.unit_frames = 0;
    }

    /// Every frame emitted here passed the protocol's parser, check included.
    fn checked_frames(&self) -> u64 {
        self.frames
    }

    /// Two frames back to back, or a whole datagram/stream made only of valid frames.
    fn confident(&self) -> bool {
        !self.hopeless() && (self.best_run >= 2 || self.clean_units >= 1)
    }

    fn probe_limit(&mut self, limit: Option<usize>) {
        self.probe = limit;
    }

    /// No valid frame and none in progress in the first [`QUICK_LOOK`] bytes, or no valid
    /// frame in the first [`LONG_LOOK`] (each capped by the probe window): the protocols framed
    /// here send small frames back to back from the start, and a stream picked up in the middle
    /// shows a frame start within the tail of one frame. (Zeek's protocol detection likewise
    /// looks at the first 1,024 bytes of a direction.) Taken at those positions exactly.
    fn hopeless(&self) -> bool {
        self.probe.is_some() && self.gave_up
    }
}

/// Probing checkpoints (bytes of a direction); see [`Splitter::hopeless`].
const QUICK_LOOK: u64 = 1024;
const LONG_LOOK: u64 = 4096;

impl<F: Framing> Splitter<F> {
    /// While probing: how many of the next `len` bytes lead up to the next checkpoint, when
    /// one is among them.
    fn probe_cut(&self, len: usize) -> Option<usize> {
        let w = self.probe? as u64;
        [QUICK_LOOK, LONG_LOOK]
            .into_iter()
            .map(|c| c.min(w))
            .find(|&c| c > self.seen && c <= self.seen + len as u64)
            .map(|c| (c - self.seen) as usize)
    }

    /// At a probing checkpoint: the verdict of [`StreamState::hopeless`].
    fn checkpoint(&mut self) {
        let Some(w) = self.probe else { return };
        let (quick, long) = (QUICK_LOOK.min(w as u64), LONG_LOOK.min(w as u64));
        let in_progress = self.buf.len() >= F::SYNC_LEN;
        if self.frames == 0 && ((self.seen == quick && !in_progress) || self.seen == long) {
            self.gave_up = true;
        }
    }

    /// A hopeless probe reads no further (the detector drops it): what is pending and the
    /// `len` bytes at `offset` join one skipped run, reported at the next gap or at the end
    /// like any other, so the output still accounts for every byte.
    fn skip_unread(&mut self, offset: u64, len: u64, emit: &mut dyn FnMut(Found<'_>)) {
        let end = self.pos + self.buf.len() as u64;
        if offset != end {
            self.gap(end, offset.saturating_sub(end), emit);
        }
        self.seen += len;
        self.bad(self.pos, "not examined: detection gave up on the stream");
        self.buf.clear();
        self.pos = offset + len;
    }

    fn feed(&mut self, offset: u64, bytes: &[u8], emit: &mut dyn FnMut(Found<'_>)) {
        self.seen += bytes.len() as u64;
        if offset != self.pos + self.buf.len() as u64 {
            // Not contiguous: treat the difference as a gap.
            let end = self.pos + self.buf.len() as u64;
            self.gap(end, offset.saturating_sub(end), emit);
            self.pos = offset;
        }
        if self.buf.is_empty() {
            let used = self.scan(bytes, offset, emit);
            self.buf.extend_from_slice(&bytes[used..]);
            self.pos = offset + used as u64;
        } else {
            let mut buf = std::mem::take(&mut self.buf);
            buf.extend_from_slice(bytes);
            let used = self.scan(&buf, self.pos, emit);
            buf.drain(..used);
            self.pos += used as u64;
            self.buf = buf;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::solaredge::frame::{build, SeFraming};

    /// Feeds `raw` in probe mode in chunks of `size` as the detector does (stopping once the
    /// probe is confident or hopeless); returns (confident, hopeless).
    fn probe(raw: &[u8], size: usize) -> (bool, bool) {
        let mut sp = Splitter::<SeFraming>::default();
        sp.probe_limit(Some(16 * 1024));
        let mut off = 0u64;
        for c in raw.chunks(size) {
            sp.data(off, c, &mut |_| {});
            off += c.len() as u64;
            if sp.confident() || sp.hopeless() {
                break;
            }
        }
        (sp.confident(), sp.hopeless())
    }

    /// Junk (no magic) of `pad` bytes, then SolarEdge frames of 400 bytes back to back.
    fn stream(pad: usize) -> Vec<u8> {
        let mut raw = vec![0x55u8; pad];
        for seq in 0..8 {
            raw.extend(build(seq, 0x7f10_4920, 0xffff_fffd, 0x0500, &[0xA0; 378]).unwrap());
        }
        raw
    }

    #[test]
    fn probing_checkpoints_do_not_depend_on_segmentation() {
        // A frame in progress at 1 KiB keeps the probe going; no frame start in the first
        // 1 KiB, or no valid frame in the first 4 KiB, ends it.
        for (pad, found) in [(0, true), (900, true), (1020, true), (1100, false)] {
            let raw = stream(pad);
            for size in [1, 13, 512, 1023, 1024, 1025, 1460, raw.len()] {
                let (confident, hopeless) = probe(&raw, size);
                assert_eq!(
                    (confident, hopeless),
                    (found, !found),
                    "pad {pad}, size {size}"
                );
            }
        }
        let junk = vec![0x55u8; 8192];
        for size in [1, 700, 1460, 8192] {
            assert_eq!(probe(&junk, size), (false, true), "size {size}");
        }
    }
}
