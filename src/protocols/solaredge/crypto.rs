//! SolarEdge encryption (solaredge.md §5): inverter key, session key from a 0x0503 frame,
//! decryption of 0x003d wrappers, recovery of the inverter key from the 0x0012/0x0090 parameter
//! reads of a capture (solaredge.md §3, §5) and a one-line state format for the last 0x0503.
//!
//! - **Inverter key**: 16 bytes, the values of parameters 0x0239..=0x023c, each as u32 LE.
//!   Key files hold 32 hex characters (jbuehl/solaredge `utilities/sekey.py`); 16 raw bytes are
//!   also accepted (tinuzz/python-solaredge). See [`parse_key`].
//! - **Session key** (0x0503 payload P): `AES-128-ECB(key, P[0..16]) XOR P[16..32]`. See
//!   [`session_key`].
//! - **0x003d payload** D: `IV = D[0..16]`; the rest is AES-128-CTR with a 128-bit big-endian
//!   counter whose first block is IV (the counter wraps from all-ones to zero, as in the
//!   byte-wise increment of the reference implementations). The plaintext is `inner_seq` (u16
//!   LE), a 4-byte mask M, then the inner frame XOR M repeated. See [`decrypt_003d`],
//!   [`encrypt_003d`].

use super::frame::{parse_frame, Frame, MAGIC, MIN_FRAME};
use crate::protocols::Parsed;
use crate::util::hex;
use aes::cipher::{BlockCipherEncrypt, KeyInit, KeyIvInit, StreamCipher};
use aes::Aes128;
use serde::{Deserialize, Serialize};

/// An AES-128 key: the inverter key or a session key (solaredge.md §5).
pub type Key = [u8; 16];

/// AES-128-CTR with a 128-bit big-endian counter (solaredge.md §5, step 2).
type Aes128Ctr = ctr::Ctr128BE<Aes128>;

/// Bytes of a 0x003d payload before the masked inner frame: IV (16), inner seq (2), mask (4).
pub const WRAP_OVERHEAD: usize = 16 + 2 + 4;
/// The smallest 0x003d payload that can hold a frame: the wrapper plus an empty frame
/// (16 + 2 + 4 + 22 = 44 = 0x2c, solaredge.md §5 "Size check").
pub const MIN_003D_PAYLOAD: usize = WRAP_OVERHEAD + MIN_FRAME;
/// Bytes of a 0x0503 payload used for the session key (normally 34 are sent; the last two are
/// unused, solaredge.md §5).
pub const MIN_0503_PAYLOAD: usize = 32;
/// Upper bound on the 0x0503 payload kept in a state line (the real one is 34 bytes).
pub const MAX_STATE_PAYLOAD: usize = 256;

/// Parameter ids whose values form the inverter key, in key order (solaredge.md §5).
pub const KEY_PARAMS: [u16; 4] = [0x0239, 0x023a, 0x023b, 0x023c];
/// PARAMS_GET_SINGLE: request `<H param id` (solaredge.md §3).
pub const FN_PARAMS_GET_SINGLE: u16 = 0x0012;
/// RESP_PARAMS_SINGLE: reply `<L value, <H type` (solaredge.md §3).
pub const FN_RESP_PARAMS_SINGLE: u16 = 0x0090;
/// Session-key exchange, inverter → server, plaintext (solaredge.md §3, §5).
pub const FN_SESSION_KEY: u16 = 0x0503;
/// Encrypted wrapper (solaredge.md §3, §5).
pub const FN_ENCRYPTED: u16 = 0x003d;

/// Why a key, payload or state line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Key text is neither 32 hex characters (optionally surrounded by whitespace) nor 16 raw bytes.
    #[error("bad key: {0} (expected 32 hex characters, optionally surrounded by whitespace, or 16 raw bytes)")]
    BadKey(String),
    /// A payload is shorter than its layout needs.
    #[error("{what} payload too short: {len} bytes, need at least {min}")]
    PayloadTooShort {
        what: &'static str,
        len: usize,
        min: usize,
    },
    /// The decrypted 0x003d payload does not start with the frame magic: the session key does
    /// not belong to this stream (jbuehl/solaredge: "Invalid decryption key").
    #[error("decrypted 0x003d payload does not start with 12 34 56 79: wrong inverter key or session key")]
    NoMagic,
    /// The decrypted inner frame is shorter than its header says.
    #[error("decrypted inner frame truncated: {len} bytes, its header needs {need}")]
    InnerTruncated { len: usize, need: usize },
    /// The decrypted inner frame starts with the magic but fails a frame check (length
    /// complement or CRC).
    #[error("decrypted inner frame invalid: {0}")]
    InnerInvalid(&'static str),
    /// A session-key state line could not be read.
    #[error("bad session-key state line: {0}")]
    BadStateLine(String),
}

