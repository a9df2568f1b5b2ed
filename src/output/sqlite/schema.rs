//! The database `selog` writes and `seserve` reads (docs/DATALOGGER.md "Schema"): one narrow
//! table for every decoded value, godenerg's `stats` / `last_stats` for PI30 (spec
//! replay_and_datalogger.md §3.1, same table and column names), and one wide table per
//! protocol and device kind for the other protocols.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// godenerg's `stats` columns and types, in its order (spec §3.1, 23 columns).
pub const STATS_COLS: &[(&str, &str)] = &[
    ("datetime", "INTEGER"),
    ("grid_volt", "REAL"),
    ("grid_freq", "REAL"),
    ("ac_volt", "REAL"),
    ("ac_freq", "REAL"),
    ("ac_va", "INTEGER"),
    ("ac_watt", "INTEGER"),
    ("load_percent", "INTEGER"),
    ("bus_volt", "INTEGER"),
    ("batt_volt", "REAL"),
    ("batt_charge_amps", "INTEGER"),
    ("batt_capacity", "INTEGER"),
    ("temp", "INTEGER"),
    ("pv_amps", "INTEGER"),
    ("pv_volts", "REAL"),
    ("batt_volt_scc", "REAL"),
    ("batt_discharge_amps", "INTEGER"),
    ("raw_status", "TEXT"),
    ("mask_b", "TEXT"),
    ("mask_c", "TEXT"),
    ("pv_watts", "INTEGER"),
    ("mask_d", "TEXT"),
    ("mode", "TEXT"),
];

/// godenerg's `last_stats` columns (spec §3.1).
pub const LAST_COLS: &[(&str, &str)] = &[
    ("datetime", "INTEGER"),
    ("batt_volt", "REAL"),
    ("batt_charge_amps", "INTEGER"),
    ("pv_amps", "INTEGER"),
    ("pv_watts", "INTEGER"),
];

/// Columns with godenerg's `(datetime, <col>)` indexes.
const STATS_INDEXED: &[&str] = &[
    "batt_volt",
    "batt_charge_amps",
    "pv_amps",
    "pv_watts",
    "ac_watt",
];
const LAST_INDEXED: &[&str] = &["batt_volt", "batt_charge_amps", "pv_amps", "pv_watts"];

/// Most columns of a wide table (SQLite allows 2000).
pub const MAX_WIDE_COLS: usize = 1000;

/// Whether `c` is a column of godenerg's `stats` table (the whitelist of `/graph` and
/// `--extract` column names).
pub fn is_stats_col(c: &str) -> bool {
    STATS_COLS.iter().any(|(n, _)| *n == c)
}

/// A name as an SQL identifier: double-quoted, inner quotes doubled (names come from records;
/// they are never interpolated unquoted).
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The wide table of a row file key (`c37118.241.data` → `c37118_241_data`).
pub fn wide_name(file_key: &str) -> String {
    file_key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn create_table(cols: &[(&str, &str)], name: &str) -> String {
    let list: Vec<String> = cols.iter().map(|(n, t)| format!("{n} {t}")).collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {name} ({}, device TEXT)",
        list.join(", ")
    )
}

/// Opens (creating when missing) the database for writing: WAL, the schema, godenerg's tables.
/// A `stats` table of godenerg's own (without `device`) gets the column added.
pub fn open_rw(path: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    // SQLite falls back to read-only when the file is not writable; say so before any write.
    if c.is_readonly(rusqlite::MAIN_DB)? {
        return Err(read_only(path, "the file is not writable"));
    }
    c.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly) => read_only(
                path,
                "cannot create its -wal and -shm files (is the directory writable?)",
            ),
            _ => e,
        })?;
    c.pragma_update(None, "synchronous", "NORMAL")?;
    // A 64 MiB page cache: the narrow table's B-tree gets one insertion point per series, and
    // with SQLite's default 2 MiB most inserts missed the cache (`bench/datalog.sh`).
    c.pragma_update(None, "cache_size", -65_536)?;
    let mut sql = String::from(
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
         CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, proto TEXT NOT NULL,
             device TEXT NOT NULL, field TEXT NOT NULL, UNIQUE (proto, device, field));
         CREATE TABLE IF NOT EXISTS points (series INTEGER NOT NULL, ts REAL NOT NULL,
             value REAL, text TEXT, PRIMARY KEY (series, ts)) WITHOUT ROWID;
         CREATE VIEW IF NOT EXISTS readings AS SELECT p.ts AS ts, s.proto AS proto,
             s.device AS device, s.field AS field, p.value AS value, p.text AS text
             FROM points p JOIN series s ON s.id = p.series;
         CREATE TABLE IF NOT EXISTS wide_tables (name TEXT PRIMARY KEY, proto TEXT, file_key TEXT);\n",
    );
    sql.push_str(&create_table(STATS_COLS, "stats"));
    sql.push_str(";\n");
    sql.push_str(&create_table(LAST_COLS, "last_stats"));
    sql.push_str(";\n");
    c.execute_batch(&sql)?;
    for t in ["stats", "last_stats"] {
        if !columns(&c, t)?.iter().any(|n| n == "device") {
            c.execute_batch(&format!("ALTER TABLE {t} ADD COLUMN device TEXT"))?;
        }
    }
    let mut idx = String::new();
    for (t, cols) in [("stats", STATS_INDEXED), ("last_stats", LAST_INDEXED)] {
        for col in cols {
            idx.push_str(&format!(
                "CREATE INDEX IF NOT EXISTS idx_{t}_{col} ON {t} (datetime, {col});\n"
            ));
        }
        idx.push_str(&format!(
            "CREATE UNIQUE INDEX IF NOT EXISTS uniq_{t}_device ON {t} (device, datetime);\n"
        ));
    }
    c.execute_batch(&idx)?;
    super::rollup::ensure(&c)?;
    Ok(c)
}

/// The error for a database selog cannot write (SQLITE_READONLY with the reason).
fn read_only(path: &Path, why: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
        Some(format!(
            "read-only database {}: {why}; nothing was written",
            path.display()
        )),
    )
}

/// Opens the database read-only (seserve, --extract): the writer may be running.
pub fn open_ro(path: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(c)
}

/// The column names of a table (empty when it does not exist).
pub fn columns(c: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut st = c.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = st.query_map([table], |r| r.get::<_, String>(0))?;
    names.collect()
}

/// A `meta` value.
pub fn meta(c: &Connection, key: &str) -> Option<String> {
    c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .ok()
}
