//! One TCP connection: two directions, each with an out-of-order buffer, a small history of
//! delivered bytes for the overlap check, and ACK-driven gap declaration.

use super::{Config, ConnInfo, Ctx, Dir, DirStats, End, ReassemblyStats, Sink, StreamEvent};
use crate::capture::Timestamp;
use crate::net::{Endpoints, TcpHeader, Transport};
use std::collections::BTreeMap;

enum Piece {
    Data(Vec<u8>),
    /// Bytes the capture cut off (snaplen): they will never be seen, so they become a gap.
    Missing(u64),
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Piece::Data(d) => d.len() as u64,
            Piece::Missing(n) => *n,
        }
    }
}

/// What a direction's operations report to, besides the stream itself.
struct Out<'a, 'c, S> {
    info: &'a ConnInfo,
    dir: Dir,
    st: &'a mut DirStats,
    ctx: &'a Ctx<'c>,
    sink: &'a mut S,
    ooo_total: &'a mut usize,
    history: usize,
    hist: &'a mut History,
}

impl<S: Sink> Out<'_, '_, S> {
    fn emit(&mut self, ev: StreamEvent<'_>) {
        self.sink.event(self.ctx, ev);
    }

    fn conflict(&mut self, offset: u64, len: u64) {
        let (conn, dir) = (self.info, self.dir);
        self.emit(StreamEvent::Conflict {
            conn,
            dir,
            offset,
            len,
        });
        self.st.conflicts.push((offset, len));
    }
}

/// One direction's byte stream: what every packet reads or updates, kept small (the two
/// directions of a connection share a few cache lines; the rest of the connection is touched
/// only now and then).
#[derive(Default)]
struct Stream {
    /// Sequence number of stream offset 0.
    base: Option<u32>,
    /// Everything below is delivered (or declared a gap).
    next: u64,
    /// Highest offset the peer acknowledged.
    acked: u64,
    fin_at: Option<u64>,
    ooo: BTreeMap<u64, Piece>,
    ooo_bytes: usize,
    /// Packets and delivered bytes, and the time of the last packet: copied into the
    /// direction's [`DirStats`] when the connection closes.
    packets: u64,
    bytes: u64,
    last_ts: Timestamp,
    /// The sink wants no more Data and Gap events of this direction.
    muted: bool,
}

/// The last delivered bytes of a direction, for the conflict check.
#[derive(Default)]
struct History {
    /// Ring: byte at offset `o` lives at `o % history`.
    ring: Vec<u8>,
    /// First offset of the data delivered since the last gap (older ring bytes are stale).
    from: u64,
}

/// Offset of `seq` relative to `base`, unwrapped near `near` (sequence numbers wrap at 2³²).
fn unwrap(seq: u32, base: u32, near: u64) -> i64 {
    let rel = seq.wrapping_sub(base);
    let delta = i64::from(rel.wrapping_sub(near as u32) as i32);
    near as i64 + delta
}

impl Stream {
    /// Declares `[next, upto)` a gap (if non-empty) and moves past it.
    fn gap_to<S: Sink>(&mut self, o: &mut Out<'_, '_, S>, upto: u64) {
        if upto <= self.next {
            return;
        }
        let len = upto - self.next;
        let (conn, dir, offset) = (o.info, o.dir, self.next);
        if !self.muted {
            o.emit(StreamEvent::Gap {
                conn,
                dir,
                offset,
                len,
            });
        }
        match o.st.gaps.last_mut() {
            Some(g) if g.0 + g.1 == offset => g.1 += len,
            _ => o.st.gaps.push((offset, len)),
        }
        self.next = upto;
        o.hist.from = upto;
    }

    /// A hole the peer has acknowledged is never going to be seen: once data waits beyond
    /// it, declare it a gap and go on. (Waiting for that data tolerates an ACK captured
    /// before the segment it acknowledges.)
    fn ack_gap<S: Sink>(&mut self, o: &mut Out<'_, '_, S>) {
        while self.acked > self.next {
            let Some(&first) = self.ooo.keys().next() else {
                return;
            };
            self.gap_to(o, first.min(self.acked));
            if first > self.next {
                return;
            }
            self.drain(o);
        }
    }

    fn deliver<S: Sink>(&mut self, o: &mut Out<'_, '_, S>, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if !self.muted {
            self.muted = !o.sink.data(o.ctx, o.info, o.dir, self.next, bytes);
        }
        if o.history > 0 {
            remember(&mut o.hist.ring, o.history, self.next, bytes);
        }
        self.bytes += bytes.len() as u64;
        self.next += bytes.len() as u64;
    }

