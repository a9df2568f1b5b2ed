//! Per-direction SEL stream state (sel.md §4 "Pipeline per direction"): Telnet removal
//! ([`crate::protocols::unwrap::telnet`], sel.md §4), then a scanner that splits the decoded
//! bytes into binary messages ([`super::frame`]) and ASCII lines, with resync and anomaly
//! reports; what it finds feeds the detection rule ([`super::evidence`]).
//!
//! # What is emitted
//! Every frame's `offset` is the **raw stream offset** (on the wire, before Telnet removal) of
//! its first byte; `bytes` are the decoded (de-Telnet'd) bytes. Anomaly `offset`/`len` are raw.
//! Labels:
//! - binary messages (sel.md §1): `A5C0`, `A5C1`…`A5C3`, `A5D1`…`A5D3`, `A5CE`, `A5CF`,
//!   `A5CD`, `A5E0`, `A5E3`, `A5E5`…`A5E9`, `A5ED`, `A546` (bytes = the whole message, sliced
//!   by `len`);
//! - bare 2-byte requests: `A5C0-req`, `A5C1-req`…, `A5CE-req`, `A5CF-req`, `A5CD-req`,
//!   `A5B9-req` (bytes = the 2 bytes). The content after `A5 t` decides (see `frame.rs`): the
//!   next byte is CR or LF, another message starts, the `len` byte is not valid for the type,
//!   or the checksum over `len` bytes fails once they are all there. Until then the bytes wait
//!   for more data, wherever a `data()` call ends (sel.md §4 also accepts "end of segment";
//!   that is not used, so that the output does not depend on segmentation). At the end of the
//!   stream or at a gap, `A5 t` alone, or followed by text rather than a message header, is
//!   the request (`frame::bare_request_at_end`);
//! - [`LINE`](super::codes::LINE) `ascii-line`: a line of text (bytes without its terminator). Lines end at CR, LF,
//!   CRLF, STX or ETX (sel.md §3.2: STX/ETX delimit compressed-ASCII replies; they are not part
//!   of any line); NVT `CR NUL` is one terminator; whitespace-only lines are not emitted.
//!   Text = printable ASCII, TAB, BEL, BS, VT, FF, ESC, XON, XOFF;
//! - [`CASCII`](super::codes::CASCII) `cascii-line`: a compressed-ASCII line `"…",…,"CCCC"` (sel.md §3.2); if its
//!   checksum does not verify, the line is still emitted and an anomaly with the same offset
//!   and length follows ("compressed-ASCII line checksum mismatch");
//! - [`PROMPT`](super::codes::PROMPT) `ascii-prompt`: `=`, `=>`, `=>>`, `==>`, `==>>` (sel.md §3.1) at the start of
//!   a line and followed by a terminator, a binary message, or a letter/digit (the relay echoes
//!   the next command right after the prompt: `=>ID` gives the prompt `=>` and the line `ID`),
//!   and `Password: ?` lines. A prompt at the end of the data waits for the byte that
//!   decides it (`=` then `>` is `=>`); at the end of the stream or at a gap it is emitted as
//!   it is.
//!
//! # Segmentation
//! The output (frames and anomalies, offsets, bytes, labels) is the same however the stream is
//! split into `data()` calls: a decision that needs later bytes waits for them, with the
//! undecided bytes kept (at most a line of [`MAX_LINE`] bytes and one message of
//! [`super::frame::MAX_MSG`]), and is taken when they arrive, or at `gap()`/`end()` with what
//! is there.
//!
//! Lines are at most [`MAX_LINE`] bytes: a longer run is emitted in pieces of that size, each
//! with an anomaly "ASCII line longer than 4096 bytes".
//!
//! # Resync (habit 4)
//! Bytes that are neither a valid message nor a text line (binary junk, a bad checksum, an
//! `A5` that starts nothing) are skipped up to the next line terminator or valid message and
//! reported once per run as an anomaly. At a gap, a message in progress is reported as an
//! anomaly ("binary message cut by a gap"), a partial line too ("ASCII line cut by a gap",
//! prompts excepted); what follows the gap up to the next line break or valid message is
//! reported as "resync after a gap". `end()` emits a trailing partial line as a line and
//! reports a partial message ("binary message truncated at the end of the stream").
//!
//! # Detection rule ([`StreamState::confident`])
//! See [`super::evidence`]: checksummed messages and SEL ASCII cues at clean positions (right
//! after a good unit, with no skipped bytes since).
//!
//! # Telnet or raw TCP (sel.md §4)
//! Telnet removal (IAC commands, `FF FF` undoubling) runs only on a Telnet stream: a direction
//! whose first byte is IAC (0xFF; Telnet peers negotiate at connect, and a raw SEL stream
//! starts with `A5` or text, never 0xFF). On raw TCP (port servers, RTAC pass-through) every
//! byte is data: `FF FF` stays two bytes, lengths and checksums hold. Limitation: a Telnet
//! capture that starts after the negotiation is framed as raw TCP (messages holding 0xFF then
//! fail their checks and are reported as anomalies), since a direction's state sees neither
//! the port nor the other direction.
//!
//! # Passwords (sel.md §3.4)
//! See `SelState::redact`: password lines are emitted as [`SECRET`] `ascii-secret` frames whose
//! bytes are a marker with a salted hash ([`super::secrets`]), unless
//! [`super::secrets::set_reveal`] was called (`seextract --reveal-secrets`).

use super::evidence::{is_password_prompt, Evidence, LineKind};
use super::frame::{bare_request_at_end, parse_message, Message, SYNC};
use super::secrets;
use crate::protocols::unwrap::telnet::Telnet;
use crate::protocols::unwrap::{Unwrapped, Unwrapper};
use crate::protocols::{Found, Label, Parsed, Protocol, StreamState};

/// Label of a line whose password was replaced by a marker ([`super::secrets`]).
pub const SECRET: &str = "ascii-secret";

/// Telnet's Interpret As Command byte: a direction whose first byte it is speaks Telnet.
const TELNET_IAC: u8 = 0xFF;

