//! The session against the Annex D examples (c37118.md §10), hand-built CFG-1/2/3 frames,
//! configuration changes, CFG-3 continuation, and mutated or truncated input.

use super::*;
use crate::protocols::c37118::decode::{Config, Num};
use crate::protocols::c37118::frame::CRC;
use crate::protocols::c37118::testdata::*;
use crate::util::hex;

#[test]
fn annex_d2_config() {
    let f = annex_d2();
    // 14 + 4 + 2 + 16 + 2 + 2 + 6 + 16·(4+3+16) + 16 + 12 + 4 + 2 + 2 + 2 + 2 = 454
    assert_eq!(f.len(), 454);
    let mut d = Session::new();
    let r = d.decode(&f);
    assert_eq!(r.frame, "cfg2");
    assert!(r.chk_ok && r.anomalies.is_empty(), "{:?}", r.anomalies);
    // TQ 0x56 = 0101 0110: leap delete, no occurred, pending, MSG_TQ 6 (10^-4 s);
    // count 0x071098 = 463 000 → 0.463 s at TIME_BASE 1e6 (c37118.md §2).
    assert_eq!(r.time_quality, Some(0x56));
    assert_eq!(r.fracsec, Some(463_000));
    let tq = r.tq.as_ref().unwrap();
    assert_eq!(tq.leap_direction, "delete");
    assert!(!tq.leap_occurred && tq.leap_pending);
    assert_eq!(tq.msg_tq, 6);
    assert_close(tq.max_error_s, 1e-4, 1e-18);
    assert_close(r.device_time, 1_149_580_800.463, 1e-6);
    let c = r.config().unwrap();
    let p = &c.pmus[0];
    assert_eq!(p.phunit_type.as_deref(), Some(&["V", "V", "V", "I"][..]));
    // 0x0DF847 = 915 527 → 9.15527 V/count; 0x00B2D0 = 45 776 → 0.45776 A/count.
    let sc = p.phunit_scale.as_ref().unwrap();
    assert!(close(sc[0], 9.15527, 1e-12) && close(sc[3], 0.45776, 1e-12));
    assert_eq!(p.anunit_type.as_deref(), Some(&["pow", "rms", "peak"][..]));
    assert_eq!(p.anunit_scale.as_deref(), Some(&[1, 1, 1][..]));
    assert_eq!(p.dgnam.len(), 16);
    assert_eq!(p.fnom, 60);
    assert_eq!(c.data_len(), 52 - 16);
}

