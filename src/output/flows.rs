//! `sefollow --list`: flow records with the sha256 of each direction's delivered bytes.
//!
//! Hashing runs on a second thread: delivered bytes are copied into 256 KiB batches and handed
//! over through a bounded channel (at most 4 batches in flight, so memory stays bounded). The
//! hashing thread also writes the records, in the order the connections closed.

use super::flow_record;
use crate::net::Transport;
use crate::reassembly::{ConnInfo, Ctx, Dir, DirStats, Sink, StreamEvent};
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Counts for the end-of-run summary.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    pub conns: u64,
    pub bytes: u64,
    pub gaps: u64,
    pub conflicts: u64,
}

impl Totals {
    pub fn add(&mut self, stats: &[DirStats; 2]) {
        self.conns += 1;
        for s in stats {
            self.bytes += s.bytes;
            self.gaps += s.gaps.len() as u64;
            self.conflicts += s.conflicts.len() as u64;
        }
    }
}

const BATCH: usize = 256 * 1024;
const IN_FLIGHT: usize = 4;

enum Op {
    Open(u64),
    Data { id: u64, dir: Dir, len: usize },
    Close(Box<(ConnInfo, [DirStats; 2])>),
}

#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    ops: Vec<Op>,
}

struct Hasher {
    tx: Option<SyncSender<Batch>>,
    spare: Receiver<Vec<u8>>,
    cur: Batch,
    handle: Option<JoinHandle<io::Result<()>>>,
}

enum Mode<W> {
    Inline(W),
    Threaded(Hasher),
}

/// Writes one flow record per direction when a connection closes.
pub struct FlowList<W: Write + Send + 'static> {
    mode: Mode<W>,
    /// Connections open on the hashing thread (their two hash states).
    open: usize,
    error: Option<io::Error>,
    pub totals: Totals,
}

fn hex(h: Sha256) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(64);
    for b in h.finalize() {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn write_records<W: Write>(
    out: &mut W,
    conn: &ConnInfo,
    stats: &[DirStats; 2],
    digests: Option<[Sha256; 2]>,
) -> io::Result<()> {
    let digests = digests.map(|[a, b]| [hex(a), hex(b)]);
    for dir in [Dir::C2S, Dir::S2C] {
        let st = &stats[dir.index()];
        // A UDP flow has a direction only once something was sent that way.
        if conn.transport == Transport::Udp && st.packets == 0 {
            continue;
        }
        let sha = digests.as_ref().map(|d| d[dir.index()].as_str());
        let mut line = Vec::with_capacity(384);
        flow_record(&mut line, conn, dir, st, sha, None);
        out.write_all(&line)?;
    }
    Ok(())
}

fn hash_thread<W: Write>(
    mut out: W,
    rx: Receiver<Batch>,
    spare: SyncSender<Vec<u8>>,
) -> io::Result<()> {
    let mut states: FxHashMap<u64, Box<[Sha256; 2]>> = FxHashMap::default();
    for batch in rx {
        let mut pos = 0;
        for op in batch.ops {
            match op {
                Op::Open(id) => {
                    states.insert(id, Box::new([Sha256::new(), Sha256::new()]));
                }
                Op::Data { id, dir, len } => {
                    if let Some(h) = states.get_mut(&id) {
                        h[dir.index()].update(&batch.data[pos..pos + len]);
                    }
                    pos += len;
                }
                Op::Close(c) => {
                    let d = states.remove(&c.0.id).map(|b| *b);
                    write_records(&mut out, &c.0, &c.1, d)?;
                }
            }
        }
        let mut data = batch.data;
        data.clear();
        let _ = spare.try_send(data);
    }
    out.flush()
}

impl<W: Write + Send + 'static> FlowList<W> {
    /// `hash`: compute the sha256 of each direction (on a second thread).
    pub fn new(out: W, hash: bool) -> Self {
        let mode = if hash {
            let (tx, rx) = sync_channel::<Batch>(IN_FLIGHT);
            let (spare_tx, spare_rx) = sync_channel::<Vec<u8>>(IN_FLIGHT + 1);
            let handle = std::thread::spawn(move || hash_thread(out, rx, spare_tx));
            Mode::Threaded(Hasher {
                tx: Some(tx),
                spare: spare_rx,
                cur: Batch::default(),
                handle: Some(handle),
            })
        } else {
            Mode::Inline(out)
        };
        FlowList {
            mode,
            open: 0,
            error: None,
            totals: Totals::default(),
        }
    }

    /// True once output failed (e.g. the reader of a pipe went away).
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    fn send(h: &mut Hasher) -> bool {
        let next = Batch {
            data: h
                .spare
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(BATCH)),
            ops: Vec::new(),
        };
        let batch = std::mem::replace(&mut h.cur, next);
        match &h.tx {
            Some(tx) => tx.send(batch).is_ok(),
            None => false,
        }
    }

    /// Flushes everything; returns the totals, or the first output error.
    pub fn finish(mut self) -> io::Result<Totals> {
        match &mut self.mode {
            Mode::Inline(out) => {
                if self.error.is_none() {
                    if let Err(e) = out.flush() {
                        self.error = Some(e);
                    }
                }
            }
            Mode::Threaded(h) => {
                Self::send(h);
                h.tx = None;
                if let Some(handle) = h.handle.take() {
                    let r = handle
                        .join()
                        .unwrap_or_else(|_| Err(io::Error::other("hashing thread failed")));
                    // The thread's own error (e.g. a closed pipe) explains ours best.
                    if let Err(e) = r {
                        self.error = Some(e);
                    }
                }
            }
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(std::mem::take(&mut self.totals)),
        }
    }
}

