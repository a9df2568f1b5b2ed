//! TCP stream reassembly and UDP flow tracking. Nothing here knows about protocols.
//!
//! Semantics follow `reassembly.md` §2 (Zeek/Suricata style): per connection and direction,
//! u64 offsets relative to the first byte of the stream (ISN+1, or the first sequence number
//! seen when the capture starts mid-stream); out-of-order data buffered; retransmissions
//! dropped and counted; overlapping data: the first copy wins and a differing copy is
//! reported as a conflict; holes become typed [`StreamEvent::Gap`]s (never zero-filled) once
//! the peer ACKs past them, on FIN/RST, idle timeout, a buffer cap or end of input.
//!
//! Memory is bounded by a budget in bytes (`Config::max_memory`) over the state of every open
//! connection, the reassembler's and its sink's together: past it, the least recently active
//! connections are closed early (`end: evicted`), counted, and their later packets start new
//! connections (docs/REASSEMBLY.md, "Memory budget").

mod budget;
mod tcp;
mod timers;

use crate::capture::Timestamp;
use crate::net::{Addr, Endpoints, Segment, Transport, Vlans};
use budget::Lru;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use tcp::TcpConn;
use timers::{due, earlier, Timers, UNSCHEDULED};

/// Limits and policies of the reassembler.
#[derive(Clone, Debug)]
pub struct Config {
    /// A TCP connection with no packet for this long (capture time) is closed (`end: timeout`).
    pub tcp_idle_secs: i64,
    /// A UDP flow with no datagram for this long is closed.
    pub udp_idle_secs: i64,
    /// Out-of-order bytes buffered per direction before the hole is declared a gap.
    pub ooo_per_dir: usize,
    /// Out-of-order bytes buffered over all connections.
    pub ooo_global: usize,
    /// Delivered bytes remembered per direction to compare retransmissions (conflict check).
    pub history: usize,
    /// Seconds without packets after which a connection's retransmission history is freed.
    pub history_idle_secs: i64,
    /// Seconds a closed connection's tuple is remembered to absorb late packets.
    pub closed_linger_secs: i64,
    /// Closed tuples remembered at most.
    pub max_closed: usize,
    /// A packet on a remembered closed tuple is a late packet of that connection only when its
    /// sequence number is within this distance of where its direction's stream ended (and its
    /// acknowledgment within it of where the other direction ended). Anything else is a new
    /// connection whose SYN was not captured, picked up mid-stream.
    pub closed_window: u32,
    /// Bytes of connection state (the reassembler's and its sink's) held at most; past it, the
    /// least recently active connections are evicted until it is back under 7/8 of it.
    pub max_memory: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tcp_idle_secs: 300,
            udp_idle_secs: 120,
            ooo_per_dir: 1 << 20,
            ooo_global: 32 << 20,
            history: 4096,
            history_idle_secs: 2,
            closed_linger_secs: 10,
            max_closed: 16_384,
            closed_window: 4 << 20,
            max_memory: 256 << 20,
        }
    }
}

/// Direction within a connection: the client is the SYN sender (for a connection picked up
/// mid-stream, the side with the higher port; for UDP, the first sender).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    C2S = 0,
    S2C = 1,
}

impl Dir {
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::C2S => "c2s",
            Dir::S2C => "s2c",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn other(self) -> Dir {
        match self {
            Dir::C2S => Dir::S2C,
            Dir::S2C => Dir::C2S,
        }
    }
}

/// How a direction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Fin,
    Rst,
    Timeout,
    Eof,
    /// Closed early by the memory budget.
    Evicted,
}

impl End {
    pub fn as_str(self) -> &'static str {
        match self {
            End::Fin => "fin",
            End::Rst => "rst",
            End::Timeout => "timeout",
            End::Eof => "eof",
            End::Evicted => "evicted",
        }
    }
}

/// What stays the same for the life of a connection.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    /// Unique per connection; a reused tuple gets a new id. Starts at 1.
    pub id: u64,
    pub transport: Transport,
    pub client: (Addr, u16),
    pub server: (Addr, u16),
    pub v6: bool,
    pub vlan: Vlans,
}

