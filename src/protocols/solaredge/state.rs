//! Per-stream SolarEdge state: the shared length-driven splitter over [`super::frame`]. After a
//! bad length or CRC it skips past the magic and rescans for the next one (solaredge.md §6,
//! se-logger's strategy). Detection rule: two valid frames back to back, or a datagram/stream
//! made only of valid frames.

use super::frame::SeFraming;
use crate::protocols::splitter::Splitter;

pub type SeState = Splitter<SeFraming>;

pub fn new_state() -> SeState {
    SeState::default()
}
