//! The memory budget: which connection has been quiet the longest, so that the state of the
//! least recently active ones is given up first when the tracked bytes exceed the budget
//! (docs/REASSEMBLY.md, "Memory budget").
//!
//! Every packet stamps its connection with the value of a counter (`touch`). The queue holds,
//! per connection, one entry with the stamp it had when the entry was made; entries are never
//! updated in place. When the oldest entry comes up for eviction and its connection has been
//! stamped since, the entry is made again with the newer stamp and the next one is looked at:
//! the connection evicted is always the one whose last packet is the oldest (exact LRU), at an
//! amortised O(log n) per eviction and nothing per packet beyond the stamp.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A connection's entry: its stamp when queued, its id (stale entries of closed connections are
/// told apart by it), its key, and which table it is in.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry<K> {
    touch: u64,
    id: u64,
    key: K,
    udp: bool,
}

/// Least-recently-active queue over the TCP and UDP tables.
pub(super) struct Lru<K: Ord> {
    heap: BinaryHeap<Reverse<Entry<K>>>,
}

impl<K: Ord + Copy> Lru<K> {
    pub fn new() -> Self {
        Lru {
            heap: BinaryHeap::new(),
        }
    }

    pub fn push(&mut self, touch: u64, id: u64, key: K, udp: bool) {
        self.heap.push(Reverse(Entry {
            touch,
            id,
            key,
            udp,
        }));
    }

    /// The oldest entry, removed: (stamp, id, key, udp).
    pub fn pop(&mut self) -> Option<(u64, u64, K, bool)> {
        let Reverse(e) = self.heap.pop()?;
        Some((e.touch, e.id, e.key, e.udp))
    }

    /// Keeps the queue within twice the live entries (plus slack): when it has grown past
    /// that, drops every entry `live` rejects (connections closed since they were queued).
    pub fn compact(&mut self, live_count: usize, live: impl Fn(u64, &K, bool) -> bool) {
        if self.heap.len() <= 2 * live_count + 1024 {
            return;
        }
        let entries = std::mem::take(&mut self.heap).into_vec();
        self.heap = entries
            .into_iter()
            .filter(|Reverse(e)| live(e.id, &e.key, e.udp))
            .collect();
    }

    /// Bytes held by the queue.
    pub fn footprint(&self) -> usize {
        self.heap.capacity() * std::mem::size_of::<Entry<K>>()
    }

    pub fn clear(&mut self) {
        self.heap.clear();
    }
}

use super::{close_udp, Ctx, End, Key, Reassembler, Sink, TcpConn, Timestamp, Tomb, UdpFlow};

impl Reassembler {
    /// Bytes of connection state the reassembler holds: its tables by their buckets, the
    /// connections, queues, out-of-order data and retransmission history.
    pub fn footprint(&self) -> usize {
        use std::mem::size_of;
        // hashbrown keeps capacity at 7/8 of its buckets, each with one control byte; a boxed
        // connection also costs the allocator's header.
        let table = |cap: usize, entry: usize| cap * 8 / 7 * (entry + 1);
        table(self.tcp.capacity(), size_of::<(Key, Box<TcpConn>)>())
            + self.tcp.len() * (size_of::<TcpConn>() + 16)
            + table(self.udp.capacity(), size_of::<(Key, Box<UdpFlow>)>())
            + self.udp.len() * (size_of::<UdpFlow>() + 16)
            + table(self.tombs.capacity(), size_of::<(u64, Tomb)>())
            + self.closed.capacity() * size_of::<(Timestamp, u64, u64)>()
            + self.tcp_timers.footprint()
            + self.udp_timers.footprint()
            + self.lru.footprint()
            + self.ooo_total
            + self.hist_total
    }

    /// Closes the least recently active connections and flows until the state held is back
    /// under 7/8 of the budget (or nothing is left open). No tombstone is left: a later packet
    /// of an evicted connection starts a new one, picked up mid-stream.
    pub(super) fn evict<S: Sink>(&mut self, ctx: &Ctx<'_>, sink: &mut S) {
        let low = self.cfg.max_memory / 8 * 7;
        while self.footprint() + sink.held_bytes() > low && self.open_count() > 0 {
            let Some((touch, id, key, udp)) = self.lru.pop() else {
                break;
            };
            if udp {
                let Some(f) = self.udp.get(&key).filter(|f| f.info.id == id) else {
                    continue;
                };
                if f.touch != touch {
                    let t = f.touch;
                    self.lru.push(t, id, key, true);
                    continue;
                }
                if let Some(f) = self.udp.remove(&key) {
                    self.stats.evicted += 1;
                    close_udp(f, End::Evicted, ctx, sink);
                }
            } else {
                let Some(c) = self.tcp.get(&key).filter(|c| c.info.id == id) else {
                    continue;
                };
                if c.touch != touch {
                    let t = c.touch;
                    self.lru.push(t, id, key, false);
                    continue;
                }
                if let Some(conn) = self.tcp.remove(&key) {
                    self.stats.evicted += 1;
                    self.close_conn(key, conn, End::Evicted, ctx, sink);
                }
            }
        }
    }

    pub(super) fn queue_lru(&mut self, id: u64, key: Key, udp: bool) {
        self.lru.push(self.clock, id, key, udp);
        let (tcp, udp_t) = (&self.tcp, &self.udp);
        self.lru
            .compact(tcp.len() + udp_t.len(), |id, k, is_udp| match is_udp {
                true => udp_t.get(k).is_some_and(|f| f.info.id == id),
                false => tcp.get(k).is_some_and(|c| c.info.id == id),
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_oldest_stamp_first() {
        let mut q: Lru<u32> = Lru::new();
        q.push(5, 1, 10, false);
        q.push(2, 2, 20, true);
        q.push(9, 3, 30, false);
        assert_eq!(q.pop(), Some((2, 2, 20, true)));
        assert_eq!(q.pop(), Some((5, 1, 10, false)));
        assert_eq!(q.pop(), Some((9, 3, 30, false)));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn compaction_keeps_live_entries_only() {
        let mut q: Lru<u32> = Lru::new();
        for i in 0..3000u64 {
            q.push(i, i, i as u32, false);
        }
        // Only even ids still open: 1500 live, 3000 entries > 2 * 1500 + 1024 is false...
        q.compact(1500, |id, _, _| id % 2 == 0);
        assert_eq!(
            q.heap.len(),
            3000,
            "within twice the live entries plus slack"
        );
        // ...but with 900 live it is compacted.
        q.compact(900, |id, _, _| id < 900);
        assert_eq!(q.heap.len(), 900);
        assert_eq!(q.pop().map(|e| e.1), Some(0));
    }
}
