//! The `/graph` chart as SVG, written by hand (spec replay_and_datalogger.md §3.2: godenerg's
//! pygal chart): a line per column, the first filled when alone, the second on its own y-axis
//! on the right, at most 40 x-labels (every ⌈n/40⌉-th point, local time) and 20 y-labels,
//! y-ranges the integer min..max of each column, names cut to 14 characters, colours
//! `#3333FF` / `#FF3333`.

use crate::output::semonitor::LocalZone;
use crate::output::sqlite::query::Series;
use std::fmt::Write;

const W: f64 = 960.0;
const H: f64 = 480.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 70.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 110.0;
const COLOURS: [&str; 2] = ["#3333FF", "#FF3333"];
const MAX_X_LABELS: usize = 40;
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
    let xpos = |i: usize| {
        if n <= 1 {
            LEFT + pw / 2.0
        } else {
            LEFT + pw * i as f64 / (n - 1) as f64
        }
    };
    let _ = write!(o, "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#999\"/>");
    // x labels
    let step = n.div_ceil(MAX_X_LABELS).max(1);
    for i in (0..n).step_by(step) {
        let x = xpos(i);
        let _ = write!(
            o,
            "<text x=\"{x:.1}\" y=\"{:.1}\" transform=\"rotate(40 {x:.1} {:.1})\">{}</text>",
            TOP + ph + 14.0,
            TOP + ph + 14.0,
            esc(&local_label(zone, s.x[i]))
        );
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
