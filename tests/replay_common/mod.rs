//! What the replay tests share: `sereplay serve` as a child process on a loopback port, the
//! exchanged bytes written to a pcap (the synthetic capture writer of tests/common), and
//! `seextract | sedecode` on a capture with the envelope fields removed.
#![allow(dead_code)]

#[path = "../common/mod.rs"]
pub mod common;

use common::{ep, pcap_le, Link, Tcp, C2S, S2C, T0};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub fn sample(rel: &str) -> String {
    format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))
}

pub fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("replay");
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// A running `sereplay serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `sereplay serve --listen 127.0.0.1:0 ARGS…` and waits until it listens.
    pub fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sereplay"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("sereplay runs");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut addr = None;
        let log = Arc::new(Mutex::new(String::new()));
        let mut line = String::new();
        while err.read_line(&mut line).unwrap() > 0 {
            log.lock().unwrap().push_str(&line);
            if let Some(a) = line.trim().strip_prefix("sereplay: listening on ") {
                addr = Some(a.parse().unwrap());
                break;
            }
            line.clear();
        }
        let addr = addr.unwrap_or_else(|| panic!("no listening line: {}", log.lock().unwrap()));
        let l2 = log.clone();
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = err.read_to_string(&mut rest);
            l2.lock().unwrap().push_str(&rest);
        });
        Server { child, addr, log }
    }

    /// Waits for the process to exit (after `--exit-after`), returning its log.
    pub fn wait(mut self) -> String {
        let status = self.child.wait().unwrap();
        assert!(status.success(), "sereplay exited with {status}");
        std::thread::sleep(std::time::Duration::from_millis(100));
        let log = self.log.lock().unwrap().clone();
        log
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Both directions of one TCP conversation as a test client saw them, with times.
pub struct Recorder {
    tcp: Tcp,
    start: Instant,
}

impl Recorder {
    /// The pcap's endpoints: `client` connects to `server`.
    pub fn new(client: (&str, u16), server: (&str, u16)) -> Recorder {
        let mut tcp = Tcp::new(ep(client.0, client.1), ep(server.0, server.1), 1000, 5000);
        tcp.handshake();
        Recorder {
            tcp,
            start: Instant::now(),
        }
    }

    fn add(&mut self, d: usize, bytes: &[u8]) {
        for chunk in bytes.chunks(1400) {
            let now = T0 + 10_000_000 + self.start.elapsed().as_nanos() as u64;
            self.tcp.clock = self.tcp.clock.max(now);
            self.tcp.data(d, chunk);
        }
    }

    pub fn sent(&mut self, bytes: &[u8]) {
        self.add(C2S, bytes);
    }

    pub fn received(&mut self, bytes: &[u8]) {
        self.add(S2C, bytes);
    }

    pub fn write(mut self, path: &Path) {
        self.tcp.close();
        let frames = self.tcp.frames(&Link::Eth(vec![]));
        std::fs::write(path, pcap_le(1, &frames)).unwrap();
    }
}

/// Reads from `sock` until `done` says the bytes so far are enough (or 10 s pass).
pub fn read_until(
    sock: &mut std::net::TcpStream,
    rec: &mut Recorder,
    got: &mut Vec<u8>,
    done: &dyn Fn(&[u8]) -> bool,
) {
    sock.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let t0 = Instant::now();
    let mut buf = vec![0u8; 65536];
    while !done(got) && t0.elapsed().as_secs() < 10 {
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                rec.received(&buf[..n]);
                got.extend_from_slice(&buf[..n]);
            }
            Err(_) => {}
        }
    }
}

pub fn send(sock: &mut std::net::TcpStream, rec: &mut Recorder, bytes: &[u8]) {
    sock.write_all(bytes).unwrap();
    rec.sent(bytes);
}

/// `seextract FILE`: the frame records, each with its bytes (SEL passwords as markers with a
/// fixed salt, so that two runs agree).
pub fn extract(pcap: &str) -> Vec<(Value, Vec<u8>)> {
    extract_with(pcap, &[])
}

