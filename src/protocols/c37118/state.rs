//! Per-stream C37.118 state: the shared length-driven splitter over [`super::frame`]. Resync
//! after garbage, a gap or a bad CRC scans for the next SYNC byte 0xAA (c37118.md §6).
//! Detection rule: two valid frames back to back, or a datagram/stream made only of valid frames.

use super::frame::C37Framing;
use crate::protocols::splitter::Splitter;

pub type C37State = Splitter<C37Framing>;

pub fn new_state() -> C37State {
    C37State::default()
}
