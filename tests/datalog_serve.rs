//! seserve over a real socket: every endpoint's status and Content-Type from a plain
//! HTTP/1.0 client, 400 + JSON for missing or hostile parameters (the `stats` table keeps its
//! rows), 404 for an unknown route, and reads from 4 threads while selog appends to the same
//! database (WAL): every response 200, the final row count right.

use rusqlite::Connection;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const T0: i64 = 1_700_000_000;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sekit-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `exe args` with `stdin` fed from a thread; returns stdout.
fn pipe(exe: &str, args: &[&str], stdin: Vec<u8>) -> Vec<u8> {
    let mut ch = Command::new(exe)
        .args(args)
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut i = ch.stdin.take().unwrap();
    let w = std::thread::spawn(move || {
        let _ = i.write_all(&stdin);
    });
    let out = ch.wait_with_output().unwrap();
    w.join().unwrap();
    assert!(
        out.status.success(),
        "{exe}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `seextract samples/c37118 | sedecode`.
fn c37118_records() -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let ex = Command::new(env!("CARGO_BIN_EXE_seextract"))
        .arg(format!("{root}/samples/c37118"))
        .stderr(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8(pipe(env!("CARGO_BIN_EXE_sedecode"), &[], ex.stdout)).unwrap()
}

/// One QPIGS reply per 15 s from 10.0.0.9, as sedecode writes them.
fn session(n: i64) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            r#"{{"v":1,"type":"decoded","ts":{}.500000,"file":"gen.pcap","pkt":{i},"conn":1,"transport":"tcp","src":"10.0.0.9","sport":8899,"dst":"10.0.0.1","dport":40000,"dir":"s2c","offset":0,"len":110,"proto":"pi30","role":"reply","command":"QPIGS","paired_by":"fifo","grid_volt":230.0,"grid_freq":50.0,"ac_volt":229.9,"ac_freq":49.9,"ac_va":500,"ac_watt":490,"load_percent":10,"bus_volt":400,"batt_volt":{}.25,"batt_charge_amps":10,"batt_capacity":80,"temp":40,"pv_amps":12,"pv_volts":120.5,"batt_volt_scc":50.29,"batt_discharge_amps":0,"raw_status":"00010110","mask_b":0,"mask_c":0,"pv_watts":{},"mask_d":"010","charge_source":["solar_charging"]}}"#,
            T0 + 100_000 + i * 15,
            48 + i % 4,
            i % 3000
        ));
        s.push('\n');
    }
    s
}

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts seserve on a free loopback port; its address is the one it prints.
fn serve(db: &Path) -> Server {
    let mut ch = Command::new(env!("CARGO_BIN_EXE_seserve"))
        .arg(db)
        .args(["--listen", "127.0.0.1:0"])
        .env("TZ", "UTC")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(ch.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("seserve: listening on http://")
        .and_then(|a| a.strip_suffix('/'))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Server(ch, addr)
}

/// A plain HTTP/1.0 GET: (status, Content-Type, body).
fn get(addr: &str, url: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {url} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let ctype = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    (status.parse().unwrap(), ctype, body.to_string())
}

fn json(r: &(u16, String, String), status: u16, url: &str) -> serde_json::Value {
    assert_eq!(r.0, status, "{url}: {}", r.2);
    assert_eq!(r.1, "application/json", "{url}");
    serde_json::from_str(&r.2).unwrap_or_else(|e| panic!("{url}: {e}: {}", r.2))
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[test]
fn every_endpoint_errors_and_reads_during_writes() {
    let recs = c37118_records();
    // Independent count: C37.118 data frames of PMU 241.
    let mut freq241 = 0usize;
    for l in recs.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        if v["type"] == "decoded" && v["proto"] == "c37118" && v["frame"] == "data" {
            for p in v["pmus"].as_array().unwrap() {
                freq241 += usize::from(p["idcode"] == 241);
            }
        }
    }
    assert!(freq241 > 10 && freq241 <= 2048, "{freq241}");
    let pi30 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/datalog/pi30-bridge-and-eybond.jsonl"
    ))
    .unwrap();
    let qpigs = pi30
        .lines()
        .filter(|l| l.contains(r#""role":"reply""#) && l.contains(r#""command":"QPIGS""#))
        .count() as i64;
    let d = tmp("serve");
    let db = d.join("site.db");
    let dbs = db.to_str().unwrap();
    let input = format!("{recs}{pi30}").into_bytes();
    pipe(
        env!("CARGO_BIN_EXE_selog"),
        &["-q", "-d", dbs, "--interval", "0"],
        input,
    );
    let stats0 = count(&db, "SELECT COUNT(1) FROM stats");
    assert!(stats0 > 0 && stats0 <= qpigs, "{stats0} of {qpigs}");

    let srv = serve(&db);
    let a = srv.1.as_str();
    let range = "from=20000101&to=20991231";

    // /graph: SVG, JSON with every PMU 241 frequency (≤ 2048: the rows as they are).
    let url = format!("/graph?{range}&col_1=freq&device=c37118/241");
    let r = get(a, &url);
    assert_eq!((r.0, r.1.as_str()), (200, "image/svg+xml"), "{}", r.2);
    assert!(
        r.2.starts_with("<svg") || r.2.starts_with("<?xml"),
        "{}",
        r.2
    );
    assert!(r.2.contains("</svg>"));
    let url = format!("{url}&format=json");
    let j = json(&get(a, &url), 200, &url);
    assert_eq!(j["x"].as_array().unwrap().len(), freq241);
    assert_eq!(j["y"][0].as_array().unwrap().len(), freq241);
    assert_eq!(j["n"], freq241);
    // godenerg's form: stats columns, no device.
    let url = format!("/graph?{range}&col_1=batt_volt&col_2=pv_watts&format=json");
    let j = json(&get(a, &url), 200, &url);
    assert_eq!(j["n"], stats0);
    assert_eq!(j["cols"], serde_json::json!(["batt_volt", "pv_watts"]));

    // /cmds, /devices, /fields, /.
    let j = json(&get(a, "/cmds?cmd=status"), 200, "status");
    assert!(
        j["batt_volt"].is_number() && j["charge_source"].is_array(),
        "{j}"
    );
    let j = json(&get(a, "/cmds?cmd=state"), 200, "state");
    assert!(j.get("c37118/241").is_some(), "{j}");
    let j = json(&get(a, "/devices"), 200, "/devices");
    let ids: Vec<&str> = j
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert!(ids.contains(&"c37118/241"), "{ids:?}");
    let j = json(&get(a, "/fields?device=c37118/241"), 200, "/fields");
    assert!(
        j["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["field"] == "freq" && f["numeric"] == true),
        "{j}"
    );
    let r = get(a, "/");
    assert_eq!((r.0, r.1.as_str()), (200, "text/html; charset=utf-8"));
    assert!(r
        .2
        .contains(r#"<script src="/uPlot.iife.min.js"></script>"#));
    assert!(r.2.contains("new uPlot("));
    let r = get(a, "/uPlot.iife.min.js");
    assert_eq!((r.0, r.1.as_str()), (200, "application/javascript"));

    // 400 + JSON for missing or bad parameters and an injection attempt; 404 unknown route.
    for url in [
        "/graph".to_string(),
        "/graph?from=20000101&col_1=batt_volt".to_string(),
        format!("/graph?{range}"),
        "/graph?from=notatime&to=20991231&col_1=batt_volt".to_string(),
        format!("/graph?{range}&col_1=batt_volt&format=png"),
        format!("/graph?{range}&col_1=batt_volt%3BDROP%20TABLE%20stats"),
        format!("/graph?{range}&col_1=batt_volt;DROP+TABLE+stats"),
        "/cmds".to_string(),
        "/cmds?cmd=reboot".to_string(),
        "/fields".to_string(),
    ] {
        let j = json(&get(a, &url), 400, &url);
        assert!(j["error"].is_string(), "{url}: {j}");
    }
    let j = json(&get(a, "/nosuch"), 404, "/nosuch");
    assert!(j["error"].is_string());
    assert_eq!(count(&db, "SELECT COUNT(1) FROM stats"), stats0);

    // 4 readers while selog appends 3000 rows.
    let n = 3000;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|k| {
            let (a, stop) = (srv.1.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut done = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || done == 0 {
                    let url = if k % 2 == 0 {
                        "/graph?from=20000101&to=20991231&col_1=batt_volt&format=json"
                    } else {
                        "/graph?from=20000101&to=20991231&col_1=batt_volt&col_2=pv_watts"
                    };
                    let r = get(&a, url);
                    assert_eq!(r.0, 200, "{url}: {}", r.2);
                    done += 1;
                }
                done
            })
        })
        .collect();
    pipe(
        env!("CARGO_BIN_EXE_selog"),
        &["-q", "-d", dbs, "--batch", "100"],
        session(n).into_bytes(),
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let done: i32 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(done >= 4);
    assert_eq!(count(&db, "SELECT COUNT(1) FROM stats"), stats0 + n);
    let url = "/graph?from=20000101&to=20991231&col_1=batt_volt&format=json";
    let j = json(&get(a, url), 200, url);
    assert_eq!(j["n"], stats0 + n);
    drop(srv);
    let _ = std::fs::remove_dir_all(&d);
}
