//! Local time as the C library's `localtime` computes it from `TZ` (what semonitor's
//! `time.localtime` prints, solaredge.md §7), and the `strftime` / `time.asctime` forms
//! semonitor writes.

use crate::util::date::{days_from_civil, Civil};
use tz::timezone::{AlternateTime, RuleDay, TimeZoneSettings, TransitionRule};
use tz::TimeZone;

/// The time zone could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("time zone {tz:?}: {msg}")]
pub struct SemonitorError {
    /// The `TZ` value (or file) that failed.
    pub tz: String,
    /// What went wrong.
    pub msg: String,
}

/// A time zone read the way the C library reads `TZ`.
#[derive(Debug, Clone)]
pub struct LocalZone {
    tz: TimeZone,
}

/// Directories searched for a zone name, as glibc (and tz-rs) do without `TZDIR`.
const ZONE_DIRS: &[&str] = TimeZoneSettings::DEFAULT_DIRECTORIES;

impl LocalZone {
    /// The time zone the C library's `localtime` (hence Python's `time.localtime`) would use:
    /// `TZ` unset → `/etc/localtime`, or UTC when that cannot be read; `TZ` empty → UTC;
    /// `TZ=:` → `/etc/localtime`; `TZ=:NAME` or `TZ=NAME` → the TZif file `NAME` (absolute, or
    /// under `$TZDIR`, else `/usr/share/zoneinfo`); otherwise a POSIX string such as
    /// `CET-1CEST,M3.5.0,M10.5.0/3` or `UTC0`.
    ///
    /// Where glibc silently falls back to UTC for a `TZ` it cannot use, this returns an error;
    /// the caller may then report it and use [`LocalZone::utc`].
    pub fn from_env() -> Result<Self, SemonitorError> {
        match std::env::var_os("TZ") {
            None => Ok(Self::system_local()),
            Some(v) => {
                let Some(s) = v.to_str() else {
                    return Err(SemonitorError {
                        tz: v.to_string_lossy().into_owned(),
                        msg: "not valid UTF-8".into(),
                    });
                };
                match std::env::var("TZDIR") {
                    Ok(dir) if !dir.is_empty() => Self::with_tz_in(s, &[dir.as_str()]),
                    _ => Self::with_tz_in(s, ZONE_DIRS),
                }
            }
        }
    }

    /// Like [`LocalZone::from_env`] with `TZ` set to `tz` (and `TZDIR` unset).
    pub fn with_tz(tz: &str) -> Result<Self, SemonitorError> {
        Self::with_tz_in(tz, ZONE_DIRS)
    }

    /// Universal time (what glibc uses for an empty `TZ`).
    pub fn utc() -> Self {
        Self {
            tz: TimeZone::utc(),
        }
    }

    fn system_local() -> Self {
        TimeZone::local()
            .map(|tz| Self { tz })
            .unwrap_or_else(|_| Self::utc())
    }

    fn with_tz_in(tz: &str, dirs: &[&str]) -> Result<Self, SemonitorError> {
        if tz.is_empty() {
            return Ok(Self::utc());
        }
        let settings = TimeZoneSettings::new(dirs, TimeZoneSettings::DEFAULT_READ_FILE_FN);
        let spec = if tz == ":" { "localtime" } else { tz };
        settings
            .parse_posix_tz(spec)
            .map(|tz| Self { tz })
            .map_err(|e| SemonitorError {
                tz: tz.to_string(),
                msg: e.to_string(),
            })
    }

    /// Broken-down local time of a Unix time (C `localtime`).
    pub fn local(&self, t: i64) -> Civil {
        let r = self.tz.as_ref();
        if let (true, Some(TransitionRule::Alternate(alt))) =
            (r.transitions().is_empty(), r.extra_rule())
        {
            return Civil::from_unix(t + i64::from(glibc_rule_offset(alt, t)));
        }
        let off = match self.tz.find_local_time_type(t) {
            Ok(ltt) => ltt.ut_offset(),
            // No rule after the last transition: the C library keeps the last type.
            Err(_) => {
                let r = self.tz.as_ref();
                let types = r.local_time_types();
                r.transitions()
                    .last()
                    .and_then(|tr| types.get(tr.local_time_type_index()))
                    .or_else(|| types.first())
                    .map_or(0, |ltt| ltt.ut_offset())
            }
        };
        Civil::from_unix(t + i64::from(off))
    }
}

