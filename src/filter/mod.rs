//! Capture filters in the syntax of tcpdump's `pcap-filter(7)`, for the primitives users of
//! these tools write: `host`, `net` (CIDR or `mask`), `port`, `portrange`, each with an
//! optional `src`/`dst` (`src or dst`, `src and dst`) and `ip`/`ip6`/`tcp`/`udp` qualifier;
//! the bare protocols `ip`, `ip6`, `tcp`, `udp`; `vlan [ID]`; `less N`, `greater N`; joined by
//! `and`/`&&`, `or`/`||`, `not`/`!` and parentheses. As in tcpdump, a bare value after
//! `and`/`or` repeats the qualifiers before it (`port 4712 or 4713`).
//!
//! The expression is evaluated on the transport segment after IP reassembly, so a port matches
//! every fragment of a datagram (tcpdump sees ports in the first fragment only), and VLAN tags
//! are always looked through (tcpdump needs a `vlan and …` prefix for tagged packets).
//! Byte-offset expressions (`tcp[13] & 2 != 0`), names resolved by DNS or /etc/services, and
//! link-layer primitives are refused with a message naming them.

mod select;

pub use select::PacketSelect;

use crate::net::{Endpoints, Transport};
use std::net::IpAddr;
use thiserror::Error;

/// Why an expression was refused: the position (in characters) and the reason.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("filter expression, at character {pos}: {reason}")]
pub struct FilterError {
    pub pos: usize,
    pub reason: String,
}

/// What a filter looks at in one packet.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub ep: &'a Endpoints,
    pub transport: Transport,
    /// The packet's length on the wire (`less`/`greater`).
    pub wire_len: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    Src,
    Dst,
    Either,
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    Any,
    Ip,
    Ip6,
    Tcp,
    Udp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Host,
    Net,
    Port,
    PortRange,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Test {
    Proto(Proto),
    /// Address, prefix length in bits, whether it is IPv6.
    Net(Dir, u128, u8, bool),
    Port(Dir, Proto, u16, u16),
    Vlan(Option<u16>),
    Less(u32),
    Greater(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Test(Test),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
}

/// A parsed capture filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketFilter {
    root: Node,
    text: String,
}

impl PacketFilter {
    pub fn parse(text: &str) -> Result<PacketFilter, FilterError> {
        let toks = lex(text)?;
        let mut p = Parser {
            toks,
            i: 0,
            end: text.chars().count(),
            last: None,
        };
        if p.toks.is_empty() {
            return Err(p.err(0, "empty expression"));
        }
        let root = p.or()?;
        if let Some((pos, t)) = p.toks.get(p.i) {
            return Err(p.err(*pos, &format!("unexpected '{t}'")));
        }
        Ok(PacketFilter {
            root,
            text: text.to_string(),
        })
    }

    /// The expression as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, f: &Facts<'_>) -> bool {
        eval(&self.root, f)
    }
}

fn eval(n: &Node, f: &Facts<'_>) -> bool {
    match n {
        Node::Test(t) => test(t, f),
        Node::Not(a) => !eval(a, f),
        Node::And(a, b) => eval(a, f) && eval(b, f),
        Node::Or(a, b) => eval(a, f) || eval(b, f),
    }
}

fn proto_ok(p: Proto, f: &Facts<'_>) -> bool {
    match p {
        Proto::Any => true,
        Proto::Ip => !f.ep.v6,
        Proto::Ip6 => f.ep.v6,
        Proto::Tcp => f.transport == Transport::Tcp,
        Proto::Udp => f.transport == Transport::Udp,
    }
}

fn dir_ok(d: Dir, src: bool, dst: bool) -> bool {
    match d {
        Dir::Src => src,
        Dir::Dst => dst,
        Dir::Either => src || dst,
        Dir::Both => src && dst,
    }
}

