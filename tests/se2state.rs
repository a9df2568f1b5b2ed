//! se2state: a document that is never torn, the last value of every field, the SolarEdge
//! day's energy restarting at local midnight, follow mode on a growing file and a pipe, and
//! jbuehl's document shape (docs/CSV_STATE.md).
//!
//! Independence: records are written here (the generic record shape of docs/FORMAT.md) and the
//! expected state is what the test wrote last; the local midnight is computed by hand for the
//! POSIX zone used (CEST = UTC+2 in July).

use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_se2state");
const CET: &str = "CET-1CEST,M3.5.0,M10.5.0/3";

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sekit-se2state-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn spawn(args: &[&str], tz: &str) -> Child {
    Command::new(BIN)
        .args(args)
        .env("TZ", tz)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A decoded record of one SolarEdge 1-phase inverter.
fn inverter(capture: f64, id: &str, ts: i64, e_day: f64, p_ac: f64) -> String {
    json!({"v":1,"type":"decoded","ts":capture,"proto":"solaredge","function":"0x0500",
        "function_name":"SERVER_POST_DATA","devices":[{"type":"0x0010","type_name":"inverter_1ph",
        "id":id,"ts":ts,"e_day":e_day,"p_ac":p_ac,"v_ac":230.5,"temp":20.0}]})
    .to_string()
}

/// A decoded record of a generic protocol: device `dev`, fields a..e.
fn generic(i: u64, dev: u64) -> String {
    json!({"v":1,"type":"decoded","ts":1000.0 + i as f64,"proto":"demo","frame":"data",
        "idcode":dev,"values":{"a":i,"b":i as f64 * 0.5,"c":format!("s{i}"),"d":null,"e":i.is_multiple_of(2)}})
    .to_string()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn finish(c: Child) -> String {
    let o = c.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    // The exit-status contract: 1 when some input had problems (bad lines), 0 otherwise.
    assert!(matches!(o.status.code(), Some(0 | 1)), "{err}");
    err
}

#[test]
fn reader_never_sees_a_torn_file_and_final_state_is_the_last_values() {
    let dir = tmp("torn");
    let st = dir.join("state.json");
    let mut c = spawn(&["--interval", "0", "-o", st.to_str().unwrap()], "UTC");
    let mut input = c.stdin.take().unwrap();
    let (reads, stop) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let reader = {
        let (reads, stop, st) = (reads.clone(), stop.clone(), st.clone());
        std::thread::spawn(move || {
            let mut distinct = std::collections::HashSet::new();
            while !stop.load(Ordering::SeqCst) {
                let Ok(text) = std::fs::read_to_string(&st) else {
                    continue; // not written yet
                };
                let v: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("torn read {e}: {text:?}"));
                assert!(v["devices"].is_object());
                distinct.insert(text.len());
                reads.fetch_add(1, Ordering::SeqCst);
            }
            distinct.len()
        })
    };
    let mut i = 0u64;
    let t0 = Instant::now();
    while reads.load(Ordering::SeqCst) < 3000 || i < 5000 {
        let mut chunk = String::new();
        for _ in 0..20 {
            chunk.push_str(&generic(i, i % 7));
            chunk.push('\n');
            i += 1;
        }
        input.write_all(chunk.as_bytes()).unwrap();
        assert!(t0.elapsed() < Duration::from_secs(120), "reader too slow");
    }
    drop(input);
    finish(c);
    stop.store(true, Ordering::SeqCst);
    let distinct = reader.join().unwrap();
    assert!(reads.load(Ordering::SeqCst) >= 3000);
    assert!(distinct > 1, "the reader saw the file change");
    // The last record of each device is its state.
    let v = read_json(&st);
    for dev in 0..7u64 {
        let last = (0..i).rev().find(|j| j % 7 == dev).unwrap();
        let d = &v["devices"]["demo"][dev.to_string()];
        let f = &d["data"];
        assert_eq!(f["a"], json!(last), "device {dev}");
        assert_eq!(f["b"].as_f64(), Some(last as f64 * 0.5));
        assert_eq!(f["c"], json!(format!("s{last}")));
        assert_eq!(f["d"], Value::Null);
        assert_eq!(f["e"], json!(last.is_multiple_of(2)));
        assert_eq!(f["capture_ts"].as_f64(), Some(1000.0 + last as f64));
        let n = (0..i).filter(|j| j % 7 == dev).count() as u64;
        assert_eq!(d["stats"]["count"], json!(n));
        let first = (0..i).find(|j| j % 7 == dev).unwrap();
        assert_eq!(d["stats"]["first_ts"].as_f64(), Some(1000.0 + first as f64));
    }
}

/// 2016-07-19 21:50:00Z = 23:50 CEST; 22:05:00Z = 00:05 CEST on the 20th.
const T_2350: i64 = 1_468_965_000;

fn run_lines(lines: &[String], args: &[&str], tz: &str) -> Value {
    let dir = tmp(&format!("run-{}-{tz}", args.len()));
    let st = dir.join("s.json");
    let mut a = vec!["-o", st.to_str().unwrap()];
    a.extend_from_slice(args);
    let mut c = spawn(&a, tz);
    let mut input = c.stdin.take().unwrap();
    for l in lines {
        writeln!(input, "{l}").unwrap();
    }
    drop(input);
    finish(c);
    read_json(&st)
}

#[test]
fn eday_restarts_at_local_midnight() {
    let lines = vec![
        inverter(1.0, "7F104920", T_2350, 5000.0, 10.0),
        inverter(2.0, "7F104921", T_2350, 2000.0, 20.0),
        inverter(3.0, "7F104920", T_2350 + 300, 5100.0, 30.0),
        // 00:05 local: a new day for the first inverter only.
        inverter(4.0, "7F104920", T_2350 + 900, 10.0, 40.0),
    ];
    let v = run_lines(&lines, &[], CET);
    let inv = &v["solaredge"]["inverters"];
    assert_eq!(inv["e_day_date"], json!("2016-07-20"));
    // Only the inverter that reported on the new day counts.
    assert_eq!(inv["e_day"].as_f64(), Some(10.0));
    assert_eq!(inv["p_ac"].as_f64(), Some(60.0));
    assert_eq!(inv["v_ac"].as_f64(), Some(230.5));
    // In UTC every record is on the 19th: the day's energy is the greatest sum.
    let v = run_lines(&lines, &[], "UTC");
    let inv = &v["solaredge"]["inverters"];
    assert_eq!(inv["e_day_date"], json!("2016-07-19"));
    assert_eq!(inv["e_day"].as_f64(), Some(7100.0));
}

fn semonitor(date: &str, eday: f64, pac: f64, events: bool) -> String {
    let ev = if events {
        json!({"7F104920": {"Date": date, "Type": 7}})
    } else {
        json!({})
    };
    json!({"inverters": {"7F104920": {"Date": date, "Time": "23:55:00", "Eday": eday, "Pac": pac,
        "Eac": 1.5, "Etot": 1000.0, "Vac": 230.0, "Temp": 30.0}},
        "optimizers": {"1010": {"Date": date, "Vmod": 30.0, "Imod": 2.5, "Vopt": 40.0, "Temp": 20.0}},
        "events": ev})
    .to_string()
}

#[test]
fn semonitor_compat_document_without_jbuehls_bugs() {
    let lines = vec![
        semonitor("2016-07-19", 5000.0, 100.0, false),
        semonitor("2016-07-19", 5100.0, 200.0, true),
        semonitor("2016-07-20", 12.0, 300.0, false),
    ];
    let v = run_lines(&lines[..2], &["--semonitor-compat"], "UTC");
    let s = &v["inverters"]["stats"];
    // Stats of the second line are taken before its event zeroes the devices.
    assert_eq!(s["Pac"].as_f64(), Some(200.0));
    assert_eq!(s["Eday"].as_f64(), Some(5100.0));
    assert_eq!(v["inverters"]["7F104920"]["Pac"].as_f64(), Some(0.0));
    assert_eq!(v["optimizers"]["1010"]["Vmod"].as_f64(), Some(0.0));
    // The stats dicts are never zeroed into (jbuehl's script writes Vmod into "stats").
    assert_eq!(v["optimizers"]["stats"], json!({"Temp": 20.0}));
    let v = run_lines(&lines, &["--semonitor-compat"], "UTC");
    assert_eq!(v["inverters"]["stats"]["Eday"].as_f64(), Some(12.0));
    assert_eq!(v["optimizers"]["1010"]["Pdc"].as_f64(), Some(75.0));
    assert_eq!(v["inverters"]["stats"]["Etot"].as_f64(), Some(1000.0));
}

fn wait_for(st: &Path, what: &str, ok: impl Fn(&Value) -> bool) {
    let t0 = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(st) {
            if ok(&serde_json::from_str(&text).unwrap()) {
                return;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn field_a(v: &Value, dev: u64) -> Option<u64> {
    v["devices"]["demo"][dev.to_string()]["data"]["a"].as_u64()
}

#[test]
fn follow_a_growing_file() {
    let dir = tmp("follow");
    let (inp, st) = (dir.join("in.jsonl"), dir.join("s.json"));
    std::fs::write(&inp, format!("{}\n", generic(1, 1))).unwrap();
    let args = [
        "-f",
        "--interval",
        "0.05",
        "-o",
        st.to_str().unwrap(),
        inp.to_str().unwrap(),
    ];
    let mut c = spawn(&args, "UTC");
    wait_for(&st, "the first record", |v| field_a(v, 1) == Some(1));
    let mut f = std::fs::OpenOptions::new().append(true).open(&inp).unwrap();
    // A line written in two pieces is read once whole.
    let l = generic(2, 1);
    f.write_all(&l.as_bytes()[..10]).unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    f.write_all(format!("{}\n", &l[10..]).as_bytes()).unwrap();
    wait_for(&st, "the appended record", |v| field_a(v, 1) == Some(2));
    assert!(
        c.try_wait().unwrap().is_none(),
        "-f keeps running at the end of the file"
    );
    c.kill().unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&o.stderr).contains("warning"));
}

#[test]
fn follow_a_pipe() {
    let dir = tmp("pipe");
    let st = dir.join("s.json");
    let mut c = spawn(
        &["-f", "--interval", "0.05", "-o", st.to_str().unwrap()],
        "UTC",
    );
    let mut input = c.stdin.take().unwrap();
    for i in 0..3 {
        writeln!(input, "{}", generic(i, 5)).unwrap();
        input.flush().unwrap();
        wait_for(&st, "a piped record", |v| field_a(v, 5) == Some(i));
    }
    drop(input);
    finish(c);
    assert_eq!(field_a(&read_json(&st), 5), Some(2));
}

#[test]
fn bad_lines_are_reported_with_their_numbers() {
    let dir = tmp("bad");
    let st = dir.join("s.json");
    let mut c = spawn(&["-o", st.to_str().unwrap()], "UTC");
    let mut input = c.stdin.take().unwrap();
    let long = format!("{{\"x\":\"{}\"}}", "a".repeat(1 << 20));
    let lines = [
        generic(1, 1),
        "not json".to_string(),
        r#"{"v":1,"type":"decoded","frame":"data"}"#.to_string(),
        "[1,2]".to_string(),
        long,
        r#"{"v":1,"type":"decoded","proto":"nosuch","frame":"x","id":"d1","val":3}"#.to_string(),
        generic(2, 1),
    ];
    for l in &lines {
        writeln!(input, "{l}").unwrap();
    }
    drop(input);
    let err = finish(c);
    assert!(err.contains("line 2: not JSON"), "{err}");
    assert!(
        err.contains("line 3: decoded record without a proto field"),
        "{err}"
    );
    assert!(err.contains("line 4: not a JSON object"), "{err}");
    assert!(!err.contains("line 5"), "{err}");
    let v = read_json(&st);
    assert_eq!(field_a(&v, 1), Some(2));
    // A protocol this build does not know is still a device with fields.
    assert_eq!(v["devices"]["nosuch"]["d1"]["x"]["val"], json!(3));
}
