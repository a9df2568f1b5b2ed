//! C37.118 in TCP/UDP mode (c37118.md §5, §6; IEEE C37.118.2-2011 Annex F): the configuration
//! travels only over TCP (the PDC's "send CFG-2" command and the PMU's CFG-2 reply) and the
//! data only over UDP, on another flow. `seextract -q | sedecode` must decode the UDP data
//! with the TCP configuration (the decoder keys configurations by IDCODE across flows), and
//! without the TCP connection it must report the data undecoded with an anomaly, never
//! guessing a layout.
//!
//! Every frame is built here from the layout of c37118.md §1, §3 and §4 with a CRC-16/
//! CCITT-FALSE written here (not the crate's), and every expected engineering value is
//! computed here from the raw values: re/im = count × PHUNIT scale × 1e-5, mag = |re + j·im|,
//! angle = atan2(im, re) in degrees, FREQ = 60 Hz + mHz / 1000, DFREQ = raw / 100.

mod common;

use common::{ep, frames, merge, pcap_le, Link, Tcp, Udp, C2S, NS, S2C, T0};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const IDCODE: u16 = 4242;
const SOC: u32 = 1_700_000_100;
const TIME_BASE: u32 = 1_000_000;
/// PHUNIT words (c37118.md §3): byte 0 = 0 voltage / 1 current, bits 23–0 = scale in 1e-5 V
/// or A per count.
const PHUNIT_VA: u32 = 915_527; // voltage, 9.15527 V per count (Annex D's value)
const PHUNIT_IA: u32 = 0x0100_0000 | 45_776; // current, 0.45776 A per count

/// CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, MSB first, no reflection, no xorout.
fn crc_ccitt_false(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[test]
fn crc_check_values() {
    // c37118.md §1: Annex B vectors.
    assert_eq!(crc_ccitt_false(b"123456789"), 0x29B1);
    assert_eq!(crc_ccitt_false(b"ABCD"), 0xBFFA);
    assert_eq!(crc_ccitt_false(b"abc"), 0x514A);
}

/// A frame (c37118.md §1): SYNC `AA` + `0TTT0001`, FRAMESIZE, IDCODE, SOC, FRACSEC (TQ 0),
/// payload, CHK.
fn c37_frame(frame_type: u8, fracsec: u32, payload: &[u8]) -> Vec<u8> {
    let size = 16 + payload.len();
    let mut f = vec![0xAA, (frame_type << 4) | 1];
    f.extend((size as u16).to_be_bytes());
    f.extend(IDCODE.to_be_bytes());
    f.extend(SOC.to_be_bytes());
    f.extend(fracsec.to_be_bytes());
    f.extend_from_slice(payload);
    let chk = crc_ccitt_false(&f);
    f.extend(chk.to_be_bytes());
    assert_eq!(f.len(), size);
    f
}

/// A command frame without EXTFRAME (18 bytes): 5 = send CFG-2, 2 = turn on data.
fn cmd(code: u16) -> Vec<u8> {
    c37_frame(4, 0, &code.to_be_bytes())
}

fn name16(s: &str) -> [u8; 16] {
    let mut n = [b' '; 16];
    n[..s.len()].copy_from_slice(s.as_bytes());
    n
}

/// CFG-2 (c37118.md §3): one PMU, FORMAT 0x0000 (rectangular, integer phasors, integer
/// analogs, integer FREQ/DFREQ), 2 phasors, 1 analog, 1 digital word, FNOM 60 Hz,
/// TIME_BASE 1 000 000, 30 frames/s.
fn cfg2() -> Vec<u8> {
    let mut p = Vec::new();
    p.extend(TIME_BASE.to_be_bytes()); // flags 0
    p.extend(1u16.to_be_bytes()); // NUM_PMU
    p.extend(name16("SEKIT PMU"));
    p.extend(IDCODE.to_be_bytes());
    p.extend(0x0000u16.to_be_bytes()); // FORMAT
    p.extend(2u16.to_be_bytes()); // PHNMR
    p.extend(1u16.to_be_bytes()); // ANNMR
    p.extend(1u16.to_be_bytes()); // DGNMR
    for n in ["VA", "IA", "AN1"] {
        p.extend(name16(n));
    }
    for bit in 0..16 {
        p.extend(name16(&format!("BREAKER{bit}")));
    }
    p.extend(PHUNIT_VA.to_be_bytes());
    p.extend(PHUNIT_IA.to_be_bytes());
    p.extend(0x0100_0000u32.to_be_bytes()); // ANUNIT: rms, no user scaling
    p.extend(0x0000_FFFFu32.to_be_bytes()); // DIGUNIT: normal 0, all inputs valid
    p.extend(0u16.to_be_bytes()); // FNOM: bit 0 clear = 60 Hz
    p.extend(3u16.to_be_bytes()); // CFGCNT
    p.extend(30i16.to_be_bytes()); // DATA_RATE
    let f = c37_frame(3, 0, &p);
    // 14 + 4 + 2 + (16 + 2 + 2 + 6 + 16·19 + 8 + 4 + 4 + 2 + 2) + 2 + 2
    assert_eq!(f.len(), 374);
    f
}

/// The raw values of one data frame.
#[derive(Clone, Copy, Debug)]
struct Sample {
    stat: u16,
    va: (i16, i16),
    ia: (i16, i16),
    /// FREQ: deviation from 60 Hz in mHz.
    freq_mhz: i16,
    /// DFREQ: ROCOF × 100.
    dfreq: i16,
    analog: i16,
    digital: u16,
}

const SAMPLES: [Sample; 7] = [
    Sample {
        stat: 0x0000,
        va: (14635, 0),
        ia: (-1000, 1000),
        freq_mhz: 0,
        dfreq: 0,
        analog: 100,
        digital: 0x0000,
    },
    Sample {
        stat: 0x0000,
        va: (14000, -3000),
        ia: (500, -250),
        freq_mhz: 25,
        dfreq: -3,
        analog: -200,
        digital: 0x0001,
    },
    Sample {
        stat: 0x0803, // trigger, phase-angle difference
        va: (-7000, 12124),
        ia: (32767, -32767),
        freq_mhz: -125,
        dfreq: 150,
        analog: 32767,
        digital: 0xA5A5,
    },
    Sample {
        stat: 0x0000,
        va: (0, 14635),
        ia: (-3, -4),
        freq_mhz: 1000,
        dfreq: -100,
        analog: -32767,
        digital: 0xFFFF,
    },
    Sample {
        stat: 0x0000,
        va: (10, 20),
        ia: (1, 1),
        freq_mhz: -1,
        dfreq: 1,
        analog: 0,
        digital: 0x8000,
    },
    Sample {
        stat: 0x2000, // PMU sync error
        va: (-14635, 0),
        ia: (0, -1),
        freq_mhz: 32767,
        dfreq: -32767,
        analog: 1,
        digital: 0x0101,
    },
    Sample {
        stat: 0x0000,
        va: (100, 100),
        ia: (2000, 0),
        freq_mhz: -32767,
        dfreq: 0,
        analog: 5,
        digital: 0x0002,
    },
];

/// UDP datagrams, as indices into [`SAMPLES`]: some carry two frames.
const DATAGRAMS: [&[usize]; 5] = [&[0], &[1, 2], &[3], &[4, 5], &[6]];

fn fracsec(k: usize) -> u32 {
    33_333 * k as u32
}

/// Data frame payload (c37118.md §4): STAT, 2 × (re, im), FREQ, DFREQ, ANALOG, DIGITAL.
fn data_payload(s: &Sample) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend(s.stat.to_be_bytes());
    for (re, im) in [s.va, s.ia] {
        p.extend(re.to_be_bytes());
        p.extend(im.to_be_bytes());
    }
    p.extend(s.freq_mhz.to_be_bytes());
    p.extend(s.dfreq.to_be_bytes());
    p.extend(s.analog.to_be_bytes());
    p.extend(s.digital.to_be_bytes());
    assert_eq!(p.len(), 18);
    p
}

fn data_frame(k: usize) -> Vec<u8> {
    c37_frame(0, fracsec(k), &data_payload(&SAMPLES[k]))
}

/// Engineering values of a rectangular integer phasor: (re, im, mag, ang_deg).
fn phasor(raw: (i16, i16), phunit: u32) -> (f64, f64, f64, f64) {
    let scale = f64::from(phunit & 0x00FF_FFFF) * 1e-5;
    let re = f64::from(raw.0) * scale;
    let im = f64::from(raw.1) * scale;
    let mag = (re * re + im * im).sqrt();
    let ang = im.atan2(re) * 180.0 / std::f64::consts::PI;
    (re, im, mag, ang)
}