fn test(t: &Test, f: &Facts<'_>) -> bool {
    match *t {
        Test::Proto(p) => proto_ok(p, f),
        Test::Net(d, addr, bits, v6) => {
            if f.ep.v6 != v6 {
                return false;
            }
            let width = if v6 { 128 } else { 32 };
            let in_net = |a: u128| bits == 0 || (a ^ addr) >> (width - u32::from(bits)) == 0;
            dir_ok(d, in_net(f.ep.src), in_net(f.ep.dst))
        }
        Test::Port(d, p, lo, hi) => {
            proto_ok(p, f)
                && dir_ok(
                    d,
                    (lo..=hi).contains(&f.ep.sport),
                    (lo..=hi).contains(&f.ep.dport),
                )
        }
        Test::Vlan(id) => match id {
            None => f.ep.vlan[0] != crate::net::NO_VLAN,
            Some(id) => f.ep.vlan[0] == id,
        },
        Test::Less(n) => f.wire_len <= n,
        Test::Greater(n) => f.wire_len >= n,
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer and parser

fn lex(text: &str) -> Result<Vec<(usize, String)>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if "()!".contains(c) {
            out.push((i, c.to_string()));
            i += 1;
        } else if (c == '&' || c == '|') && chars.get(i + 1) == Some(&c) {
            out.push((i, format!("{c}{c}")));
            i += 2;
        } else if c.is_ascii_alphanumeric() || ".:/-_".contains(c) {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || ".:/-_".contains(chars[i]))
            {
                i += 1;
            }
            out.push((start, chars[start..i].iter().collect()));
        } else {
            let reason = match c {
                '[' => "byte-offset expressions (proto[offset]) are not supported".to_string(),
                _ => format!("unexpected character '{c}'"),
            };
            return Err(FilterError { pos: i, reason });
        }
    }
    Ok(out)
}

/// The qualifiers of the last primitive, repeated for a bare value (`port 1 or 2`).
#[derive(Clone, Copy)]
struct Quals {
    proto: Proto,
    dir: Dir,
    kind: Kind,
}

struct Parser {
    toks: Vec<(usize, String)>,
    i: usize,
    end: usize,
    last: Option<Quals>,
}

impl Parser {
    fn err(&self, pos: usize, reason: &str) -> FilterError {
        FilterError {
            pos,
            reason: reason.to_string(),
        }
    }