/// Reads an inverter key (solaredge.md §5 "Key file"): exactly 32 hex digits in either case,
/// optionally surrounded by ASCII whitespace (a key file written by jbuehl's `sekey.py` has no
/// newline; one added by an editor is accepted), or exactly 16 raw bytes (as
/// tinuzz/python-solaredge accepts). Anything else, including 16 bytes plus a newline, is refused.
pub fn parse_key(input: &[u8]) -> Result<Key, CryptoError> {
    let text = input.trim_ascii();
    if text.len() == 32 {
        if let Some(key) = hex::decode_exact::<16>(text) {
            return Ok(key);
        }
    }
    if let Ok(raw) = <Key>::try_from(input) {
        return Ok(raw);
    }
    if text.len() == 32 {
        let at = text
            .iter()
            .position(|b| !b.is_ascii_hexdigit())
            .unwrap_or(0);
        return Err(CryptoError::BadKey(format!(
            "non-hex character at offset {at} of the key text"
        )));
    }
    Err(CryptoError::BadKey(format!(
        "{} bytes ({} after trimming whitespace)",
        input.len(),
        text.len()
    )))
}

/// One AES-128 block encryption (ECB of a single block).
fn aes_block(key: &Key, block: &[u8; 16]) -> [u8; 16] {
    let cipher = Aes128::new(&(*key).into());
    let mut b = aes::Block::from(*block);
    cipher.encrypt_block(&mut b);
    b.into()
}

/// The session key of a 0x0503 payload P (solaredge.md §5; jbuehl `SECrypto.__init__`):
/// `AES-128-ECB(key, P[0..16]) XOR P[16..32]`. P is normally 34 bytes; bytes from 32 on are
/// unused. Errors when P is shorter than 32 bytes.
pub fn session_key(key: &Key, payload_0503: &[u8]) -> Result<Key, CryptoError> {
    let (Some(first), Some(second)) = (
        payload_0503
            .get(..16)
            .and_then(|s| <&[u8; 16]>::try_from(s).ok()),
        payload_0503.get(16..32),
    ) else {
        return Err(CryptoError::PayloadTooShort {
            what: "0x0503",
            len: payload_0503.len(),
            min: MIN_0503_PAYLOAD,
        });
    };
    let mut out = aes_block(key, first);
    for (o, p) in out.iter_mut().zip(second) {
        *o ^= p;
    }
    Ok(out)
}

/// A decrypted 0x003d payload (solaredge.md §5 steps 3–5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// The sender's encryption counter, P[0..2] LE (not the inner frame's seq).
    pub inner_seq: u16,
    /// The 4-byte XOR mask, P[2..6].
    pub mask: [u8; 4],
    /// Exactly one complete frame that passed [`parse_frame`] (magic, length complement, CRC).
    /// Bytes after it are not included: there are
    /// `payload.len() - WRAP_OVERHEAD - frame.len()` of them (normally 0).
    pub frame: Vec<u8>,
}

/// XOR `data` with the AES-128-CTR keystream of `session` starting at counter block `iv`.
fn ctr_apply(session: &Key, iv: &[u8; 16], data: &mut [u8]) {
    let mut c = Aes128Ctr::new(&(*session).into(), &(*iv).into());
    // The 128-bit counter never runs out (its remaining block count does not fit a usize),
    // so this does not fail.
    c.apply_keystream(data);
}

/// XOR with the mask repeated (solaredge.md §5 step 4; its own inverse).
fn apply_mask(mask: &[u8; 4], data: &mut [u8]) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
}