/// `seextract ARGS FILE`, as [`extract`].
pub fn extract_with(pcap: &str, args: &[&str]) -> Vec<(Value, Vec<u8>)> {
    let ex = Command::new(env!("CARGO_BIN_EXE_seextract"))
        .env("SEKIT_SECRET_SALT", "replay-tests")
        .args(["-q"])
        .args(args)
        .arg(pcap)
        .output()
        .unwrap();
    assert!(ex.status.success(), "seextract {pcap}");
    String::from_utf8(ex.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["type"] == "frame")
        .map(|r| {
            let h = r["hex"].as_str().unwrap();
            let b = (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect();
            (r, b)
        })
        .collect()
}

/// `seextract FILE | sedecode`, every record parsed.
pub fn decode(pcap: &str) -> Vec<Value> {
    let ex = Command::new(env!("CARGO_BIN_EXE_seextract"))
        .args(["-q", pcap])
        .output()
        .unwrap();
    assert!(ex.status.success(), "seextract {pcap}");
    let mut de = Command::new(env!("CARGO_BIN_EXE_sedecode"))
        .arg("-q")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = de.stdin.take().unwrap();
    let input = ex.stdout;
    let w = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let out = de.wait_with_output().unwrap();
    w.join().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Where a record was seen: removed before comparing what was decoded.
pub const ENVELOPE: [&str; 14] = [
    "v",
    "type",
    "ts",
    "file",
    "pkt",
    "conn",
    "transport",
    "src",
    "sport",
    "dst",
    "dport",
    "dir",
    "offset",
    "len",
];

/// The record without its envelope (and without `drop` fields).
pub fn content(r: &Value, drop: &[&str]) -> Value {
    let mut m = r.as_object().unwrap().clone();
    for k in ENVELOPE.iter().chain(drop) {
        m.remove(*k);
    }
    Value::Object(m)
}

/// Records of one type and direction.
pub fn of<'a>(recs: &'a [Value], ty: &str, dir: &str) -> Vec<&'a Value> {
    recs.iter()
        .filter(|r| r["type"] == ty && r["dir"] == dir)
        .collect()
}

/// Plays the other side of a served conversation: connects, reads what the device says
/// first, then sends each message and reads the answers until the line is quiet for 150 ms.
/// With `swap` the recording has the device as the client (a SolarEdge inverter dials out).
/// Returns the bytes received after each message (index 0: the greeting).
pub fn drive(addr: SocketAddr, rec: &mut Recorder, msgs: &[Vec<u8>], swap: bool) -> Vec<Vec<u8>> {
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_millis(150)))
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let mut read = |sock: &mut std::net::TcpStream, rec: &mut Recorder| {
        let mut got = Vec::new();
        while let Ok(n) = sock.read(&mut buf) {
            if n == 0 {
                break;
            }
            if swap {
                rec.sent(&buf[..n]);
            } else {
                rec.received(&buf[..n]);
            }
            got.extend_from_slice(&buf[..n]);
        }
        got
    };
    let mut out = vec![read(&mut sock, rec)];
    for m in msgs {
        sock.write_all(m).unwrap();
        if swap {
            rec.received(m);
        } else {
            rec.sent(m);
        }
        out.push(read(&mut sock, rec));
    }
    out
}

/// The frame records of one direction as (kind, hex), sorted.
pub fn frame_set(recs: &[Value], dir: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = of(recs, "frame", dir)
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().into(),
                r["hex"].as_str().unwrap().into(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Wireshark's verdict on a capture of replayed traffic: (C37.118 PDUs it decoded, malformed
/// or error-level expert items). None, after a loud message, when tshark is not installed
/// (scripts/test-deps.sh installs it).
pub fn tshark_synphasor(pcap: &Path) -> Option<(usize, usize)> {
    let run = |filter: &str, field: &str| {
        Command::new("tshark")
            .args(["-n", "-r"])
            .arg(pcap)
            .args([
                "-d",
                "tcp.port==4712,synphasor",
                "-Y",
                filter,
                "-T",
                "fields",
            ])
            .args(["-e", field])
            .output()
    };
    let Ok(ok) = run("synphasor", "synphasor.frtype") else {
        eprintln!("\n\n*** tshark not installed: Wireshark's check of the replayed traffic SKIPPED ***\n\n");
        return None;
    };
    assert!(
        ok.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let bad = run(
        "_ws.malformed || _ws.expert.severity >= error",
        "frame.number",
    )
    .unwrap();
    // One line per packet, its PDUs' frame types separated by commas.
    let items = |o: &std::process::Output| {
        o.stdout
            .split(|&b| b == b'\n' || b == b',')
            .filter(|l| !l.is_empty())
            .count()
    };
    Some((items(&ok), items(&bad)))
}
