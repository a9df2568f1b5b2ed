//! se2state --mqtt against a real broker (mosquitto, started here on a free loopback port with
//! its own configuration): every device's retained message equals its section of the state
//! file; Home Assistant discovery; a broker that is down or goes away gives a clear error in
//! bounded time. Skips LOUDLY when the mosquitto binary is absent (apt-get install mosquitto).

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_se2state");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sekit-mqtt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn mosquitto() -> Option<PathBuf> {
    let mut cands = vec![PathBuf::from("/usr/sbin/mosquitto")];
    if let Some(p) = std::env::var_os("PATH") {
        cands.extend(std::env::split_paths(&p).map(|d| d.join("mosquitto")));
    }
    cands.into_iter().find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A broker of our own; killed on drop.
struct Broker(Child, u16);

impl Broker {
    fn start(dir: &std::path::Path) -> Option<Broker> {
        let Some(bin) = mosquitto() else {
            eprintln!("SKIPPED: the mosquitto binary is absent (apt-get install -y mosquitto); MQTT test not run");
            return None;
        };
        let port = free_port();
        let conf = dir.join("mosquitto.conf");
        let text = format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n");
        std::fs::write(&conf, text).unwrap();
        let child = Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "mosquitto did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Broker(child, port))
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Records: the SolarEdge sample session and one C37.118 sample, decoded.
fn records() -> Vec<u8> {
    let caps = [
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/solaredge/inverter-session.pcap"
        ),
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/c37118/C37.118_1PMU_UDP_minimal.pcap"
        ),
    ];
    let x = Command::new(env!("CARGO_BIN_EXE_seextract"))
        .args(caps)
        .output()
        .unwrap();
    let mut d = Command::new(env!("CARGO_BIN_EXE_sedecode"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    d.stdin.take().unwrap().write_all(&x.stdout).unwrap();
    d.wait_with_output().unwrap().stdout
}

/// Every retained message under `filter`: topic → payload, until 1.5 s pass without one.
fn retained(port: u16, filter: &str) -> BTreeMap<String, String> {
    let mut o = MqttOptions::new(
        format!("sekit-test-{}", std::process::id()),
        "127.0.0.1",
        port,
    );
    o.set_keep_alive(Duration::from_secs(10));
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut conn) = Client::new(o, 64);
    client.subscribe(filter, QoS::AtLeastOnce).unwrap();
    let mut got = BTreeMap::new();
    let t0 = Instant::now();
    loop {
        match conn.recv_timeout(Duration::from_millis(1500)) {
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                assert!(p.retain, "{} retained", p.topic);
                got.insert(
                    p.topic.clone(),
                    String::from_utf8(p.payload.to_vec()).unwrap(),
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("subscriber: {e}"),
            Err(_) => break,
        }
        assert!(t0.elapsed() < Duration::from_secs(30));
    }
    let _ = client.disconnect();
    got
}

/// Runs se2state on `input`; fails if it runs longer than `limit`.
fn run(args: &[&str], input: &[u8], limit: Duration) -> (bool, String) {
    let mut c = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(input).unwrap();
    let t0 = Instant::now();
    while c.try_wait().unwrap().is_none() {
        if t0.elapsed() > limit {
            let _ = c.kill();
            panic!("se2state hung for {limit:?} with {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = c.wait_with_output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn retained_messages_equal_the_state_file_sections() {
    let dir = tmp("ok");
    let Some(broker) = Broker::start(&dir) else {
        return;
    };
    let st = dir.join("state.json");
    let url = format!("mqtt://127.0.0.1:{}/site", broker.1);
    let args = ["-o", st.to_str().unwrap(), "--mqtt", &url, "--ha-discovery"];
    let (ok, err) = run(&args, &records(), Duration::from_secs(30));
    assert!(ok, "{err}");
    let state: Value = serde_json::from_str(&std::fs::read_to_string(&st).unwrap()).unwrap();
    let got = retained(broker.1, "site/#");
    let mut n = 0;
    for (proto, devs) in state["devices"].as_object().unwrap() {
        for (dev, section) in devs.as_object().unwrap() {
            let topic = format!("site/{proto}/{dev}");
            let msg = got
                .get(&topic)
                .unwrap_or_else(|| panic!("no message on {topic}"));
            let v: Value = serde_json::from_str(msg).unwrap();
            assert_eq!(&v, section, "{topic}");
            n += 1;
        }
    }
    assert_eq!(got.len(), n, "one message per device: {:?}", got.keys());
    assert!(n >= 9, "{n} devices");
    let ha = retained(broker.1, "homeassistant/#");
    let inv = ha
        .iter()
        .find(|(t, _)| t.contains("7F104920") && t.contains("p_ac"))
        .expect("a discovery message for the inverter's p_ac");
    let c: Value = serde_json::from_str(inv.1).unwrap();
    assert_eq!(c["state_topic"], "site/solaredge/7F104920");
    assert!(c["value_template"].as_str().unwrap().contains("p_ac"));
}

#[test]
fn broker_down_is_a_clear_error_not_a_hang() {
    let url = format!("mqtt://127.0.0.1:{}/x", free_port());
    let (ok, err) = run(&["--mqtt", &url], &records(), Duration::from_secs(30));
    assert!(!ok);
    assert!(err.contains("retrying"), "{err}");
    assert!(err.contains("not acknowledged"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn broker_going_away_is_a_clear_error_not_a_hang() {
    let dir = tmp("away");
    let Some(broker) = Broker::start(&dir) else {
        return;
    };
    let url = format!("mqtt://127.0.0.1:{}/x", broker.1);
    let mut c = Command::new(BIN)
        .args(["--interval", "0.05", "--mqtt", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = c.stdin.take().unwrap();
    let recs = records();
    let half = recs.len() / 2;
    let cut = half + recs[half..].iter().position(|&b| b == b'\n').unwrap() + 1;
    input.write_all(&recs[..cut]).unwrap();
    input.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    drop(broker);
    input.write_all(&recs[cut..]).unwrap();
    drop(input);
    let t0 = Instant::now();
    while c.try_wait().unwrap().is_none() {
        assert!(t0.elapsed() < Duration::from_secs(30), "se2state hung");
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = c.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("retrying") && err.contains("not acknowledged"),
        "{err}"
    );
}
