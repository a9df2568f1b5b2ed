//! What speaks for SEL in one direction of a stream, and the detection rule
//! ([`Evidence::confident`]).
//!
//! Evidence per direction, where *clean* means right after a good unit (start of stream,
//! message, line, prompt) with no skipped bytes since:
//! 1. two checksummed messages (sum8 or CRC-16, sel.md §1) at clean positions; or
//! 2. one such message plus weak SEL evidence: a clean 2-byte request, a line whose first word
//!    is an SEL command (sel.md §3.1: `ACC`, `2AC`, `ID`, `DNA`, `MET`, …), or a prompt; or
//! 3. strong ASCII evidence alone: a compressed-ASCII line whose checksum verifies (sel.md
//!    §3.2), `FID=SEL-` (§3.2), a prompt directly followed by an echoed SEL command (`=>ACC`),
//!    or a `Password: ?` / `Level N` line after an access command (`ACC`, `2AC`, `BAC`, `CAL`)
//!    in that direction (§3.1 "Login").
//!
//! A message found right after skipped bytes is emitted but does not count. Random bytes almost
//! never hold a clean checksummed message or a strong ASCII cue (none in 16 384 random streams
//! of 64 KiB); ordinary text (HTTP, SMTP) has no `A5` messages and at most weak evidence.

use super::codes::{ACCESS, CASCII, COMMANDS, LINE, PROMPT};
use super::frame::cascii_checksum;

/// What kind of ASCII unit a line is (sel.md §3.1, §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// `=`, `=>`, `=>>`, `==>`, `==>>` (decided by the scanner's prompt grammar).
    Prompt,
    /// `Password: ?`.
    Password,
    /// A compressed-ASCII line; `ok` if its checksum verifies.
    Cascii { ok: bool },
    /// Any other text line.
    Text,
}

impl LineKind {
    /// The kind of line `s` that is not a prompt token.
    pub fn of(s: &[u8]) -> LineKind {
        if is_password_prompt(s) {
            LineKind::Password
        } else if let Some((stated, computed)) = cascii_checksum(s) {
            LineKind::Cascii {
                ok: stated == computed,
            }
        } else {
            LineKind::Text
        }
    }

    /// The frame label ([`PROMPT`], [`CASCII`], [`LINE`]).
    pub fn label(self) -> &'static str {
        match self {
            LineKind::Prompt | LineKind::Password => PROMPT,
            LineKind::Cascii { .. } => CASCII,
            LineKind::Text => LINE,
        }
    }
}

/// `Password: ?` (sel.md §3.1), trailing blanks allowed.
pub fn is_password_prompt(s: &[u8]) -> bool {
    let t = s.trim_ascii_end();
    t.eq_ignore_ascii_case(b"Password: ?")
}

/// The first word of a line, if it is an SEL command (sel.md §3.1): `Some(is_access)`.
fn sel_command(s: &[u8]) -> Option<bool> {
    let s = s.trim_ascii_start();
    let w = &s[..s
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(s.len())];
    // Every command word is at most 3 letters (sel.md §3.1: words truncated to 3).
    if w.len() > 3
        || !COMMANDS
            .iter()
            .any(|c| w.eq_ignore_ascii_case(c.as_bytes()))
    {
        return None;
    }
    Some(ACCESS.iter().any(|c| w.eq_ignore_ascii_case(c.as_bytes())))
}

/// `Level 1`, `Level 2`, `Level B`, … (sel.md §3.1 login banner).
fn is_level_banner(s: &[u8]) -> bool {
    let t = s.trim_ascii();
    (7..=8).contains(&t.len())
        && t[..6].eq_ignore_ascii_case(b"Level ")
        && t[6..].iter().all(|b| b.is_ascii_alphanumeric())
}

/// `FID=SEL-` somewhere in the line (sel.md §3.2 `ID` reply).
fn has_fid(s: &[u8]) -> bool {
    static FID: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"FID=SEL-"));
    FID.find(s).is_some()
}

/// What was seen that speaks for SEL in one direction (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct Evidence {
    /// Checksummed messages at clean positions.
    checked: u32,
    weak: bool,
    strong: bool,
    /// An access command (`ACC`, `2AC`, `BAC`, `CAL`) was seen.
    access: bool,
}

