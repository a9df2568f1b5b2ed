//! The memory budget (docs/REASSEMBLY.md, "Memory budget"): past `max_memory` bytes of
//! connection state, the least recently active connections and flows are closed early
//! (`end: evicted`), counted, and nothing they carry later is lost: a later packet of an
//! evicted connection starts a new connection. The peak resident memory on adversarial
//! captures is a benchmark (bench/memory.sh, docs/BENCHMARKS.md), not a test.

mod common;

use common::*;
use sekit::capture::Input;
use sekit::pipeline::{run, RunConfig, RunReport};
use sekit::reassembly::{Ctx, End, Sink, StreamEvent};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn write(name: &str, pkts: &[Pkt]) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("memory_budget");
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    std::fs::write(&p, pcap_le(1, &frames(pkts, &Link::Eth(vec![]), 0))).unwrap();
    p
}

fn pkt(i: u64, ip: Vec<u8>) -> Pkt {
    Pkt {
        ts: T0 + i * 1000,
        ip,
        cut: 0,
    }
}

/// Bytes delivered per client port, and every connection's end, in close order.
#[derive(Default)]
struct Collect {
    bytes: BTreeMap<u16, Vec<u8>>,
    ends: Vec<(u16, End)>,
    conns_per_port: BTreeMap<u16, u32>,
}

/// The port that is not the server's (a connection picked up mid-stream may have its sides
/// the other way round).
fn port(conn: &sekit::reassembly::ConnInfo) -> u16 {
    if matches!(conn.client.1, 4712 | 4713) {
        conn.server.1
    } else {
        conn.client.1
    }
}

impl Sink for Collect {
    fn event(&mut self, _: &Ctx<'_>, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Open { conn } => *self.conns_per_port.entry(port(conn)).or_default() += 1,
            StreamEvent::Data { conn, bytes, .. } => self
                .bytes
                .entry(port(conn))
                .or_default()
                .extend_from_slice(bytes),
            StreamEvent::Close { conn, stats } => self
                .ends
                .push((port(conn), stats[0].end.expect("end set at close"))),
            _ => {}
        }
    }
}

fn run_with(path: &Path, budget: usize, sink: &mut Collect) -> RunReport {
    let mut cfg = RunConfig::default();
    cfg.reassembly.max_memory = budget;
    let inputs = [Input {
        path: path.to_str().unwrap().to_string(),
        size: None,
    }];
    run(
        &inputs,
        &cfg,
        sink,
        &mut |e| panic!("{e}"),
        &mut |_| {},
        &|_| false,
    )
}

/// Connection 0 sends a request, then 6,000 other connections open (one request each), then
/// connection 0 sends a second request. With a small budget connection 0 is the least recently
/// active one and is evicted; its second request must still be delivered, on a new connection
/// picked up mid-stream.
#[test]
fn an_evicted_connection_loses_nothing_it_sends_later() {
    let s = ep("10.0.0.2", 4712);
    let first = ep("10.0.0.1", 1000);
    let mut pkts = vec![
        pkt(0, tcp_ip(first, s, 100, 0, SYN, b"")),
        pkt(1, tcp_ip(s, first, 500, 101, SYN | ACK, b"")),
        pkt(2, tcp_ip(first, s, 101, 501, ACK | PSH, b"first request;")),
    ];
    for i in 0..6000u64 {
        let c = ep("10.0.1.1", 10_000 + i as u16);
        pkts.push(pkt(3 + i, tcp_ip(c, s, 7, 0, SYN, b"")));
        pkts.push(pkt(3 + i, tcp_ip(c, s, 8, 0, PSH, b"hello")));
    }
    pkts.push(pkt(
        7000,
        tcp_ip(first, s, 115, 501, ACK | PSH, b"second request"),
    ));
    let cap = write("evict_then_more.pcap", &pkts);

    let mut sink = Collect::default();
    let report = run_with(&cap, 4 << 20, &mut sink);
    assert!(report.reassembly.evicted > 0);
    assert_eq!(
        report.reassembly.after_close, 0,
        "no packet absorbed by an evicted tuple"
    );
    // The oldest connection went first.
    assert_eq!(sink.ends.first(), Some(&(1000, End::Evicted)));
    assert_eq!(
        sink.conns_per_port[&1000], 2,
        "picked up again after its eviction"
    );
    assert_eq!(sink.bytes[&1000], b"first request;second request");
    // Every other connection's bytes arrived too, evicted or not.
    assert_eq!(sink.bytes.len(), 6001);
    assert!(sink.bytes.values().skip(1).all(|b| b == b"hello"));
    let evicted = sink.ends.iter().filter(|e| e.1 == End::Evicted).count() as u64;
    assert_eq!(evicted, report.reassembly.evicted);

    // With the default budget nothing is evicted and the same bytes arrive.
    let mut all = Collect::default();
    let report = run_with(&cap, RunConfig::default().reassembly.max_memory, &mut all);
    assert_eq!(report.reassembly.evicted, 0);
    assert_eq!(all.conns_per_port[&1000], 1);
    assert_eq!(all.bytes, sink.bytes);
}

/// One-datagram UDP flows over a small budget: the state stays bounded (the peak is within
/// the budget plus one growth of the flow table), every datagram is delivered, every flow is
/// closed once, as evicted or at the end of the input.
#[test]
fn udp_flows_are_evicted_oldest_first_and_every_datagram_is_delivered() {
    let s = ep("10.0.0.2", 4713);
    let n = 20_000u64;
    let pkts: Vec<Pkt> = (0..n)
        .map(|i| {
            let c = ep(&format!("10.1.{}.{}", i / 250, i % 250 + 1), 5000);
            pkt(i, udp_ip(c, s, &(i as u32).to_be_bytes()))
        })
        .collect();
    let cap = write("udp_flows.pcap", &pkts);
    let budget = 4 << 20;
    let mut sink = Collect::default();
    let report = run_with(&cap, budget, &mut sink);
    assert!(report.reassembly.evicted > n / 2, "{:?}", report.reassembly);
    assert!(
        report.reassembly.mem_peak <= 2 * budget,
        "peak {} for a budget of {budget}",
        report.reassembly.mem_peak
    );
    assert_eq!(sink.bytes[&5000].len() as u64, 4 * n);
    assert_eq!(sink.ends.len() as u64, n);
    let evicted = sink.ends.iter().filter(|e| e.1 == End::Evicted).count() as u64;
    assert_eq!(evicted, report.reassembly.evicted);
    assert_eq!(
        sink.ends.iter().filter(|e| e.1 == End::Eof).count() as u64,
        n - evicted
    );
}