    fn peek(&self) -> Option<&str> {
        self.toks.get(self.i).map(|(_, t)| t.as_str())
    }

    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |(p, _)| *p)
    }

    fn next(&mut self) -> Option<(usize, String)> {
        let t = self.toks.get(self.i).cloned();
        self.i += t.is_some() as usize;
        t
    }

    fn eat(&mut self, words: &[&str]) -> bool {
        if self.peek().is_some_and(|t| words.contains(&t)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Node, FilterError> {
        let mut left = self.and()?;
        while self.eat(&["or", "||"]) {
            left = Node::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node, FilterError> {
        let mut left = self.not()?;
        while self.eat(&["and", "&&"]) {
            left = Node::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Node, FilterError> {
        if self.eat(&["not", "!"]) {
            return Ok(Node::Not(Box::new(self.not()?)));
        }
        if self.eat(&["("]) {
            let inner = self.or()?;
            if !self.eat(&[")"]) {
                return Err(self.err(self.pos(), "missing ')'"));
            }
            return Ok(inner);
        }
        self.primitive()
    }

    fn primitive(&mut self) -> Result<Node, FilterError> {
        let start = self.pos();
        let Some(first) = self.peek().map(str::to_string) else {
            return Err(self.err(start, "expression ends where a primitive was expected"));
        };
        match first.as_str() {
            "vlan" => {
                self.i += 1;
                let id = match self.peek() {
                    Some(t) if t.bytes().all(|b| b.is_ascii_digit()) => {
                        let (p, t) = self.next().unwrap_or_default();
                        Some(number(&t, 4095).ok_or_else(|| self.err(p, "VLAN id above 4095"))?)
                    }
                    _ => None,
                };
                return Ok(Node::Test(Test::Vlan(id.map(|v| v as u16))));
            }
            "less" | "greater" => {
                self.i += 1;
                let (p, t) = self.next().unwrap_or((self.end, String::new()));
                let n = number(&t, u32::MAX.into())
                    .ok_or_else(|| self.err(p, &format!("'{first}' needs a length")))?
                    as u32;
                return Ok(Node::Test(if first == "less" {
                    Test::Less(n)
                } else {
                    Test::Greater(n)
                }));
            }
            _ => {}
        }
        // A bare value repeats the last qualifiers (pcap-filter: "omitted keywords").
        if is_value(&first) {
            let q = self.last.ok_or_else(|| {
                self.err(
                    start,
                    &format!("'{first}' needs a qualifier (host, net, port…)"),
                )
            })?;
            self.i += 1;
            return self.value(q, start, &first);
        }
        let mut proto = Proto::Any;
        if let Some(p) = proto_word(&first) {
            proto = p;
            self.i += 1;
        }
        let mut dir = Dir::Either;
        let dir_given = matches!(self.peek(), Some("src" | "dst"));
        if self.eat(&["src"]) {
            dir = Dir::Src;
            dir = self.dir_pair(dir, "dst");
        } else if self.eat(&["dst"]) {
            dir = Dir::Dst;
            dir = self.dir_pair(dir, "src");
        }
        let kind = match self.peek() {
            Some("host") => Some(Kind::Host),
            Some("net") => Some(Kind::Net),
            Some("port") => Some(Kind::Port),
            Some("portrange") => Some(Kind::PortRange),
            _ => None,
        };
        // "If there is no type qualifier, host is assumed" (`src 10.0.0.1`).
        let assumed = kind.is_none() && dir_given && self.peek().is_some_and(is_value);
        let kind = kind.or(assumed.then_some(Kind::Host));
        let Some(kind) = kind else {
            if !dir_given && proto != Proto::Any {
                return Ok(Node::Test(Test::Proto(proto)));
            }
            let pos = self.pos();
            return Err(match self.peek() {
                Some(t) if is_unsupported(t) => self.err(pos, &format!("'{t}' is not supported")),
                Some(t) => self.err(pos, &format!("unknown word '{t}'")),
                None => self.err(pos, "expression ends where host, net or port was expected"),
            });
        };
        self.i += usize::from(!assumed);
        let (p, v) = self
            .next()
            .ok_or_else(|| self.err(self.end, "a value is missing at the end"))?;
        let q = Quals { proto, dir, kind };
        self.last = Some(q);
        self.value(q, p, &v)
    }

    /// `src or dst`, `src and dst` (the `or`/`and` belong to the qualifier only when followed by
    /// the other direction).
    fn dir_pair(&mut self, d: Dir, other: &str) -> Dir {
        let pair = |s: &Parser, w: &str| {
            s.peek() == Some(w) && s.toks.get(s.i + 1).map(|(_, t)| t.as_str()) == Some(other)
        };
        if pair(self, "or") {
            self.i += 2;
            Dir::Either
        } else if pair(self, "and") {
            self.i += 2;
            Dir::Both
        } else {
            d
        }
    }

    fn value(&mut self, q: Quals, pos: usize, v: &str) -> Result<Node, FilterError> {
        let node = match q.kind {
            Kind::Host => {
                let ip: IpAddr = v.parse().map_err(|_| {
                    self.err(
                        pos,
                        &format!("'{v}' is not an IP address (names are not resolved)"),
                    )
                })?;
                let (a, v6) = addr_bits(ip);
                self.check_family(pos, q.proto, v6)?;
                let bits = if v6 { 128 } else { 32 };
                Node::Test(Test::Net(q.dir, a, bits, v6))
            }
            Kind::Net => {
                let (a, bits, v6) = self.net(pos, v)?;
                self.check_family(pos, q.proto, v6)?;
                Node::Test(Test::Net(q.dir, a, bits, v6))
            }
            Kind::Port | Kind::PortRange => {
                let (lo, hi) = if q.kind == Kind::Port {
                    let p = port(v).ok_or_else(|| self.bad_port(pos, v))?;
                    (p, p)
                } else {
                    let (a, b) = v
                        .split_once('-')
                        .ok_or_else(|| self.err(pos, "a port range is written LOW-HIGH"))?;
                    let lo = port(a).ok_or_else(|| self.bad_port(pos, a))?;
                    let hi = port(b).ok_or_else(|| self.bad_port(pos, b))?;
                    (lo.min(hi), lo.max(hi))
                };
                if matches!(q.proto, Proto::Ip | Proto::Ip6) {
                    return Err(self.err(pos, "ports go with tcp or udp, not ip/ip6"));
                }
                Node::Test(Test::Port(q.dir, q.proto, lo, hi))
            }
        };
        Ok(node)
    }

    fn bad_port(&self, pos: usize, v: &str) -> FilterError {
        self.err(
            pos,
            &format!("'{v}' is not a port number (names are not resolved)"),
        )
    }

    fn check_family(&self, pos: usize, proto: Proto, v6: bool) -> Result<(), FilterError> {
        match (proto, v6) {
            (Proto::Ip, true) => Err(self.err(pos, "an IPv6 address with 'ip'")),
            (Proto::Ip6, false) => Err(self.err(pos, "an IPv4 address with 'ip6'")),
            (Proto::Tcp | Proto::Udp, _) => {
                Err(self.err(pos, "tcp/udp go with port, not host or net"))
            }
            _ => Ok(()),
        }
    }

    /// `10.0.0.0/8`, `2001:db8::/32`, `10.1` (a short IPv4 network: /8 per byte given), or
    /// `10.0.0.0 mask 255.0.0.0`.
    fn net(&mut self, pos: usize, v: &str) -> Result<(u128, u8, bool), FilterError> {
        let bad = |s: &Parser| s.err(pos, &format!("'{v}' is not a network"));
        let (ip, bits) = if let Some((a, b)) = v.split_once('/') {
            let ip: IpAddr = a.parse().map_err(|_| bad(self))?;
            let bits: u8 = b.parse().map_err(|_| bad(self))?;
            (ip, bits)
        } else if self.eat(&["mask"]) {
            let ip: IpAddr = v.parse().map_err(|_| bad(self))?;
            let (mp, m) = self.next().unwrap_or((self.end, String::new()));
            let mask: std::net::Ipv4Addr = m
                .parse()
                .map_err(|_| self.err(mp, "'mask' needs an IPv4 mask"))?;
            let m = u32::from(mask);
            if m.leading_ones() + m.trailing_zeros() != 32 {
                return Err(self.err(mp, "the mask is not contiguous"));
            }
            (ip, m.leading_ones() as u8)
        } else if let Ok(ip) = v.parse::<IpAddr>() {
            (ip, if ip.is_ipv6() { 128 } else { 32 })
        } else {
            let parts: Vec<&str> = v.split('.').collect();
            if parts.len() > 3 || parts.iter().any(|p| p.parse::<u8>().is_err()) {
                return Err(bad(self));
            }
            let mut octets = [0u8; 4];
            for (o, p) in octets.iter_mut().zip(&parts) {
                *o = p.parse().unwrap_or(0);
            }
            (IpAddr::from(octets), 8 * parts.len() as u8)
        };
        let (a, v6) = addr_bits(ip);
        let (width, bits32) = (if v6 { 128u32 } else { 32 }, u32::from(bits));
        if bits32 > width {
            return Err(bad(self));
        }
        if bits32 < width && (a << (128 - width + bits32)) != 0 {
            return Err(self.err(pos, &format!("'{v}': address bits outside the mask")));
        }
        Ok((a, bits, v6))
    }
}

fn addr_bits(ip: IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(a) => (u128::from(u32::from(a)), false),
        IpAddr::V6(a) => (u128::from(a), true),
    }
}

fn proto_word(w: &str) -> Option<Proto> {
    Some(match w {
        "ip" => Proto::Ip,
        "ip6" => Proto::Ip6,
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        _ => return None,
    })
}

fn is_value(w: &str) -> bool {
    w.starts_with(|c: char| c.is_ascii_digit()) || (w.contains(':') && w.parse::<IpAddr>().is_ok())
}

fn is_unsupported(w: &str) -> bool {
    [
        "ether",
        "arp",
        "rarp",
        "icmp",
        "icmp6",
        "sctp",
        "broadcast",
        "multicast",
        "proto",
        "gateway",
        "mpls",
        "pppoed",
        "pppoes",
        "len",
    ]
    .contains(&w)
}

fn number(t: &str, max: u64) -> Option<u64> {
    t.parse::<u64>().ok().filter(|n| *n <= max)
}

fn port(t: &str) -> Option<u16> {
    t.parse().ok()
}

#[cfg(test)]
mod tests;
