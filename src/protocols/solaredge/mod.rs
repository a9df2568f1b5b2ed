//! SolarEdge inverter ↔ server frames (spec: solaredge.md of the shared references).

pub mod codes;
pub mod crypto;
pub mod decode;
pub mod frame;
pub mod session;
pub mod state;
pub mod telemetry;
pub mod value;

use super::{DecodeConfig, Decoder, Descriptor, Envelope, Message, Protocol};
use std::io::{self, Write};

pub static DESCRIPTOR: Descriptor = Descriptor {
    name: "solaredge",
    title: "SolarEdge inverter/server",
    new_state: || Box::new(state::SeState::default()),
    new_decoder: Some(new_decoder),
    fix_checksum: Some(frame::fix_checksum),
};

pub const PROTOCOL: Protocol = Protocol(&DESCRIPTOR);

/// A key given as a file (32 hex characters as sekey.py writes them, or 16 raw bytes) or as
/// the 32 hex characters themselves.
pub fn read_key(arg: &str) -> Result<crypto::Key, String> {
    let is_hex = arg.len() == 32 && arg.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex && !std::path::Path::new(arg).exists() {
        return crypto::parse_key(arg.as_bytes()).map_err(|e| format!("--key: {e}"));
    }
    let bytes = std::fs::read(arg).map_err(|e| format!("--key {arg}: {e}"))?;
    crypto::parse_key(&bytes).map_err(|e| format!("--key {arg}: {e}"))
}

fn new_decoder(cfg: &DecodeConfig) -> Result<Box<dyn Decoder>, String> {
    let keys = cfg
        .keys
        .iter()
        .map(|k| read_key(k))
        .collect::<Result<Vec<_>, _>>()?;
    let mut s = session::Session::new(keys);
    if let Some(dir) = &cfg.state_dir {
        s = s
            .with_state_dir(dir)
            .map_err(|e| format!("state directory {}: {e}", dir.display()))?;
    }
    Ok(Box::new(s))
}

/// Writes the inverter keys recovered from the parameter reads the decoder saw (sekey.py's
/// format: 32 hex characters, or "ID KEY" lines for several inverters) and explains on stderr
/// when there is none. Returns whether a key was found.
pub fn write_derived_keys(dec: &mut dyn Decoder, out: &mut dyn Write) -> io::Result<bool> {
    let Some(s) = dec.as_any_mut().downcast_mut::<session::Session>() else {
        return Ok(false);
    };
    for id in s.zero_key_inverters() {
        eprintln!(
            "sedecode: inverter {} answered 0 for all four key parameters (a SetApp unit: no key to recover)",
            codes::device_id(id)
        );
    }
    let keys = s.derived_keys();
    match keys.as_slice() {
        [] => eprintln!(
            "sedecode: no key: the input holds no complete reads of parameters 0x0239-0x023c"
        ),
        [(_, k)] => writeln!(out, "{}", crate::util::hex::encode(k))?,
        many => {
            for (id, k) in many {
                writeln!(
                    out,
                    "{} {}",
                    codes::device_id(*id),
                    crate::util::hex::encode(k)
                )?;
            }
        }
    }
    Ok(!keys.is_empty())
}

impl Decoder for session::Session {
    fn decode(&mut self, env: &Envelope<'_>, frame: &[u8]) -> Box<dyn Message> {
        Box::new(session::Session::decode(self, env, frame))
    }

    fn locked(&self) -> u64 {
        self.locked
    }

    fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
