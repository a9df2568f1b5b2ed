//! Pre-averaged `stats` (docs/DATALOGGER.md "Rollups"): per-minute, per-hour and per-day
//! tables `stats_1m`, `stats_1h`, `stats_1d` holding, per (bucket start `t0`, device), the row
//! count `n` and for every numeric `stats` column its sum `s_<col>` and count of non-NULL
//! values `c_<col>`. SQLite triggers on `stats` keep them in step with every insert, delete
//! and update, in the writer's own transaction (selog's, or any other program's).
//!
//! `/graph` keeps godenerg's averaging rule (spec replay_and_datalogger.md §3.2) exactly: the
//! row count n of the range and the `AVG` of each `datetime / coe` bucket are sums over a
//! cover of the range (or bucket) by whole days, hours and minutes from these tables plus the
//! raw rows of the partial minutes at its two ends. A bucket's average is Σs / Σc, the same
//! value as SQLite's `AVG` (equal for integer columns; for REAL columns up to rounding of the
//! summation order, about 1e-15 relative).

use super::schema::{columns, meta, STATS_COLS};
use rusqlite::{params, Connection, OptionalExtension};

/// The `meta` key and value saying the rollups are complete and kept by triggers.
pub const META_KEY: &str = "rollups";
pub const META_VALUE: &str = "1";

/// Levels, coarsest first: (seconds, table).
pub const LEVELS: &[(i64, &str)] = &[(86_400, "stats_1d"), (3_600, "stats_1h"), (60, "stats_1m")];

/// The numeric `stats` columns (the ones averaged by the rollups).
pub fn cols() -> impl Iterator<Item = &'static str> {
    STATS_COLS
        .iter()
        .skip(1)
        .filter(|(_, t)| *t != "TEXT")
        .map(|(n, _)| *n)
}

/// Whether `col` has rollup sums.
pub fn is_rolled(col: &str) -> bool {
    cols().any(|c| c == col)
}

fn start(expr: &str, g: i64) -> String {
    format!("({expr} - ((({expr}) % {g}) + {g}) % {g})")
}

fn add_body(table: &str, g: i64) -> String {
    let names: Vec<String> = cols().map(|c| format!("s_{c}, c_{c}")).collect();
    let vals: Vec<String> = cols()
        .map(|c| format!("COALESCE(NEW.{c} + 0, 0), NEW.{c} IS NOT NULL"))
        .collect();
    let sets: Vec<String> = cols()
        .map(|c| format!("s_{c} = s_{c} + excluded.s_{c}, c_{c} = c_{c} + excluded.c_{c}"))
        .collect();
    format!(
        "INSERT INTO {table} (t0, device, n, {}) VALUES ({}, COALESCE(NEW.device, ''), 1, {})
         ON CONFLICT (t0, device) DO UPDATE SET n = n + 1, {};\n",
        names.join(", "),
        start("NEW.datetime", g),
        vals.join(", "),
        sets.join(", ")
    )
}

fn sub_body(table: &str, g: i64) -> String {
    let sets: Vec<String> = cols()
        .map(|c| {
            format!(
                "s_{c} = s_{c} - COALESCE(OLD.{c} + 0, 0), c_{c} = c_{c} - (OLD.{c} IS NOT NULL)"
            )
        })
        .collect();
    format!(
        "UPDATE {table} SET n = n - 1, {} WHERE t0 = {} AND device = COALESCE(OLD.device, '');\n",
        sets.join(", "),
        start("OLD.datetime", g)
    )
}

