//! Per-stream SEL state. Placeholder: finds nothing yet.

use crate::protocols::{Found, Protocol, StreamState};

#[derive(Default)]
pub struct SelState {
    _private: (),
}

impl StreamState for SelState {
    fn protocol(&self) -> Protocol {
        Protocol::Sel
    }
    fn data(&mut self, _offset: u64, _bytes: &[u8], _emit: &mut dyn FnMut(Found<'_>)) {}
    fn gap(&mut self, _offset: u64, _len: u64, _emit: &mut dyn FnMut(Found<'_>)) {}
    fn end(&mut self, _emit: &mut dyn FnMut(Found<'_>)) {}
    fn confident(&self) -> bool {
        false
    }
}
