//! SolarEdge frames built for the tests from solaredge.md §1–2, independently of the crate
//! (bitwise CRC), and the real frames of tests/data/solaredge/verified-messages.hex.

use std::path::PathBuf;

pub const MAGIC: [u8; 4] = [0x12, 0x34, 0x56, 0x79];

/// CRC-16, poly 0x8005 reflected (0xA001), init 0x5A5A, bit by bit.
pub fn se_crc(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0x5a5a;
    for &b in bytes {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xa001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// The CRC of a frame: seq, from, to, function re-packed big-endian, then the payload.
pub fn se_fields_crc(seq: u16, from: u32, to: u32, function: u16, payload: &[u8]) -> u16 {
    let mut v = Vec::with_capacity(12 + payload.len());
    v.extend(seq.to_be_bytes());
    v.extend(from.to_be_bytes());
    v.extend(to.to_be_bytes());
    v.extend(function.to_be_bytes());
    v.extend_from_slice(payload);
    se_crc(&v)
}

pub fn se_frame(seq: u16, from: u32, to: u32, function: u16, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len()).expect("payload fits");
    let mut f = MAGIC.to_vec();
    f.extend(len.to_le_bytes());
    f.extend((!len).to_le_bytes());
    f.extend(seq.to_le_bytes());
    f.extend(from.to_le_bytes());
    f.extend(to.to_le_bytes());
    f.extend(function.to_le_bytes());
    f.extend_from_slice(payload);
    f.extend(se_fields_crc(seq, from, to, function, payload).to_le_bytes());
    f
}

pub fn solaredge_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/solaredge")
        .join(name)
}

/// The ten real 22-byte frames (one hex frame per line).
pub fn verified_frames() -> Vec<Vec<u8>> {
    std::fs::read_to_string(solaredge_data("verified-messages.hex"))
        .expect("fixture")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.split_whitespace()
                .map(|t| u8::from_str_radix(t, 16).expect("hex"))
                .collect()
        })
        .collect()
}
