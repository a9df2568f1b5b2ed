//! Robustness against malformed input.
//!
//! Each `sefollow` case builds its fixture in its own directory under `CARGO_TARGET_TMPDIR`,
//! runs the binary, and checks three things: no panic, exactly one clear message per problem
//! (naming the file and, for format problems, the byte offset), and the exit code.
//! The last tests feed thousands of mutated captures through the library in-process.

use etherparse::PacketBuilder;
use sekit::capture::{CaptureError, CaptureReader, ReaderConfig};
use sekit::net::Slicer;
use sekit::reassembly::{Config, ConnInfo, Ctx, Dir, DirStats, Reassembler, Sink, StreamEvent};
use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const CLIENT: [u8; 4] = [192, 168, 7, 10];
const SERVER: [u8; 4] = [192, 168, 7, 20];
const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 10];
const SERVER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 20];
/// Modbus/TCP, as good a server port as any for this toolkit.
const SERVER_PORT: u16 = 502;

const SYN: u8 = 1;
const ACK: u8 = 2;
const FIN: u8 = 4;
const PSH: u8 = 8;

/// One Ethernet/IPv4/TCP frame between CLIENT:`cport` and SERVER:502.
fn tcp_frame(cport: u16, from_client: bool, seq: u32, ack: u32, flags: u8, data: &[u8]) -> Vec<u8> {
    let (smac, dmac, sip, dip, sp, dp) = if from_client {
        (CLIENT_MAC, SERVER_MAC, CLIENT, SERVER, cport, SERVER_PORT)
    } else {
        (SERVER_MAC, CLIENT_MAC, SERVER, CLIENT, SERVER_PORT, cport)
    };
    let mut b = PacketBuilder::ethernet2(smac, dmac)
        .ipv4(sip, dip, 64)
        .tcp(sp, dp, seq, 64240);
    if flags & SYN != 0 {
        b = b.syn();
    }
    if flags & ACK != 0 {
        b = b.ack(ack);
    }
    if flags & FIN != 0 {
        b = b.fin();
    }
    if flags & PSH != 0 {
        b = b.psh();
    }
    let mut out = Vec::with_capacity(b.size(data.len()));
    b.write(&mut out, data).expect("building a TCP frame");
    out
}

/// A complete little TCP connection from client port `cport`: handshake, a request of 5 bytes,
/// a response of 6 bytes, and the FIN exchange.
fn conversation(cport: u16) -> Vec<Vec<u8>> {
    let (c, s) = (1000u32, 5000u32);
    vec![
        tcp_frame(cport, true, c, 0, SYN, b""),
        tcp_frame(cport, false, s, c + 1, SYN | ACK, b""),
        tcp_frame(cport, true, c + 1, s + 1, ACK, b""),
        tcp_frame(cport, true, c + 1, s + 1, PSH | ACK, b"hello"),
        tcp_frame(cport, false, s + 1, c + 6, PSH | ACK, b"world!"),
        tcp_frame(cport, true, c + 6, s + 7, FIN | ACK, b""),
        tcp_frame(cport, false, s + 7, c + 7, FIN | ACK, b""),
        tcp_frame(cport, true, c + 7, s + 8, ACK, b""),
    ]
}

/// A few other shapes for the mutation loop: UDP, VLAN, IPv6.
fn extra_frames() -> Vec<Vec<u8>> {
    let mut udp = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC)
        .single_vlan(etherparse::VlanId::try_new(7).expect("vlan id"))
        .ipv4(CLIENT, SERVER, 64)
        .udp(20000, 2404)
        .write(&mut udp, b"iec-104-ish datagram")
        .expect("udp frame");
    let mut v6 = Vec::new();
    let (a, b) = ([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], {
        let mut x = [0u8; 16];
        x[..4].copy_from_slice(&[0x20, 1, 0xd, 0xb8]);
        x[15] = 2;
        x
    });
    PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC)
        .ipv6(a, b, 64)
        .tcp(40000, 20000, 77, 1024)
        .ack(9)
        .psh()
        .write(&mut v6, b"dnp3 over v6")
        .expect("ipv6 frame");
    vec![udp, v6]
}

const TS0: u32 = 1_700_000_000;

fn pcap_header(linktype: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(24);
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&0i32.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&65535u32.to_le_bytes());
    h.extend_from_slice(&linktype.to_le_bytes());
    h
}

fn pcap_record(i: u32, data: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(16 + data.len());
    r.extend_from_slice(&(TS0 + i).to_le_bytes());
    r.extend_from_slice(&(i * 1000).to_le_bytes());
    r.extend_from_slice(&(data.len() as u32).to_le_bytes());
    r.extend_from_slice(&(data.len() as u32).to_le_bytes());
    r.extend_from_slice(data);
    r
}

/// An Ethernet pcap of `frames`, and the offset of each record.
fn pcap(frames: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    let mut out = pcap_header(1);
    let mut offsets = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(&pcap_record(i as u32, f));
    }
    (out, offsets)
}

/// A pcapng block with a correct (padded) length.
fn ng_block(ty: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let len = (12 + padded) as u32;
    let mut b = Vec::with_capacity(len as usize);
    b.extend_from_slice(&ty.to_le_bytes());
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(body);
    b.resize(8 + padded, 0);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

fn ng_shb() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(-1i64).to_le_bytes());
    ng_block(0x0a0d_0d0a, &body)
}

fn ng_idb(linktype: u16) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&linktype.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    ng_block(1, &body)
}

