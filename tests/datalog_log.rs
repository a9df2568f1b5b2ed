//! selog: generated PI30 sessions checked with godenerg's own SQL (spec
//! replay_and_datalogger.md §3.1, §3.2), the `/graph` averaging rule against an independent
//! computation (100 and 10,000 rows), the CSV extract byte for byte, the C37.118 and
//! SolarEdge samples, idempotence, the rollup tables against the raw rule, and bad input
//! (non-JSON, unknown protocols, a locked, read-only or full database).

use rusqlite::Connection;
use sekit::output::semonitor::LocalZone;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const T0: i64 = 1_700_000_000;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sekit-datalog-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn selog(args: &[&str], stdin: &[u8]) -> Output {
    selog_in("", args, stdin)
}

/// Runs selog (after `prefix` shell commands when given), TZ=UTC.
fn selog_in(prefix: &str, args: &[&str], stdin: &[u8]) -> Output {
    let exe = env!("CARGO_BIN_EXE_selog");
    let mut c = if prefix.is_empty() {
        let mut c = Command::new(exe);
        c.args(args);
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!("{prefix}; exec \"$0\" \"$@\""))
            .arg(exe)
            .args(args);
        c
    };
    let mut ch = c
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut i = ch.stdin.take().unwrap();
    let data = stdin.to_vec();
    let w = std::thread::spawn(move || {
        let _ = i.write_all(&data);
    });
    let out = ch.wait_with_output().unwrap();
    let _ = w.join();
    out
}

/// Battery volts of row i, in hundredths (the generator's ground truth).
fn bv(i: i64) -> i64 {
    4800 + (i % 50) * 5
}