/// Decrypts a 0x003d payload without checking the result: returns (inner seq, mask, unmasked
/// plaintext after the mask). The plaintext is whatever the key produces; use [`decrypt_003d`]
/// to get a validated frame. Errors only when the payload is shorter than [`WRAP_OVERHEAD`].
pub fn decrypt_003d_raw(
    session: &Key,
    payload: &[u8],
) -> Result<(u16, [u8; 4], Vec<u8>), CryptoError> {
    let Some((iv, rest)) = payload.split_first_chunk::<16>() else {
        return Err(CryptoError::PayloadTooShort {
            what: "0x003d",
            len: payload.len(),
            min: WRAP_OVERHEAD,
        });
    };
    if rest.len() < 6 {
        return Err(CryptoError::PayloadTooShort {
            what: "0x003d",
            len: payload.len(),
            min: WRAP_OVERHEAD,
        });
    }
    let mut plain = rest.to_vec();
    ctr_apply(session, iv, &mut plain);
    let inner_seq = u16::from_le_bytes([plain[0], plain[1]]);
    let mask = [plain[2], plain[3], plain[4], plain[5]];
    let mut inner = plain.split_off(6);
    apply_mask(&mask, &mut inner);
    Ok((inner_seq, mask, inner))
}

/// Decrypts a 0x003d payload (solaredge.md §5) and checks that it holds a frame: the inner
/// bytes must start with the magic `12 34 56 79` ([`CryptoError::NoMagic`] otherwise: wrong
/// key, as jbuehl reports "Invalid decryption key") and that frame must be complete with a valid
/// length complement and CRC ([`CryptoError::InnerTruncated`], [`CryptoError::InnerInvalid`]).
///
/// Trailing bytes after the first frame are accepted and left out of [`Decrypted::frame`]:
/// jbuehl's `validateMsg` discards extra bytes after a message, and se-logger re-parses the
/// plaintext as a stream. The senders known (jbuehl `SECrypto.encrypt`) never add any.
pub fn decrypt_003d(session: &Key, payload: &[u8]) -> Result<Decrypted, CryptoError> {
    if payload.len() < MIN_003D_PAYLOAD {
        return Err(CryptoError::PayloadTooShort {
            what: "0x003d",
            len: payload.len(),
            min: MIN_003D_PAYLOAD,
        });
    }
    let (inner_seq, mask, mut inner) = decrypt_003d_raw(session, payload)?;
    if !inner.starts_with(&MAGIC) {
        return Err(CryptoError::NoMagic);
    }
    let size = match parse_frame(&inner) {
        Parsed::Frame(f) => f.bytes.len(),
        Parsed::Incomplete(n) => {
            return Err(CryptoError::InnerTruncated {
                len: inner.len(),
                need: inner.len().saturating_add(n),
            })
        }
        Parsed::Bad(reason) => return Err(CryptoError::InnerInvalid(reason)),
    };
    inner.truncate(size);
    Ok(Decrypted {
        inner_seq,
        mask,
        frame: inner,
    })
}

/// Builds a 0x003d payload (the inverse of [`decrypt_003d`], jbuehl `SECrypto.encrypt` with a
/// chosen IV and mask): `iv`, then AES-128-CTR over `inner_seq` LE, `mask` and `inner_frame`
/// XOR mask. `inner_frame` is not checked.
pub fn encrypt_003d(
    session: &Key,
    iv: [u8; 16],
    inner_seq: u16,
    mask: [u8; 4],
    inner_frame: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(WRAP_OVERHEAD + inner_frame.len());
    out.extend_from_slice(&iv);
    out.extend_from_slice(&inner_seq.to_le_bytes());
    out.extend_from_slice(&mask);
    let start = out.len();
    out.extend_from_slice(inner_frame);
    apply_mask(&mask, &mut out[start..]);
    ctr_apply(session, &iv, &mut out[16..]);
    out
}

// ---------------------------------------------------------------------------------------------
// Key recovery from a capture.

/// Most 0x0012 key requests remembered while waiting for their replies.
const MAX_PENDING: usize = 64;
/// Most devices tracked by a [`KeyDeriver`].
const MAX_DEVICES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    seq: u16,
    requester: u32,
    device: u32,
    param: usize,
}

