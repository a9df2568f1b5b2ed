//! Reading the datalogger database (docs/DATALOGGER.md): godenerg's time formats and `/graph`
//! averaging rule (spec replay_and_datalogger.md §3.2), the latest values of a device, the
//! devices and fields. Every value from a request is a bound parameter; column names are
//! checked against the schema (`stats` columns, or the `series` of a device) before use.

use super::rollup;
use super::schema::{self, ident, is_stats_col};
use crate::output::semonitor::LocalZone;
use crate::util::date::days_from_civil;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};

/// godenerg's `MAX_GROUPED_ITEMS` (spec §3.2).
pub const MAX_POINTS: i64 = 2048;

/// An error of a request: its message (the HTTP 400 body, or a CLI error).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    Bad(String),
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
}

fn bad<T>(s: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError::Bad(s.into()))
}

/// Local Unix time of a broken-down local time (C `mktime`): the offset found at the guess and
/// at the corrected guess.
pub fn mktime(zone: &LocalZone, y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    let naive = days_from_civil(y, mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + s);
    let off = |t: i64| {
        let c = zone.local(t);
        days_from_civil(c.year, c.mon, c.mday) * 86_400
            + i64::from(c.hour * 3600 + c.min * 60 + c.sec)
            - t
    };
    let t0 = naive - off(naive);
    naive - off(t0)
}

/// godenerg's `txt_dt_to_int`: `YYYYMMDD[HH[MM[SS]]]` right-padded with `0` to 14 digits,
/// read as local time.
pub fn parse_time(s: &str, zone: &LocalZone) -> Result<i64, QueryError> {
    if !(8..=14).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return bad(format!(
            "time {s:?}: YYYYMMDD, YYYYMMDDHH, YYYYMMDDHHMM or YYYYMMDDHHMMSS"
        ));
    }
    let p = format!("{s:0<14}");
    let n = |a: usize, b: usize| p[a..b].parse::<u32>().unwrap_or(0);
    let (y, mo, d, h, mi, sec) = (n(0, 4), n(4, 6), n(6, 8), n(8, 10), n(10, 12), n(12, 14));
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let mdays = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo)
        || d < 1
        || d > mdays[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || sec > 61
    {
        return bad(format!("time {s:?}: not a date"));
    }
    Ok(mktime(zone, i64::from(y), mo, d, h, mi, sec))
}

/// A `proto/device` name (as `/devices` lists them).
pub fn split_device(id: &str) -> Result<(&str, &str), QueryError> {
    match id.split_once('/') {
        Some((p, d)) if !p.is_empty() && !d.is_empty() => Ok((p, d)),
        _ => bad(format!(
            "device {id:?}: expected PROTO/DEVICE (see /devices)"
        )),
    }
}

/// A graph's series: x (Unix seconds), one y list per column.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Rows in the range.
    pub n: i64,
    /// The bucket width (0 when the rows are returned as they are).
    pub coe: f64,
    pub cols: Vec<String>,
    pub x: Vec<f64>,
    pub y: Vec<Vec<Option<f64>>>,
    /// `stats`, `stats_rollup` or `points`.
    pub source: &'static str,
}

impl Series {
    pub fn json(&self) -> Value {
        json!({"n": self.n, "coe": self.coe, "source": self.source, "cols": self.cols,
               "x": self.x, "y": self.y})
    }
}

fn stats_interval(c: &Connection) -> f64 {
    schema::meta(c, "interval")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(15.0)
}

