//! Every synthetic vector of the fixture set (frame.rs `VECTORS`), with the values of sel.md
//! §2 worked out by hand from the layouts.

use super::fastmeter::{self, Analog, Names};
use super::*;
use crate::protocols::sel::frame::tests::{hex, VECTORS};

fn vector(name: &str) -> Vec<u8> {
    hex(VECTORS.iter().find(|v| v.0 == name).unwrap().1)
}

fn opened(v: &[u8]) -> Opened<'_> {
    let o = open(v).unwrap();
    assert_eq!(o.chk_ok, Some(true));
    o
}

#[test]
fn relay_definitions() {
    let v = vector("sel551_A5C0_relay_definition");
    let mut a = Vec::new();
    let d = relay_def(opened(&v).body, &mut a).unwrap();
    assert!(a.is_empty());
    assert_eq!((d.n_protocols, d.n_fast_meter, d.n_status_flags), (2, 3, 3));
    let pairs: Vec<(&str, &str)> = d
        .fast_meter
        .iter()
        .map(|p| (p.config.as_str(), p.data.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [("A5C1", "A5D1"), ("A5C2", "A5D2"), ("A5C3", "A5D3")]
    );
    assert!(d
        .status_flags
        .iter()
        .all(|f| f.bit == 4 && f.bit_name == Some("STSET")));
    assert_eq!(d.status_flags[1].command, "A5C2");
    assert_eq!(d.status_flags[0].command_hex, "a5c100000000");
    let codes: Vec<u16> = d.protocols.iter().map(|p| p.code).collect();
    assert_eq!(codes, [0x0100, 0x0101]);
    assert_eq!(d.protocols[0].protocol, "SEL Fast Meter");
    assert!(d.protocols[0].fast_operate && !d.protocols[0].fast_message);
    assert_eq!(d.protocols[1].protocol, "LMD");

    let v = vector("sel2020_A5C0_relay_definition");
    let d = relay_def(opened(&v).body, &mut a).unwrap();
    assert_eq!((d.n_protocols, d.n_fast_meter, d.n_status_flags), (3, 0, 0));
    let codes: Vec<u16> = d.protocols.iter().map(|p| p.code).collect();
    assert_eq!(codes, [0x0100, 0x0001, 0x0002]);
    assert_eq!(d.protocols[2].protocol, "Modbus");
    // Counts larger than the body: an anomaly, nothing invented.
    assert!(relay_def(&hex("030303"), &mut a).is_none());
    assert_eq!(a.len(), 1);
}

fn sel551_config() -> FmConfig {
    let v = vector("sel551_A5C1_fastmeter_config");
    opened(&v);
    let mut a = Vec::new();
    let c = fastmeter::config(&v, &mut a).unwrap();
    assert!(a.is_empty());
    c
}

#[test]
fn fast_meter_configuration() {
    // sel.md §2.2 example SEL-551 (Table D.4).
    let c = sel551_config();
    assert_eq!(c.n_status_bytes, 1);
    assert_eq!(c.sf_location, "data");
    assert_eq!((c.n_scale_factors, c.n_analog, c.n_samples), (2, 4, 4));
    assert_eq!((c.n_digital_banks, c.n_calc_blocks), (15, 1));
    assert_eq!(c.analog_offset, 0x0C);
    assert_eq!(c.timestamp_offset, Some(0x2C));
    assert_eq!(c.digital_offset, Some(0x34));
    let names: Vec<&str> = c.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["IA", "IB", "IC", "IN"]);
    assert!(c.channels.iter().all(|c| c.kind == "int16"));
    assert!(c
        .channels
        .iter()
        .all(|c| c.sf_type.as_deref() == Some("float32")));
    let offs: Vec<u16> = c.channels.iter().map(|c| c.sf_offset).collect();
    assert_eq!(offs, [4, 4, 4, 8]);
    let k = &c.calc_blocks[0];
    assert_eq!(
        (k.line_cfg, k.calc_type, k.calc_name),
        (0, 3, "currents only")
    );
    assert_eq!((k.rotation, k.v_connection), ("ABC", "Y"));
    assert_eq!(
        (k.skew_offset, k.rs_offset, k.xs_offset),
        (None, None, None)
    );
    assert_eq!((k.ia, k.ib, k.ic, k.va), (Some(0), Some(1), Some(2), None));
    assert!(c.scale_factors.is_empty());
}

