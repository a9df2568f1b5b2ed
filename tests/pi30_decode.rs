//! PI30 decoding and pairing (pi30_tracer.md §3–7): the sample replies of §2 decoded to the
//! values read off them by hand with the tables of §4–5, every other query, the setters with
//! ACK/NAK, unknown commands raw, FIFO pairing per connection and unpaired replies.
//! Frames are built here with a CRC written for the test (bitwise CRC-16/XMODEM and the bump).

use sekit::protocols::pi30::session::Session;
use sekit::protocols::Envelope;
use serde_json::{json, Value};

fn xmodem(d: &[u8]) -> u16 {
    let mut c = 0u16;
    for &b in d {
        c ^= u16::from(b) << 8;
        for _ in 0..8 {
            c = if c & 0x8000 != 0 {
                (c << 1) ^ 0x1021
            } else {
                c << 1
            };
        }
    }
    c
}

fn fr(text: &str) -> Vec<u8> {
    let mut v = text.as_bytes().to_vec();
    for b in xmodem(text.as_bytes()).to_be_bytes() {
        v.push(if matches!(b, 0x28 | 0x0D | 0x0A) {
            b + 1
        } else {
            b
        });
    }
    v.push(0x0D);
    v
}

fn dec(s: &mut Session, conn: u64, text: &str) -> Value {
    let env = Envelope {
        conn: Some(conn),
        ..Default::default()
    };
    serde_json::to_value(s.decode(&env, &fr(text))).unwrap()
}

/// Request then reply on one connection; the reply's record.
fn ask(cmd: &str, reply: &str) -> Value {
    let mut s = Session::new();
    let q = dec(&mut s, 1, cmd);
    assert_eq!(q["role"], "request");
    let r = dec(&mut s, 1, reply);
    assert_eq!(r["role"], "reply");
    assert_eq!(r["chk_ok"], true, "{r}");
    r
}

const QPIGS_MPP: &str = "(000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 00 00 00856 010";
const QPIGS_GODENERG: &str = "(000.0 00.0 230.0 50.0 0184 0071 003 404 50.10 000 079 0049 0000 000.0 00.00 00001 01010000 00 00 00000 010";
const QPIRI: &str =
    "(230.0 21.7 230.0 50.0 21.7 5000 4000 48.0 46.0 42.0 56.4 54.0 0 10 010 1 0 0 6 01 0 0 54.0 0 1";

fn check(r: &Value, want: &[(&str, Value)]) {
    for (k, v) in want {
        assert_eq!(&r[*k], v, "{k} in {r}");
    }
}

#[test]
fn qpigs_sample_replies() {
    let r = ask("QPIGS", QPIGS_MPP);
    check(
        &r,
        &[
            ("command", json!("QPIGS")),
            ("paired_by", json!("fifo")),
            ("crc", json!("248c")),
            ("grid_volt", json!(0.0)),
            ("grid_freq", json!(0.0)),
            ("ac_volt", json!(230.0)),
            ("ac_freq", json!(49.9)),
            ("ac_va", json!(161)),
            ("ac_watt", json!(119)),
            ("load_percent", json!(3)),
            ("bus_volt", json!(460)),
            ("batt_volt", json!(57.5)),
            ("batt_charge_amps", json!(12)),
            ("batt_capacity", json!(100)),
            ("temp", json!(69)),
            ("pv_amps", json!(14)),
            ("pv_volts", json!(103.8)),
            ("batt_volt_scc", json!(57.45)),
            ("batt_discharge_amps", json!(0)),
            ("raw_status", json!("00110110")),
            ("mask_b", json!(0)),
            ("mask_c", json!(0)),
            ("pv_watts", json!(856)),
            ("mask_d", json!("010")),
            // b83..b90 = 0 0 1 1 0 1 1 0
            ("sbu_priority_version", json!(false)),
            ("configuration_changed", json!(false)),
            ("ssc_firmware_updated", json!(true)),
            ("load_status", json!(true)),
            ("batt_volt_to_steady", json!(false)),
            ("charging_status", json!(true)),
            ("scc_charging", json!(true)),
            ("ac_charging", json!(false)),
            ("charge_source", json!(["solar_charging"])),
            ("charging_to_float", json!(false)),
            ("switch_on", json!(true)),
        ],
    );
    assert_eq!(r["units"]["batt_volt"], "V");
    assert_eq!(r["units"]["pv_watts"], "W");
    assert!(r.get("anomaly").is_none());
    let r = ask("QPIGS", QPIGS_GODENERG);
    check(
        &r,
        &[
            ("crc", json!("1db9")),
            ("ac_freq", json!(50.0)),
            ("ac_va", json!(184)),
            ("ac_watt", json!(71)),
            ("bus_volt", json!(404)),
            ("batt_volt", json!(50.1)),
            ("batt_capacity", json!(79)),
            ("temp", json!(49)),
            ("batt_discharge_amps", json!(1)),
            // 01010000: godenerg's 64 configuration_changed and 16 load_status.
            ("configuration_changed", json!(true)),
            ("load_status", json!(true)),
            ("charging_status", json!(false)),
            ("charge_source", json!([])),
        ],
    );
}

