//! Where replayed messages come from (replay spec §2 "Source"): the frames the extractor finds
//! in captures (files or directories, as `seextract` reads them), or `seextract`'s JSON Lines
//! frame records; then one conversation is selected (`--conn`, `--tuple`, `--proto`) and,
//! for sending, one direction and some message kinds (`--only`).

use super::ReplayError;
use crate::capture::{expand_inputs, CaptureError, Timestamp};
use crate::filter::PacketSelect;
use crate::net::{to_ip, Transport};
use crate::output::jsonl;
use crate::pipeline::{run, RunConfig};
use crate::protocols::extract::{ExtractConfig, ExtractSink, Extractor, Item};
use crate::protocols::{registry, Found, Protocol};
use crate::reassembly::{ConnInfo, Dir, DirStats};
use crate::util::hex;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;

/// Most messages kept from the inputs, and most bytes (a replay holds them in memory).
pub const MAX_MESSAGES: usize = 20_000_000;
pub const MAX_BYTES: usize = 1 << 30;

/// One framed message of a capture.
#[derive(Clone, Debug, PartialEq)]
pub struct Msg {
    pub ts: Timestamp,
    pub conn: u64,
    pub transport: Transport,
    /// The connection's client (sender of the SYN, or first sender of a UDP flow) and server.
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub dir: Dir,
    pub proto: Protocol,
    /// The framer's label (`data`, `cfg2`, `0x0500`, `A5C0-req`, `ascii-line`).
    pub kind: String,
    pub bytes: Vec<u8>,
}

/// What to replay out of the inputs.
#[derive(Clone, Debug, Default)]
pub struct Select {
    pub conn: Option<u64>,
    /// Both endpoints of the connection, in either order.
    pub tuple: Option<(SocketAddr, SocketAddr)>,
    pub proto: Option<Protocol>,
}

/// One connection's messages, both directions, in capture order.
#[derive(Clone, Debug)]
pub struct Conversation {
    pub proto: Protocol,
    pub conn: u64,
    pub transport: Transport,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub msgs: Vec<Msg>,
}

impl Conversation {
    /// The messages one side sent.
    pub fn side(&self, dir: Dir) -> impl Iterator<Item = &Msg> + '_ {
        self.msgs.iter().filter(move |m| m.dir == dir)
    }

    /// The first message of this kind sent in `dir`.
    pub fn first(&self, dir: Dir, kind: &str) -> Option<&Msg> {
        self.side(dir).find(|m| m.kind == kind)
    }
}

#[derive(Default)]
struct Collect {
    msgs: Vec<Msg>,
    bytes: usize,
    full: bool,
}

impl ExtractSink for Collect {
    fn found(&mut self, item: Item<'_, '_>) {
        let Found::Frame { bytes, kind, .. } = item.found else {
            return;
        };
        if self.msgs.len() >= MAX_MESSAGES || self.bytes + bytes.len() > MAX_BYTES {
            self.full = true;
            return;
        }
        self.bytes += bytes.len();
        let c = item.conn;
        self.msgs.push(Msg {
            ts: item.prov.ts,
            conn: c.id,
            transport: c.transport,
            client: SocketAddr::new(to_ip(c.client.0, c.v6), c.client.1),
            server: SocketAddr::new(to_ip(c.server.0, c.v6), c.server.1),
            dir: item.dir,
            proto: item.proto,
            kind: kind.to_string(),
            bytes: bytes.to_vec(),
        });
    }
    fn gap(&mut self, _item: Item<'_, '_>) {}
    fn close(&mut self, _c: &ConnInfo, _s: &[DirStats; 2], _p: [Option<Protocol>; 2]) {}
}

