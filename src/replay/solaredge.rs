//! SolarEdge replay (solaredge.md §1, §4): the inverter side of a session. The inverter dials
//! out to its monitoring server, so the device is the client of the capture: `serve` greets a
//! connecting server with what the inverter sent first and answers each server message with
//! what followed the same function in the capture; `push` connects out as the inverter.
//! `--rewrite-time` moves the timestamp of every device record of plain 0x0500 telemetry
//! (each record body starts with u32 LE UNIX seconds, §4); the frame CRC is then recomputed.

use super::serve::{Session, SessionCtx};
use super::source::Conversation;
use super::table::TableSession;
use super::{FrameClock, Replayer};
use crate::protocols::solaredge::frame::HEADER;
use crate::protocols::solaredge::telemetry::{records, RECORD_HEADER};
use crate::protocols::solaredge::PROTOCOL;
use crate::protocols::Protocol;
use crate::reassembly::Dir;
use crate::util::bytes::{le_u16, le_u32};

pub struct SolarEdge;

const NS: i128 = 1_000_000_000;
const TELEMETRY: u16 = 0x0500;

/// The payload of a plain 0x0500 frame, and where it starts.
fn telemetry(f: &[u8]) -> Option<(usize, &[u8])> {
    let len = usize::from(le_u16(f, 4)?);
    (le_u16(f, 18)? == TELEMETRY).then_some(())?;
    Some((HEADER, f.get(HEADER..HEADER + len)?))
}

/// Offsets (in the frame) of every record timestamp of a 0x0500 frame.
fn stamps(f: &[u8]) -> Vec<usize> {
    let Some((at, payload)) = telemetry(f) else {
        return Vec::new();
    };
    records(payload)
        .filter(|r| r.body.len() >= 4)
        .map(|r| at + r.offset + RECORD_HEADER)
        .collect()
}

struct Clock;

impl FrameClock for Clock {
    fn get(&self, f: &[u8]) -> Option<i128> {
        let first = *stamps(f).first()?;
        Some(i128::from(le_u32(f, first)?) * NS)
    }

    fn set(&self, f: &mut [u8], ns: i128) -> bool {
        let Some(old) = self.get(f) else {
            return false;
        };
        let delta = (ns - old).div_euclid(NS);
        let mut changed = false;
        for at in stamps(f) {
            let Some(t) = le_u32(f, at) else { continue };
            if let Ok(t) = u32::try_from(i128::from(t) + delta) {
                f[at..at + 4].copy_from_slice(&t.to_le_bytes());
                changed = true;
            }
        }
        changed
    }
}

/// Server messages by function code and payload, loosely by function code.
fn key(_kind: &str, bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let function = bytes.get(18..20).unwrap_or_default().to_vec();
    let payload = bytes
        .get(HEADER..bytes.len().saturating_sub(2))
        .unwrap_or_default();
    ([function.as_slice(), payload].concat(), function)
}

impl Replayer for SolarEdge {
    fn protocol(&self) -> Protocol {
        PROTOCOL
    }

    fn clock(&self, _conv: &Conversation) -> Option<Box<dyn FrameClock>> {
        Some(Box::new(Clock))
    }

    fn device(&self, _conv: &Conversation) -> Dir {
        Dir::C2S
    }

    fn session(&self, ctx: SessionCtx) -> Box<dyn Session> {
        let dev = self.device(&ctx.conv);
        Box::new(TableSession::new(&ctx, dev, key, |_, _| None))
    }
}
