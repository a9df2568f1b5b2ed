//! The bridge from stream events to protocol frames: one [`Detector`] per direction, UDP
//! datagrams framed one by one (frames never span datagrams), a protocol found on one
//! direction applied to the other, and every frame, anomaly and gap handed on with its
//! provenance (the packet that completed it).

use super::detect::{Detector, Held};
use super::{registry, Found, Protocol};
use crate::capture::Timestamp;
use crate::net::Transport;
use crate::reassembly::{ConnInfo, Ctx, Dir, DirStats, Sink, StreamEvent};
use rustc_hash::FxHashMap;

/// Where something was found: capture time, file (index into [`Extractor::files`]) and packet
/// number in that file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prov {
    pub ts: Timestamp,
    pub file: u32,
    pub pkt: u64,
}

/// One thing found, with everything a record needs.
pub struct Item<'a, 'f> {
    pub prov: &'a Prov,
    pub file: &'a str,
    pub conn: &'a ConnInfo,
    pub dir: Dir,
    pub proto: Protocol,
    pub found: Found<'f>,
}

/// Receives what the extractor finds.
pub trait ExtractSink {
    /// A frame or an anomaly.
    fn found(&mut self, item: Item<'_, '_>);
    /// A gap in a direction whose protocol is known.
    fn gap(&mut self, item: Item<'_, '_>);
    /// A connection closed; `protos` per direction (c2s, s2c).
    fn close(&mut self, conn: &ConnInfo, stats: &[DirStats; 2], protos: [Option<Protocol>; 2]);
    /// No more input for now (follow mode).
    fn idle(&mut self) {}
}

/// Which connections to look at (all when the list is empty); --host/--port are a packet
/// filter of the run ([`crate::pipeline::RunConfig::filter`]).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub conns: Vec<u64>,
}

impl Filter {
    pub fn matches(&self, c: &ConnInfo) -> bool {
        self.conns.is_empty() || self.conns.contains(&c.id)
    }
}

#[derive(Clone, Debug)]
pub struct ExtractConfig {
    /// Protocols probed on every direction.
    pub candidates: Vec<Protocol>,
    /// Frame every selected direction as this protocol, without detection.
    pub forced: Option<Protocol>,
    /// Bytes of a direction examined before detection gives up.
    pub window: u64,
    pub filter: Filter,
}

impl Default for ExtractConfig {
    fn default() -> Self {
        ExtractConfig {
            candidates: registry::all().collect(),
            forced: None,
            window: 16 * 1024,
            filter: Filter::default(),
        }
    }
}

/// Counters for the summary.
#[derive(Clone, Debug, Default)]
pub struct ExtractStats {
    pub frames: FxHashMap<Protocol, u64>,
    pub anomalies: u64,
    /// Directions per detected protocol.
    pub streams: FxHashMap<Protocol, u64>,
}

impl ExtractStats {
    /// Frames per protocol in registry order, protocols without frames left out: `"12
    /// c37118, 3 sel"`, or `"none"`.
    pub fn frames_line(&self) -> String {
        let per: Vec<String> = registry::all()
            .filter_map(|p| Some(format!("{} {p}", self.frames.get(&p).filter(|&&n| n > 0)?)))
            .collect();
        if per.is_empty() {
            "none".to_string()
        } else {
            per.join(", ")
        }
    }
}

pub struct Extractor<S: ExtractSink> {
    cfg: ExtractConfig,
    conns: FxHashMap<u64, [Detector<Prov>; 2]>,
    /// Sum of the detectors' footprints (for the memory budget).
    held: usize,
    pub files: Vec<String>,
    pub out: S,
    pub stats: ExtractStats,
}

impl<S: ExtractSink> Extractor<S> {
    pub fn new(cfg: ExtractConfig, out: S) -> Self {
        Extractor {
            cfg,
            conns: FxHashMap::default(),
            held: 0,
            files: Vec::new(),
            out,
            stats: ExtractStats::default(),
        }
    }

    fn prov(&mut self, ctx: &Ctx<'_>) -> Prov {
        if self.files.last().map(String::as_str) != Some(ctx.file) {
            self.files.push(ctx.file.to_string());
        }
        Prov {
            ts: ctx.ts,
            file: (self.files.len() - 1) as u32,
            pkt: ctx.pkt,
        }
    }

    fn new_detector(&self) -> Detector<Prov> {
        Detector::fresh(self.cfg.forced, self.cfg.window)
    }
}

