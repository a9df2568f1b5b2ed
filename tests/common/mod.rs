//! Builds synthetic captures from the pcap and pcapng specifications for the integration
//! tests: TCP/UDP packets (etherparse's `PacketBuilder`, which computes the checksums), IP
//! fragments and an IPv6 hop-by-hop header by hand, link-layer wrappers (Ethernet with
//! 802.1Q/QinQ tags, Linux SLL and SLL2, BSD NULL, raw IP) and writers for pcap (either byte
//! order, µs or ns), pcapng (SHB, IDB with if_tsresol/if_tsoffset, EPB, SPB) and gzip.
#![allow(dead_code)]

pub mod solaredge;

use etherparse::PacketBuilder;
use std::io::Write;
use std::net::IpAddr;

/// Nanoseconds per second; every timestamp here is in ns since the epoch.
pub const NS: u64 = 1_000_000_000;
/// Capture time of the first packet of a script.
pub const T0: u64 = 1_700_000_000 * NS;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// Direction indices (the client sends the SYN).
pub const C2S: usize = 0;
pub const S2C: usize = 1;

pub type Ep = (IpAddr, u16);

pub fn ep(ip: &str, port: u16) -> Ep {
    (ip.parse().expect("ip address"), port)
}

/// One IP datagram as sent, its capture time, and how many bytes of it (from the end of the
/// frame) the capture did not keep.
#[derive(Clone, Debug)]
pub struct Pkt {
    pub ts: u64,
    pub ip: Vec<u8>,
    pub cut: usize,
}

/// One captured link-layer frame.
#[derive(Clone, Debug)]
pub struct Frame {
    pub ts: u64,
    /// pcapng interface id.
    pub iface: u32,
    pub data: Vec<u8>,
    pub orig_len: u32,
    /// Written as a pcapng Simple Packet Block (no timestamp, interface 0).
    pub spb: bool,
}

/// Link-layer header put in front of the IP datagrams.
#[derive(Clone, Debug)]
pub enum Link {
    /// Ethernet II with VLAN tags, outermost first: (TPID, VLAN id).
    Eth(Vec<(u16, u16)>),
    /// Linux cooked capture v1 (16-byte header).
    Sll,
    /// Linux cooked capture v2 (20-byte header).
    Sll2,
    /// BSD loopback (LINKTYPE_NULL 0): 4-byte address family in either byte order; `af6` is
    /// the family used for IPv6 (24, 28 or 30 depending on the BSD).
    Null { be: bool, af6: u32 },
    /// OpenBSD loopback (LINKTYPE_LOOP 108): address family in network byte order.
    Loop,
    /// Raw IP with this link type (RAW 101, IPV4 228, IPV6 229).
    Raw(u16),
}

impl Link {
    pub fn linktype(&self) -> u16 {
        match self {
            Link::Eth(_) => 1,
            Link::Sll => 113,
            Link::Sll2 => 276,
            Link::Null { .. } => 0,
            Link::Loop => 108,
            Link::Raw(lt) => *lt,
        }
    }

    pub fn wrap(&self, ip: &[u8]) -> Vec<u8> {
        let v6 = ip[0] >> 4 == 6;
        let ethertype: u16 = if v6 { 0x86dd } else { 0x0800 };
        let mac = [0x02, 0, 0, 0, 0, 0x01];
        let mut f = Vec::with_capacity(ip.len() + 24);
        match self {
            Link::Eth(tags) => {
                f.extend([0x02, 0, 0, 0, 0, 0x02]);
                f.extend(mac);
                for (tpid, vid) in tags {
                    f.extend(tpid.to_be_bytes());
                    f.extend(vid.to_be_bytes());
                }
                f.extend(ethertype.to_be_bytes());
            }
            Link::Sll => {
                f.extend(0u16.to_be_bytes()); // packet type: to us
                f.extend(1u16.to_be_bytes()); // ARPHRD_ETHER
                f.extend(6u16.to_be_bytes()); // address length
                f.extend(mac);
                f.extend([0, 0]);
                f.extend(ethertype.to_be_bytes());
            }
            Link::Sll2 => {
                f.extend(ethertype.to_be_bytes());
                f.extend([0, 0]); // reserved
                f.extend(3u32.to_be_bytes()); // interface index
                f.extend(1u16.to_be_bytes()); // ARPHRD_ETHER
                f.push(0); // packet type
                f.push(6); // address length
                f.extend(mac);
                f.extend([0, 0]);
            }
            Link::Null { be, af6 } => {
                let af: u32 = if v6 { *af6 } else { 2 };
                f.extend(if *be {
                    af.to_be_bytes()
                } else {
                    af.to_le_bytes()
                });
            }
            Link::Loop => f.extend((if v6 { 24u32 } else { 2 }).to_be_bytes()),
            Link::Raw(_) => {}
        }
        f.extend_from_slice(ip);
        f
    }
}