#[test]
fn annex_d1_data_with_d2() {
    let d1 = unhex(ANNEX_D1);
    assert_eq!(d1.len(), 52);
    let mut d = Session::new();
    // Before the configuration: not decoded, never guessed.
    let r = d.decode(&d1);
    assert!(r.chk_ok);
    let df = r.data().unwrap();
    assert!(!df.decoded && df.pmus.is_empty() && df.payload.is_some());
    assert!(r.anomalies.iter().any(|a| a.contains("no configuration")));
    assert_eq!(r.device_time, None);

    d.decode(&annex_d2());
    let r = d.decode(&d1);
    assert_eq!(r.frame, "data");
    assert_eq!(r.chk, Some(0xD43F));
    assert!(r.chk_ok && r.anomalies.is_empty(), "{:?}", r.anomalies);
    // SOC 0x44853600 = 1 149 580 800; FRACSEC 0x41B1 = 16 817 → +0.016817 s.
    assert_close(r.device_time, 1_149_580_800.016_817, 1e-6);
    let df = r.data().unwrap();
    assert!(df.decoded);
    assert_eq!(df.cfg_frame, Some("cfg2"));
    assert_eq!(df.cfg_index, Some(1));
    let p = &df.pmus[0];
    assert_eq!(p.stat, 0);
    assert_eq!(p.data_error, "ok");
    // VA = 0x392B + j0 = 14 635 counts × 9.15527 V = 133 987.376 45 V (14 635 × 9 = 131 715,
    // 14 635 × 0.15527 = 2 272.376 45), angle 0°.
    let va = &p.phasors[0];
    assert_eq!(va.raw, [Num::Int(14635), Num::Int(0)]);
    assert_close(va.re, 133_987.376_45, 1e-6);
    assert_close(va.im, 0.0, 1e-12);
    assert_close(va.mag, 133_987.376_45, 1e-6);
    assert_close(va.ang_deg, 0.0, 1e-12);
    // VB = 0xE36A + j0xCE7C = −7 318 − j12 676: −7 318 × 9.15527 = −66 998.265 86,
    // −12 676 × 9.15527 = −116 052.202 52; |VB| = √(53 553 124 + 160 680 976) × 9.15527
    // = 14 636.73... × 9.15527; angle atan2(−12 676, −7 318) ≈ −120.0°.
    let vb = &p.phasors[1];
    assert_eq!(vb.raw, [Num::Int(-7318), Num::Int(-12676)]);
    assert_close(vb.re, -66_998.265_86, 1e-5);
    assert_close(vb.im, -116_052.202_52, 1e-5);
    assert_close(vb.mag, 214_234_100f64.sqrt() * 9.15527, 1e-6);
    assert_close(vb.ang_deg, -120.0, 0.01);
    // VC = −7 318 + j12 675 (0x3183): im = 12 675 × 9.15527 = 116 043.047 25, ≈ +120°.
    let vc = &p.phasors[2];
    assert_close(vc.im, 116_043.047_25, 1e-5);
    assert_close(vc.ang_deg, 120.0, 0.01);
    // I1 = 0x0444 = 1 092 counts × 0.45776 A = 499.873 92 A, 0°.
    let i1 = &p.phasors[3];
    assert_close(i1.re, 499.873_92, 1e-9);
    assert_close(i1.ang_deg, 0.0, 1e-12);
    // FREQ 0x09C4 = 2 500 mHz → 60 + 2.5 = 62.5 Hz; DFREQ 0.
    assert_eq!(p.freq_raw, Num::Int(2500));
    assert_close(p.freq, 62.5, 1e-12);
    assert_close(p.dfreq, 0.0, 1e-12);
    // Analogs 0x42C80000 = 100.0, 0x447A0000 = 1000.0, 0x461C4000 = 10 000.0 (floats,
    // no CFG-3 ANSCALE → scaled null).
    let an: Vec<Num> = p.analogs.iter().map(|a| a.raw).collect();
    assert_eq!(
        an,
        [Num::Float(100.0), Num::Float(1000.0), Num::Float(10000.0)]
    );
    assert!(p.analogs.iter().all(|a| a.scaled.is_none()));
    assert_eq!(p.digitals, [0x3C12]);

    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["proto"], "c37118");
    assert_eq!(json["frame"], "data");
    assert_eq!(json["decoded"], true);
    assert_eq!(
        json["pmus"][0]["phasors"][0]["raw"],
        serde_json::json!([14635, 0])
    );
    assert_eq!(json["pmus"][0]["freq"], 62.5);
    assert_eq!(json["pmus"][0]["freq_raw"], 2500);
}

#[test]
fn annex_d3_command() {
    let d3 = unhex(ANNEX_D3);
    let mut d = Session::new();
    let r = d.decode(&d3);
    assert_eq!(r.frame, "cmd");
    assert!(r.chk_ok);
    assert_eq!(r.chk, Some(0xCE00));
    assert_eq!(r.idcode, Some(7734));
    assert_eq!(r.soc, Some(0x4485_6030));
    // FRACSEC 0x0F0BBFD0: TQ 0x0F (MSG_TQ fault), count 0x0BBFD0 = 770 000.
    assert_eq!(r.time_quality, Some(0x0F));
    assert_eq!(r.tq.as_ref().unwrap().clock, "fault");
    assert_eq!(r.fracsec, Some(770_000));
    assert_eq!(r.device_time, None, "no TIME_BASE known yet");
    match &r.body {
        Body::Command(c) => {
            assert_eq!(c.cmd, 2);
            assert_eq!(c.cmd_name, "turn_on_data");
            assert_eq!(c.ext, "");
        }
        b => panic!("{b:?}"),
    }
    // With the D.2 configuration of the same IDCODE, its TIME_BASE applies:
    // 0x44856030 = 1 149 591 600, + 770 000 / 1e6.
    d.decode(&annex_d2());
    let r = d.decode(&d3);
    // Record version 2: a command frame's device time never depends on a configuration
    // (same bytes, same record; docs/FORMAT.md).
    assert_eq!(r.device_time, None);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["cmd"], 2);
    assert_eq!(json["cmd_name"], "turn_on_data");
    assert_eq!(json["ext"], "");
}