/// Creates (or, when `meta` does not say they are complete, re-creates) the rollup tables and
/// triggers and fills them from `stats`, in one transaction. Cheap when they exist.
pub fn ensure(c: &Connection) -> rusqlite::Result<()> {
    if meta(c, META_KEY).as_deref() == Some(META_VALUE) && !columns(c, "stats_1m")?.is_empty() {
        return Ok(());
    }
    let mut sql = String::from("BEGIN IMMEDIATE;\n");
    for t in ["ins", "del", "upd"] {
        sql.push_str(&format!("DROP TRIGGER IF EXISTS stats_rollup_{t};\n"));
    }
    let defs: Vec<String> = cols().map(|c| format!("s_{c}, c_{c} INTEGER")).collect();
    let sums: Vec<String> = cols()
        .map(|c| format!("TOTAL({c} + 0), COUNT({c})"))
        .collect();
    let names: Vec<String> = cols().map(|c| format!("s_{c}, c_{c}")).collect();
    let (mut ins, mut del) = (String::new(), String::new());
    for &(g, t) in LEVELS {
        sql.push_str(&format!(
            "DROP TABLE IF EXISTS {t};
             CREATE TABLE {t} (t0 INTEGER NOT NULL, device TEXT NOT NULL, n INTEGER NOT NULL, {},
                 PRIMARY KEY (t0, device)) WITHOUT ROWID;\n",
            defs.join(", ")
        ));
        ins.push_str(&add_body(t, g));
        del.push_str(&sub_body(t, g));
    }
    // Filled from stats (minutes), then hours from minutes, days from hours. TOTAL keeps
    // integer columns' sums exact as long as they fit in a double's 53 bits.
    sql.push_str(&format!(
        "INSERT INTO stats_1m (t0, device, n, {}) SELECT {}, COALESCE(device, ''), COUNT(1), {}
         FROM stats WHERE datetime IS NOT NULL GROUP BY 1, 2;\n",
        names.join(", "),
        start("datetime", 60),
        sums.join(", ")
    ));
    for (fine, coarse, g) in [
        ("stats_1m", "stats_1h", 3600),
        ("stats_1h", "stats_1d", 86_400),
    ] {
        let re: Vec<String> = cols()
            .map(|c| format!("TOTAL(s_{c}), SUM(c_{c})"))
            .collect();
        sql.push_str(&format!(
            "INSERT INTO {coarse} (t0, device, n, {}) SELECT {}, device, SUM(n), {} FROM {fine} GROUP BY 1, 2;\n",
            names.join(", "),
            start("t0", g),
            re.join(", ")
        ));
    }
    sql.push_str(&format!(
        "CREATE TRIGGER stats_rollup_ins AFTER INSERT ON stats BEGIN\n{ins}END;
         CREATE TRIGGER stats_rollup_del AFTER DELETE ON stats BEGIN\n{del}END;
         CREATE TRIGGER stats_rollup_upd AFTER UPDATE ON stats BEGIN\n{del}{ins}END;
         INSERT INTO meta (key, value) VALUES ('{META_KEY}', '{META_VALUE}')
             ON CONFLICT (key) DO UPDATE SET value = excluded.value;
         COMMIT;"
    ));
    if let Err(e) = c.execute_batch(&sql) {
        let _ = c.execute_batch("ROLLBACK");
        return Err(e);
    }
    Ok(())
}

/// Whether the database has complete rollups (a database of an older selog, or of godenerg
/// alone, has none: `/graph` then reads `stats` itself until selog opens it once).
pub fn present(c: &Connection) -> bool {
    meta(c, META_KEY).as_deref() == Some(META_VALUE)
}

/// Sums over a time range: rows, and per column Σ value and non-NULL count.
#[derive(Clone, Debug, Default)]
pub struct Acc {
    pub n: i64,
    pub s: [f64; 2],
    pub c: [i64; 2],
}

