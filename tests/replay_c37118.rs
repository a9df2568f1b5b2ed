//! `sereplay` on C37.118 (IEEE C37.118.2-2011): the PMU of a sample capture served on
//! loopback and driven by a PDC written here (its command frames built by hand from the
//! standard's layout, not by sekit); the exchanged bytes go into a pcap whose `seextract |
//! sedecode` records must equal those of the original capture. Also: rewritten times and ids
//! (every CRC checked by the library's parser), several clients with a bad one among them,
//! UDP with periodic CFG-2, the loopback refusal, the dry run and JSON Lines input.

mod replay_common;

use replay_common::*;
use sekit::protocols::c37118::frame::{parse_frame, Frame};
use sekit::protocols::Parsed;
use std::net::{TcpStream, UdpSocket};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TCP: &str = "samples/c37118/C37.118_1PMU_TCP.pcap";
const UDP: &str = "samples/c37118/C37.118_1PMU_UDP.pcap";
/// Data frames of the TCP sample (seextract's count).
const DATA: usize = 252;

/// A command frame [STD T.15]: AA 41, FRAMESIZE 18, IDCODE, SOC, FRACSEC, CMD, CRC-CCITT
/// (poly 0x1021, init 0xFFFF) computed here bit by bit.
fn command(idcode: u16, cmd: u16) -> Vec<u8> {
    let mut f = vec![0xAA, 0x41, 0, 18];
    f.extend(idcode.to_be_bytes());
    f.extend(1_700_000_000u32.to_be_bytes());
    f.extend(0u32.to_be_bytes());
    f.extend(cmd.to_be_bytes());
    let mut crc: u16 = 0xFFFF;
    for b in &f {
        crc ^= u16::from(*b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    f.extend(crc.to_be_bytes());
    f
}

/// The whole frames at the start of `b` (by FRAMESIZE), as (type, bytes).
fn frames(b: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Ok(f) = Frame::parse(&b[at..]) {
        out.push(((b[at + 1] >> 4) & 7, f.bytes.to_vec()));
        at += f.bytes.len();
    }
    out
}

fn count_data(b: &[u8]) -> usize {
    frames(b).iter().filter(|(t, _)| *t == 0).count()
}

/// Drives one PDC conversation: CFG-2, data on until `n` data frames, off.
fn pdc(addr: std::net::SocketAddr, rec: &mut Recorder, n: usize) -> Vec<u8> {
    let mut sock = TcpStream::connect(addr).unwrap();
    let mut got = Vec::new();
    send(&mut sock, rec, &command(241, 5));
    read_until(&mut sock, rec, &mut got, &|b| !frames(b).is_empty());
    send(&mut sock, rec, &command(241, 2));
    read_until(&mut sock, rec, &mut got, &|b| count_data(b) >= n);
    send(&mut sock, rec, &command(241, 1));
    got
}

#[test]
fn round_trip_gives_the_original_records() {
    let server = Server::start(&[&sample(TCP), "--speed", "20", "--exit-after", "1", "-q"]);
    let mut rec = Recorder::new(("192.168.0.20", 36835), ("192.168.0.241", 4712));
    let got = pdc(server.addr, &mut rec, DATA);
    let out = tmp("c37_round_trip.pcap");
    rec.write(&out);
    server.wait();
    assert_eq!(count_data(&got), DATA);
    if let Some((frames, bad)) = tshark_synphasor(&out) {
        assert_eq!(bad, 0, "tshark finds errors in {}", out.display());
        assert_eq!(
            frames,
            DATA + 1 + 3,
            "tshark: data, CFG-2 and our 3 commands"
        );
    }

    let want = decode(&sample(TCP));
    let have = decode(out.to_str().unwrap());
    let (want, have) = (of(&want, "decoded", "s2c"), of(&have, "decoded", "s2c"));
    assert_eq!(want.len(), DATA + 1, "cfg2 and the data frames");
    assert_eq!(have.len(), want.len());
    for (i, (w, h)) in want.iter().zip(&have).enumerate() {
        assert_eq!(content(w, &[]), content(h, &[]), "record {i}");
    }
    // Our own commands, as sedecode reads them.
    let cmds: Vec<String> = of(&decode(out.to_str().unwrap()), "decoded", "c2s")
        .iter()
        .map(|r| r["command"]["name"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(cmds.len(), 3);
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn loop_3_with_rewrite_time_now_gives_increasing_times_and_good_crcs() {
    let server = Server::start(&[
        &sample(TCP),
        "--asap",
        "--loop",
        "3",
        "--rewrite-time",
        "now",
        "--set-idcode",
        "77",
        "--exit-after",
        "1",
        "-q",
    ]);
    let mut rec = Recorder::new(("127.0.0.1", 40000), ("127.0.0.1", 4712));
    let got = pdc(server.addr, &mut rec, 3 * DATA);
    let out = tmp("c37_loop3.pcap");
    rec.write(&out);
    server.wait();
    let all = frames(&got);
    let data: Vec<&Vec<u8>> = all
        .iter()
        .filter(|(t, _)| *t == 0)
        .map(|(_, f)| f)
        .collect();
    assert_eq!(data.len(), 3 * DATA);
    // Wireshark decodes every rewritten frame (and our commands) without an error.
    if let Some((frames, bad)) = tshark_synphasor(&out) {
        assert_eq!(bad, 0, "tshark finds errors in {}", out.display());
        assert_eq!(
            frames,
            all.len() + 3,
            "tshark: C37.118 PDUs, ours and the replayed"
        );
    }
    let t0 = now();
    let mut last = (0u32, 0u32);
    for (_, f) in &all {
        let Parsed::Frame(p) = parse_frame(f) else {
            panic!("bad frame {f:02x?}")
        };
        assert_eq!(p.header.idcode, 77);
    }
    for (i, f) in data.iter().enumerate() {
        let soc = u32::from_be_bytes(f[6..10].try_into().unwrap());
        let count = u32::from_be_bytes(f[10..14].try_into().unwrap()) & 0xff_ffff;
        assert!(
            (soc, count) > last,
            "frame {i}: {soc}.{count} after {last:?}"
        );
        last = (soc, count);
        if i == 0 {
            assert!(
                u64::from(soc).abs_diff(t0) <= 10,
                "SOC {soc} is not now ({t0})"
            );
        }
    }
}

#[test]
fn a_bad_or_vanishing_client_does_not_disturb_the_others() {
    let server = Server::start(&[&sample(TCP), "--speed", "5", "--exit-after", "3"]);
    let addr = server.addr;
    let good = std::thread::spawn(move || {
        let mut rec = Recorder::new(("127.0.0.1", 40001), ("127.0.0.1", 4712));
        count_data(&pdc(addr, &mut rec, DATA))
    });
    std::thread::sleep(Duration::from_millis(200));
    // Garbage: not a C37.118 frame.
    let mut bad = TcpStream::connect(addr).unwrap();
    std::io::Write::write_all(&mut bad, b"GET / HTTP/1.0\r\n\r\n").unwrap();
    // Turns data on and goes away mid-stream.
    let mut gone = TcpStream::connect(addr).unwrap();
    std::io::Write::write_all(&mut gone, &command(1, 2)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(gone);
    assert_eq!(good.join().unwrap(), DATA);
    drop(bad);
    let log = server.wait();
    assert!(log.contains("dropped: "), "{log}");
    assert!(log.contains("clients 3 (1 dropped)"), "{log}");
}

#[test]
fn udp_sends_the_data_and_repeats_cfg2() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let target = rx.local_addr().unwrap().to_string();
    let child = std::thread::spawn(move || {
        Command::new(env!("CARGO_BIN_EXE_sereplay"))
            .args([
                "udp",
                "--target",
                &target,
                "--rate",
                "400",
                "--config-every",
                "0.2",
            ])
            .args(["--only", "data", "-q", &sample(UDP)])
            .status()
            .unwrap()
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(n) = rx.recv(&mut buf) {
        got.push(buf[..n].to_vec());
    }
    assert!(child.join().unwrap().success());
    // What seextract finds in the original: its data frames, in order.
    let want: Vec<Vec<u8>> = extract(&sample(UDP))
        .into_iter()
        .filter(|(r, _)| r["kind"] == "data")
        .map(|(_, b)| b)
        .collect();
    let data: Vec<Vec<u8>> = got.iter().filter(|f| f[1] >> 4 == 0).cloned().collect();
    let cfg2 = got.iter().filter(|f| f[1] >> 4 == 3).count();
    assert_eq!(want.len(), 356);
    assert_eq!(data, want);
    assert!(cfg2 >= 3, "{cfg2} CFG-2 frames in about 0.9 s");
    for f in &got {
        assert!(matches!(parse_frame(f), Parsed::Frame(_)));
    }
}

#[test]
fn refuses_non_loopback_addresses() {
    for args in [
        vec!["serve", "--listen", "0.0.0.0:4712"],
        vec!["push", "--target", "192.0.2.1:4712"],
        vec!["udp", "--target", "192.0.2.1:4713"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sereplay"))
            .args(&args)
            .arg(sample(TCP))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("not a loopback address"), "{err}");
        assert!(err.contains("--allow-remote"), "{err}");
    }
}

#[test]
fn dry_run_is_the_same_from_the_capture_and_from_its_records() {
    let dry = |input: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_sereplay"))
            .args(["serve", "--dry-run", "--speed", "0.5", input])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let jsonl = tmp("c37_tcp.jsonl");
    let ex = Command::new(env!("CARGO_BIN_EXE_seextract"))
        .args(["-q", "-o", jsonl.to_str().unwrap(), &sample(TCP)])
        .status()
        .unwrap();
    assert!(ex.success());
    let a = dry(&sample(TCP));
    assert_eq!(a, dry(jsonl.to_str().unwrap()));
    let lines: Vec<&str> = a.lines().collect();
    // Header, cfg2 + 252 data frames, summary; at half speed the captured 20 ms become 40.
    assert_eq!(lines.len(), 1 + 1 + DATA + 1);
    assert!(lines[1].ends_with("s2c\tcfg2\t134"), "{}", lines[1]);
    let due = |l: &str| l.split('\t').nth(2).unwrap().parse::<f64>().unwrap();
    let gap = due(lines[3]) - due(lines[2]);
    assert!((gap - 2.0 * 0.020120).abs() < 0.0005, "{gap}");
}