/// godenerg's rule on `stats`: n rows in `from ≤ datetime ≤ to`; n ≤ 2048 → the rows; else
/// `AVG` grouped by `datetime / coe`, coe = interval · ⌈n / 2048⌉, at `(datetime / coe) · coe`.
fn graph_stats(
    c: &Connection,
    from: i64,
    to: i64,
    cols: &[&str],
    device: Option<&str>,
    rollups: bool,
) -> Result<Series, QueryError> {
    let dev = if device.is_some() {
        " AND device = ?3"
    } else {
        " AND ?3 IS NULL"
    };
    let wher = format!("WHERE datetime >= ?1 AND datetime <= ?2{dev}");
    let rolled =
        rollups && from >= 0 && cols.iter().all(|c| rollup::is_rolled(c)) && rollup::present(c);
    let mut reader = rolled.then(|| rollup::Reader::new(c, cols, device));
    let n: i64 = match reader.as_mut() {
        Some(rd) => rd.sums(from, to)?.n,
        None => c.query_row(
            &format!("SELECT COUNT(1) FROM stats {wher}"),
            params![from, to, device],
            |r| r.get(0),
        )?,
    };
    let interval = stats_interval(c) as i64;
    if let Some(rd) = reader.as_mut().filter(|_| n > MAX_POINTS) {
        let coe = interval.max(1) * ((n + MAX_POINTS - 1) / MAX_POINTS);
        // Buckets spanned: about 2048 when rows come every `interval`; far more only for
        // sparse rows, which the raw query answers as fast.
        if (to / coe - from / coe) <= 4 * MAX_POINTS {
            return graph_rollup(rd, from, to, cols, n, coe);
        }
    }
    let (sql, coe) = if n <= MAX_POINTS {
        let list: Vec<String> = cols.iter().map(|c| format!("CAST({c} AS REAL)")).collect();
        (
            format!(
                "SELECT datetime, {} FROM stats {wher} ORDER BY datetime, rowid",
                list.join(", ")
            ),
            0,
        )
    } else {
        let coe = interval.max(1) * ((n + MAX_POINTS - 1) / MAX_POINTS);
        let list: Vec<String> = cols.iter().map(|c| format!("AVG({c})")).collect();
        (
            format!(
                "SELECT (datetime / {coe}) * {coe}, {} FROM stats {wher} GROUP BY datetime / {coe} ORDER BY 1",
                list.join(", ")
            ),
            coe,
        )
    };
    collect(
        c,
        &sql,
        params![from, to, device],
        n,
        coe as f64,
        cols,
        "stats",
    )
}

/// The averaged buckets from the rollups (module `rollup`): bucket k covers
/// `[k·coe, k·coe + coe − 1] ∩ [from, to]`, its average Σs / Σc, at x = k·coe; buckets without
/// rows are left out (as `GROUP BY` does), a column without values in a bucket is null.
fn graph_rollup(
    rd: &mut rollup::Reader<'_>,
    from: i64,
    to: i64,
    cols: &[&str],
    n: i64,
    coe: i64,
) -> Result<Series, QueryError> {
    let mut s = Series {
        n,
        coe: coe as f64,
        cols: cols.iter().map(|c| c.to_string()).collect(),
        x: Vec::new(),
        y: vec![Vec::new(); cols.len()],
        source: "stats_rollup",
    };
    for k in from / coe..=to / coe {
        let a = rd.sums((k * coe).max(from), (k * coe + coe - 1).min(to))?;
        if a.n == 0 {
            continue;
        }
        s.x.push((k * coe) as f64);
        for (i, y) in s.y.iter_mut().enumerate() {
            y.push((a.c[i] > 0).then(|| a.s[i] / a.c[i] as f64));
        }
    }
    Ok(s)
}

fn collect(
    c: &Connection,
    sql: &str,
    ps: impl rusqlite::Params,
    n: i64,
    coe: f64,
    cols: &[&str],
    source: &'static str,
) -> Result<Series, QueryError> {
    let mut st = c.prepare(sql)?;
    let mut rows = st.query(ps)?;
    let mut s = Series {
        n,
        coe,
        cols: cols.iter().map(|c| c.to_string()).collect(),
        x: Vec::new(),
        y: vec![Vec::new(); cols.len()],
        source,
    };
    while let Some(r) = rows.next()? {
        s.x.push(r.get::<_, f64>(0)?);
        for (i, y) in s.y.iter_mut().enumerate() {
            y.push(r.get::<_, Option<f64>>(i + 1)?);
        }
    }
    Ok(s)
}

