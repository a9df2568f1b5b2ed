//! MQTT publication of se2state's devices (docs/CSV_STATE.md "MQTT"): each changed device's
//! section of the state document as a retained message on `<prefix>/<protocol>/<device>`
//! (QoS 1), and with Home Assistant discovery one retained sensor configuration per numeric
//! field. The client is rumqttc; its event loop runs on a thread of its own that reconnects
//! (every second, with a warning) while the broker is down. At the end of input the
//! publisher waits up to [`DELIVERY_WAIT`] for the broker's acknowledgements and says how many
//! messages were not delivered.

use super::state::Publish;
use rumqttc::{Client, Connection, Event, MqttOptions, Packet, QoS};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the end of input waits for acknowledgements.
pub const DELIVERY_WAIT: Duration = Duration::from_secs(5);
/// Messages held for a broker that is away (the latest per topic).
const MAX_PENDING: usize = 65_536;

/// `mqtt://host[:port][/prefix]` → (host, port, prefix); the prefix defaults to `sekit`.
pub fn parse_url(url: &str) -> Result<(String, u16, String), String> {
    let rest = url
        .strip_prefix("mqtt://")
        .ok_or_else(|| format!("--mqtt {url}: an mqtt://host[:port][/prefix] URL"))?;
    let (hostport, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_end_matches('/');
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("--mqtt {url}: bad port {p:?}"))?,
        ),
        _ => (hostport, 1883),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("--mqtt {url}: no host"));
    }
    let ok = |s: &str| !s.contains(['+', '#', '\0']);
    if !ok(prefix) {
        return Err(format!("--mqtt {url}: the prefix may not hold + or #"));
    }
    let prefix = if prefix.is_empty() { "sekit" } else { prefix };
    Ok((host.to_string(), port, prefix.to_string()))
}

/// A topic level made of a protocol or device name (no `/`, `+`, `#`).
fn level(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '/' | '+' | '#' | '\0') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// The MQTT publisher.
pub struct Mqtt {
    client: Client,
    prefix: String,
    ha: bool,
    announced: BTreeSet<String>,
    pending: BTreeMap<String, Vec<u8>>,
    sent: u64,
    acked: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    last_error: Arc<Mutex<Option<String>>>,
    thread: Option<JoinHandle<()>>,
    target: String,
}