/// Longest line emitted in one piece.
pub const MAX_LINE: usize = 4096;

const TEXT: u8 = 0;
const TERM: u8 = 1;
const BIN: u8 = 2;

/// Byte classes: text, line terminator (CR LF STX ETX), anything else.
static CLASS: [u8; 256] = {
    let mut t = [BIN; 256];
    let mut i = 0x20;
    while i < 0x7F {
        t[i] = TEXT;
        i += 1;
    }
    t[0x07] = TEXT;
    t[0x08] = TEXT;
    t[0x09] = TEXT;
    t[0x0B] = TEXT;
    t[0x0C] = TEXT;
    t[0x11] = TEXT;
    t[0x13] = TEXT;
    t[0x1B] = TEXT;
    t[0x02] = TERM;
    t[0x03] = TERM;
    t[0x0A] = TERM;
    t[0x0D] = TERM;
    t
};

fn class(b: u8) -> u8 {
    CLASS[usize::from(b)]
}

/// Index of the first sync or line terminator in `s`. Skipping random binary data is most of
/// the cost of probing a stream for SEL, so it is done with the vectorised searches of
/// `memchr` (three of the bytes, then the other two before the first of them).
fn find_sync_or_term(s: &[u8]) -> Option<usize> {
    let first = memchr::memchr3(SYNC, b'\r', b'\n', s);
    let upto = first.unwrap_or(s.len());
    memchr::memchr2(0x02, 0x03, &s[..upto]).or(first)
}

/// What ends the stream while a unit is pending.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fin {
    Gap,
    End,
}

impl Fin {
    fn truncated(self) -> &'static str {
        match self {
            Fin::Gap => "binary message cut by a gap",
            Fin::End => "binary message truncated at the end of the stream",
        }
    }
}

const GARBAGE: &str = "bytes outside any SEL message or text line";

/// A prompt token `={1,2}>{0,2}` at the start of `s`.
enum Token {
    /// A prompt of this length, decided by the byte after it.
    Prompt(usize),
    /// `s` is all prompt characters so far: the next byte decides.
    More,
    No,
}

fn prompt_token(s: &[u8]) -> Token {
    let mut i = 0;
    while i < s.len() && i < 2 && s[i] == b'=' {
        i += 1;
    }
    if i == 0 {
        return Token::No;
    }
    let e = i;
    while i < s.len() && i < e + 2 && s[i] == b'>' {
        i += 1;
    }
    let Some(&c) = s.get(i) else {
        return Token::More;
    };
    if c == b'=' || c == b'>' {
        Token::No
    } else if c.is_ascii_alphanumeric() || class(c) == TERM || c == SYNC {
        Token::Prompt(i)
    } else {
        Token::No
    }
}

fn is_prompt_token(s: &[u8]) -> bool {
    !s.is_empty() && matches!(prompt_token(s), Token::More)
}

/// Per-direction SEL state; see the module docs.
#[derive(Default)]
pub struct SelState {
    tn: Telnet,
    dec: Unwrapped,
    /// Raw offset of the next byte expected.
    raw_pos: u64,
    /// Skipping bytes up to the next line terminator or valid message.
    skipping: bool,
    /// Skipped bytes not yet reported: raw start and reason.
    garbage: Option<(u64, &'static str)>,
    /// Where the skipped bytes ended (at a line terminator), unless more followed.
    garbage_end: Option<u64>,
    /// Something other than a good unit came last (skipped bytes, a gap): not clean.
    dirty: bool,
    /// Inside a line split for length: no prompt or request here.
    mid_line: bool,
    /// A prompt was just emitted on this line.
    after_prompt: bool,
    /// The last byte consumed was CR (a NUL after it belongs to the terminator).
    after_cr: bool,
    /// Leading bytes of the pending buffer already known to be text.
    text_ok: usize,
    ev: Evidence,
    /// Raw bytes fed so far (for the probing cut-off).
    fed: u64,
    /// Detection undecided: only the first [`PROBE_BYTES`] raw bytes are looked at unless they
    /// hold SEL evidence.
    probing: bool,
    /// The next line of this direction is a password (see [`SelState::redact`]).
    secret_next: bool,
    /// Telnet removal runs (decided by the first byte, see the module docs); `None` before it.
    telnet: Option<bool>,
}

/// While probing, raw bytes of a direction that must show SEL evidence (see
/// [`StreamState::hopeless`]).
const PROBE_BYTES: u64 = 512;

impl SelState {
    fn raw(&self, p: usize) -> u64 {
        self.dec.raw_of(p)
    }

    fn flush_garbage(&mut self, upto: u64, emit: &mut dyn FnMut(Found<'_>)) {
        if let Some((start, reason)) = self.garbage.take() {
            let upto = self.garbage_end.take().unwrap_or(upto);
            if upto > start {
                emit(Found::Anomaly {
                    offset: start,
                    len: upto - start,
                    reason,
                });
            }
        }
    }

    /// Bytes from `p` on cannot be framed.
    fn garbage_from(&mut self, p: usize, reason: &'static str) {
        if self.garbage.is_none() {
            self.garbage = Some((self.raw(p), reason));
        }
        self.garbage_end = None;
        self.dirty = true;
    }

    /// A binary message at `p`.
    fn message(&mut self, p: usize, m: Message<'_>, emit: &mut dyn FnMut(Found<'_>)) {
        let off = self.raw(p);
        self.flush_garbage(off, emit);
        self.ev.message(!self.dirty, m.request);
        self.secret_next = false;
        emit(Found::Frame {
            offset: off,
            bytes: m.bytes,
            kind: m.label(),
        });
        self.dirty = false;
        self.mid_line = false;
        self.after_prompt = false;
    }