#[test]
fn qpiri_sample_reply_by_field_count() {
    let r = ask("QPIRI", QPIRI);
    check(
        &r,
        &[
            ("crc", json!("6f7e")),
            ("grid_rating_volt", json!(230.0)),
            ("grid_rating_amps", json!(21.7)),
            ("ac_rating_volt", json!(230.0)),
            ("ac_rating_freq", json!(50.0)),
            ("ac_rating_amps", json!(21.7)),
            ("ac_rating_va", json!(5000)),
            ("ac_rating_watt", json!(4000)),
            ("batt_rating_volt", json!(48.0)),
            ("batt_recharge_volt", json!(46.0)),
            ("batt_under_volt", json!(42.0)),
            ("bulk_volt", json!(56.4)),
            ("float_volt", json!(54.0)),
            ("batt_type_name", json!("agm")),
            ("max_ac_charge_amps", json!(10)),
            ("max_charge_amps", json!(10)),
            ("input_voltage_range_name", json!("ups")),
            ("output_source_priority_name", json!("utility_first")),
            ("charger_source_priority_name", json!("utility_first")),
            ("parallel_max_num", json!(6)),
            ("machine_type_name", json!("off_grid")),
            ("topology_name", json!("transformerless")),
            ("output_mode_name", json!("single")),
            ("batt_redischarge_volt", json!(54.0)),
            ("pv_ok_condition_name", json!("any_unit_has_pv")),
            ("pv_power_balance_name", json!("charge_plus_load_power")),
        ],
    );
    assert!(r.get("max_cv_charge_time").is_none(), "25 fields only");
    // 28 fields (newer firmware): the last three named too.
    let r = ask("QPIRI", &format!("{QPIRI} 120 0 100"));
    check(
        &r,
        &[
            ("max_cv_charge_time", json!(120)),
            ("operation_logic_name", json!("automatic")),
            ("max_discharge_amps", json!(100)),
        ],
    );
}

#[test]
fn other_queries() {
    let r = ask("QMOD", "(S");
    check(
        &r,
        &[
            ("mode", json!("S")),
            ("mode_name", json!("standby")),
            ("mode_code", json!("SB")),
        ],
    );
    assert_eq!(ask("QMOD", "(B")["mode_code"], "BT");
    // b1 set: b10 over-temperature is a fault; b2 inverter fault and b13 battery low alarm
    // are warnings.
    let mut bits = ['0'; 32];
    for b in [1, 2, 10, 13] {
        bits[b - 1] = '1';
    }
    let bits: String = bits.iter().collect();
    let r = ask("QPIWS", &format!("({bits}"));
    assert_eq!(
        r["warnings"],
        json!(["inverter_fault", "battery_low_alarm"])
    );
    assert_eq!(r["faults"], json!(["over_temperature"]));
    assert_eq!(r["warning_bits"].as_object().unwrap().len(), 32);
    assert_eq!(r["warning_bits"]["fan_locked"], false);
    let r = ask("QFLAG", "(EakDbjuvxyz");
    assert_eq!(r["enabled"], json!(["buzzer", "lcd_escape_to_default"]));
    assert_eq!(r["flags"]["backlight"], false);
    assert_eq!(r["flags"]["overload_bypass"], false);
    assert_eq!(r["disabled"].as_array().unwrap().len(), 7);
    assert_eq!(
        ask("QID", "(92931701100510")["serial_number"],
        "92931701100510"
    );
    assert_eq!(ask("QVFW", "(VERFW:00072.70")["firmware"], "00072.70");
    assert_eq!(ask("QVFW2", "(VERFW2:00041.17")["firmware"], "00041.17");
    assert_eq!(ask("QPI", "(PI30")["protocol_id"], "PI30");
    let r = ask(
        "QDI",
        "(230.0 50.0 0030 42.0 54.0 56.4 46.0 60 0 0 2 0 0 0 0 0 1 1 1 0 1 0 54.0 0 1 000",
    );
    assert_eq!(r["fields"].as_array().unwrap().len(), 26);
    assert_eq!(r["fields"][3], 42.0);
    let r = ask("QPGS0", "(1 92931701100510 B 00 000.0 00.00 230.0 50.00");
    check(
        &r,
        &[("command", json!("QPGS0")), ("parallel_unit", json!(0))],
    );
    assert_eq!(r["fields"][1], 92931701100510i64);
}

