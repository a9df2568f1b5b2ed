//! The `/graph` chart as SVG, written by hand (spec replay_and_datalogger.md §3.2: godenerg's
//! pygal chart): a line per column, the first filled when alone, the second on its own y-axis
//! on the right, time on the x-axis with ticks at "nice" local times (1 s … 30 min, 1 h … 12 h,
//! 1 day, 1 week, 1 … 6 months, years; as many as the width holds, see [`time_ticks`]) labelled
//! by the step (`HH:MM:SS`, `HH:MM` with the date under the first tick of each day,
//! `YYYY-MM-DD`, `YYYY-MM`, `YYYY`), and 20 y-labels,
//! y-ranges the integer min..max of each column, names cut to 14 characters, colours
//! `#3333FF` / `#FF3333`.

use crate::output::semonitor::LocalZone;
use crate::output::sqlite::query::{mktime, Series};
use crate::util::date::{days_from_civil, Civil};
use std::fmt::Write;

const W: f64 = 960.0;
const H: f64 = 480.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 70.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 110.0;
const COLOURS: [&str; 2] = ["#3333FF", "#FF3333"];
/// Least distance between two x labels, pixels (a `YYYY-MM-DD` label is about 65).
const X_LABEL_GAP: f64 = 95.0;
const MAX_Y_LABELS: i64 = 20;

/// Text escaped for XML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `YYYY-MM-DD HH:MM:SS` in local time (Python's `str(datetime.fromtimestamp(t))`).
pub fn local_label(zone: &LocalZone, t: f64) -> String {
    let c = zone.local(t.floor() as i64);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year, c.mon, c.mday, c.hour, c.min, c.sec
    )
}

fn range(ys: &[Option<f64>]) -> (i64, i64) {
    let vals = ys.iter().flatten().copied().filter(|v| v.is_finite());
    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if lo > hi {
        return (0, 1);
    }
    // godenerg: int(min) .. int(max); widened by one so the line is never flat on an edge.
    let (a, b) = (lo.floor() as i64, hi.ceil() as i64);
    (a, if b > a { b } else { a + 1 })
}

/// The chart of a series.
pub fn chart(s: &Series, title: &str, zone: &LocalZone) -> String {
    let mut o = String::with_capacity(4096 + s.x.len() * 40);
    let _ = write!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"11\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\
         <text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">{}</text>",
        W / 2.0,
        esc(title)
    );
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let n = s.x.len();
    let (t0, t1) = match (s.x.first(), s.x.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (0.0, 0.0),
    };
    let tpos = |t: f64| {
        if t1 > t0 {
            LEFT + pw * (t - t0) / (t1 - t0)
        } else {
            LEFT + pw / 2.0
        }
    };
    let xpos = |i: usize| tpos(s.x[i]);
    let _ = write!(o, "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#999\"/>");
    // x ticks: nice local times, as many as fit the width
    let max = ((pw / X_LABEL_GAP).floor() as usize).max(2);
    let ticks = if n == 0 {
        Vec::new()
    } else if t1 > t0 {
        time_ticks(zone, t0, t1, max)
    } else {
        vec![Tick {
            t: t0,
            label: local_label(zone, t0),
            date: None,
        }]
    };
    let y0 = TOP + ph;
    for tk in &ticks {
        let x = tpos(tk.t);
        let _ = write!(
            o,
            "<line class=\"xtick\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{:.1}\" stroke=\"#eee\"/><text class=\"xlabel\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            y0 + 4.0,
            y0 + 16.0,
            esc(&tk.label)
        );
        if let Some(d) = &tk.date {
            let _ = write!(
                o,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
                y0 + 30.0,
                esc(d)
            );
        }
    }
    for (k, ys) in s.y.iter().enumerate().take(2) {
        let (lo, hi) = range(ys);
        let ypos = |v: f64| TOP + ph - ph * (v - lo as f64) / (hi - lo) as f64;
        let ystep = ((hi - lo) + MAX_Y_LABELS) / MAX_Y_LABELS;
        let (ax, anchor) = if k == 0 {
            (LEFT - 6.0, "end")
        } else {
            (W - RIGHT + 6.0, "start")
        };
        let mut v = lo;
        while v <= hi {
            let y = ypos(v as f64);
            let _ = write!(
                o,
                "<text x=\"{ax}\" y=\"{:.1}\" text-anchor=\"{anchor}\" fill=\"{}\">{v}</text>",
                y + 4.0,
                COLOURS[k]
            );
            if k == 0 {
                let _ = write!(
                    o,
                    "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#eee\"/>",
                    LEFT + pw
                );
            }
            v += ystep.max(1);
        }
        let mut d = String::new();
        let mut pen = false;
        let mut count = 0usize;
        for (i, y) in ys.iter().enumerate() {
            match y.filter(|v| v.is_finite()) {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1}",
                        if pen { " L" } else { " M" },
                        xpos(i),
                        ypos(v)
                    );
                    pen = true;
                    count += 1;
                }
                None => pen = false,
            }
        }
        let name: String = s
            .cols
            .get(k)
            .map_or("", |c| c.as_str())
            .chars()
            .take(14)
            .collect();
        if s.y.len() == 1 && count > 1 && !d.is_empty() {
            let _ = write!(
                o,
                "<path class=\"fill\" d=\"{d} L{:.1},{:.1} L{:.1},{:.1} Z\" fill=\"{}\" fill-opacity=\"0.25\" stroke=\"none\"/>",
                xpos(n - 1),
                TOP + ph,
                xpos(0),
                TOP + ph,
                COLOURS[k]
            );
        }
        let _ = write!(
            o,
            "<path class=\"series\" data-name=\"{}\" data-points=\"{count}\" d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>",
            esc(&name),
            COLOURS[k]
        );
        let lx = LEFT + 10.0 + 160.0 * k as f64;
        let _ = write!(
            o,
            "<rect x=\"{lx}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            H - 18.0,
            COLOURS[k],
            lx + 14.0,
            H - 9.0,
            esc(&name)
        );
    }
    if n == 0 {
        let _ = write!(
            o,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">No data</text>",
            W / 2.0,
            TOP + ph / 2.0
        );
    }
    o.push_str("</svg>\n");
    o
}

