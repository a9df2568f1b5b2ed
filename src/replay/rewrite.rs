//! Rewriting replayed frames (replay spec §2 "Rewriting", "Looping"): embedded times shifted
//! to now or by an offset, and further by one capture span per loop so they keep increasing;
//! the device id set; then the protocol's own `fix_checksum` (its registry descriptor)
//! recomputes every checksum.

use super::source::{Conversation, Msg};
use super::{FrameClock, Replayer};
use std::time::{SystemTime, UNIX_EPOCH};

const NS: i128 = 1_000_000_000;

/// `--rewrite-time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSpec {
    /// The first frame's time becomes the time the replay starts (whole seconds kept, so
    /// fractions of seconds are unchanged).
    Now,
    /// Every time moves by this many nanoseconds.
    Offset(i128),
}

/// Parses `now`, `+SECS`, `-SECS` (decimals allowed).
pub fn parse_time_spec(s: &str) -> Result<TimeSpec, String> {
    if s == "now" {
        return Ok(TimeSpec::Now);
    }
    let bad = || format!("expected now, +SECS or -SECS: {s:?}");
    if !s.starts_with(['+', '-']) {
        return Err(bad());
    }
    let x: f64 = s.parse().map_err(|_| bad())?;
    if !x.is_finite() || x.abs() > 1e11 {
        return Err(bad());
    }
    Ok(TimeSpec::Offset((x * 1e9).round() as i128))
}

/// What to change in every frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rewrite {
    pub time: Option<TimeSpec>,
    pub id: Option<u32>,
}

/// Applies a [`Rewrite`] to the frames of one conversation.
pub struct Rewriter {
    replayer: &'static dyn Replayer,
    clock: Option<Box<dyn FrameClock>>,
    spec: Rewrite,
    /// Added to embedded times in pass 0.
    shift: i128,
    /// Added once more per pass.
    per_pass: i128,
    first: Option<i128>,
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

impl Rewriter {
    /// A rewriter for `msgs` (the frames that will be sent) of `conv`.
    pub fn new(
        replayer: &'static dyn Replayer,
        conv: &Conversation,
        msgs: &[&Msg],
        spec: Rewrite,
    ) -> Rewriter {
        let clock = spec.time.and_then(|_| replayer.clock(conv));
        let times: Vec<i128> = clock
            .as_ref()
            .map(|c| msgs.iter().filter_map(|m| c.get(&m.bytes)).collect())
            .unwrap_or_default();
        let (first, last) = (times.iter().min().copied(), times.iter().max().copied());
        // One pass spans first..last plus one typical spacing, at least one time unit.
        let per_pass = match (first, last) {
            (Some(a), Some(b)) if times.len() > 1 => {
                let span = b - a;
                span + (span / (times.len() as i128 - 1)).max(1)
            }
            _ => NS,
        };
        let mut r = Rewriter {
            replayer,
            clock,
            spec,
            shift: 0,
            per_pass,
            first,
        };
        r.rebase();
        r
    }

    /// Takes "now" again (a stream that starts later than the rewriter was made).
    pub fn rebase(&mut self) {
        self.shift = match (self.spec.time, self.first) {
            (Some(TimeSpec::Now), Some(f)) => (now_ns() - f).div_euclid(NS) * NS,
            (Some(TimeSpec::Offset(o)), _) => o,
            _ => 0,
        };
    }

    /// Whether anything is rewritten.
    pub fn active(&self) -> bool {
        self.spec.id.is_some() || self.clock.is_some()
    }

    /// The frame as sent in pass `pass`: time shifted, id set, checksum fixed.
    pub fn apply(&self, frame: &[u8], pass: u64) -> Vec<u8> {
        let mut f = frame.to_vec();
        if !self.active() {
            return f;
        }
        let mut changed = false;
        if let Some(c) = &self.clock {
            if let Some(t) = c.get(&f) {
                let to = t + self.shift + self.per_pass * i128::from(pass);
                changed |= c.set(&mut f, to);
            }
        }
        if let Some(id) = self.spec.id {
            changed |= self.replayer.set_id(&mut f, id);
        }
        if changed {
            if let Some(fix) = self.replayer.protocol().0.fix_checksum {
                fix(&mut f);
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_specs_parse() {
        assert_eq!(parse_time_spec("now"), Ok(TimeSpec::Now));
        assert_eq!(parse_time_spec("+1.5"), Ok(TimeSpec::Offset(1_500_000_000)));
        assert_eq!(parse_time_spec("-3600"), Ok(TimeSpec::Offset(-3_600 * NS)));
        assert!(parse_time_spec("3600").is_err());
        assert!(parse_time_spec("+inf").is_err());
    }
}
