//! C37.118 replay (IEEE C37.118.2-2011 §6; c37118.md §1–2): the PMU side served as pypmu's
//! `Pmu` does (replay spec §1): data off until a "turn on" command (CMD 2), off again with
//! CMD 1, HDR / CFG-1 / CFG-2 / CFG-3 sent as captured on CMD 3–6; SOC and FRACSEC rewritten
//! with the conversation's TIME_BASE; IDCODE set in the common header.

use super::serve::{Framer, Session, SessionCtx, Stream};
use super::source::{Conversation, Msg};
use super::{wanted, FrameClock, Replayer};
use crate::protocols::c37118::codes::{CmdCode, FrameType};
use crate::protocols::c37118::frame::{build, parse_frame, Header};
use crate::protocols::c37118::PROTOCOL;
use crate::protocols::{Parsed, Protocol};
use crate::reassembly::Dir;
use crate::util::bytes::{be_u16, be_u32};

const NS: i128 = 1_000_000_000;

pub struct C37118;

/// SOC and FRACSEC of the common header (c37118.md §2): time = SOC + count / TIME_BASE.
struct Clock {
    /// TIME_BASE of the conversation's configuration; without one, only SOC moves.
    time_base: Option<u32>,
}

impl FrameClock for Clock {
    fn get(&self, f: &[u8]) -> Option<i128> {
        if f.len() < 16 {
            return None;
        }
        let soc = i128::from(be_u32(f, 6)?);
        let count = i128::from(be_u32(f, 10)? & 0x00ff_ffff);
        let frac = self.time_base.map_or(0, |tb| count * NS / i128::from(tb));
        Some(soc * NS + frac)
    }

    fn set(&self, f: &mut [u8], ns: i128) -> bool {
        if f.len() < 16 {
            return false;
        }
        let (mut soc, frac) = (ns.div_euclid(NS), ns.rem_euclid(NS));
        let Some(fracsec) = be_u32(f, 10) else {
            return false;
        };
        let mut word = fracsec;
        if let Some(tb) = self.time_base.map(i128::from) {
            let mut count = (frac * tb + NS / 2) / NS;
            if count >= tb {
                soc += 1;
                count -= tb;
            }
            word = (fracsec & 0xff00_0000) | (count as u32 & 0x00ff_ffff);
        }
        let Ok(soc) = u32::try_from(soc) else {
            return false;
        };
        f[6..10].copy_from_slice(&soc.to_be_bytes());
        f[10..14].copy_from_slice(&word.to_be_bytes());
        true
    }
}

fn frame_type(f: &[u8]) -> Option<FrameType> {
    f.get(1).map(|b| FrameType((b >> 4) & 7))
}

/// TIME_BASE of a configuration frame (CFG-1/2 at byte 14, CFG-3 after CONT_IDX at 16).
fn time_base(f: &[u8]) -> Option<u32> {
    let at = match frame_type(f)? {
        FrameType::CFG1 | FrameType::CFG2 => 14,
        FrameType::CFG3 => 16,
        _ => return None,
    };
    Some(be_u32(f, at)? & 0x00ff_ffff).filter(|tb| *tb > 0)
}

impl Replayer for C37118 {
    fn protocol(&self) -> Protocol {
        PROTOCOL
    }