/// The UTC offset glibc's `tz_compute` gives for a POSIX `TZ` string with DST rules: the
/// changes of the UTC year of `t`, each at its rule's local time. For years up to 1970 glibc
/// counts the days of that year's rule from 1970-01-01 (`compute_change`), so times before
/// 1970 are in standard time for northern and in DST for southern rules; this is reproduced.
fn glibc_rule_offset(alt: &AlternateTime, t: i64) -> i32 {
    let year = Civil::from_unix(t).year;
    let change = |day: &RuleDay, secs: i32, offset: i32| -> i64 {
        let jan1 = days_from_civil(year, 1, 1);
        let leap = days_from_civil(year, 3, 1) - days_from_civil(year, 2, 28) == 2;
        let mut d = if year > 1970 { jan1 } else { 0 };
        match day {
            RuleDay::Julian1WithoutLeap(j) => {
                let j = i64::from(j.get());
                d += j - 1 + i64::from(j >= 60 && leap);
            }
            RuleDay::Julian0WithLeap(j) => d += i64::from(j.get()),
            RuleDay::MonthWeekDay(mwd) => {
                let m = u32::from(mwd.month());
                let first = days_from_civil(year, m, 1);
                let mdays = if m == 12 {
                    31
                } else {
                    days_from_civil(year, m + 1, 1) - first
                };
                d += first - jan1;
                let dow = (first + 4).rem_euclid(7);
                let mut k = (i64::from(mwd.week_day()) - dow).rem_euclid(7);
                for _ in 1..mwd.week() {
                    if k + 7 >= mdays {
                        break;
                    }
                    k += 7;
                }
                d += k;
            }
        }
        d * 86_400 - i64::from(offset) + i64::from(secs)
    };
    let (std, dst) = (alt.std().ut_offset(), alt.dst().ut_offset());
    let start = change(alt.dst_start(), alt.dst_start_time(), std);
    let end = change(alt.dst_end(), alt.dst_end_time(), dst);
    let is_dst = std != dst
        && if start > end {
            t < end || t >= start
        } else {
            t >= start && t < end
        };
    if is_dst {
        dst
    } else {
        std
    }
}

/// `%Y-%m-%d`.
pub fn date(c: &Civil) -> String {
    format!("{}-{:02}-{:02}", c.year, c.mon, c.mday)
}

/// `%H:%M:%S`.
pub fn time(c: &Civil) -> String {
    format!("{:02}:{:02}:{:02}", c.hour, c.min, c.sec)
}

/// Python `time.asctime`: `"%s %s%3d %.2d:%.2d:%.2d %d"`, e.g. `Wed Jun  8 14:19:53 2016`.
pub fn asctime(c: &Civil) -> String {
    const WDAY: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {}{:3} {:02}:{:02}:{:02} {}",
        WDAY[c.wday as usize % 7],
        MON[(c.mon as usize + 11) % 12],
        c.mday,
        c.hour,
        c.min,
        c.sec,
        c.year
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_time_and_asctime() {
        // 2016-06-08 12:19:53Z was a Wednesday (calendar); 1970-01-01 a Thursday.
        let tm = Civil::from_unix(1_465_388_393);
        assert_eq!(
            (date(&tm), time(&tm)),
            ("2016-06-08".into(), "12:19:53".into())
        );
        assert_eq!(asctime(&tm), "Wed Jun  8 12:19:53 2016");
        assert_eq!(asctime(&Civil::from_unix(0)), "Thu Jan  1 00:00:00 1970");
        assert_eq!(asctime(&Civil::from_unix(-1)), "Wed Dec 31 23:59:59 1969");
        assert_eq!(
            asctime(&Civil::from_unix(i64::from(u32::MAX))),
            "Sun Feb  7 06:28:15 2106"
        );
        assert_eq!(
            asctime(&Civil::from_unix(i64::from(i32::MIN))),
            "Fri Dec 13 20:45:52 1901"
        );
        assert_eq!(date(&Civil::from_unix(951_782_400)), "2000-02-29");
        for t in [-5_000_000_000i64, -1, 0, 951_782_400, 4_294_967_295] {
            let tm = Civil::from_unix(t);
            assert_eq!(
                days_from_civil(tm.year, tm.mon, tm.mday),
                t.div_euclid(86_400)
            );
        }
    }

    #[test]
    fn time_zones() {
        let cet = LocalZone::with_tz("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        // 2016-07-19 08:45:00Z is 10:45 CEST; 2016-01-19 08:45:00Z is 09:45 CET.
        assert_eq!(time(&cet.local(1_468_917_900)), "10:45:00");
        assert_eq!(time(&cet.local(1_453_193_100)), "09:45:00");
        assert_eq!(
            time(&LocalZone::with_tz("UTC0").unwrap().local(0)),
            "00:00:00"
        );
        assert_eq!(time(&LocalZone::with_tz("").unwrap().local(0)), "00:00:00");
        assert!(LocalZone::with_tz("not a zone,,,").is_err());
    }
}