    /// Compares `new` (at `off`) with delivered bytes still in the history; returns the range
    /// of differing bytes.
    fn differs_from_delivered(
        &self,
        hist: &History,
        off: u64,
        new: &[u8],
        cap: usize,
    ) -> Option<(u64, u64)> {
        if hist.ring.is_empty() {
            return None;
        }
        // Only offsets delivered as data since the last gap and still in the ring.
        let lo = self.next.saturating_sub(cap as u64).max(hist.from).max(off);
        let hi = (off + new.len() as u64).min(self.next);
        let mut first = None;
        let mut last = 0;
        for x in lo..hi {
            if hist.ring[(x % cap as u64) as usize] != new[(x - off) as usize] {
                first.get_or_insert(x);
                last = x;
            }
        }
        first.map(|f| (f, last + 1 - f))
    }

    /// Adds a segment: `data` at `off`, followed by `missing` bytes the capture cut off.
    fn insert<S: Sink>(&mut self, o: &mut Out<'_, '_, S>, off: i64, data: &[u8], missing: u64) {
        // RFC 1122 keep-alive: one byte (or none) at next-1. Not data, never a conflict.
        if data.len() <= 1 && missing == 0 && off == self.next as i64 - 1 {
            o.st.keepalives += 1;
            return;
        }
        let (mut data, mut missing) = (data, missing);
        // Before the stream start (sent before a mid-stream capture began).
        let mut off = if off < 0 {
            let cut = off.unsigned_abs();
            let dcut = cut.min(data.len() as u64);
            o.st.retx_bytes += cut.min(data.len() as u64 + missing);
            data = &data[dcut as usize..];
            missing = missing.saturating_sub(cut - dcut);
            0
        } else {
            off as u64
        };
        // Overlap with delivered bytes: the first copy wins.
        if off < self.next {
            let old = (self.next - off).min(data.len() as u64 + missing);
            o.st.retx_bytes += old;
            let dold = old.min(data.len() as u64) as usize;
            if let Some((at, len)) =
                self.differs_from_delivered(o.hist, off, &data[..dold], o.history)
            {
                o.conflict(at, len);
            }
            data = &data[dold..];
            missing -= old - dold as u64;
            off += old;
        }
        if data.is_empty() && missing == 0 {
            return;
        }
        if off == self.next && self.ooo.is_empty() {
            // In order: delivered straight from the packet, no copy.
            self.deliver(o, data);
            let upto = self.next + missing;
            self.gap_to(o, upto);
            return;
        }
        let dlen = data.len() as u64;
        self.buffer(o, off, Some(data), dlen);
        self.buffer(o, off + dlen, None, missing);
        self.drain(o);
    }

    /// Stores the parts of `[off, off+len)` not yet buffered (first copy wins), reporting
    /// differing overlaps. `data` None means `len` bytes cut off by the capture.
    fn buffer<S: Sink>(&mut self, o: &mut Out<'_, '_, S>, off: u64, data: Option<&[u8]>, len: u64) {
        if len == 0 {
            return;
        }
        let end = off + len;
        let mut covered: Vec<(u64, u64)> = Vec::new();
        // Pieces do not overlap, so walking down by start also walks down by end.
        for (&start, p) in self.ooo.range(..end).rev() {
            let pend = start + p.len();
            if pend <= off {
                break;
            }
            let (a, b) = (start.max(off), pend.min(end));
            o.st.retx_bytes += b - a;
            if let (Piece::Data(old), Some(new)) = (p, data) {
                let x = &old[(a - start) as usize..(b - start) as usize];
                let y = &new[(a - off) as usize..(b - off) as usize];
                if let Some(f) = x.iter().zip(y).position(|(p, q)| p != q) {
                    let l = x.iter().zip(y).rposition(|(p, q)| p != q).unwrap_or(f);
                    o.conflict(a + f as u64, (l - f + 1) as u64);
                }
            }
            covered.push((a, b));
        }
        covered.reverse();
        let mut pos = off;
        for &(a, b) in covered.iter().chain(std::iter::once(&(end, end))) {
            if a > pos {
                let piece = match data {
                    Some(d) => {
                        let v = d[(pos - off) as usize..(a - off) as usize].to_vec();
                        self.ooo_bytes += v.len();
                        *o.ooo_total += v.len();
                        Piece::Data(v)
                    }
                    None => Piece::Missing(a - pos),
                };
                self.ooo.insert(pos, piece);
            }
            pos = pos.max(b);
        }
    }