enum Step<'b> {
    Data(u64, &'b [u8]),
    Gap(u64, u64),
    End,
}

impl<S: ExtractSink> Extractor<S> {
    /// Feeds one step to a direction's detector and routes the output; a decision is passed on
    /// to the other direction. Returns whether more data of the direction is wanted (its
    /// connection is selected and detection has not given up).
    fn feed(&mut self, conn: &ConnInfo, dir: Dir, prov: &Prov, step: Step<'_>) -> bool {
        let Extractor {
            cfg,
            conns,
            held,
            files,
            out,
            stats,
        } = self;
        let Some(dets) = conns.get_mut(&conn.id) else {
            return false;
        };
        let i = dir.index();
        let before = dets[0].footprint() + dets[1].footprint();
        if !matches!(step, Step::End) {
            dets[i].start(&cfg.candidates);
        }
        let wanted = Self::step(dets, conn, dir, prov, step, stats, files, out);
        *held = (*held + dets[0].footprint() + dets[1].footprint()).saturating_sub(before);
        wanted
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        dets: &mut [Detector<Prov>; 2],
        conn: &ConnInfo,
        dir: Dir,
        prov: &Prov,
        step: Step<'_>,
        stats: &mut ExtractStats,
        files: &[String],
        out: &mut S,
    ) -> bool {
        let i = dir.index();
        let run =
            |det: &mut Detector<Prov>, emit: &mut dyn FnMut(&Prov, Protocol, Found<'_>)| match step
            {
                Step::Data(off, bytes) => det.data(prov, off, bytes, emit),
                Step::Gap(off, len) => det.gap(prov, off, len, emit),
                Step::End => det.end(prov, emit),
            };
        if !dets[i].undecided() {
            let mut emit = |pv: &Prov, p: Protocol, f: Found<'_>| {
                route(stats, files, out, conn, dir, pv, p, f)
            };
            run(&mut dets[i], &mut emit);
            return !dets[i].given_up();
        }
        // Still probing: what a decision releases (held items of both directions) is put back
        // in capture order before it goes out.
        let mut released: Held<(Prov, Dir, Protocol)> = Held::default();
        let mut decided = run(&mut dets[i], &mut |pv, p, f| {
            released.push((*pv, dir, p), &f)
        });
        // A valid frame of the same protocol in each direction (a command and its reply, a
        // request and its response) is as good as two in a row.
        if decided.is_none() && dets[dir.other().index()].undecided() {
            if let Some(p) = registry::all().find(|p| {
                dets[i].probe_frames(*p) > 0 && dets[dir.other().index()].probe_frames(*p) > 0
            }) {
                dets[i].decide(p, &mut |pv, p, f| released.push((*pv, dir, p), &f));
                decided = Some(p);
            }
        }
        if let Some(p) = decided {
            *stats.streams.entry(p).or_default() += 1;
            let d = dir.other();
            let other = &mut dets[d.index()];
            if other.undecided() {
                other.decide(p, &mut |pv, p, f| released.push((*pv, d, p), &f));
                *stats.streams.entry(p).or_default() += 1;
            }
        }
        let wanted = !dets[i].given_up();
        released.sort_by_key(|(pv, ..)| (pv.file, pv.pkt));
        released.for_each(|(pv, d, p), found| route(stats, files, out, conn, *d, pv, *p, found));
        wanted
    }
}

#[allow(clippy::too_many_arguments)]
fn route<S: ExtractSink>(
    stats: &mut ExtractStats,
    files: &[String],
    out: &mut S,
    conn: &ConnInfo,
    dir: Dir,
    prov: &Prov,
    proto: Protocol,
    found: Found<'_>,
) {
    match &found {
        Found::Frame { .. } => *stats.frames.entry(proto).or_default() += 1,
        Found::Anomaly { .. } => stats.anomalies += 1,
    }
    out.found(Item {
        prov,
        file: &files[prov.file as usize],
        conn,
        dir,
        proto,
        found,
    });
}

impl<S: ExtractSink> Sink for Extractor<S> {
    fn idle(&mut self) {
        self.out.idle();
    }

    fn held_bytes(&self) -> usize {
        // The table by its buckets (hashbrown keeps capacity at 7/8 of them, plus a control
        // byte each), then what the detectors hold.
        let entry = std::mem::size_of::<(u64, [Detector<Prov>; 2])>() + 1;
        self.conns.capacity() * 8 / 7 * entry + self.held
    }