#[derive(Debug, Clone)]
struct DeviceKey {
    id: u32,
    values: [Option<u32>; 4],
    /// Order in which the device's four values were first all known.
    completed: Option<u64>,
}

impl DeviceKey {
    fn key(&self) -> Option<Key> {
        let mut key = [0u8; 16];
        for (chunk, v) in key.chunks_exact_mut(4).zip(self.values) {
            chunk.copy_from_slice(&v?.to_le_bytes());
        }
        Some(key)
    }
}

/// Recovers inverter keys from the parameter reads of a capture (solaredge.md §5 "Inverter
/// key"; se-logger `find-key-in-pcap.py`): a 0x0012 request with a 2-byte payload naming
/// parameter 0x0239..=0x023c (normally from 0xfffffffd to the inverter), answered by a 0x0090
/// reply with the same seq in the opposite direction (from = request's to, to = request's from)
/// whose 6-byte payload is `<L value, <H type` with type 0. The key is the four values as u32
/// LE in parameter order.
///
/// Feed every plaintext frame, and the inner frames of decrypted 0x003d wrappers, in capture
/// order. Retransmitted requests and replies are harmless (a later reply to the same parameter
/// replaces the value); replies without a request are ignored; each inverter is tracked
/// separately by its id as it appears in the request's `to` field (not normalised). A key whose
/// four values are all 0 (SetApp inverters answer 0, jbuehl/solaredge #147) is not a key: it is
/// left out of [`Self::key`]/[`Self::keys`] and listed by [`Self::zero_keys`].
#[derive(Debug, Clone, Default)]
pub struct KeyDeriver {
    pending: Vec<Pending>,
    devices: Vec<DeviceKey>,
    completions: u64,
}