/// What the hashing thread holds per open connection: two boxed hash states (with the
/// allocator's header) and their entry in a table kept at most 7/8 full.
const HASH_STATE: usize = std::mem::size_of::<[Sha256; 2]>() + 16 + (8 + 8 + 1) * 8 / 7;

impl<W: Write + Send + 'static> Sink for FlowList<W> {
    fn held_bytes(&self) -> usize {
        self.open * HASH_STATE
    }

    fn event(&mut self, _ctx: &Ctx<'_>, ev: StreamEvent<'_>) {
        if let StreamEvent::Close { stats, .. } = &ev {
            self.totals.add(stats);
        }
        match &mut self.mode {
            Mode::Inline(out) => {
                if let StreamEvent::Close { conn, stats } = ev {
                    if self.error.is_none() {
                        if let Err(e) = write_records(out, conn, stats, None) {
                            self.error = Some(e);
                        }
                    }
                }
            }
            Mode::Threaded(h) => {
                match ev {
                    StreamEvent::Open { conn } => {
                        self.open += 1;
                        h.cur.ops.push(Op::Open(conn.id));
                    }
                    StreamEvent::Data {
                        conn, dir, bytes, ..
                    } => {
                        if h.cur.data.len() + bytes.len() > BATCH
                            && !h.cur.data.is_empty()
                            && !Self::send(h)
                        {
                            self.error
                                .get_or_insert(io::Error::other("hashing thread stopped"));
                        }
                        h.cur.data.extend_from_slice(bytes);
                        h.cur.ops.push(Op::Data {
                            id: conn.id,
                            dir,
                            len: bytes.len(),
                        });
                    }
                    StreamEvent::Close { conn, stats } => {
                        self.open = self.open.saturating_sub(1);
                        h.cur
                            .ops
                            .push(Op::Close(Box::new((conn.clone(), stats.clone()))));
                    }
                    _ => {}
                }
                // Keep record latency bounded when little data flows.
                if h.cur.ops.len() >= 4096 && !Self::send(h) {
                    self.error
                        .get_or_insert(io::Error::other("hashing thread stopped"));
                }
            }
        }
    }
}