impl ConnInfo {
    /// Endpoints of one direction, sender first.
    pub fn endpoints(&self, dir: Dir) -> Endpoints {
        let (s, d) = match dir {
            Dir::C2S => (self.client, self.server),
            Dir::S2C => (self.server, self.client),
        };
        Endpoints {
            src: s.0,
            dst: d.0,
            sport: s.1,
            dport: d.1,
            v6: self.v6,
            vlan: self.vlan,
        }
    }
}

/// Per-direction account, complete when the connection closes.
#[derive(Clone, Debug, Default)]
pub struct DirStats {
    pub packets: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// Bytes delivered as Data events.
    pub bytes: u64,
    /// `[offset, len]` of every gap.
    pub gaps: Vec<(u64, u64)>,
    /// `[offset, len]` of every overlap whose bytes differed from the first copy.
    pub conflicts: Vec<(u64, u64)>,
    /// Bytes received again (retransmissions and overlaps), not delivered twice.
    pub retx_bytes: u64,
    pub keepalives: u64,
    /// The stream was picked up without its SYN.
    pub midstream: bool,
    /// Sequence number of the SYN, when seen.
    pub isn: Option<u32>,
    pub end: Option<End>,
}

impl DirStats {
    fn saw(&mut self, ts: Timestamp) {
        self.packets += 1;
        if self.first_ts.is_none() {
            self.first_ts = Some(ts);
        }
        self.last_ts = Some(ts);
    }
}

/// Where an event comes from: the packet being processed (for data completed from buffered
/// segments, the packet that completed it).
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    pub ts: Timestamp,
    pub file: &'a str,
    pub pkt: u64,
}

#[derive(Debug)]
pub enum StreamEvent<'a> {
    Open {
        conn: &'a ConnInfo,
    },
    Data {
        conn: &'a ConnInfo,
        dir: Dir,
        offset: u64,
        bytes: &'a [u8],
    },
    Gap {
        conn: &'a ConnInfo,
        dir: Dir,
        offset: u64,
        len: u64,
    },
    Conflict {
        conn: &'a ConnInfo,
        dir: Dir,
        offset: u64,
        len: u64,
    },
    Close {
        conn: &'a ConnInfo,
        stats: &'a [DirStats; 2],
    },
}

/// Receives the reassembler's events.
pub trait Sink {
    fn event(&mut self, ctx: &Ctx<'_>, ev: StreamEvent<'_>);
    /// A [`StreamEvent::Data`]; the answer says whether later Data and Gap events of this
    /// direction are still wanted. Once a sink answers false, the reassembler stops sending
    /// them for the direction (it still reassembles it: counters and the Close event are
    /// unchanged), so a sink that has seen enough of a stream costs nothing more per packet.
    /// By default the event goes to [`Sink::event`] and everything is wanted.
    fn data(
        &mut self,
        ctx: &Ctx<'_>,
        conn: &ConnInfo,
        dir: Dir,
        offset: u64,
        bytes: &[u8],
    ) -> bool {
        self.event(
            ctx,
            StreamEvent::Data {
                conn,
                dir,
                offset,
                bytes,
            },
        );
        true
    }
    /// The input has no more data for now (follow mode): a good time to flush output.
    fn idle(&mut self) {}
    /// Bytes the sink holds for open connections (counted against the memory budget with the
    /// reassembler's own); kept up to date by the sink, as it is asked after every packet.
    fn held_bytes(&self) -> usize {
        0
    }
}

/// Counters over all connections and flows.
#[derive(Clone, Debug, Default)]
pub struct ReassemblyStats {
    pub tcp_conns: u64,
    pub udp_flows: u64,
    /// Packets for a closed connection (late ACKs, retransmissions after FIN/RST).
    pub after_close: u64,
    /// RST for a connection never seen.
    pub stray_rst: u64,
    /// Gaps declared because an out-of-order cap was reached.
    pub forced_gaps: u64,
    /// Connections and flows closed early by the memory budget.
    pub evicted: u64,
    /// Largest connection state held at once (the reassembler's and its sink's), in bytes.
    pub mem_peak: usize,
    /// Largest out-of-order byte total held at once.
    pub ooo_peak: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    a: Addr,
    b: Addr,
    ap: u16,
    bp: u16,
    v6: bool,
    vlan: Vlans,
}