/// EXTFRAME kept as hex (command names: `codes::tests::command_names`).
#[test]
fn command_ext() {
    let f = frame(0x41, 5, 0, 0, &[0, 8, 0xde, 0xad, 0xbe, 0xef]);
    let r = Session::new().decode(&f);
    match r.body {
        Body::Command(c) => assert_eq!((c.cmd, c.ext.as_str()), (8, "deadbeef")),
        b => panic!("{b:?}"),
    }
}

#[test]
fn header_frames_and_unknown_types() {
    let mut d = Session::new();
    let r = d.decode(&frame(0x11, 1, 0, 0, b"PMU \xe9t\xe9"));
    assert_eq!(r.frame, "header");
    assert_eq!(
        r.body,
        Body::Header {
            text: "PMU été".into()
        }
    );
    // The 16-byte empty header frame of c37_1100_clean_tcp.
    let r = d.decode(&unhex("aa1100100001597589330f04611f5105"));
    assert_eq!(r.frame, "header");
    assert!(r.chk_ok);
    assert_eq!(
        r.body,
        Body::Header {
            text: String::new()
        }
    );
    // Reserved type 6 and SYNC bit 7: kept with the payload, flagged.
    let r = d.decode(&frame(0xE1, 1, 0, 0, &[1, 2, 3]));
    assert_eq!(r.frame, "unknown");
    assert_eq!(r.frame_type, Some(6));
    assert_eq!(r.sync, Some(0xAAE1));
    assert_eq!(
        r.body,
        Body::Raw {
            payload: "010203".into()
        }
    );
    assert!(r.anomalies.iter().any(|a| a.contains("bit 7")));
    assert!(r
        .anomalies
        .iter()
        .any(|a| a.contains("reserved frame type 6")));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["payload"], "010203");
}

/// Every prefix of every kind of frame decodes without panicking (the pure parsers on every
/// prefix of their payload: `decode::tests::parsers_on_every_prefix`).
#[test]
fn truncated_inputs_never_panic() {
    for f in &all_frames() {
        let mut d = Session::new();
        d.decode(&annex_d2());
        for n in 0..=f.len() {
            let r = d.decode(&f[..n]);
            let whole = usize::from(u16::from_be_bytes([f[2], f[3]])) == f.len();
            if whole && n < f.len() && n >= 16 {
                assert!(!r.anomalies.is_empty(), "prefix {n} without anomaly");
            }
        }
    }
    // A truncated data frame is still a data record, undecoded, with its bytes.
    let d1 = unhex(ANNEX_D1);
    let r = Session::new().decode(&d1[..30]);
    assert_eq!(r.frame, "data");
    let df = r.data().unwrap();
    assert!(!df.decoded && df.payload.as_deref() == Some(&hex::encode(&d1[14..30])[..]));
}