impl KeyDeriver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Looks at one frame.
    pub fn observe(&mut self, f: &Frame<'_>) {
        match f.function {
            FN_PARAMS_GET_SINGLE => {
                // Any other request with this seq and direction ends a key request's wait.
                self.pending
                    .retain(|p| !(p.seq == f.seq && p.requester == f.from && p.device == f.to));
                let Ok(id) = <[u8; 2]>::try_from(f.payload) else {
                    return;
                };
                let Some(param) = KEY_PARAMS.iter().position(|&k| k == u16::from_le_bytes(id))
                else {
                    return;
                };
                if self.pending.len() >= MAX_PENDING {
                    self.pending.remove(0);
                }
                self.pending.push(Pending {
                    seq: f.seq,
                    requester: f.from,
                    device: f.to,
                    param,
                });
            }
            FN_RESP_PARAMS_SINGLE => {
                let Ok(body) = <[u8; 6]>::try_from(f.payload) else {
                    return;
                };
                if u16::from_le_bytes([body[4], body[5]]) != 0 {
                    return;
                }
                let value = u32::from_le_bytes([body[0], body[1], body[2], body[3]]);
                let Some(i) = self
                    .pending
                    .iter()
                    .position(|p| p.seq == f.seq && p.device == f.from && p.requester == f.to)
                else {
                    return;
                };
                let p = self.pending.remove(i);
                self.record(p.device, p.param, value);
            }
            _ => {}
        }
    }

    fn record(&mut self, device: u32, param: usize, value: u32) {
        let i = match self.devices.iter().position(|d| d.id == device) {
            Some(i) => i,
            None if self.devices.len() < MAX_DEVICES => {
                self.devices.push(DeviceKey {
                    id: device,
                    values: [None; 4],
                    completed: None,
                });
                self.devices.len() - 1
            }
            None => return,
        };
        let d = &mut self.devices[i];
        d.values[param] = Some(value);
        if d.completed.is_none() && d.values.iter().all(Option::is_some) {
            d.completed = Some(self.completions);
            self.completions += 1;
        }
    }

    /// Devices with all four values known, in the order they became complete.
    fn complete(&self) -> Vec<(u32, Key)> {
        let mut v: Vec<(u64, u32, Key)> = self
            .devices
            .iter()
            .filter_map(|d| Some((d.completed?, d.id, d.key()?)))
            .collect();
        v.sort_by_key(|&(n, _, _)| n);
        v.into_iter().map(|(_, id, k)| (id, k)).collect()
    }

    /// The key of the first device whose four values became known (all-zero keys excluded).
    /// With several inverters in a capture, use [`Self::keys`].
    pub fn key(&self) -> Option<Key> {
        self.keys().first().map(|&(_, k)| k)
    }

    /// Every recovered key as (device id, key), in the order they became complete; all-zero
    /// keys excluded.
    pub fn keys(&self) -> Vec<(u32, Key)> {
        self.complete()
            .into_iter()
            .filter(|(_, k)| k.iter().any(|&b| b != 0))
            .collect()
    }

    /// Devices that answered 0 for all four key parameters (SetApp units, jbuehl/solaredge
    /// #147): their traffic is not decryptable with a key from this protocol.
    pub fn zero_keys(&self) -> Vec<u32> {
        self.complete()
            .into_iter()
            .filter(|(_, k)| k.iter().all(|&b| b == 0))
            .map(|(id, _)| id)
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Session-key state (the last 0x0503 of each inverter).

#[derive(Serialize, Deserialize)]
struct StateLine {
    inverter: String,
    ts: f64,
    payload: String,
}

/// One line (no newline) recording an inverter's last 0x0503 payload, so that 0x003d frames can
/// be decrypted in a later run before the next 0x0503 (solaredge.md §5; jbuehl keeps
/// `last0503.msg`): `{"inverter":"7F104920","ts":1455000000.5,"payload":"<hex>"}`. `inverter` is
/// the id in upper-case hex without leading zeros, `ts` the capture time of the 0x0503 in
/// seconds since the Unix epoch, `payload` the 0x0503 payload in lower-case hex. A non-finite
/// `ts` is written as `null`, which [`parse_state_line`] refuses.
pub fn state_line(inverter: u32, captured_ts: f64, payload_0503: &[u8]) -> String {
    let line = StateLine {
        inverter: format!("{inverter:X}"),
        ts: captured_ts,
        payload: hex::encode(payload_0503),
    };
    serde_json::to_string(&line).unwrap_or_default()
}

/// Reads a line written by [`state_line`] (surrounding whitespace and unknown fields are
/// ignored; hex in either case). Refused: `inverter` not 1–8 hex digits, `ts` not a finite
/// number, `payload` not hex or not 32..=256 bytes ([`MIN_0503_PAYLOAD`], [`MAX_STATE_PAYLOAD`]).
/// `ts` comes back as written to within one unit in the last place (serde_json's default float
/// parsing is not always exact); inverter and payload come back exactly.
pub fn parse_state_line(s: &str) -> Result<(u32, f64, Vec<u8>), CryptoError> {
    let bad = |m: String| CryptoError::BadStateLine(m);
    let line: StateLine = serde_json::from_str(s.trim()).map_err(|e| bad(e.to_string()))?;
    let inv = line.inverter.as_bytes();
    if inv.is_empty() || inv.len() > 8 || !inv.iter().all(u8::is_ascii_hexdigit) {
        return Err(bad(format!(
            "inverter {:?} is not 1 to 8 hex digits",
            line.inverter
        )));
    }
    let inverter = u32::from_str_radix(&line.inverter, 16).map_err(|e| bad(e.to_string()))?;
    if !line.ts.is_finite() {
        return Err(bad("ts is not a finite number".into()));
    }
    let p = line.payload.as_bytes();
    if !p.len().is_multiple_of(2)
        || p.len() / 2 < MIN_0503_PAYLOAD
        || p.len() / 2 > MAX_STATE_PAYLOAD
    {
        return Err(bad(format!(
            "payload has {} hex characters, expected an even number for {MIN_0503_PAYLOAD} to {MAX_STATE_PAYLOAD} bytes",
            p.len()
        )));
    }
    let payload = hex::decode(p).ok_or_else(|| bad("payload is not hex".into()))?;
    Ok((inverter, line.ts, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::test_hex as hex;

    // solaredge.md §5, synthetic test vector (real 7f104920 key; the rest invented there).
    const KEY: &str = "e1992523f4ddbb47d5336f6f177e3278";
    const P0503: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021";
    const SESSION: &str = "e0ef5a6ef49ccc7a1f72aa06e1970e24";
    const INNER: &str = "123456790000ffff060023081a7efeffffff9a03f437";
    const D003D: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\
        9de031ce053edd99a0056eb3e8ec358560d411b0a3267493f25cde48";

    #[test]
    fn spec_vector() {
        let key = parse_key(KEY.as_bytes()).unwrap();
        assert_eq!(key.to_vec(), hex(KEY));
        let s = session_key(&key, &hex(P0503)).unwrap();
        assert_eq!(s.to_vec(), hex(SESSION));
        let d = decrypt_003d(&s, &hex(D003D)).unwrap();
        assert_eq!((d.inner_seq, d.mask), (0x1234, [0xde, 0xad, 0xbe, 0xef]));
        assert_eq!(d.frame, hex(INNER));
        let iv: [u8; 16] = core::array::from_fn(|i| 0xa0 + i as u8);
        let e = encrypt_003d(&s, iv, 0x1234, [0xde, 0xad, 0xbe, 0xef], &hex(INNER));
        assert_eq!(e, hex(D003D));
    }

    #[test]
    fn key_texts() {
        let want: Key = hex(KEY).try_into().unwrap();
        for t in [
            KEY.to_string(),
            KEY.to_uppercase(),
            format!("{KEY}\n"),
            format!("  {KEY}\r\n"),
        ] {
            assert_eq!(parse_key(t.as_bytes()).unwrap(), want, "{t:?}");
        }
        assert_eq!(parse_key(&want).unwrap(), want);
        for bad in [
            &b""[..],
            &KEY.as_bytes()[..31],
            b"e1992523f4ddbb47d5336f6f177e327g",
            b"e1992523f4ddbb47 d5336f6f177e3278",
            &[0u8; 17],
            &[0u8; 15],
        ] {
            assert!(
                matches!(parse_key(bad), Err(CryptoError::BadKey(_))),
                "{bad:?}"
            );
        }
        let msg = parse_key(b"e1992523f4ddbb47d5336f6f177e327g")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("offset 31"), "{msg}");
    }

    #[test]
    fn short_and_wrong() {
        let s: Key = hex(SESSION).try_into().unwrap();
        assert_eq!(
            session_key(&s, &[0; 31]),
            Err(CryptoError::PayloadTooShort {
                what: "0x0503",
                len: 31,
                min: 32
            })
        );
        assert!(session_key(&s, &[0; 32]).is_ok());
        let d = hex(D003D);
        for n in 0..MIN_003D_PAYLOAD {
            assert!(matches!(
                decrypt_003d(&s, &d[..n]),
                Err(CryptoError::PayloadTooShort { .. })
            ));
        }
        assert!(decrypt_003d_raw(&s, &d[..21]).is_err());
        assert_eq!(decrypt_003d_raw(&s, &d[..22]).unwrap().2, Vec::<u8>::new());
        let mut wrong = s;
        wrong[0] ^= 1;
        assert_eq!(decrypt_003d(&wrong, &d), Err(CryptoError::NoMagic));
    }

    #[test]
    fn state_lines() {
        let l = state_line(0x7f104920, 1455000000.5, &hex(P0503));
        assert_eq!(
            l,
            format!(r#"{{"inverter":"7F104920","ts":1455000000.5,"payload":"{P0503}"}}"#)
        );
        assert_eq!(
            parse_state_line(&format!("{l}\n")).unwrap(),
            (0x7f104920, 1455000000.5, hex(P0503))
        );
        for bad in [
            "",
            "{}",
            r#"{"inverter":"","ts":1,"payload":"00"}"#,
            r#"{"inverter":"123456789","ts":1,"payload":"00"}"#,
            r#"{"inverter":"7F104920","ts":null,"payload":"00"}"#,
        ] {
            assert!(parse_state_line(bad).is_err(), "{bad}");
        }
        assert!(parse_state_line(&state_line(1, f64::NAN, &hex(P0503))).is_err());
        assert!(parse_state_line(&state_line(1, 0.0, &[0; 31])).is_err());
        assert!(parse_state_line(&state_line(1, 0.0, &[0; 257])).is_err());
        assert!(parse_state_line(&l.replace("0001", "0g01")).is_err());
    }
}
