//! `se2csv`: decoded records → one CSV file per (protocol, device or record kind), a sink of
//! the decode stage (docs/CSV_STATE.md). Rows come from [`flat::Flattener`] (any protocol,
//! driven by the record), or, for semonitor.py's lines, from jbuehl's walk ([`compat`]).
//! `--semonitor-compat` writes exactly the files of jbuehl's `se2csv.py` (solaredge.md §8).

pub mod compat;
pub mod flat;
pub mod input;
pub mod node;

use super::jsonl::decoded_record;
use super::semonitor::Semonitor;
use super::sinks::{Record, Sink};
use crate::protocols::solaredge::session::Message as SeMessage;
use crate::protocols::{solaredge, Protocol};
use flat::{FlatOpts, Flattener};
use node::Node;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter};
use std::path::PathBuf;

/// Files open at once; rows of further files are dropped with a warning.
pub const MAX_FILES: usize = 1024;
/// Rows held per file before its columns are fixed (without follow mode).
pub const PENDING_ROWS: usize = 256;

/// What a line of the input is.
pub enum Line<'n, 'a> {
    /// A sedecode `decoded` record.
    Decoded(&'n Node<'a>),
    /// A semonitor.py line (no `type` member).
    Semonitor(&'n Node<'a>),
    /// Another record (flow, frame, anomaly, gap): nothing to write.
    Other,
}

/// Sorts a parsed line.
pub fn classify<'n, 'a>(n: &'n Node<'a>) -> Result<Line<'n, 'a>, String> {
    if !matches!(n, Node::Obj(_)) {
        return Err("not a JSON object".into());
    }
    Ok(match n.get("type") {
        Some(Node::Str(t)) if t == "decoded" => Line::Decoded(n),
        Some(_) => Line::Other,
        None => Line::Semonitor(n),
    })
}

/// An `InvalidData` error: the decode stage reports it as a warning with the line number.
/// A decoded record as the JSON Lines text `sedecode` writes, formatted in `buf` (reused), so
/// it is read like any input line.
pub fn decoded_text(
    buf: &mut Vec<u8>,
    env: &crate::protocols::Envelope<'_>,
    msg: &dyn crate::protocols::Message,
) -> String {
    buf.clear();
    decoded_record(buf, env, msg);
    String::from_utf8_lossy(buf).into_owned()
}

pub fn bad(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

/// Options of `se2csv`.
#[derive(Clone, Debug)]
pub struct CsvOptions {
    /// File names are `<prefix>.<file key>.csv`.
    pub prefix: String,
    pub delim: u8,
    pub header: bool,
    pub append: bool,
    /// Flush every row (follow mode).
    pub flush_each: bool,
    pub flat: FlatOpts,
    /// jbuehl's files (`<prefix>.<devName>.csv`, `__Identifier__` + sorted keys of the first
    /// row, CRLF, Python's `str` of values).
    pub compat: bool,
}

/// One open file: its columns are fixed once its first row is written.
struct Table {
    cols: Vec<String>,
    index: FxHashMap<String, usize>,
    generation: u32,
    w: ::csv::Writer<BufWriter<File>>,
}

/// Counters for the summary.
#[derive(Clone, Debug, Default)]
pub struct CsvCounts {
    pub rows: u64,
    /// Columns a compat file had no place for (jbuehl's script stops there).
    pub dropped_cols: u64,
    pub files: Vec<PathBuf>,
}

/// The CSV sink.
pub struct CsvSink {
    opts: CsvOptions,
    flat: Flattener,
    tables: FxHashMap<String, Table>,
    /// Rows held before a file is opened.
    pending: FxHashMap<String, Vec<Vec<(String, String)>>>,
    semonitor: Semonitor,
    buf: Vec<u8>,
    pub counts: CsvCounts,
}

/// A file key made safe as part of a file name.
fn safe(key: &str) -> String {
    let s: String = key
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '_' | '-' | '.' => c,
            _ => '_',
        })
        .collect();
    s.trim_start_matches('.').to_string()
}

impl CsvSink {
    /// `semonitor` formats SolarEdge frames for `--semonitor-compat` (its time zone).
    pub fn new(opts: CsvOptions, semonitor: Semonitor) -> Self {
        CsvSink {
            flat: Flattener::new(opts.flat),
            opts,
            tables: FxHashMap::default(),
            pending: FxHashMap::default(),
            semonitor,
            buf: Vec::new(),
            counts: CsvCounts::default(),
        }
    }