/// PDC 10.0.0.1:40000 → PMU 10.0.0.2:4712: "send CFG-2", the CFG-2 reply, with `turn_on` a
/// "turn on data" command after it, then FIN/FIN/ACK at `close_at` at the earliest.
fn tcp_script(close_at: u64, turn_on: bool) -> Tcp {
    let mut t = Tcp::new(ep("10.0.0.1", 40000), ep("10.0.0.2", 4712), 1000, 9000);
    t.handshake();
    t.data(C2S, &cmd(5));
    t.ack(S2C);
    t.data(S2C, &cfg2());
    t.ack(C2S);
    if turn_on {
        t.data(C2S, &cmd(2));
        t.ack(S2C);
    }
    if t.clock < close_at {
        t.clock = close_at;
    }
    t.close();
    t
}

/// PMU 10.0.0.2:4713 → PDC 10.0.0.1:4713, data frames only, from `start`.
fn udp_script(start: u64) -> Udp {
    let mut u = Udp::new(ep("10.0.0.2", 4713), ep("10.0.0.1", 4713));
    u.clock = start;
    u.step = NS / 30;
    for dg in DATAGRAMS {
        let payload: Vec<u8> = dg.iter().flat_map(|&k| data_frame(k)).collect();
        u.send(0, &payload);
    }
    u
}

/// UDP data starts 100 ms after the first TCP packet.
const UDP_START: u64 = T0 + 100_000_000;

/// The TCP connection of a capture, if any: when it closes, and whether the PDC sends "turn on
/// data" after the CFG-2.
struct TcpPart {
    close_at: u64,
    turn_on: bool,
}

fn write_capture(name: &str, tcp: Option<TcpPart>) -> PathBuf {
    let link = Link::Eth(vec![]);
    let mut sets = vec![frames(&udp_script(UDP_START).pkts, &link, 0)];
    if let Some(t) = tcp {
        sets.push(tcp_script(t.close_at, t.turn_on).frames(&link));
    }
    let all = merge(sets);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c37118_tcp_udp");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join(name);
    std::fs::write(&path, pcap_le(1, &all)).expect("write capture");
    path
}

