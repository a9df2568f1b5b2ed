//! Stateless slicing of captured packets: link layer → IP (with fragment reassembly) → TCP/UDP.
//!
//! The only state here is the IP fragment pool, bounded by [`DefragConfig`].

mod defrag;
mod link;

pub use defrag::{DefragConfig, DefragStats};
pub use link::{strip_link, Link};

use crate::capture::{Packet, Timestamp};
use defrag::{Defrag, FragKey};
use etherparse::LaxIpSlice;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP address kept as 128 bits; IPv4 addresses are stored in the low 32 bits and told apart
/// by [`Endpoints::v6`].
pub type Addr = u128;

/// VLAN ids of a packet, outermost first; [`NO_VLAN`] where there is no tag.
pub type Vlans = [u16; 2];
pub const NO_VLAN: u16 = 0xffff;

/// Addresses and ports of one packet, sender first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Endpoints {
    pub src: Addr,
    pub dst: Addr,
    pub sport: u16,
    pub dport: u16,
    pub v6: bool,
    pub vlan: Vlans,
}

impl Endpoints {
    pub fn src_ip(&self) -> IpAddr {
        to_ip(self.src, self.v6)
    }
    pub fn dst_ip(&self) -> IpAddr {
        to_ip(self.dst, self.v6)
    }
    /// VLAN ids present, outermost first.
    pub fn vlan_ids(&self) -> Vec<u16> {
        self.vlan
            .iter()
            .copied()
            .filter(|v| *v != NO_VLAN)
            .collect()
    }
}

pub fn to_ip(a: Addr, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(a))
    } else {
        IpAddr::V4(Ipv4Addr::from(a as u32))
    }
}

/// The [`Addr`] of an IP address (the inverse of [`to_ip`]).
pub fn from_ip(ip: IpAddr) -> Addr {
    match ip {
        IpAddr::V4(v4) => Addr::from(u32::from(v4)),
        IpAddr::V6(v6) => Addr::from(v6),
    }
}

/// TCP header fields the reassembler needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpHeader {
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
}

impl TcpHeader {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
}

/// Transport protocol of a segment, connection or flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    /// Name as records print it: `tcp`, `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// A transport segment: TCP segment or UDP datagram.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    pub ep: Endpoints,
    /// The TCP header; `None` for a UDP datagram.
    pub tcp: Option<TcpHeader>,
    /// Payload bytes present in the capture.
    pub payload: &'a [u8],
    /// Payload bytes the packet carried on the wire but the capture cut off (snaplen).
    pub missing: u32,
}

/// Why a packet yields no segment. Counted by [`NetStats`]; none of these is fatal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Not IP, or IP carrying neither TCP nor UDP.
    NotTcpUdp,
    /// Unsupported link type.
    Linktype(u32),
    /// Headers cut off by the capture or inconsistent.
    Malformed(&'static str),
    /// A fragment kept until its datagram is complete.
    Fragment,
}

/// Counters of the slicing layer.
#[derive(Clone, Debug, Default)]
pub struct NetStats {
    pub packets: u64,
    pub segments: u64,
    pub not_tcp_udp: u64,
    pub bad_linktype: u64,
    pub malformed: u64,
    pub truncated_payload: u64,
}

/// Turns packets into segments. Holds the fragment pool.
pub struct Slicer {
    defrag: Defrag,
    scratch: Vec<u8>,
    pub stats: NetStats,
}

impl Segment<'_> {
    pub fn transport(&self) -> Transport {
        match self.tcp {
            Some(_) => Transport::Tcp,
            None => Transport::Udp,
        }
    }
}

impl Default for Slicer {
    fn default() -> Self {
        Slicer::new(DefragConfig::default())
    }
}

impl Slicer {
    pub fn new(cfg: DefragConfig) -> Self {
        Slicer {
            defrag: Defrag::new(cfg),
            scratch: Vec::new(),
            stats: NetStats::default(),
        }
    }