/// Two words instead of one per field (the table is looked up for every packet). For IPv4 the
/// first word holds both addresses exactly; `v6` is left to the equality check.
impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let fold = |x: u128| (x as u64) ^ ((x >> 64) as u64);
        h.write_u64(fold(self.a) ^ fold(self.b).rotate_left(32));
        h.write_u64(
            u64::from(self.ap) << 48
                | u64::from(self.bp) << 32
                | u64::from(self.vlan[0]) << 16
                | u64::from(self.vlan[1]),
        );
    }
}

/// Canonical (direction-free) key and whether the sender is the key's `a` side.
fn key_of(ep: &Endpoints) -> (Key, bool) {
    let sender_first = (ep.src, ep.sport) <= (ep.dst, ep.dport);
    let (a, ap, b, bp) = if sender_first {
        (ep.src, ep.sport, ep.dst, ep.dport)
    } else {
        (ep.dst, ep.dport, ep.src, ep.sport)
    };
    (
        Key {
            a,
            b,
            ap,
            bp,
            v6: ep.v6,
            vlan: ep.vlan,
        },
        sender_first,
    )
}

/// A closed connection, kept for a while so late packets do not start a new one. Kept apart
/// from the open connections, keyed by a 64-bit hash of the tuple, in a table sized once for
/// `max_closed` entries: its churn then never grows it, and memory does not depend on how long
/// the capture is.
#[derive(Clone, Copy)]
struct Tomb {
    id: u64,
    client_isn: Option<u32>,
    /// Sequence number just past each side's stream (`a` side first), when seen.
    seq_ends: [Option<u32>; 2],
}

impl Tomb {
    /// Whether a packet on this closed tuple belongs to the closed connection (a late ACK, a
    /// retransmission, a retransmitted SYN) rather than starting a new one.
    fn absorbs(&self, sender_is_a: bool, h: &crate::net::TcpHeader, window: u32) -> bool {
        use crate::net::TcpHeader as T;
        if h.has(T::SYN) && !h.has(T::ACK) {
            // A client SYN: the old one again, or a new ISN (port reuse).
            return self.client_isn == Some(h.seq);
        }
        let (own, peer) = if sender_is_a {
            (self.seq_ends[0], self.seq_ends[1])
        } else {
            (self.seq_ends[1], self.seq_ends[0])
        };
        let near = |x: u32, end: u32| (x.wrapping_sub(end) as i32).unsigned_abs() <= window;
        let seq_near = own.is_none_or(|e| near(h.seq, e));
        let ack_near = !h.has(T::ACK) || peer.is_none_or(|e| near(h.ack, e));
        seq_near && ack_near
    }
}

fn key_hash(k: &Key) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(k)
}

struct UdpFlow {
    info: ConnInfo,
    client_is_a: bool,
    stats: [DirStats; 2],
    next: [u64; 2],
    /// The sink wants no more Data and Gap events of this direction.
    muted: [bool; 2],
    last_ts: Timestamp,
    /// Due time of the flow's live entry in the expiry queue.
    sched: Timestamp,
    /// Stamp of the last datagram (see [`budget`]).
    touch: u64,
}

/// The reassembler: feed it segments in capture order, then call [`Reassembler::finish`].
pub struct Reassembler {
    cfg: Config,
    tcp: FxHashMap<Key, Box<TcpConn>>,
    tombs: FxHashMap<u64, Tomb>,
    udp: FxHashMap<Key, Box<UdpFlow>>,
    /// When to look at each TCP connection again (history release, idle expiry).
    tcp_timers: Timers<Key>,
    /// When each UDP flow may have gone idle.
    udp_timers: Timers<Key>,
    closed: VecDeque<(Timestamp, u64, u64)>,
    /// Connections and flows by last activity, for the memory budget.
    lru: Lru<Key>,
    /// Packets processed: the stamp of the next one.
    clock: u64,
    next_id: u64,
    ooo_total: usize,
    /// Retransmission history held over all connections, by capacity.
    hist_total: usize,
    last_sweep: i64,
    pub stats: ReassemblyStats,
}