#[test]
fn fast_meter_data_with_its_configuration() {
    // sel.md §2.3: IA 10.0 A, IB −5 A, …, timestamp 2025-11-21 14:30:45.500 (the quarter-cycle
    // samples as tshark 4.0.17 shows them in the fixture's .txt).
    let c = sel551_config();
    let v = vector("sel551_A5D1_fastmeter_data_SYNTH");
    opened(&v);
    let mut a = Vec::new();
    let names = Names::default();
    let d = fastmeter::data(&v, &c, 0xC1, 7, &names, &mut a).unwrap();
    assert!(a.is_empty(), "{a:?}");
    assert_eq!((d.config.as_str(), d.config_record), ("A5C1", 7));
    assert_eq!(d.status, 0);
    assert_eq!(d.timestamp.as_deref(), Some("2025-11-21T14:30:45.500"));
    let want: [(&str, [f64; 4]); 4] = [
        ("IA", [10.0, 0.0, -10.0, 0.0]),
        ("IB", [-5.0, 8.66, 5.0, -8.66]),
        ("IC", [-5.0, -8.66, 5.0, 8.66]),
        ("IN", [0.0, 0.0, 0.0, 0.0]),
    ];
    for ((n, v), (wn, wv)) in d.values.0.iter().zip(want) {
        assert_eq!(n, wn);
        assert_eq!(v, &Analog::Samples(wv.to_vec()), "{n}");
    }
    // Digital banks at 0x34: bank 0 = 0x80, bank 2 = 0x01 (tshark rows 1 and 3).
    let pairs = d.digital.pairs();
    let bit = |n: &str| pairs.iter().find(|d| d.0 == n).map(|d| d.1);
    assert_eq!(pairs.len(), 15 * 8);
    assert_eq!(bit("bank0.bit7"), Some(1));
    assert_eq!(bit("bank0.bit6"), Some(0));
    assert_eq!(bit("bank2.bit0"), Some(1));
    // With DNA names (fixture ascii_payloads.txt), "*" dropped.
    let names = Names {
        dna: vec![
            ["EN", "TRIP", "TIME", "COMM", "SOTF", "RCRS", "RCLO", "51"]
                .map(String::from)
                .to_vec(),
            ["50A", "50B", "50C", "50N", "51T", "51NT", "*", "*"]
                .map(String::from)
                .to_vec(),
        ],
        ..Names::default()
    };
    let d = fastmeter::data(&v, &c, 0xC1, 7, &names, &mut a).unwrap();
    let pairs = d.digital.pairs();
    assert_eq!(pairs[0], ("EN".to_string(), 1));
    assert_eq!(pairs[1], ("TRIP".to_string(), 0));
    assert_eq!(pairs.len(), 8 + 6 + 13 * 8);
    assert_eq!(pairs[14].0, "bank2.bit7");
    // The names are built once for a DNA table and reused.
    let again = fastmeter::data(&v, &c, 0xC1, 7, &names, &mut a).unwrap();
    assert!(std::sync::Arc::ptr_eq(
        &again.digital.names,
        &d.digital.names
    ));
    // Shorter than the configuration asks: not decoded, an anomaly.
    let mut short = v[..40].to_vec();
    short[2] = 40;
    assert!(fastmeter::data(&short, &c, 0xC1, 7, &names, &mut a).is_none());
    assert!(a[0].contains("does not fit"), "{a:?}");
}

