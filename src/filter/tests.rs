//! Expressions and their expected verdicts, written from pcap-filter(7).

use super::*;
use crate::net::{Endpoints, Transport, NO_VLAN};

fn v4(a: [u8; 4]) -> u128 {
    u128::from(u32::from_be_bytes(a))
}

fn ep(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Endpoints {
    Endpoints {
        src: v4(src),
        dst: v4(dst),
        sport,
        dport,
        v6: false,
        vlan: [NO_VLAN; 2],
    }
}

fn m(expr: &str, e: &Endpoints, t: Transport, len: u32) -> bool {
    let f = PacketFilter::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    f.matches(&Facts {
        ep: e,
        transport: t,
        wire_len: len,
    })
}

#[test]
fn primitives_and_qualifiers() {
    let e = ep([10, 0, 0, 1], 40000, [192, 168, 1, 7], 4712);
    let tcp = Transport::Tcp;
    let yes = [
        "tcp",
        "ip",
        "host 10.0.0.1",
        "src host 10.0.0.1",
        "dst host 192.168.1.7",
        "src 10.0.0.1",
        "src or dst 192.168.1.7",
        "net 10.0.0.0/8",
        "net 192.168",
        "dst net 192.168.1.0 mask 255.255.255.0",
        "port 4712",
        "tcp port 4712",
        "tcp dst port 4712",
        "src port 40000",
        "portrange 4700-4720",
        "tcp port 4712 and host 10.0.0.1",
        "port 80 or 4712",
        "host 1.2.3.4 or 10.0.0.1",
        "not udp",
        "! port 80",
        "(port 80 || port 4712) && ip",
        "greater 60",
        "less 60",
    ];
    for x in yes {
        assert!(m(x, &e, tcp, 60), "{x} should match");
    }
    let no = [
        "udp",
        "ip6",
        "dst host 10.0.0.1",
        "src and dst net 10.0.0.0/8",
        "udp port 4712",
        "src port 4712",
        "port 80 or 443",
        "not tcp",
        "net 11.0.0.0/8",
        "vlan",
        "vlan 5",
        "greater 61",
        "less 59",
        "tcp and not port 4712",
    ];
    for x in no {
        assert!(!m(x, &e, tcp, 60), "{x} should not match");
    }
}

#[test]
fn precedence_is_left_to_right_with_and_over_or() {
    let e = ep([10, 0, 0, 1], 1, [10, 0, 0, 2], 2);
    // and binds tighter: udp or (port 1 and port 2).
    assert!(m("udp or port 1 and port 2", &e, Transport::Tcp, 60));
    assert!(!m("(udp or port 1) and port 3", &e, Transport::Tcp, 60));
    assert!(m("not port 3 and not port 4", &e, Transport::Tcp, 60));
}

#[test]
fn ipv6_and_vlans() {
    let a: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    let b: std::net::Ipv6Addr = "2001:db8::2".parse().unwrap();
    let e = Endpoints {
        src: u128::from(a),
        dst: u128::from(b),
        sport: 5000,
        dport: 4712,
        v6: true,
        vlan: [7, NO_VLAN],
    };
    let u = Transport::Udp;
    for x in [
        "ip6",
        "host 2001:db8::2",
        "net 2001:db8::/32",
        "vlan",
        "vlan 7",
        "udp",
    ] {
        assert!(m(x, &e, u, 100), "{x}");
    }
    for x in [
        "ip",
        "host 10.0.0.1",
        "net 2001:db9::/32",
        "vlan 8",
        "host 2001:db8::3",
    ] {
        assert!(!m(x, &e, u, 100), "{x}");
    }
}

#[test]
fn refused_with_the_position_and_reason() {
    let cases = [
        ("", 0, "empty"),
        ("port", 4, "value is missing"),
        ("port http", 5, "not a port number"),
        ("host example.com", 5, "not an IP address"),
        ("tcp[13] & 2 != 0", 3, "byte-offset"),
        ("icmp", 0, "not supported"),
        ("port 1 and", 10, "expression ends"),
        ("(port 1", 7, "missing ')'"),
        ("port 1)", 6, "unexpected ')'"),
        ("net 10.0.0.1/8", 4, "outside the mask"),
        ("ip host 2001:db8::1", 8, "IPv6 address with 'ip'"),
        ("4712", 0, "needs a qualifier"),
        ("frobnicate", 0, "unknown word"),
        ("net 10.0.0.0 mask 255.0.255.0", 18, "not contiguous"),
    ];
    for (x, pos, why) in cases {
        let e = PacketFilter::parse(x).expect_err(x);
        assert_eq!(e.pos, pos, "{x}: {e}");
        assert!(e.reason.contains(why), "{x}: {e}");
    }
}