/// Frames of these datagrams on one interface.
pub fn frames(pkts: &[Pkt], link: &Link, iface: u32) -> Vec<Frame> {
    pkts.iter()
        .map(|p| {
            let mut data = link.wrap(&p.ip);
            let orig_len = data.len() as u32;
            data.truncate(data.len() - p.cut);
            Frame {
                ts: p.ts,
                iface,
                data,
                orig_len,
                spb: false,
            }
        })
        .collect()
}

/// Frames of several scripts in timestamp order (stable).
pub fn merge(sets: Vec<Vec<Frame>>) -> Vec<Frame> {
    let mut all: Vec<Frame> = sets.into_iter().flatten().collect();
    all.sort_by_key(|f| f.ts);
    all
}

fn ip_builder(src: IpAddr, dst: IpAddr) -> etherparse::PacketBuilderStep<etherparse::IpHeaders> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 64),
        _ => panic!("mixed address families"),
    }
}

/// An IP datagram carrying one TCP segment.
pub fn tcp_ip(src: Ep, dst: Ep, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = ip_builder(src.0, dst.0).tcp(src.1, dst.1, seq, 65535);
    if flags & FIN != 0 {
        b = b.fin();
    }
    if flags & SYN != 0 {
        b = b.syn();
    }
    if flags & RST != 0 {
        b = b.rst();
    }
    if flags & PSH != 0 {
        b = b.psh();
    }
    if flags & ACK != 0 {
        b = b.ack(ack);
    }
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, payload).expect("tcp packet");
    v
}

/// An IP datagram carrying one UDP datagram.
pub fn udp_ip(src: Ep, dst: Ep, payload: &[u8]) -> Vec<u8> {
    let b = ip_builder(src.0, dst.0).udp(src.1, dst.1);
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, payload).expect("udp packet");
    v
}

/// Splits an IP datagram into fragments of at most `chunk` payload bytes (a multiple of 8),
/// in order. IPv4: RFC 791 header fields; IPv6: RFC 8200 fragment header.
pub fn fragment(ip: &[u8], chunk: usize, id: u32) -> Vec<Vec<u8>> {
    assert!(chunk.is_multiple_of(8) && chunk > 0);
    let v6 = ip[0] >> 4 == 6;
    let hl = if v6 {
        40
    } else {
        usize::from(ip[0] & 0x0f) * 4
    };
    let payload = &ip[hl..];
    let mut out = Vec::new();
    for (i, part) in payload.chunks(chunk).enumerate() {
        let off = i * chunk;
        let more = off + part.len() < payload.len();
        let mut f = ip[..hl].to_vec();
        if v6 {
            let next = f[6];
            f[6] = 44;
            f[4..6].copy_from_slice(&((8 + part.len()) as u16).to_be_bytes());
            f.extend([next, 0]);
            f.extend((off as u16 | u16::from(more)).to_be_bytes());
            f.extend(id.to_be_bytes());
        } else {
            f[2..4].copy_from_slice(&((hl + part.len()) as u16).to_be_bytes());
            f[4..6].copy_from_slice(&(id as u16).to_be_bytes());
            let frag = (if more { 0x2000 } else { 0 }) | (off / 8) as u16;
            f[6..8].copy_from_slice(&frag.to_be_bytes());
            f[10..12].copy_from_slice(&[0, 0]);
            let sum = ipv4_checksum(&f);
            f[10..12].copy_from_slice(&sum.to_be_bytes());
        }
        f.extend_from_slice(part);
        out.push(f);
    }
    out
}

fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut s: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// Inserts an 8-byte hop-by-hop options header (one PadN option) after the IPv6 header. The
/// transport checksum does not cover extension headers, so it stays valid.
pub fn with_hop_by_hop(ip: &[u8]) -> Vec<u8> {
    assert_eq!(ip[0] >> 4, 6, "not IPv6");
    let mut v = ip[..40].to_vec();
    let next = v[6];
    v[6] = 0;
    let plen = u16::from_be_bytes([v[4], v[5]]) + 8;
    v[4..6].copy_from_slice(&plen.to_be_bytes());
    v.extend([next, 0, 1, 4, 0, 0, 0, 0]);
    v.extend_from_slice(&ip[40..]);
    v
}

/// Scripts one TCP connection: tracks each side's sequence numbers and what it acknowledges.
/// Offsets are stream offsets (0 = first byte after the SYN).
pub struct Tcp {
    pub ep: [Ep; 2],
    pub isn: [u32; 2],
    /// End of the highest stream offset each side has sent (including lost segments).
    pub sent: [u64; 2],
    pub fin_sent: [bool; 2],
    /// When set, that side acknowledges at most this offset of the peer's stream.
    pub ack_limit: [Option<u64>; 2],
    /// Capture time of the next packet, and the step between packets.
    pub clock: u64,
    pub step: u64,
    pub pkts: Vec<Pkt>,
}

impl Tcp {
    pub fn new(client: Ep, server: Ep, isn_c: u32, isn_s: u32) -> Tcp {
        Tcp {
            ep: [client, server],
            isn: [isn_c, isn_s],
            sent: [0; 2],
            fin_sent: [false; 2],
            ack_limit: [None; 2],
            clock: T0,
            step: 1_000_000,
            pkts: Vec::new(),
        }
    }

    /// 10.0.0.1:40000 → 10.0.0.2:80.
    pub fn v4(isn_c: u32, isn_s: u32) -> Tcp {
        Tcp::new(ep("10.0.0.1", 40000), ep("10.0.0.2", 80), isn_c, isn_s)
    }

    /// [fd00::1]:40000 → [fd00::2]:443.
    pub fn v6(isn_c: u32, isn_s: u32) -> Tcp {
        Tcp::new(ep("fd00::1", 40000), ep("fd00::2", 443), isn_c, isn_s)
    }

    /// Sequence number of stream offset `off` of side `d`.
    pub fn seq(&self, d: usize, off: u64) -> u32 {
        self.isn[d].wrapping_add(1).wrapping_add(off as u32)
    }

    /// The acknowledgment number side `d` sends now.
    pub fn ack_no(&self, d: usize) -> u32 {
        let p = 1 - d;
        let mut a = self.sent[p] + u64::from(self.fin_sent[p]);
        if let Some(l) = self.ack_limit[d] {
            a = a.min(l);
        }
        self.seq(p, a)
    }

    /// Emits a segment from side `d` with an explicit sequence number.
    pub fn emit(&mut self, d: usize, seq: u32, flags: u8, payload: &[u8]) -> &mut Pkt {
        let ack = self.ack_no(d);
        let ip = tcp_ip(self.ep[d], self.ep[1 - d], seq, ack, flags, payload);
        self.push(ip)
    }

    /// Adds a prepared datagram at the current clock.
    pub fn push(&mut self, ip: Vec<u8>) -> &mut Pkt {
        self.pkts.push(Pkt {
            ts: self.clock,
            ip,
            cut: 0,
        });
        self.clock += self.step;
        self.pkts.last_mut().expect("just pushed")
    }

    pub fn syn(&mut self) {
        self.emit(C2S, self.isn[C2S], SYN, &[]);
    }

    /// SYN carrying data (TCP Fast Open): the data is stream offset 0.
    pub fn syn_data(&mut self, data: &[u8]) {
        self.sent[C2S] = data.len() as u64;
        self.emit(C2S, self.isn[C2S], SYN, data);
    }

    pub fn synack(&mut self) {
        self.emit(S2C, self.isn[S2C], SYN | ACK, &[]);
    }