    /// More data of a direction is wanted until its detection gives up (or when its connection
    /// is not selected): nothing is reported for such a direction.
    fn data(
        &mut self,
        ctx: &Ctx<'_>,
        conn: &ConnInfo,
        dir: Dir,
        offset: u64,
        bytes: &[u8],
    ) -> bool {
        let prov = self.prov(ctx);
        let wanted = self.feed(conn, dir, &prov, Step::Data(offset, bytes));
        if conn.transport == Transport::Udp && wanted {
            return self.feed(conn, dir, &prov, Step::End);
        }
        wanted
    }

    fn event(&mut self, ctx: &Ctx<'_>, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Open { conn } => {
                if self.cfg.filter.matches(conn) {
                    let dets = [self.new_detector(), self.new_detector()];
                    if let Some(p) = self.cfg.forced {
                        *self.stats.streams.entry(p).or_default() += 2;
                    }
                    self.conns.insert(conn.id, dets);
                }
            }
            StreamEvent::Data {
                conn,
                dir,
                offset,
                bytes,
            } => {
                self.data(ctx, conn, dir, offset, bytes);
            }
            StreamEvent::Gap {
                conn,
                dir,
                offset,
                len,
            } => {
                if !self.conns.contains_key(&conn.id) {
                    return;
                }
                let prov = self.prov(ctx);
                let proto = self.conns[&conn.id][dir.index()].protocol();
                if let Some(p) = proto {
                    let file = self.files[prov.file as usize].clone();
                    self.out.gap(Item {
                        prov: &prov,
                        file: &file,
                        conn,
                        dir,
                        proto: p,
                        found: Found::Anomaly {
                            offset,
                            len,
                            reason: "gap",
                        },
                    });
                }
                self.feed(conn, dir, &prov, Step::Gap(offset, len));
            }
            StreamEvent::Conflict { .. } => {}
            StreamEvent::Close { conn, stats } => {
                if !self.conns.contains_key(&conn.id) {
                    return;
                }
                let prov = self.prov(ctx);
                if conn.transport == Transport::Tcp {
                    self.feed(conn, Dir::C2S, &prov, Step::End);
                    self.feed(conn, Dir::S2C, &prov, Step::End);
                }
                if let Some(dets) = self.conns.remove(&conn.id) {
                    self.held = self
                        .held
                        .saturating_sub(dets[0].footprint() + dets[1].footprint());
                    let protos = [dets[0].protocol(), dets[1].protocol()];
                    self.out.close(conn, stats, protos);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Transport;

    struct NoOut;
    impl ExtractSink for NoOut {
        fn found(&mut self, _: Item<'_, '_>) {}
        fn gap(&mut self, _: Item<'_, '_>) {}
        fn close(&mut self, _: &ConnInfo, _: &[DirStats; 2], _: [Option<Protocol>; 2]) {}
    }

    fn conn(id: u64) -> ConnInfo {
        ConnInfo {
            id,
            transport: Transport::Tcp,
            client: (id as u128, 40000),
            server: (1, 31000),
            v6: false,
            vlan: [0; 2],
        }
    }

    /// The bytes the detectors hold are counted from the first byte of a direction (its
    /// probes included) and all given back when the connections close.
    #[test]
    fn held_bytes_follow_the_detectors() {
        let mut ex = Extractor::new(ExtractConfig::default(), NoOut);
        let ctx = Ctx {
            ts: Timestamp::new(1, 0),
            file: "a.pcap",
            pkt: 1,
        };
        let table = |ex: &Extractor<NoOut>| ex.held_bytes() - ex.held;
        for id in 1..=100 {
            let c = conn(id);
            ex.event(&ctx, StreamEvent::Open { conn: &c });
        }
        assert_eq!(ex.held, 0, "directions without data hold nothing");
        for id in 1..=100 {
            let c = conn(id);
            ex.data(
                &ctx,
                &c,
                Dir::C2S,
                0,
                b"\x00\x01 not a frame of any protocol",
            );
        }
        // Each protocol's probe: a boxed stream state of over 100 bytes and its slot.
        let probes = registry::all().count() * 128;
        assert!(
            ex.held >= 100 * probes,
            "{} bytes held for 100 probing directions",
            ex.held
        );
        let stats: [DirStats; 2] = Default::default();
        for id in 1..=100 {
            let c = conn(id);
            ex.event(
                &ctx,
                StreamEvent::Close {
                    conn: &c,
                    stats: &stats,
                },
            );
        }
        assert_eq!(ex.held, 0);
        assert!(table(&ex) > 0, "the table keeps its buckets");
    }
}
