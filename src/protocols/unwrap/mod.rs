//! Stream unwrappers: a transport layer carried inside a TCP stream (Telnet around SEL, sel.md
//! §4) is removed before framing, lengths and checksums, while every decoded byte keeps the raw
//! stream offset it came from, so that frames are reported where they lie on the wire.
//!
//! An [`Unwrapper`] takes raw chunks (possibly cutting its own sequences anywhere) and appends
//! the decoded bytes to a [`Unwrapped`] buffer, which holds the decoded bytes not yet framed and
//! the map back to raw offsets. The framer consumes from the front of that buffer.
//!
//! - [`telnet`]: Telnet IAC removal (sel.md §4).
//! - [`eybond`]: the Eybond WiFi-dongle header around PI30 (pi30_tracer.md §7).

pub mod eybond;
pub mod telnet;

/// A transport wrapper removed from a raw stream.
pub trait Unwrapper {
    /// Decodes `raw`, the stream bytes at raw offset `offset` (contiguous with the previous
    /// call unless [`Unwrapper::gap`] came between), appending the decoded bytes to `out`.
    /// A sequence cut by the end of `raw` is kept and finished by the next call.
    fn feed(&mut self, offset: u64, raw: &[u8], out: &mut Unwrapped);

    /// Whether `raw`, fed now, would decode to itself: nothing is pending and `raw` holds no
    /// byte of the wrapper. The caller may then frame `raw` where it lies (see
    /// [`Unwrapped::begin_in_place`]) instead of feeding it.
    fn is_transparent(&self, raw: &[u8]) -> bool;

    /// Bytes are missing before the next `feed`: a sequence in progress is dropped.
    fn gap(&mut self);

    /// The stream ended: a sequence in progress is dropped.
    fn end(&mut self);
}

/// Unwrapped bytes not yet framed, and where each came from on the wire.
#[derive(Default)]
pub struct Unwrapped {
    buf: Vec<u8>,
    /// Unwrapped-stream index of `buf[0]`.
    start: u64,
    /// `(decoded index, raw offset)` wherever the raw offset jumps; sorted.
    marks: Vec<(u64, u64)>,
    /// Raw offset just after the last decoded byte.
    next_raw: u64,
}

impl Unwrapped {
    /// Heap bytes held (buffers by capacity).
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity() + self.marks.capacity() * std::mem::size_of::<(u64, u64)>()
    }

    /// Unwrapped-stream index just after the last pending byte.
    fn end(&self) -> u64 {
        self.start + self.buf.len() as u64
    }

    /// The pending bytes.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// No byte is pending.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Room for `n` more bytes, in one allocation.
    pub fn reserve(&mut self, n: usize) {
        self.buf.reserve(n);
    }

    /// Appends decoded `bytes` that lie contiguously on the wire from raw offset `raw`.
    pub fn push(&mut self, bytes: &[u8], raw: u64) {
        if bytes.is_empty() {
            return;
        }
        self.mark(raw, bytes.len());
        self.buf.extend_from_slice(bytes);
    }

    /// Records that the next `len` decoded bytes come from raw offset `raw` on.
    fn mark(&mut self, raw: u64, len: usize) {
        if self.marks.is_empty() || raw != self.next_raw {
            self.marks.push((self.end(), raw));
        }
        self.next_raw = raw + len as u64;
    }

    /// Raw offset of the pending byte `p` (for `p == pending().len()`: just after the last
    /// byte).
    pub fn raw_of(&self, p: usize) -> u64 {
        let dec = self.start + p as u64;
        let i = self.marks.partition_point(|m| m.0 <= dec);
        match i.checked_sub(1).map(|k| self.marks[k]) {
            Some((d, r)) => r + (dec - d),
            None => self.next_raw,
        }
    }

    /// Raw offset just after the last decoded byte.
    pub fn next_raw(&self) -> u64 {
        self.next_raw
    }

    /// Lends the pending bytes out (to be framed while `self` is borrowed elsewhere); give
    /// them back with [`Unwrapped::give_back`].
    pub fn lend(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Takes back the bytes of [`Unwrapped::lend`], of which the first `used` were framed.
    pub fn give_back(&mut self, mut buf: Vec<u8>, used: usize) {
        buf.drain(..used);
        self.buf = buf;
        self.advance(used);
    }

    fn advance(&mut self, n: usize) {
        self.start += n as u64;
        let i = self.marks.partition_point(|m| m.0 <= self.start);
        if i > 1 {
            self.marks.drain(..i - 1);
        }
    }

    /// With nothing pending, `len` raw bytes at `raw` that decode to themselves are framed
    /// where they lie (zero-copy): records where they come from, as [`Unwrapped::push`] does,
    /// and [`Unwrapped::raw_of`] then maps offsets into them.
    pub fn begin_in_place(&mut self, raw: u64, len: usize) {
        debug_assert!(self.buf.is_empty());
        self.mark(raw, len);
    }

    /// The first `used` bytes framed in place were consumed; `rest` is kept for later.
    pub fn end_in_place(&mut self, used: usize, rest: &[u8]) {
        self.advance(used);
        self.buf.extend_from_slice(rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_the_raw_stream() {
        let mut d = Unwrapped::default();
        d.push(b"abc", 10);
        d.push(b"de", 13);
        d.push(b"f", 20);
        assert_eq!(d.pending(), b"abcdef");
        let raws: Vec<u64> = (0..=6).map(|p| d.raw_of(p)).collect();
        assert_eq!(raws, [10, 11, 12, 13, 14, 20, 21]);
        let buf = d.lend();
        d.give_back(buf, 4);
        assert_eq!(d.pending(), b"ef");
        assert_eq!((d.raw_of(0), d.raw_of(1), d.raw_of(2)), (14, 20, 21));
        let buf = d.lend();
        d.give_back(buf, 2);
        assert!(d.is_empty());
        assert_eq!(d.raw_of(0), 21);
        // In place: offsets into the borrowed chunk, the rest kept.
        d.begin_in_place(30, 5);
        assert_eq!((d.raw_of(0), d.raw_of(4)), (30, 34));
        d.end_in_place(3, b"yz");
        assert_eq!(d.pending(), b"yz");
        assert_eq!((d.raw_of(0), d.raw_of(2), d.next_raw()), (33, 35, 35));
    }
}