    /// Delivers buffered pieces that now continue the stream.
    fn drain<S: Sink>(&mut self, o: &mut Out<'_, '_, S>) {
        while let Some(entry) = self.ooo.first_entry() {
            let start = *entry.key();
            if start > self.next {
                break;
            }
            let piece = entry.remove();
            if let Piece::Data(v) = &piece {
                self.ooo_bytes -= v.len();
                *o.ooo_total -= v.len();
            }
            if start + piece.len() <= self.next {
                continue;
            }
            let skip = self.next - start;
            match piece {
                Piece::Data(v) => self.deliver(o, &v[skip as usize..]),
                Piece::Missing(n) => self.gap_to(o, start + n),
            }
        }
    }

    /// Declares every remaining hole a gap and delivers everything buffered.
    fn flush<S: Sink>(&mut self, o: &mut Out<'_, '_, S>) {
        while let Some(&start) = self.ooo.keys().next() {
            self.gap_to(o, start);
            self.drain(o);
        }
        // Bytes the peer acknowledged (or the FIN shows were sent) but never captured.
        let tail = self.fin_at.unwrap_or(0).max(self.acked);
        self.gap_to(o, tail);
    }
}

/// Keeps the last `cap` delivered bytes; byte at offset `o` lives at `o % cap`. The ring grows
/// as data arrives, so short streams never allocate or zero the whole ring.
/// The ring grows with what it holds (doubling, never past `cap`): a direction that carried a
/// few bytes keeps a few bytes, not `cap`.
fn remember(hist: &mut Vec<u8>, cap: usize, off: u64, bytes: &[u8]) {
    if hist.len() < cap && off == hist.len() as u64 {
        let take = (cap - hist.len()).min(bytes.len());
        let want = (hist.len() + take).max(2 * hist.capacity()).min(cap);
        if want > hist.capacity() {
            hist.reserve_exact(want - hist.len());
        }
        hist.extend_from_slice(&bytes[..take]);
        if take == bytes.len() {
            return;
        }
        return remember(hist, cap, off + take as u64, &bytes[take..]);
    }
    if hist.len() < cap {
        // Offsets no longer match positions (a gap came first): switch to ring mode.
        hist.reserve_exact(cap - hist.len());
        hist.resize(cap, 0);
    }
    // Only the last `cap` bytes can be kept.
    let keep = &bytes[bytes.len().saturating_sub(cap)..];
    let off = off + (bytes.len() - keep.len()) as u64;
    let pos = (off % cap as u64) as usize;
    let head = (cap - pos).min(keep.len());
    hist[pos..pos + head].copy_from_slice(&keep[..head]);
    hist[..keep.len() - head].copy_from_slice(&keep[head..]);
}

/// Laid out in this order, from a cache line boundary: the fields read for every packet first.
#[repr(C, align(64))]
pub(super) struct TcpConn {
    streams: [Stream; 2],
    /// The key's `a` side is the client.
    client_is_a: bool,
    rst: bool,
    /// Due time of the connection's live entry in the expiry queue.
    pub sched: Timestamp,
    /// Stamp of the last packet (the memory budget evicts the oldest first).
    pub touch: u64,
    hist: [History; 2],
    /// Complete only at Close: packets, bytes and last time are kept in `streams` until then.
    stats: [DirStats; 2],
    pub info: ConnInfo,
}

impl TcpConn {
    pub fn new(id: u64, ep: &Endpoints, sender_is_a: bool, h: &TcpHeader) -> TcpConn {
        let sender_is_client = if h.has(TcpHeader::SYN) {
            !h.has(TcpHeader::ACK)
        } else if ep.sport != ep.dport {
            // Picked up mid-stream: the side with the higher (ephemeral) port is the client.
            ep.sport > ep.dport
        } else {
            true
        };
        let (client, server) = if sender_is_client {
            ((ep.src, ep.sport), (ep.dst, ep.dport))
        } else {
            ((ep.dst, ep.dport), (ep.src, ep.sport))
        };
        let mut conn = TcpConn {
            info: ConnInfo {
                id,
                transport: Transport::Tcp,
                client,
                server,
                v6: ep.v6,
                vlan: ep.vlan,
            },
            client_is_a: sender_is_a == sender_is_client,
            streams: Default::default(),
            stats: Default::default(),
            rst: false,
            sched: Timestamp::new(i64::MAX, 0),
            touch: 0,
            hist: Default::default(),
        };
        if h.has(TcpHeader::SYN) && h.has(TcpHeader::ACK) {
            // SYN/ACK without the SYN: the client's ISN is the ACK minus one.
            conn.streams[0].base = Some(h.ack);
            conn.stats[0].isn = Some(h.ack.wrapping_sub(1));
        }
        conn
    }