    fn path(&self, key: &str, generation: u32) -> PathBuf {
        let g = if generation > 1 {
            format!(".{generation}")
        } else {
            String::new()
        };
        if self.opts.compat {
            PathBuf::from(format!("{}.{key}.csv", self.opts.prefix))
        } else {
            PathBuf::from(format!("{}.{}{g}.csv", self.opts.prefix, safe(key)))
        }
    }

    /// The header of an existing file (for `-a`).
    fn existing_header(path: &PathBuf, delim: u8) -> Option<Vec<String>> {
        let f = File::open(path).ok()?;
        let mut r = ::csv::ReaderBuilder::new()
            .delimiter(delim)
            .has_headers(false)
            .flexible(true)
            .from_reader(f);
        let rec = r.records().next()?.ok()?;
        Some(rec.iter().map(str::to_string).collect())
    }

    fn open(&mut self, key: &str, mut cols: Vec<String>, generation: u32) -> io::Result<Table> {
        let path = self.path(key, generation);
        let mut write_header = self.opts.header;
        if self.opts.append && !self.opts.compat && self.opts.header {
            if let Some(old) = Self::existing_header(&path, self.opts.delim) {
                if cols.iter().all(|c| old.contains(c)) {
                    cols = old;
                    write_header = false;
                } else {
                    return self.open(key, cols, generation + 1);
                }
            }
        } else if self.opts.append {
            write_header &= std::fs::metadata(&path).map_or(true, |m| m.len() == 0);
        }
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .append(self.opts.append)
            .truncate(!self.opts.append)
            .open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let mut w = ::csv::WriterBuilder::new()
            .delimiter(self.opts.delim)
            .terminator(::csv::Terminator::CRLF)
            .flexible(false)
            .from_writer(BufWriter::with_capacity(1 << 16, f));
        if write_header {
            w.write_record(&cols)?;
        }
        self.counts.files.push(path);
        let index = cols
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i))
            .collect();
        Ok(Table {
            cols,
            index,
            generation,
            w,
        })
    }

    /// Writes one row to the file of `key`. The first [`PENDING_ROWS`] rows of a file are
    /// held (not in follow mode) so that its columns are the union of theirs.
    fn write(&mut self, key: &str, cols: Vec<(Cow<'_, str>, Cow<'_, str>)>) -> io::Result<()> {
        if self.opts.flush_each || self.opts.compat || self.tables.contains_key(key) {
            return self.write_now(key, &cols);
        }
        let cols = cols
            .into_iter()
            .map(|(c, v)| (c.into_owned(), v.into_owned()))
            .collect();
        if !self.pending.contains_key(key) && self.pending.len() >= MAX_FILES {
            return Err(bad(format!(
                "more than {MAX_FILES} files; row of {key} dropped"
            )));
        }
        let rows = self.pending.entry(key.to_string()).or_default();
        rows.push(cols);
        if rows.len() >= PENDING_ROWS {
            self.release(key)?;
        }
        Ok(())
    }

    /// Opens the file of held rows with the union of their columns and writes them.
    fn release(&mut self, key: &str) -> io::Result<()> {
        let Some(rows) = self.pending.remove(key) else {
            return Ok(());
        };
        let mut union: Vec<String> = Vec::new();
        let mut seen = rustc_hash::FxHashSet::default();
        for (c, _) in rows.iter().flatten() {
            if seen.insert(c.as_str()) {
                union.push(c.clone());
            }
        }
        let t = self.open(key, union, 1)?;
        self.tables.insert(key.to_string(), t);
        for r in rows {
            self.write_now(key, &r)?;
        }
        Ok(())
    }

    /// Writes one row to the open file of `key`; a row with columns the file lacks starts the
    /// file's next generation (the union of both), except in compat mode, where they are
    /// dropped (jbuehl's script raises there).
    fn write_now<C: AsRef<str>, V: AsRef<str>>(
        &mut self,
        key: &str,
        cols: &[(C, V)],
    ) -> io::Result<()> {
        let new_cols = match self.tables.get(key) {
            None if self.tables.len() >= MAX_FILES => {
                return Err(bad(format!(
                    "more than {MAX_FILES} files; row of {key} dropped"
                )))
            }
            None => {
                let all = cols.iter().map(|(c, _)| c.as_ref().to_string());
                Some((all.collect::<Vec<_>>(), 1))
            }
            Some(t) if self.opts.compat => {
                let extra = cols
                    .iter()
                    .filter(|(c, _)| !t.index.contains_key(c.as_ref()));
                self.counts.dropped_cols += extra.count() as u64;
                None
            }
            Some(t) if cols.iter().all(|(c, _)| t.index.contains_key(c.as_ref())) => None,
            Some(t) => {
                let mut u = t.cols.clone();
                u.extend(
                    cols.iter()
                        .filter(|(c, _)| !t.index.contains_key(c.as_ref()))
                        .map(|(c, _)| c.as_ref().to_string()),
                );
                Some((u, t.generation + 1))
            }
        };
        if let Some((cols, generation)) = new_cols {
            if let Some(mut old) = self.tables.remove(key) {
                old.w.flush()?;
            }
            let t = self.open(key, cols, generation)?;
            self.tables.insert(key.to_string(), t);
        }
        let Some(t) = self.tables.get_mut(key) else {
            return Ok(());
        };
        let mut cells = vec![""; t.cols.len()];
        for (c, v) in cols {
            if let Some(&i) = t.index.get(c.as_ref()) {
                cells[i] = v.as_ref();
            }
        }
        t.w.write_record(&cells)?;
        if self.opts.flush_each {
            t.w.flush()?;
        }
        self.counts.rows += 1;
        Ok(())
    }

    /// Rows of a decoded record.
    fn decoded(&mut self, n: &Node<'_>) -> io::Result<()> {
        if self.opts.compat {
            return Err(bad(
                "--semonitor-compat reads semonitor lines or frame records, not decoded records",
            ));
        }
        let rows = self.flat.rows(n).map_err(bad)?;
        for r in rows {
            let cols = r.cols.iter().map(|(c, v)| (c.clone(), v.text())).collect();
            self.write(&r.file, cols)?;
        }
        Ok(())
    }

    /// Rows of a semonitor line: jbuehl's walk, in sorted name order.
    fn semonitor_line(&mut self, n: &Node<'_>) -> io::Result<()> {
        let mut devs = compat::unwrap(n);
        devs.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, attrs) in devs {
            let Some((dev, id)) = name.split_once('.') else {
                return Err(bad(format!("semonitor device {name:?} has no id")));
            };
            let Node::Obj(m) = attrs else { continue };
            let mut cols = Vec::with_capacity(m.len() + 1);
            if self.opts.compat {
                cols.push((Cow::Borrowed("__Identifier__"), Cow::Borrowed(id)));
                let mut sorted: Vec<_> = m.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                let py = sorted
                    .iter()
                    .map(|(k, v)| (Cow::Borrowed(&**k), compat::py_str(v).into()));
                cols.extend(py);
                self.write(dev, cols)?;
            } else {
                cols.push((Cow::Borrowed("id"), Cow::Borrowed(id)));
                for (k, v) in m {
                    let text = v.text().unwrap_or_else(|| {
                        let mut s = String::new();
                        v.write_json(&mut s);
                        Cow::Owned(s)
                    });
                    cols.push((Cow::Borrowed(&**k), text));
                }
                self.write(&format!("solaredge.{dev}"), cols)?;
            }
        }
        Ok(())
    }

    fn line(&mut self, text: &str) -> io::Result<()> {
        let n = Node::parse(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        match classify(&n).map_err(bad)? {
            Line::Decoded(d) => self.decoded(d),
            Line::Semonitor(s) => self.semonitor_line(s),
            Line::Other => Ok(()),
        }
    }
}

impl Sink for CsvSink {
    fn wants(&self, p: Protocol) -> bool {
        if self.opts.compat {
            p == solaredge::PROTOCOL
        } else {
            p.decodes()
        }
    }

    fn passes_on(&self) -> bool {
        true
    }

    fn record(&mut self, r: &Record<'_>) -> io::Result<()> {
        match *r {
            Record::Decoded { msg, .. } if self.opts.compat => {
                let line = msg
                    .as_any()
                    .downcast_ref::<SeMessage>()
                    .and_then(|m| self.semonitor.message_line(m));
                match line {
                    Some(l) => self.line(&l),
                    None => Ok(()),
                }
            }
            Record::Decoded { env, msg, .. } => {
                let text = decoded_text(&mut self.buf, env, msg);
                self.line(text.trim_end())
            }
            Record::Passed(text) => self.line(text),
            Record::Frame { .. } | Record::Anomaly { .. } => Ok(()),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        let mut keys: Vec<String> = self.pending.keys().cloned().collect();
        keys.sort();
        for k in keys {
            self.release(&k)?;
        }
        for t in self.tables.values_mut() {
            t.w.flush()?;
        }
        Ok(())
    }
}
