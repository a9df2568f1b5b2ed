//! `selog --extract FROM-TO --col C …`: rows of `stats` in a range as CSV (spec
//! replay_and_datalogger.md §3.2 "CSV extract"). `--godenerg` writes exactly godenerg's
//! `--extract-csv-data` file: `;`-separated, rows joined by `\n` (no final newline), no
//! header, values as Python's `str()` (`50.0`, `None`), `datetime` as raw Unix seconds; the
//! default is a CSV file with a header row (RFC 4180, `,`, CRLF).

use super::query::{parse_time, QueryError};
use super::schema::{is_stats_col, STATS_COLS};
use crate::output::semonitor::{py_float, LocalZone};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection};

/// godenerg's `FROM-TO` range: each side one of its four formats (8, 10, 12 or 14 digits).
pub fn parse_range(s: &str, zone: &LocalZone) -> Result<(i64, i64), QueryError> {
    let Some((a, b)) = s.split_once('-') else {
        return Err(QueryError::Bad(format!("range {s:?}: FROM-TO")));
    };
    for t in [a, b] {
        if ![8, 10, 12, 14].contains(&t.len()) {
            return Err(QueryError::Bad(format!(
                "{t:?}: YYYYMMDD, YYYYMMDDHH, YYYYMMDDHHMM or YYYYMMDDHHMMSS"
            )));
        }
    }
    Ok((parse_time(a, zone)?, parse_time(b, zone)?))
}

/// Python's `str()` of an SQLite value as the `sqlite3` module returns it.
fn py_str(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "None".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => py_float(f),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => format!("b'{}'", String::from_utf8_lossy(b)),
    }
}

fn csv_cell(v: ValueRef<'_>) -> String {
    let s = match v {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The extract text. `cols` empty = every godenerg column; `device` limits it to one PI30
/// device (`stats.device`).
pub fn extract(
    c: &Connection,
    from: i64,
    to: i64,
    cols: &[String],
    device: Option<&str>,
    godenerg: bool,
) -> Result<String, QueryError> {
    let cols: Vec<&str> = if cols.is_empty() {
        STATS_COLS.iter().map(|(n, _)| *n).collect()
    } else {
        cols.iter().map(String::as_str).collect()
    };
    if let Some(c) = cols.iter().find(|c| !is_stats_col(c)) {
        return Err(QueryError::Bad(format!(
            "--col {c:?}: not a column of stats"
        )));
    }
    let dev = if device.is_some() {
        "device = ?3"
    } else {
        "?3 IS NULL"
    };
    let sql = format!(
        "SELECT {} FROM stats WHERE datetime >= ?1 AND datetime <= ?2 AND {dev} ORDER BY datetime, rowid",
        cols.join(", ")
    );
    let mut st = c.prepare(&sql)?;
    let mut rows = st.query(params![from, to, device])?;
    let mut lines: Vec<String> = Vec::new();
    if !godenerg {
        lines.push(cols.join(","));
    }
    while let Some(r) = rows.next()? {
        let mut cells = Vec::with_capacity(cols.len());
        for i in 0..cols.len() {
            let v = r.get_ref(i)?;
            cells.push(if godenerg { py_str(v) } else { csv_cell(v) });
        }
        lines.push(cells.join(if godenerg { ";" } else { "," }));
    }
    Ok(if godenerg {
        lines.join("\n")
    } else {
        let mut s = lines.join("\r\n");
        s.push_str("\r\n");
        s
    })
}