#[test]
fn scale_factors_in_the_configuration_and_phasors() {
    // A config built from the §2.2 layout: sfLoc 1, one f32 scale factor 0.5 at config
    // offset 16+10·2 = 36, channels VA (int16, sf at 36) and P (float32, none), 2 samples,
    // no timestamp, no digitals, analogs at 4.
    let mut body = hex("01 01 01 02 02 00 00 0004 FFFF FFFF");
    body.extend(b"VA\0\0\0\0");
    body.extend(hex("00 01 0024"));
    body.extend(b"P\0\0\0\0\0");
    body.extend(hex("01 FF 0000"));
    body.extend(0.5f32.to_be_bytes());
    body.push(0);
    let cfg_msg = crate::protocols::sel::frame::build(super::MsgType(0xC1), &body).unwrap();
    let mut a = Vec::new();
    let c = fastmeter::config(&cfg_msg, &mut a).unwrap();
    assert_eq!(c.sf_location, "config");
    assert_eq!(c.scale_factors, [0.5]);
    // Data: status, sample 1 (imaginary) VA=200 P=1.5, sample 2 (real) VA=−100 P=2.0.
    let mut d = hex("00");
    d.extend(200i16.to_be_bytes());
    d.extend(1.5f32.to_be_bytes());
    d.extend((-100i16).to_be_bytes());
    d.extend(2.0f32.to_be_bytes());
    d.push(0);
    let data_msg = crate::protocols::sel::frame::build(super::MsgType(0xD1), &d).unwrap();
    let r = fastmeter::data(&data_msg, &c, 0xC1, 0, &Names::default(), &mut a).unwrap();
    assert!(a.is_empty(), "{a:?}");
    // VA = −50 + j·100: |·| = 111.803399, angle 116.565051°.
    match &r.values.0[0].1 {
        Analog::Phasor {
            mag,
            ang_deg,
            re,
            im,
        } => {
            assert_eq!((*re, *im), (-50.0, 100.0));
            assert!((mag - 111.803399).abs() < 1e-6);
            assert!((ang_deg - 116.565051).abs() < 1e-6);
        }
        o => panic!("{o:?}"),
    }
    match &r.values.0[1].1 {
        Analog::Phasor { re, im, .. } => assert_eq!((*re, *im), (2.0, 1.5)),
        o => panic!("{o:?}"),
    }
    assert_eq!(r.timestamp, None);
}

#[test]
fn fast_operate_configs_and_commands() {
    let v = vector("sel701_A5CE_fastop_config");
    let mut a = Vec::new();
    let c = fo_config(opened(&v).body, &mut a).unwrap();
    assert_eq!(
        (c.n_breakers, c.n_remote_bits, c.pulse_supported),
        (1, 4, true)
    );
    assert_eq!((c.breakers[0].open, c.breakers[0].close), (0x31, 0x11));
    let rb: Vec<(u8, u8, Option<u8>)> = c
        .remote_bits
        .iter()
        .map(|r| (r.clear, r.set, r.pulse))
        .collect();
    assert_eq!(
        rb,
        [
            (0x00, 0x20, Some(0x40)),
            (0x01, 0x21, Some(0x41)),
            (0x02, 0x22, Some(0x42)),
            (0x03, 0x23, Some(0x43))
        ]
    );
    let v = vector("sel2020_A5CF_alt_fastop_config");
    let c = fo_alt_config(opened(&v).body).unwrap();
    assert_eq!(
        (c.n_ports, c.breakers_per_port, c.remote_bits_per_port),
        (16, 16, 16)
    );
    assert_eq!(c.function_codes, ["A5E5", "A5E6", "A5E8", "A5E7"]);
    for (name, op, target, n) in [
        ("A5E0_set_RB1", "set", "remote-bit", Some(1)),
        ("A5E0_pulse_RB3", "pulse", "remote-bit", Some(3)),
        ("A5E3_open_breaker1", "open", "breaker", Some(1)),
        ("A5E3_close_breaker1", "close", "breaker", Some(1)),
        ("A5ED_target_reset", "target-reset", "targets", None),
    ] {
        let v = vector(name);
        let o = opened(&v);
        let f = fast_operate(o.msg_type, o.body).unwrap();
        assert_eq!(
            (f.operation.as_str(), f.target, f.number),
            (op, target, n),
            "{name}"
        );
        assert_eq!(f.validation_ok, Some(true), "{name}");
    }
    // A wrong validation byte: decoded, flagged.
    let f = fast_operate(0xE0, &hex("2082")).unwrap();
    assert_eq!(f.validation_ok, Some(false));
    assert_eq!(fast_operate(0xE0, &hex("1F7D")).unwrap().number, Some(32));
    assert_eq!(fast_operate(0xE0, &hex("60")), None);
    assert_eq!(
        fast_operate(0xE0, &hex("6081")).unwrap().operation,
        "unknown-0x60"
    );
}

fn fmsg(name: &str, sns: &[&str]) -> FastMsg {
    let v = vector(name);
    opened(&v);
    let sns: Vec<String> = sns.iter().map(|s| s.to_string()).collect();
    let mut a = Vec::new();
    let f = fastmsg::decode(&v, &sns, &mut a).unwrap();
    assert!(a.is_empty(), "{name}: {a:?}");
    f
}