impl Evidence {
    /// A binary message (a bare 2-byte `request` or a checksummed one); `clean` as in the
    /// module docs.
    pub fn message(&mut self, clean: bool, request: bool) {
        if clean {
            if request {
                self.weak = true;
            } else {
                self.checked += 1;
            }
        }
    }

    /// A line `s` of `kind`; `after_prompt`: a prompt came right before it on the same line.
    pub fn line(&mut self, s: &[u8], kind: LineKind, clean: bool, after_prompt: bool) {
        match kind {
            LineKind::Prompt => self.weak |= clean,
            LineKind::Password => {
                self.weak |= clean;
                self.strong |= self.access;
            }
            LineKind::Cascii { ok } => self.strong |= ok,
            LineKind::Text => {
                if let Some(access) = sel_command(s) {
                    self.weak |= clean;
                    self.access |= access;
                    self.strong |= after_prompt;
                }
                if is_level_banner(s) {
                    self.strong |= self.access;
                }
            }
        }
        if has_fid(s) {
            self.strong = true;
        }
    }

    /// The detection rule (module docs).
    pub fn confident(&self) -> bool {
        self.strong || self.checked >= 2 || (self.checked >= 1 && self.weak)
    }

    /// Checksummed messages at clean positions.
    pub fn checked(&self) -> u64 {
        u64::from(self.checked)
    }

    /// Nothing at all speaks for SEL yet.
    pub fn is_empty(&self) -> bool {
        self.checked == 0 && !self.weak && !self.strong
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(ls: &[(&[u8], bool)]) -> Evidence {
        let mut e = Evidence::default();
        let mut after_prompt = false;
        for &(s, clean) in ls {
            let kind = if s.starts_with(b"=") {
                LineKind::Prompt
            } else {
                LineKind::of(s)
            };
            e.line(s, kind, clean, after_prompt);
            after_prompt = kind == LineKind::Prompt;
        }
        e
    }

    #[test]
    fn rules() {
        // Weak alone is not enough; with one checked message it is.
        let mut e = lines(&[(b"MET", true)]);
        assert!(!e.confident() && !e.is_empty());
        e.message(true, false);
        assert!(e.confident());
        // Two checked messages, but not after skipped bytes.
        let mut e = Evidence::default();
        e.message(false, false);
        e.message(true, false);
        assert!(!e.confident());
        e.message(true, false);
        assert!(e.confident());
        // A clean request is weak evidence.
        let mut e = Evidence::default();
        e.message(true, true);
        e.message(true, false);
        assert!(e.confident());
        // Strong: prompt then echoed command; access command then Password / Level.
        assert!(lines(&[(b"=>", true), (b"ACC", true)]).confident());
        assert!(lines(&[(b"acc", true), (b"Password: ? ", true)]).confident());
        assert!(lines(&[(b"2AC", false), (b" Level 2 ", true)]).confident());
        assert!(!lines(&[(b"Level 1", true), (b"Password: ?", true)]).confident());
        assert!(!lines(&[(b"MET", true), (b"Level 1", true)]).confident());
        // FID=SEL- anywhere, a verified compressed-ASCII line.
        assert!(lines(&[(b"xx FID=SEL-351", false)]).confident());
        assert!(lines(&[(br#""No Data Available","0668""#, false)]).confident());
        assert!(!lines(&[(br#""No Data Available","0669""#, true)]).confident());
        assert!(lines(&[(b"", false)]).is_empty());
    }

    #[test]
    fn kinds_and_words() {
        assert_eq!(LineKind::of(b"Password: ?  "), LineKind::Password);
        assert_eq!(LineKind::of(b"PASSWORD: ?"), LineKind::Password);
        assert_eq!(
            LineKind::of(br#""CID=59A0","025C""#),
            LineKind::Cascii { ok: true }
        );
        assert_eq!(LineKind::of(b"ID"), LineKind::Text);
        assert_eq!(LineKind::Password.label(), PROMPT);
        assert_eq!(sel_command(b"  id extra"), Some(false));
        assert_eq!(sel_command(b"Bac"), Some(true));
        assert_eq!(sel_command(b"IDX"), None);
        assert_eq!(sel_command(b""), None);
        assert!(COMMANDS.iter().all(|c| c.len() <= 3));
        assert!(is_level_banner(b"Level B"));
        assert!(!is_level_banner(b"Level 123"));
        assert!(!is_level_banner(b"Level"));
    }
}
