//! The response table of a polled device (replay spec §2 "serve"): what the device sent after
//! each request of the capture, keyed by the request; several recorded answers to one key are
//! played in turn (`sequential`, then again from the first). What the device sent before any
//! request is its greeting, sent when a client connects. A request with no recorded answer
//! gets silence (and a log line).

use super::rewrite::Rewriter;
use super::serve::{Framer, Session, SessionCtx};
use super::source::Msg;
use crate::reassembly::Dir;

/// A request's keys: the exact one (its bytes, normalised), and a looser one tried when no
/// exact match was recorded (its type or function code).
pub type KeyFn = fn(kind: &str, bytes: &[u8]) -> (Vec<u8>, Vec<u8>);

struct Entry {
    exact: Vec<u8>,
    loose: Vec<u8>,
    replies: Vec<Vec<u8>>,
}

/// A session answering from the table.
pub struct TableSession {
    framer: Framer,
    key: KeyFn,
    greeting: Vec<Vec<u8>>,
    entries: Vec<Entry>,
    /// Times each entry's key was asked for (which recorded answer comes next).
    asked: Vec<u64>,
    rw: Rewriter,
    pub unanswered: u64,
}

impl TableSession {
    pub fn new(ctx: &SessionCtx, device: Dir, key: KeyFn) -> TableSession {
        let (mut greeting, mut entries) = (Vec::new(), Vec::<Entry>::new());
        for m in &ctx.conv.msgs {
            if m.dir == device {
                match entries.last_mut() {
                    Some(e) => e.replies.push(m.bytes.clone()),
                    None => greeting.push(m.bytes.clone()),
                }
            } else {
                let (exact, loose) = key(&m.kind, &m.bytes);
                entries.push(Entry {
                    exact,
                    loose,
                    replies: Vec::new(),
                });
            }
        }
        let dev: Vec<&Msg> = ctx.conv.side(device).collect();
        TableSession {
            framer: Framer::new(ctx.conv.proto),
            key,
            greeting,
            asked: vec![0; entries.len()],
            entries,
            rw: ctx.rewriter(&dev),
            unanswered: 0,
        }
    }

    /// The recorded answer to a request, in turn among the entries with its key.
    fn answer(&mut self, kind: &str, bytes: &[u8]) -> Option<&[Vec<u8>]> {
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
        let i = hits[(turn % hits.len() as u64) as usize];
        Some(&self.entries[i].replies)
    }
}

impl Session for TableSession {
    fn start(&mut self, out: &mut Vec<Vec<u8>>) {
        out.extend(self.greeting.iter().map(|f| self.rw.apply(f, 0)));
    }

    fn input(&mut self, bytes: &[u8], out: &mut Vec<Vec<u8>>) -> Result<u64, String> {
        let frames = self.framer.feed(bytes)?;
        for (kind, f) in &frames {
            let replies: Option<Vec<Vec<u8>>> = self.answer(kind, f).map(<[_]>::to_vec);
            match replies {
                Some(r) => out.extend(r.iter().map(|f| self.rw.apply(f, 0))),
                None => self.unanswered += 1,
            }
        }
        Ok(frames.len() as u64)
    }
}