/// Pieces covering `[a, b]` (inclusive seconds): `Some(level)` = whole buckets of
/// `LEVELS[level]` with starts in `[lo, hi]`, `None` = raw rows with `lo ≤ datetime ≤ hi`.
fn cover(a: i64, b: i64, level: usize, out: &mut Vec<(Option<usize>, i64, i64)>) {
    if a > b {
        return;
    }
    let Some(&(g, _)) = LEVELS.get(level) else {
        out.push((None, a, b));
        return;
    };
    let first = a.div_euclid(g) * g + if a.rem_euclid(g) == 0 { 0 } else { g };
    let end = (b + 1).div_euclid(g) * g; // one past the last whole bucket
    if first + g > end {
        cover(a, b, level + 1, out);
        return;
    }
    cover(a, first - 1, level + 1, out);
    out.push((Some(level), first, end - g));
    cover(end, b, level + 1, out);
}

/// Reads the sums of `[a, b]` for `cols` (one or two rolled-up columns).
pub struct Reader<'c> {
    c: &'c Connection,
    device: Option<&'c str>,
    raw: String,
    level: Vec<String>,
    pieces: Vec<(Option<usize>, i64, i64)>,
}

impl<'c> Reader<'c> {
    pub fn new(c: &'c Connection, cols: &[&str], device: Option<&'c str>) -> Self {
        let dev = if device.is_some() {
            "device = ?3"
        } else {
            "?3 IS NULL"
        };
        let pick = |f: &dyn Fn(&str) -> String| -> String {
            let mut v: Vec<String> = cols.iter().map(|c| f(c)).collect();
            while v.len() < 2 {
                v.push("0, 0".into());
            }
            v.join(", ")
        };
        let raw = format!(
            "SELECT COUNT(1), {} FROM stats WHERE datetime >= ?1 AND datetime <= ?2 AND {dev}",
            pick(&|c| format!("TOTAL({c} + 0), COUNT({c})"))
        );
        let level = LEVELS
            .iter()
            .map(|(_, t)| {
                format!(
                    "SELECT TOTAL(n), {} FROM {t} WHERE t0 >= ?1 AND t0 <= ?2 AND {dev}",
                    pick(&|c| format!("TOTAL(s_{c}), TOTAL(c_{c})"))
                )
            })
            .collect();
        Reader {
            c,
            device,
            raw,
            level,
            pieces: Vec::new(),
        }
    }

    /// The sums of rows with `a ≤ datetime ≤ b`.
    pub fn sums(&mut self, a: i64, b: i64) -> rusqlite::Result<Acc> {
        self.pieces.clear();
        cover(a, b, 0, &mut self.pieces);
        let mut acc = Acc::default();
        for &(lv, lo, hi) in &self.pieces {
            let sql = match lv {
                Some(l) => &self.level[l],
                None => &self.raw,
            };
            let r = self
                .c
                .prepare_cached(sql)?
                .query_row(params![lo, hi, self.device], |r| {
                    Ok((
                        r.get::<_, f64>(0)?,
                        r.get::<_, f64>(1)?,
                        r.get::<_, f64>(2)?,
                        r.get::<_, f64>(3)?,
                        r.get::<_, f64>(4)?,
                    ))
                })
                .optional()?;
            if let Some((n, s0, c0, s1, c1)) = r {
                acc.n += n as i64;
                acc.s[0] += s0;
                acc.c[0] += c0 as i64;
                acc.s[1] += s1;
                acc.c[1] += c1 as i64;
            }
        }
        Ok(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cover_is_exact_and_disjoint() {
        for (a, b) in [
            (0, 0),
            (59, 60),
            (1, 200_000),
            (86_399, 86_400 * 3 + 61),
            (3600, 7199),
        ] {
            let mut v = Vec::new();
            cover(a, b, 0, &mut v);
            let mut next = a;
            let mut sorted = v.clone();
            sorted.sort_by_key(|p| p.1);
            for (lv, lo, hi) in sorted {
                assert_eq!(lo, next, "{a}-{b}: {v:?}");
                next = match lv {
                    Some(l) => {
                        let g = LEVELS[l].0;
                        assert_eq!(lo % g, 0);
                        hi + g
                    }
                    None => hi + 1,
                };
            }
            assert_eq!(next, b + 1, "{a}-{b}: {v:?}");
        }
    }
}