/// One QMOD and one QPIGS reply per `step` seconds, as sedecode writes them.
fn session(n: i64, step: i64) -> String {
    let mut s = String::new();
    for i in 0..n {
        let t = T0 + i * step;
        let env = |ts: String, pkt: i64| {
            format!(
                r#"{{"v":1,"type":"decoded","ts":{ts},"file":"gen.pcap","pkt":{pkt},"conn":1,"transport":"tcp","src":"10.0.0.9","sport":8899,"dst":"10.0.0.1","dport":40000,"dir":"s2c","offset":0,"len":110,"proto":"pi30","role":"reply","#
            )
        };
        s.push_str(&env(format!("{}.000000", t), 2 * i));
        s.push_str(r#""command":"QMOD","paired_by":"fifo","text":"B","mode":"B","mode_code":"BT","mode_name":"battery"}"#);
        s.push('\n');
        s.push_str(&env(format!("{}.500000", t), 2 * i + 1));
        let b = bv(i);
        s.push_str(&format!(
            r#""command":"QPIGS","paired_by":"fifo","grid_volt":230.0,"grid_freq":50.0,"ac_volt":229.9,"ac_freq":49.9,"ac_va":{},"ac_watt":{},"load_percent":10,"bus_volt":400,"batt_volt":{}.{:02},"batt_charge_amps":{},"batt_capacity":80,"temp":40,"pv_amps":12,"pv_volts":120.5,"batt_volt_scc":50.29,"batt_discharge_amps":0,"raw_status":"00010110","mask_b":0,"mask_c":0,"pv_watts":{},"mask_d":"010","charge_source":["solar_charging"],"units":{{"batt_volt":"V"}}}}"#,
            500 + i % 7,
            490 + i % 7,
            b / 100,
            b % 100,
            10 + i % 20,
            i % 3000
        ));
        s.push('\n');
    }
    s
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn graph_json(db: &Path, url: &str) -> serde_json::Value {
    let c = sekit::output::sqlite::schema::open_ro(db).unwrap();
    let r = sekit::serve::handle(&c, &LocalZone::utc(), "GET", url);
    assert_eq!(r.status, 200, "{url}: {}", r.body);
    assert_eq!(r.ctype, "application/json");
    serde_json::from_str(&r.body).unwrap()
}

#[test]
fn godenerg_sql_and_the_averaging_rule_on_100_and_10000_rows() {
    for n in [100i64, 10_000] {
        let d = tmp(&format!("avg{n}"));
        let db = d.join("site.db");
        let out = selog(&["-d", db.to_str().unwrap()], session(n, 15).as_bytes());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let c = Connection::open(&db).unwrap();
        assert_eq!(count(&c, "SELECT COUNT(1) FROM stats"), n);
        // godenerg's get_range, ungrouped and counted (datalogger.py).
        let (from, to) = (T0 - 100, T0 + n * 15 + 100);
        let mut st = c
            .prepare("SELECT 1, datetime, batt_volt, mode FROM stats WHERE datetime >= :from_dt AND datetime <= :to_dt")
            .unwrap();
        let rows: Vec<(i64, i64, f64, String)> = st
            .query_map(
                rusqlite::named_params! {":from_dt": from, ":to_dt": to},
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows.len() as i64, n);
        for (i, r) in rows.iter().enumerate() {
            let i = i as i64;
            assert_eq!(
                r.1,
                T0 + i * 15,
                "datetime = capture time of the QPIGS reply"
            );
            assert!((r.2 - bv(i) as f64 / 100.0).abs() < 1e-9);
            assert_eq!(r.3, "BT");
        }
        // The independent computation of spec §3.2.
        let coe = 15 * ((n + 2047) / 2048);
        let mut want: BTreeMap<i64, (f64, f64, i64)> = BTreeMap::new();
        for i in 0..n {
            let t = T0 + i * 15;
            let k = if n <= 2048 { t } else { t / coe };
            let e = want.entry(k).or_default();
            e.0 += bv(i) as f64 / 100.0;
            e.1 += (i % 3000) as f64;
            e.2 += 1;
        }
        let url = "/graph?from=20231114&to=20231117&col_1=batt_volt&col_2=pv_watts&format=json";
        let j = graph_json(&db, url);
        assert_eq!(j["n"], n);
        let x = j["x"].as_array().unwrap();
        assert_eq!(x.len(), want.len());
        assert!(x.len() <= 2048);
        for ((k, (s1, s2, cnt)), (i, xv)) in want.iter().zip(x.iter().enumerate()) {
            let t = if n <= 2048 { *k } else { k * coe };
            assert_eq!(xv.as_f64().unwrap(), t as f64);
            let y1 = j["y"][0][i].as_f64().unwrap();
            let y2 = j["y"][1][i].as_f64().unwrap();
            assert!((y1 - s1 / *cnt as f64).abs() < 1e-9, "bucket {k}: {y1}");
            assert!((y2 - s2 / *cnt as f64).abs() < 1e-9, "bucket {k}: {y2}");
        }
        if n > 2048 {
            assert_eq!(j["coe"], coe as f64);
            // selog kept the rollups, and they answered.
            assert_eq!(j["source"], "stats_rollup");
            // godenerg's grouped query gives the same averages.
            let sql = format!("SELECT {coe}, (datetime / {coe}), AVG(batt_volt) FROM stats WHERE datetime >= ?1 AND datetime <= ?2 GROUP BY (datetime / {coe})");
            let mut st = c.prepare(&sql).unwrap();
            let g: Vec<(i64, i64, f64)> = st
                .query_map([from, to], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert_eq!(g.len(), x.len());
            for (i, (coef, tms, avg)) in g.iter().enumerate() {
                assert_eq!((coef * tms) as f64, x[i].as_f64().unwrap());
                assert!((avg - j["y"][0][i].as_f64().unwrap()).abs() < 1e-9);
            }
        }
        // last_stats: every 2 s (here every row, 15 s apart), trimmed to --samples.
        assert_eq!(count(&c, "SELECT COUNT(1) FROM last_stats"), n.min(7200));
        let _ = std::fs::remove_dir_all(&d);
    }
}

#[test]
fn csv_extract_is_godenergs_byte_for_byte() {
    let d = tmp("extract");
    let db = d.join("site.db");
    let dbs = db.to_str().unwrap();
    assert!(selog(&["-d", dbs], session(5, 15).as_bytes())
        .status
        .success());
    let ex = |extra: &[&str]| {
        let mut a = vec!["-d", dbs, "--extract", "20231114221320-20231114221350"];
        a.extend_from_slice(extra);
        let o = selog(&a, b"");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let g = ex(&[
        "--godenerg",
        "--col",
        "datetime",
        "--col",
        "batt_volt",
        "--col",
        "batt_charge_amps",
    ]);
    assert_eq!(
        g,
        "1700000000;48.0;10\n1700000015;48.05;11\n1700000030;48.1;12"
    );
    let all = ex(&["--godenerg"]);
    let first = all.lines().next().unwrap();
    assert_eq!(
        first,
        "1700000000;230.0;50.0;229.9;49.9;500;490;10;400;48.0;10;80;40;12;120.5;50.29;0;00010110;0;0;0;010;BT"
    );
    assert_eq!(all.lines().count(), 3);
    let csv = ex(&["--col", "datetime", "--col", "batt_volt"]);
    assert_eq!(
        csv,
        "datetime,batt_volt\r\n1700000000,48\r\n1700000015,48.05\r\n1700000030,48.1\r\n"
    );
    // The four formats; a bad one and an unknown column are errors.
    let o = selog(
        &[
            "-d",
            dbs,
            "--extract",
            "2023111422-20231114221350",
            "--godenerg",
            "--col",
            "datetime",
        ],
        b"",
    );
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "1700000000\n1700000015\n1700000030"
    );
    let o = selog(
        &[
            "-d",
            dbs,
            "--extract",
            "202311142213-20231114221320",
            "--godenerg",
            "--col",
            "datetime",
        ],
        b"",
    );
    assert_eq!(String::from_utf8(o.stdout).unwrap(), "1700000000");
    for bad in [
        ["--extract", "2023-11-14"],
        ["--extract", "20231114-20231199"],
    ] {
        let o = selog(&[&["-d", dbs][..], &bad[..]].concat(), b"");
        assert!(!o.status.success());
    }
    let o = selog(
        &[
            "-d",
            dbs,
            "--extract",
            "20231114-20231115",
            "--col",
            "batt_volt;DROP TABLE stats",
        ],
        b"",
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a column of stats"));
    let _ = std::fs::remove_dir_all(&d);
}

fn decode_samples() -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let ex = Command::new(env!("CARGO_BIN_EXE_seextract"))
        .args([
            format!("{root}/samples/c37118"),
            format!("{root}/samples/solaredge"),
        ])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let mut de = Command::new(env!("CARGO_BIN_EXE_sedecode"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut i = de.stdin.take().unwrap();
    let w = std::thread::spawn(move || i.write_all(&ex.stdout).unwrap());
    let out = de.wait_with_output().unwrap().stdout;
    w.join().unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn c37118_and_solaredge_samples_and_idempotence() {
    let recs = decode_samples();
    let pi30 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/datalog/pi30-bridge-and-eybond.jsonl"
    ))
    .unwrap();
    let input = format!("{recs}{pi30}");
    // Independent counts: C37.118 data frames of PMU 241, SolarEdge inverter_1ph records.
    let (mut data241, mut inv1, mut freq) = (0i64, 0i64, Vec::new());
    for l in recs.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        if v["type"] != "decoded" {
            continue;
        }
        if v["proto"] == "c37118" && v["frame"] == "data" {
            for p in v["pmus"].as_array().unwrap() {
                if p["idcode"] == 241 {
                    data241 += 1;
                    freq.push(p["freq"].as_f64().unwrap());
                }
            }
        }
        if let Some(ds) = v["devices"].as_array() {
            inv1 += ds
                .iter()
                .filter(|d| d["type_name"] == "inverter_1ph")
                .count() as i64;
        }
    }
    assert!(data241 > 10 && inv1 > 0);
    let d = tmp("samples");
    let db = d.join("site.db");
    let dbs = db.to_str().unwrap();
    let o = selog(&["-d", dbs, "--interval", "0"], input.as_bytes());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c = Connection::open(&db).unwrap();
    assert_eq!(count(&c, "SELECT COUNT(1) FROM c37118_241_data"), data241);
    assert_eq!(
        count(&c, "SELECT COUNT(1) FROM solaredge_inverter_1ph"),
        inv1
    );
    let mut st = c.prepare("SELECT value FROM readings WHERE proto='c37118' AND device='241' AND field='freq' ORDER BY ts").unwrap();
    let got: Vec<f64> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, freq);
    // PI30 sample: two inverters, godenerg's rows with capture times.
    assert_eq!(count(&c, "SELECT COUNT(DISTINCT device) FROM stats"), 2);
    assert_eq!(count(&c, "SELECT MIN(datetime) FROM stats"), 1_700_000_000);
    let totals = |c: &Connection| {
        [
            "points",
            "stats",
            "last_stats",
            "c37118_241_data",
            "solaredge_inverter_1ph",
            "series",
        ]
        .map(|t| count(c, &format!("SELECT COUNT(1) FROM {t}")))
    };
    let before = totals(&c);
    let o = selog(&["-d", dbs, "--interval", "0"], input.as_bytes());
    assert!(o.status.success());
    assert_eq!(totals(&c), before, "a second run adds nothing");
    // Decimated: at most one PMU 241 row per 15 s.
    let db2 = d.join("dec.db");
    assert!(selog(&["-d", db2.to_str().unwrap()], input.as_bytes())
        .status
        .success());
    let c2 = Connection::open(&db2).unwrap();
    assert_eq!(
        count(&c2, "SELECT COUNT(1) FROM c37118_241_data"),
        count(
            &c2,
            "SELECT COUNT(DISTINCT CAST(ts / 15 AS INTEGER)) FROM c37118_241_data"
        )
    );
    assert!(count(&c2, "SELECT COUNT(1) FROM c37118_241_data") < data241);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_input_locked_database_and_full_disk() {
    let d = tmp("bad");
    let db = d.join("site.db");
    let dbs = db.to_str().unwrap();
    let mut input = String::from(
        "not json at all\n{\"v\":1,\"type\":\"frame\",\"proto\":\"nosuch\",\"hex\":\"00\"}\n",
    );
    input.push_str(r#"{"v":1,"type":"decoded","ts":1700000000.5,"proto":"futureproto","device":"X1","watts":12.5}"#);
    input.push('\n');
    input.push_str(&session(3, 15));
    let o = selog(&["-d", dbs], input.as_bytes());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("line 1"), "{err}");
    let c = Connection::open(&db).unwrap();
    assert_eq!(count(&c, "SELECT COUNT(1) FROM stats"), 3);
    assert_eq!(count(&c, "SELECT COUNT(1) FROM readings WHERE proto='futureproto' AND field='watts' AND value=12.5"), 1);
    // Locked: another writer holds the database; selog says so and stores nothing half-way.
    c.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let o = selog(&["-d", dbs], session(6, 15).as_bytes());
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("locked"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    c.execute_batch("COMMIT").unwrap();
    assert_eq!(count(&c, "SELECT COUNT(1) FROM stats"), 3);
    drop(c);
    // A full disk (file size limit; SIGXFSZ ignored so writes fail with EFBIG): a clear error,
    // the committed rows intact, and a restart completes without duplicates.
    let big = session(20_000, 15);
    let full = d.join("full.db");
    let fs = full.to_str().unwrap();
    let o = selog_in(
        "trap '' XFSZ; ulimit -f 2048",
        &["-d", fs, "--batch", "2000"],
        big.as_bytes(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("full") || err.contains("large") || err.contains("I/O"),
        "{err}"
    );
    let c = Connection::open(&full).unwrap();
    let kept = count(&c, "SELECT COUNT(1) FROM stats");
    assert!(kept > 0 && kept < 20_000, "{kept}");
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let o = selog(&["-d", fs], big.as_bytes());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(count(&c, "SELECT COUNT(1) FROM stats"), 20_000);
    assert_eq!(
        count(&c, "SELECT COUNT(DISTINCT datetime) FROM stats"),
        20_000
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// Both answers of one `/graph` query: from the rollups and from `stats` itself.
fn both(
    c: &Connection,
    from: i64,
    to: i64,
    cols: &[&str],
    dev: Option<&str>,
) -> (
    sekit::output::sqlite::query::Series,
    sekit::output::sqlite::query::Series,
) {
    use sekit::output::sqlite::query::graph_with;
    let raw = graph_with(c, from, to, cols, dev, false).unwrap();
    let roll = graph_with(c, from, to, cols, dev, true).unwrap();
    (raw, roll)
}

fn assert_same(c: &Connection, from: i64, to: i64, cols: &[&str], dev: Option<&str>, rolled: bool) {
    let (raw, roll) = both(c, from, to, cols, dev);
    let what = format!("{from}..{to} {cols:?} {dev:?}");
    assert_eq!(raw.source, "stats", "{what}");
    if rolled {
        assert_eq!(roll.source, "stats_rollup", "{what}");
    }
    assert_eq!((raw.n, raw.coe), (roll.n, roll.coe), "{what}");
    assert_eq!(raw.x, roll.x, "{what}");
    for (a, b) in raw.y.iter().zip(&roll.y) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (p, q)) in a.iter().zip(b).enumerate() {
            match (p, q) {
                (Some(p), Some(q)) => {
                    assert!(
                        (p - q).abs() <= 1e-9 * p.abs().max(1.0),
                        "{what} bucket {i}: {p} vs {q}"
                    )
                }
                _ => assert_eq!(p, q, "{what} bucket {i}"),
            }
        }
    }
}

#[test]
fn rollups_give_the_raw_rules_answer() {
    let d = tmp("rollup");
    let db = d.join("site.db");
    let o = selog(&["-d", db.to_str().unwrap()], session(3, 15).as_bytes());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut c = Connection::open(&db).unwrap();
    // Rows written by other SQL (the triggers keep the rollups): two devices 3 s and 7 s
    // apart, godenerg's own rows without a device, NULLs every 11th row.
    let n = 120_000i64;
    {
        let tx = c.transaction().unwrap();
        {
            let mut st = tx
                .prepare("INSERT INTO stats (datetime, batt_volt, pv_watts, ac_watt, device) VALUES (?1, ?2, ?3, ?4, ?5)")
                .unwrap();
            for i in 0..n {
                let bv = (i % 11 != 0).then(|| 48.0 + (i % 400) as f64 / 100.0 + 1.0 / 3.0);
                let (t, dev) = match i % 3 {
                    0 => (T0 + 100 + i * 3, Some("A")),
                    1 => (T0 + 100 + i * 7, Some("B")),
                    _ => (T0 + 100 + i * 5, None),
                };
                st.execute(rusqlite::params![t, bv, i % 3000, i % 17, dev])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let end = T0 + 100 + n * 7;
    let ranges = [
        (T0 - 1000, end + 1000),
        (T0 + 37, end - 400_013),
        (T0 + 86_400 + 59, T0 + 2 * 86_400 + 1),
        (T0 + 3_601, T0 + 3 * 86_400 + 7_199),
        (T0 + 1_000, T0 + 9_000),
    ];
    let check = |c: &Connection, rolled: bool| {
        for &(a, b) in &ranges {
            for dev in [None, Some("pi30/A"), Some("pi30/B")] {
                for cols in [
                    &["batt_volt"][..],
                    &["batt_volt", "pv_watts"],
                    &["ac_watt", "batt_volt"],
                ] {
                    assert_same(c, a, b, cols, dev, rolled && b - a > 100_000);
                }
            }
        }
    };
    check(&c, true);
    // Deletes and updates reach the rollups through the triggers.
    c.execute_batch(
        "DELETE FROM stats WHERE datetime % 13 = 0;
         UPDATE stats SET batt_volt = batt_volt + 1, datetime = datetime + 1 WHERE datetime % 17 = 0 AND device = 'B';",
    )
    .unwrap();
    check(&c, true);
    // A database without rollups (an older selog's, or godenerg's): the raw rule answers,
    // and the next selog run builds them.
    c.execute_batch(
        "DROP TRIGGER stats_rollup_ins; DROP TRIGGER stats_rollup_del; DROP TRIGGER stats_rollup_upd;
         DROP TABLE stats_1m; DROP TABLE stats_1h; DROP TABLE stats_1d; DELETE FROM meta WHERE key = 'rollups';
         INSERT INTO stats (datetime, batt_volt, device) VALUES (1700400000, 99.5, 'A');",
    )
    .unwrap();
    let (raw, roll) = both(&c, T0 - 1000, end + 1000, &["batt_volt"], None);
    assert_eq!(roll.source, "stats");
    assert_eq!(raw, roll);
    let o = selog(&["-d", db.to_str().unwrap()], b"");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    check(&c, true);
    let _ = std::fs::remove_dir_all(&d);
}

/// Runs selog as `nobody` when the tests run as root (root ignores file modes); None when
/// that is not possible here.
fn selog_unprivileged(args: &[&str], stdin: &[u8]) -> Option<Output> {
    let root = Command::new("id").arg("-u").output().ok()?.stdout == b"0\n";
    if !root {
        return Some(selog(args, stdin));
    }
    let ok = Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return None;
    }
    let q: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    Some(selog_in(
        &format!(
            "exec setpriv --reuid=65534 --regid=65534 --clear-groups \"$0\" {}",
            q.join(" ")
        ),
        &[],
        stdin,
    ))
}

#[test]
fn read_only_database_or_directory_clear_error_nothing_lost() {
    use std::os::unix::fs::PermissionsExt;
    let d = tmp("readonly");
    let db = d.join("site.db");
    let dbs = db.to_str().unwrap();
    let o = selog(&["-d", dbs], session(3, 15).as_bytes());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mode =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    mode(&d, 0o755);
    let more = session(6, 15);
    for (file_mode, dir_mode, why) in [(0o444, 0o755, "not writable"), (0o666, 0o555, "directory")]
    {
        mode(&db, file_mode);
        mode(&d, dir_mode);
        let Some(o) = selog_unprivileged(&["-d", dbs], more.as_bytes()) else {
            eprintln!("SKIPPED read-only database check: running as root without setpriv");
            mode(&d, 0o755);
            return;
        };
        mode(&d, 0o755);
        mode(&db, 0o644);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{err}");
        eprintln!("{err}");
        assert!(
            err.contains("read-only database") && err.contains(why),
            "{err}"
        );
        let c = Connection::open(&db).unwrap();
        assert_eq!(count(&c, "SELECT COUNT(1) FROM stats"), 3, "{err}");
        let check: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
    // Writable again: the rest goes in, nothing twice.
    let o = selog(&["-d", dbs], more.as_bytes());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c = Connection::open(&db).unwrap();
    assert_eq!(count(&c, "SELECT COUNT(1) FROM stats"), 6);
    assert_eq!(count(&c, "SELECT COUNT(DISTINCT datetime) FROM stats"), 6);
    let _ = std::fs::remove_dir_all(&d);
}