    /// A pure ACK from side `d`.
    pub fn ack(&mut self, d: usize) {
        let seq = self.seq(d, self.sent[d] + u64::from(self.fin_sent[d]));
        self.emit(d, seq, ACK, &[]);
    }

    pub fn handshake(&mut self) {
        self.syn();
        self.synack();
        self.ack(C2S);
    }

    /// Data from side `d` at stream offset `off` (any offset: out of order, overlapping…).
    pub fn data_at(&mut self, d: usize, off: u64, bytes: &[u8]) -> &mut Pkt {
        self.sent[d] = self.sent[d].max(off + bytes.len() as u64);
        let seq = self.seq(d, off);
        self.emit(d, seq, ACK | PSH, bytes)
    }

    /// Data from side `d` continuing its stream.
    pub fn data(&mut self, d: usize, bytes: &[u8]) -> &mut Pkt {
        self.data_at(d, self.sent[d], bytes)
    }

    /// The last data of side `d`, with FIN set on the same segment.
    pub fn data_fin(&mut self, d: usize, bytes: &[u8]) {
        let off = self.sent[d];
        self.sent[d] += bytes.len() as u64;
        let seq = self.seq(d, off);
        self.emit(d, seq, FIN | ACK | PSH, bytes);
        self.fin_sent[d] = true;
    }

    /// `n` bytes side `d` sent that the capture never saw (the peer may still ACK them).
    pub fn lose(&mut self, d: usize, n: u64) {
        self.sent[d] += n;
    }

    pub fn fin(&mut self, d: usize) {
        let seq = self.seq(d, self.sent[d]);
        self.emit(d, seq, FIN | ACK, &[]);
        self.fin_sent[d] = true;
    }

    pub fn rst(&mut self, d: usize) {
        let seq = self.seq(d, self.sent[d]);
        self.emit(d, seq, RST | ACK, &[]);
    }

    /// RFC 1122 keep-alive: one garbage byte at next-1.
    pub fn keepalive(&mut self, d: usize) {
        let seq = self.seq(d, self.sent[d]).wrapping_sub(1);
        self.emit(d, seq, ACK, &[0xee]);
    }

    /// FIN from the client, FIN from the server, last ACK.
    pub fn close(&mut self) {
        self.fin(C2S);
        self.fin(S2C);
        self.ack(C2S);
    }

    pub fn frames(&self, link: &Link) -> Vec<Frame> {
        frames(&self.pkts, link, 0)
    }
}

/// Scripts one UDP flow.
pub struct Udp {
    pub ep: [Ep; 2],
    pub clock: u64,
    pub step: u64,
    pub pkts: Vec<Pkt>,
}

impl Udp {
    pub fn new(a: Ep, b: Ep) -> Udp {
        Udp {
            ep: [a, b],
            clock: T0,
            step: 1_000_000,
            pkts: Vec::new(),
        }
    }

    pub fn send(&mut self, d: usize, payload: &[u8]) {
        let ip = udp_ip(self.ep[d], self.ep[1 - d], payload);
        self.pkts.push(Pkt {
            ts: self.clock,
            ip,
            cut: 0,
        });
        self.clock += self.step;
    }
}

/// Little helper writing integers in one byte order.
struct W {
    o: Vec<u8>,
    be: bool,
}