/// Mutated valid frames (CHK recomputed, so the body parsers run) and random bytes never
/// panic (a small deterministic fuzz; see also fuzz/ for the real one).
#[test]
fn mutations_never_panic() {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let bases = [
        unhex(ANNEX_D1),
        unhex(ANNEX_D3),
        annex_d2(),
        cfg3_whole(),
        cfg3_data(),
    ];
    let mut d = Session::new();
    d.decode(&annex_d2());
    d.decode(&cfg3_whole());
    for i in 0..20_000 {
        let mut f = bases[i % bases.len()].clone();
        for _ in 0..1 + rnd() % 4 {
            let at = (rnd() as usize) % f.len();
            f[at] = rnd() as u8;
        }
        if rnd() % 2 == 0 {
            // Keep FRAMESIZE consistent and the CHK good.
            let n = f.len() as u16;
            f[2..4].copy_from_slice(&n.to_be_bytes());
            let c = CRC.checksum(&f[..f.len() - 2]);
            let l = f.len();
            f[l - 2..].copy_from_slice(&c.to_be_bytes());
        }
        let r = d.decode(&f);
        serde_json::to_string(&r).unwrap();
        let junk: Vec<u8> = (0..rnd() % 64).map(|_| rnd() as u8).collect();
        d.decode(&junk);
    }
}

/// A CFG-2 with forged counts is reported raw (the parsers: `decode::tests::forged_counts`),
/// and input that is no frame is "malformed".
#[test]
fn forged_counts() {
    let r = Session::new().decode(&frame(0x31, 1, 0, 0, &forged_cfg12()));
    assert_eq!(r.frame, "cfg2");
    assert!(matches!(r.body, Body::Raw { .. }));
    // Malformed inputs.
    let r = Session::new().decode(&[0xAA]);
    assert_eq!(r.frame, "malformed");
    let mut bad = unhex(ANNEX_D3);
    bad[0] = 0xAB;
    assert_eq!(Session::new().decode(&bad).frame, "malformed");
    let mut bad = unhex(ANNEX_D3);
    bad[17] ^= 1;
    let r = Session::new().decode(&bad);
    assert!(
        !r.chk_ok
            && r.body
                != Body::Raw {
                    payload: String::new()
                }
    );
}

fn check_cfg3(c: &Config) {
    assert_eq!(c.time_base, 1_000_000);
    assert_eq!(c.num_pmu, 2);
    assert_eq!(c.data_rate, -5);
    assert_eq!(c.frames_per_second, Some(0.2));
    let a = &c.pmus[0];
    assert_eq!((a.stn.as_str(), a.idcode, a.format), ("Alpha", 11, 0x0B));
    assert!(a.polar && a.phasors_float && !a.analogs_float && a.freq_float);
    assert_eq!(
        a.g_pmu_id.as_deref(),
        Some("000102030405060708090a0b0c0d0e0f")
    );
    assert_eq!(
        (a.phnam.clone(), a.annam.clone()),
        (vec!["VA".to_string(), "IA".into()], vec!["AN1".to_string()])
    );
    assert!(a.dgnam.is_empty());
    assert_eq!(
        a.phscale.as_deref(),
        Some(&[(0x0100, 0x04, 0, 1.0, 0.0), (0, 0x0C, 7, 1.0, 0.0)][..])
    );
    assert_eq!(a.anscale.as_deref(), Some(&[[0.5, 10.0]][..]));
    assert_eq!(
        (a.lat, a.lon, a.elev),
        (Some(Some(46.5)), Some(Some(6.6)), Some(None))
    );
    assert_eq!(a.svc_class.as_deref(), Some("M"));
    assert_eq!((a.window, a.grp_dly), (Some(40_000), Some(-100)));
    assert_eq!((a.fnom, a.fnom_raw, a.cfgcnt), (50, 1, 3));
    assert!(a.phunit.is_none());
    let b = &c.pmus[1];
    assert_eq!((b.stn.as_str(), b.idcode, b.format), ("Beta", 12, 0));
    assert_eq!(b.dgnam.len(), 16);
    assert_eq!(b.dgnam[15], "D15");
    assert_eq!(b.digunit, [[0x000F, 0xFFFF]]);
    assert_eq!(b.lat, Some(None));
    assert_eq!(b.elev, Some(Some(12.0)));
    assert_eq!((b.fnom, b.cfgcnt), (60, 4));
    // Data sizes: Alpha 2 + 2·8 + 8 + 1·2 = 28; Beta 2 + 4 + 4 + 2 = 12.
    assert_eq!(c.data_len(), 40);
}