    fn dir_of(&self, sender_is_a: bool) -> Dir {
        if sender_is_a == self.client_is_a {
            Dir::C2S
        } else {
            Dir::S2C
        }
    }

    /// Time of the last packet of either direction.
    pub fn last_ts(&self) -> Timestamp {
        let [a, b] = &self.streams;
        match (a.packets > 0, b.packets > 0) {
            (true, true) => a.last_ts.max(b.last_ts),
            (true, false) => a.last_ts,
            (false, _) => b.last_ts,
        }
    }

    pub fn client_isn(&self) -> Option<u32> {
        self.stats[0].isn
    }

    /// For a closed connection (after [`TcpConn::finish`]), the sequence number just past each
    /// direction's stream (past its FIN, if any), indexed by the key's side (`a` first); None
    /// for a direction never seen. Late packets of the connection carry sequence numbers near
    /// these (and acknowledge the other side's).
    pub fn seq_ends(&self) -> [Option<u32>; 2] {
        let end = |s: &Stream| {
            s.base.map(|b| {
                b.wrapping_add(s.next as u32)
                    .wrapping_add(u32::from(s.fin_at.is_some()))
            })
        };
        let [c, s] = &self.streams;
        if self.client_is_a {
            [end(c), end(s)]
        } else {
            [end(s), end(c)]
        }
    }

    /// A client SYN that starts a new connection on this tuple: a new ISN (a retransmitted SYN
    /// carries the same one), or any SYN on a connection picked up mid-stream.
    pub fn is_new_syn(&self, sender_is_a: bool, seq: u32) -> bool {
        match self.stats[0].isn {
            Some(isn) => self.dir_of(sender_is_a) == Dir::C2S && isn != seq,
            None => true,
        }
    }

    /// Heap bytes of the retransmission history (by capacity).
    pub fn hist_bytes(&self) -> usize {
        self.hist[0].ring.capacity() + self.hist[1].ring.capacity()
    }

    /// Frees the retransmission history of a connection that has gone quiet: a copy arriving
    /// seconds later is no longer compared (it is still dropped as a retransmission). Keeps
    /// memory proportional to active, not merely open, connections.
    pub fn release_history(&mut self) {
        for (s, h) in self.streams.iter().zip(&mut self.hist) {
            if !h.ring.is_empty() {
                h.ring = Vec::new();
                h.from = s.next;
            }
        }
    }

    /// How the old connection ended when its tuple is reused.
    pub fn reuse_end(&self) -> End {
        if self.rst {
            End::Rst
        } else if self.streams.iter().any(|s| s.fin_at.is_some()) {
            End::Fin
        } else {
            End::Timeout
        }
    }

    fn out<'a, 'c, S>(
        &'a mut self,
        dir: Dir,
        cfg_history: usize,
        ooo_total: &'a mut usize,
        ctx: &'a Ctx<'c>,
        sink: &'a mut S,
    ) -> (&'a mut Stream, Out<'a, 'c, S>) {
        let i = dir.index();
        (
            &mut self.streams[i],
            Out {
                info: &self.info,
                dir,
                st: &mut self.stats[i],
                ctx,
                sink,
                ooo_total,
                history: cfg_history,
                hist: &mut self.hist[i],
            },
        )
    }

