//! `sereplay serve` as a SolarEdge inverter (solaredge.md §1, §4), from the sample session:
//! the inverter dials out, so the served device is the capture's client. A monitoring server
//! written here connects, hears the inverter's first message, then sends the captured
//! server's messages in order; the exchange is written to a pcap with the inverter as the
//! client again, and `seextract | sedecode` (decryption included) gives the same records as
//! the original. `push` then sends the inverter side to a listener written here, and
//! `--rewrite-time` moves 0x0500 record times with every CRC recomputed.

mod replay_common;

use replay_common::*;
use sekit::protocols::solaredge::frame::parse_frame;
use sekit::protocols::Parsed;
use std::io::Read;
use std::net::TcpListener;
use std::process::Command;

const PCAP: &str = "samples/solaredge/inverter-session.pcap";

#[test]
fn round_trip_gives_the_original_records() {
    let server = Server::start(&[&sample(PCAP), "--exit-after", "1", "-q"]);
    let mut rec = Recorder::new(("192.168.1.50", 40312), ("192.168.1.2", 22222));
    let server_msgs: Vec<Vec<u8>> = extract(&sample(PCAP))
        .into_iter()
        .filter(|(r, _)| r["dir"] == "s2c")
        .map(|(_, b)| b)
        .collect();
    assert_eq!(server_msgs.len(), 8);
    drive(server.addr, &mut rec, &server_msgs, true);
    let out = tmp("solaredge_round_trip.pcap");
    rec.write(&out);
    server.wait();
    let want = decode(&sample(PCAP));
    let have = decode(out.to_str().unwrap());
    for dir in ["c2s", "s2c"] {
        let (w, h) = (of(&want, "decoded", dir), of(&have, "decoded", dir));
        assert_eq!(w.len(), h.len(), "{dir}");
        assert!(!w.is_empty());
        for (a, b) in w.iter().zip(&h) {
            assert_eq!(content(a, &[]), content(b, &[]), "{dir}");
        }
    }
}

/// Frames at the start of `b`, one after the other.
fn split(mut b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Parsed::Frame(f) = parse_frame(b) {
        out.push(f.bytes.to_vec());
        b = &b[f.bytes.len()..];
    }
    out
}

#[test]
fn push_with_rewritten_times_keeps_every_crc_valid() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = l.local_addr().unwrap().to_string();
    let child = std::thread::spawn(move || {
        Command::new(env!("CARGO_BIN_EXE_sereplay"))
            .args(["push", "--target", &target, "--asap", "--linger", "0"])
            .args(["--rewrite-time", "+86400", "-q", &sample(PCAP)])
            .status()
            .unwrap()
    });
    let (mut s, _) = l.accept().unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert!(child.join().unwrap().success());
    let want: Vec<Vec<u8>> = extract(&sample(PCAP))
        .into_iter()
        .filter(|(r, _)| r["dir"] == "c2s")
        .map(|(_, b)| b)
        .collect();
    let have = split(&got);
    assert_eq!(have.len(), want.len(), "every frame passes the CRC check");
    let mut moved = 0;
    for (w, h) in want.iter().zip(&have) {
        assert_eq!(w.len(), h.len());
        if w != h {
            // Only a plain 0x0500's record times change: u32 LE, one day later.
            assert_eq!(&w[18..20], &[0x00, 0x05]);
            let diff: Vec<usize> = (0..w.len() - 2).filter(|&i| w[i] != h[i]).collect();
            assert!(!diff.is_empty());
            let at = diff[0];
            let t = |f: &[u8], i: usize| u32::from_le_bytes(f[i..i + 4].try_into().unwrap());
            let start =
                (at.saturating_sub(3)..=at).find(|&i| t(h, i).wrapping_sub(t(w, i)) == 86_400);
            assert!(start.is_some(), "a time moved by one day");
            moved += 1;
        }
    }
    assert!(moved >= 1, "the plain 0x0500 frame was rewritten");
}
