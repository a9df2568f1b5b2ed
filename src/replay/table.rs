//! The response table of a polled device (replay spec §2 "serve"): what the device sent after
//! each request of the capture, keyed by the request; several recorded answers to one key are
//! played in turn (`sequential`, then again from the first). What the device sent before any
//! request is its greeting, sent when a client connects. A request with no recorded answer
//! gets silence (and a log line).

use super::rewrite::Rewriter;
use super::serve::{Framer, IdleFn, Session, SessionCtx};
use super::source::Msg;
use crate::reassembly::Dir;

/// A request's keys: the exact one (its bytes, normalised), and a looser one tried when no
/// exact match was recorded (its type or function code).
pub type KeyFn = fn(kind: &str, bytes: &[u8]) -> (Vec<u8>, Vec<u8>);

/// The loose key of the request a device message answers, when its type says so rather than
/// its place in the capture (SEL: a binary response answers the request of its type).
pub type AnswersFn = fn(kind: &str, bytes: &[u8]) -> Option<Vec<u8>>;

struct Entry {
    exact: Vec<u8>,
    loose: Vec<u8>,
    /// Recorded answers: (kind, frame).
    replies: Vec<(String, Vec<u8>)>,
}

/// A session answering from the table.
pub struct TableSession {
    ctx: SessionCtx,
    framer: Framer,
    key: KeyFn,
    greeting: Vec<(String, Vec<u8>)>,
    entries: Vec<Entry>,
    /// Times each entry's key was asked for (which recorded answer comes next).
    asked: Vec<u64>,
    rw: Rewriter,
    pub unanswered: u64,
    /// What a quiet client's waiting bytes are, if a whole message ([`Framer::idle`]).
    pub idle: Option<IdleFn>,
    /// Bytes sent as they are when a client connects, before the greeting (Telnet
    /// negotiation).
    pub preamble: Vec<u8>,
}

impl TableSession {
    pub fn new(ctx: &SessionCtx, device: Dir, key: KeyFn, answers: AnswersFn) -> TableSession {
        let mut entries: Vec<Entry> = ctx
            .conv
            .side(device.other())
            .map(|r| {
                let (exact, loose) = key(&r.kind, &r.bytes);
                Entry {
                    exact,
                    loose,
                    replies: Vec::new(),
                }
            })
            .collect();
        // Each device message goes to the request its type names (the first such not yet
        // answered that way), or else to the request before it; before any, to the greeting.
        let mut typed = vec![false; entries.len()];
        let (mut greeting, mut at, mut next) = (Vec::new(), None, 0);
        for m in &ctx.conv.msgs {
            if m.dir != device {
                at = Some(next);
                next += 1;
                continue;
            }
            let by_type = answers(&m.kind, &m.bytes)
                .and_then(|k| (0..entries.len()).find(|&i| !typed[i] && entries[i].loose == k));
            let reply = (m.kind.clone(), m.bytes.clone());
            match by_type.or(at) {
                Some(i) => {
                    typed[i] |= by_type.is_some();
                    entries[i].replies.push(reply);
                }
                None => greeting.push(reply),
            }
        }
        let dev: Vec<&Msg> = ctx.conv.side(device).collect();
        TableSession {
            ctx: ctx.clone(),
            framer: Framer::new(ctx.conv.proto),
            key,
            greeting,
            asked: vec![0; entries.len()],
            entries,
            rw: ctx.rewriter(&dev),
            unanswered: 0,
            idle: None,
            preamble: Vec::new(),
        }
    }

    /// The recorded answer to a request, in turn among the entries with its key.
    fn answer(&mut self, kind: &str, bytes: &[u8]) -> Option<usize> {
        let (exact, loose) = (self.key)(kind, bytes);
        let mut hits: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.entries[i].exact == exact)
            .collect();
        if hits.is_empty() {
            hits = (0..self.entries.len())
                .filter(|&i| self.entries[i].loose == loose)
                .collect();
        }
        let first = *hits.first()?;
        let turn = self.asked[first];
        self.asked[first] += 1;
        Some(hits[(turn % hits.len() as u64) as usize])
    }

    fn reply(&mut self, kind: &str, f: &[u8], out: &mut Vec<Vec<u8>>) {
        match self.answer(kind, f) {
            Some(i) => out.extend(self.entries[i].replies.iter().map(|r| self.out(r))),
            None => self.unanswered += 1,
        }
    }

    /// A recorded frame as it goes out: rewritten, then in its wire form.
    fn out(&self, (kind, f): &(String, Vec<u8>)) -> Vec<u8> {
        let c = &self.ctx;
        c.replayer.wire(&c.conv, kind, self.rw.apply(f, 0))
    }
}

impl Session for TableSession {
    fn start(&mut self, out: &mut Vec<Vec<u8>>) {
        if !self.preamble.is_empty() {
            out.push(self.preamble.clone());
        }
        out.extend(self.greeting.iter().map(|r| self.out(r)));
    }

    fn input(&mut self, bytes: &[u8], out: &mut Vec<Vec<u8>>) -> Result<u64, String> {
        let frames = self.framer.feed(bytes)?;
        for (kind, f) in &frames {
            self.reply(kind, f, out);
        }
        Ok(frames.len() as u64)
    }

    fn idle(&mut self, out: &mut Vec<Vec<u8>>) -> u64 {
        let Some((kind, f)) = self.idle.and_then(|d| self.framer.idle(d)) else {
            return 0;
        };
        self.reply(&kind, &f, out);
        1
    }
}