    pub fn defrag_stats(&self) -> &DefragStats {
        &self.defrag.stats
    }

    /// End of the input: fragments still waiting for their datagram are dropped and counted.
    pub fn finish(&mut self) {
        self.defrag.finish();
    }

    /// Slices one packet. Fragments are held until their datagram is complete; the segment of
    /// a reassembled datagram borrows the slicer's scratch buffer.
    pub fn slice<'a>(&'a mut self, pkt: &Packet<'a>) -> Result<Segment<'a>, Skip> {
        let Slicer {
            defrag,
            scratch,
            stats,
        } = self;
        stats.packets += 1;
        let r = slice_packet(defrag, scratch, pkt);
        match &r {
            Ok(s) => {
                stats.segments += 1;
                if s.missing > 0 {
                    stats.truncated_payload += 1;
                }
            }
            Err(Skip::NotTcpUdp) => stats.not_tcp_udp += 1,
            Err(Skip::Linktype(_)) => stats.bad_linktype += 1,
            Err(Skip::Malformed(_)) => stats.malformed += 1,
            Err(Skip::Fragment) => {}
        }
        r
    }

    /// Drops fragments older than the timeout (called as capture time advances).
    pub fn expire(&mut self, now: Timestamp) {
        self.defrag.expire(now);
    }
}

fn slice_packet<'a>(
    defrag: &mut Defrag,
    scratch: &'a mut Vec<u8>,
    pkt: &Packet<'a>,
) -> Result<Segment<'a>, Skip> {
    {
        let link = strip_link(pkt.linktype, pkt.data)?;
        if link.ethertype != 0x0800 && link.ethertype != 0x86dd {
            return Err(Skip::NotTcpUdp);
        }
        let ip_bytes = link.payload;
        if let Some(seg) = plain_ipv4(ip_bytes, link.vlan) {
            return seg;
        }
        // Bytes of this frame the capture did not keep (snaplen), for length fields we cannot trust.
        let cut = (pkt.orig_len as usize).saturating_sub(pkt.data.len());
        let (ip, _) = LaxIpSlice::from_slice(ip_bytes).map_err(|_| Skip::Malformed("ip header"))?;
        let (src, dst, v6) = match &ip {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                (
                    u128::from(u32::from_be_bytes(h.source())),
                    u128::from(u32::from_be_bytes(h.destination())),
                    false,
                )
            }
            LaxIpSlice::Ipv6(v6) => {
                let h = v6.header();
                (
                    u128::from_be_bytes(h.source()),
                    u128::from_be_bytes(h.destination()),
                    true,
                )
            }
        };
        let pl = ip.payload();
        let proto = pl.ip_number.0;
        if proto != 6 && proto != 17 {
            return Err(Skip::NotTcpUdp);
        }
        let l4 = pl.payload;
        // Length the transport layer had on the wire.
        let l4_start = l4.as_ptr() as usize - ip_bytes.as_ptr() as usize;
        // Length 0 (TSO/GRO or jumbogram) or a length the frame cannot hold: the frame length
        // is all we have.
        let by_frame = l4.len() + cut;
        let wire_l4 = match &ip {
            LaxIpSlice::Ipv4(v4) if v4.header().total_len() != 0 => {
                usize::from(v4.header().total_len()).saturating_sub(l4_start)
            }
            LaxIpSlice::Ipv6(v6) if v6.header().payload_length() != 0 => {
                (usize::from(v6.header().payload_length()) + 40).saturating_sub(l4_start)
            }
            _ => by_frame,
        }
        .min(by_frame);
        let ep = Endpoints {
            src,
            dst,
            sport: 0,
            dport: 0,
            v6,
            vlan: link.vlan,
        };
        if pl.fragmented {
            if l4.len() < wire_l4 {
                defrag.stats.dropped_truncated += 1;
                return Err(Skip::Fragment);
            }
            let (id, offset, more) = match &ip {
                LaxIpSlice::Ipv4(v4) => {
                    let h = v4.header();
                    (
                        u32::from(h.identification()),
                        usize::from(h.fragments_offset().byte_offset()),
                        h.more_fragments(),
                    )
                }
                LaxIpSlice::Ipv6(v6) => {
                    let frag = v6.extensions().clone().into_iter().find_map(|e| match e {
                        etherparse::Ipv6ExtensionSlice::Fragment(f) => Some(f),
                        _ => None,
                    });
                    let f = frag.ok_or(Skip::Malformed("ipv6 fragment header"))?;
                    (
                        f.identification(),
                        usize::from(f.fragment_offset().byte_offset()),
                        f.more_fragments(),
                    )
                }
            };
            let key = FragKey {
                src,
                dst,
                id,
                proto,
                v6,
                vlan: link.vlan,
            };
            if !defrag.add(key, pkt.ts, offset, more, l4, scratch) {
                return Err(Skip::Fragment);
            }
            let len = scratch.len();
            return parse_l4(ep, proto, scratch, len);
        }
        defrag.expire(pkt.ts);
        parse_l4(ep, proto, l4, wire_l4)
    }
}