/// The series id of a device's field, or a 400 naming it.
pub fn series_id(
    c: &Connection,
    proto: &str,
    device: &str,
    field: &str,
) -> Result<i64, QueryError> {
    let id = c
        .query_row(
            "SELECT id FROM series WHERE proto = ?1 AND device = ?2 AND field = ?3",
            params![proto, device, field],
            |r| r.get(0),
        )
        .optional()?;
    match id {
        Some(id) => Ok(id),
        None => bad(format!(
            "no field {field:?} for device {proto}/{device} (see /fields)"
        )),
    }
}

/// The same rule on the narrow table, for any device: n = the first column's values in the
/// range; n ≤ 2048 → the values (the second column's at the same times); else `AVG` per
/// bucket `⌊ts / coe⌋`, coe = spacing · ⌈n / 2048⌉ with spacing = the mean time between the
/// first column's values in the range (godenerg's fixed 15 s interval, measured), at
/// `⌊ts / coe⌋ · coe`.
fn graph_points(
    c: &Connection,
    from: i64,
    to: i64,
    cols: &[&str],
    proto: &str,
    device: &str,
) -> Result<Series, QueryError> {
    let ids: Vec<i64> = cols
        .iter()
        .map(|f| series_id(c, proto, device, f))
        .collect::<Result<_, _>>()?;
    let (n, lo, hi): (i64, Option<f64>, Option<f64>) = c.query_row(
        "SELECT COUNT(1), MIN(ts), MAX(ts) FROM points WHERE series = ?1 AND ts >= ?2 AND ts <= ?3",
        params![ids[0], from, to],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let s2 = ids.get(1).copied();
    if n <= MAX_POINTS {
        let sql = "SELECT a.ts, a.value, b.value FROM points a LEFT JOIN points b ON b.series = ?4 AND b.ts = a.ts
                   WHERE a.series = ?1 AND a.ts >= ?2 AND a.ts <= ?3 ORDER BY a.ts";
        let mut s = collect(
            c,
            sql,
            params![ids[0], from, to, s2],
            n,
            0.0,
            &[cols[0], "_"],
            "points",
        )?;
        s.cols.truncate(cols.len());
        s.y.truncate(cols.len());
        s.cols = cols.iter().map(|c| c.to_string()).collect();
        return Ok(s);
    }
    let spacing = match (lo, hi) {
        (Some(a), Some(b)) if b > a => (b - a) / (n - 1) as f64,
        _ => 1.0,
    };
    let coe = spacing * ((n + MAX_POINTS - 1) / MAX_POINTS) as f64;
    let sql = "SELECT CAST(ts / ?4 AS INTEGER) AS k, AVG(value) FROM points WHERE series = ?1 AND ts >= ?2 AND ts <= ?3 GROUP BY k ORDER BY k";
    let mut s = Series {
        n,
        coe,
        cols: cols.iter().map(|c| c.to_string()).collect(),
        x: Vec::new(),
        y: vec![Vec::new(); cols.len()],
        source: "points",
    };
    let mut buckets: Vec<std::collections::BTreeMap<i64, Option<f64>>> = Vec::new();
    for id in &ids {
        let mut st = c.prepare_cached(sql)?;
        let m = st
            .query_map(params![id, from, to, coe], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<f64>>(1)?))
            })?
            .collect::<Result<std::collections::BTreeMap<_, _>, _>>()?;
        buckets.push(m);
    }
    for (&k, &v) in &buckets[0] {
        s.x.push(k as f64 * coe);
        s.y[0].push(v);
        if let Some(b) = buckets.get(1) {
            s.y[1].push(b.get(&k).copied().flatten());
        }
    }
    Ok(s)
}