fn check_cfg3_data(r: &Decoded) {
    assert!(r.chk_ok);
    let df = r.data().unwrap();
    assert!(df.decoded, "{:?}", r.anomalies);
    assert_eq!(df.cfg_frame, Some("cfg3"));
    let a = &df.pmus[0];
    assert_eq!(a.data_error, "test_mode");
    // VA: 230 ∠ −30°: re = 230·cos(−30°) = 199.1858, im = −115.
    let va = &a.phasors[0];
    assert_close(va.mag, 230.0, 1e-9);
    assert_close(va.ang_deg, -30.0, 1e-5);
    assert_close(va.re, 230.0 * 3f64.sqrt() / 2.0, 1e-4);
    assert_close(va.im, -115.0, 1e-4);
    // IA: NaN magnitude → absent, engineering values null.
    assert_eq!(a.phasors[1].mag, None);
    assert_eq!(a.phasors[1].re, None);
    assert_close(a.freq, 50.01, 1e-5);
    assert_close(a.dfreq, -0.25, 0.0);
    // AN1: 100 × 0.5 + 10 = 60.
    assert_eq!(a.analogs[0].raw, Num::Int(100));
    assert_close(a.analogs[0].scaled, 60.0, 0.0);
    let b = &df.pmus[1];
    // STAT 0x2031: bit 13 sync error; low byte 0x31 = 0011 0001: bits 5–4 = 11 →
    // unlocked > 1000 s (3), trigger reason 1 (magnitude low); PMU_TQ 0.
    assert!(b.sync_error && !b.trigger);
    assert_eq!((b.unlocked_time, b.trigger_reason, b.pmu_tq), (3, 1, 0));
    assert_eq!(b.trigger_reason_name, "magnitude_low");
    // VB: (3 + j4) × Y 2 = 6 + j8 = 10 ∠ 53.1301°, minus θ 0.5 rad (28.6479°) →
    // 10 ∠ 24.4822°: re = 10·cos(0.927295 − 0.5) = 9.1006, im = 4.1447.
    let vb = &b.phasors[0];
    assert_eq!(vb.raw, [Num::Int(3), Num::Int(4)]);
    assert_close(vb.mag, 10.0, 1e-9);
    assert_close(vb.ang_deg, 53.130_102 - 28.647_890, 1e-5);
    assert_close(vb.re, 10.0 * (0.927_295_218f64 - 0.5).cos(), 1e-6);
    assert_close(vb.im, 10.0 * (0.927_295_218f64 - 0.5).sin(), 1e-6);
    // Integer FREQ 0 mHz at 60 Hz nominal.
    assert_close(b.freq, 60.0, 0.0);
    assert_eq!(b.digitals, [0xA5A5]);
}

#[test]
fn cfg3_whole_frame() {
    let mut d = Session::new();
    let r = d.decode(&cfg3_whole());
    assert_eq!(r.frame, "cfg3");
    assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);
    let c = r.config().unwrap();
    assert_eq!((c.cont_idx, c.fragments), (Some(0), None));
    check_cfg3(c);
    assert_close(r.device_time, 1_700_000_000.25, 1e-6);
    check_cfg3_data(&d.decode(&cfg3_data()));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["pmus"][0]["elev"], serde_json::Value::Null);
    assert_eq!(json["pmus"][0]["svc_class"], "M");
    assert_eq!(
        json["pmus"][0]["phscale"][0],
        serde_json::json!([256, 4, 0, 1.0, 0.0])
    );
    assert_eq!(
        json["pmus"][0]["anscale"][0],
        serde_json::json!([0.5, 10.0])
    );
}

