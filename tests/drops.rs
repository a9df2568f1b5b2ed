//! Every drop is in the end summary: connections evicted by the memory budget, packets after close and forced
//! gaps in seextract's summary as in sefollow's, fragments still pending at the end of the
//! input, and files of a directory that were skipped (as warnings).

mod common;

use common::*;
use sekit::capture::Input;
use sekit::pipeline::{run, RunConfig};
use sekit::reassembly::{Ctx, Sink, StreamEvent};
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("drops")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_pcap(path: &Path, pkts: &[Pkt]) {
    std::fs::write(path, pcap_le(1, &frames(pkts, &Link::Eth(vec![]), 0))).unwrap();
}

fn pkt(i: u64, ip: Vec<u8>) -> Pkt {
    Pkt {
        ts: T0 + i * 1000,
        ip,
        cut: 0,
    }
}

/// The summary line (stderr) of `tool -q`-less runs; stdout is discarded.
fn summary(tool: &str, args: &[&str]) -> (String, Option<i32>) {
    let o = Command::new(tool).args(args).output().expect("run tool");
    (
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code(),
    )
}

const SEEXTRACT: &str = env!("CARGO_BIN_EXE_seextract");
const SEFOLLOW: &str = env!("CARGO_BIN_EXE_sefollow");

/// A closed TCP connection: the last ACK of the close and one more segment of it come after
/// close.
fn closed_then_late() -> Vec<Pkt> {
    let (c, s) = (ep("10.0.0.1", 40000), ep("10.0.0.2", 4712));
    vec![
        pkt(0, tcp_ip(c, s, 100, 0, SYN, b"")),
        pkt(1, tcp_ip(s, c, 500, 101, SYN | ACK, b"")),
        pkt(2, tcp_ip(c, s, 101, 501, ACK, b"")),
        pkt(3, tcp_ip(c, s, 101, 501, FIN | ACK, b"")),
        pkt(4, tcp_ip(s, c, 501, 102, FIN | ACK, b"")),
        pkt(5, tcp_ip(c, s, 102, 502, ACK, b"")),
        pkt(6, tcp_ip(c, s, 102, 502, ACK | PSH, b"late")),
    ]
}

#[test]
fn seextract_summary_reports_the_reassembly_drops_like_sefollow() {
    let d = dir("after_close");
    let cap = d.join("late.pcap");
    write_pcap(&cap, &closed_then_late());
    let cap = cap.to_str().unwrap();
    let (ex, code) = summary(SEEXTRACT, &[cap]);
    assert_eq!(code, Some(0), "{ex}");
    let (fo, _) = summary(SEFOLLOW, &["--list", "--no-hash", cap]);
    let drops = |s: &str| {
        // Up to the state peak, which counts each tool's own state.
        let from = s.find("drops:").unwrap_or_else(|| panic!("{s}"));
        let to = s.find("; state peak").unwrap_or_else(|| panic!("{s}"));
        s[from..to].to_string()
    };
    assert!(ex.contains("2 packets after close"), "{ex}");
    assert_eq!(drops(&ex), drops(&fo));
}

#[test]
fn fragments_pending_at_the_end_are_counted() {
    let d = dir("frags");
    let (a, b) = (ep("10.0.0.1", 5000), ep("10.0.0.2", 4713));
    let datagram = udp_ip(a, b, &[7u8; 64]);
    // Two fragments of three: the datagram never completes.
    let frags = fragment(&datagram, 24, 0x1234);
    assert!(frags.len() >= 3);
    let pkts: Vec<Pkt> = frags[..2]
        .iter()
        .enumerate()
        .map(|(i, f)| pkt(i as u64, f.clone()))
        .collect();
    let cap = d.join("frags.pcap");
    write_pcap(&cap, &pkts);
    for (tool, args) in [(SEEXTRACT, vec![]), (SEFOLLOW, vec!["--list", "--no-hash"])] {
        let mut a: Vec<&str> = args;
        a.push(cap.to_str().unwrap());
        let (s, _) = summary(tool, &a);
        assert!(s.contains(", 2 fragments dropped,"), "{s}");
    }
}

#[test]
fn skipped_files_of_a_directory_are_warnings_in_the_summary() {
    let d = dir("skipped");
    write_pcap(&d.join("good.pcap"), &closed_then_late());
    std::fs::write(d.join("notes.txt"), b"not a capture\n").unwrap();
    std::os::unix::fs::symlink(d.join("gone.pcap"), d.join("dangling.pcap")).unwrap();
    let dd = d.to_str().unwrap();
    for (tool, args) in [
        (SEEXTRACT, vec![dd]),
        (SEFOLLOW, vec!["--list", "--no-hash", dd]),
    ] {
        let (s, code) = summary(tool, &args);
        assert_eq!(code, Some(1), "{s}"); // skipped entries are problems (exit status 1)
        assert!(s.contains("notes.txt: offset 0: skipped"), "{s}");
        assert!(s.contains("dangling.pcap: offset 0: skipped"), "{s}");
        assert!(s.contains(", 2 warnings;"), "{s}");
    }
}

struct Nothing;

impl Sink for Nothing {
    fn event(&mut self, _: &Ctx<'_>, _: StreamEvent<'_>) {}
}

#[test]
fn evicted_connections_are_in_the_summary() {
    let d = dir("cap");
    let s = ep("10.0.0.2", 4712);
    let pkts: Vec<Pkt> = (0..3000)
        .map(|i| {
            pkt(
                i,
                tcp_ip(ep("10.0.0.1", 20000 + i as u16), s, 100, 0, SYN, b""),
            )
        })
        .collect();
    let cap = d.join("many.pcap");
    write_pcap(&cap, &pkts);
    let mut cfg = RunConfig::default();
    cfg.reassembly.max_memory = 4 << 20;
    let inputs = [Input {
        path: cap.to_str().unwrap().to_string(),
        size: None,
    }];
    let report = run(
        &inputs,
        &cfg,
        &mut Nothing,
        &mut |e| panic!("{e}"),
        &mut |_| {},
        &|_| false,
    );
    // 3,000 lone SYNs cannot all be held in 4 MiB: the oldest are evicted.
    assert!(report.reassembly.evicted > 0, "{:?}", report.reassembly);
    assert!(report.reassembly.evicted < 3000);
    assert!(sekit::cli::drops_line(&report).starts_with(&format!(
        "drops: 0 ooo-forced gaps, {} conns evicted (memory budget), 0 packets after close; state peak ",
        report.reassembly.evicted
    )));
    for tool in [SEEXTRACT, SEFOLLOW] {
        let (err, code) = summary(tool, &["--max-memory", "4M", cap.to_str().unwrap()]);
        assert_eq!(code, Some(0), "{err}");
        // Each tool's own state counts too, so the number differs from the bare run's.
        assert!(
            err.contains(" conns evicted (memory budget)"),
            "{tool}: {err}"
        );
        assert!(!err.contains("gaps, 0 conns evicted"), "{tool}: {err}");
    }
}
