//! SolarEdge aggregates of the state document (solaredge.md §8): jbuehl's inverter stats
//! (Vac average, Pac/Eac/Etot sums, Eday, Temp average), optimizer Pdc = Vmod × Imod, and,
//! where his script never resets it, Eday restarting at local midnight (`TZ`).

use crate::output::py_float;
use crate::output::semonitor::LocalZone;
use std::collections::BTreeMap;

/// A local calendar date.
pub type Day = (i64, u32, u32);

/// The local date of unix time `t` in `zone`.
pub fn day_of(zone: &LocalZone, t: i64) -> Day {
    let c = zone.local(t);
    (c.year, c.mon, c.mday)
}

/// A `YYYY-MM-DD` date (semonitor's `Date`).
pub fn parse_day(s: &str) -> Option<Day> {
    let mut it = s.splitn(3, '-');
    Some((
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    ))
}

pub fn fmt_day(d: Day) -> String {
    format!("{:04}-{:02}-{:02}", d.0, d.1, d.2)
}

/// The day's energy: the greatest sum of the inverters' Eday seen on the current local day;
/// a later day starts again from its own sum.
#[derive(Debug, Default, Clone)]
pub struct DayEnergy {
    pub day: Option<Day>,
    pub max: Option<f64>,
}

impl DayEnergy {
    /// Takes the sum of the inverters that reported on `day`.
    pub fn update(&mut self, day: Day, sum: f64) {
        if self.day.is_some_and(|d| day < d) {
            return;
        }
        if self.day != Some(day) {
            self.day = Some(day);
            self.max = None;
        }
        self.max = Some(self.max.map_or(sum, |m| m.max(sum)));
    }
}

/// A number as Python's `json.dump` writes a float or int.
pub fn py_num(x: f64, int: bool) -> String {
    if int && x.is_finite() && x.fract() == 0.0 && x.abs() < 9e15 {
        format!("{}", x as i64)
    } else if x.is_finite() {
        py_float(x)
    } else {
        "NaN".into()
    }
}

/// Sum and count of one field over devices; whether every value was an integer.
#[derive(Debug, Default, Clone, Copy)]
pub struct Acc {
    pub sum: f64,
    pub n: u64,
    pub ints: bool,
}

impl Acc {
    pub fn new() -> Self {
        Acc {
            sum: 0.0,
            n: 0,
            ints: true,
        }
    }

    pub fn add(&mut self, text: &str) {
        if let Ok(x) = text.parse::<f64>() {
            self.sum += x;
            self.n += 1;
            self.ints &= !text.contains(['.', 'e', 'E']);
        }
    }

    /// The sum as Python prints it (`0` when nothing was added, as jbuehl's `sumItems`).
    pub fn sum_text(&self) -> String {
        py_num(self.sum, self.ints)
    }

    /// The average over the devices that have the field (Python's `/`: a float).
    pub fn avg_text(&self) -> String {
        if self.n == 0 {
            "0".into()
        } else {
            py_float(self.sum / self.n as f64)
        }
    }
}

/// Accumulates `fields` (name → JSON number text) of several devices.
pub fn accumulate<'a>(
    devices: impl Iterator<Item = &'a BTreeMap<String, String>>,
    names: &[&str],
) -> Vec<Acc> {
    let mut acc = vec![Acc::new(); names.len()];
    for d in devices {
        for (i, n) in names.iter().enumerate() {
            if let Some(v) = d.get(*n) {
                acc[i].add(v);
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_energy_resets_on_a_new_day_only() {
        let mut e = DayEnergy::default();
        e.update((2016, 7, 19), 100.0);
        e.update((2016, 7, 19), 90.0);
        assert_eq!(e.max, Some(100.0));
        e.update((2016, 7, 20), 3.0);
        assert_eq!(e.max, Some(3.0));
        e.update((2016, 7, 19), 500.0);
        assert_eq!((e.day, e.max), (Some((2016, 7, 20)), Some(3.0)));
    }

    #[test]
    fn python_numbers() {
        let mut a = Acc::new();
        a.add("1");
        a.add("2");
        assert_eq!(a.sum_text(), "3");
        a.add("0.5");
        assert_eq!(a.sum_text(), "3.5");
        assert_eq!(a.avg_text(), "1.1666666666666667");
        assert_eq!(parse_day("2016-07-19"), Some((2016, 7, 19)));
    }
}
