//! No false positives (issue points 3): neither PI30 nor Tracer is detected on any other capture
//! of the project (tests/data, samples/) nor on random data and text protocols; the two do not
//! take each other's samples. A separate check runs on the shared fixtures when they are
//! present (and says so loudly when they are not).

mod common;

use common::Rng;
use sekit::protocols::{pi30, tracer, Protocol};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut es: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
    es.sort();
    for p in es {
        if p.is_dir() {
            captures(&p, out);
        } else if p
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "gz")
        {
            out.push(p);
        }
    }
}

/// `seextract` records of `cap` whose protocol is one of `protos`.
fn found(cap: &Path, protos: &[&str]) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_seextract"))
        .args(["-q", cap.to_str().unwrap()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["proto"].as_str().is_some_and(|p| protos.contains(&p)))
        .count()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn not_detected_on_the_projects_other_captures() {
    let mut caps = Vec::new();
    captures(&root().join("tests/data"), &mut caps);
    for d in ["samples/c37118", "samples/solaredge"] {
        captures(&root().join(d), &mut caps);
    }
    assert!(caps.len() >= 10, "{caps:?}");
    for c in &caps {
        assert_eq!(found(c, &["pi30", "tracer"]), 0, "{}", c.display());
    }
    // Each other's samples.
    let mut own = Vec::new();
    captures(&root().join("samples/pi30"), &mut own);
    for c in &own {
        assert_eq!(found(c, &["tracer"]), 0, "{}", c.display());
        assert!(found(c, &["pi30"]) > 0);
    }
    own.clear();
    captures(&root().join("samples/tracer"), &mut own);
    for c in &own {
        assert_eq!(found(c, &["pi30"]), 0, "{}", c.display());
        assert!(found(c, &["tracer"]) > 0);
    }
}

#[test]
fn shared_fixtures_when_present() {
    let shared = root().join("../shared/fixtures");
    if !shared.is_dir() {
        eprintln!(
            "SKIPPED: {} not present; shared fixtures not checked",
            shared.display()
        );
        return;
    }
    let mut caps = Vec::new();
    captures(&shared, &mut caps);
    for c in &caps {
        assert_eq!(found(c, &["pi30", "tracer"]), 0, "{}", c.display());
    }
    eprintln!("checked {} shared fixture captures", caps.len());
}

/// Probes `raw` as the detector does (probe mode, 16 KiB window) in chunks of `size`.
fn probe(p: Protocol, raw: &[u8], size: usize) -> bool {
    let mut st = p.new_state();
    st.probe_limit(Some(16 * 1024));
    let mut off = 0;
    for c in raw.chunks(size) {
        st.data(off, c, &mut |_| {});
        off += c.len() as u64;
        if st.confident() || st.hopeless() {
            break;
        }
    }
    st.end(&mut |_| {});
    st.confident()
}

#[test]
fn random_bytes_and_text_are_not_detected() {
    let mut rng = Rng(0x5eed);
    for i in 0..200 {
        let raw = rng.bytes(4096 + i);
        for p in [pi30::PROTOCOL, tracer::PROTOCOL] {
            assert!(!probe(p, &raw, 1460), "{p} on random stream {i}");
        }
    }
    let http = b"GET /index.html HTTP/1.1\r\nHost: QPIGS\r\nUser-Agent: x\r\nAccept: */*\r\n\r\n"
        .repeat(40);
    let smtp = b"EHLO QMOD\r\n250-PIPELINING\r\n250 OK\r\nMAIL FROM:<a@b>\r\n".repeat(40);
    for text in [&http[..], &smtp[..]] {
        assert!(!probe(pi30::PROTOCOL, text, 1460));
        assert!(!probe(tracer::PROTOCOL, text, 1460));
    }
}
