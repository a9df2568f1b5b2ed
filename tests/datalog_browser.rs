//! The dashboard in a real browser (headless Chromium, when installed; SKIPPED loudly
//! otherwise): the page selects the device and fields given in its query string, draws a uPlot
//! chart (a `canvas` inside `.uplot`) and writes the point count and field names into the DOM;
//! screenshots of the dashboard and of a two-metric `/graph` SVG are real images (> 10 KB).
//! `SEKIT_SCREENSHOTS=DIR` keeps the two screenshots in DIR (docs/img/ is made that way).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const T0: i64 = 1_700_000_000;
const N: i64 = 1440;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sekit-browser-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn chromium() -> Option<PathBuf> {
    let fixed = PathBuf::from("/usr/bin/chromium");
    if fixed.exists() {
        return Some(fixed);
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("chromium"))
            .find(|c| c.exists())
    })
}

/// A day of QPIGS replies (one per minute) from 10.0.0.9: battery volts and PV watts that
/// follow the sun, in sedecode's format.
fn session() -> String {
    let mut s = String::new();
    for i in 0..N {
        let sun = (std::f64::consts::PI * i as f64 / N as f64).sin();
        s.push_str(&format!(
            r#"{{"v":1,"type":"decoded","ts":{}.500000,"file":"gen.pcap","pkt":{i},"conn":1,"transport":"tcp","src":"10.0.0.9","sport":8899,"dst":"10.0.0.1","dport":40000,"dir":"s2c","offset":0,"len":110,"proto":"pi30","role":"reply","command":"QPIGS","paired_by":"fifo","grid_volt":230.0,"grid_freq":50.0,"ac_volt":229.9,"ac_freq":49.9,"ac_va":500,"ac_watt":490,"load_percent":10,"bus_volt":400,"batt_volt":{:.2},"batt_charge_amps":10,"batt_capacity":80,"temp":40,"pv_amps":12,"pv_volts":120.5,"batt_volt_scc":50.29,"batt_discharge_amps":0,"raw_status":"00010110","mask_b":0,"mask_c":0,"pv_watts":{},"mask_d":"010","charge_source":["solar_charging"]}}"#,
            T0 + i * 60,
            48.0 + 4.0 * sun + 0.2 * ((i % 7) as f64 / 7.0),
            (3000.0 * sun * sun) as i64 + i % 13,
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

/// Runs headless Chromium with a fresh profile; returns stdout.
fn browse(exe: &Path, profile: &Path, extra: &[&str], url: &str) -> String {
    let out = Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--virtual-time-budget=5000")
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium {extra:?} {url}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of the element `<tag id="id">…</tag>` in a dumped DOM.
fn text_of(dom: &str, tag: &str, id: &str) -> String {
    let open = format!(r#"<{tag} id="{id}">"#);
    let start = dom
        .find(&open)
        .unwrap_or_else(|| panic!("no {open} in the DOM"))
        + open.len();
    let end = dom[start..].find('<').unwrap() + start;
    dom[start..end].to_string()
}

#[test]
fn dashboard_in_headless_chromium() {
    let Some(exe) = chromium() else {
        println!("SKIPPED: dashboard_in_headless_chromium: no chromium (/usr/bin/chromium or on PATH); install it (apt-get install chromium) to run the browser test");
        eprintln!("SKIPPED: dashboard_in_headless_chromium: no chromium");
        return;
    };
    let d = tmp("dash");
    let db = d.join("site.db");
    let mut ch = Command::new(env!("CARGO_BIN_EXE_selog"))
        .args(["-q", "-d", db.to_str().unwrap(), "--interval", "60"])
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    ch.stdin
        .take()
        .unwrap()
        .write_all(session().as_bytes())
        .unwrap();
    assert!(ch.wait().unwrap().success());
    let srv = serve(&db);
    let base = format!("http://{}", srv.1);

    // The dashboard, its selection from the query string.
    let page = format!("{base}/?device=pi30/10.0.0.9&fields=batt_volt,pv_watts&live=0");
    let dom = browse(&exe, &d.join("p1"), &["--dump-dom"], &page);
    let chart = dom.find(r#"class="uplot"#).expect("a .uplot chart");
    assert!(dom[chart..].contains("<canvas"), "a canvas inside .uplot");
    assert_eq!(text_of(&dom, "div", "errors"), "", "no error on the page");
    // N rows ≤ 2048: every row is a point (godenerg's rule).
    assert_eq!(text_of(&dom, "span", "npoints"), N.to_string());
    assert_eq!(text_of(&dom, "span", "nfields"), "2");
    assert_eq!(text_of(&dom, "span", "legend"), "batt_volt, pv_watts");

    // Screenshots: the dashboard and a two-metric /graph SVG.
    let keep = std::env::var_os("SEKIT_SCREENSHOTS").map(PathBuf::from);
    for (name, url) in [
        ("dashboard.png", page.clone()),
        (
            "graph.png",
            format!("{base}/graph?from=20231114&to=20231116&col_1=batt_volt&col_2=pv_watts&device=pi30/10.0.0.9"),
        ),
    ] {
        let png = d.join(name);
        browse(
            &exe,
            &d.join(format!("p-{name}")),
            &[
                &format!("--screenshot={}", png.display()),
                "--window-size=1200,800",
            ],
            &url,
        );
        let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is a PNG");
        assert!(bytes.len() > 10_000, "{name}: {} bytes", bytes.len());
        if let Some(k) = &keep {
            std::fs::create_dir_all(k).unwrap();
            std::fs::copy(&png, k.join(name)).unwrap();
        }
    }
    drop(srv);
    let _ = std::fs::remove_dir_all(&d);
}