/// `seextract -q CAPTURE | sedecode -q`, as JSON values.
fn extract_and_decode(cap: &Path) -> Vec<Value> {
    let ex = Command::new(env!("CARGO_BIN_EXE_seextract"))
        .arg("-q")
        .arg(cap)
        .output()
        .expect("run seextract");
    assert!(
        ex.status.success(),
        "seextract: {}",
        String::from_utf8_lossy(&ex.stderr)
    );
    let mut dec = Command::new(env!("CARGO_BIN_EXE_sedecode"))
        .arg("-q")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sedecode");
    let mut stdin = dec.stdin.take().expect("stdin");
    let input = ex.stdout.clone();
    let writer = std::thread::spawn(move || stdin.write_all(&input).expect("feed sedecode"));
    let out = dec.wait_with_output().expect("sedecode output");
    writer.join().expect("writer");
    assert!(
        out.status.success(),
        "sedecode: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn data_records(recs: &[Value]) -> Vec<&Value> {
    recs.iter()
        .filter(|r| r["type"] == "decoded" && r["frame"] == "data")
        .collect()
}

fn close(got: &Value, want: f64, what: &str) {
    let g = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {got}"));
    let ok = g == want || (g - want).abs() <= 1e-9 * g.abs().max(want.abs());
    assert!(ok, "{what}: got {g}, want {want}");
}

/// The records of the UDP data frames, in order, with the datagram layout.
fn check_udp_layout(data: &[&Value]) {
    let n: usize = DATAGRAMS.iter().map(|d| d.len()).sum();
    assert_eq!(data.len(), n, "one record per UDP data frame");
    let mut k = 0;
    for (pkt_in_flow, dg) in DATAGRAMS.iter().enumerate() {
        let mut offset = None;
        for &i in *dg {
            let r = data[k];
            assert_eq!(i, k);
            assert_eq!(r["transport"], "udp", "{r}");
            assert_eq!(r["src"], "10.0.0.2", "{r}");
            assert_eq!(r["sport"], 4713, "{r}");
            assert_eq!(r["dst"], "10.0.0.1", "{r}");
            assert_eq!(r["dport"], 4713, "{r}");
            assert_eq!(r["idcode"], IDCODE, "{r}");
            assert_eq!(r["framesize"], 34, "{r}");
            assert_eq!(r["fracsec"], fracsec(k), "{r}");
            assert_eq!(r["chk_ok"], true, "{r}");
            // Two frames of one datagram come from the same packet, one after the other.
            let pkt = r["pkt"].as_u64().expect("pkt");
            if let Some((p, o)) = offset {
                assert_eq!(pkt, p, "same datagram, datagram {pkt_in_flow}");
                assert_eq!(r["offset"].as_u64(), Some(o + 34));
            }
            offset = Some((pkt, r["offset"].as_u64().expect("offset")));
            k += 1;
        }
    }
}

fn check_decoded(r: &Value, k: usize) {
    let s = &SAMPLES[k];
    assert_eq!(r["type"], "decoded", "{r}");
    assert_eq!(r["frame"], "data", "{r}");
    assert_eq!(r["decoded"], true, "frame {k}: {r}");
    assert_eq!(r["cfg_frame"], "cfg2", "{r}");
    assert_eq!(r["anomalies"], serde_json::json!([]), "{r}");
    close(
        &r["device_time"],
        f64::from(SOC) + f64::from(fracsec(k)) / f64::from(TIME_BASE),
        "device_time",
    );
    let pmus = r["pmus"].as_array().expect("pmus");
    assert_eq!(pmus.len(), 1, "{r}");
    let p = &pmus[0];
    assert_eq!(p["idcode"], IDCODE);
    assert_eq!(p["stn"], "SEKIT PMU");
    assert_eq!(p["stat"], s.stat, "frame {k}");
    assert_eq!(p["polar"], false);
    let ph = p["phasors"].as_array().expect("phasors");
    assert_eq!(ph.len(), 2, "{r}");
    for (j, (raw, unit)) in [(s.va, PHUNIT_VA), (s.ia, PHUNIT_IA)]
        .into_iter()
        .enumerate()
    {
        let what = |f: &str| format!("frame {k} phasor {j} {f}");
        let (re, im, mag, ang) = phasor(raw, unit);
        assert_eq!(
            ph[j]["raw"],
            serde_json::json!([raw.0, raw.1]),
            "{}",
            what("raw")
        );
        close(&ph[j]["re"], re, &what("re"));
        close(&ph[j]["im"], im, &what("im"));
        close(&ph[j]["mag"], mag, &what("mag"));
        close(&ph[j]["ang_deg"], ang, &what("ang_deg"));
    }
    assert_eq!(p["freq_raw"], s.freq_mhz, "frame {k}");
    assert_eq!(p["dfreq_raw"], s.dfreq, "frame {k}");
    close(
        &p["freq"],
        60.0 + f64::from(s.freq_mhz) / 1000.0,
        &format!("frame {k} freq"),
    );
    close(
        &p["dfreq"],
        f64::from(s.dfreq) / 100.0,
        &format!("frame {k} dfreq"),
    );
    let an = p["analogs"].as_array().expect("analogs");
    assert_eq!(an.len(), 1, "{r}");
    assert_eq!(an[0]["raw"], s.analog, "frame {k}");
    // CFG-2 analog scaling is user-defined: not applied.
    assert_eq!(an[0]["scaled"], Value::Null, "frame {k}");
    assert_eq!(p["digitals"], serde_json::json!([s.digital]), "frame {k}");
}

#[test]
fn hand_computed_values_of_the_first_frame() {
    // 14635 counts × 9.15527 V = 133 987.376 45 V at 0° (Annex D's numbers).
    let (re, im, mag, ang) = phasor(SAMPLES[0].va, PHUNIT_VA);
    assert!((re - 133_987.376_45).abs() < 1e-6 && im == 0.0 && mag == re && ang == 0.0);
    // (−1000, 1000) × 0.45776 A = −457.76 + j457.76 A: 647.37… A at 135°.
    let (re, im, mag, ang) = phasor(SAMPLES[0].ia, PHUNIT_IA);
    assert!((re + 457.76).abs() < 1e-9 && (im - 457.76).abs() < 1e-9);
    assert!((mag - 457.76 * 2f64.sqrt()).abs() < 1e-9);
    assert!((ang - 135.0).abs() < 1e-9);
    // FREQ −125 mHz → 59.875 Hz; DFREQ 150 → 1.5 Hz/s.
    assert_eq!(60.0 + f64::from(SAMPLES[2].freq_mhz) / 1000.0, 59.875);
    assert_eq!(f64::from(SAMPLES[2].dfreq) / 100.0, 1.5);
}

#[test]
fn configuration_over_tcp_decodes_data_over_udp() {
    // The TCP connection closes before the first datagram.
    let cap = write_capture(
        "tcp_cfg_udp_data.pcap",
        Some(TcpPart {
            close_at: 0,
            turn_on: false,
        }),
    );
    let recs = extract_and_decode(&cap);
    // The TCP side: the command and the CFG-2, decoded as such.
    let tcp: Vec<&Value> = recs
        .iter()
        .filter(|r| r["type"] == "decoded" && r["transport"] == "tcp")
        .collect();
    assert_eq!(tcp.len(), 2, "{tcp:?}");
    assert_eq!(tcp[0]["frame"], "cmd");
    assert_eq!(tcp[0]["cmd_name"], "send_cfg2");
    assert_eq!(tcp[0]["dport"], 4712);
    assert_eq!(tcp[1]["frame"], "cfg2");
    assert_eq!(tcp[1]["sport"], 4712);
    assert_eq!(tcp[1]["chk_ok"], true);
    assert_eq!(tcp[1]["anomalies"], serde_json::json!([]), "{}", tcp[1]);
    let cfg = &tcp[1]["pmus"][0];
    close(&cfg["phunit_scale"][0], 9.15527, "VA scale");
    close(&cfg["phunit_scale"][1], 0.45776, "IA scale");
    assert_eq!(cfg["phunit"], serde_json::json!([PHUNIT_VA, PHUNIT_IA]));
    assert_eq!(cfg["fnom"], 60);
    // Every UDP data frame, decoded with the TCP configuration.
    let data = data_records(&recs);
    check_udp_layout(&data);
    for (k, r) in data.iter().enumerate() {
        check_decoded(r, k);
    }
}

#[test]
fn without_the_tcp_configuration_data_is_not_guessed() {
    let cap = write_capture("udp_data_only.pcap", None);
    let recs = extract_and_decode(&cap);
    assert!(
        recs.iter().all(|r| r["transport"] != "tcp"),
        "no TCP in this capture"
    );
    let data = data_records(&recs);
    check_udp_layout(&data);
    for (k, r) in data.iter().enumerate() {
        assert_eq!(r["decoded"], false, "frame {k}: {r}");
        assert_eq!(r["cfg_frame"], Value::Null, "{r}");
        assert_eq!(r["pmus"], serde_json::json!([]), "{r}");
        let hex: String = data_payload(&SAMPLES[k])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(r["payload"], hex, "raw payload kept for a re-decode");
        let anomalies = r["anomalies"].as_array().expect("anomalies");
        assert!(
            anomalies
                .iter()
                .any(|a| a.as_str().is_some_and(|s| s.contains("no configuration"))),
            "frame {k}: {r}"
        );
    }
}

#[test]
fn configuration_over_an_open_tcp_connection_with_turn_on_data() {
    // Realistic TCP/UDP mode: the PDC asks for the CFG-2, then turns data on, and keeps its
    // command connection open while the PMU streams over UDP.
    let cap = write_capture(
        "tcp_open_turn_on_udp_data.pcap",
        Some(TcpPart {
            close_at: UDP_START + NS,
            turn_on: true,
        }),
    );
    let recs = extract_and_decode(&cap);
    let data = data_records(&recs);
    check_udp_layout(&data);
    for (k, r) in data.iter().enumerate() {
        check_decoded(r, k);
    }
}

#[test]
fn configuration_over_a_tcp_connection_that_stays_open() {
    // The PDC's command connection stays open while the PMU streams over UDP; it closes only
    // after the last datagram.
    let cap = write_capture(
        "tcp_open_udp_data.pcap",
        Some(TcpPart {
            close_at: UDP_START + NS,
            turn_on: false,
        }),
    );
    let recs = extract_and_decode(&cap);
    let data = data_records(&recs);
    check_udp_layout(&data);
    for (k, r) in data.iter().enumerate() {
        check_decoded(r, k);
    }
}