impl W {
    fn u16(&mut self, v: u16) {
        self.o.extend(if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    fn u32(&mut self, v: u32) {
        self.o.extend(if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
}

/// A pcap file: 24-byte global header, 16-byte record headers.
pub fn pcap(linktype: u16, frames: &[Frame], be: bool, nano: bool) -> Vec<u8> {
    let mut w = W { o: Vec::new(), be };
    w.u32(if nano { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    w.u16(2);
    w.u16(4);
    w.u32(0); // thiszone
    w.u32(0); // sigfigs
    w.u32(65535); // snaplen
    w.u32(u32::from(linktype));
    for f in frames {
        let frac = f.ts % NS;
        w.u32((f.ts / NS) as u32);
        w.u32(if nano { frac } else { frac / 1000 } as u32);
        w.u32(f.data.len() as u32);
        w.u32(f.orig_len);
        w.o.extend_from_slice(&f.data);
    }
    w.o
}

/// Little-endian pcap with microsecond timestamps.
pub fn pcap_le(linktype: u16, frames: &[Frame]) -> Vec<u8> {
    pcap(linktype, frames, false, false)
}

/// A pcapng interface (Interface Description Block).
#[derive(Clone, Debug)]
pub struct Iface {
    pub linktype: u16,
    pub snaplen: u32,
    /// if_tsresol (option 9): high bit clear = 10^-n s, set = 2^-n s. Default 10^-6.
    pub tsresol: Option<u8>,
    /// if_tsoffset (option 14): seconds added to every timestamp.
    pub tsoffset: Option<i64>,
}

impl Iface {
    pub fn new(linktype: u16) -> Iface {
        Iface {
            linktype,
            snaplen: 65535,
            tsresol: None,
            tsoffset: None,
        }
    }

    fn units(&self) -> u128 {
        match self.tsresol {
            None => 1_000_000,
            Some(r) if r & 0x80 == 0 => 10u128.pow(u32::from(r)),
            Some(r) => 1u128 << (r & 0x7f),
        }
    }
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

/// One pcapng block: type, total length, body (padded), total length again.
fn block(o: &mut Vec<u8>, ty: u32, mut body: Vec<u8>) {
    pad4(&mut body);
    let total = (body.len() + 12) as u32;
    o.extend(ty.to_le_bytes());
    o.extend(total.to_le_bytes());
    o.extend(body);
    o.extend(total.to_le_bytes());
}

fn option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    body.extend(code.to_le_bytes());
    body.extend((value.len() as u16).to_le_bytes());
    body.extend_from_slice(value);
    pad4(body);
}

/// A little-endian pcapng file: one section, the interfaces, then one EPB (or SPB) per frame.
pub fn pcapng(ifaces: &[Iface], frames: &[Frame]) -> Vec<u8> {
    let mut o = Vec::new();
    let mut shb = Vec::new();
    shb.extend(0x1A2B_3C4Du32.to_le_bytes());
    shb.extend(1u16.to_le_bytes());
    shb.extend(0u16.to_le_bytes());
    shb.extend((-1i64).to_le_bytes()); // section length unknown
    block(&mut o, 0x0A0D_0D0A, shb);
    for i in ifaces {
        let mut b = Vec::new();
        b.extend(i.linktype.to_le_bytes());
        b.extend(0u16.to_le_bytes());
        b.extend(i.snaplen.to_le_bytes());
        if let Some(r) = i.tsresol {
            option(&mut b, 9, &[r]);
        }
        if let Some(off) = i.tsoffset {
            option(&mut b, 14, &off.to_le_bytes());
        }
        if i.tsresol.is_some() || i.tsoffset.is_some() {
            option(&mut b, 0, &[]);
        }
        block(&mut o, 1, b);
    }
    for f in frames {
        let mut b = Vec::new();
        if f.spb {
            b.extend(f.orig_len.to_le_bytes());
            b.extend_from_slice(&f.data);
            block(&mut o, 3, b);
            continue;
        }
        let i = &ifaces[f.iface as usize];
        let since = f.ts as i128 - i128::from(i.tsoffset.unwrap_or(0)) * NS as i128;
        let raw = (since as u128 * i.units() / u128::from(NS)) as u64;
        b.extend(f.iface.to_le_bytes());
        b.extend(((raw >> 32) as u32).to_le_bytes());
        b.extend((raw as u32).to_le_bytes());
        b.extend((f.data.len() as u32).to_le_bytes());
        b.extend(f.orig_len.to_le_bytes());
        b.extend_from_slice(&f.data);
        block(&mut o, 6, b);
    }
    o
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

/// Bytes from hex text (the fixtures' and specs' dumps); whitespace anywhere is ignored.
pub fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    assert!(s.len().is_multiple_of(2), "odd hex");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// xorshift64 (Marsaglia): small and deterministic, for cut points and garbage.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Runs `bin` with `args`, `stdin` fed from a thread; asserts that it succeeded.
pub fn run(bin: &str, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut c = std::process::Command::new(bin)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut i = c.stdin.take().expect("stdin");
    let input = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut i, &input);
    });
    let out = c.wait_with_output().expect("wait");
    feeder.join().expect("feeder");
    assert!(
        out.status.success(),
        "{bin}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
