//! jbuehl's `se2state.py` document from semonitor lines (solaredge.md §8):
//! `{"inverters": {"stats": {...}, "<id>": {...}}, "optimizers": {"stats": {"Temp": …},
//! "<id>": {..., "Pdc": …}}}`, without his bugs: Eday restarts on a new local day (the
//! inverters' `Date`), an event zeroes the devices' Eac/Pac and Vmod/Vopt/Imod but never the
//! stats, averages are over the devices that have the field, a missing field is no crash.

use super::doc::{fields_json, Fields};
use super::solaredge::{accumulate, parse_day, py_num, Day, DayEnergy};
use crate::output::csv::node::{json_string, Node};
use crate::output::py_float;
use std::collections::BTreeMap;

/// Devices kept per group.
const MAX_DEVICES: usize = 16_384;

#[derive(Debug, Default)]
pub struct CompatState {
    inverters: BTreeMap<String, Fields>,
    optimizers: BTreeMap<String, Fields>,
    inverter_day: BTreeMap<String, Day>,
    eday: DayEnergy,
    /// Inverter and optimizer stats of the last line.
    stats: (String, String),
}

fn fields(attrs: &Node<'_>) -> Fields {
    let mut f = Fields::new();
    if let Node::Obj(m) = attrs {
        for (k, v) in m {
            let mut s = String::new();
            v.write_json(&mut s);
            f.insert(k.to_string(), s);
        }
    }
    f
}

fn pdc(f: &mut Fields) {
    let v = f.get("Vmod").and_then(|x| x.parse::<f64>().ok());
    let i = f.get("Imod").and_then(|x| x.parse::<f64>().ok());
    if let (Some(v), Some(i)) = (v, i) {
        f.insert("Pdc".into(), py_float(v * i));
    }
}

impl CompatState {
    /// One semonitor line: each device's dict replaces the one before (`dict.update`).
    pub fn line(&mut self, n: &Node<'_>) {
        for (group, map) in [
            ("inverters", &mut self.inverters),
            ("optimizers", &mut self.optimizers),
        ] {
            let Some(Node::Obj(devs)) = n.get(group) else {
                continue;
            };
            for (id, attrs) in devs {
                if id == "stats" || (!map.contains_key(&**id) && map.len() >= MAX_DEVICES) {
                    continue;
                }
                if group == "inverters" {
                    if let Some(d) = attrs.get("Date").and_then(Node::as_str).and_then(parse_day) {
                        self.inverter_day.insert(id.to_string(), d);
                    }
                }
                map.insert(id.to_string(), fields(attrs));
            }
        }
        self.optimizers.values_mut().for_each(pdc);
        if let Some(&day) = self.inverter_day.values().max() {
            let today = self
                .inverters
                .iter()
                .filter(|(id, _)| self.inverter_day.get(*id) == Some(&day))
                .map(|(_, f)| f);
            let sum = accumulate(today, &["Eday"])[0].sum;
            self.eday.update(day, sum);
        }
        // The stats of this line, before an event zeroes the devices (as jbuehl's order).
        self.stats = self.stats_json();
        let events = matches!(n.get("events"), Some(Node::Obj(m)) if !m.is_empty());
        if events {
            for f in self.inverters.values_mut() {
                f.insert("Eac".into(), "0.0".into());
                f.insert("Pac".into(), "0.0".into());
            }
            for f in self.optimizers.values_mut() {
                for k in ["Vmod", "Vopt", "Imod"] {
                    f.insert(k.into(), "0.0".into());
                }
            }
        }
    }

    fn stats_json(&self) -> (String, String) {
        let a = accumulate(
            self.inverters.values(),
            &["Vac", "Pac", "Eac", "Etot", "Temp"],
        );
        let eday = self.eday.max.map_or("0.0".into(), |m| py_num(m, false));
        let inv = format!(
            "{{\"Vac\":{},\"Pac\":{},\"Eac\":{},\"Eday\":{eday},\"Etot\":{},\"Temp\":{}}}",
            a[0].avg_text(),
            a[1].sum_text(),
            a[2].sum_text(),
            a[3].sum_text(),
            a[4].avg_text()
        );
        let t = accumulate(self.optimizers.values(), &["Temp"]);
        (inv, format!("{{\"Temp\":{}}}", t[0].avg_text()))
    }

    pub fn json(&self) -> String {
        let (inv, opt) = if self.stats.0.is_empty() {
            self.stats_json()
        } else {
            self.stats.clone()
        };
        let mut o = format!("{{\"inverters\":{{\"stats\":{inv}");
        group(&mut o, &self.inverters);
        o.push_str(&format!("}},\"optimizers\":{{\"stats\":{opt}"));
        group(&mut o, &self.optimizers);
        o.push_str("}}\n");
        o
    }
}

fn group(o: &mut String, m: &BTreeMap<String, Fields>) {
    for (id, f) in m {
        o.push(',');
        json_string(o, id);
        o.push(':');
        fields_json(o, f);
    }
}
