//! SEL relay protocols on TCP (spec: sel.md of the shared references): binary Fast Meter /
//! Fast Operate / Fast Message messages and the SEL ASCII command side, usually inside Telnet.
//!
//! - [`frame`]: one binary message at the start of a buffer (sel.md §1, §2), bare 2-byte
//!   requests, the compressed-ASCII line checksum (§3.2);
//! - [`state`]: per direction, Telnet removal (§4), the scanner that splits binary messages
//!   from ASCII lines and prompts (§3, §4 "slipstreaming"), resync and anomalies, and the
//!   detection rule. Frame offsets are raw stream offsets (before Telnet removal); frame bytes
//!   are the decoded bytes.

pub mod frame;
pub mod state;

use super::{Descriptor, Protocol};

pub static DESCRIPTOR: Descriptor = Descriptor {
    name: "sel",
    title: "SEL relay (Fast Meter, Fast Operate, Fast Message, ASCII)",
    new_state: || Box::new(state::SelState::default()),
    new_decoder: None,
    fix_checksum: None,
};

pub const PROTOCOL: Protocol = Protocol(&DESCRIPTOR);
