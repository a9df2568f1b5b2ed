//! The state document: the latest value of every field per device, per record kind, with
//! per-device stats, and SolarEdge's site aggregates (docs/CSV_STATE.md "se2state").

use super::solaredge::{accumulate, day_of, fmt_day, py_num, DayEnergy};
use crate::output::csv::flat::Row;
use crate::output::csv::node::{json_string, Node};
use crate::output::semonitor::LocalZone;
use std::collections::{BTreeMap, BTreeSet};

/// Devices kept; rows of further devices are counted, not kept.
pub const MAX_DEVICES: usize = 16_384;
/// Fields kept per record kind of a device.
pub const MAX_FIELDS: usize = 4096;

/// Fields: name → JSON text of the latest value.
pub type Fields = BTreeMap<String, String>;

/// One device.
#[derive(Debug, Default, Clone)]
pub struct Device {
    pub kinds: BTreeMap<String, Fields>,
    pub count: u64,
    pub first_ts: Option<String>,
    pub last_ts: Option<String>,
}

impl Device {
    /// The device's section of the document (the MQTT payload).
    pub fn json(&self) -> String {
        let mut o = String::from("{\"stats\":{\"count\":");
        o.push_str(&self.count.to_string());
        for (k, v) in [("first_ts", &self.first_ts), ("last_ts", &self.last_ts)] {
            o.push_str(&format!(",\"{k}\":"));
            o.push_str(v.as_deref().unwrap_or("null"));
        }
        o.push('}');
        for (kind, f) in &self.kinds {
            o.push(',');
            json_string(&mut o, kind);
            o.push(':');
            fields_json(&mut o, f);
        }
        o.push('}');
        o
    }
}

pub fn fields_json(o: &mut String, f: &Fields) {
    o.push('{');
    for (i, (k, v)) in f.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        json_string(o, k);
        o.push(':');
        o.push_str(v);
    }
    o.push('}');
}

/// Devices by (protocol, device).
#[derive(Debug)]
pub struct State {
    pub devices: BTreeMap<(String, String), Device>,
    /// Devices changed since the last [`State::take_changed`].
    changed: BTreeSet<(String, String)>,
    /// Rows of devices over [`MAX_DEVICES`], and rows without a device.
    pub dropped: u64,
    zone: LocalZone,
    /// Local day of each SolarEdge inverter's last record.
    inverter_day: BTreeMap<String, (i64, u32, u32)>,
    eday: DayEnergy,
}

fn num_text(v: &str) -> Option<f64> {
    v.parse().ok()
}

impl State {
    pub fn new(zone: LocalZone) -> Self {
        State {
            devices: BTreeMap::new(),
            changed: BTreeSet::new(),
            dropped: 0,
            zone,
            inverter_day: BTreeMap::new(),
            eday: DayEnergy::default(),
        }
    }

    /// Takes one row: its fields become the latest of its device and kind.
    pub fn row(&mut self, r: &Row<'_, '_>) {
        let Some(dev) = &r.device else {
            self.dropped += 1;
            return;
        };
        let key = (r.proto.clone(), dev.clone());
        if !self.devices.contains_key(&key) && self.devices.len() >= MAX_DEVICES {
            self.dropped += 1;
            return;
        }
        let kind = r
            .get("type_name")
            .map(|v| v.text().into_owned())
            .unwrap_or_else(|| r.kind.clone());
        let d = self.devices.entry(key.clone()).or_default();
        let f = d.kinds.entry(kind.clone()).or_default();
        for (name, v) in &r.cols {
            let mut s = String::new();
            v.write_json(&mut s);
            let full = f.len() >= MAX_FIELDS;
            match f.get_mut(&**name) {
                Some(x) => *x = s,
                None if full => {}
                None => {
                    f.insert(name.to_string(), s);
                }
            }
        }
        if r.proto == "solaredge" && kind.starts_with("optimizer") {
            let p = f
                .get("v_mod")
                .and_then(|v| num_text(v))
                .zip(f.get("i_mod").and_then(|v| num_text(v)));
            if let Some((v, i)) = p {
                f.insert("p_dc".into(), py_num(v * i, false));
            }
        }
        d.count += 1;
        if let Some(ts) = r.get("capture_ts") {
            let mut s = String::new();
            ts.write_json(&mut s);
            d.first_ts.get_or_insert_with(|| s.clone());
            d.last_ts = Some(s);
        }
        if r.proto == "solaredge" && kind.starts_with("inverter") {
            let t = r
                .get("device_time")
                .or_else(|| r.get("ts")) // a record of format version 1
                .and_then(|v| v.text().parse::<i64>().ok());
            if let Some(t) = t {
                let day = day_of(&self.zone, t);
                self.inverter_day.insert(dev.clone(), day);
                let sum = self.inverter_sum("e_day", day);
                self.eday.update(day, sum);
            }
        }
        self.changed.insert(key);
    }