    /// Handles one segment. Returns the end reason when the connection is over.
    #[allow(clippy::too_many_arguments)]
    pub fn segment<S: Sink>(
        &mut self,
        sender_is_a: bool,
        h: &TcpHeader,
        payload: &[u8],
        missing: u32,
        cfg: &Config,
        ooo_total: &mut usize,
        stats: &mut ReassemblyStats,
        ctx: &Ctx<'_>,
        sink: &mut S,
    ) -> Option<End> {
        let dir = self.dir_of(sender_is_a);
        let i = dir.index();
        let s = &mut self.streams[i];
        if s.packets == 0 {
            self.stats[i].first_ts = Some(ctx.ts);
        }
        s.packets += 1;
        s.last_ts = ctx.ts;
        let syn = h.has(TcpHeader::SYN);
        if self.streams[i].base.is_none() {
            if syn {
                self.streams[i].base = Some(h.seq.wrapping_add(1));
                self.stats[i].isn = Some(h.seq);
            } else {
                self.streams[i].base = Some(h.seq);
                self.stats[i].midstream = true;
            }
        }
        if h.has(TcpHeader::RST) {
            // Payload on or after a RST is ignored.
            self.rst = true;
            return Some(End::Rst);
        }
        // The ACK tells how far the peer got in the other direction.
        if h.has(TcpHeader::ACK) {
            let (s, mut o) = self.out(dir.other(), cfg.history, ooo_total, ctx, sink);
            if let Some(obase) = s.base {
                let mut a = unwrap(h.ack, obase, s.next).max(0) as u64;
                if let Some(f) = s.fin_at {
                    a = a.min(f);
                }
                if a > s.acked {
                    s.acked = a;
                    s.ack_gap(&mut o);
                }
            }
        }
        let (s, mut o) = self.out(dir, cfg.history, ooo_total, ctx, sink);
        let base = s.base.unwrap_or(h.seq);
        let off = unwrap(h.seq.wrapping_add(u32::from(syn)), base, s.next);
        let span = payload.len() as u64 + u64::from(missing);
        if span > 0 {
            s.insert(&mut o, off, payload, u64::from(missing));
            // Caps: declare the first hole a gap until the buffer is back under half its cap.
            let over = |s: &Stream, total: usize| {
                s.ooo_bytes > cfg.ooo_per_dir / 2 || total > cfg.ooo_global
            };
            if s.ooo_bytes > cfg.ooo_per_dir || *o.ooo_total > cfg.ooo_global {
                while !s.ooo.is_empty() && over(s, *o.ooo_total) {
                    stats.forced_gaps += 1;
                    let first = *s.ooo.keys().next().expect("non-empty");
                    s.gap_to(&mut o, first);
                    s.drain(&mut o);
                }
            }
            s.ack_gap(&mut o);
        }
        if h.has(TcpHeader::FIN) && s.fin_at.is_none() {
            s.fin_at = Some(off.max(0) as u64 + span);
        }
        if self.streams.iter().all(|s| s.fin_at.is_some()) {
            return Some(End::Fin);
        }
        None
    }

    /// Delivers what is buffered, declares the remaining holes, and emits Close.
    pub fn finish<S: Sink>(
        &mut self,
        end: End,
        ooo_total: &mut usize,
        ctx: &Ctx<'_>,
        sink: &mut S,
    ) {
        let rst = self.rst;
        for dir in [Dir::C2S, Dir::S2C] {
            let (s, mut o) = self.out(dir, 0, ooo_total, ctx, sink);
            s.flush(&mut o);
            o.st.end = Some(if rst {
                End::Rst
            } else if s.fin_at.is_some() {
                End::Fin
            } else {
                end
            });
            o.hist.ring = Vec::new();
            o.st.packets = s.packets;
            o.st.bytes = s.bytes;
            o.st.last_ts = (s.packets > 0).then_some(s.last_ts);
        }
        sink.event(
            ctx,
            StreamEvent::Close {
                conn: &self.info,
                stats: &self.stats,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwrap_across_wraparound() {
        let base = u32::MAX - 10;
        assert_eq!(unwrap(base, base, 0), 0);
        assert_eq!(unwrap(base.wrapping_add(20), base, 5), 20);
        // 10 bytes behind the current position, one full sequence space into the stream
        let near = (1u64 << 32) + 100;
        assert_eq!(unwrap(base.wrapping_add(90), base, near), (1i64 << 32) + 90);
        assert_eq!(unwrap(base.wrapping_sub(4), base, 0), -4);
    }

    #[test]
    fn ring_grows_with_what_it_holds() {
        let mut h = Vec::new();
        remember(&mut h, 4096, 0, b"GET /x HTTP/1.0\r\n\r\n");
        assert!(
            h.capacity() < 64,
            "a short stream keeps {} bytes",
            h.capacity()
        );
        remember(&mut h, 4096, 19, &[1; 3000]);
        assert!(h.capacity() <= 4096);
        remember(&mut h, 4096, 3019, &[2; 3000]);
        assert_eq!((h.len(), h.capacity()), (4096, 4096));
    }

    #[test]
    fn ring_keeps_last_bytes() {
        let mut h = Vec::new();
        remember(&mut h, 8, 0, b"abcdef");
        assert_eq!(h, b"abcdef");
        remember(&mut h, 8, 6, b"ghijk");
        // offsets 3..11 kept; position = offset % 8
        assert_eq!(h, b"ijkdefgh");
        remember(&mut h, 8, 11, b"0123456789");
        // offsets 13..21 hold "23456789"; 13 % 8 = 5
        assert_eq!(h, b"56789234");
    }
}