/// An x-axis tick: its Unix time, label, and the date under it (sub-day steps: at the first
/// tick and at each new day).
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub t: f64,
    pub label: String,
    pub date: Option<String>,
}

/// The steps, in seconds (months and years as 30 and 365 days for choosing; placed on
/// calendar boundaries).
const STEPS: &[(i64, Unit)] = &[
    (1, Unit::Sec),
    (2, Unit::Sec),
    (5, Unit::Sec),
    (10, Unit::Sec),
    (15, Unit::Sec),
    (30, Unit::Sec),
    (60, Unit::Min),
    (120, Unit::Min),
    (300, Unit::Min),
    (600, Unit::Min),
    (900, Unit::Min),
    (1800, Unit::Min),
    (3600, Unit::Min),
    (7200, Unit::Min),
    (10_800, Unit::Min),
    (21_600, Unit::Min),
    (43_200, Unit::Min),
    (86_400, Unit::Day),
    (2 * 86_400, Unit::Day),
    (7 * 86_400, Unit::Week),
    (14 * 86_400, Unit::Week),
    (1, Unit::Month),
    (2, Unit::Month),
    (3, Unit::Month),
    (6, Unit::Month),
    (1, Unit::Year),
    (2, Unit::Year),
    (5, Unit::Year),
    (10, Unit::Year),
    (100, Unit::Year),
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Unit {
    Sec,
    Min,
    Day,
    Week,
    Month,
    Year,
}

fn approx(step: i64, u: Unit) -> f64 {
    match u {
        Unit::Month => step as f64 * 30.4 * 86_400.0,
        Unit::Year => step as f64 * 365.25 * 86_400.0,
        _ => step as f64,
    }
}

fn date(c: &Civil) -> String {
    format!("{:04}-{:02}-{:02}", c.year, c.mon, c.mday)
}

/// Ticks for `[t0, t1]` (Unix seconds, t0 < t1), at most `max`: the smallest nice step giving
/// no more than `max` ticks, placed on local-time boundaries of that step (midnight-aligned
/// for sub-day steps, Mondays for weeks, the 1st for months, 1 January for years).
pub fn time_ticks(zone: &LocalZone, t0: f64, t1: f64, max: usize) -> Vec<Tick> {
    let span = t1 - t0;
    let &(step, unit) = STEPS
        .iter()
        .find(|&&(st, u)| span / approx(st, u) + 1.0 <= max as f64)
        .unwrap_or(&STEPS[STEPS.len() - 1]);
    let local = |t: i64| zone.local(t);
    let unix = |y: i64, mo: u32, d: u32, secs: i64| {
        let secs = secs.clamp(0, 86_399) as u32;
        mktime(zone, y, mo, d, secs / 3600, secs / 60 % 60, secs % 60)
    };
    let mut out: Vec<Tick> = Vec::new();
    let first = local(t0.floor() as i64);
    let mut prev_day: Option<String> = None;
    let mut push = |t: i64, out: &mut Vec<Tick>| {
        if (t as f64) < t0 || (t as f64) > t1 || out.len() > max {
            return;
        }
        let c = local(t);
        let d = date(&c);
        let (label, date_line) = match unit {
            Unit::Sec => (format!("{:02}:{:02}:{:02}", c.hour, c.min, c.sec), true),
            Unit::Min => (format!("{:02}:{:02}", c.hour, c.min), true),
            Unit::Day | Unit::Week => (d.clone(), false),
            Unit::Month => (format!("{:04}-{:02}", c.year, c.mon), false),
            Unit::Year => (format!("{:04}", c.year), false),
        };
        let date = (date_line && prev_day.as_deref() != Some(d.as_str())).then(|| d.clone());
        prev_day = Some(d);
        out.push(Tick {
            t: t as f64,
            label,
            date,
        });
    };
    match unit {
        Unit::Sec | Unit::Min | Unit::Day | Unit::Week => {
            // Local days from the first one; ticks at multiples of the step in local time.
            let mut day = days_from_civil(first.year, first.mon, first.mday);
            let end = t1.ceil() as i64;
            if unit == Unit::Week {
                // 1970-01-01 was a Thursday: back to a Monday.
                day -= (day + 3).rem_euclid(7);
            }
            let mut guard = 0;
            loop {
                let c = Civil::from_unix(day * 86_400);
                let midnight = unix(c.year, c.mon, c.mday, 0);
                if midnight > end || guard > 100_000 {
                    break;
                }
                guard += 1;
                if step < 86_400 {
                    let mut sod = if guard == 1 {
                        i64::from(first.hour * 3600 + first.min * 60 + first.sec) / step * step
                    } else {
                        0
                    };
                    while sod < 86_400 {
                        let t = unix(c.year, c.mon, c.mday, sod);
                        if t > end {
                            break;
                        }
                        push(t, &mut out);
                        sod += step;
                    }
                    day += 1;
                } else {
                    push(midnight, &mut out);
                    day += step / 86_400;
                }
            }
        }
        Unit::Month | Unit::Year => {
            let months = if unit == Unit::Year { step * 12 } else { step };
            let mut m = first.year * 12 + i64::from(first.mon) - 1;
            if unit == Unit::Year {
                m = (first.year - first.year.rem_euclid(step)) * 12;
            } else {
                m -= m.rem_euclid(months);
            }
            loop {
                let (y, mo) = (m.div_euclid(12), (m.rem_euclid(12) + 1) as u32);
                let t = unix(y, mo, 1, 0);
                if t as f64 > t1 {
                    break;
                }
                push(t, &mut out);
                m += months;
            }
        }
    }
    out.truncate(max);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(t0: f64, t1: f64, max: usize) -> Vec<String> {
        time_ticks(&LocalZone::utc(), t0, t1, max)
            .into_iter()
            .map(|t| t.label)
            .collect()
    }

    // 2023-11-14 22:13:20 UTC
    const T: f64 = 1_700_000_000.0;

    #[test]
    fn steps_by_span() {
        // 2 minutes, 8 ticks at most: 30 s steps on :00 and :30.
        assert_eq!(
            labels(T, T + 120.0, 8),
            ["22:13:30", "22:14:00", "22:14:30", "22:15:00"]
        );
        // 1 day: 6 h steps at local multiples of 6 h (3 h could give 9).
        assert_eq!(
            labels(T, T + 86_400.0, 8),
            ["00:00", "06:00", "12:00", "18:00"]
        );
        // A year from 2023-01-01: 2-month steps on the 1st.
        assert_eq!(
            labels(1_672_531_200.0, 1_672_531_200.0 + 365.0 * 86_400.0, 8),
            ["2023-01", "2023-03", "2023-05", "2023-07", "2023-09", "2023-11", "2024-01"]
        );
        // 30 days: weeks on Mondays (2023-11-20 was a Monday).
        assert_eq!(
            labels(T, T + 30.0 * 86_400.0, 8),
            ["2023-11-20", "2023-11-27", "2023-12-04", "2023-12-11"]
        );
    }

    #[test]
    fn dates_under_the_first_tick_of_a_day() {
        let t = time_ticks(&LocalZone::utc(), T, T + 86_400.0, 8);
        assert_eq!(t[0].date.as_deref(), Some("2023-11-15"));
        assert!(t[1..].iter().all(|k| k.date.is_none()));
    }

    #[test]
    fn labels_never_crowd() {
        for span in [
            1.0,
            59.0,
            3_600.0,
            86_400.0 * 3.0,
            86_400.0 * 400.0,
            86_400.0 * 3650.0,
        ] {
            let t = time_ticks(&LocalZone::utc(), T, T + span, 8);
            assert!(!t.is_empty() && t.len() <= 8, "{span}: {t:?}");
            // Evenly spaced ticks at most 8 → at least span/8 apart (months vary by days).
            for w in t.windows(2) {
                assert!(w[1].t - w[0].t >= span / 9.0 * 0.9, "{span}: {t:?}");
            }
        }
    }
}
