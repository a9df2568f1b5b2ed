//! Reassembly behaviour of `sefollow` on synthetic captures built by `common`. Every expected
//! value is derived from what the test itself sent, never from sefollow's output.

mod common;

use common::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

// ---------------------------------------------------------------------------------------------
// Running sefollow

/// A fresh directory for one test.
fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("reassembly_generated")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write capture");
    p
}

/// Runs sefollow, asserts success, returns stdout.
fn sefollow(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sefollow"));
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().expect("spawn sefollow");
    if let Some(input) = stdin {
        use std::io::Write;
        let mut s = child.stdin.take().expect("stdin");
        s.write_all(input).expect("feed stdin");
    }
    let out = child.wait_with_output().expect("sefollow output");
    assert!(
        out.status.success(),
        "sefollow {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// One `--list` line: its text (for exact number formatting) and its parsed value.
struct Flow {
    line: String,
    v: Value,
}

impl Flow {
    /// The unparsed JSON text of a scalar field.
    fn raw(&self, key: &str) -> &str {
        let pat = format!("\"{key}\":");
        let at = self.line.find(&pat).expect("field present") + pat.len();
        let rest = &self.line[at..];
        &rest[..rest.find([',', '}']).expect("field end")]
    }
}

impl std::ops::Index<&str> for Flow {
    type Output = Value;
    fn index(&self, k: &str) -> &Value {
        &self.v[k]
    }
}

fn parse_list(out: &[u8]) -> Vec<Flow> {
    String::from_utf8(out.to_vec())
        .expect("utf-8 output")
        .lines()
        .map(|l| Flow {
            line: l.to_string(),
            v: serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")),
        })
        .collect()
}

fn list(inputs: &[&Path]) -> Vec<Flow> {
    let mut args = vec!["--list", "-q"];
    args.extend(inputs.iter().map(|p| p.to_str().expect("utf-8 path")));
    parse_list(&sefollow(&args, None))
}

/// Writes the capture to a fresh directory and lists it.
fn list_capture(test: &str, file: &str, bytes: &[u8]) -> Vec<Flow> {
    let d = tmp(test);
    list(&[&put(&d, file, bytes)])
}

fn get<'a>(flows: &'a [Flow], conn: u64, dir: &str) -> &'a Flow {
    flows
        .iter()
        .find(|f| f["conn"] == json!(conn) && f["dir"] == json!(dir))
        .unwrap_or_else(|| panic!("no flow {conn} {dir} in {:#?}", lines(flows)))
}

fn lines(flows: &[Flow]) -> Vec<&str> {
    flows.iter().map(|f| f.line.as_str()).collect()
}

