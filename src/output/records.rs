//! `frame`, `anomaly` and `gap` records (docs/FORMAT.md) written by `seextract`, and its `--raw`
//! mode (the concatenated frame bytes of one protocol, e.g. the `.rec` stream semonitor reads).

use super::{flow_record, json_str, FORMAT_VERSION};
use crate::net::Transport;
use crate::protocols::extract::{ExtractSink, Item};
use crate::protocols::{Found, Protocol};
use crate::reassembly::{ConnInfo, DirStats};
use std::fmt::Write as _;
use std::io::{self, Write};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the lower-case hex of `bytes`.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
}

/// The fields every record shares: where it comes from.
fn envelope(o: &mut String, kind: &str, it: &Item<'_, '_>) {
    let ep = it.conn.endpoints(it.dir);
    let _ = write!(
        o,
        "{{\"v\":{FORMAT_VERSION},\"type\":\"{kind}\",\"proto\":\"{}\",\"ts\":{},\"file\":",
        it.proto.name(),
        it.prov.ts
    );
    json_str(o, it.file);
    let _ = write!(
        o,
        ",\"pkt\":{},\"conn\":{},\"transport\":\"{}\",\"src\":\"{}\",\"sport\":{},\"dst\":\"{}\",\"dport\":{},\"dir\":\"{}\"",
        it.prov.pkt,
        it.conn.id,
        it.conn.transport.as_str(),
        ep.src_ip(),
        ep.sport,
        ep.dst_ip(),
        ep.dport,
        it.dir.as_str()
    );
}

/// Appends one record (with its newline) for an item.
pub fn item_record(o: &mut String, it: &Item<'_, '_>, gap: bool) {
    match it.found {
        Found::Frame {
            offset,
            bytes,
            kind,
        } => {
            envelope(o, "frame", it);
            let _ = write!(
                o,
                ",\"kind\":\"{kind}\",\"offset\":{offset},\"len\":{},\"hex\":\"",
                bytes.len()
            );
            push_hex(o, bytes);
            o.push_str("\"}\n");
        }
        Found::Anomaly {
            offset,
            len,
            reason,
        } => {
            envelope(o, if gap { "gap" } else { "anomaly" }, it);
            let _ = write!(o, ",\"offset\":{offset},\"len\":{len}");
            if !gap {
                o.push_str(",\"reason\":");
                json_str(o, reason);
            }
            o.push_str("}\n");
        }
    }
}

/// A `frame` (with `bytes`) or `anomaly` (with `(len, reason)`) record of a raw byte stream:
/// no packet or connection, only the file and the offset in it.
pub fn item_record_raw(
    out: &mut Vec<u8>,
    proto: Protocol,
    file: &str,
    offset: u64,
    bytes: Option<&[u8]>,
    anomaly: Option<(u64, &str)>,
) {
    let mut o = String::with_capacity(128);
    let kind = if bytes.is_some() { "frame" } else { "anomaly" };
    let _ = write!(
        o,
        "{{\"v\":{FORMAT_VERSION},\"type\":\"{kind}\",\"proto\":\"{}\",\"file\":",
        proto.name()
    );
    json_str(&mut o, file);
    let _ = write!(o, ",\"offset\":{offset}");
    if let Some(b) = bytes {
        let _ = write!(o, ",\"len\":{},\"hex\":\"", b.len());
        push_hex(&mut o, b);
        o.push('"');
    }
    if let Some((len, reason)) = anomaly {
        let _ = write!(o, ",\"len\":{len},\"reason\":");
        json_str(&mut o, reason);
    }
    o.push_str("}\n");
    out.extend_from_slice(o.as_bytes());
}

/// What `seextract` writes.
pub enum ExtractOutput<W: Write> {
    /// JSON Lines records.
    Records { out: W, buf: String },
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
                buf: String::with_capacity(1 << 16),
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
        let r = match &mut self.mode {
            ExtractOutput::Records { out, buf } => {
                let r = out.write_all(buf.as_bytes()).and_then(|_| out.flush());
                buf.clear();
                r
            }
            ExtractOutput::Raw { out, .. } => out.flush(),
        };
        r
    }

    fn record(&mut self, f: impl FnOnce(&mut String)) {
        if self.error.is_some() {
            return;
        }
        if let ExtractOutput::Records { out, buf } = &mut self.mode {
            f(buf);
            if buf.len() >= 1 << 16 || self.flush_each {
                let mut r = out.write_all(buf.as_bytes());
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
                let mut line = flow_record(conn, dir, &stats[i], None);
                if let Some(p) = protos[i] {
                    line.pop();
                    let _ = write!(line, ",\"proto\":\"{}\"}}", p.name());
                }
                buf.push_str(&line);
                buf.push('\n');
            }
        });
    }
}