    /// A semonitor line's device (`devName`, `id`, attributes) in the native document.
    pub fn semonitor_device(&mut self, dev_name: &str, id: &str, attrs: &Node<'_>) {
        let Node::Obj(m) = attrs else { return };
        let key = ("solaredge".to_string(), id.to_string());
        if !self.devices.contains_key(&key) && self.devices.len() >= MAX_DEVICES {
            self.dropped += 1;
            return;
        }
        let d = self.devices.entry(key.clone()).or_default();
        let f = d.kinds.entry(dev_name.to_string()).or_default();
        for (k, v) in m.iter().take(MAX_FIELDS) {
            let mut s = String::new();
            v.write_json(&mut s);
            f.insert(k.to_string(), s);
        }
        d.count += 1;
        self.changed.insert(key);
    }

    fn inverters(&self) -> impl Iterator<Item = (&String, &Fields)> {
        self.devices
            .iter()
            .filter(|((p, _), _)| p == "solaredge")
            .flat_map(|((_, id), d)| {
                d.kinds
                    .iter()
                    .filter(|(k, _)| k.starts_with("inverter"))
                    .map(move |(_, f)| (id, f))
            })
    }

    fn inverter_sum(&self, field: &str, day: (i64, u32, u32)) -> f64 {
        self.inverters()
            .filter(|(id, _)| self.inverter_day.get(*id) == Some(&day))
            .filter_map(|(_, f)| f.get(field).and_then(|v| num_text(v)))
            .sum()
    }

    /// Devices changed since the last call, with their sections.
    pub fn take_changed(&mut self) -> Vec<((String, String), String)> {
        let keys = std::mem::take(&mut self.changed);
        keys.into_iter()
            .filter_map(|k| self.devices.get(&k).map(|d| (k.clone(), d.json())))
            .collect()
    }

    /// SolarEdge site aggregates, when there are SolarEdge inverters or optimizers.
    fn solaredge_json(&self) -> Option<String> {
        let inv: Vec<&Fields> = self.inverters().map(|(_, f)| f).collect();
        let opt: Vec<&Fields> = self
            .devices
            .iter()
            .filter(|((p, _), _)| p == "solaredge")
            .flat_map(|(_, d)| {
                d.kinds
                    .iter()
                    .filter(|(k, _)| k.starts_with("optimizer"))
                    .map(|(_, f)| f)
            })
            .collect();
        if inv.is_empty() && opt.is_empty() {
            return None;
        }
        let names = ["v_ac", "p_ac", "e_interval", "e_total", "temp"];
        let a = accumulate(inv.iter().copied(), &names);
        let mut o = format!(
            "{{\"inverters\":{{\"count\":{},\"v_ac\":{},\"p_ac\":{},\"e_interval\":{},\"e_total\":{},\"temp\":{}",
            inv.len(),
            a[0].avg_text(),
            a[1].sum_text(),
            a[2].sum_text(),
            a[3].sum_text(),
            a[4].avg_text()
        );
        let eday = self.eday.max.map_or("null".into(), |m| py_num(m, false));
        let day = self
            .eday
            .day
            .map_or("null".into(), |d| format!("\"{}\"", fmt_day(d)));
        o.push_str(&format!(",\"e_day\":{eday},\"e_day_date\":{day}}}"));
        let b = accumulate(opt.iter().copied(), &["temp", "p_dc"]);
        o.push_str(&format!(
            ",\"optimizers\":{{\"count\":{},\"temp\":{},\"p_dc\":{}}}}}",
            opt.len(),
            b[0].avg_text(),
            b[1].sum_text()
        ));
        Some(o)
    }

    /// The whole document.
    pub fn json(&self) -> String {
        let mut o = String::from("{\"devices\":{");
        let mut last_proto: Option<&str> = None;
        for ((p, id), d) in &self.devices {
            if last_proto != Some(p) {
                if last_proto.is_some() {
                    o.push_str("},");
                }
                json_string(&mut o, p);
                o.push_str(":{");
                last_proto = Some(p);
            } else {
                o.push(',');
            }
            json_string(&mut o, id);
            o.push(':');
            o.push_str(&d.json());
        }
        if last_proto.is_some() {
            o.push('}');
        }
        o.push('}');
        if let Some(se) = self.solaredge_json() {
            o.push_str(",\"solaredge\":");
            o.push_str(&se);
        }
        o.push_str("}\n");
        o
    }
}