#[test]
fn cfg3_continuation() {
    let frags = cfg3_fragments();
    let mut d = Session::new();
    // Data before the last fragment: no configuration yet.
    let r = d.decode(&frags[0]);
    assert_eq!(r.frame, "cfg3");
    match &r.body {
        Body::Fragment(f) => {
            assert!(f.fragment);
            assert_eq!((f.cont_idx, f.fragments), (1, 1));
        }
        b => panic!("{b:?}"),
    }
    assert!(!d.decode(&cfg3_data()).data().unwrap().decoded);
    let r = d.decode(&frags[1]);
    assert!(matches!(&r.body, Body::Fragment(f) if f.cont_idx == 2 && f.fragments == 2));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["fragment"], true);
    let r = d.decode(&frags[2]);
    assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);
    let c = r.config().unwrap();
    assert_eq!((c.cont_idx, c.fragments), (Some(0xFFFF), Some(3)));
    check_cfg3(c);
    check_cfg3_data(&d.decode(&cfg3_data()));

    // Out of order, or a last fragment alone: fragments, no configuration.
    // A missing middle fragment cannot be noticed from CONT_IDX alone (the last one is
    // 0xFFFF whatever came before); the joined bytes then fail to parse.
    let mut d = Session::new();
    d.decode(&frags[0]);
    let r = d.decode(&frags[2]);
    assert!(r.config().is_none());
    assert!(d.config(77).is_none());
    let mut d = Session::new();
    let r = d.decode(&frags[2]);
    assert!(matches!(r.body, Body::Fragment(_)));
    assert!(r.anomalies[0].contains("without a first fragment"));
    let mut d = Session::new();
    d.decode(&frags[1]);
    d.decode(&frags[0]);
    d.decode(&frags[0]);
    let r = d.decode(&frags[1]);
    assert!(matches!(r.body, Body::Fragment(_)));
    let r = d.decode(&frags[1]);
    assert!(r.anomalies.iter().any(|a| a.contains("CONT_IDX 2 where 3")));
    assert!(d.config(77).is_none());
    // A bad CHK in a fragment drops the assembly.
    let mut d = Session::new();
    d.decode(&frags[0]);
    let mut bad = frags[1].clone();
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    d.decode(&bad);
    let r = d.decode(&frags[2]);
    assert!(r.config().is_none());
    assert!(d.config(77).is_none());
}

#[test]
fn configuration_change_mid_stream() {
    let mut d = Session::new();
    assert_eq!(d.decode(&cfg2_rect_int(9, 2, 1)).frame, "cfg2");
    let r = d.decode(&data_rect_int(9, &[(1, 2), (3, 4)], 20));
    let df = r.data().unwrap();
    assert!(df.decoded);
    assert_eq!(df.cfg_index, Some(0));
    assert_eq!(df.pmus[0].phasors.len(), 2);
    assert_close(df.pmus[0].phasors[1].im, 4.0, 1e-12);
    // 50 Hz + 20 mHz.
    assert_close(df.pmus[0].freq, 50.02, 1e-12);
    assert_close(r.device_time, 1001.5, 1e-12);
    // Config B: 3 phasors. The 2-phasor data frame no longer matches → undecoded.
    d.decode(&cfg2_rect_int(9, 3, 2));
    let r = d.decode(&data_rect_int(9, &[(1, 2), (3, 4)], 20));
    assert!(!r.data().unwrap().decoded);
    assert!(
        r.anomalies[0].contains("does not match"),
        "{:?}",
        r.anomalies
    );
    let r = d.decode(&data_rect_int(9, &[(1, 2), (3, 4), (-5, i16::MIN)], -20));
    let df = r.data().unwrap();
    assert!(df.decoded);
    assert_eq!(df.cfg_index, Some(2));
    assert_eq!(df.pmus[0].phasors.len(), 3);
    // 0x8000 → absent.
    assert_eq!(df.pmus[0].phasors[2].re, None);
    assert_close(df.pmus[0].freq, 49.98, 1e-12);
    // Another IDCODE is unaffected.
    let r = d.decode(&data_rect_int(10, &[(1, 2)], 0));
    assert!(!r.data().unwrap().decoded);
}

