//! When each message goes out (replay spec §2 "Timing", "Anchor scheduling", "Looping").
//!
//! A [`Plan`] turns capture times into offsets from a fixed anchor, computed once in integer
//! nanoseconds: message *i* of pass *k* is due at `t0 + k·period + (tsᵢ − ts₀)/speed` (gaps
//! capped by `--max-gap` first), or at `i/rate`, or at once (`--asap`). A [`Pacer`] waits for
//! each due time measured from the anchor taken when sending started, so oversleeping one
//! message never delays the next (the per-message-sleep drift of tcpreplay #630/#724 cannot
//! happen); when behind it catches up, or with `--drop-late` skips a message whose successor
//! is already due.

use crate::capture::Timestamp;
use std::time::{Duration, Instant};

/// How captured times become due times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// Captured timing divided by the factor (2 = twice as fast, 0.5 = half speed).
    Speed(f64),
    /// A fixed number of messages per second.
    Rate(f64),
    /// As fast as possible.
    Asap,
}

/// Timing options of a replay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    pub pace: Pace,
    /// Gaps between consecutive captured messages are capped at this (before `speed`).
    pub max_gap: Option<Duration>,
    /// Passes over the messages; 0 = forever.
    pub loops: u64,
    /// Pause between passes.
    pub loop_delay: Duration,
    /// Skip a late message when the next one is already due, instead of catching up.
    pub drop_late: bool,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            pace: Pace::Speed(1.0),
            max_gap: None,
            loops: 1,
            loop_delay: Duration::ZERO,
            drop_late: false,
        }
    }
}

/// Due offsets of one pass, and the length of a pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Offset of each message from the start of its pass, in nanoseconds.
    pub offsets: Vec<u64>,
    /// From the start of one pass to the start of the next: last offset + one typical gap +
    /// the loop delay.
    pub period: u64,
    pub loops: u64,
}

fn ns_between(a: Timestamp, b: Timestamp) -> i128 {
    (i128::from(b.sec) - i128::from(a.sec)) * 1_000_000_000 + i128::from(b.nsec)
        - i128::from(a.nsec)
}

fn dur_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Plan {
    /// The plan for messages captured at `ts` (capture order; a time earlier than the previous
    /// one counts as a gap of 0).
    pub fn new(ts: &[Timestamp], t: &Timing) -> Plan {
        let cap = t.max_gap.map(dur_ns);
        let mut offsets = Vec::with_capacity(ts.len());
        match t.pace {
            Pace::Asap => offsets.resize(ts.len(), 0),
            Pace::Rate(r) => {
                let step = 1e9 / r.max(1e-9);
                offsets
                    .extend((0..ts.len()).map(|i| (i as f64 * step).min(u64::MAX as f64) as u64));
            }
            Pace::Speed(s) => {
                // Captured offsets, capped gaps, summed exactly in integers; divided once.
                let mut at: u128 = 0;
                for (i, x) in ts.iter().enumerate() {
                    if i > 0 {
                        let gap = ns_between(ts[i - 1], *x).clamp(0, i128::from(u64::MAX)) as u64;
                        at += u128::from(cap.map_or(gap, |c| gap.min(c)));
                    }
                    offsets.push((at as f64 / s.max(1e-9)).min(u64::MAX as f64) as u64);
                }
            }
        }
        let last = offsets.last().copied().unwrap_or(0);
        let typical = if offsets.len() > 1 {
            last / (offsets.len() as u64 - 1)
        } else {
            0
        };
        let typical = match t.pace {
            Pace::Rate(r) => (1e9 / r.max(1e-9)) as u64,
            _ => typical,
        };
        Plan {
            offsets,
            period: last
                .saturating_add(typical)
                .saturating_add(dur_ns(t.loop_delay)),
            loops: t.loops,
        }
    }

    /// Due offset of message `i` of pass `k` from the anchor, in nanoseconds.
    pub fn due(&self, k: u64, i: usize) -> u64 {
        k.saturating_mul(self.period)
            .saturating_add(self.offsets.get(i).copied().unwrap_or(0))
    }

    /// Every (pass, index) in order: finite unless `loops` is 0.
    pub fn steps(&self) -> impl Iterator<Item = (u64, usize)> + '_ {
        let n = self.offsets.len();
        let passes = if self.loops == 0 {
            u64::MAX
        } else {
            self.loops
        };
        (0..if n == 0 { 0 } else { passes }).flat_map(move |k| (0..n).map(move |i| (k, i)))
    }

    /// The step after (k, i), if any.
    pub fn next(&self, k: u64, i: usize) -> Option<(u64, usize)> {
        if i + 1 < self.offsets.len() {
            Some((k, i + 1))
        } else if self.loops == 0 || k + 1 < self.loops {
            (!self.offsets.is_empty()).then_some((k + 1, 0))
        } else {
            None
        }
    }
}