#[test]
fn setters_with_ack_and_nak() {
    let mut s = Session::new();
    let q = dec(&mut s, 7, "PBFT53.0");
    check(
        &q,
        &[
            ("command", json!("PBFT")),
            ("argument", json!("53.0")),
            ("value", json!(53.0)),
            ("unit", json!("V")),
            ("setting", json!("battery float voltage")),
        ],
    );
    let r = dec(&mut s, 7, "(ACK");
    check(
        &r,
        &[
            ("command", json!("PBFT")),
            ("argument", json!("53.0")),
            ("answer", json!("ACK")),
            ("accepted", json!(true)),
        ],
    );
    let q = dec(&mut s, 7, "POP02");
    check(&q, &[("value", json!(2)), ("value_name", json!("sbu"))]);
    let r = dec(&mut s, 7, "(NAK");
    check(
        &r,
        &[
            ("command", json!("POP")),
            ("answer", json!("NAK")),
            ("accepted", json!(false)),
        ],
    );
    let q = dec(&mut s, 7, "MCHGC010");
    check(&q, &[("parallel_unit", json!(0)), ("value", json!(10))]);
    let q = dec(&mut s, 7, "PCVV56.4");
    check(&q, &[("command", json!("PCVV")), ("value", json!(56.4))]);
    let q = dec(&mut s, 7, "PEax");
    assert_eq!(q["flags"], json!(["buzzer", "backlight"]));
    assert_eq!(dec(&mut s, 7, "POPM01")["command"], "POPM");
}

#[test]
fn unknown_command_kept_raw() {
    let r = ask("QXYZ", "(1 2 3");
    check(&r, &[("command", json!("QXYZ")), ("text", json!("1 2 3"))]);
    let r = ask("XQ7", "(hello");
    check(&r, &[("command", json!("XQ7")), ("text", json!("hello"))]);
}

#[test]
fn fifo_per_connection() {
    let mut s = Session::new();
    // Two connections interleaved; on connection 1 two commands are outstanding.
    dec(&mut s, 1, "QMOD");
    dec(&mut s, 1, "QPIRI");
    dec(&mut s, 2, "QPIGS");
    let a = dec(&mut s, 2, QPIGS_MPP);
    let b = dec(&mut s, 1, "(L");
    let c = dec(&mut s, 1, QPIRI);
    assert_eq!(
        (a["command"].clone(), a["batt_volt"].clone()),
        (json!("QPIGS"), json!(57.5))
    );
    assert_eq!(
        (b["command"].clone(), b["mode_name"].clone()),
        (json!("QMOD"), json!("line"))
    );
    assert_eq!(
        (c["command"].clone(), c["bulk_volt"].clone()),
        (json!("QPIRI"), json!(56.4))
    );
}

#[test]
fn unpaired_replies_by_shape_or_raw() {
    let mut s = Session::new();
    let r = dec(&mut s, 3, QPIGS_MPP);
    check(
        &r,
        &[
            ("command", json!("QPIGS")),
            ("paired_by", json!("shape")),
            ("pv_watts", json!(856)),
        ],
    );
    let r = dec(&mut s, 3, QPIRI);
    check(
        &r,
        &[("command", json!("QPIRI")), ("float_volt", json!(54.0))],
    );
    assert_eq!(dec(&mut s, 3, "(PI30")["command"], "QPI");
    assert_eq!(dec(&mut s, 3, "(S")["command"], "QMOD");
    assert_eq!(dec(&mut s, 3, "(EaDb")["command"], "QFLAG");
    let r = dec(&mut s, 3, "(1 2 3");
    assert!(r.get("command").is_none(), "{r}");
    assert!(r["anomaly"]
        .as_str()
        .unwrap()
        .contains("without its command"));
    let r = dec(&mut s, 3, "(NAK");
    check(&r, &[("answer", json!("NAK"))]);
    assert!(r.get("command").is_none());
}

#[test]
fn bad_crc_and_invalid_bytes() {
    let mut s = Session::new();
    let mut f = fr("QPIGS");
    f[5] ^= 0x40;
    let r = serde_json::to_value(s.decode(&Envelope::default(), &f)).unwrap();
    check(
        &r,
        &[
            ("chk_ok", json!(false)),
            ("crc_rule", json!("bad")),
            ("command", json!("QPIGS")),
            ("anomaly", json!("bad PI30 CRC")),
        ],
    );
    let r = serde_json::to_value(s.decode(&Envelope::default(), b"\x00\x01")).unwrap();
    assert_eq!(r["anomaly"], "not a PI30 frame");
}