fn drive(
    mut conn: Connection,
    acked: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    err: Arc<Mutex<Option<String>>>,
    target: String,
) {
    let mut down = false;
    loop {
        match conn.recv_timeout(Duration::from_millis(200)) {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => {
                acked.fetch_add(1, Ordering::SeqCst);
            }
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                if down {
                    eprintln!("se2state: mqtt {target}: connected again");
                }
                down = false;
            }
            Ok(Ok(_)) => {}
            Ok(Err(rumqttc::ConnectionError::RequestsDone)) => return,
            Ok(Err(_)) if stop.load(Ordering::SeqCst) => return,
            Ok(Err(e)) => {
                if !down {
                    eprintln!("se2state: warning: mqtt {target}: {e}; retrying every second");
                }
                down = true;
                *err.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            // Nothing within the timeout.
            Err(rumqttc::RecvTimeoutError::Timeout) => {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

impl Mqtt {
    /// Starts the client (it connects in the background; a broker that is down is a warning
    /// and a retry, not an error here).
    pub fn connect(url: &str, ha: bool) -> Result<Mqtt, String> {
        let (host, port, prefix) = parse_url(url)?;
        let mut o = MqttOptions::new(
            format!("sekit-se2state-{}", std::process::id()),
            &host,
            port,
        );
        o.set_keep_alive(Duration::from_secs(30));
        o.set_clean_session(true);
        o.set_max_packet_size(1 << 20, 1 << 20);
        let (client, conn) = Client::new(o, 1024);
        let acked = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let last_error = Arc::new(Mutex::new(None));
        let target = format!("{host}:{port}");
        let (a, s, e, t) = (
            acked.clone(),
            stop.clone(),
            last_error.clone(),
            target.clone(),
        );
        let thread = std::thread::spawn(move || drive(conn, a, s, e, t));
        Ok(Mqtt {
            client,
            prefix,
            ha,
            announced: BTreeSet::new(),
            pending: BTreeMap::new(),
            sent: 0,
            acked,
            stop,
            last_error,
            thread: Some(thread),
            target,
        })
    }

    /// The topic of a device.
    pub fn topic(&self, proto: &str, dev: &str) -> String {
        format!("{}/{}/{}", self.prefix, level(proto), level(dev))
    }

    /// Home Assistant discovery: one sensor per numeric field of the device's section.
    fn discovery(&mut self, proto: &str, dev: &str, topic: &str, payload: &str) {
        let Ok(serde_json::Value::Object(v)) = serde_json::from_str::<serde_json::Value>(payload)
        else {
            return;
        };
        let uid = format!("sekit_{}_{}", level(proto), level(dev)).replace(['.', ' ', '-'], "_");
        for (kind, fields) in &v {
            let Some(fields) = fields.as_object() else {
                continue;
            };
            for (field, x) in fields {
                if !x.is_number() || kind == "stats" && field != "count" {
                    continue;
                }
                let id = format!("{uid}_{kind}_{field}").replace(['.', ' ', '-'], "_");
                let config = serde_json::json!({
                    "name": format!("{kind} {field}"),
                    "unique_id": id,
                    "state_topic": topic,
                    "value_template": format!("{{{{ value_json[{kind:?}][{field:?}] }}}}"),
                    "device": {"identifiers": [uid], "name": format!("{proto} {dev}"),
                        "manufacturer": proto},
                });
                let t = format!("homeassistant/sensor/{id}/config");
                self.send(t, config.to_string().into_bytes());
            }
        }
    }

    fn send(&mut self, topic: String, payload: Vec<u8>) {
        match self
            .client
            .try_publish(topic.clone(), QoS::AtLeastOnce, true, payload.clone())
        {
            Ok(()) => self.sent += 1,
            Err(_) if self.pending.len() < MAX_PENDING || self.pending.contains_key(&topic) => {
                self.pending.insert(topic, payload);
            }
            Err(_) => {}
        }
    }

    fn retry_pending(&mut self) {
        for (t, p) in std::mem::take(&mut self.pending) {
            self.send(t, p);
        }
    }
}

impl Publish for Mqtt {
    fn publish(&mut self, changed: Vec<((String, String), String)>) {
        self.retry_pending();
        for ((proto, dev), payload) in changed {
            let topic = self.topic(&proto, &dev);
            if self.ha && self.announced.insert(topic.clone()) {
                self.discovery(&proto, &dev, &topic, &payload);
            }
            self.send(topic, payload.into_bytes());
        }
    }

    fn finish(&mut self) -> Result<(), String> {
        self.retry_pending();
        let t0 = Instant::now();
        while self.acked.load(Ordering::SeqCst) < self.sent && t0.elapsed() < DELIVERY_WAIT {
            std::thread::sleep(Duration::from_millis(20));
            if !self.pending.is_empty() {
                self.retry_pending();
            }
        }
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.client.disconnect();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let acked = self.acked.load(Ordering::SeqCst);
        let lost = self.sent.saturating_sub(acked) + self.pending.len() as u64;
        if lost == 0 {
            return Ok(());
        }
        let why = self
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Err(format!(
            "mqtt {}: {lost} of {} messages not acknowledged within {} s{}",
            self.target,
            self.sent + self.pending.len() as u64,
            DELIVERY_WAIT.as_secs(),
            why.map(|w| format!(" (last error: {w})"))
                .unwrap_or_default()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("mqtt://127.0.0.1:1884/site/a").unwrap(),
            ("127.0.0.1".into(), 1884, "site/a".into())
        );
        assert_eq!(
            parse_url("mqtt://localhost").unwrap(),
            ("localhost".into(), 1883, "sekit".into())
        );
        assert_eq!(parse_url("mqtt://[::1]:9/x").unwrap().0, "::1");
        assert!(parse_url("http://x").is_err());
        assert!(parse_url("mqtt://h:99999").is_err());
        assert!(parse_url("mqtt://h/a/#").is_err());
        assert_eq!(level("a/b+#"), "a_b__");
    }
}
