//! `selog`: decoded records → a SQLite database (docs/DATALOGGER.md), a sink of the decode
//! stage. Every row of the record walk (`output::csv::flat`, the rows se2csv writes) goes to the
//! narrow `points` table (one value per (series, capture time), series = protocol, device,
//! field); PI30 QPIGS replies also to godenerg's `stats` (decimated to `interval`) and
//! `last_stats` (every `last_interval`, trimmed to `samples` rows per device) with its column
//! names (spec replay_and_datalogger.md §3.1, §3.3); other protocols to one wide table per row
//! file (`c37118_241_data`, `solaredge_inverter_1ph`, …). C37.118 data rows are decimated to
//! `interval` (0 = every frame). Inserts are `OR IGNORE` on (device, field, time), so reading
//! the same input twice adds nothing; writes are batched in transactions of WAL mode, so
//! readers (`seserve`) never wait for them.

pub mod extract;
pub mod query;
pub mod rollup;
pub mod schema;

use crate::output::csv::flat::{FlatOpts, Flattener, Row, Val};
use crate::output::csv::node::Node;
use crate::output::csv::{bad, classify, decoded_text, Line};
use crate::output::sinks::{Record, Sink};
use crate::protocols::Protocol;
use rusqlite::types::Value;
use rusqlite::{params, Connection};
use rustc_hash::{FxHashMap, FxHashSet};
use schema::{ident, wide_name, LAST_COLS, MAX_WIDE_COLS, STATS_COLS};
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Options of `selog`.
#[derive(Clone, Debug)]
pub struct LogOptions {
    pub db: PathBuf,
    /// Seconds between `stats` rows and between kept C37.118 data rows (0 = all).
    pub interval: f64,
    /// Seconds between `last_stats` rows.
    pub last_interval: f64,
    /// Rows kept in `last_stats` per device.
    pub samples: u64,
    /// Values per transaction at most.
    pub batch: usize,
    /// A transaction is committed at the first record after this much time.
    pub commit_every: Duration,
}

impl LogOptions {
    pub fn new(db: PathBuf) -> Self {
        LogOptions {
            db,
            interval: 15.0,
            last_interval: 2.0,
            samples: 7200,
            batch: 200_000,
            commit_every: Duration::from_secs(1),
        }
    }
}

/// Counters for the summary.
#[derive(Clone, Debug, Default)]
pub struct LogCounts {
    pub records: u64,
    /// Values offered to the narrow table, and how many of them were new.
    pub values: u64,
    pub inserted: u64,
    pub stats_rows: u64,
    pub last_rows: u64,
    pub wide_rows: u64,
    /// Rows left out by decimation.
    pub decimated: u64,
    /// Rows without a capture time, requests.
    pub skipped: u64,
    /// semonitor lines and frame records of protocols without a decoder (not stored).
    pub not_decoded: u64,
    pub commits: u64,
}

/// One wide table: its columns after `ts`, `device`.
struct Wide {
    table: String,
    cols: Vec<String>,
    index: FxHashMap<String, usize>,
    /// The INSERT for the current columns (empty after a column is added).
    sql: String,
}

/// Fields not stored in the narrow table: the record walk's context and checksums.
fn narrow_skip(name: &str) -> bool {
    matches!(
        name,
        "capture_ts" | "pkt" | "role" | "paired_by" | "crc" | "chk" | "chk_ok" | "crc_rule"
    ) || name.starts_with("units_")
}

/// A cell as an SQL value: numbers as INTEGER or REAL by their text, booleans 0/1, strings
/// as TEXT; null (and an empty joined array) is no value.
fn sql_value(v: &Val<'_, '_>) -> Option<Value> {
    match v {
        Val::Node(Node::Num(t)) => Some(match t.parse::<i64>() {
            Ok(i) => Value::Integer(i),
            Err(_) => Value::Real(t.parse().ok()?),
        }),
        Val::Node(Node::Bool(b)) => Some(Value::Integer(i64::from(*b))),
        Val::Node(Node::Str(s)) => Some(Value::Text(s.to_string())),
        Val::Node(_) => None,
        Val::Text(s) if s.is_empty() => None,
        Val::Text(s) => Some(Value::Text(s.clone())),
        Val::Int(i) => Some(Value::Integer(i64::try_from(*i).unwrap_or(i64::MAX))),
    }
}