fn epb_body(if_id: u32, i: u32, data: &[u8]) -> Vec<u8> {
    let ts = (u64::from(TS0) + u64::from(i)) * 1_000_000;
    let mut body = Vec::new();
    body.extend_from_slice(&if_id.to_le_bytes());
    body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ts as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    body
}

fn ng_epb(if_id: u32, i: u32, data: &[u8]) -> Vec<u8> {
    ng_block(6, &epb_body(if_id, i, data))
}

/// SHB, one Ethernet IDB and one EPB per frame on interface 0; the offset of each EPB.
fn pcapng(frames: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    let mut out = ng_shb();
    out.extend_from_slice(&ng_idb(1));
    let mut offsets = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(&ng_epb(0, i as u32, f));
    }
    (out, offsets)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A fresh, empty directory for one test.
fn test_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("malformed_input")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("creating test dir");
    d
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("writing fixture");
    p.to_string_lossy().into_owned()
}

// ---------------------------------------------------------------------------------------------
// Running sefollow
// ---------------------------------------------------------------------------------------------

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Warning and error lines (everything on stderr but the summary).
    fn problems(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("sefollow: warning:") || l.starts_with("sefollow: error:"))
            .collect()
    }

    /// Flow records whose client port is `cport`.
    fn flows_of(&self, cport: u16) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
            .filter(|v| v["sport"] == cport || v["dport"] == cport)
            .collect()
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn sefollow(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_sefollow"))
        .arg("--list")
        .args(args)
        .output()
        .expect("running sefollow");
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_ne!(r.code, 101, "sefollow panicked: {r:?}");
    assert_ne!(r.code, -1, "sefollow killed by a signal: {r:?}");
    assert!(!r.stderr.contains("panicked"), "sefollow panicked: {r:?}");
    r
}

/// Exactly one problem line names `file`; it gives `offset` (when `Some`) and contains `reason`.
fn assert_one_message(r: &Run, file: &str, offset: Option<u64>, reason: &str) {
    let lines: Vec<&str> = r
        .problems()
        .into_iter()
        .filter(|l| l.contains(file))
        .collect();
    assert_eq!(lines.len(), 1, "expected one message naming {file}: {r:?}");
    let line = lines[0];
    assert_eq!(
        line.matches(file).count(),
        1,
        "file named more than once: {r:?}"
    );
    if let Some(off) = offset {
        assert!(
            line.contains(&format!("{file}: offset {off}: ")),
            "message should give offset {off} right after the file name: {r:?}"
        );
    }
    // The reason is what follows the file name (which may itself contain any word).
    let after = &line[line.find(file).expect("named") + file.len()..];
    assert!(
        after.contains(reason),
        "message should say {reason:?}: {r:?}"
    );
}

/// The connection from client port `cport` is listed, both directions.
fn assert_listed(r: &Run, cport: u16) {
    let flows = r.flows_of(cport);
    assert_eq!(
        flows.len(),
        2,
        "connection from port {cport} should be listed once per direction: {r:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Single bad files
// ---------------------------------------------------------------------------------------------

#[test]
fn garbage_file() {
    let d = test_dir("garbage_file");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut bytes = rng.bytes(4096);
    // Keep the first byte off every magic number (pcap, pcapng, gzip).
    bytes[0] = 0x5a;
    let f = write(&d, "garbage.bin", &bytes);
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(&r, &f, Some(0), "not a pcap or pcapng file");
    assert!(r.stdout.is_empty(), "{r:?}");
}

#[test]
fn wrong_magic_text_file() {
    let d = test_dir("wrong_magic_text_file");
    let f = write(
        &d,
        "capture.pcap",
        b"GET /api/v1/meter HTTP/1.1\r\nHost: plant\r\n\r\nnot a capture at all\n",
    );
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(&r, &f, Some(0), "not a pcap or pcapng file");
}

#[test]
fn truncated_pcap_global_header() {
    let d = test_dir("truncated_pcap_global_header");
    let (full, _) = pcap(&conversation(40001));
    let f = write(&d, "short.pcap", &full[..10]);
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(&r, &f, Some(0), "truncated pcap header: 10 of 24 bytes");
}

#[test]
fn truncated_pcapng_section_header() {
    let d = test_dir("truncated_pcapng_section_header");
    let (full, _) = pcapng(&conversation(40002));
    let f = write(&d, "short.pcapng", &full[..16]);
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(&r, &f, Some(0), "truncated pcapng section header");
}

/// A section header with an option (shb_userappl); `cut` bytes of it.
fn shb_with_option(cut: usize) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(-1i64).to_le_bytes());
    let app = b"sekit robustness test writer";
    body.extend_from_slice(&4u16.to_le_bytes());
    body.extend_from_slice(&(app.len() as u16).to_le_bytes());
    body.extend_from_slice(app);
    body.resize(body.len().div_ceil(4) * 4, 0);
    body.extend_from_slice(&[0, 0, 0, 0]);
    let shb = ng_block(0x0a0d_0d0a, &body);
    assert!(cut < shb.len());
    shb[..cut].to_vec()
}

/// A section header long enough to be detected (≥ 28 bytes) but cut inside its options.
#[test]
fn truncated_pcapng_section_header_options() {
    let d = test_dir("truncated_pcapng_section_header_options");
    let f = write(&d, "short.pcapng", &shb_with_option(40));
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(
        &r,
        &f,
        Some(0),
        "truncated pcapng section header: 40 of 64 bytes",
    );
}

