//! IPv4 and IPv6 fragment reassembly (RFC 791, RFC 8200 §4.5) with bounded memory: a cap on
//! datagrams in progress, on buffered bytes, and a timeout in capture time.
//! Overlapping fragments: the first copy of a byte wins (as for TCP data).

use super::{Addr, Vlans};
use crate::capture::Timestamp;
use rustc_hash::FxHashMap;

#[derive(Clone, Debug)]
pub struct DefragConfig {
    /// Datagrams in progress at once.
    pub max_datagrams: usize,
    /// Bytes buffered over all datagrams in progress.
    pub max_bytes: usize,
    /// Seconds (capture time) a datagram may wait for its missing fragments.
    pub timeout_secs: i64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 4096,
            max_bytes: 16 << 20,
            timeout_secs: 30,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct DefragStats {
    pub fragments: u64,
    pub reassembled: u64,
    /// Datagrams dropped incomplete after the timeout.
    pub timed_out: u64,
    /// Fragments dropped because a cap was reached or the datagram would exceed 65,535 bytes.
    pub dropped_cap: u64,
    /// Fragments cut by the snapshot length (unusable).
    pub dropped_truncated: u64,
    /// Fragments held for datagrams still incomplete at the end of the input.
    pub pending_at_end: u64,
}

impl DefragStats {
    /// Fragments that never became part of a delivered datagram, for whatever reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_cap + self.dropped_truncated + self.timed_out + self.pending_at_end
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragKey {
    pub src: Addr,
    pub dst: Addr,
    pub id: u32,
    pub proto: u8,
    pub v6: bool,
    pub vlan: Vlans,
}

struct Pending {
    first: Timestamp,
    data: Vec<u8>,
    /// Covered byte ranges, sorted and merged.
    have: Vec<(usize, usize)>,
    total: Option<usize>,
    /// Fragments accepted so far.
    frags: u64,
}

pub struct Defrag {
    cfg: DefragConfig,
    pending: FxHashMap<FragKey, Pending>,
    bytes: usize,
    last_sweep: i64,
    pub stats: DefragStats,
}

const MAX_DATAGRAM: usize = 65_535;

impl Defrag {
    pub fn new(cfg: DefragConfig) -> Self {
        Defrag {
            cfg,
            pending: FxHashMap::default(),
            bytes: 0,
            last_sweep: i64::MIN,
            stats: DefragStats::default(),
        }
    }