impl Reassembler {
    pub fn new(cfg: Config) -> Self {
        let tombs = FxHashMap::with_capacity_and_hasher(2 * cfg.max_closed, Default::default());
        Reassembler {
            cfg,
            tcp: FxHashMap::default(),
            tombs,
            udp: FxHashMap::default(),
            tcp_timers: Timers::new(),
            udp_timers: Timers::new(),
            closed: VecDeque::new(),
            lru: Lru::new(),
            clock: 0,
            next_id: 1,
            ooo_total: 0,
            hist_total: 0,
            last_sweep: i64::MIN,
            stats: ReassemblyStats::default(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Connections and flows currently open.
    pub fn open_count(&self) -> usize {
        self.tcp.len() + self.udp.len()
    }

    fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Processes one segment.
    pub fn process<S: Sink>(&mut self, seg: &Segment<'_>, ctx: &Ctx<'_>, sink: &mut S) {
        if ctx.ts.sec != self.last_sweep {
            self.sweep(ctx, sink);
        }
        self.clock += 1;
        match seg.tcp {
            Some(h) => self.tcp_segment(seg, h, ctx, sink),
            None => self.udp_datagram(seg, ctx, sink),
        }
        let held = self.footprint() + sink.held_bytes();
        self.stats.mem_peak = self.stats.mem_peak.max(held);
        if held > self.cfg.max_memory {
            self.evict(ctx, sink);
        }
    }

    fn tcp_segment<S: Sink>(
        &mut self,
        seg: &Segment<'_>,
        h: crate::net::TcpHeader,
        ctx: &Ctx<'_>,
        sink: &mut S,
    ) {
        use crate::net::TcpHeader as T;
        let (key, sender_is_a) = key_of(&seg.ep);
        let syn_only = h.has(T::SYN) && !h.has(T::ACK);
        let first_check = self.tcp_first_check();
        // Common case first: one lookup for a packet of an open connection.
        if let Some(conn) = self.tcp.get_mut(&key) {
            if !(syn_only && conn.is_new_syn(sender_is_a, h.seq)) {
                conn.touch = self.clock;
                let hist = conn.hist_bytes();
                let closed = conn.segment(
                    sender_is_a,
                    &h,
                    seg.payload,
                    seg.missing,
                    &self.cfg,
                    &mut self.ooo_total,
                    &mut self.stats,
                    ctx,
                    sink,
                );
                self.stats.ooo_peak = self.stats.ooo_peak.max(self.ooo_total);
                self.hist_total = (self.hist_total + conn.hist_bytes()).saturating_sub(hist);
                match closed {
                    Some(end) => {
                        if let Some(conn) = self.tcp.remove(&key) {
                            self.close_conn(key, conn, end, ctx, sink);
                        }
                    }
                    None => {
                        let d = due(conn.last_ts(), first_check);
                        if earlier(&mut conn.sched, d) {
                            let id = conn.info.id;
                            self.schedule_tcp(d, id, key);
                        }
                    }
                }
                return;
            }
            // A new SYN on this tuple: the old connection is over (port reuse).
            let end = conn.reuse_end();
            if let Some(conn) = self.tcp.remove(&key) {
                self.close_conn(key, conn, end, ctx, sink);
            }
        }
        match self.tombs.get(&key_hash(&key)) {
            Some(t) if t.absorbs(sender_is_a, &h, self.cfg.closed_window) => {
                self.stats.after_close += 1;
                return;
            }
            // Not the closed connection's: a new one whose SYN was not captured (picked up
            // mid-stream, as with no tombstone), unless it is a RST.
            Some(_) if h.has(T::RST) && !syn_only => {
                self.stats.stray_rst += 1;
                return;
            }
            None if h.has(T::RST) => {
                self.stats.stray_rst += 1;
                return;
            }
            _ => {}
        }
        let id = self.new_id();
        let mut conn = Box::new(TcpConn::new(id, &seg.ep, sender_is_a, &h));
        conn.touch = self.clock;
        self.stats.tcp_conns += 1;
        sink.event(ctx, StreamEvent::Open { conn: &conn.info });
        let closed = conn.segment(
            sender_is_a,
            &h,
            seg.payload,
            seg.missing,
            &self.cfg,
            &mut self.ooo_total,
            &mut self.stats,
            ctx,
            sink,
        );
        self.hist_total += conn.hist_bytes();
        match closed {
            Some(end) => self.close_conn(key, conn, end, ctx, sink),
            None => {
                let d = due(conn.last_ts(), first_check);
                conn.sched = d;
                self.tcp.insert(key, conn);
                self.schedule_tcp(d, id, key);
                self.queue_lru(id, key, false);
            }
        }
    }

    /// How long after its last packet a connection is first looked at again: when its
    /// retransmission history goes (or it expires, if that comes first).
    fn tcp_first_check(&self) -> i64 {
        self.cfg.history_idle_secs.min(self.cfg.tcp_idle_secs)
    }

    fn schedule_tcp(&mut self, due: Timestamp, id: u64, key: Key) {
        self.tcp_timers.schedule(due, id, key);
        let tcp = &self.tcp;
        self.tcp_timers.compact(tcp.len(), |d, id, k| {
            tcp.get(k).is_some_and(|c| c.info.id == id && c.sched == d)
        });
    }

    fn schedule_udp(&mut self, due: Timestamp, id: u64, key: Key) {
        self.udp_timers.schedule(due, id, key);
        let udp = &self.udp;
        self.udp_timers.compact(udp.len(), |d, id, k| {
            udp.get(k).is_some_and(|f| f.info.id == id && f.sched == d)
        });
    }

    /// Flushes a connection, emits Close, and leaves a tombstone for the tuple.
    fn close_conn<S: Sink>(
        &mut self,
        key: Key,
        mut conn: Box<TcpConn>,
        end: End,
        ctx: &Ctx<'_>,
        sink: &mut S,
    ) {
        self.hist_total = self.hist_total.saturating_sub(conn.hist_bytes());
        conn.finish(end, &mut self.ooo_total, ctx, sink);
        if end == End::Evicted {
            return;
        }
        let id = conn.info.id;
        let h = key_hash(&key);
        self.tombs.insert(
            h,
            Tomb {
                id,
                client_isn: conn.client_isn(),
                seq_ends: conn.seq_ends(),
            },
        );
        self.closed.push_back((ctx.ts, h, id));
        // The cap holds at all times (the sweep also forgets them by age).
        if self.closed.len() > self.cfg.max_closed {
            self.forget_oldest_closed();
        }
    }

    fn forget_oldest_closed(&mut self) {
        if let Some((_, h, id)) = self.closed.pop_front() {
            if self.tombs.get(&h).is_some_and(|t| t.id == id) {
                self.tombs.remove(&h);
            }
        }
    }

    fn udp_datagram<S: Sink>(&mut self, seg: &Segment<'_>, ctx: &Ctx<'_>, sink: &mut S) {
        let (key, sender_is_a) = key_of(&seg.ep);
        if !self.udp.contains_key(&key) {
            let id = self.new_id();
            let info = ConnInfo {
                id,
                transport: Transport::Udp,
                client: (seg.ep.src, seg.ep.sport),
                server: (seg.ep.dst, seg.ep.dport),
                v6: seg.ep.v6,
                vlan: seg.ep.vlan,
            };
            sink.event(ctx, StreamEvent::Open { conn: &info });
            self.stats.udp_flows += 1;
            self.udp.insert(
                key,
                Box::new(UdpFlow {
                    info,
                    client_is_a: sender_is_a,
                    stats: Default::default(),
                    next: [0; 2],
                    muted: [false; 2],
                    last_ts: ctx.ts,
                    sched: UNSCHEDULED,
                    touch: self.clock,
                }),
            );
            self.queue_lru(id, key, true);
        }
        let f = self.udp.get_mut(&key).expect("inserted above");
        f.touch = self.clock;
        let dir = if sender_is_a == f.client_is_a {
            Dir::C2S
        } else {
            Dir::S2C
        };
        let i = dir.index();
        f.last_ts = ctx.ts;
        let d = due(ctx.ts, self.cfg.udp_idle_secs);
        let resched = earlier(&mut f.sched, d).then_some((d, f.info.id));
        f.stats[i].saw(ctx.ts);
        let offset = f.next[i];
        if !seg.payload.is_empty() {
            if !f.muted[i] {
                f.muted[i] = !sink.data(ctx, &f.info, dir, offset, seg.payload);
            }
            f.stats[i].bytes += seg.payload.len() as u64;
        }
        f.next[i] += seg.payload.len() as u64;
        if seg.missing > 0 {
            let len = u64::from(seg.missing);
            if !f.muted[i] {
                sink.event(
                    ctx,
                    StreamEvent::Gap {
                        conn: &f.info,
                        dir,
                        offset: f.next[i],
                        len,
                    },
                );
            }
            f.stats[i].gaps.push((f.next[i], len));
            f.next[i] += len;
        }
        if let Some((d, id)) = resched {
            self.schedule_udp(d, id, key);
        }
    }

    /// Closes idle connections and forgets old tombstones; runs once per second of capture time.
    /// Only the connections whose queue entry is due are looked at, so a sweep costs nothing
    /// when nothing is due, whatever the number of open connections. Connections closed by the
    /// same sweep close in id order.
    fn sweep<S: Sink>(&mut self, ctx: &Ctx<'_>, sink: &mut S) {
        self.last_sweep = ctx.ts.sec;
        let now = ctx.ts;
        let idle = self.cfg.tcp_idle_secs;
        let quiet = self.cfg.history_idle_secs;
        let first = self.tcp_first_check();
        let mut expired: Vec<(u64, Key)> = Vec::new();
        while let Some((d, id, k)) = self.tcp_timers.pop_due(now) {
            let Some(c) = self.tcp.get_mut(&k) else {
                continue;
            };
            if c.info.id != id || c.sched != d {
                continue; // superseded by an earlier entry
            }
            let last = c.last_ts();
            let since = now.secs_since(last);
            if since >= idle {
                expired.push((id, k));
                continue;
            }
            let next = if since >= quiet {
                self.hist_total = self.hist_total.saturating_sub(c.hist_bytes());
                c.release_history();
                due(last, idle)
            } else {
                due(last, first)
            };
            // Later than now: not popped again by this sweep.
            c.sched = next;
            self.tcp_timers.schedule(next, id, k);
        }
        expired.sort_unstable_by_key(|e| e.0);
        for (_, k) in expired {
            if let Some(conn) = self.tcp.remove(&k) {
                self.close_conn(k, conn, End::Timeout, ctx, sink);
            }
        }
        let linger = self.cfg.closed_linger_secs;
        while let Some(&(ts, ..)) = self.closed.front() {
            if now.secs_since(ts) < linger {
                break;
            }
            self.forget_oldest_closed();
        }
        let udp_idle = self.cfg.udp_idle_secs;
        let mut stale: Vec<(u64, Key)> = Vec::new();
        while let Some((d, id, k)) = self.udp_timers.pop_due(now) {
            let Some(f) = self.udp.get_mut(&k) else {
                continue;
            };
            if f.info.id != id || f.sched != d {
                continue;
            }
            if now.secs_since(f.last_ts) >= udp_idle {
                stale.push((id, k));
            } else {
                f.sched = due(f.last_ts, udp_idle);
                self.udp_timers.schedule(f.sched, id, k);
            }
        }
        stale.sort_unstable_by_key(|e| e.0);
        for (_, k) in stale {
            if let Some(f) = self.udp.remove(&k) {
                close_udp(f, End::Timeout, ctx, sink);
            }
        }
    }

    /// End of input: every open connection and flow is flushed and closed (`end: eof`).
    /// Close events come in connection-id order.
    pub fn finish<S: Sink>(&mut self, ctx: &Ctx<'_>, sink: &mut S) {
        let mut tcp: Vec<Box<TcpConn>> = self.tcp.drain().map(|(_, c)| c).collect();
        tcp.sort_by_key(|c| c.info.id);
        let mut udp: Vec<Box<UdpFlow>> = self.udp.drain().map(|(_, f)| f).collect();
        udp.sort_by_key(|f| f.info.id);
        let (mut ti, mut ui) = (tcp.into_iter().peekable(), udp.into_iter().peekable());
        loop {
            let take_tcp = match (ti.peek(), ui.peek()) {
                (Some(t), Some(u)) => t.info.id < u.info.id,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if take_tcp {
                let mut c = ti.next().expect("peeked");
                c.finish(End::Eof, &mut self.ooo_total, ctx, sink);
            } else {
                close_udp(ui.next().expect("peeked"), End::Eof, ctx, sink);
            }
        }
        self.closed.clear();
        self.lru.clear();
        self.hist_total = 0;
        self.tombs.clear();
        self.tcp_timers.clear();
        self.udp_timers.clear();
    }
}

fn close_udp<S: Sink>(mut f: Box<UdpFlow>, end: End, ctx: &Ctx<'_>, sink: &mut S) {
    for s in f.stats.iter_mut() {
        s.end = Some(end);
    }
    sink.event(
        ctx,
        StreamEvent::Close {
            conn: &f.info,
            stats: &f.stats,
        },
    );
}
