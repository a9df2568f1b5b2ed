//! MT-5 command codes (pi30_tracer.md §8): 0xA0 read realtime data, 0xAA manual control (load
//! switch). Unknown codes are kept and printed as `unknown-0x41`.

use std::fmt;

/// A command byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cmd(pub u8);

impl Cmd {
    pub const REALTIME: Cmd = Cmd(0xA0);
    pub const MANUAL: Cmd = Cmd(0xAA);

    /// The command's name, when known.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Cmd::REALTIME => Some("realtime"),
            Cmd::MANUAL => Some("manual-control"),
            _ => None,
        }
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "unknown-0x{:02x}", self.0),
        }
    }
}

/// Length of the realtime data block of a 0xA0 reply (pi30_tracer.md §8).
pub const REALTIME_LEN: usize = 24;