    /// A text line `buf[p..j]` (labelled by content).
    fn line(&mut self, buf: &[u8], p: usize, j: usize, emit: &mut dyn FnMut(Found<'_>)) {
        let s = &buf[p..j];
        if s.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let off = self.raw(p);
        self.flush_garbage(off, emit);
        let kind = if is_prompt_token(s) {
            LineKind::Prompt
        } else {
            LineKind::of(s)
        };
        self.ev.line(s, kind, !self.dirty, self.after_prompt);
        if !self.redact(s, kind, off, emit) {
            emit(Found::Frame {
                offset: off,
                bytes: s,
                kind: Label::Name(kind.label()),
            });
        }
        if kind == (LineKind::Cascii { ok: false }) {
            emit(Found::Anomaly {
                offset: off,
                len: self.raw(j) - off,
                reason: "compressed-ASCII line checksum mismatch",
            });
        }
        self.dirty = false;
        self.after_prompt = kind == LineKind::Prompt;
    }

    /// Password redaction (sel.md §3.4, [`super::secrets`]): the line after an access command
    /// (`ACC`, `2AC`, `BAC`, `CAL`) or a bare `PAS [level]` in the same direction, unless a
    /// prompt comes first (the relay's side: it echoes the command, then asks), and the
    /// secret inside `PAS 1 NEW` / FTP `PASS x` lines, are emitted as `ascii-secret` frames
    /// whose bytes are the marker. True when the line was emitted so.
    fn redact(
        &mut self,
        s: &[u8],
        kind: LineKind,
        off: u64,
        emit: &mut dyn FnMut(Found<'_>),
    ) -> bool {
        let pending = std::mem::take(&mut self.secret_next);
        if kind == LineKind::Text {
            self.secret_next = secrets::is_access_line(s) || secrets::is_pas_prompting(s);
        }
        if secrets::reveal() || matches!(kind, LineKind::Prompt | LineKind::Password) {
            return false;
        }
        let marker = if pending {
            secrets::Secret::of(s.trim_ascii(), false)
                .marker()
                .into_bytes()
        } else if let Some((red, _)) = secrets::redact_inline(s, false) {
            red
        } else {
            return false;
        };
        emit(Found::Frame {
            offset: off,
            bytes: &marker,
            kind: Label::Name(SECRET),
        });
        true
    }

    /// A line cut by the end of the data (`fin`).
    fn last_line(
        &mut self,
        buf: &[u8],
        p: usize,
        j: usize,
        fin: Fin,
        emit: &mut dyn FnMut(Found<'_>),
    ) {
        let s = &buf[p..j];
        if fin == Fin::End || is_prompt_token(s) || is_password_prompt(s) {
            self.line(buf, p, j, emit);
        } else if !s.iter().all(u8::is_ascii_whitespace) {
            self.garbage_from(p, "ASCII line cut by a gap");
        }
    }

    /// Frames `buf` (the pending decoded bytes); returns how many were consumed. With `fin`,
    /// everything is consumed.
    fn scan(&mut self, buf: &[u8], fin: Option<Fin>, emit: &mut dyn FnMut(Found<'_>)) -> usize {
        let n = buf.len();
        let text_ok = std::mem::take(&mut self.text_ok);
        let mut p = 0;
        while p < n {
            if self.skipping {
                match find_sync_or_term(&buf[p..]) {
                    None => {
                        p = n;
                        break;
                    }
                    Some(k) => p += k,
                }
                if buf[p] != SYNC {
                    self.skipping = false;
                    self.garbage_end = Some(self.raw(p));
                    continue;
                }
                match parse_message(&buf[p..]) {
                    Parsed::Frame(m) if !m.request => {
                        self.message(p, m, emit);
                        self.skipping = false;
                        p += m.bytes.len();
                    }
                    Parsed::Incomplete(_) => match fin {
                        None => break,
                        Some(_) => p = n,
                    },
                    _ => p += 1,
                }
                continue;
            }
            let c = buf[p];
            if c == 0 && self.after_cr {
                // NVT CR NUL (sel.md §4).
                self.after_cr = false;
                p += 1;
                continue;
            }
            self.after_cr = false;
            if class(c) == TERM {
                self.after_cr = c == b'\r';
                self.mid_line = false;
                self.after_prompt = false;
                p += 1;
                continue;
            }
            if c == SYNC {
                match parse_message(&buf[p..]) {
                    Parsed::Frame(m) if !(m.request && self.mid_line) => {
                        self.message(p, m, emit);
                        p += m.bytes.len();
                    }
                    Parsed::Incomplete(_) => match fin {
                        None => break,
                        Some(f) => {
                            if bare_request_at_end(&buf[p..]) && !self.mid_line {
                                let m = Message {
                                    bytes: &buf[p..p + 2],
                                    msg_type: buf[p + 1],
                                    request: true,
                                };
                                self.message(p, m, emit);
                                p += 2;
                            } else {
                                self.garbage_from(p, f.truncated());
                                p = n;
                            }
                        }
                    },
                    _ => {
                        self.garbage_from(p, GARBAGE);
                        self.skipping = true;
                        p += 1;
                    }
                }
                continue;
            }
            if c == b'=' && !self.mid_line {
                match prompt_token(&buf[p..]) {
                    Token::Prompt(t) => {
                        self.line(buf, p, p + t, emit);
                        p += t;
                        continue;
                    }
                    Token::More => match fin {
                        None => break,
                        Some(f) => {
                            self.last_line(buf, p, n, f, emit);
                            p = n;
                            continue;
                        }
                    },
                    Token::No => {}
                }
            }
            // A text line from p.
            let mut j = p + if p == 0 { text_ok.min(n) } else { 0 };
            while j < n && class(buf[j]) == TEXT {
                j += 1;
            }
            // Only a run longer than MAX_LINE is split: a run of exactly MAX_LINE bytes at the
            // end of the data waits for the next byte (a terminator makes it a whole line).
            if j - p > MAX_LINE {
                let off = self.raw(p);
                self.line(buf, p, p + MAX_LINE, emit);
                emit(Found::Anomaly {
                    offset: off,
                    len: self.raw(p + MAX_LINE) - off,
                    reason: "ASCII line longer than 4096 bytes",
                });
                p += MAX_LINE;
                self.mid_line = true;
                continue;
            }
            if j == n {
                match fin {
                    None => {
                        self.text_ok = j - p;
                        break;
                    }
                    Some(f) => {
                        self.last_line(buf, p, n, f, emit);
                        p = n;
                        continue;
                    }
                }
            }
            let c = buf[j];
            if class(c) == TERM {
                self.line(buf, p, j, emit);
                p = j;
                continue;
            }
            if c == SYNC {
                match parse_message(&buf[j..]) {
                    Parsed::Frame(m) if !m.request => {
                        self.line(buf, p, j, emit);
                        self.message(j, m, emit);
                        p = j + m.bytes.len();
                        continue;
                    }
                    Parsed::Incomplete(_) => match fin {
                        None => {
                            self.text_ok = j - p;
                            break;
                        }
                        Some(f) => {
                            self.last_line(buf, p, j, f, emit);
                            self.garbage_from(j, f.truncated());
                            p = n;
                            continue;
                        }
                    },
                    _ => {}
                }
            }
            // A byte that is not text: the line is junk.
            self.garbage_from(p, GARBAGE);
            self.skipping = true;
            p = j + 1;
        }
        p
    }

    /// Scans what is pending (to the end with `fin`), then drops what was consumed.
    fn run(&mut self, fin: Option<Fin>, emit: &mut dyn FnMut(Found<'_>)) {
        let buf = self.dec.lend();
        let used = self.scan(&buf, fin, emit);
        self.dec.give_back(buf, used);
    }

    /// Flushes everything pending (gap or end of stream).
    fn finish(&mut self, fin: Fin, emit: &mut dyn FnMut(Found<'_>)) {
        self.run(Some(fin), emit);
        self.flush_garbage(self.raw_pos, emit);
        match fin {
            Fin::Gap => self.tn.gap(),
            Fin::End => self.tn.end(),
        }
        self.skipping = false;
        self.mid_line = false;
        self.after_prompt = false;
        self.after_cr = false;
        self.text_ok = 0;
    }

    /// Contiguous raw bytes at `offset`: Telnet removal, then framing.
    fn feed(&mut self, offset: u64, bytes: &[u8], emit: &mut dyn FnMut(Found<'_>)) {
        self.fed += bytes.len() as u64;
        let telnet = *self
            .telnet
            .get_or_insert(bytes.first() == Some(&TELNET_IAC));
        if !telnet && !self.dec.is_empty() {
            // Raw TCP: every byte is data (sel.md §4).
            self.dec.push(bytes, offset);
            self.raw_pos = offset + bytes.len() as u64;
            self.run(None, emit);
            return;
        }
        if self.dec.is_empty() && (!telnet || self.tn.is_transparent(bytes)) {
            // Nothing pending and no Telnet in the chunk: framed where it lies, and only what
            // waits for more bytes is copied.
            self.raw_pos = offset + bytes.len() as u64;
            self.dec.begin_in_place(offset, bytes.len());
            let used = self.scan(bytes, None, emit);
            self.dec.end_in_place(used, &bytes[used..]);
            return;
        }
        // One allocation for the chunk rather than a doubling series (Telnet only shrinks it).
        self.dec.reserve(bytes.len());
        self.tn.feed(offset, bytes, &mut self.dec);
        self.raw_pos = offset + bytes.len() as u64;
        self.run(None, emit);
    }
}

impl StreamState for SelState {
    fn protocol(&self) -> Protocol {
        super::PROTOCOL
    }

    fn footprint(&self) -> usize {
        std::mem::size_of::<Self>() + self.tn.heap_bytes() + self.dec.heap_bytes()
    }

    fn data(&mut self, offset: u64, bytes: &[u8], emit: &mut dyn FnMut(Found<'_>)) {
        if bytes.is_empty() {
            return;
        }
        if offset != self.raw_pos {
            let len = offset.saturating_sub(self.raw_pos);
            self.gap(offset - len, len, emit);
            self.raw_pos = offset;
        }
        // While probing, the first PROBE_BYTES are framed on their own: past them, a stream
        // without evidence is hopeless and the rest of the chunk is not looked at. The cut is
        // at a fixed stream position, so the decision does not depend on segmentation.
        let first = if self.probing && self.fed < PROBE_BYTES {
            bytes.len().min((PROBE_BYTES - self.fed) as usize)
        } else if self.probing && self.hopeless() {
            0
        } else {
            bytes.len()
        };
        if first > 0 {
            self.feed(offset, &bytes[..first], emit);
        }
        if first < bytes.len() {
            if self.probing && self.hopeless() {
                // A hopeless probe reads no further (the detector drops it).
                self.fed += (bytes.len() - first) as u64;
                self.raw_pos = offset + bytes.len() as u64;
            } else {
                self.feed(offset + first as u64, &bytes[first..], emit);
            }
        }
    }

    fn gap(&mut self, offset: u64, len: u64, emit: &mut dyn FnMut(Found<'_>)) {
        self.finish(Fin::Gap, emit);
        self.raw_pos = offset + len;
        self.skipping = true;
        self.garbage = Some((self.raw_pos, "resync after a gap"));
        self.garbage_end = None;
        self.dirty = true;
    }

    fn end(&mut self, emit: &mut dyn FnMut(Found<'_>)) {
        self.finish(Fin::End, emit);
    }

    /// See "Detection rule" in the module docs.
    fn confident(&self) -> bool {
        self.ev.confident()
    }

    /// Checksummed messages at clean positions; text lines and prompts are no evidence here.
    fn checked_frames(&self) -> u64 {
        self.ev.checked()
    }

    fn probe_limit(&mut self, limit: Option<usize>) {
        self.probing = limit.is_some();
    }

    /// While probing: no SEL evidence (no checked message, no prompt, command or SEL line)
    /// in the first 512 raw bytes (units complete within them). SEL sessions show one of
    /// these at once: Telnet sessions start with negotiation and a prompt or a command, binary
    /// polling with `A5` messages.
    fn hopeless(&self) -> bool {
        self.fed >= PROBE_BYTES && self.ev.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::super::codes::{CASCII, LINE, PROMPT};
    use super::super::frame::tests::{hex, VECTORS};
    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Out {
        F(u64, Vec<u8>, &'static str),
        A(u64, u64, &'static str),
    }

    fn out(v: &mut Vec<Out>) -> impl FnMut(Found<'_>) + '_ {
        move |f| {
            v.push(match f {
                Found::Frame {
                    offset,
                    bytes,
                    kind: Label::Name(n),
                } => Out::F(offset, bytes.to_vec(), n),
                Found::Frame { .. } => panic!("numeric label"),
                Found::Anomaly {
                    offset,
                    len,
                    reason,
                } => Out::A(offset, len, reason),
            })
        }
    }

    /// Feeds `chunks` contiguously from offset 0, then `end()`.
    fn feed(chunks: &[&[u8]]) -> (Vec<Out>, SelState) {
        let mut st = SelState::default();
        let mut v = Vec::new();
        let mut off = 0u64;
        for c in chunks {
            st.data(off, c, &mut out(&mut v));
            off += c.len() as u64;
        }
        st.end(&mut out(&mut v));
        (v, st)
    }

    fn bytewise(raw: &[u8]) -> (Vec<Out>, SelState) {
        let chunks: Vec<&[u8]> = raw.chunks(1).collect();
        feed(&chunks)
    }

    fn vector(name: &str) -> Vec<u8> {
        hex(VECTORS.iter().find(|v| v.0 == name).unwrap().1)
    }

    /// Telnet-escapes binary data (sel.md §4: every 0xFF is doubled on the wire).
    fn dbl(b: &[u8]) -> Vec<u8> {
        b.iter()
            .flat_map(|&x| if x == 0xFF { vec![0xFF, 0xFF] } else { vec![x] })
            .collect()
    }

    fn frames(v: &[Out]) -> Vec<(&'static str, Vec<u8>)> {
        v.iter()
            .filter_map(|o| match o {
                Out::F(_, b, l) => Some((*l, b.clone())),
                _ => None,
            })
            .collect()
    }

    fn anomalies(v: &[Out]) -> Vec<Out> {
        v.iter()
            .filter(|o| matches!(o, Out::A(..)))
            .cloned()
            .collect()
    }

    /// Relay side of a session shaped like fixtures/sel/synthetic/sel_synthetic_telnet_session
    /// (segments as sent).
    fn relay_segments() -> Vec<Vec<u8>> {
        let mut d1 = dbl(&vector("sel551_A5D1_fastmeter_data_SYNTH"));
        let d1b = d1.split_off(30);
        let mut fm = dbl(&vector("A546_81_ack_enable_success"));
        fm.extend(dbl(&vector("A546_18_unsolicited_SER_2elem_SYNTH")));
        vec![
            hex("FFFB01FFFB03"),
            b"\r\n=".to_vec(),
            b"ACC\r\nPassword: ? ".to_vec(),
            b"\r\n\r\nSEL-551      Date: 11/21/25    Time: 14:30:40.000\r\nLevel 1\r\n=>".to_vec(),
            b"ID\r\n\x02\r\n\"FID=SEL-700G-R200-V0-Z006003-D20180629\",\"08F0\"\r\n\"CID=59A0\",\"025C\"\r\n\x03\r\n=>".to_vec(),
            dbl(&vector("sel551_A5C0_relay_definition")),
            dbl(&vector("sel551_A5C1_fastmeter_config")),
            d1,
            d1b,
            b"2AC\r\nPassword: ? ".to_vec(),
            b"\r\n\r\nLevel 2\r\n=>>".to_vec(),
            fm,
            b"QUI\r\n\r\n=".to_vec(),
        ]
    }

    fn client_segments() -> Vec<Vec<u8>> {
        vec![
            hex("FFFD01FFFD03"),
            b"ACC\r\n".to_vec(),
            b"OTTER\r\n".to_vec(),
            b"ID\r\n".to_vec(),
            hex("A5C0"),
            hex("A5C1"),
            hex("A5D1"),
            b"2AC\r\n".to_vec(),
            b"TAIL\r\n".to_vec(),
            vector("A5E0_set_RB1"),
            vector("A5E3_open_breaker1"),
            vector("A546_01_enable_uns_SER_ackreq"),
            vector("A546_98_ack_SER"),
            b"QUI\r\n".to_vec(),
        ]
    }

    #[test]
    fn relay_session_frames() {
        let segs = relay_segments();
        let chunks: Vec<&[u8]> = segs.iter().map(Vec::as_slice).collect();
        let (v, st) = feed(&chunks);
        assert!(anomalies(&v).is_empty(), "{v:?}");
        assert!(st.confident());
        let got = frames(&v);
        let labels: Vec<&str> = got.iter().map(|f| f.0).collect();
        assert_eq!(
            labels,
            [
                PROMPT, LINE, PROMPT, LINE, LINE, PROMPT, LINE, CASCII, CASCII, PROMPT, "A5C0",
                "A5C1", "A5D1", LINE, PROMPT, LINE, PROMPT, "A546", "A546", LINE, PROMPT
            ]
        );
        let text: Vec<&[u8]> = got.iter().map(|f| f.1.as_slice()).collect();
        assert_eq!(
            &text[..4],
            [
                &b"="[..],
                b"ACC",
                b"Password: ? ",
                b"SEL-551      Date: 11/21/25    Time: 14:30:40.000"
            ]
        );
        assert_eq!(
            text[7],
            br#""FID=SEL-700G-R200-V0-Z006003-D20180629","08F0""#
        );
        assert_eq!(text[11], vector("sel551_A5C1_fastmeter_config"));
        assert_eq!(text[12], vector("sel551_A5D1_fastmeter_data_SYNTH"));
        assert_eq!(text[18], vector("A546_18_unsolicited_SER_2elem_SYNTH"));
        // Raw offsets: the prompt after the 6 IAC bytes and CRLF; the messages on the wire.
        let offs: Vec<u64> = v
            .iter()
            .map(|o| match o {
                Out::F(off, ..) => *off,
                _ => 0,
            })
            .collect();
        assert_eq!(offs[0], 8);
        let seg_start = |k: usize| segs[..k].iter().map(Vec::len).sum::<usize>() as u64;
        assert_eq!(offs[10], seg_start(5));
        assert_eq!(offs[11], seg_start(6));
        assert_eq!(offs[12], seg_start(7));
        assert_eq!(offs[17], seg_start(11));
        assert_eq!(offs[18], seg_start(11) + 14);
    }

    #[test]
    fn client_session_frames_and_detection() {
        let segs = client_segments();
        let chunks: Vec<&[u8]> = segs.iter().map(Vec::as_slice).collect();
        let (v, st) = feed(&chunks);
        assert!(anomalies(&v).is_empty(), "{v:?}");
        assert!(st.confident());
        let labels: Vec<&str> = frames(&v).iter().map(|f| f.0).collect();
        assert_eq!(
            labels,
            [
                LINE, SECRET, LINE, "A5C0-req", "A5C1-req", "A5D1-req", LINE, SECRET, "A5E0",
                "A5E3", "A546", "A546", LINE
            ]
        );
        // Offsets are raw: "ACC" follows the 6 IAC bytes.
        assert_eq!(v[0], Out::F(6, b"ACC".to_vec(), LINE));
        // The passwords (OTTER, TAIL) are markers: a salted hash, the length, a default.
        for (i, pw) in [(1, &b"OTTER"[..]), (7, b"TAIL")] {
            let Out::F(off, b, _) = &frames_at(&v, i) else {
                panic!()
            };
            let m = crate::protocols::sel::secrets::Secret::parse_marker(b).unwrap();
            assert_eq!((m.length, m.default_credential), (pw.len(), true));
            assert_eq!(m.hash, crate::protocols::sel::secrets::hash(pw));
            assert!(memchr::memmem::find(b, pw).is_none());
            assert!(*off > 6);
        }
    }

    fn frames_at(v: &[Out], i: usize) -> Out {
        v.iter()
            .filter(|o| matches!(o, Out::F(..)))
            .nth(i)
            .cloned()
            .unwrap()
    }

    #[test]
    fn raw_tcp_keeps_ff_ff_as_data() {
        // sel.md §4: no IAC at the start → raw TCP; the A5C1 configuration holds FF FF FF FF
        // FF FF (calculation-block offsets) and the A5D1 data an FF bank: both are framed
        // whole, with their checksums, as they are on the wire.
        let mut raw = b"=>".to_vec();
        raw.extend(vector("sel551_A5C1_fastmeter_config"));
        raw.extend(vector("sel551_A5D1_fastmeter_data_SYNTH"));
        raw.extend(b"\r\n=>");
        let (whole, _) = feed(&[&raw]);
        assert!(anomalies(&whole).is_empty(), "{whole:?}");
        assert_eq!(
            frames(&whole),
            vec![
                (PROMPT, b"=>".to_vec()),
                ("A5C1", vector("sel551_A5C1_fastmeter_config")),
                ("A5D1", vector("sel551_A5D1_fastmeter_data_SYNTH")),
                (PROMPT, b"=>".to_vec()),
            ]
        );
        assert_eq!(bytewise(&raw).0, whole);
        for cut in 0..raw.len() {
            assert_eq!(feed(&[&raw[..cut], &raw[cut..]]).0, whole, "cut {cut}");
        }
        // The same bytes Telnet-escaped after a negotiation: undoubled to the same messages.
        let mut tn = hex("FFFB01");
        tn.extend(dbl(&raw));
        let (t, _) = feed(&[&tn]);
        assert_eq!(frames(&t), frames(&whole));
        assert_eq!(bytewise(&tn).0, t);
        // Doubled bytes on raw TCP are two data bytes: the checksum fails, nothing is
        // undoubled into a valid message.
        let (d, _) = feed(&[&dbl(&raw)]);
        assert!(!frames(&d).iter().any(|f| f.0 == "A5C1"));
    }

    #[test]
    fn whole_segmented_and_bytewise_agree() {
        for segs in [relay_segments(), client_segments()] {
            let chunks: Vec<&[u8]> = segs.iter().map(Vec::as_slice).collect();
            let whole = segs.concat();
            let (a, sa) = feed(&chunks);
            let (b, sb) = feed(&[&whole]);
            let (c, sc) = bytewise(&whole);
            assert_eq!(a, b);
            assert_eq!(b, c);
            assert!(sa.confident() && sb.confident() && sc.confident());
        }
    }

    #[test]
    fn telnet_split_iac() {
        // IAC negotiation, a subnegotiation and doubled FF, split everywhere.
        let mut raw = hex("FFFB01FFFA1801FFF0");
        raw.extend(b"=>");
        raw.extend(dbl(&vector("A546_18_SER_records_lost_SYNTH")));
        raw.extend(hex("FFF1")); // NOP
        raw.extend(b"ID\r\n");
        let (whole, _) = feed(&[&raw]);
        assert_eq!(
            frames(&whole),
            vec![
                (PROMPT, b"=>".to_vec()),
                ("A546", vector("A546_18_SER_records_lost_SYNTH")),
                (LINE, b"ID".to_vec()),
            ]
        );
        assert_eq!(whole[0], Out::F(9, b"=>".to_vec(), PROMPT));
        assert!(matches!(whole[1], Out::F(11, ..)));
        // The SER message holds 3 FF (doubled on the wire): "ID" is at 11 + 34 + 3 + 2.
        assert!(matches!(whole[2], Out::F(50, ..)));
        for cut in 0..raw.len() {
            let (v, _) = feed(&[&raw[..cut], &raw[cut..]]);
            assert_eq!(v, whole, "cut {cut}");
        }
        assert_eq!(bytewise(&raw).0, whole);
    }

    #[test]
    fn long_subnegotiation_is_given_back() {
        let mut raw = hex("FFFA");
        raw.extend(vec![b'a'; 600]);
        raw.extend(b"\r\n");
        let (v, _) = feed(&[&raw]);
        // FF FA is not text: skipped up to CRLF.
        assert_eq!(v, vec![Out::A(0, 602, GARBAGE)]);
    }

    #[test]
    fn garbage_then_resync() {
        let mut raw = b"\x00\x01\x80junk\r\nmore\x90junk\n".to_vec();
        let g = raw.len() as u64;
        raw.extend(vector("A5E0_set_RB1"));
        raw.extend(b"\xA5\xE0\x06\x20\x81\x2D"); // bad checksum
        raw.extend(b"\r\nMET\r\n");
        let (v, st) = feed(&[&raw]);
        assert_eq!(
            v,
            vec![
                // Up to the last line break before the message.
                Out::A(0, g - 1, GARBAGE),
                Out::F(g, vector("A5E0_set_RB1"), "A5E0"),
                Out::A(g + 6, 6, GARBAGE),
                Out::F(g + 14, b"MET".to_vec(), LINE),
            ]
        );
        // The message came after junk: not clean, no evidence from it.
        assert!(!st.confident());
        assert_eq!(bytewise(&raw).0, v);
    }

    #[test]
    fn gap_cuts_frame_and_line() {
        let mut st = SelState::default();
        let mut v = Vec::new();
        let msg = vector("sel551_A5C1_fastmeter_config");
        st.data(0, b"=>", &mut out(&mut v));
        st.data(2, &msg[..20], &mut out(&mut v));
        st.gap(22, 100, &mut out(&mut v));
        st.data(122, b"tail of a line\r\nID\r\n", &mut out(&mut v));
        st.data(142, b"partial", &mut out(&mut v));
        st.gap(149, 10, &mut out(&mut v));
        st.data(159, b"\r\nMET", &mut out(&mut v));
        st.end(&mut out(&mut v));
        assert_eq!(
            v,
            vec![
                Out::F(0, b"=>".to_vec(), PROMPT),
                Out::A(2, 20, "binary message cut by a gap"),
                Out::A(122, 14, "resync after a gap"),
                Out::F(138, b"ID".to_vec(), LINE),
                Out::A(142, 7, "ASCII line cut by a gap"),
                Out::F(161, b"MET".to_vec(), LINE),
            ]
        );
    }

    #[test]
    fn end_flushes() {
        let (v, _) = feed(&[b"ID\r\nSHO"]);
        assert_eq!(
            v,
            vec![
                Out::F(0, b"ID".to_vec(), LINE),
                Out::F(4, b"SHO".to_vec(), LINE)
            ]
        );
        let msg = vector("A546_98_ack_SER");
        let (v, _) = feed(&[b"=>", &msg[..9]]);
        assert_eq!(
            v,
            vec![
                Out::F(0, b"=>".to_vec(), PROMPT),
                Out::A(2, 9, "binary message truncated at the end of the stream"),
            ]
        );
        // A pending 2-byte request is taken at the end, also when text followed it.
        let (v, _) = feed(&[&hex("A5D1"), b"ID"]);
        assert_eq!(
            v,
            vec![
                Out::F(0, hex("A5D1"), "A5D1-req"),
                Out::F(2, b"ID".to_vec(), LINE)
            ]
        );
        assert_eq!(bytewise(b"\xA5\xD1ID").0, v);
    }

    #[test]
    fn request_decided_by_content_not_by_segment() {
        // A whole segment: undecided until the next byte, or the end of the stream.
        let mut st = SelState::default();
        let mut v = Vec::new();
        st.data(0, &hex("A5C0"), &mut out(&mut v));
        assert!(v.is_empty(), "{v:?}");
        st.data(2, b"\r\n", &mut out(&mut v));
        assert_eq!(v, vec![Out::F(0, hex("A5C0"), "A5C0-req")]);
        let (v, _) = feed(&[&hex("A5C0")]);
        assert_eq!(v, vec![Out::F(0, hex("A5C0"), "A5C0-req")]);
        // Split in the middle of a relay response: the content decides.
        let msg = vector("sel2020_A5C0_relay_definition");
        let mut v = Vec::new();
        let mut st = SelState::default();
        st.data(0, b"=>", &mut out(&mut v));
        st.data(2, &msg[..1], &mut out(&mut v));
        st.data(3, &msg[1..], &mut out(&mut v));
        assert_eq!(v[1], Out::F(2, msg.clone(), "A5C0"));
        // Right after a prompt, a segment ending in A5 C0 is the head of a response.
        let mut v = Vec::new();
        let mut st = SelState::default();
        st.data(0, b"\r\n=>\xA5\xC0", &mut out(&mut v));
        st.data(6, &msg[2..], &mut out(&mut v));
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(v[1], Out::F(4, msg.clone(), "A5C0"));
        // After a CRLF in the same segment.
        let (v, _) = feed(&[b"ID\r\n\xA5\xC0", b"DNA\r\n"]);
        assert_eq!(frames(&v)[1], ("A5C0-req", hex("A5C0")));
        // selprotopy's A5 C0 0D 0A.
        let (v, _) = feed(&[b"\xA5\xC0\r\n\xA5\xC1\r\n"]);
        assert_eq!(frames(&v).len(), 2);
        assert!(anomalies(&v).is_empty());
    }

    #[test]
    fn prompt_and_message_cut_anywhere() {
        // A prompt cut after `=`, an A5CE config cut after `A5 CE` (tests/byte_by_byte.rs).
        let mut raw = b"\r\nLevel 1\r\n=>ID\r\nMET\r\n".to_vec();
        raw.extend(vector("sel701_A5CE_fastop_config"));
        raw.extend(b"=");
        let (whole, _) = feed(&[&raw]);
        assert_eq!(whole[1], Out::F(11, b"=>".to_vec(), PROMPT));
        assert_eq!(whole[2], Out::F(13, b"ID".to_vec(), LINE));
        assert_eq!(
            whole[4],
            Out::F(22, vector("sel701_A5CE_fastop_config"), "A5CE")
        );
        assert_eq!(whole[5], Out::F(46, b"=".to_vec(), PROMPT));
        assert_eq!(whole.len(), 6);
        for cut in 0..raw.len() {
            let (v, _) = feed(&[&raw[..cut], &raw[cut..]]);
            assert_eq!(v, whole, "cut {cut}");
        }
        assert_eq!(bytewise(&raw).0, whole);
    }

    #[test]
    fn line_of_max_len_cut_anywhere() {
        let mut raw = vec![b'x'; MAX_LINE];
        raw.extend(b"\r\n");
        let (whole, _) = feed(&[&raw]);
        assert_eq!(whole, vec![Out::F(0, vec![b'x'; MAX_LINE], LINE)]);
        let (v, _) = feed(&[&raw[..MAX_LINE], &raw[MAX_LINE..]]);
        assert_eq!(v, whole);
    }

    #[test]
    fn compressed_ascii_bad_checksum_is_flagged() {
        let (v, st) = feed(&[b"\x02\"FID=SEL-700G\",\"0000\"\r\n\x03"]);
        assert_eq!(
            v,
            vec![
                Out::F(1, br#""FID=SEL-700G","0000""#.to_vec(), CASCII),
                Out::A(1, 21, "compressed-ASCII line checksum mismatch"),
            ]
        );
        // FID=SEL- is strong evidence by itself.
        assert!(st.confident());
        let (_, st) = feed(&[b"\x02\r\n\"No Data Available\",\"0668\"\r\n\x03\r\n"]);
        assert!(st.confident());
    }

    #[test]
    fn long_lines_are_bounded() {
        let mut raw = vec![b'x'; 10_000];
        raw.extend(b"\r\n");
        let (v, _) = feed(&[&raw]);
        let lens: Vec<usize> = v
            .iter()
            .filter_map(|o| match o {
                Out::F(_, b, _) => Some(b.len()),
                _ => None,
            })
            .collect();
        assert_eq!(lens, [4096, 4096, 1808]);
        assert_eq!(anomalies(&v).len(), 2);
        let mut st = SelState::default();
        let mut v = Vec::new();
        for (i, c) in raw.chunks(7).enumerate() {
            st.data(7 * i as u64, c, &mut out(&mut v));
            assert!(st.dec.pending().len() <= MAX_LINE + super::super::frame::MAX_MSG);
        }
    }

    fn xorshift(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn sync_or_term_search_matches_the_classes() {
        let mut data = xorshift(7, 4096);
        // Every byte value somewhere after a stretch without sync or terminator.
        for c in 0..=255u8 {
            data.extend_from_slice(b"abcdefghijklmnopqrstuvwxyz0123456789");
            data.push(c);
        }
        for from in (0..200).chain((4096..data.len() - 40).step_by(37)) {
            for len in [0, 1, 31, 32, 33, 37, 40] {
                let s = &data[from..from + len];
                let want = s.iter().position(|&c| c == SYNC || class(c) == TERM);
                assert_eq!(find_sync_or_term(s), want);
            }
        }
    }

    #[test]
    fn random_bytes_are_not_detected() {
        for seed in 1..=8u64 {
            let data = xorshift(seed, 64 * 1024);
            let chunks: Vec<&[u8]> = data.chunks(1460).collect();
            let (v, st) = feed(&chunks);
            assert!(!st.confident(), "seed {seed}: {:?}", st.ev);
            // Junk is reported in few, coalesced anomalies, and few frames come out of it.
            assert!(frames(&v).len() < 20, "seed {seed}: {}", frames(&v).len());
            let (_, st) = feed(&[&data]);
            assert!(!st.confident(), "seed {seed}");
        }
    }

    #[test]
    fn text_protocols_are_not_detected() {
        let http: &[&[u8]] = &[
            b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 120\r\n\r\n<html><head><title>Status</title></head>\n<body>\n<p>ID = 42</p>\n<p>SET a=b</p>\n=> not a prompt\n</body></html>\n",
            b"POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nuser=ACC&password=OTTER",
        ];
        let smtp: &[&[u8]] = &[
            b"EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n",
            b"Subject: hi\r\n\r\nLevel 1\r\nPassword: ?\r\n=3D=E9t=C3=A9\r\nSET\r\n.\r\nQUIT\r\n",
            b"220 mail.example ESMTP\r\n250-mail.example\r\n250 OK\r\n354 go ahead\r\n221 bye\r\n",
        ];
        for chunks in [http, smtp] {
            let (v, st) = feed(chunks);
            assert!(!st.confident(), "{v:?}");
            let whole = chunks.concat();
            assert!(!bytewise(&whole).1.confident());
        }
    }

    /// Feeds `raw` in probe mode, cut into chunks of `size`, stopping where detection would
    /// (hopeless) as the detector does; returns whether the probe became confident.
    fn probe(raw: &[u8], size: usize) -> bool {
        let mut st = SelState::default();
        st.probe_limit(Some(16 * 1024));
        let mut v = Vec::new();
        let mut off = 0u64;
        for c in raw.chunks(size) {
            st.data(off, c, &mut out(&mut v));
            off += c.len() as u64;
            if st.confident() {
                return true;
            }
            if st.hopeless() {
                return false;
            }
        }
        st.confident()
    }

    #[test]
    fn probe_looks_at_the_first_512_bytes_however_segmented() {
        // A Telnet login: the `ACC` line is evidence when it ends within the first 512 bytes,
        // and `Password: ?` after it makes it strong.
        let login = b"ACC\r\nPassword: ?\r\n";
        for (pad, found) in [(0usize, true), (507, true), (510, false), (600, false)] {
            let mut raw = vec![b' '; pad];
            raw.extend_from_slice(login);
            raw.extend(std::iter::repeat_n(b'x', 2000));
            for size in [1, 7, 100, 511, 512, 513, 1460, raw.len()] {
                assert_eq!(probe(&raw, size), found, "padding {pad}, chunks of {size}");
            }
        }
    }
}