#[test]
fn empty_file() {
    let d = test_dir("empty_file");
    let f = write(&d, "empty.pcap", b"");
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(&r, &f, Some(0), "empty file");
}

/// A pcap with one good packet, then a record header claiming 0x7fffffff bytes.
fn absurd_length_pcap(cport: u16) -> (Vec<u8>, u64) {
    let good = tcp_frame(cport, true, 1001, 5001, PSH | ACK, b"hello");
    let (mut bytes, _) = pcap(std::slice::from_ref(&good));
    let bad_at = bytes.len();
    assert_eq!(bad_at, 24 + 16 + good.len());
    let mut rec = pcap_record(1, &good);
    rec[8..12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    bytes.extend_from_slice(&rec);
    (bytes, bad_at as u64)
}

#[test]
fn pcap_absurd_record_length_after_good_packet() {
    let d = test_dir("pcap_absurd_record_length");
    let (bytes, bad_at) = absurd_length_pcap(40003);
    let f = write(&d, "absurd.pcap", &bytes);
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(
        &r,
        &f,
        Some(bad_at),
        "record longer than the 67108864-byte cap",
    );
    assert_listed(&r, 40003);
}

/// Same through the library with a small cap: the error names the record's offset.
#[test]
fn reader_absurd_record_length_names_offset() {
    let good = tcp_frame(40004, true, 1001, 5001, PSH | ACK, b"hello");
    let (mut bytes, _) = pcap(std::slice::from_ref(&good));
    let bad_at = bytes.len() as u64;
    let mut rec = pcap_record(1, &good);
    rec[8..12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    bytes.extend_from_slice(&rec);
    // Enough bytes after the header that the record cannot be mistaken for a cut-off tail.
    bytes.resize(bytes.len() + 300_000, 0xee);
    let cfg = ReaderConfig {
        buffer: 4096,
        max_record: 4096,
    };
    let mut r = CaptureReader::from_read("absurd.pcap", Box::new(Cursor::new(bytes)), &cfg)
        .expect("header is fine");
    assert!(matches!(r.next_packet(), Ok(Some(_))));
    let e = match r.next_packet() {
        Err(e) => e,
        Ok(p) => panic!("expected an error, got {:?}", p.map(|p| p.index)),
    };
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("absurd.pcap: offset {bad_at}: record longer than")),
        "{msg}"
    );
    assert!(matches!(e, CaptureError::Format { offset, .. } if offset == bad_at));
    assert!(matches!(r.next_packet(), Ok(None)), "reader is finished");
    assert_eq!(r.truncated_tail(), None);
}

#[test]
fn pcap_last_record_truncated() {
    let d = test_dir("pcap_last_record_truncated");
    let frames = conversation(40005);
    let (mut bytes, offsets) = pcap(&frames);
    bytes.truncate(bytes.len() - 7);
    let last = *offsets.last().expect("records");
    let present = bytes.len() - last;
    let f = write(&d, "cut.pcap", &bytes);
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(
        &r,
        &f,
        Some(last as u64),
        &format!("capture ends inside a record ({present} bytes of it present)"),
    );
    assert_listed(&r, 40005);
    // Both data segments came before the cut.
    let bytes_total: u64 = r
        .flows_of(40005)
        .iter()
        .map(|v| v["bytes"].as_u64().expect("bytes"))
        .sum();
    assert_eq!(bytes_total, 11, "{r:?}");
}

#[test]
fn pcapng_epb_undeclared_interface() {
    let d = test_dir("pcapng_epb_undeclared_interface");
    let frames = conversation(40006);
    let (mut bytes, _) = pcapng(&frames[..5]);
    let bad_at = bytes.len();
    bytes.extend_from_slice(&ng_epb(3, 5, &frames[5]));
    bytes.extend_from_slice(&ng_epb(0, 6, &frames[6]));
    let f = write(&d, "undeclared.pcapng", &bytes);
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(
        &r,
        &f,
        Some(bad_at as u64),
        "packet for undeclared interface 3",
    );
    assert_listed(&r, 40006);
}