/// `/graph`: `stats` when every column is a `stats` column and the device (if any) is a PI30
/// one, else the narrow table of the device.
pub fn graph(
    c: &Connection,
    from: i64,
    to: i64,
    cols: &[&str],
    device: Option<&str>,
) -> Result<Series, QueryError> {
    graph_with(c, from, to, cols, device, true)
}

/// [`graph`], reading `stats` itself when `rollups` is false (the reference the rollup
/// answers are tested against).
pub fn graph_with(
    c: &Connection,
    from: i64,
    to: i64,
    cols: &[&str],
    device: Option<&str>,
    rollups: bool,
) -> Result<Series, QueryError> {
    if cols.is_empty() || cols.len() > 2 {
        return bad("col_1 (and at most col_2) are required");
    }
    if from > to {
        return bad("from is after to");
    }
    let dev = device.map(split_device).transpose()?;
    match dev {
        None => {
            if let Some(c) = cols.iter().find(|c| !is_stats_col(c)) {
                return bad(format!(
                    "{c:?} is not a column of stats (give device=PROTO/DEVICE for other fields)"
                ));
            }
            graph_stats(c, from, to, cols, None, rollups)
        }
        Some(("pi30", d)) if cols.iter().all(|c| is_stats_col(c)) => {
            graph_stats(c, from, to, cols, Some(d), rollups)
        }
        Some((p, d)) => graph_points(c, from, to, cols, p, d),
    }
}

/// Devices: `[{"id": "proto/device", "proto", "device", "fields", "first_ts", "last_ts", "stats"}]`.
pub fn devices(c: &Connection) -> Result<Value, QueryError> {
    let mut st = c.prepare(
        "SELECT s.proto, s.device, COUNT(1),
                MIN((SELECT MIN(ts) FROM points WHERE series = s.id)),
                MAX((SELECT MAX(ts) FROM points WHERE series = s.id))
         FROM series s GROUP BY s.proto, s.device ORDER BY s.proto, s.device",
    )?;
    let mut out = Vec::new();
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let (p, d): (String, String) = (r.get(0)?, r.get(1)?);
        let stats: i64 = if p == "pi30" {
            c.query_row("SELECT COUNT(1) FROM stats WHERE device = ?1", [&d], |r| {
                r.get(0)
            })?
        } else {
            0
        };
        out.push(json!({"id": format!("{p}/{d}"), "proto": p, "device": d, "fields": r.get::<_, i64>(2)?,
            "first_ts": r.get::<_, Option<f64>>(3)?, "last_ts": r.get::<_, Option<f64>>(4)?, "stats_rows": stats}));
    }
    Ok(Value::Array(out))
}

/// The fields of a device, with whether they are numeric (`value`) and their latest value.
pub fn fields(c: &Connection, id: &str) -> Result<Value, QueryError> {
    let (p, d) = split_device(id)?;
    let latest = latest(c, p, d)?;
    if latest.is_empty() {
        return bad(format!("no device {id:?} (see /devices)"));
    }
    let list: Vec<Value> = latest
        .iter()
        .map(|(k, v)| json!({"field": k, "numeric": v.is_number(), "latest": v}))
        .collect();
    let stats: Vec<&str> = if p == "pi30" {
        schema::STATS_COLS.iter().map(|(n, _)| *n).collect()
    } else {
        Vec::new()
    };
    Ok(json!({"device": id, "fields": list, "stats_columns": stats}))
}

/// The latest value of every field of a device (name order).
pub fn latest(c: &Connection, proto: &str, device: &str) -> Result<Map<String, Value>, QueryError> {
    let mut st = c.prepare_cached(
        "SELECT s.field, p.value, p.text FROM series s JOIN points p ON p.series = s.id
         AND p.ts = (SELECT MAX(ts) FROM points WHERE series = s.id)
         WHERE s.proto = ?1 AND s.device = ?2 ORDER BY s.field",
    )?;
    let mut m = Map::new();
    let mut rows = st.query(params![proto, device])?;
    while let Some(r) = rows.next()? {
        let f: String = r.get(0)?;
        let v = match (r.get::<_, Option<f64>>(1)?, r.get::<_, Option<String>>(2)?) {
            (Some(x), _) if x.fract() == 0.0 && x.abs() < 9e15 => json!(x as i64),
            (Some(x), _) => json!(x),
            (None, Some(t)) => json!(t),
            _ => Value::Null,
        };
        m.insert(f, v);
    }
    Ok(m)
}

