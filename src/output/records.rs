//! `frame`, `anomaly` and `gap` records (docs/FORMAT.md) written by `seextract`, and its `--raw`
//! mode (the concatenated frame bytes of one protocol, e.g. the `.rec` stream semonitor reads).

use super::flow_record;
use super::jsonl::{anomaly_record, frame_record};
use crate::net::Transport;
use crate::protocols::extract::{ExtractSink, Item};
use crate::protocols::{Envelope, Found, Protocol};
use crate::reassembly::{ConnInfo, DirStats};
use std::borrow::Cow;
use std::io::{self, Write};

/// Where an item was found, as a record's envelope (offset and length are the item's).
pub fn item_envelope<'a>(it: &'a Item<'_, '_>, offset: u64, len: u64) -> Envelope<'a> {
    let ep = it.conn.endpoints(it.dir);
    Envelope {
        ts: Some(it.prov.ts),
        file: Some(Cow::Borrowed(it.file)),
        pkt: Some(it.prov.pkt),
        conn: Some(it.conn.id),
        transport: Some(it.conn.transport),
        src: Some(ep.src_ip()),
        sport: Some(ep.sport),
        dst: Some(ep.dst_ip()),
        dport: Some(ep.dport),
        dir: Some(it.dir),
        offset: Some(offset),
        len: Some(len),
    }
}

/// Appends one record (with its newline) for an item: a frame, an anomaly, or (`gap`) a gap.
pub fn item_record(o: &mut Vec<u8>, it: &Item<'_, '_>, gap: bool) {
    match it.found {
        Found::Frame {
            offset,
            bytes,
            kind,
        } => {
            let env = item_envelope(it, offset, bytes.len() as u64);
            frame_record(o, it.proto, &env, Some(kind), bytes);
        }
        Found::Anomaly {
            offset,
            len,
            reason,
        } => {
            let env = item_envelope(it, offset, len);
            anomaly_record(o, it.proto, &env, (!gap).then_some(reason));
        }
    }
}

/// What `seextract` writes.
pub enum ExtractOutput<W: Write> {
    /// JSON Lines records.
    Records { out: W, buf: Vec<u8> },
    /// Concatenated frame bytes of one protocol (`--raw`).
    Raw { out: W, proto: Option<Protocol> },
}

/// An [`ExtractSink`] writing records or raw frames; remembers the first error.
pub struct ExtractWriter<W: Write> {
    pub mode: ExtractOutput<W>,
    pub error: Option<io::Error>,
    /// Flush after every record (follow mode: low latency).
    pub flush_each: bool,
}

impl<W: Write> ExtractWriter<W> {
    pub fn records(out: W) -> Self {
        ExtractWriter {
            mode: ExtractOutput::Records {
                out,
                buf: Vec::with_capacity(1 << 16),
            },
            error: None,
            flush_each: false,
        }
    }

    /// Raw frame bytes; `proto` fixes the protocol, otherwise the first one found does and a
    /// second one is an error.
    pub fn raw(out: W, proto: Option<Protocol>) -> Self {
        ExtractWriter {
            mode: ExtractOutput::Raw { out, proto },
            error: None,
            flush_each: false,
        }
    }

    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Writes what is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        match &mut self.mode {
            ExtractOutput::Records { out, buf } => {
                let r = out.write_all(buf).and_then(|_| out.flush());
                buf.clear();
                r
            }
            ExtractOutput::Raw { out, .. } => out.flush(),
        }
    }

    fn record(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        if self.error.is_some() {
            return;
        }
        if let ExtractOutput::Records { out, buf } = &mut self.mode {
            f(buf);
            if buf.len() >= 1 << 16 || self.flush_each {
                let mut r = out.write_all(buf);
                if self.flush_each {
                    r = r.and_then(|_| out.flush());
                }
                buf.clear();
                if let Err(e) = r {
                    self.error = Some(e);
                }
            }
        }
    }
}

impl<W: Write> ExtractSink for ExtractWriter<W> {
    fn found(&mut self, it: Item<'_, '_>) {
        if let ExtractOutput::Raw { out, proto } = &mut self.mode {
            if let Found::Frame { bytes, .. } = it.found {
                match proto {
                    Some(p) if *p != it.proto => {
                        if self.error.is_none() {
                            self.error = Some(io::Error::other(format!(
                                "--raw: frames of {} and {} found; choose one with --proto",
                                p, it.proto
                            )));
                        }
                        return;
                    }
                    Some(_) => {}
                    None => *proto = Some(it.proto),
                }
                if self.error.is_none() {
                    let mut r = out.write_all(bytes);
                    if self.flush_each {
                        r = r.and_then(|_| out.flush());
                    }
                    if let Err(e) = r {
                        self.error = Some(e);
                    }
                }
            }
            return;
        }
        self.record(|buf| item_record(buf, &it, false));
    }

    fn idle(&mut self) {
        if let Err(e) = self.flush() {
            self.error.get_or_insert(e);
        }
    }

    fn gap(&mut self, it: Item<'_, '_>) {
        self.record(|buf| item_record(buf, &it, true));
    }

    fn close(&mut self, conn: &ConnInfo, stats: &[DirStats; 2], protos: [Option<Protocol>; 2]) {
        if protos.iter().all(Option::is_none) {
            return;
        }
        self.record(|buf| {
            for (i, dir) in [crate::reassembly::Dir::C2S, crate::reassembly::Dir::S2C]
                .into_iter()
                .enumerate()
            {
                if conn.transport == Transport::Udp && stats[i].packets == 0 {
                    continue;
                }
                flow_record(buf, conn, dir, &stats[i], None, protos[i]);
            }
        });
    }
}