/// The only packet of the only input cannot be read: nothing at all was read, which
/// `RunReport::files_failed` ("could not be opened or read at all") and exit code 2 describe.
#[test]
fn pcapng_only_packet_on_undeclared_interface_exits_2() {
    let d = test_dir("pcapng_only_packet_undeclared");
    let frames = conversation(40007);
    let mut bytes = ng_shb();
    bytes.extend_from_slice(&ng_idb(1));
    let bad_at = bytes.len();
    bytes.extend_from_slice(&ng_epb(1, 0, &frames[0]));
    let f = write(&d, "undeclared.pcapng", &bytes);
    let r = sefollow(&[&f]);
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(
        &r,
        &f,
        Some(bad_at as u64),
        "packet for undeclared interface 1",
    );
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn pcapng_block_length_below_12() {
    let d = test_dir("pcapng_block_length_below_12");
    let frames = conversation(40008);
    let (mut bytes, _) = pcapng(&frames[..5]);
    let bad_at = bytes.len();
    let mut bad = ng_epb(0, 5, &frames[5]);
    bad[4..8].copy_from_slice(&8u32.to_le_bytes());
    bytes.extend_from_slice(&bad);
    let f = write(&d, "short_block.pcapng", &bytes);
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(&r, &f, Some(bad_at as u64), "");
    assert_listed(&r, 40008);
}

/// The reason says what is wrong with the block, as for every other bad length.
#[test]
fn pcapng_block_length_below_12_reason() {
    let d = test_dir("pcapng_block_length_below_12_reason");
    let frames = conversation(40018);
    let (mut bytes, _) = pcapng(&frames[..5]);
    let bad_at = bytes.len();
    let mut bad = ng_epb(0, 5, &frames[5]);
    bad[4..8].copy_from_slice(&8u32.to_le_bytes());
    bytes.extend_from_slice(&bad);
    let f = write(&d, "short_block.pcapng", &bytes);
    let r = sefollow(&[&f]);
    assert_one_message(&r, &f, Some(bad_at as u64), "block length 8 invalid");
}

/// A Process Information Block (type 0x80000001) with length 8: pcap-parser 0.17.0 checks the
/// length against that block's 4-byte minimum, then computes `block_len1 - 12` (an overflow
/// panic in debug builds); the reader rejects the length before pcap-parser sees the block.
#[test]
fn pcapng_process_information_block_length_below_12() {
    let d = test_dir("pcapng_pib_length_below_12");
    let frames = conversation(40017);
    let (mut bytes, _) = pcapng(&frames[..5]);
    let bad_at = bytes.len();
    bytes.extend_from_slice(&0x8000_0001u32.to_le_bytes());
    bytes.extend_from_slice(&8u32.to_le_bytes());
    bytes.extend_from_slice(&ng_epb(0, 5, &frames[5]));
    let f = write(&d, "pib.pcapng", &bytes);
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(&r, &f, Some(bad_at as u64), "block length 8 invalid");
    assert_listed(&r, 40017);
}

#[test]
fn pcapng_block_length_not_multiple_of_4() {
    let d = test_dir("pcapng_block_length_not_multiple_of_4");
    let frames = conversation(40009);
    let (mut bytes, _) = pcapng(&frames[..5]);
    let bad_at = bytes.len();
    // An EPB written without padding: its length (and the next block's position) is odd.
    let body = epb_body(0, 5, &frames[5]);
    assert_ne!(body.len() % 4, 0, "fixture must need padding");
    let len = (12 + body.len()) as u32;
    bytes.extend_from_slice(&6u32.to_le_bytes());
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(&body);
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(&ng_epb(0, 6, &frames[6]));
    let f = write(&d, "odd_block.pcapng", &bytes);
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(
        &r,
        &f,
        Some(bad_at as u64),
        &format!("block length {len} invalid"),
    );
    assert_listed(&r, 40009);
}

/// An EPB whose length is not a multiple of 4, followed by plenty of valid blocks: the file is
/// not cut short, the block is malformed.
#[test]
fn pcapng_block_length_not_multiple_of_4_mid_file() {
    let d = test_dir("pcapng_block_length_not_multiple_of_4_mid_file");
    let frames = conversation(40016);
    let (mut bytes, _) = pcapng(&frames[..5]);
    let bad_at = bytes.len();
    let body = epb_body(0, 5, &frames[5]);
    let len = (12 + body.len()) as u32;
    bytes.extend_from_slice(&6u32.to_le_bytes());
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(&body);
    bytes.extend_from_slice(&len.to_le_bytes());
    for i in 0..3000u32 {
        bytes.extend_from_slice(&ng_epb(0, 6 + i, &frames[7]));
    }
    let f = write(&d, "odd_block.pcapng", &bytes);
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(
        &r,
        &f,
        Some(bad_at as u64),
        &format!("block length {len} invalid"),
    );
}

// ---------------------------------------------------------------------------------------------
// Several inputs
// ---------------------------------------------------------------------------------------------

#[test]
fn directory_with_valid_capture_readme_and_garbage_pcap() {
    let d = test_dir("dir_mixed");
    let (good, _) = pcap(&conversation(40010));
    write(&d, "good.pcap", &good);
    write(
        &d,
        "README.txt",
        b"Captures from substation 7, taken 2024-03-01.\n",
    );
    let mut rng = Rng(42);
    let mut garbage = rng.bytes(2000);
    garbage[0] = 0x33;
    write(&d, "garbage.pcap", &garbage);
    let dir = d.to_string_lossy().into_owned();
    let r = sefollow(&[&dir]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.problems().len(), 2, "{r:?}");
    assert_one_message(&r, &format!("{dir}/README.txt"), Some(0), "skipped");
    assert_one_message(&r, &format!("{dir}/garbage.pcap"), Some(0), "skipped");
    assert!(
        !r.problems().iter().any(|l| l.contains("good.pcap")),
        "{r:?}"
    );
    assert_listed(&r, 40010);
}

#[test]
fn directory_with_only_non_capture_files() {
    let d = test_dir("dir_no_captures");
    write(&d, "README.txt", b"nothing to see here\n");
    write(&d, "notes.md", b"# notes\n\n- none\n");
    write(&d, "empty.dat", b"");
    let dir = d.to_string_lossy().into_owned();
    let r = sefollow(&[&dir]);
    assert_eq!(r.code, 2, "{r:?}");
    for name in ["README.txt", "notes.md", "empty.dat"] {
        assert_one_message(&r, &format!("{dir}/{name}"), Some(0), "skipped");
    }
    let errors: Vec<&str> = r
        .problems()
        .into_iter()
        .filter(|l| l.starts_with("sefollow: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{r:?}");
    assert!(
        errors[0].contains("no readable capture among the inputs"),
        "{r:?}"
    );
    assert_eq!(r.problems().len(), 4, "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
}

#[test]
fn nonexistent_path_next_to_valid_file() {
    let d = test_dir("nonexistent_next_to_valid");
    let (good, _) = pcap(&conversation(40011));
    let f = write(&d, "good.pcap", &good);
    let missing = d.join("missing.pcap").to_string_lossy().into_owned();
    let r = sefollow(&[&missing, &f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(&r, &missing, None, "No such file");
    assert_listed(&r, 40011);
}

// ---------------------------------------------------------------------------------------------
// gzip
// ---------------------------------------------------------------------------------------------

#[test]
fn gzip_truncated_small() {
    let d = test_dir("gzip_truncated_small");
    let (plain, _) = pcap(&conversation(40012));
    let gz = gzip(&plain);
    let f = write(&d, "cut.pcap.gz", &gz[..gz.len() / 2]);
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    // The header decompresses; the cut comes before the first complete record.
    assert_one_message(&r, &f, Some(24), "read error: incomplete deflate stream");
}

#[test]
fn gzip_corrupt_deflate_data() {
    let d = test_dir("gzip_corrupt");
    let (plain, _) = pcap(&conversation(40013));
    let mut gz = gzip(&plain);
    // Keep the 10-byte gzip header, scramble the deflate stream.
    let mut rng = Rng(7);
    for b in &mut gz[10..] {
        *b = rng.next() as u8;
    }
    let f = write(&d, "corrupt.pcap.gz", &gz);
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(&r, &f, Some(0), "gzip");
}

#[test]
fn gzip_wrong_crc() {
    let d = test_dir("gzip_wrong_crc");
    let (plain, _) = pcap(&conversation(40014));
    let mut gz = gzip(&plain);
    let n = gz.len();
    gz[n - 8] ^= 0xff; // CRC32 of the trailer
    let f = write(&d, "crc.pcap.gz", &gz);
    let r = sefollow(&[&f]);
    // The data decompresses; the checksum is found wrong at its end, after the packets.
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(&r, &f, Some(plain.len() as u64), "checksum");
    assert_listed(&r, 40014);
}

/// A stored (level 0) gzip of a ~225 KiB pcap, cut at three quarters: the cut is at a known
/// decompressed spot well past the 64 KiB detection prefix.
fn gzip_cut_large() -> Vec<u8> {
    let mut frames = Vec::new();
    for i in 0..400u16 {
        frames.extend(conversation(41000 + i));
    }
    let (plain, _) = pcap(&frames);
    assert!(plain.len() > 150_000);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    e.write_all(&plain).expect("gzip");
    let gz = e.finish().expect("gzip");
    gz[..gz.len() * 3 / 4].to_vec()
}

/// The packets before the cut are processed and the problem is reported once with its
/// (decompressed) offset.
#[test]
fn gzip_truncated_large() {
    let d = test_dir("gzip_truncated_large");
    let f = write(&d, "cut.pcap.gz", &gzip_cut_large());
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(&r, &f, None, "read error: incomplete deflate stream");
    assert!(r.problems()[0].contains(&format!("{f}: offset ")), "{r:?}");
    // Connections well before the cut are complete; the last ones are past it.
    assert_listed(&r, 41000);
    assert_listed(&r, 41100);
    assert!(r.flows_of(41399).is_empty(), "{r:?}");
}

/// A gzip capture cut inside the first 64 KiB of decompressed data (the detection prefix): the
/// packets before the cut are still processed, then the cut is reported once with its offset.
#[test]
fn gzip_truncated_within_detection_prefix() {
    let d = test_dir("gzip_truncated_prefix");
    let mut frames = Vec::new();
    for i in 0..100u16 {
        frames.extend(conversation(42000 + i));
    }
    let (plain, _) = pcap(&frames);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    e.write_all(&plain).expect("gzip");
    let gz = e.finish().expect("gzip");
    // Stored blocks: the cut falls at about 30 KiB of decompressed data.
    let f = write(&d, "cut.pcap.gz", &gz[..30_000]);
    let r = sefollow(&[&f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.problems().len(), 1, "{r:?}");
    assert_one_message(&r, &f, None, "read error");
    assert!(r.problems()[0].contains(&format!("{f}: offset ")), "{r:?}");
    assert_listed(&r, 42000);
    assert_listed(&r, 42020);
    assert!(r.flows_of(42099).is_empty(), "{r:?}");
}

// ---------------------------------------------------------------------------------------------
// In-process mutation loop
// ---------------------------------------------------------------------------------------------

/// Checks the stream events it receives for consistency and counts them.
#[derive(Default)]
struct CheckingSink {
    events: u64,
    /// conn id → (next offset per direction, closed)
    conns: HashMap<u64, ([u64; 2], bool)>,
    violations: Vec<String>,
}

impl CheckingSink {
    fn advance(&mut self, conn: &ConnInfo, dir: Dir, offset: u64, len: u64, what: &str) {
        let Some((next, closed)) = self.conns.get_mut(&conn.id) else {
            self.violations
                .push(format!("{what} for conn {} before Open", conn.id));
            return;
        };
        if *closed {
            self.violations
                .push(format!("{what} for conn {} after Close", conn.id));
        }
        let n = &mut next[dir.index()];
        if offset != *n {
            self.violations.push(format!(
                "{what} for conn {} {:?} at offset {offset}, expected {}",
                conn.id, dir, *n
            ));
        }
        *n = offset + len;
    }

    fn close(&mut self, conn: &ConnInfo, stats: &[DirStats; 2]) {
        match self.conns.get_mut(&conn.id) {
            None => self
                .violations
                .push(format!("Close for conn {} before Open", conn.id)),
            Some((_, true)) => self
                .violations
                .push(format!("conn {} closed twice", conn.id)),
            Some((next, closed)) => {
                *closed = true;
                for d in [Dir::C2S, Dir::S2C] {
                    let st = &stats[d.index()];
                    let gaps: u64 = st.gaps.iter().map(|g| g.1).sum();
                    if st.bytes + gaps != next[d.index()] {
                        self.violations.push(format!(
                            "conn {} {:?}: stats say {} bytes + {} gap bytes, events covered {}",
                            conn.id,
                            d,
                            st.bytes,
                            gaps,
                            next[d.index()]
                        ));
                    }
                }
            }
        }
    }
}

impl Sink for CheckingSink {
    fn event(&mut self, _ctx: &Ctx<'_>, ev: StreamEvent<'_>) {
        self.events += 1;
        match ev {
            StreamEvent::Open { conn } => {
                if self.conns.insert(conn.id, ([0, 0], false)).is_some() {
                    self.violations
                        .push(format!("conn id {} opened twice", conn.id));
                }
            }
            StreamEvent::Data {
                conn,
                dir,
                offset,
                bytes,
            } => {
                if bytes.is_empty() {
                    self.violations
                        .push(format!("empty Data for conn {}", conn.id));
                }
                self.advance(conn, dir, offset, bytes.len() as u64, "Data");
            }
            StreamEvent::Gap {
                conn,
                dir,
                offset,
                len,
            } => {
                if len == 0 {
                    self.violations
                        .push(format!("empty Gap for conn {}", conn.id));
                }
                self.advance(conn, dir, offset, len, "Gap");
            }
            StreamEvent::Conflict { .. } => {}
            StreamEvent::Close { conn, stats } => self.close(conn, stats),
        }
    }
}

/// Supported link types and a few that are not.
const LINKTYPES: [u32; 12] = [1, 0, 108, 101, 12, 14, 228, 229, 113, 276, 147, 0xffff_ffff];

/// Outcome of one mutated capture.
#[derive(Debug, Default)]
struct Outcome {
    opened: bool,
    packets: u64,
    error: bool,
    events: u64,
}

/// Reads `bytes` as a capture named `name`, slicing and reassembling every packet; also slices
/// every packet under each link type. Returns an error text for any broken contract.
fn drive(name: &str, bytes: Vec<u8>, cfg: &ReaderConfig) -> Result<Outcome, String> {
    let total = bytes.len() as u64;
    let mut out = Outcome::default();
    let mut r = match CaptureReader::from_read(name, Box::new(Cursor::new(bytes)), cfg) {
        Ok(r) => r,
        Err(e) => {
            check_error(name, &e, Some(total))?;
            return Ok(out);
        }
    };
    out.opened = true;
    // Offsets count decompressed bytes: only a plain stream bounds them by the input size.
    let limit = (!r.compressed()).then_some(total);
    let mut slicer = Slicer::default();
    let mut other = Slicer::default();
    let mut engine = Reassembler::new(Config {
        ooo_per_dir: 4096,
        ooo_global: 16384,
        history: 64,
        ..Config::default()
    });
    let mut sink = CheckingSink::default();
    let mut last = (sekit::capture::Timestamp::default(), 0u64);
    loop {
        match r.next_packet() {
            Ok(Some(pkt)) => {
                out.packets += 1;
                if pkt.index != out.packets {
                    return Err(format!("packet {} numbered {}", out.packets, pkt.index));
                }
                if out.packets > total {
                    return Err("more packets than bytes: reader does not advance".into());
                }
                for lt in LINKTYPES {
                    let mut p = pkt;
                    p.linktype = lt;
                    let _ = other.slice(&p);
                }
                let ctx = Ctx {
                    ts: pkt.ts,
                    file: pkt.file,
                    pkt: pkt.index,
                };
                last = (pkt.ts, pkt.index);
                if let Ok(seg) = slicer.slice(&pkt) {
                    engine.process(&seg, &ctx, &mut sink);
                }
            }
            Ok(None) => break,
            Err(e) => {
                out.error = true;
                check_error(name, &e, limit)?;
                match r.next_packet() {
                    Ok(None) => {}
                    _ => return Err("reader not finished after an error".into()),
                }
                break;
            }
        }
    }
    if let Some((off, n)) = r.truncated_tail() {
        if out.error {
            return Err("both an error and a truncated tail".into());
        }
        if n == 0 || limit.is_some_and(|t| off + n as u64 != t) {
            return Err(format!(
                "truncated tail at {off} with {n} bytes in a {total}-byte file"
            ));
        }
    }
    let ctx = Ctx {
        ts: last.0,
        file: name,
        pkt: last.1,
    };
    engine.finish(&ctx, &mut sink);
    let open: Vec<u64> = sink
        .conns
        .iter()
        .filter(|(_, (_, closed))| !closed)
        .map(|(id, _)| *id)
        .collect();
    if !open.is_empty() {
        return Err(format!("connections never closed: {open:?}"));
    }
    if !sink.violations.is_empty() {
        return Err(format!("stream event violations: {:?}", sink.violations));
    }
    out.events = sink.events;
    Ok(out)
}

fn check_error(name: &str, e: &CaptureError, limit: Option<u64>) -> Result<(), String> {
    let msg = e.to_string();
    match e {
        CaptureError::Format { file, offset, .. } => {
            if file != name || !msg.starts_with(&format!("{name}: offset {offset}: ")) {
                return Err(format!("error does not name file and offset: {msg}"));
            }
            if limit.is_some_and(|t| *offset > t) {
                return Err(format!("offset beyond the end of the file: {msg}"));
            }
            if msg.lines().count() != 1 {
                return Err(format!("multi-line error message: {msg:?}"));
            }
        }
        CaptureError::Incomplete { file, .. } => {
            if file != name
                || !msg.starts_with(&format!("{name}: offset 0: "))
                || msg.lines().count() != 1
            {
                return Err(format!(
                    "error does not name file and offset in one line: {msg}"
                ));
            }
        }
        CaptureError::Io { .. } => {
            if !msg.starts_with(&format!("{name}: ")) {
                return Err(format!("error does not name the file: {msg}"));
            }
        }
    }
    Ok(())
}

const INTERESTING: [u32; 12] = [
    0,
    1,
    3,
    11,
    12,
    15,
    16,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0xffff_fffc,
    0xffff_ffff,
];

/// One to four random mutations: bit flips, byte writes, truncation, a length or other u32
/// field (at a record/block start) set to an interesting value, chunk insertion or removal.
fn mutate(rng: &mut Rng, base: &[u8], fields: &[usize]) -> Vec<u8> {
    let mut d = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        if d.is_empty() {
            d.push(rng.next() as u8);
        }
        match rng.below(7) {
            0 => {
                let i = rng.below(d.len());
                d[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(d.len());
                d[i] = rng.next() as u8;
            }
            2 => {
                let n = rng.below(d.len());
                d.truncate(n);
            }
            3 | 4 => {
                // A u32 field near a record/block start (pcap: ts, ts_frac, incl_len,
                // orig_len; pcapng: type, length, if_id, ts_hi, ts_lo, caplen, origlen).
                let at = fields[rng.below(fields.len())] + 4 * rng.below(7);
                let v = if rng.below(3) == 0 {
                    rng.next() as u32
                } else {
                    let v = INTERESTING[rng.below(INTERESTING.len())];
                    if rng.below(2) == 0 {
                        v
                    } else {
                        v.swap_bytes()
                    }
                };
                if at + 4 <= d.len() {
                    d[at..at + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
            5 => {
                let at = rng.below(d.len() + 1);
                let n = 1 + rng.below(64);
                let chunk = if rng.below(2) == 0 {
                    rng.bytes(n)
                } else {
                    let from = rng.below(d.len());
                    d[from..(from + n).min(d.len())].to_vec()
                };
                d.splice(at..at, chunk);
            }
            _ => {
                let at = rng.below(d.len());
                let n = 1 + rng.below(64);
                d.drain(at..(at + n).min(d.len()));
            }
        }
    }
    d
}

/// Runs `rounds` inputs made by `make` through [`drive`], alternating reader limits; saves the
/// first failing input and fails with its round. `clean` must read without any problem.
fn mutation_loop(
    label: &str,
    clean: &[u8],
    seed: u64,
    rounds: usize,
    min_opened: usize,
    mut make: impl FnMut(&mut Rng) -> Vec<u8>,
) {
    let dir = test_dir(&format!("mutations_{label}"));
    // The clean capture doubles as a seed for the cargo-fuzz targets (fuzz/README.md).
    std::fs::write(dir.join("seed.bin"), clean).expect("writing the seed");
    // Default limits, and a small cap so over-long records hit the cap rather than EOF.
    let cfgs = [
        ReaderConfig::default(),
        ReaderConfig {
            buffer: 4096,
            max_record: 4096,
        },
    ];
    let base = drive(label, clean.to_vec(), &cfgs[0]).expect("clean capture");
    assert!(base.opened && !base.error && base.events > 0, "{base:?}");
    // SEKIT_MUTATION_SCALE=N runs N times the rounds; SEKIT_MUTATION_SEED changes the seed.
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let rounds = rounds * env("SEKIT_MUTATION_SCALE").unwrap_or(1) as usize;
    let seed = seed ^ env("SEKIT_MUTATION_SEED").unwrap_or(0);
    let mut rng = Rng(seed);
    let mut tally = Outcome::default();
    let mut opened = 0;
    for round in 0..rounds {
        let bytes = make(&mut rng);
        let cfg = &cfgs[round % 2];
        let name = format!("{label}#{round}");
        let copy = bytes.clone();
        let res = std::panic::catch_unwind(|| drive(&name, copy, cfg));
        let failure = match res {
            Ok(Ok(o)) => {
                opened += usize::from(o.opened);
                tally.packets += o.packets;
                tally.events += o.events;
                continue;
            }
            Ok(Err(why)) => why,
            Err(p) => {
                let why = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                format!("panic: {why}")
            }
        };
        let path = dir.join(format!("round{round}.bin"));
        std::fs::write(&path, &bytes).expect("saving the failing input");
        panic!(
            "{label} mutation round {round} (seed {seed:#x}, cfg {cfg:?}): {failure}; input saved to {}",
            path.display()
        );
    }
    eprintln!("{label}: {rounds} rounds, {opened} opened, {tally:?}");
    // The loop exercised more than the header check.
    assert!(opened >= min_opened, "only {opened} of {rounds} opened");
    assert!(tally.packets >= min_opened as u64, "{tally:?}");
    assert!(tally.events > 0, "{tally:?}");
}

fn mutation_corpus() -> Vec<Vec<u8>> {
    let mut frames = conversation(40100);
    frames.extend(extra_frames());
    // Retransmission with different bytes and an out-of-order segment, for the reassembler.
    frames.insert(5, tcp_frame(40100, true, 1001, 5001, PSH | ACK, b"HELLO"));
    frames.insert(3, tcp_frame(40100, true, 1003, 5001, PSH | ACK, b"llo"));
    frames
}

/// u32 fields worth aiming at: file header and record/block starts.
fn pcap_fields(offsets: &[usize]) -> Vec<usize> {
    let mut fields = vec![0, 16];
    fields.extend_from_slice(offsets);
    fields
}

#[test]
fn pcap_mutations_do_not_panic() {
    let (base, offsets) = pcap(&mutation_corpus());
    let fields = pcap_fields(&offsets);
    mutation_loop("pcap", &base, 0x5eed_0001, 2000, 1000, |rng| {
        mutate(rng, &base, &fields)
    });
}

#[test]
fn pcapng_mutations_do_not_panic() {
    let (base, offsets) = pcapng(&mutation_corpus());
    let mut fields = vec![0, 28];
    fields.extend(offsets);
    mutation_loop("pcapng", &base, 0x5eed_0002, 2000, 1000, |rng| {
        mutate(rng, &base, &fields)
    });
}

/// Half the rounds compress a mutated pcap (exercising the reader behind the decoder), half
/// mutate the compressed bytes (exercising the decoder's errors).
#[test]
fn gzip_mutations_do_not_panic() {
    let (plain, offsets) = pcap(&mutation_corpus());
    let fields = pcap_fields(&offsets);
    let gz = gzip(&plain);
    let gz_fields = [0, 4, gz.len() - 8];
    let mut round = 0;
    mutation_loop("gzip", &gz, 0x5eed_0003, 400, 100, |rng| {
        round += 1;
        if round % 2 == 0 {
            gzip(&mutate(rng, &plain, &fields))
        } else {
            mutate(rng, &gz, &gz_fields)
        }
    });
}

/// Mutated captures on disk through the whole pipeline (`pipeline::run`), all in one run so
/// connections continue across files: every input is accounted for, each warns at most once
/// and names itself, and the stream events stay consistent.
#[test]
fn engine_run_over_mutated_files() {
    let d = test_dir("engine_run_over_mutated_files");
    let (pcap_base, pcap_offsets) = pcap(&mutation_corpus());
    let pcap_f = pcap_fields(&pcap_offsets);
    let (ng_base, ng_offsets) = pcapng(&mutation_corpus());
    let mut ng_f = vec![0, 28];
    ng_f.extend(ng_offsets);
    let mut rng = Rng(0x5eed_0005);
    let mut inputs = Vec::new();
    for i in 0..300 {
        let bytes = match i % 3 {
            0 => mutate(&mut rng, &pcap_base, &pcap_f),
            1 => mutate(&mut rng, &ng_base, &ng_f),
            _ => gzip(&mutate(&mut rng, &pcap_base, &pcap_f)),
        };
        let path = write(&d, &format!("m{i:03}.cap"), &bytes);
        inputs.push(sekit::capture::Input {
            path,
            size: Some(bytes.len() as u64),
        });
    }
    let mut sink = CheckingSink::default();
    let mut warned: HashMap<String, Vec<String>> = HashMap::new();
    let mut warn = |e: &CaptureError| {
        let file = match e {
            CaptureError::Io { file, .. }
            | CaptureError::Format { file, .. }
            | CaptureError::Incomplete { file, .. } => file.clone(),
        };
        warned.entry(file).or_default().push(e.to_string());
    };
    let mut progress = |_done: u64| {};
    let report = sekit::pipeline::run(
        &inputs,
        &sekit::pipeline::RunConfig::default(),
        &mut sink,
        &mut warn,
        &mut progress,
        &|_s: &CheckingSink| false,
    );
    assert_eq!(
        report.files + report.files_failed,
        inputs.len(),
        "{report:?}"
    );
    assert!(report.files > 100 && report.packets > 500, "{report:?}");
    assert_eq!(
        report.warnings as usize,
        warned.values().map(Vec::len).sum::<usize>()
    );
    for (file, msgs) in &warned {
        assert!(inputs.iter().any(|i| &i.path == file), "{file}: {msgs:?}");
        assert_eq!(msgs.len(), 1, "{file} warned more than once: {msgs:?}");
        assert!(msgs[0].starts_with(&format!("{file}: ")), "{msgs:?}");
    }
    assert!(sink.violations.is_empty(), "{:?}", sink.violations);
    assert!(
        sink.conns.values().all(|(_, closed)| *closed),
        "connections left open after run"
    );
}

/// Random bytes straight into the slicer under every link type.
#[test]
fn slicer_random_packets_do_not_panic() {
    let mut rng = Rng(0x5eed_0004);
    let mut slicer = Slicer::default();
    let templates = mutation_corpus();
    for round in 0..20_000u32 {
        let data = if round % 2 == 0 {
            let n = rng.below(120);
            rng.bytes(n)
        } else {
            let t = &templates[rng.below(templates.len())];
            let mut d = t.clone();
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(d.len());
                d[i] = rng.next() as u8;
            }
            let n = rng.below(d.len() + 1);
            d.truncate(n);
            d
        };
        let pkt = sekit::capture::Packet {
            ts: sekit::capture::Timestamp::new(i64::from(TS0) + i64::from(round / 100), 0),
            linktype: LINKTYPES[rng.below(LINKTYPES.len())],
            data: &data,
            orig_len: if rng.below(4) == 0 {
                rng.next() as u32
            } else {
                data.len() as u32
            },
            file: "random",
            index: u64::from(round) + 1,
        };
        let _ = slicer.slice(&pkt);
    }
    assert_eq!(slicer.stats.packets, 20_000);
}