/// A source of time the pacer waits on: the real clock, or a simulated one in tests.
pub trait Clock {
    /// Time elapsed since some fixed point, in nanoseconds.
    fn now(&self) -> u64;
    /// Sleeps for about `ns` nanoseconds (real sleeps overshoot).
    fn sleep(&self, ns: u64);
}

/// The monotonic system clock.
pub struct RealClock(Instant);

impl Default for RealClock {
    fn default() -> Self {
        RealClock(Instant::now())
    }
}

impl Clock for RealClock {
    fn now(&self) -> u64 {
        dur_ns(self.0.elapsed())
    }
    fn sleep(&self, ns: u64) {
        std::thread::sleep(Duration::from_nanos(ns));
    }
}

/// What the pacer decided for one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send now; it is this many nanoseconds after its due time.
    Send { late_ns: u64 },
    /// Skipped (`--drop-late`: the next message is already due).
    Drop,
    /// Stopped (SIGINT) while waiting.
    Stop,
}

/// Waits for due times measured from one anchor.
pub struct Pacer<C: Clock> {
    pub clock: C,
    anchor: u64,
    drop_late: bool,
}

/// Longest single sleep, so that a stop request is seen quickly.
const SLICE_NS: u64 = 50_000_000;

impl<C: Clock> Pacer<C> {
    /// Anchored now.
    pub fn new(clock: C, drop_late: bool) -> Self {
        let anchor = clock.now();
        Pacer {
            clock,
            anchor,
            drop_late,
        }
    }

    /// Moves the anchor so that offset `due` is now (C37.118 data turned on again).
    pub fn reanchor(&mut self, due: u64) {
        self.anchor = self.clock.now().saturating_sub(due);
    }

    /// Nanoseconds from now until offset `due` (0 when it has passed).
    pub fn until(&self, due: u64) -> u64 {
        self.anchor
            .saturating_add(due)
            .saturating_sub(self.clock.now())
    }