/// A row's column name in its wide table: SQLite's column names ignore case; the table's own
/// ts and device keep theirs.
fn wide_col(name: &str) -> String {
    let mut name = name.to_lowercase();
    if name == "ts" || name == "device" {
        name.push_str("_2");
    }
    name
}

fn db_err(e: rusqlite::Error) -> io::Error {
    io::Error::other(format!("database: {e}"))
}

fn bucket(ts: f64, every: f64) -> i64 {
    if every > 0.0 {
        (ts / every).floor() as i64
    } else {
        // Every distinct time is its own bucket (µs resolution).
        (ts * 1e6).round() as i64
    }
}

/// The SQLite sink.
pub struct SqliteSink {
    conn: Connection,
    opts: LogOptions,
    flat: Flattener,
    buf: Vec<u8>,
    key: String,
    series: FxHashMap<String, i64>,
    wide: FxHashMap<String, Wide>,
    /// Last kept bucket: `stats`, `last_stats`, C37.118 data, per device.
    stats_bucket: FxHashMap<String, i64>,
    last_bucket: FxHashMap<String, i64>,
    data_bucket: FxHashMap<String, i64>,
    /// Latest QMOD mode code per PI30 device.
    mode: FxHashMap<String, String>,
    last_touched: FxHashSet<String>,
    /// The narrow values of the current row (reused).
    vals: Vec<(i64, Value)>,
    /// The transaction's narrow values, written at commit by `flush_points`.
    points: Vec<(i64, f64, Option<f64>, Option<String>)>,
    in_tx: bool,
    pending: usize,
    since: Instant,
    pub counts: LogCounts,
}