/// The devices of one protocol.
pub fn devices_of(c: &Connection, proto: &str) -> Result<Vec<String>, QueryError> {
    let mut st =
        c.prepare("SELECT DISTINCT device FROM series WHERE proto = ?1 ORDER BY device")?;
    let v = st
        .query_map([proto], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(v)
}

/// godenerg's `%.2f` then float, `%d` then int (`status_json_formatter`); missing → 0.
fn g_float(v: Option<&Value>) -> Value {
    let x = v.and_then(Value::as_f64).unwrap_or(0.0);
    json!(format!("{x:.2}").parse::<f64>().unwrap_or(0.0))
}

fn g_int(v: Option<&Value>) -> Value {
    let x = match v {
        Some(Value::String(s)) => s.trim().parse::<f64>().unwrap_or(0.0),
        Some(v) => v.as_f64().unwrap_or(0.0),
        None => 0.0,
    };
    json!(x.trunc() as i64)
}

/// godenerg's `status` object from the latest QPIGS fields (spec §3.2 `/cmds?cmd=status`).
pub fn pi30_status(l: &Map<String, Value>) -> Value {
    const FLOATS: &[&str] = &[
        "grid_volt",
        "grid_freq",
        "ac_volt",
        "ac_freq",
        "load_percent",
        "bus_volt",
        "batt_volt",
        "pv_volts",
        "batt_volt_scc",
    ];
    const INTS: &[&str] = &[
        "ac_va",
        "ac_watt",
        "batt_charge_amps",
        "batt_capacity",
        "temp",
        "pv_amps",
        "batt_discharge_amps",
        "mask_b",
        "mask_c",
        "pv_watts",
        "mask_d",
    ];
    let mut m = Map::new();
    for (name, _) in &schema::STATS_COLS[1..22] {
        let v = l.get(*name);
        let out = if FLOATS.contains(name) {
            g_float(v)
        } else if INTS.contains(name) {
            g_int(v)
        } else {
            json!(v.and_then(Value::as_str).unwrap_or("00000000"))
        };
        m.insert(name.to_string(), out);
    }
    let raw = m.get("raw_status").and_then(Value::as_str).unwrap_or("0");
    let bits = u32::from_str_radix(raw, 2).unwrap_or(0);
    let mut src = Vec::new();
    for (mask, name) in [
        (0b101, "ac_charging"),
        (0b110, "solar_charging"),
        (0b000, "not_charging"),
    ] {
        if bits & mask == mask {
            src.push(name);
        }
    }
    m.insert("charge_source".into(), json!(src));
    for (bit, name) in [
        (8, "batt_volt_to_steady"),
        (16, "load_status"),
        (32, "ssc_firmware_updated"),
        (64, "configuration_changed"),
        (128, "sbu_priority_version"),
    ] {
        m.insert(name.into(), json!(bits & bit != 0));
    }
    Value::Object(m)
}

/// godenerg's `operation_mode` object.
pub fn pi30_mode(l: &Map<String, Value>) -> Value {
    let code = l.get("mode_code").and_then(Value::as_str).unwrap_or("00");
    json!({"mode": code})
}

/// The rows of a wide table, for tests and tools: column names first.
pub fn table_names(c: &Connection) -> Result<Vec<String>, QueryError> {
    let mut st = c.prepare("SELECT name FROM wide_tables ORDER BY name")?;
    let v = st
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(v.into_iter().map(|n| ident(&n)).collect())
}