    /// Adds a fragment. Returns true when the datagram is complete; its payload is then in `out`.
    pub fn add(
        &mut self,
        key: FragKey,
        ts: Timestamp,
        offset: usize,
        more: bool,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> bool {
        self.stats.fragments += 1;
        self.expire(ts);
        let end = offset + data.len();
        if end > MAX_DATAGRAM {
            self.stats.dropped_cap += 1;
            return false;
        }
        if !self.pending.contains_key(&key)
            && (self.pending.len() >= self.cfg.max_datagrams
                || self.bytes + end > self.cfg.max_bytes)
        {
            self.stats.dropped_cap += 1;
            return false;
        }
        let p = self.pending.entry(key).or_insert_with(|| Pending {
            first: ts,
            data: Vec::new(),
            have: Vec::new(),
            total: None,
            frags: 0,
        });
        if p.data.len() < end {
            let grow = end - p.data.len();
            if self.bytes + grow > self.cfg.max_bytes {
                self.stats.dropped_cap += 1;
                return false;
            }
            self.bytes += grow;
            p.data.resize(end, 0);
        }
        // First copy wins: only write the parts not yet covered.
        let mut pos = offset;
        for &(s, e) in p.have.iter().chain(std::iter::once(&(end, end))) {
            if e <= pos {
                continue;
            }
            if s > pos {
                let upto = s.min(end);
                p.data[pos..upto].copy_from_slice(&data[pos - offset..upto - offset]);
            }
            pos = pos.max(e);
            if pos >= end {
                break;
            }
        }
        p.frags += 1;
        insert_range(&mut p.have, offset, end);
        if !more {
            p.total = Some(end);
        }
        let complete = matches!(p.total, Some(t) if p.have.len() == 1 && p.have[0] == (0, t));
        if complete {
            let mut p = self.pending.remove(&key).expect("present");
            self.bytes -= p.data.len();
            let t = p.total.unwrap_or(0);
            p.data.truncate(t);
            std::mem::swap(out, &mut p.data);
            self.stats.reassembled += 1;
        }
        complete
    }

    /// Drops datagrams that waited longer than the timeout; sweeps at most once a second.
    pub fn expire(&mut self, now: Timestamp) {
        if self.pending.is_empty() || now.sec == self.last_sweep {
            return;
        }
        self.last_sweep = now.sec;
        let timeout = self.cfg.timeout_secs;
        let mut freed = 0;
        let mut n = 0;
        self.pending.retain(|_, p| {
            let keep = now.secs_since(p.first) < timeout;
            if !keep {
                freed += p.data.len();
                n += 1;
            }
            keep
        });
        self.bytes -= freed;
        self.stats.timed_out += n;
    }
}

impl Defrag {
    /// End of the input: the fragments of datagrams still incomplete are dropped and counted
    /// (`pending_at_end`).
    pub fn finish(&mut self) {
        self.stats.pending_at_end += self.pending.values().map(|p| p.frags).sum::<u64>();
        self.pending.clear();
        self.bytes = 0;
    }
}

fn insert_range(v: &mut Vec<(usize, usize)>, s: usize, e: usize) {
    v.push((s, e));
    v.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(v.len());
    for &(a, b) in v.iter() {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    *v = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FragKey {
        FragKey {
            src: 1,
            dst: 2,
            id: 7,
            proto: 17,
            v6: false,
            vlan: [super::super::NO_VLAN; 2],
        }
    }

    #[test]
    fn reverse_order_and_overlap_first_wins() {
        let mut d = Defrag::new(DefragConfig::default());
        let mut out = Vec::new();
        let ts = Timestamp::new(10, 0);
        assert!(!d.add(key(), ts, 8, false, b"IJKLMNOP", &mut out));
        // overlapping copy with different bytes: the first copy (already held) wins
        assert!(!d.add(key(), ts, 4, true, b"xxxxzzzz", &mut out));
        assert!(d.add(key(), ts, 0, true, b"ABCDEFGH", &mut out));
        assert_eq!(out, b"ABCDxxxxIJKLMNOP");
        assert_eq!(d.bytes, 0);
    }

    #[test]
    fn timeout_and_caps() {
        let cfg = DefragConfig {
            max_datagrams: 1,
            max_bytes: 100,
            timeout_secs: 5,
        };
        let mut d = Defrag::new(cfg);
        let mut out = Vec::new();
        assert!(!d.add(key(), Timestamp::new(1, 0), 0, true, &[0; 16], &mut out));
        let mut k2 = key();
        k2.id = 8;
        assert!(!d.add(k2, Timestamp::new(2, 0), 0, true, &[0; 16], &mut out));
        assert_eq!(d.stats.dropped_cap, 1);
        d.expire(Timestamp::new(7, 0));
        assert_eq!(d.stats.timed_out, 1);
        assert_eq!(d.bytes, 0);
        assert!(!d.add(k2, Timestamp::new(8, 0), 0, true, &[0; 200], &mut out));
        assert_eq!(d.stats.dropped_cap, 2);
    }

    #[test]
    fn fragments_pending_at_the_end_are_counted() {
        let mut d = Defrag::new(DefragConfig::default());
        let mut out = Vec::new();
        let ts = Timestamp::new(1, 0);
        assert!(!d.add(key(), ts, 0, true, &[0; 16], &mut out));
        assert!(!d.add(key(), ts, 32, true, &[0; 16], &mut out));
        let mut k2 = key();
        k2.id = 8;
        assert!(!d.add(k2, ts, 8, false, &[0; 8], &mut out));
        d.finish();
        assert_eq!(d.stats.pending_at_end, 3);
        assert_eq!(d.stats.dropped(), 3);
        assert_eq!(d.bytes, 0);
    }
}