/// The common case without etherparse: IPv4 without options, not fragmented, complete in the
/// frame, carrying TCP or UDP. Anything else (options, fragments, cut-off packets, IPv6) takes
/// the general path.
fn plain_ipv4(ip: &[u8], vlan: Vlans) -> Option<Result<Segment<'_>, Skip>> {
    if ip.len() < 20 || ip[0] != 0x45 {
        return None;
    }
    let total = usize::from(be16(ip, 2));
    let frag = be16(ip, 6) & 0x3fff; // MF flag and fragment offset
    let proto = ip[9];
    if total < 20 || total > ip.len() || frag != 0 || (proto != 6 && proto != 17) {
        return None;
    }
    let ep = Endpoints {
        src: u128::from(be32(ip, 12)),
        dst: u128::from(be32(ip, 16)),
        sport: 0,
        dport: 0,
        v6: false,
        vlan,
    };
    Some(parse_l4(ep, proto, &ip[20..total], total - 20))
}

fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}
fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Parses a TCP or UDP header. `wire_len` is the transport length on the wire, so the bytes
/// the capture cut off are known.
fn parse_l4(mut ep: Endpoints, proto: u8, l4: &[u8], wire_len: usize) -> Result<Segment<'_>, Skip> {
    if proto == 6 {
        if l4.len() < 20 {
            return Err(Skip::Malformed("tcp header cut off"));
        }
        let doff = usize::from(l4[12] >> 4) * 4;
        if doff < 20 {
            return Err(Skip::Malformed("tcp data offset below 20"));
        }
        if l4.len() < doff {
            return Err(Skip::Malformed("tcp options cut off"));
        }
        ep.sport = be16(l4, 0);
        ep.dport = be16(l4, 2);
        let payload = &l4[doff..];
        let missing = wire_len.saturating_sub(doff).saturating_sub(payload.len());
        Ok(Segment {
            ep,
            tcp: Some(TcpHeader {
                seq: be32(l4, 4),
                ack: be32(l4, 8),
                flags: l4[13],
                window: be16(l4, 14),
            }),
            payload,
            missing: missing.min(u32::MAX as usize) as u32,
        })
    } else {
        if l4.len() < 8 {
            return Err(Skip::Malformed("udp header cut off"));
        }
        ep.sport = be16(l4, 0);
        ep.dport = be16(l4, 2);
        let ulen = usize::from(be16(l4, 4));
        // A UDP length of 0 (jumbogram) or larger than the IP says: trust the IP length.
        let wire = if ulen >= 8 && ulen <= wire_len {
            ulen
        } else {
            wire_len
        };
        let body = &l4[8..];
        let take = body.len().min(wire.saturating_sub(8));
        let missing = wire.saturating_sub(8).saturating_sub(take);
        Ok(Segment {
            ep,
            tcp: None,
            payload: &body[..take],
            missing: missing.min(u32::MAX as usize) as u32,
        })
    }
}