impl SqliteSink {
    /// Opens (or creates) the database.
    pub fn open(opts: LogOptions) -> rusqlite::Result<Self> {
        let conn = schema::open_rw(&opts.db)?;
        let mut series = FxHashMap::default();
        {
            let mut st = conn.prepare("SELECT id, proto, device, field FROM series")?;
            let rows = st.query_map([], |r| {
                let k = format!(
                    "{}\0{}\0{}",
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?
                );
                Ok((k, r.get::<_, i64>(0)?))
            })?;
            for r in rows {
                let (k, id) = r?;
                series.insert(k, id);
            }
        }
        for (k, v) in [
            ("interval", opts.interval.to_string()),
            ("last_interval", opts.last_interval.to_string()),
            ("samples", opts.samples.to_string()),
        ] {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )?;
        }
        Ok(SqliteSink {
            conn,
            opts,
            flat: Flattener::new(FlatOpts::default()),
            buf: Vec::new(),
            key: String::new(),
            series,
            wide: FxHashMap::default(),
            stats_bucket: FxHashMap::default(),
            last_bucket: FxHashMap::default(),
            data_bucket: FxHashMap::default(),
            mode: FxHashMap::default(),
            last_touched: FxHashSet::default(),
            vals: Vec::new(),
            points: Vec::new(),
            in_tx: false,
            pending: 0,
            since: Instant::now(),
            counts: LogCounts::default(),
        })
    }

    fn begin(&mut self) -> rusqlite::Result<()> {
        if !self.in_tx {
            self.conn.execute_batch("BEGIN")?;
            self.in_tx = true;
            self.since = Instant::now();
        }
        Ok(())
    }

    /// Commits the open transaction (trimming `last_stats` first).
    pub fn commit(&mut self) -> rusqlite::Result<()> {
        if !self.in_tx {
            return Ok(());
        }
        self.flush_points()?;
        let touched: Vec<String> = self.last_touched.drain().collect();
        for dev in touched {
            self.conn.execute(
                "DELETE FROM last_stats WHERE device = ?1 AND datetime <= (SELECT datetime
                 FROM last_stats WHERE device = ?1 ORDER BY datetime DESC LIMIT 1 OFFSET ?2)",
                params![dev, self.opts.samples as i64],
            )?;
        }
        self.conn.execute_batch("COMMIT")?;
        self.in_tx = false;
        self.pending = 0;
        self.counts.commits += 1;
        Ok(())
    }

    fn series_id(&mut self, proto: &str, device: &str, field: &str) -> rusqlite::Result<i64> {
        self.key.clear();
        self.key.push_str(proto);
        self.key.push('\0');
        self.key.push_str(device);
        self.key.push('\0');
        self.key.push_str(field);
        if let Some(&id) = self.series.get(&self.key) {
            return Ok(id);
        }
        self.conn.execute(
            "INSERT OR IGNORE INTO series (proto, device, field) VALUES (?1, ?2, ?3)",
            params![proto, device, field],
        )?;
        let id = self.conn.query_row(
            "SELECT id FROM series WHERE proto = ?1 AND device = ?2 AND field = ?3",
            params![proto, device, field],
            |r| r.get(0),
        )?;
        self.series.insert(self.key.clone(), id);
        Ok(id)
    }

    fn narrow(
        &mut self,
        proto: &str,
        device: &str,
        ts: f64,
        r: &Row<'_, '_>,
    ) -> rusqlite::Result<()> {
        let mut vals = std::mem::take(&mut self.vals);
        vals.clear();
        for (name, v) in &r.cols {
            if narrow_skip(name) {
                continue;
            }
            let Some(v) = sql_value(v) else { continue };
            let id = self.series_id(proto, device, name)?;
            vals.push((id, v));
        }
        for (id, v) in vals.drain(..) {
            let (num, text) = match v {
                Value::Integer(i) => (Some(i as f64), None),
                Value::Real(f) => (Some(f), None),
                Value::Text(t) => (None, Some(t)),
                _ => (None, None),
            };
            self.points.push((id, ts, num, text));
            self.counts.values += 1;
            self.pending += 1;
        }
        self.vals = vals;
        Ok(())
    }

    /// Writes the transaction's narrow values in (series, ts) order: the B-tree then takes
    /// them leaf by leaf instead of at one insertion point per series in turn (profiled:
    /// page lookups and splits were most of selog's time). Stable, so of two values of one
    /// (series, ts) in a batch the first is kept, as `OR IGNORE` row by row would.
    fn flush_points(&mut self) -> rusqlite::Result<()> {
        if self.points.is_empty() {
            return Ok(());
        }
        self.points
            .sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut st = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO points (series, ts, value, text) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (id, ts, num, text) in self.points.drain(..) {
            self.counts.inserted += st.execute(params![id, ts, num, text])? as u64;
        }
        Ok(())
    }

    /// The wide table of `file_key`, created or extended by the row's columns.
    fn wide_row(
        &mut self,
        proto: &str,
        file_key: &str,
        device: &str,
        ts: f64,
        r: &Row<'_, '_>,
    ) -> rusqlite::Result<()> {
        let table = wide_name(file_key);
        if !self.wide.contains_key(&table) {
            let t = ident(&table);
            // A new table gets the first row's columns at once: every ALTER TABLE makes
            // SQLite re-read the whole schema (and the rollup triggers are large).
            let mut first: Vec<String> = Vec::new();
            for (name, _) in &r.cols {
                let name = wide_col(name);
                if name != "capture_ts" && !first.contains(&name) && first.len() < MAX_WIDE_COLS {
                    first.push(name);
                }
            }
            let defs: String = first.iter().map(|c| format!(", {}", ident(c))).collect();
            self.conn.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {t} (ts REAL NOT NULL, device TEXT NOT NULL{defs});
                 CREATE UNIQUE INDEX IF NOT EXISTS {} ON {t} (device, ts);",
                ident(&format!("uniq_{table}"))
            ))?;
            self.conn.execute(
                "INSERT OR IGNORE INTO wide_tables (name, proto, file_key) VALUES (?1, ?2, ?3)",
                params![table, proto, file_key],
            )?;
            let cols: Vec<String> = schema::columns(&self.conn, &table)?
                .into_iter()
                .filter(|c| c != "ts" && c != "device")
                .collect();
            let index = cols
                .iter()
                .enumerate()
                .map(|(i, c)| (c.to_lowercase(), i))
                .collect();
            self.wide.insert(
                table.clone(),
                Wide {
                    table: table.clone(),
                    cols,
                    index,
                    sql: String::new(),
                },
            );
        }
        let Some(w) = self.wide.get_mut(&table) else {
            return Ok(());
        };
        let mut cells: Vec<Option<Value>> = vec![None; w.cols.len()];
        for (name, v) in &r.cols {
            if name == "capture_ts" {
                continue;
            }
            let name = &wide_col(name);
            let i = match w.index.get(name) {
                Some(&i) => i,
                None if w.cols.len() >= MAX_WIDE_COLS => continue,
                None => {
                    self.conn.execute_batch(&format!(
                        "ALTER TABLE {} ADD COLUMN {}",
                        ident(&w.table),
                        ident(name)
                    ))?;
                    w.cols.push(name.clone());
                    w.sql.clear();
                    w.index.insert(name.clone(), w.cols.len() - 1);
                    cells.push(None);
                    w.cols.len() - 1
                }
            };
            cells[i] = sql_value(v);
        }
        if w.sql.is_empty() {
            let names: Vec<String> = w.cols.iter().map(|c| ident(c)).collect();
            let marks = vec!["?"; names.len() + 2].join(", ");
            w.sql = format!(
                "INSERT OR IGNORE INTO {} (ts, device{}{}) VALUES ({marks})",
                ident(&w.table),
                if names.is_empty() { "" } else { ", " },
                names.join(", ")
            );
        }
        let mut st = self.conn.prepare_cached(&w.sql)?;
        let mut ps: Vec<Value> = Vec::with_capacity(cells.len() + 2);
        ps.push(Value::Real(ts));
        ps.push(Value::Text(device.to_string()));
        ps.extend(cells.into_iter().map(|c| c.unwrap_or(Value::Null)));
        st.execute(rusqlite::params_from_iter(ps))?;
        self.counts.wide_rows += 1;
        Ok(())
    }

    /// Whether a C37.118 data row of `device` at `ts` is kept (one per `interval` bucket,
    /// later than the last one kept, also by an earlier run).
    fn keep_data(&mut self, table: &str, device: &str, ts: f64) -> rusqlite::Result<bool> {
        if self.opts.interval <= 0.0 {
            return Ok(true);
        }
        let b = bucket(ts, self.opts.interval);
        let last = match self.data_bucket.get(device) {
            Some(&l) => Some(l),
            None => {
                let exists = !schema::columns(&self.conn, table)?.is_empty();
                let max: Option<f64> = if exists {
                    self.conn.query_row(
                        &format!("SELECT MAX(ts) FROM {} WHERE device = ?1", ident(table)),
                        [device],
                        |r| r.get(0),
                    )?
                } else {
                    None
                };
                max.map(|m| bucket(m, self.opts.interval))
            }
        };
        if last.is_some_and(|l| b <= l) {
            return Ok(false);
        }
        self.data_bucket.insert(device.to_string(), b);
        Ok(true)
    }

    /// godenerg's tables for a QPIGS reply.
    fn pi30_stats(&mut self, device: &str, ts: f64, r: &Row<'_, '_>) -> rusqlite::Result<()> {
        let dt = ts.floor() as i64;
        let cell = |name: &str| match r.get(name).and_then(sql_value) {
            Some(v) => v,
            None => Value::Null,
        };
        for (last, every) in [(false, self.opts.interval), (true, self.opts.last_interval)] {
            let map = if last {
                &mut self.last_bucket
            } else {
                &mut self.stats_bucket
            };
            let b = bucket(ts, every);
            let prev = match map.get(device) {
                Some(&p) => Some(p),
                None => {
                    let t = if last { "last_stats" } else { "stats" };
                    let max: Option<i64> = self.conn.query_row(
                        &format!("SELECT MAX(datetime) FROM {t} WHERE device = ?1"),
                        [device],
                        |r| r.get(0),
                    )?;
                    max.map(|m| bucket(m as f64, every))
                }
            };
            if prev.is_some_and(|p| b <= p) {
                continue;
            }
            map.insert(device.to_string(), b);
            let cols = if last { LAST_COLS } else { STATS_COLS };
            let mut ps: Vec<Value> = vec![Value::Integer(dt)];
            for (name, _) in &cols[1..] {
                ps.push(match (*name, self.mode.get(device)) {
                    ("mode", Some(m)) => Value::Text(m.clone()),
                    ("mode", None) => Value::Null,
                    (n, _) => cell(n),
                });
            }
            ps.push(Value::Text(device.to_string()));
            let names: Vec<&str> = cols.iter().map(|(n, _)| *n).collect();
            let sql = format!(
                "INSERT OR IGNORE INTO {} ({}, device) VALUES ({})",
                if last { "last_stats" } else { "stats" },
                names.join(", "),
                vec!["?"; ps.len()].join(", ")
            );
            let n = self
                .conn
                .prepare_cached(&sql)?
                .execute(rusqlite::params_from_iter(ps))?;
            if last {
                self.counts.last_rows += n as u64;
                self.last_touched.insert(device.to_string());
            } else {
                self.counts.stats_rows += n as u64;
            }
        }
        Ok(())
    }

    fn decoded(&mut self, rec: &Node<'_>) -> io::Result<()> {
        let rows = self.flat.rows(rec).map_err(bad)?;
        self.counts.records += 1;
        if rec.get("role").and_then(Node::as_str) == Some("request") {
            self.counts.skipped += 1;
            return Ok(());
        }
        let src = rec
            .get("src")
            .and_then(Node::as_str)
            .unwrap_or("-")
            .to_string();
        self.begin().map_err(db_err)?;
        for r in &rows {
            let Some(ts) = r
                .get("capture_ts")
                .and_then(|v| v.text().parse::<f64>().ok())
            else {
                self.counts.skipped += 1;
                continue;
            };
            let device = r.device.clone().unwrap_or_else(|| src.clone());
            let proto = r.proto.as_str();
            if proto == "pi30" {
                match rec.get("command").and_then(Node::as_str) {
                    Some("QMOD") => {
                        if let Some(m) = r.get("mode_code") {
                            self.mode.insert(device.clone(), m.text().into_owned());
                        }
                    }
                    Some("QPIGS") => self.pi30_stats(&device, ts, r).map_err(db_err)?,
                    _ => {}
                }
            } else {
                let table = wide_name(&r.file);
                if proto == "c37118"
                    && r.kind == "data"
                    && !self.keep_data(&table, &device, ts).map_err(db_err)?
                {
                    self.counts.decimated += 1;
                    continue;
                }
                self.wide_row(proto, &r.file, &device, ts, r)
                    .map_err(db_err)?;
            }
            self.narrow(proto, &device, ts, r).map_err(db_err)?;
        }
        if self.pending >= self.opts.batch || self.since.elapsed() >= self.opts.commit_every {
            self.commit().map_err(db_err)?;
        }
        Ok(())
    }

    fn line(&mut self, text: &str) -> io::Result<()> {
        let n = Node::parse(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        match classify(&n).map_err(bad)? {
            Line::Decoded(d) => self.decoded(d),
            Line::Semonitor(_) => {
                self.counts.not_decoded += 1;
                Ok(())
            }
            Line::Other => {
                if n.get("type").and_then(Node::as_str) == Some("frame") {
                    self.counts.not_decoded += 1;
                }
                Ok(())
            }
        }
    }
}

impl Sink for SqliteSink {
    fn wants(&self, p: Protocol) -> bool {
        p.decodes()
    }

    fn passes_on(&self) -> bool {
        true
    }

    fn record(&mut self, r: &Record<'_>) -> io::Result<()> {
        match *r {
            Record::Decoded { env, msg, .. } => {
                let text = decoded_text(&mut self.buf, env, msg);
                self.line(text.trim_end())
            }
            Record::Passed(text) => self.line(text),
            Record::Frame { .. } | Record::Anomaly { .. } => Ok(()),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        self.commit().map_err(db_err)
    }
}
