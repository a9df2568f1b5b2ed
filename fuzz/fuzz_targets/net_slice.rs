//! First 4 bytes choose a supported link type, the rest is one captured packet → `Slicer::slice`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sekit::capture::{Packet, Timestamp};
use sekit::net::Slicer;

/// Link types `sekit::net::strip_link` understands.
const LINKTYPES: [u32; 10] = [1, 0, 108, 101, 12, 14, 228, 229, 113, 276];

fuzz_target!(|data: &[u8]| {
    let Some((head, packet)) = data.split_first_chunk::<4>() else {
        return;
    };
    let linktype = LINKTYPES[u32::from_le_bytes(*head) as usize % LINKTYPES.len()];
    let pkt = Packet {
        ts: Timestamp::new(1_700_000_000, 0),
        linktype,
        data: packet,
        orig_len: packet.len() as u32,
        file: "fuzz-input",
        index: 1,
    };
    let mut slicer = Slicer::default();
    if let Ok(seg) = slicer.slice(&pkt) {
        assert!(
            seg.payload.len() <= packet.len(),
            "payload longer than the packet"
        );
    }
});