fn conn_ids(flows: &[Flow]) -> Vec<u64> {
    let mut ids: Vec<u64> = flows
        .iter()
        .map(|f| f["conn"].as_u64().expect("conn id"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

// ---------------------------------------------------------------------------------------------
// Expectations

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Timestamp text: six decimals for whole microseconds, nine otherwise.
fn ts_str(ns: u64) -> String {
    let (s, f) = (ns / NS, ns % NS);
    if f.is_multiple_of(1000) {
        format!("{s}.{:06}", f / 1000)
    } else {
        format!("{s}.{f:09}")
    }
}

fn pairs(v: &[(u64, u64)]) -> Value {
    json!(v.iter().map(|&(a, b)| [a, b]).collect::<Vec<_>>())
}

/// Deterministic payload of letters G..Z (never hex digits, never spaces).
fn body(n: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed).wrapping_mul(2_654_435_761) | 1;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            b'G' + ((x >> 16) % 20) as u8
        })
        .collect()
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Delivered bytes and gaps of a direction.
#[track_caller]
fn assert_stream(f: &Flow, delivered: &[u8], gaps: &[(u64, u64)]) {
    assert_eq!(f["bytes"], json!(delivered.len()), "bytes of {}", f.line);
    assert_eq!(f["sha256"], json!(sha(delivered)), "sha256 of {}", f.line);
    assert_eq!(f["gaps"], pairs(gaps), "gaps of {}", f.line);
}

/// A clean direction: no conflict, retransmission or keep-alive.
#[track_caller]
fn assert_clean(f: &Flow) {
    assert_eq!(f["conflicts"], json!([]), "conflicts of {}", f.line);
    assert_eq!(f["retx_bytes"], json!(0), "retx_bytes of {}", f.line);
    assert_eq!(f["keepalives"], json!(0), "keepalives of {}", f.line);
}

fn eth() -> Link {
    Link::Eth(vec![])
}

/// A simple connection: handshake, request, response, close.
fn simple(t: &mut Tcp, req: &[u8], resp: &[u8]) {
    t.handshake();
    t.data(C2S, req);
    t.data(S2C, resp);
    t.close();
}

// ---------------------------------------------------------------------------------------------
// TCP reassembly

#[test]
fn in_order() {
    let req = body(300, 1);
    let resp = body(700, 2);
    let mut t = Tcp::v4(1000, 50_000);
    t.handshake(); // 0 SYN, 1 SYN/ACK, 2 ACK
    t.data(C2S, &req[..100]); // 3
    t.data(C2S, &req[100..]); // 4
    t.data(S2C, &resp[..400]); // 5
    t.data(S2C, &resp[400..]); // 6
    t.fin(C2S); // 7
    t.fin(S2C); // 8
    let flows = list_capture("in_order", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    assert_eq!(flows.len(), 2, "{:#?}", lines(&flows));

    let c = get(&flows, 1, "c2s");
    assert_eq!(c["v"], json!(2));
    assert_eq!(c["type"], json!("flow"));
    assert_eq!(c["transport"], json!("tcp"));
    assert_eq!(c["src"], json!("10.0.0.1"));
    assert_eq!(c["sport"], json!(40000));
    assert_eq!(c["dst"], json!("10.0.0.2"));
    assert_eq!(c["dport"], json!(80));
    assert_eq!(c["vlan"], Value::Null);
    assert_eq!(c["packets"], json!(5));
    assert_eq!(c.raw("first_ts"), ts_str(t.pkts[0].ts));
    assert_eq!(c.raw("last_ts"), ts_str(t.pkts[7].ts));
    assert_eq!(c["midstream"], json!(false));
    assert_eq!(c["isn"], json!(1000));
    assert_eq!(c["end"], json!("fin"));
    assert_stream(c, &req, &[]);
    assert_clean(c);

    let s = get(&flows, 1, "s2c");
    assert_eq!(s["src"], json!("10.0.0.2"));
    assert_eq!(s["sport"], json!(80));
    assert_eq!(s["dst"], json!("10.0.0.1"));
    assert_eq!(s["dport"], json!(40000));
    assert_eq!(s["packets"], json!(4));
    assert_eq!(s.raw("first_ts"), ts_str(t.pkts[1].ts));
    assert_eq!(s.raw("last_ts"), ts_str(t.pkts[8].ts));
    assert_eq!(s["isn"], json!(50_000));
    assert_eq!(s["end"], json!("fin"));
    assert_stream(s, &resp, &[]);
    assert_clean(s);
}

#[test]
fn out_of_order() {
    let d = body(30, 3);
    let mut t = Tcp::v4(7, 9);
    t.handshake();
    t.data_at(C2S, 10, &d[10..20]);
    t.data_at(C2S, 20, &d[20..30]);
    t.data_at(C2S, 0, &d[..10]);
    t.data(S2C, b"OK");
    t.close();
    let flows = list_capture("out_of_order", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    let c = get(&flows, 1, "c2s");
    assert_stream(c, &d, &[]);
    assert_clean(c);
    assert_eq!(c["end"], json!("fin"));
    assert_stream(get(&flows, 1, "s2c"), b"OK", &[]);
}

#[test]
fn exact_retransmission() {
    let d = body(30, 4);
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.data(C2S, &d[..10]);
    t.data(C2S, &d[10..20]);
    t.data_at(C2S, 0, &d[..10]); // 10 bytes again
    t.data_at(C2S, 5, &d[5..15]); // 10 bytes again, straddling two segments
    t.data(C2S, &d[20..]);
    t.close();
    let flows = list_capture("retx", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    let c = get(&flows, 1, "c2s");
    assert_stream(c, &d, &[]);
    assert_eq!(c["retx_bytes"], json!(20));
    assert_eq!(c["conflicts"], json!([]));
}

#[test]
fn conflicting_overlap_first_copy_wins() {
    let d = body(30, 5);
    let mut alt = d[5..15].to_vec();
    alt[3..6].copy_from_slice(b"abc"); // offsets 8, 9, 10 differ
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.data(C2S, &d[..20]);
    t.data_at(C2S, 5, &alt);
    t.data(C2S, &d[20..]);
    t.close();
    let flows = list_capture("conflict", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    let c = get(&flows, 1, "c2s");
    assert_stream(c, &d, &[]);
    assert_eq!(c["conflicts"], pairs(&[(8, 3)]));
    assert_eq!(c["retx_bytes"], json!(10));
}

#[test]
fn conflicting_overlap_with_buffered_data() {
    let d = body(30, 6);
    let mut alt = d[12..16].to_vec();
    alt[1..3].copy_from_slice(b"xy"); // offsets 13, 14 differ
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.data_at(C2S, 10, &d[10..]); // buffered: 0..10 missing so far
    t.data_at(C2S, 12, &alt); // overlaps the buffered copy
    t.data_at(C2S, 0, &d[..10]);
    t.close();
    let flows = list_capture("conflict_ooo", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    let c = get(&flows, 1, "c2s");
    assert_stream(c, &d, &[]);
    assert_eq!(c["conflicts"], pairs(&[(13, 2)]));
    assert_eq!(c["retx_bytes"], json!(4));
}

#[test]
fn gap_acked_past_then_more_data() {
    let c = body(40, 7);
    let s = body(20, 8);
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.data(C2S, &c[..10]);
    t.lose(C2S, 10); // 10..20 never captured
    t.ack(S2C); // the server acknowledges 20
    t.data(C2S, &c[20..30]);
    t.data(C2S, &c[30..]);
    t.data(S2C, &s);
    t.close();
    let d = tmp("gap_acked");
    let cap = put(&d, "c.pcap", &pcap_le(1, &t.frames(&eth())));
    let flows = list(&[&cap]);
    let delivered = cat(&[&c[..10], &c[20..]]);
    let cf = get(&flows, 1, "c2s");
    assert_stream(cf, &delivered, &[(10, 10)]);
    assert_eq!(cf["conflicts"], json!([]));
    assert_stream(get(&flows, 1, "s2c"), &s, &[]);
    // Declared when the data after the hole arrived, not at the end: the client's bytes
    // come before the server's in capture order.
    let raw = sefollow(
        &["--conn", "1", "--format", "raw", cap.to_str().unwrap()],
        None,
    );
    assert_eq!(raw, cat(&[&delivered, &s]));
}

#[test]
fn gap_at_end_closed_by_fin() {
    let c = body(30, 9);
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.ack_limit[S2C] = Some(10); // the server never acknowledges past the hole
    t.data(C2S, &c[..10]);
    t.lose(C2S, 10);
    t.data(C2S, &c[20..]);
    t.data(S2C, b"partial");
    t.fin(C2S);
    t.fin(S2C);
    let flows = list_capture("gap_fin", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    let cf = get(&flows, 1, "c2s");
    assert_stream(cf, &cat(&[&c[..10], &c[20..]]), &[(10, 10)]);
    assert_eq!(cf["end"], json!("fin"));
    assert_eq!(get(&flows, 1, "s2c")["end"], json!("fin"));
}

#[test]
fn gap_at_end_acked_but_never_seen() {
    let c = body(20, 10);
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.data(C2S, &c[..10]);
    t.lose(C2S, 10); // the last segment is lost, but acknowledged
    t.ack(S2C);
    t.fin(C2S);
    t.fin(S2C);
    let flows = list_capture("gap_end_acked", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    let cf = get(&flows, 1, "c2s");
    assert_stream(cf, &c[..10], &[(10, 10)]);
    assert_eq!(cf["end"], json!("fin"));
}

#[test]
fn gaps_at_eof() {
    let c = body(30, 94);
    // A hole before buffered data, never acknowledged; the capture ends.
    let mut a = Tcp::new(ep("10.0.0.1", 40001), ep("10.0.0.2", 80), 100, 200);
    a.handshake();
    a.ack_limit[S2C] = Some(10);
    a.data(C2S, &c[..10]);
    a.lose(C2S, 10);
    a.data(C2S, &c[20..]);
    a.ack(S2C);
    // The last 10 bytes acknowledged but never captured; the capture ends.
    let mut b = Tcp::new(ep("10.0.0.1", 40002), ep("10.0.0.2", 80), 300, 400);
    b.clock = T0 + 100_000;
    b.handshake();
    b.data(C2S, &c[..20]);
    b.lose(C2S, 10);
    b.ack(S2C);
    let frames = merge(vec![a.frames(&eth()), b.frames(&eth())]);
    let flows = list_capture("gaps_eof", "c.pcap", &pcap_le(1, &frames));
    let fa = get(&flows, 1, "c2s");
    assert_eq!(fa["sport"], json!(40001));
    assert_stream(fa, &cat(&[&c[..10], &c[20..]]), &[(10, 10)]);
    assert_eq!(fa["end"], json!("eof"));
    let fb = get(&flows, 2, "c2s");
    assert_eq!(fb["sport"], json!(40002));
    assert_stream(fb, &c[..20], &[(20, 10)]);
    assert_eq!(fb["end"], json!("eof"));
}

#[test]
fn ack_captured_before_its_data_is_no_gap() {
    let c = body(30, 92);
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.data(C2S, &c[..10]);
    t.lose(C2S, 10);
    t.ack(S2C); // acknowledges 20 before the capture shows 10..20
    t.data_at(C2S, 10, &c[10..20]);
    t.data(C2S, &c[20..]);
    t.close();
    let flows = list_capture("ack_first", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    let cf = get(&flows, 1, "c2s");
    assert_stream(cf, &c, &[]);
    assert_clean(cf);
}

#[test]
fn fin_with_data() {
    let (req, resp) = (body(25, 90), body(35, 91));
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.data_fin(C2S, &req);
    t.data_fin(S2C, &resp);
    t.ack(C2S);
    let flows = list_capture("fin_data", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    assert_eq!(flows.len(), 2, "{:#?}", lines(&flows));
    for (dir, sent) in [("c2s", &req), ("s2c", &resp)] {
        let f = get(&flows, 1, dir);
        assert_stream(f, sent, &[]);
        assert_clean(f);
        assert_eq!(f["end"], json!("fin"));
    }
}

#[test]
fn midstream_pickup() {
    let c = body(30, 11);
    let s = body(25, 12);
    let mut t = Tcp::v4(1000, 5000);
    t.sent = [100, 50]; // sent before the capture started
    t.data(S2C, &s[..15]); // the server speaks first
    t.data(C2S, &c[..10]);
    t.lose(C2S, 10);
    t.data(C2S, &c[20..]);
    t.data(S2C, &s[15..]);
    // end of capture, no FIN
    let flows = list_capture("midstream", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    assert_eq!(flows.len(), 2, "{:#?}", lines(&flows));
    // The client is the side with the higher port, although the server sent first.
    let cf = get(&flows, 1, "c2s");
    assert_eq!(cf["src"], json!("10.0.0.1"));
    assert_eq!(cf["sport"], json!(40000));
    assert_eq!(cf["midstream"], json!(true));
    assert_eq!(cf["isn"], Value::Null);
    assert_eq!(cf["end"], json!("eof"));
    // Offsets count from the first sequence number seen, not from the ISN.
    assert_stream(cf, &cat(&[&c[..10], &c[20..]]), &[(10, 10)]);
    let sf = get(&flows, 1, "s2c");
    assert_eq!(sf["midstream"], json!(true));
    assert_eq!(sf["isn"], Value::Null);
    assert_stream(sf, &s, &[]);
}

#[test]
fn port_reuse_new_isn_new_connection() {
    let a = body(20, 13);
    let b = body(30, 14);
    let mut t1 = Tcp::v4(1000, 2000);
    t1.syn(); // retransmitted below with the same ISN: same connection
    simple(&mut t1, &a, b"first");
    let mut t2 = Tcp::v4(3_000_000_000, 4000);
    t2.clock = t1.clock + NS / 10;
    simple(&mut t2, &b, b"second");
    let frames = merge(vec![t1.frames(&eth()), t2.frames(&eth())]);
    let flows = list_capture("port_reuse", "c.pcap", &pcap_le(1, &frames));
    assert_eq!(flows.len(), 4, "{:#?}", lines(&flows));
    let ids = conn_ids(&flows);
    assert_eq!(ids.len(), 2);
    let by_isn = |isn: u32| {
        flows
            .iter()
            .find(|f| f["dir"] == json!("c2s") && f["isn"] == json!(isn))
            .unwrap_or_else(|| panic!("no c2s flow with isn {isn}"))
    };
    let (c1, c2) = (by_isn(1000), by_isn(3_000_000_000));
    let (id1, id2) = (c1["conn"].as_u64().unwrap(), c2["conn"].as_u64().unwrap());
    assert_ne!(id1, id2);
    assert!(id1 < id2, "ids follow capture order");
    assert_stream(c1, &a, &[]);
    assert_stream(c2, &b, &[]);
    let (s1, s2) = (get(&flows, id1, "s2c"), get(&flows, id2, "s2c"));
    assert_eq!(s1["isn"], json!(2000));
    assert_eq!(s2["isn"], json!(4000));
    assert_stream(s1, b"first", &[]);
    assert_stream(s2, b"second", &[]);
    for f in &flows {
        assert_eq!(f["end"], json!("fin"), "{}", f.line);
    }
}

/// One connection of a reused-tuple chain, as the test scripted it.
struct Sent {
    isn: [u32; 2],
    midstream: bool,
    rst: bool,
    bytes: [Vec<u8>; 2],
}

/// Several connections in a row on one 4-tuple, each starting 0.1–5 s after the previous one
/// closed (well within the 10 s a closed tuple is remembered); some without their handshake
/// (the capture lost the SYN), some ended by RST; late packets of each closed connection
/// follow its close. Returns the script and what each connection sent.
fn reuse_chain(rng: &mut Rng, client_port: u16, start: u64) -> (Tcp, Vec<Sent>) {
    let client = ep("10.0.0.1", client_port);
    let server = ep("10.0.0.2", 502);
    let mut all = Tcp::new(client, server, 0, 0);
    let mut sent = Vec::new();
    let mut clock = start;
    for k in 0..rng.range(2, 4) {
        let isn = [rng.next() as u32, rng.next() as u32];
        let mut t = Tcp::new(client, server, isn[C2S], isn[S2C]);
        t.clock = clock;
        // The capture misses the handshake of a third of first connections, half of later ones.
        let midstream = rng.range(0, 2 + usize::from(k == 0)) == 0;
        let rst = rng.range(0, 3) == 0;
        if !midstream {
            t.handshake();
        }
        let mut bytes = [Vec::new(), Vec::new()];
        for _ in 0..rng.range(1, 3) {
            for d in [C2S, S2C] {
                for _ in 0..rng.range(1, 3) {
                    let n = rng.range(1, 1400);
                    let part = rng.bytes(n);
                    t.data(d, &part);
                    bytes[d].extend(part);
                }
            }
        }
        // Late packets: the last server segment again, then a bare ACK.
        let last = rng.range(1, bytes[S2C].len().min(100));
        let tail = bytes[S2C][bytes[S2C].len() - last..].to_vec();
        if rst {
            t.rst(C2S);
        } else {
            t.close();
        }
        t.data_at(S2C, t.sent[S2C] - last as u64, &tail);
        t.ack(S2C);
        clock = t.clock + rng.range(100, 5000) as u64 * 1_000_000;
        all.pkts.extend(t.pkts);
        sent.push(Sent {
            isn,
            midstream,
            rst,
            bytes,
        });
    }
    (all, sent)
}

/// Port reuse where the new connection's SYN was not captured: data far outside the closed
/// connection's sequence space starts a new mid-stream connection; late packets of the closed
/// one are still absorbed. Every direction is checked against what the test sent.
#[test]
fn port_reuse_without_syn_starts_midstream_connection() {
    for seed in 1..=6u64 {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
        let mut scripts = Vec::new();
        let mut chains = Vec::new();
        for i in 0..8u16 {
            let start = T0 + rng.range(0, 3000) as u64 * 1_000_000;
            let (t, sent) = reuse_chain(&mut rng, 40000 + i, start);
            scripts.push(t.frames(&eth()));
            chains.push(sent);
        }
        let test = format!("reuse_midstream_{seed}");
        let flows = list_capture(&test, "c.pcap", &pcap_le(1, &merge(scripts)));
        let expected: usize = chains.iter().map(|c| 2 * c.len()).sum();
        assert_eq!(flows.len(), expected, "seed {seed}: {:#?}", lines(&flows));
        for (i, chain) in chains.iter().enumerate() {
            let port = json!(40000 + i);
            let mut ids: Vec<u64> = flows
                .iter()
                .filter(|f| f["dir"] == json!("c2s") && f["sport"] == port)
                .map(|f| f["conn"].as_u64().expect("conn id"))
                .collect();
            ids.sort_unstable();
            assert_eq!(ids.len(), chain.len(), "seed {seed} port {port}");
            for (id, c) in ids.into_iter().zip(chain) {
                for (d, name) in [(C2S, "c2s"), (S2C, "s2c")] {
                    let f = get(&flows, id, name);
                    assert_stream(f, &c.bytes[d], &[]);
                    assert_clean(f);
                    assert_eq!(
                        f["midstream"],
                        json!(c.midstream),
                        "seed {seed}: {}",
                        f.line
                    );
                    let isn = if c.midstream {
                        json!(null)
                    } else {
                        json!(c.isn[d])
                    };
                    assert_eq!(f["isn"], isn, "seed {seed}: {}", f.line);
                    let end = if c.rst { "rst" } else { "fin" };
                    assert_eq!(f["end"], json!(end), "seed {seed}: {}", f.line);
                }
            }
        }
    }
}

#[test]
fn sequence_wraparound() {
    let c = body(40, 15);
    let s = body(12, 16);
    // Client data starts 4 below 2^32; the server's stream offset 2 has sequence number 0.
    let mut t = Tcp::v4(u32::MAX - 4, u32::MAX - 2);
    t.handshake();
    t.data(C2S, &c[..10]); // crosses 2^32
    t.data_at(C2S, 20, &c[20..]); // out of order, after the wrap
    t.data_at(C2S, 10, &c[10..20]);
    t.data(S2C, &s[..1]);
    t.lose(S2C, 4); // offsets 1..5 lost, across the wrap
    t.ack(C2S);
    t.data(S2C, &s[5..]);
    t.close();
    let flows = list_capture("wrap", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    let cf = get(&flows, 1, "c2s");
    assert_eq!(cf["isn"], json!(u32::MAX - 4));
    assert_stream(cf, &c, &[]);
    assert_clean(cf);
    let sf = get(&flows, 1, "s2c");
    assert_eq!(sf["isn"], json!(u32::MAX - 2));
    assert_stream(sf, &cat(&[&s[..1], &s[5..]]), &[(1, 4)]);
    assert_eq!(cf["end"], json!("fin"));
}

#[test]
fn keepalive_ignored_and_counted() {
    let c = body(20, 17);
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.data(C2S, &c[..10]);
    t.ack(S2C);
    t.keepalive(C2S); // one byte at next-1, different from the byte delivered there
    t.ack(S2C);
    t.data(C2S, &c[10..]);
    t.close();
    let flows = list_capture("keepalive", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    let cf = get(&flows, 1, "c2s");
    assert_stream(cf, &c, &[]);
    assert_eq!(cf["keepalives"], json!(1));
    assert_eq!(cf["conflicts"], json!([]));
    assert_eq!(cf["retx_bytes"], json!(0));
}

#[test]
fn tfo_data_on_syn() {
    let first = b"GET /tfo HTTP/1.1\r\n";
    let rest = b"Host: x\r\n\r\n";
    let mut t = Tcp::v4(5555, 6666);
    t.syn_data(first);
    t.synack();
    t.ack(C2S);
    t.data(C2S, rest);
    t.data(S2C, b"HTTP/1.1 204 No Content\r\n\r\n");
    t.close();
    let flows = list_capture("tfo", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    let cf = get(&flows, 1, "c2s");
    assert_eq!(cf["isn"], json!(5555));
    assert_stream(cf, &cat(&[first, rest]), &[]);
    assert_clean(cf);
    assert_stream(
        get(&flows, 1, "s2c"),
        b"HTTP/1.1 204 No Content\r\n\r\n",
        &[],
    );
}

#[test]
fn rst_closes_and_later_payload_ignored() {
    let c = body(20, 18);
    let s = body(8, 19);
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.data(C2S, &c[..10]);
    t.data(S2C, &s);
    t.rst(C2S);
    t.data(C2S, &c[10..]);
    t.data(S2C, b"late");
    let flows = list_capture("rst", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    assert_eq!(flows.len(), 2, "{:#?}", lines(&flows));
    let cf = get(&flows, 1, "c2s");
    assert_stream(cf, &c[..10], &[]);
    assert_eq!(cf["end"], json!("rst"));
    let sf = get(&flows, 1, "s2c");
    assert_stream(sf, &s, &[]);
    assert_eq!(sf["end"], json!("rst"));
}

#[test]
fn rst_flushes_buffered_data() {
    let c = body(30, 93);
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.ack_limit[S2C] = Some(10);
    t.data(C2S, &c[..10]);
    t.lose(C2S, 10);
    t.data(C2S, &c[20..]); // buffered behind the hole
    t.rst(S2C);
    let flows = list_capture("rst_flush", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    let cf = get(&flows, 1, "c2s");
    assert_stream(cf, &cat(&[&c[..10], &c[20..]]), &[(10, 10)]);
    assert_eq!(cf["end"], json!("rst"));
}

#[test]
fn snaplen_truncation_becomes_gap() {
    let c = body(400, 20);
    let s = body(60, 21);
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.data(C2S, &c[..100]);
    t.data(C2S, &c[100..300]).cut = 150; // 50 of 200 payload bytes captured
    t.data(C2S, &c[300..]);
    t.data(S2C, &s).cut = 20; // the last 20 bytes cut off
    t.close();
    let (u1, u2, u3) = (body(30, 95), body(50, 96), body(40, 97));
    let mut u = Udp::new(ep("10.0.0.7", 40005), ep("10.0.0.8", 9999));
    u.clock = t.clock;
    u.send(C2S, &u1);
    u.send(C2S, &u2);
    u.pkts[1].cut = 20;
    u.send(C2S, &u3);
    let frames = merge(vec![t.frames(&eth()), frames(&u.pkts, &eth(), 0)]);
    let flows = list_capture("snaplen", "c.pcap", &pcap_le(1, &frames));
    let uf = get(&flows, 2, "c2s");
    assert_eq!(uf["transport"], json!("udp"));
    assert_eq!(uf["packets"], json!(3));
    assert_stream(uf, &cat(&[&u1, &u2[..30], &u3]), &[(60, 20)]);
    let cf = get(&flows, 1, "c2s");
    assert_stream(cf, &cat(&[&c[..150], &c[300..]]), &[(150, 150)]);
    let sf = get(&flows, 1, "s2c");
    assert_stream(sf, &s[..40], &[(40, 20)]);
    for (f, sent) in [(cf, c.len()), (sf, s.len())] {
        let gaps: u64 = f["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g[1].as_u64().unwrap())
            .sum();
        assert_eq!(f["bytes"].as_u64().unwrap() + gaps, sent as u64);
    }
}

/// Replaces the last packet of the script by its fragments, in the given order.
fn fragment_last(t: &mut Tcp, chunk: usize, order: &[usize]) {
    let p = t.pkts.pop().expect("a packet");
    let frags = fragment(&p.ip, chunk, 0x4242);
    assert_eq!(frags.len(), order.len());
    for &i in order {
        t.push(frags[i].clone());
    }
}

#[test]
fn ipv4_fragments_reverse_order() {
    let c = body(1400, 22);
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.data(C2S, &c); // 1420 bytes of TCP: fragments of 512, 512, 396
    fragment_last(&mut t, 512, &[2, 1, 0]);
    t.data(S2C, b"thanks");
    t.close();
    let d = body(1000, 98);
    let mut u = Udp::new(ep("10.0.0.9", 40006), ep("10.0.0.10", 4000));
    u.clock = t.clock;
    u.send(C2S, &d);
    let p = u.pkts.pop().unwrap();
    for (i, f) in fragment(&p.ip, 256, 7).into_iter().rev().enumerate() {
        u.pkts.push(Pkt {
            ts: p.ts + i as u64 * 1000,
            ip: f,
            cut: 0,
        });
    }
    let frames = merge(vec![t.frames(&eth()), frames(&u.pkts, &eth(), 0)]);
    let flows = list_capture("frag4", "c.pcap", &pcap_le(1, &frames));
    assert_stream(get(&flows, 1, "c2s"), &c, &[]);
    assert_stream(get(&flows, 1, "s2c"), b"thanks", &[]);
    let uf = get(&flows, 2, "c2s");
    assert_eq!(uf["packets"], json!(1));
    assert_stream(uf, &d, &[]);
}

#[test]
fn ipv6_fragments() {
    let c = body(1400, 23);
    let s = body(900, 24);
    let mut t = Tcp::v6(100, 200);
    t.handshake();
    t.data(C2S, &c);
    fragment_last(&mut t, 512, &[1, 0, 2]);
    t.data(S2C, &s);
    fragment_last(&mut t, 256, &[3, 2, 1, 0]);
    t.close();
    let flows = list_capture("frag6", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    let cf = get(&flows, 1, "c2s");
    assert_eq!(cf["src"], json!("fd00::1"));
    assert_eq!(cf["dst"], json!("fd00::2"));
    assert_eq!(cf["dport"], json!(443));
    assert_stream(cf, &c, &[]);
    assert_stream(get(&flows, 1, "s2c"), &s, &[]);
}

#[test]
fn ipv6_hop_by_hop_header() {
    let c = body(100, 25);
    let s = body(1000, 26);
    let mut t = Tcp::v6(100, 200);
    t.handshake();
    t.data(C2S, &c);
    t.data(S2C, &s);
    // Hop-by-hop header before a fragment header (fragments in reverse order).
    fragment_last(&mut t, 512, &[1, 0]);
    t.close();
    for p in &mut t.pkts {
        p.ip = with_hop_by_hop(&p.ip);
    }
    let flows = list_capture("hbh", "c.pcap", &pcap_le(1, &t.frames(&eth())));
    assert_eq!(flows.len(), 2, "{:#?}", lines(&flows));
    let cf = get(&flows, 1, "c2s");
    assert_eq!(cf["src"], json!("fd00::1"));
    assert_stream(cf, &c, &[]);
    assert_eq!(cf["end"], json!("fin"));
    assert_stream(get(&flows, 1, "s2c"), &s, &[]);
}

#[test]
fn vlan_and_qinq_separate_connections() {
    // Same addresses, ports and ISNs; only the tags differ.
    let tags: [(Vec<(u16, u16)>, Value); 3] = [
        (vec![(0x8100, 100)], json!([100])),
        (vec![(0x8100, 101)], json!([101])),
        // QinQ; the outer tag carries priority bits (PCP 5), which are not part of the id
        (
            vec![(0x88a8, 0xa000 | 100), (0x8100, 200)],
            json!([100, 200]),
        ),
    ];
    let mut sets = Vec::new();
    let mut sent = Vec::new();
    for (i, (tag, _)) in tags.iter().enumerate() {
        let mut t = Tcp::v4(1000, 2000);
        t.clock = T0 + 100_000 * i as u64; // interleaved packets
        let (req, resp) = (body(30 + i, 30 + i as u8), body(40 + i, 40 + i as u8));
        simple(&mut t, &req, &resp);
        sets.push(t.frames(&Link::Eth(tag.clone())));
        sent.push((req, resp));
    }
    let flows = list_capture("vlan", "c.pcap", &pcap_le(1, &merge(sets)));
    assert_eq!(flows.len(), 6, "{:#?}", lines(&flows));
    assert_eq!(conn_ids(&flows).len(), 3);
    for ((_, vlan), (req, resp)) in tags.iter().zip(&sent) {
        let c = flows
            .iter()
            .find(|f| f["dir"] == json!("c2s") && &f["vlan"] == vlan)
            .unwrap_or_else(|| panic!("no c2s flow on vlan {vlan}: {:#?}", lines(&flows)));
        assert_stream(c, req, &[]);
        let s = get(&flows, c["conn"].as_u64().unwrap(), "s2c");
        assert_eq!(&s["vlan"], vlan);
        assert_stream(s, resp, &[]);
    }
}

#[test]
fn ethernet_padding_is_not_data() {
    // Frames below the 60-byte Ethernet minimum carry trailing padding that the IP length
    // excludes: pure ACKs (54 bytes) and a 2-byte segment (56 bytes).
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.data(C2S, b"hi");
    t.data(S2C, b"yo");
    t.ack(C2S);
    t.close();
    let mut frames = t.frames(&eth());
    for f in &mut frames {
        while f.data.len() < 60 {
            f.data.push(0);
        }
        f.orig_len = f.data.len() as u32;
    }
    let flows = list_capture("eth_pad", "c.pcap", &pcap_le(1, &frames));
    for (dir, sent) in [("c2s", b"hi"), ("s2c", b"yo")] {
        let f = get(&flows, 1, dir);
        assert_stream(f, sent, &[]);
        assert_clean(f);
        assert_eq!(f["end"], json!("fin"));
    }
}

// ---------------------------------------------------------------------------------------------
// Link types and capture formats

/// One connection over `link`, listed from a µs pcap.
fn link_roundtrip(test: &str, link: Link, v6: bool) {
    let req = body(50, 50);
    let resp = body(80, 51);
    let mut t = if v6 {
        Tcp::v6(100, 200)
    } else {
        Tcp::v4(100, 200)
    };
    simple(&mut t, &req, &resp);
    let flows = list_capture(test, "c.pcap", &pcap_le(link.linktype(), &t.frames(&link)));
    assert_eq!(flows.len(), 2, "{test}: {:#?}", lines(&flows));
    let c = get(&flows, 1, "c2s");
    assert_eq!(c["src"], json!(if v6 { "fd00::1" } else { "10.0.0.1" }));
    assert_eq!(c["vlan"], Value::Null);
    assert_stream(c, &req, &[]);
    assert_eq!(c["end"], json!("fin"));
    assert_stream(get(&flows, 1, "s2c"), &resp, &[]);
}

#[test]
fn linux_sll() {
    link_roundtrip("sll4", Link::Sll, false);
    link_roundtrip("sll6", Link::Sll, true);
}

#[test]
fn linux_sll2() {
    link_roundtrip("sll2_4", Link::Sll2, false);
    link_roundtrip("sll2_6", Link::Sll2, true);
}

#[test]
fn null_little_endian() {
    link_roundtrip("null_le4", Link::Null { be: false, af6: 30 }, false);
    for af6 in [24, 28, 30] {
        link_roundtrip(
            &format!("null_le6_{af6}"),
            Link::Null { be: false, af6 },
            true,
        );
    }
}

#[test]
fn null_big_endian() {
    link_roundtrip("null_be4", Link::Null { be: true, af6: 30 }, false);
    for af6 in [24, 28, 30] {
        link_roundtrip(
            &format!("null_be6_{af6}"),
            Link::Null { be: true, af6 },
            true,
        );
    }
}

#[test]
fn loop_linktype() {
    link_roundtrip("loop4", Link::Loop, false);
    link_roundtrip("loop6", Link::Loop, true);
}

#[test]
fn raw_ip() {
    link_roundtrip("raw4", Link::Raw(101), false);
    link_roundtrip("raw6", Link::Raw(101), true);
    link_roundtrip("ipv4_228", Link::Raw(228), false);
    link_roundtrip("ipv6_229", Link::Raw(229), true);
}

#[test]
fn pcapng_two_interfaces_tsresol_tsoffset() {
    let (ra, sa) = (body(40, 60), body(50, 61));
    let (rb, sb) = (body(45, 62), body(55, 63));
    // Interface 0: Ethernet, default microseconds.
    let mut a = Tcp::v4(100, 200);
    simple(&mut a, &ra, &sa);
    // Interface 1: raw IP, nanoseconds, timestamps relative to an offset.
    let mut b = Tcp::v6(300, 400);
    b.clock = T0 + 500_123;
    simple(&mut b, &rb, &sb);
    let frames = merge(vec![
        frames(&a.pkts, &eth(), 0),
        frames(&b.pkts, &Link::Raw(101), 1),
    ]);
    let ifaces = [
        Iface::new(1),
        Iface {
            tsresol: Some(9),
            tsoffset: Some(1_600_000_000),
            ..Iface::new(101)
        },
    ];
    let flows = list_capture("pcapng2", "c.pcapng", &pcapng(&ifaces, &frames));
    assert_eq!(flows.len(), 4, "{:#?}", lines(&flows));
    let ca = get(&flows, 1, "c2s");
    assert_eq!(ca["src"], json!("10.0.0.1"));
    assert_eq!(ca.raw("first_ts"), "1700000000.000000");
    assert_stream(ca, &ra, &[]);
    assert_stream(get(&flows, 1, "s2c"), &sa, &[]);
    let cb = get(&flows, 2, "c2s");
    assert_eq!(cb["src"], json!("fd00::1"));
    assert_eq!(cb.raw("first_ts"), "1700000000.000500123");
    assert_eq!(cb.raw("last_ts"), ts_str(b.pkts[5].ts)); // its FIN
    assert_stream(cb, &rb, &[]);
    let sb_flow = get(&flows, 2, "s2c");
    assert_eq!(sb_flow.raw("first_ts"), "1700000000.001500123");
    assert_stream(sb_flow, &sb, &[]);
}

#[test]
fn pcapng_simple_packet_block() {
    let (req, resp) = (body(40, 64), body(70, 65));
    let mut t = Tcp::v4(100, 200);
    simple(&mut t, &req, &resp); // 0 SYN 1 SYN/ACK 2 ACK 3 req 4 resp 5 FIN 6 FIN 7 ACK
    let mut frames = t.frames(&eth());
    frames[4].spb = true; // no timestamp: it takes the previous packet's
    let flows = list_capture("spb", "c.pcapng", &pcapng(&[Iface::new(1)], &frames));
    assert_stream(get(&flows, 1, "c2s"), &req, &[]);
    let s = get(&flows, 1, "s2c");
    assert_stream(s, &resp, &[]);
    assert_eq!(s["packets"], json!(3));
    assert_eq!(s.raw("first_ts"), ts_str(t.pkts[1].ts));
}

#[test]
fn big_endian_pcap() {
    let (req, resp) = (body(33, 66), body(44, 67));
    let mut t = Tcp::v4(100, 200);
    simple(&mut t, &req, &resp);
    let cap = pcap(1, &t.frames(&eth()), true, false);
    assert_eq!(&cap[..4], &[0xa1, 0xb2, 0xc3, 0xd4]);
    let flows = list_capture("pcap_be", "c.pcap", &cap);
    let c = get(&flows, 1, "c2s");
    assert_eq!(c.raw("first_ts"), ts_str(t.pkts[0].ts));
    assert_stream(c, &req, &[]);
    assert_stream(get(&flows, 1, "s2c"), &resp, &[]);
}

#[test]
fn nanosecond_pcap() {
    let (req, resp) = (body(33, 68), body(44, 69));
    let mut t = Tcp::v4(100, 200);
    t.clock = T0 + 123_456_789;
    t.step = 1_000_001;
    simple(&mut t, &req, &resp);
    for be in [false, true] {
        let name = if be { "pcap_ns_be" } else { "pcap_ns_le" };
        let flows = list_capture(name, "c.pcap", &pcap(1, &t.frames(&eth()), be, true));
        let c = get(&flows, 1, "c2s");
        assert_eq!(c.raw("first_ts"), "1700000000.123456789");
        assert_eq!(c.raw("last_ts"), ts_str(t.pkts[5].ts));
        assert_eq!(c.raw("last_ts").split('.').nth(1).unwrap().len(), 9);
        assert_stream(c, &req, &[]);
        assert_stream(get(&flows, 1, "s2c"), &resp, &[]);
    }
}

#[test]
fn gzip_compressed() {
    let (req, resp) = (body(333, 70), body(444, 71));
    let mut t = Tcp::v4(100, 200);
    simple(&mut t, &req, &resp);
    let frames = t.frames(&eth());
    for (name, bytes) in [
        ("gzip_pcap", gzip(&pcap_le(1, &frames))),
        ("gzip_pcapng", gzip(&pcapng(&[Iface::new(1)], &frames))),
    ] {
        assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
        let flows = list_capture(name, "c.cap.gz", &bytes);
        assert_eq!(flows.len(), 2, "{name}: {:#?}", lines(&flows));
        assert_stream(get(&flows, 1, "c2s"), &req, &[]);
        assert_stream(get(&flows, 1, "s2c"), &resp, &[]);
    }
}

#[test]
fn stdin_input() {
    let (req, resp) = (body(21, 72), body(34, 73));
    let mut t = Tcp::v4(100, 200);
    simple(&mut t, &req, &resp);
    let frames = t.frames(&eth());
    for cap in [
        pcapng(&[Iface::new(1)], &frames),
        gzip(&pcap_le(1, &frames)),
    ] {
        let flows = parse_list(&sefollow(&["--list", "-q", "-"], Some(&cap)));
        assert_eq!(flows.len(), 2, "{:#?}", lines(&flows));
        assert_stream(get(&flows, 1, "c2s"), &req, &[]);
        assert_stream(get(&flows, 1, "s2c"), &resp, &[]);
    }
}

#[test]
fn directory_ordered_by_first_timestamp() {
    let c = body(60, 74);
    let s = body(40, 75);
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.data(C2S, &c[..30]);
    t.data(S2C, &s[..20]);
    let split = t.pkts.len();
    t.data(C2S, &c[30..]);
    t.data(S2C, &s[20..]);
    t.close();
    let frames = t.frames(&eth());
    let d = tmp("directory");
    // The later half has the earlier name.
    put(&d, "a.pcap", &pcap_le(1, &frames[split..]));
    put(&d, "b.pcap", &pcap_le(1, &frames[..split]));
    let flows = list(&[&d]);
    assert_eq!(flows.len(), 2, "{:#?}", lines(&flows));
    let cf = get(&flows, 1, "c2s");
    assert_eq!(cf["midstream"], json!(false));
    assert_eq!(cf["isn"], json!(100));
    assert_eq!(cf["end"], json!("fin"));
    assert_stream(cf, &c, &[]);
    assert_stream(get(&flows, 1, "s2c"), &s, &[]);
}

// ---------------------------------------------------------------------------------------------
// UDP and the other output modes

#[test]
fn udp_flows() {
    let (q1, q2, q3) = (body(20, 76), body(30, 77), body(10, 78));
    let (r1, r2) = (body(100, 79), body(50, 80));
    let mut u = Udp::new(ep("10.0.0.1", 40001), ep("10.0.0.2", 53));
    u.send(C2S, &q1);
    u.send(S2C, &r1);
    u.send(C2S, &q2);
    u.send(S2C, &r2);
    u.send(C2S, &q3);
    u.send(S2C, b""); // an empty datagram is a packet without bytes
                      // One direction only; the first sender has the lower port.
    let mut v = Udp::new(ep("10.0.0.3", 53), ep("10.0.0.4", 40002));
    v.clock = T0 + 100_000;
    v.send(C2S, b"one");
    v.send(C2S, b"two");
    let frames = merge(vec![frames(&u.pkts, &eth(), 0), frames(&v.pkts, &eth(), 0)]);
    let flows = list_capture("udp", "c.pcap", &pcap_le(1, &frames));
    assert_eq!(flows.len(), 3, "{:#?}", lines(&flows));
    let c = get(&flows, 1, "c2s");
    assert_eq!(c["transport"], json!("udp"));
    assert_eq!(c["src"], json!("10.0.0.1"));
    assert_eq!(c["sport"], json!(40001));
    assert_eq!(c["packets"], json!(3));
    assert_eq!(c.raw("first_ts"), ts_str(u.pkts[0].ts));
    assert_eq!(c.raw("last_ts"), ts_str(u.pkts[4].ts));
    assert_stream(c, &cat(&[&q1, &q2, &q3]), &[]);
    let s = get(&flows, 1, "s2c");
    assert_eq!(s["transport"], json!("udp"));
    assert_eq!(s["src"], json!("10.0.0.2"));
    assert_eq!(s["packets"], json!(3));
    assert_stream(s, &cat(&[&r1, &r2]), &[]);
    let o = get(&flows, 2, "c2s");
    assert_eq!(o["src"], json!("10.0.0.3"));
    assert_eq!(o["sport"], json!(53));
    assert_eq!(o["dport"], json!(40002));
    assert_eq!(o["packets"], json!(2));
    assert_stream(o, b"onetwo", &[]);
}

/// The bytes of `--format hex` lines (offset, up to 16 hex bytes, ASCII column).
fn unhex(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('[')) {
        for tok in line
            .split_whitespace()
            .skip(1)
            .take(16)
            .take_while(|t| t.len() == 2 && t.chars().all(|c| c.is_ascii_hexdigit()))
        {
            out.push(u8::from_str_radix(tok, 16).unwrap());
        }
    }
    out
}

#[test]
fn follow_conn_hex_and_raw() {
    let c = body(48, 81);
    let s = body(20, 82);
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    t.data(C2S, &c[..16]);
    t.lose(C2S, 16);
    t.ack(S2C);
    t.data(C2S, &c[32..]);
    t.data(S2C, &s);
    t.close();
    let d = tmp("follow");
    let cap = put(&d, "c.pcap", &pcap_le(1, &t.frames(&eth())));
    let cap = cap.to_str().unwrap();
    let expected = cat(&[&c[..16], &c[32..], &s]);

    let raw = sefollow(&["--conn", "1", "--format", "raw", cap], None);
    assert_eq!(raw, expected);

    let hex = String::from_utf8(sefollow(&["--conn", "1", "--format", "hex", cap], None)).unwrap();
    let marker = "[16 bytes missing in capture file]";
    assert_eq!(hex.matches(marker).count(), 1, "{hex}");
    let (before, after) = hex.split_once(marker).unwrap();
    assert_eq!(unhex(before), &c[..16], "{hex}");
    assert_eq!(unhex(after), cat(&[&c[32..], &s]), "{hex}");

    let ascii =
        String::from_utf8(sefollow(&["--conn", "1", "--format", "ascii", cap], None)).unwrap();
    // Each chunk after a line naming its sender and side; the gap on a line of its own.
    let lines: Vec<&str> = ascii.lines().collect();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert_eq!(lines.len(), 7, "{ascii}");
    assert!(
        lines[0].starts_with(">>> ") && lines[0].contains("(client, 16 bytes, pkt "),
        "{ascii}"
    );
    assert_eq!(lines[1], text(&c[..16]));
    assert_eq!(lines[2], format!(">>> {marker}"));
    assert!(
        lines[3].starts_with(">>> ") && lines[3].contains("(client, 16 bytes, pkt "),
        "{ascii}"
    );
    assert_eq!(lines[4], text(&c[32..]));
    assert!(
        lines[5].starts_with("<<< ") && lines[5].contains("(server, 20 bytes, pkt "),
        "{ascii}"
    );
    assert_eq!(lines[6], text(&s));
}

#[test]
fn write_dir_files_equal_sent_bytes() {
    let req = body(5000, 83);
    let resp = body(7000, 84);
    let mut t = Tcp::v4(100, 200);
    t.handshake();
    for part in req.chunks(1000) {
        t.data(C2S, part);
    }
    for part in resp.chunks(1400) {
        t.data(S2C, part);
    }
    t.close();
    let mut u = Udp::new(ep("10.0.0.5", 40003), ep("10.0.0.6", 5000));
    u.clock = t.clock;
    u.send(C2S, b"ping");
    u.send(S2C, b"pong");
    u.send(C2S, b"ping2");
    let frames = merge(vec![t.frames(&eth()), frames(&u.pkts, &eth(), 0)]);
    let d = tmp("write");
    let cap = put(&d, "c.pcap", &pcap_le(1, &frames));
    let out = d.join("out");
    sefollow(
        &["-q", "-w", out.to_str().unwrap(), cap.to_str().unwrap()],
        None,
    );
    let file = |prefix: &str| {
        let names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let hits: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with(prefix) && n.ends_with(".bin"))
            .collect();
        assert_eq!(hits.len(), 1, "{prefix} in {names:?}");
        std::fs::read(out.join(hits[0])).unwrap()
    };
    assert_eq!(file("conn000001-tcp-c2s-"), req);
    assert_eq!(file("conn000001-tcp-s2c-"), resp);
    assert_eq!(file("conn000002-udp-c2s-"), b"pingping2");
    assert_eq!(file("conn000002-udp-s2c-"), b"pong");
    let index = std::fs::read(out.join("index.jsonl")).unwrap();
    let flows = parse_list(&index);
    assert_eq!(flows.len(), 4, "{:#?}", lines(&flows));
    assert_stream(get(&flows, 1, "c2s"), &req, &[]);
    assert_stream(get(&flows, 1, "s2c"), &resp, &[]);
    assert_stream(get(&flows, 2, "c2s"), b"pingping2", &[]);
    assert_stream(get(&flows, 2, "s2c"), b"pong", &[]);
}

/// Many open connections and capture times that alternate between two seconds: idle
/// connections still time out at the same capture time, in id order. (Expiry looks only at
/// connections that are due; the speed is measured in docs/BENCHMARKS.md with
/// bench/gen_many_open.py, not here: before that change this test ran for minutes.)
#[test]
fn alternating_timestamps_with_many_open_connections() {
    let n = 20_000u32;
    let mut pkts = Vec::new();
    for i in 0..n {
        let client = ep(&format!("10.1.{}.{}", i >> 8, i & 0xff), 40000);
        let mut t = Tcp::new(client, ep("10.0.0.2", 80), i, i.wrapping_mul(7));
        t.handshake();
        t.data(C2S, b"req");
        for (k, p) in t.pkts.iter_mut().enumerate() {
            // alternating seconds, whatever the connection
            p.ts = T0 + ((pkts.len() + k) as u64 % 2) * NS + (pkts.len() + k) as u64 * 1000;
        }
        pkts.extend(t.pkts);
    }
    // One packet 400 s later: every connection has been idle for more than 300 s.
    let mut late = Tcp::new(ep("10.9.9.9", 40000), ep("10.0.0.2", 80), 1, 2);
    late.clock = T0 + 400 * NS;
    late.syn();
    pkts.extend(late.pkts);
    let flows = list_capture(
        "alternating",
        "c.pcap",
        &pcap_le(1, &frames(&pkts, &eth(), 0)),
    );
    assert_eq!(flows.len(), 2 * n as usize + 2);
    let timeouts = flows
        .iter()
        .filter(|f| f["end"] == json!("timeout"))
        .count();
    assert_eq!(timeouts, 2 * n as usize);
    // Timed-out connections close in id order, at the late packet.
    let ids: Vec<u64> = flows.iter().map(|f| f["conn"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] <= w[1]));
}
