//! The stateful part of C37.118 decoding: configurations kept **per IDCODE across the whole
//! input** (not per flow: commands and configuration on TCP, data on UDP decode, c37118.md
//! §5) and CFG-3 continuation assembly (c37118.md §3). Each frame becomes a
//! [`Decoded`] record through the pure functions of [`super::decode`].
//!
//! # Which configuration decodes a data frame (c37118.md §4, §5)
//! Per IDCODE the session keeps the newest CFG-2 **or** CFG-3 with a good CHK ("current"),
//! and separately the newest CFG-1. A data frame is decoded with the current configuration;
//! the CFG-1 is used only while no CFG-2/CFG-3 has been seen for that IDCODE. Why: CFG-1 says
//! what a PMU *can* send and CFG-2/3 what it *is* sending [STD 6.4], so CFG-1 is only a
//! fallback (Zeek uses it, Wireshark never does). The fallback cannot misparse silently:
//! every data frame must satisfy FRAMESIZE − 16 = the size the configuration implies,
//! otherwise it is emitted with `decoded: false`, an anomaly and its raw payload, and no other
//! configuration is tried (never guessed). A new configuration applies from the next frame on.

use super::codes::FrameType;
use super::decode::{self, Body, CfgRef, Config, Decoded, Framed};
use crate::util::bytes::{be_u16, Truncated};
use std::collections::HashMap;
use std::sync::Arc;

/// Upper bound on the CFG-3 continuation bytes held (all fragments of all IDCODEs being
/// assembled). The standard sets none (up to 65 534 fragments of 64 KiB); 16 MiB holds 256
/// maximal fragments. Every other allocation is bounded by the frame being decoded.
pub const MAX_CFG3_ASSEMBLED: usize = 16 << 20;

#[derive(Clone, Debug)]
struct Stored {
    kind: &'static str,
    index: u64,
    config: Arc<Config>,
}

impl Stored {
    fn cited(&self) -> CfgRef<'_> {
        CfgRef {
            kind: self.kind,
            index: self.index,
            config: &self.config,
        }
    }
}

#[derive(Debug, Default)]
struct Pending {
    /// First fragment's CONT_IDX, then every fragment's bytes after CONT_IDX.
    buf: Vec<u8>,
    next: u16,
    count: u32,
}

impl Pending {
    fn held(&self) -> (u32, usize) {
        (self.count, self.buf.len())
    }

    fn dropped(&self, why: &str) -> String {
        format!(
            "CFG-3 continuation dropped ({} fragments, {} bytes): {why}",
            self.count,
            self.buf.len()
        )
    }
}

/// Where a fragment left its IDCODE's assembly.
enum Assembly {
    /// The last fragment arrived: everything joined.
    Whole(Pending),
    /// Fragments and bytes held after this fragment (None when nothing is).
    Held(Option<(u32, usize)>),
}

#[derive(Debug, Default)]
struct PerId {
    /// Newest CFG-2 or CFG-3.
    current: Option<Stored>,
    /// Newest CFG-1 (fallback only).
    cfg1: Option<Stored>,
    pending: Option<Pending>,
}

/// Decodes frames in input order, keeping configuration per IDCODE across every flow (see the
/// module documentation for the rules).
#[derive(Debug, Default)]
pub struct Session {
    ids: HashMap<u16, PerId>,
    count: u64,
}

impl Session {
    pub fn new() -> Self {
        Self::default()
    }

    fn in_force(&self, idcode: u16) -> Option<&Stored> {
        let id = self.ids.get(&idcode)?;
        id.current.as_ref().or(id.cfg1.as_ref())
    }

    /// The configuration that would decode the next data frame of `idcode`, with its kind.
    pub fn config(&self, idcode: u16) -> Option<(&'static str, &Config)> {
        self.in_force(idcode).map(|s| (s.kind, &*s.config))
    }

    fn time_base(&self, idcode: u16) -> Option<u32> {
        self.in_force(idcode).map(|s| s.config.time_base)
    }

    /// Decodes one complete frame (as found by the splitter; any bytes are accepted). Never
    /// panics; whatever cannot be decoded is reported in `anomalies` and kept as raw bytes.
    pub fn decode(&mut self, input: &[u8]) -> Decoded {
        let index = self.count;
        self.count += 1;
        let Some(mut fr) = decode::open(input) else {
            return decode::malformed(input);
        };
        let idcode = fr.header.idcode;
        if let Some(body) = fr.raw_body() {
            let tb = match fr.header.frame_type() {
                FrameType::DATA => self.time_base(idcode),
                _ => None,
            };
            return fr.finish(body, tb);
        }
        let payload = fr.payload;
        let (body, tb) = match fr.header.frame_type() {
            FrameType::DATA => {
                let cfg = self.in_force(idcode).map(Stored::cited);
                let body = decode::data_body(idcode, payload, cfg, &mut fr.anomalies);
                (body, self.time_base(idcode))
            }
            // Header and command frames carry no TIME_BASE and are not bound to a
            // configuration: their device time is never taken from one (docs/FORMAT.md v2).
            FrameType::HEADER => (decode::header_body(payload), None),
            FrameType::COMMAND => (decode::command_body(payload, &mut fr.anomalies), None),
            FrameType::CFG1 | FrameType::CFG2 => {
                let parsed = decode::parse_config12(payload);
                self.config_body(&mut fr, index, parsed, payload)
            }
            // CFG-3: the reserved types 6 and 7 got a raw body above.
            _ => self.cfg3(&mut fr, index),
        };
        fr.finish(body, tb)
    }

