//! When to look at a connection again: an ordered queue of (due time, connection) so that idle
//! expiry costs nothing per packet and, per sweep, only the connections actually due.
//!
//! Entries are never updated in place. A connection remembers the due time of its one live
//! entry (`sched`); a packet that makes it due earlier (capture time going backwards) adds a
//! new entry and the old one becomes stale; a packet that makes it due later changes nothing:
//! when its entry comes up, the owner looks at the connection, acts if it is really due and
//! schedules it again otherwise. Stale entries (closed connections, superseded times) are
//! dropped when they come up, or all at once when they outnumber the live ones.

use crate::capture::Timestamp;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// The earliest time at which `secs_since(last) >= secs` holds: `now >= due(last, secs)` is
/// exactly that test (for `secs > 0`; otherwise it always holds).
pub(super) fn due(last: Timestamp, secs: i64) -> Timestamp {
    if secs <= 0 {
        return Timestamp::new(i64::MIN, 0);
    }
    Timestamp::new(last.sec.saturating_add(secs), last.nsec)
}

/// No entry in an expiry queue yet.
pub(super) const UNSCHEDULED: Timestamp = Timestamp {
    sec: i64::MAX,
    nsec: 0,
};

/// Lowers `sched` to `due`; true when it did (a new queue entry is needed).
pub(super) fn earlier(sched: &mut Timestamp, due: Timestamp) -> bool {
    let lower = due < *sched;
    if lower {
        *sched = due;
    }
    lower
}

struct Entry<K> {
    due: Timestamp,
    id: u64,
    key: K,
}

impl<K> PartialEq for Entry<K> {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.id) == (other.due, other.id)
    }
}
impl<K> Eq for Entry<K> {}
impl<K> PartialOrd for Entry<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Entry<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.id).cmp(&(other.due, other.id))
    }
}

/// Min-queue of (due, connection id, key).
pub(super) struct Timers<K> {
    heap: BinaryHeap<Reverse<Entry<K>>>,
}

impl<K> Timers<K> {
    pub fn new() -> Self {
        Timers {
            heap: BinaryHeap::new(),
        }
    }

    pub fn schedule(&mut self, due: Timestamp, id: u64, key: K) {
        self.heap.push(Reverse(Entry { due, id, key }));
    }

    /// The earliest entry if it is due at `now`, removed: (due, id, key).
    pub fn pop_due(&mut self, now: Timestamp) -> Option<(Timestamp, u64, K)> {
        if self.heap.peek()?.0.due > now {
            return None;
        }
        let Reverse(e) = self.heap.pop()?;
        Some((e.due, e.id, e.key))
    }

    /// Bytes held by the queue.
    pub fn footprint(&self) -> usize {
        self.heap.capacity() * std::mem::size_of::<Entry<K>>()
    }

    /// Keeps the queue within twice the live entries (plus slack): when it has grown past
    /// that, drops every entry `live` rejects. Amortised O(1) per scheduled entry.
    pub fn compact(&mut self, live_count: usize, live: impl Fn(Timestamp, u64, &K) -> bool) {
        if self.heap.len() <= 2 * live_count + 1024 {
            return;
        }
        let entries = std::mem::take(&mut self.heap).into_vec();
        self.heap = entries
            .into_iter()
            .filter(|Reverse(e)| live(e.due, e.id, &e.key))
            .collect();
    }

    pub fn clear(&mut self) {
        self.heap.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_matches_secs_since() {
        let ts = |s, n| Timestamp::new(s, n);
        for last in [ts(100, 0), ts(100, 500), ts(100, 999_999_999)] {
            for secs in [1, 2, 300] {
                let d = due(last, secs);
                for now in [
                    ts(99, 0),
                    ts(100 + secs - 1, 999_999_999),
                    ts(100 + secs, 0),
                    ts(100 + secs, 499),
                    ts(100 + secs, 500),
                    ts(100 + secs, 999_999_999),
                    ts(101 + secs, 0),
                ] {
                    assert_eq!(
                        now >= d,
                        now.secs_since(last) >= secs,
                        "{last:?} {secs} {now:?}"
                    );
                }
            }
        }
        assert!(ts(0, 0) >= due(ts(5, 0), 0));
    }

    #[test]
    fn pops_in_time_order_only_when_due() {
        let mut t = Timers::new();
        t.schedule(Timestamp::new(5, 0), 1, 'a');
        t.schedule(Timestamp::new(3, 0), 2, 'b');
        t.schedule(Timestamp::new(3, 0), 1, 'c');
        assert!(t.pop_due(Timestamp::new(2, 0)).is_none());
        let now = Timestamp::new(4, 0);
        assert_eq!(t.pop_due(now).map(|e| e.2), Some('c'));
        assert_eq!(t.pop_due(now).map(|e| e.2), Some('b'));
        assert!(t.pop_due(now).is_none());
    }
}