#[test]
fn cfg1_is_only_a_fallback() {
    let mut cfg1 = cfg2_rect_int(9, 1, 1);
    cfg1[1] = 0x21;
    let n = cfg1.len();
    let crc = CRC.checksum(&cfg1[..n - 2]);
    cfg1[n - 2..].copy_from_slice(&crc.to_be_bytes());
    let mut d = Session::new();
    assert_eq!(d.decode(&cfg1).frame, "cfg1");
    let r = d.decode(&data_rect_int(9, &[(1, 2)], 0));
    assert_eq!(r.data().unwrap().cfg_frame, Some("cfg1"));
    d.decode(&cfg2_rect_int(9, 2, 1));
    // A later CFG-1 does not override the CFG-2.
    d.decode(&cfg1);
    let r = d.decode(&data_rect_int(9, &[(1, 2), (3, 4)], 0));
    assert_eq!(r.data().unwrap().cfg_frame, Some("cfg2"));
    assert!(
        !d.decode(&data_rect_int(9, &[(1, 2)], 0))
            .data()
            .unwrap()
            .decoded
    );
}

/// Configuration learned on one flow (e.g. TCP) decodes data with the same IDCODE from
/// another (e.g. UDP): the decoder has no notion of flows, only IDCODEs.
#[test]
fn config_then_data_from_another_flow() {
    let mut d = Session::new();
    // "TCP": command to 9, then the CFG-2 reply.
    d.decode(&frame(0x41, 9, 0, 0, &[0, 5]));
    d.decode(&cfg2_rect_int(9, 1, 7));
    // "UDP": data.
    let r = d.decode(&data_rect_int(9, &[(300, -400)], 0));
    let df = r.data().unwrap();
    assert!(df.decoded);
    assert_close(df.pmus[0].phasors[0].mag, 500.0, 1e-9);
}

/// A bad-CHK configuration is reported but not used.
#[test]
fn bad_chk_config_not_stored() {
    let mut f = cfg2_rect_int(9, 1, 7);
    let n = f.len();
    f[n - 1] ^= 1;
    let mut d = Session::new();
    let r = d.decode(&f);
    assert!(!r.chk_ok && r.config().is_some());
    assert!(d.config(9).is_none());
}

#[test]
fn polar_integer_and_float_phasors() {
    // Polar integer: magnitude 1000 counts × PHUNIT 1000e-5 = 0.01 V → 10 V; angle
    // 10 000 / 1e4 = 1 rad = 57.2958°; re = 10·cos 1 = 5.4030, im = 10·sin 1 = 8.4147.
    let pay = cfg12_payload(
        1_000_000,
        &[Pmu12 {
            stn: "P",
            idcode: 3,
            format: 0x0001,
            phnam: &["V"],
            annam: &["A"],
            dgnam: &[],
            phunit: &[1000],
            anunit: &[0x0100_0000],
            digunit: &[],
            fnom: 0,
            cfgcnt: 0,
        }],
        60,
    );
    let mut d = Session::new();
    d.decode(&frame(0x31, 3, 0, 0, &pay));
    let mut p = vec![0, 0];
    p.extend(1000u16.to_be_bytes());
    p.extend(10000i16.to_be_bytes());
    p.extend((-100i16).to_be_bytes());
    p.extend(250i16.to_be_bytes());
    p.extend((-7i16).to_be_bytes());
    let r = d.decode(&frame(0x01, 3, 0, 10, &p));
    let m = &r.data().unwrap().pmus[0];
    let v = &m.phasors[0];
    assert_close(v.mag, 10.0, 1e-12);
    assert_close(v.ang_deg, 57.295_779_513, 1e-8);
    assert_close(v.re, 5.403_023_059, 1e-8);
    assert_close(v.im, 8.414_709_848, 1e-8);
    // FREQ −100 mHz at 60 Hz → 59.9; DFREQ 250/100 = 2.5 Hz/s; analog raw −7, no scaling.
    assert_close(m.freq, 59.9, 1e-12);
    assert_close(m.dfreq, 2.5, 1e-12);
    assert_eq!(m.analogs[0].raw, Num::Int(-7));
    assert_eq!(m.analogs[0].scaled, None);
    // Angle 0x8000 = absent.
    p[4..6].copy_from_slice(&i16::MIN.to_be_bytes());
    let r = d.decode(&frame(0x01, 3, 0, 10, &p));
    assert_eq!(r.data().unwrap().pmus[0].phasors[0].mag, None);
}