    /// A configuration frame's body and time base; the configuration is stored when its CHK
    /// is good.
    fn config_body(
        &mut self,
        fr: &mut Framed<'_>,
        index: u64,
        parsed: Result<(Config, usize), Truncated>,
        payload: &[u8],
    ) -> (Body, Option<u32>) {
        let chk_ok = fr.chk_ok();
        let body = decode::config_body(parsed, payload, chk_ok, &mut fr.anomalies);
        let Body::Config(cfg) = &body else {
            return (body, None);
        };
        let tb = Some(cfg.time_base);
        if chk_ok {
            let ft = fr.header.frame_type();
            let stored = Some(Stored {
                kind: ft.name(),
                index,
                config: Arc::new(cfg.clone()),
            });
            let id = self.ids.entry(fr.header.idcode).or_default();
            if ft == FrameType::CFG1 {
                id.cfg1 = stored;
            } else {
                id.current = stored;
            }
        }
        (body, tb)
    }

    /// CFG-3 with continuation (c37118.md §3): fragments 1, 2, … 0xFFFE, 0xFFFF are joined the
    /// openPDC way (first CONT_IDX, then every fragment's bytes after its CONT_IDX; every CHK
    /// must be good) and parsed on 0xFFFF; CONT_IDX 0 is a whole frame.
    fn cfg3(&mut self, fr: &mut Framed<'_>, index: u64) -> (Body, Option<u32>) {
        let payload = fr.payload;
        let Some(cont) = be_u16(payload, 0) else {
            fr.anomalies
                .push("configuration not used: no CONT_IDX".into());
            return (Body::raw(payload), None);
        };
        if cont == 0 {
            if let Some(p) = self
                .ids
                .get_mut(&fr.header.idcode)
                .and_then(|i| i.pending.take())
            {
                fr.anomalies.push(p.dropped("unsplit CFG-3 arrived"));
            }
            let parsed = decode::parse_config3(payload);
            return self.config_body(fr, index, parsed, payload);
        }
        match self.assemble(fr, cont) {
            Assembly::Whole(whole) => {
                let parsed = decode::parse_config3(&whole.buf).map(|(mut c, t)| {
                    c.cont_idx = Some(cont);
                    c.fragments = Some(whole.count);
                    (c, t)
                });
                self.config_body(fr, index, parsed, &whole.buf)
            }
            Assembly::Held(held) => (decode::fragment_body(cont, held), None),
        }
    }

    /// Adds a fragment (CONT_IDX ≠ 0) to its IDCODE's assembly.
    fn assemble(&mut self, fr: &mut Framed<'_>, cont: u16) -> Assembly {
        let chk_ok = fr.chk_ok();
        let anomalies = &mut fr.anomalies;
        // Bytes held for all IDCODEs (the cap of MAX_CFG3_ASSEMBLED holds for them together).
        let held: usize = self
            .ids
            .values()
            .filter_map(|i| i.pending.as_ref())
            .map(|q| q.buf.len())
            .sum();
        let payload = fr.payload;
        let id = self.ids.entry(fr.header.idcode).or_default();
        if !chk_ok {
            match id.pending.take() {
                Some(p) => anomalies.push(p.dropped("fragment with bad CHK")),
                None => anomalies.push("CFG-3 fragment with bad CHK ignored".into()),
            }
            return Assembly::Held(None);
        }
        if cont == 1 {
            if let Some(p) = id.pending.take() {
                anomalies.push(p.dropped("new first fragment"));
            }
            if held + payload.len() > MAX_CFG3_ASSEMBLED {
                anomalies.push(format!(
                    "CFG-3 fragment ignored: more than {MAX_CFG3_ASSEMBLED} bytes held"
                ));
                return Assembly::Held(None);
            }
            let p = id.pending.insert(Pending {
                buf: payload.to_vec(),
                next: 2,
                count: 1,
            });
            return Assembly::Held(Some(p.held()));
        }
        let Some(mut p) = id.pending.take() else {
            anomalies.push(format!(
                "CFG-3 fragment CONT_IDX {cont} without a first fragment"
            ));
            return Assembly::Held(None);
        };
        if cont != 0xffff && cont != p.next {
            anomalies.push(p.dropped(&format!("CONT_IDX {cont} where {} was expected", p.next)));
            return Assembly::Held(None);
        }
        let body = payload.get(2..).unwrap_or(&[]);
        if held + body.len() > MAX_CFG3_ASSEMBLED {
            anomalies.push(p.dropped(&format!("more than {MAX_CFG3_ASSEMBLED} bytes")));
            return Assembly::Held(None);
        }
        p.buf.extend_from_slice(body);
        p.count += 1;
        if cont == 0xffff {
            return Assembly::Whole(p);
        }
        p.next = p.next.wrapping_add(1);
        Assembly::Held(Some(id.pending.insert(p).held()))
    }
}

#[cfg(test)]
mod tests;