    /// A command frame also answers to its command's name (`turn_on_data`, `send_cfg2`…).
    fn names(&self, m: &Msg) -> Vec<&'static str> {
        match (frame_type(&m.bytes), be_u16(&m.bytes, 14)) {
            (Some(FrameType::COMMAND), Some(cmd)) => vec![CmdCode(cmd).name()],
            _ => Vec::new(),
        }
    }

    fn clock(&self, conv: &Conversation) -> Option<Box<dyn FrameClock>> {
        let cfg = |t: FrameType| {
            conv.msgs
                .iter()
                .filter(|m| frame_type(&m.bytes) == Some(t))
                .find_map(|m| time_base(&m.bytes))
        };
        let time_base = cfg(FrameType::CFG2)
            .or_else(|| cfg(FrameType::CFG1))
            .or_else(|| cfg(FrameType::CFG3));
        Some(Box::new(Clock { time_base }))
    }

    fn set_id(&self, f: &mut [u8], id: u32) -> bool {
        match (u16::try_from(id), f.get_mut(4..6)) {
            (Ok(id), Some(b)) => {
                b.copy_from_slice(&id.to_be_bytes());
                true
            }
            _ => false,
        }
    }

    fn device(&self, conv: &Conversation) -> Dir {
        device_of(conv)
    }

    fn config_frame(&self, conv: &Conversation) -> Option<Vec<u8>> {
        let m = conv.msgs.iter().find(|m| m.kind == "cfg2")?;
        Some(m.bytes.clone())
    }

    fn session(&self, ctx: SessionCtx) -> Box<dyn Session> {
        Box::new(PmuSession::new(ctx))
    }
}

/// One PDC's view of the replayed PMU.
struct PmuSession {
    framer: Framer,
    /// HDR, CFG-1, CFG-2, CFG-3 as sent on request (rewritten).
    replies: [Option<Vec<u8>>; 4],
    stream: Stream,
}

impl PmuSession {
    fn new(ctx: SessionCtx) -> PmuSession {
        let conv = &ctx.conv;
        let dev = ctx.replayer.device(conv);
        let device: Vec<&Msg> = conv.side(dev).collect();
        let rw = ctx.rewriter(&device);
        let first = |k: &str| conv.first(dev, k).map(|m| m.bytes.clone());
        let cfg2 = first("cfg2");
        // CFG-1 has CFG-2's layout (c37118.md §3): a capture without one answers with CFG-2
        // retyped; a missing header frame is a short text saying so.
        let cfg1 = first("cfg1").or_else(|| {
            let mut f = cfg2.clone()?;
            f[1] = (f[1] & 0x8f) | 0x20;
            Some(f)
        });
        let hdr = first("hdr").or_else(|| {
            let (idcode, version) = cfg2
                .as_deref()
                .map_or((1, 1), |c| (be_u16(c, 4).unwrap_or(1), c[1] & 0x0f));
            let soc = cfg2.as_deref().and_then(|c| be_u32(c, 6)).unwrap_or(0);
            let h = Header::new(FrameType::HEADER, version, idcode, soc, 0, 0);
            build(&h, b"sereplay: the capture has no header frame")
        });
        let replies = [hdr, cfg1, cfg2, first("cfg3")].map(|f| f.map(|f| rw.apply(&f, 0)));
        let data: Vec<&Msg> = device
            .iter()
            .copied()
            .filter(|m| m.kind == "data" && wanted(ctx.replayer, m, &ctx.only))
            .collect();
        let stream = Stream::new(&data, &ctx.timing, ctx.rewriter(&data));
        PmuSession {
            framer: Framer::checked(PROTOCOL, |b| matches!(parse_frame(b), Parsed::Bad(_))),
            replies,
            stream,
        }
    }
}

impl Session for PmuSession {
    fn input(&mut self, bytes: &[u8], out: &mut Vec<Vec<u8>>) -> Result<u64, String> {
        let frames = self.framer.feed(bytes)?;
        for (_, f) in &frames {
            if frame_type(f) != Some(FrameType::COMMAND) {
                continue;
            }
            match be_u16(f, 14).unwrap_or(0) {
                1 => self.stream.turn_off(),
                2 => self.stream.turn_on(),
                c @ 3..=6 => out.extend(self.replies[usize::from(c - 3)].clone()),
                _ => {}
            }
        }
        Ok(frames.len() as u64)
    }

    fn stream(&mut self) -> Option<&mut Stream> {
        Some(&mut self.stream)
    }
}

/// The device side of a C37.118 conversation: the PMU (the server of a TCP connection, the
/// sender of the data of a UDP flow).
pub fn device_of(conv: &Conversation) -> Dir {
    let data = |d: Dir| conv.side(d).filter(|m| m.kind == "data").count();
    if data(Dir::C2S) > data(Dir::S2C) {
        Dir::C2S
    } else {
        Dir::S2C
    }
}