#[test]
fn fast_messages() {
    let f = fmsg("A546_01_enable_uns_SER_ackreq", &[]);
    assert_eq!(
        (f.fc, f.fc_name.as_str()),
        (0x01, "enable unsolicited data request")
    );
    assert!(f.ack_requested && !f.response);
    assert_eq!(
        (f.fir, f.fin, f.seq_count),
        (Some(true), Some(true), Some(0))
    );
    assert_eq!(f.body.target_fc.as_deref(), Some("0x18"));
    assert_eq!(f.body.max_records, Some(0x20));
    let f = fmsg("A546_81_ack_enable_success", &[]);
    assert_eq!(f.fc_name, "enable unsolicited data ack");
    assert_eq!(f.response_code, Some(0));
    assert_eq!(f.response_code_name.as_deref(), Some("success"));
    assert_eq!(f.fir, None);
    let f = fmsg("A546_02_disable_uns_SER_ackreq", &[]);
    assert_eq!((f.fc, f.response_number), (0x02, 1));
    assert_eq!(f.body.target_fc.as_deref(), Some("0x18"));
    let f = fmsg("A546_98_ack_SER", &[]);
    assert_eq!(
        (f.fc_name.as_str(), f.response_code),
        ("unsolicited Fast SER ack", Some(0))
    );
    let f = fmsg("A546_01_enable_synchrophasor", &[]);
    assert!(!f.ack_requested);
    assert_eq!(f.body.target_fc.as_deref(), Some("0x20"));
    assert_eq!(f.body.rate, Some(0));
}

#[test]
fn fast_ser_worked_example() {
    // sel.md §2.5: 2025 DOY 325 14:30:45.500: IN101 (idx 0) asserted; 52A (idx 3) deasserted
    // 1 ms later.
    let f = fmsg(
        "A546_18_unsolicited_SER_2elem_SYNTH",
        &["IN101", "IN102", "OUT101", "52A"],
    );
    assert_eq!(f.fc_name, "unsolicited Fast SER");
    assert_eq!(
        f.body.ser_time.as_deref(),
        Some("2025-11-21T14:30:45.500000")
    );
    assert_eq!(f.body.ser_records_lost, Some(false));
    let s = f.body.ser.unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0].index, s[0].name.as_deref(), s[0].state),
        (0, Some("IN101"), "asserted")
    );
    assert_eq!(s[0].time, "2025-11-21T14:30:45.500000");
    assert_eq!(
        (s[1].index, s[1].name.as_deref(), s[1].state, s[1].dt_us),
        (3, Some("52A"), "deasserted", 1000)
    );
    assert_eq!(s[1].time, "2025-11-21T14:30:45.501000");
    // 2025-11-21 14:30:45.5 = 1763735445.5 s after 1970 (as if UTC).
    assert_eq!(s[0].time_us, 1_763_735_445_500_000);
    assert_eq!(s[1].time_us - s[0].time_us, 1000);
    // Without SNS names: indices only.
    let f = fmsg("A546_18_unsolicited_SER_2elem_SYNTH", &[]);
    assert_eq!(f.body.ser.unwrap()[0].name, None);
    // n = 0: "SER records lost"; TOD 0x031E08E0 = 52 300 000 ms = 14:31:40.
    let f = fmsg("A546_18_SER_records_lost_SYNTH", &[]);
    assert_eq!(f.body.ser_records_lost, Some(true));
    assert_eq!(f.response_number, 1);
    assert_eq!(
        f.body.ser_time.as_deref(),
        Some("2025-11-21T14:31:40.000000")
    );
}

#[test]
fn requests_open_and_bad_input() {
    let req = hex("A5C1");
    let o = open(&req).unwrap();
    assert!(o.request && o.chk_ok.is_none());
    assert!(open(b"\xA5\xC0\r\n").unwrap().request);
    let mut bad = vector("A5E0_set_RB1");
    bad[5] ^= 1;
    assert_eq!(open(&bad).unwrap().chk_ok, Some(false));
    assert!(open(b"ID").is_none());
    // No input panics any decoder.
    let mut a = Vec::new();
    for n in 0..64 {
        let b: Vec<u8> = (0..n).map(|i| (i * 37 + n) as u8).collect();
        let _ = relay_def(&b, &mut a);
        let _ = fo_config(&b, &mut a);
        let _ = fo_alt_config(&b);
        let _ = fo_reset_def(&b);
        let _ = fastmeter::config(&b, &mut a);
        let _ = fastmsg::decode(&b, &[], &mut a);
        for t in [0xE0, 0xE3, 0xED, 0xE5, 0xE9] {
            let _ = fast_operate(t, &b);
        }
        let c = sel551_config();
        let _ = fastmeter::data(&b, &c, 0xC1, 0, &Names::default(), &mut a);
    }
}
