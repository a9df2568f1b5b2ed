//! Password redaction (sel.md §3.4): passwords typed after `ACC`/`2AC`/`BAC`/`CAL`, given to
//! `PAS`, or sent as FTP `PASS`, are never written in clear unless the analyst asks for them
//! (`--reveal-secrets`). In their place goes a marker with a salted hash, so that two uses of
//! the same password can be told apart without revealing it, its length, and whether it is one
//! of the factory defaults (OTTER, EDITH, TAIL, CLARKE; sel.md §3.1).
//!
//! The salt is random per process; set `SEKIT_SECRET_SALT` to any text to get the same hashes
//! across runs (for comparing captures, or reproducible test output). The marker, as it
//! appears in `seextract`'s frame records (kind `ascii-secret`) and `sedecode`'s records:
//! `<redacted sha256=0123456789abcdef len=5 default=1>` (`sha256` = first 8 bytes of
//! SHA-256(salt ‖ password), hex).

use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// Factory-default passwords (sel.md §3.1 "Login": PEAT, selprotopy).
pub const DEFAULTS: [&str; 4] = ["OTTER", "EDITH", "TAIL", "CLARKE"];

static REVEAL: AtomicBool = AtomicBool::new(false);

/// Makes the splitter (`seextract --reveal-secrets`) keep passwords in clear.
pub fn set_reveal(on: bool) {
    REVEAL.store(on, Ordering::Relaxed);
}

/// Whether passwords are kept in clear by the splitter.
pub fn reveal() -> bool {
    REVEAL.load(Ordering::Relaxed)
}

fn salt() -> &'static [u8; 32] {
    static SALT: OnceLock<[u8; 32]> = OnceLock::new();
    SALT.get_or_init(|| {
        let seed: Vec<u8> = match std::env::var("SEKIT_SECRET_SALT") {
            Ok(s) => s.into_bytes(),
            Err(_) => {
                use std::hash::BuildHasher;
                let rs = std::collections::hash_map::RandomState::new();
                (0..4u64)
                    .flat_map(|i| rs.hash_one(i).to_le_bytes())
                    .collect()
            }
        };
        Sha256::digest(&seed).into()
    })
}

/// The salted hash of a password (16 hex digits).
pub fn hash(pw: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(salt());
    h.update(pw);
    crate::util::hex::encode(&h.finalize()[..8])
}

/// Whether `pw` is a factory-default password (exact: passwords are case-sensitive).
pub fn is_default(pw: &[u8]) -> bool {
    DEFAULTS.iter().any(|d| d.as_bytes() == pw)
}

/// What is known of a password.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Secret {
    /// The password, only with `--reveal-secrets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub redacted: bool,
    pub hash: String,
    pub length: usize,
    pub default_credential: bool,
}

impl Secret {
    /// From the clear password; kept in clear when `reveal`.
    pub fn of(pw: &[u8], reveal: bool) -> Secret {
        Secret {
            password: reveal.then(|| String::from_utf8_lossy(pw).into_owned()),
            redacted: !reveal,
            hash: hash(pw),
            length: pw.len(),
            default_credential: is_default(pw),
        }
    }

    /// The marker text that replaces the password.
    pub fn marker(&self) -> String {
        format!(
            "<redacted sha256={} len={} default={}>",
            self.hash,
            self.length,
            u8::from(self.default_credential)
        )
    }

    /// Reads a marker written by [`Secret::marker`] (from seextract's output).
    pub fn parse_marker(s: &[u8]) -> Option<Secret> {
        let s = std::str::from_utf8(s).ok()?.trim();
        let s = s.strip_prefix("<redacted sha256=")?.strip_suffix('>')?;
        let mut it = s.split(' ');
        let hash = it.next()?.to_string();
        let length = it.next()?.strip_prefix("len=")?.parse().ok()?;
        let default_credential = it.next()?.strip_prefix("default=")? == "1";
        Some(Secret {
            password: None,
            redacted: true,
            hash,
            length,
            default_credential,
        })
    }
}

/// Where a secret lies in a line: `PAS 1 NEW` → the bytes after the level; `PASS x` (FTP) →
/// after the word. `None` when the line carries no password by itself.
pub fn inline_secret(line: &[u8]) -> Option<usize> {
    let t = line.trim_ascii_start();
    let lead = line.len() - t.len();
    let mut words = t.split(|c| *c == b' ').filter(|w| !w.is_empty());
    let w = words.next()?;
    let upper = w.to_ascii_uppercase();
    let skip = if upper == b"PASS" {
        1
    } else if upper.starts_with(b"PAS") && b"PASSWORD".starts_with(&upper) {
        2
    } else {
        return None;
    };
    // Offset of the `skip`-th word after the command word.
    let mut pos = lead;
    let mut seen = 0;
    let mut in_word = false;
    for (i, c) in line.iter().enumerate().skip(lead) {
        let space = *c == b' ';
        if !space && !in_word {
            if seen == skip {
                pos = i;
                return Some(pos);
            }
            seen += 1;
        }
        in_word = !space;
    }
    let _ = pos;
    None
}

/// An access-level command line (`ACC`, `2AC`, `BAC`, `CAL`, any case, with nothing or
/// blanks after it): the next line the same side sends is a password.
pub fn is_access_line(line: &[u8]) -> bool {
    let t = line.trim_ascii();
    t.len() == 3
        && super::codes::ACCESS
            .iter()
            .any(|a| t.eq_ignore_ascii_case(a.as_bytes()))
}

/// A `PAS`/`PASSWORD` line with only a level (or nothing): the next line is a password.
pub fn is_pas_prompting(line: &[u8]) -> bool {
    let t = line.trim_ascii();
    let mut w = t.split(|c| *c == b' ').filter(|w| !w.is_empty());
    let Some(cmd) = w.next() else { return false };
    let u = cmd.to_ascii_uppercase();
    u.starts_with(b"PAS") && b"PASSWORD".starts_with(&u) && w.count() <= 1
}

/// The line with its secret replaced by the marker, and the secret; `None` if the line has
/// no inline secret.
pub fn redact_inline(line: &[u8], reveal: bool) -> Option<(Vec<u8>, Secret)> {
    let at = inline_secret(line)?;
    let pw = line[at..].trim_ascii_end();
    let s = Secret::of(pw, reveal);
    let mut out = line[..at].to_vec();
    out.extend_from_slice(s.marker().as_bytes());
    Some((out, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_inline() {
        let s = Secret::of(b"OTTER", false);
        assert!(s.default_credential && s.password.is_none() && s.length == 5);
        assert_eq!(Secret::parse_marker(s.marker().as_bytes()), Some(s.clone()));
        assert_eq!(hash(b"OTTER"), s.hash);
        assert_ne!(hash(b"OTTEr"), s.hash);
        assert!(!is_default(b"otter"));
        assert_eq!(inline_secret(b"PAS 1 NEWPW"), Some(6));
        assert_eq!(inline_secret(b"PASS TAIL"), Some(5));
        assert_eq!(inline_secret(b"pas 2"), None);
        assert_eq!(inline_secret(b"PAST 1 x"), None);
        let (l, s) = redact_inline(b"PASS TAIL", false).unwrap();
        assert!(s.default_credential);
        assert!(!String::from_utf8_lossy(&l).contains("TAIL"));
        assert!(is_access_line(b"acc") && is_access_line(b"2AC ") && !is_access_line(b"ACCX"));
        assert!(is_pas_prompting(b"PAS 1") && !is_pas_prompting(b"PAS 1 X"));
    }
}