    /// Waits until offset `due`; `next_due` is the offset of the following message (for
    /// `--drop-late`); `stop` is polled at least every 50 ms.
    pub fn wait(&mut self, due: u64, next_due: Option<u64>, stop: &dyn Fn() -> bool) -> Verdict {
        let target = self.anchor.saturating_add(due);
        loop {
            if stop() {
                return Verdict::Stop;
            }
            let now = self.clock.now();
            if now >= target {
                if self.drop_late && next_due.is_some_and(|n| now >= self.anchor.saturating_add(n))
                {
                    return Verdict::Drop;
                }
                return Verdict::Send {
                    late_ns: now - target,
                };
            }
            self.clock.sleep((target - now).min(SLICE_NS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A simulated clock whose sleeps overshoot by a fixed amount, as real sleeps do.
    struct Sim {
        t: Cell<u64>,
        overshoot: u64,
    }

    impl Clock for Sim {
        fn now(&self) -> u64 {
            self.t.get()
        }
        fn sleep(&self, ns: u64) {
            self.t.set(self.t.get() + ns + self.overshoot);
        }
    }

    fn ts(ms: &[u64]) -> Vec<Timestamp> {
        ms.iter()
            .map(|m| Timestamp::new(1_000 + (m / 1000) as i64, ((m % 1000) * 1_000_000) as u32))
            .collect()
    }

    #[test]
    fn offsets_follow_speed_rate_and_gap_cap() {
        let t = ts(&[0, 20, 40, 5040]);
        let p = Plan::new(&t, &Timing::default());
        assert_eq!(p.offsets, vec![0, 20_000_000, 40_000_000, 5_040_000_000]);
        let p = Plan::new(
            &t,
            &Timing {
                pace: Pace::Speed(0.5),
                max_gap: Some(Duration::from_millis(100)),
                ..Timing::default()
            },
        );
        assert_eq!(p.offsets, vec![0, 40_000_000, 80_000_000, 280_000_000]);
        let p = Plan::new(
            &t,
            &Timing {
                pace: Pace::Rate(50.0),
                ..Timing::default()
            },
        );
        assert_eq!(p.offsets, vec![0, 20_000_000, 40_000_000, 60_000_000]);
        assert_eq!(p.period, 80_000_000);
    }

    #[test]
    fn loops_continue_after_the_period() {
        let p = Plan::new(
            &ts(&[0, 10, 20]),
            &Timing {
                loops: 3,
                loop_delay: Duration::from_millis(5),
                ..Timing::default()
            },
        );
        // last 20 ms + typical gap 10 ms + delay 5 ms.
        assert_eq!(p.period, 35_000_000);
        assert_eq!(p.due(2, 1), 80_000_000);
        assert_eq!(p.steps().count(), 9);
        assert_eq!(p.next(2, 2), None);
        assert_eq!(p.next(0, 2), Some((1, 0)));
        let forever = Plan { loops: 0, ..p };
        assert_eq!(forever.next(1_000_000, 2), Some((1_000_001, 0)));
    }

    /// Runs `n` messages 20 ms apart; each send costs `work` ns and each sleep overshoots by
    /// 300 µs. Returns the lateness of every message.
    fn run(n: usize, work: u64) -> Vec<u64> {
        let times: Vec<u64> = (0..n as u64).map(|i| i * 20).collect();
        let plan = Plan::new(&ts(&times), &Timing::default());
        let clock = Sim {
            t: Cell::new(0),
            overshoot: 300_000,
        };
        let mut pacer = Pacer::new(clock, false);
        let mut late = Vec::new();
        for (k, i) in plan.steps() {
            match pacer.wait(plan.due(k, i), None, &|| false) {
                Verdict::Send { late_ns } => late.push(late_ns),
                v => panic!("{v:?}"),
            }
            pacer.clock.t.set(pacer.clock.t.get() + work);
        }
        late
    }

    #[test]
    fn lateness_does_not_grow_with_message_count() {
        // Accumulating sleeps would be late by n·(overshoot + work) at message n.
        let late = run(10_000, 200_000);
        let first = *late[1..100].iter().max().unwrap();
        let last = *late[9_900..].iter().max().unwrap();
        assert_eq!(first, last, "drift grew");
        assert!(last <= 300_000);
    }

    #[test]
    fn catches_up_or_drops_when_behind() {
        let plan = Plan::new(&ts(&[0, 1, 2, 3]), &Timing::default());
        let clock = Sim {
            t: Cell::new(0),
            overshoot: 0,
        };
        let mut p = Pacer::new(clock, true);
        p.clock.t.set(2_500_000); // 2.5 ms behind: messages 0 and 1 are superseded
        let v: Vec<Verdict> = (0..4)
            .map(|i| p.wait(plan.due(0, i), plan.offsets.get(i + 1).copied(), &|| false))
            .collect();
        assert_eq!(
            v,
            vec![
                Verdict::Drop,
                Verdict::Drop,
                Verdict::Send { late_ns: 500_000 },
                Verdict::Send { late_ns: 0 }
            ]
        );
    }
}