/// Whether the file starts (after white space) with `{`: seextract's JSON Lines.
fn is_jsonl(path: &str) -> bool {
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut buf = [0u8; 256];
    let n = f.take(256).read(&mut buf).unwrap_or(0);
    buf[..n]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

/// Every frame in the inputs: capture files and directories through the extractor, JSON
/// Lines files record by record. Warnings go to `warn`.
pub fn load(
    paths: &[String],
    select: &PacketSelect,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<Msg>, ReplayError> {
    let (json, caps): (Vec<String>, Vec<String>) = paths.iter().cloned().partition(|p| is_jsonl(p));
    let mut out = Vec::new();
    for p in &json {
        let f = std::fs::File::open(p).map_err(|e| ReplayError::Input(format!("{p}: {e}")))?;
        read_jsonl(BufReader::new(f), &mut out, &mut |l, e| {
            warn(format!("{p}:{l}: {e}"))
        })?;
    }
    if !caps.is_empty() {
        let mut cfg = RunConfig::default();
        cfg.select(select);
        let (inputs, warnings) = expand_inputs(&caps, &cfg.reader);
        for w in warnings {
            warn(w.to_string());
        }
        let mut ex = Extractor::new(ExtractConfig::default(), Collect::default());
        let mut w = |e: &CaptureError| warn(e.to_string());
        run(&inputs, &cfg, &mut ex, &mut w, &mut |_| {}, &|x| x.out.full);
        if ex.out.full {
            return Err(ReplayError::Input(format!(
                "more than {MAX_MESSAGES} messages or {MAX_BYTES} bytes in the captures"
            )));
        }
        out.extend(ex.out.msgs);
    }
    Ok(out)
}

/// The frame records of seextract's JSON Lines (other records are skipped); a line that is
/// not a usable frame record is a warning (line number, reason).
pub fn read_jsonl(
    r: impl BufRead,
    out: &mut Vec<Msg>,
    warn: &mut dyn FnMut(u64, String),
) -> Result<(), ReplayError> {
    let mut bytes = 0usize;
    for (n, line) in r.lines().enumerate() {
        let n = n as u64 + 1;
        let line = line.map_err(|e| ReplayError::Input(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        match frame_of(&line) {
            Ok(Some(m)) => {
                bytes += m.bytes.len();
                if out.len() >= MAX_MESSAGES || bytes > MAX_BYTES {
                    return Err(ReplayError::Input(format!(
                        "more than {MAX_MESSAGES} messages or {MAX_BYTES} bytes in the records"
                    )));
                }
                out.push(m);
            }
            Ok(None) => {}
            Err(e) => warn(n, e),
        }
    }
    Ok(())
}

fn frame_of(line: &str) -> Result<Option<Msg>, String> {
    let rec = jsonl::read_record(line).map_err(|e| e.to_string())?;
    if rec.ty != "frame" {
        return Ok(None);
    }
    let name = rec.proto.as_deref().unwrap_or("");
    let proto = registry::find(name).ok_or_else(|| format!("unknown protocol {name:?}"))?;
    let e = &rec.env;
    let missing = |f: &str| format!("frame record without {f}");
    let hex = rec.hex.as_deref().ok_or_else(|| missing("hex"))?;
    let bytes = hex::decode(hex.as_bytes()).ok_or_else(|| "hex is not valid".to_string())?;
    let dir = e.dir.ok_or_else(|| missing("dir"))?;
    let src = SocketAddr::new(
        e.src.ok_or_else(|| missing("src"))?,
        e.sport.ok_or_else(|| missing("sport"))?,
    );
    let dst = SocketAddr::new(
        e.dst.ok_or_else(|| missing("dst"))?,
        e.dport.ok_or_else(|| missing("dport"))?,
    );
    let (client, server) = match dir {
        Dir::C2S => (src, dst),
        Dir::S2C => (dst, src),
    };
    Ok(Some(Msg {
        ts: e.ts.ok_or_else(|| missing("ts"))?,
        conn: e.conn.ok_or_else(|| missing("conn"))?,
        transport: e.transport.unwrap_or(Transport::Tcp),
        client,
        server,
        dir,
        proto,
        kind: rec.kind.as_deref().unwrap_or("").to_string(),
        bytes,
    }))
}

/// The selected conversation: the connection asked for, or the first one (by its first
/// message) with messages of the protocol asked for. Its protocol is the one most of its
/// messages have.
pub fn select(msgs: Vec<Msg>, sel: &Select) -> Result<Conversation, ReplayError> {
    let fits = |m: &Msg| {
        sel.conn.is_none_or(|c| m.conn == c)
            && sel.proto.is_none_or(|p| m.proto == p)
            && sel.tuple.is_none_or(|(a, b)| {
                (m.client == a && m.server == b) || (m.client == b && m.server == a)
            })
    };
    let Some(conn) = msgs.iter().find(|m| fits(m)).map(|m| m.conn) else {
        return Err(ReplayError::Select(
            "no message of the inputs matches the selection".into(),
        ));
    };
    let msgs: Vec<Msg> = msgs
        .into_iter()
        .filter(|m| m.conn == conn && sel.proto.is_none_or(|p| m.proto == p))
        .collect();
    let proto = registry::all()
        .max_by_key(|p| msgs.iter().filter(|m| m.proto == *p).count())
        .unwrap_or(msgs[0].proto);
    let msgs: Vec<Msg> = msgs.into_iter().filter(|m| m.proto == proto).collect();
    let first = &msgs[0];
    Ok(Conversation {
        proto,
        conn,
        transport: first.transport,
        client: first.client,
        server: first.server,
        msgs,
    })
}

/// Parses `--tuple A:P-B:P` (IPv6 in brackets).
pub fn parse_tuple(s: &str) -> Result<(SocketAddr, SocketAddr), String> {
    let bad = || format!("not a tuple ADDR:PORT-ADDR:PORT: {s:?}");
    // Split at a '-' that follows a port digit and precedes an address.
    let cut = s
        .char_indices()
        .filter(|(_, c)| *c == '-')
        .map(|(i, _)| i)
        .find(|&i| s[..i].parse::<SocketAddr>().is_ok())
        .ok_or_else(bad)?;
    let a = s[..cut].parse().map_err(|_| bad())?;
    let b = s[cut + 1..].parse().map_err(|_| bad())?;
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"v":1,"type":"frame","proto":"c37118","ts":1218021007.700230,"file":"a.pcap","pkt":4,"conn":1,"transport":"tcp","src":"192.168.0.20","sport":36835,"dst":"192.168.0.10","dport":4712,"dir":"c2s","kind":"cmd","offset":0,"len":2,"hex":"aa41"}"#;

    #[test]
    fn reads_frame_records_and_warns_on_others() {
        let text = format!("{LINE}\n{{\"v\":1,\"type\":\"flow\"}}\nnot json\n");
        let (mut out, mut warned) = (Vec::new(), Vec::new());
        read_jsonl(text.as_bytes(), &mut out, &mut |n, _| warned.push(n)).unwrap();
        assert_eq!(warned, vec![3]);
        assert_eq!(out.len(), 1);
        let m = &out[0];
        assert_eq!(m.bytes, vec![0xaa, 0x41]);
        assert_eq!(m.client, "192.168.0.20:36835".parse().unwrap());
        assert_eq!(m.server, "192.168.0.10:4712".parse().unwrap());
        assert_eq!((m.dir, m.kind.as_str(), m.conn), (Dir::C2S, "cmd", 1));
    }

    #[test]
    fn tuples_parse_in_both_families() {
        let (a, b) = parse_tuple("10.0.0.1:5-[fd00::1]:4712").unwrap();
        assert_eq!(a, "10.0.0.1:5".parse().unwrap());
        assert_eq!(b, "[fd00::1]:4712".parse().unwrap());
        assert!(parse_tuple("10.0.0.1:5").is_err());
    }
}
