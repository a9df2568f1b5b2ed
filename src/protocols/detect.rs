//! Content detection per direction (never by port). Every candidate protocol's stream state
//! runs in probe mode on the direction's first bytes; what it finds is held back. The first
//! protocol whose detection rule is met ([`StreamState::confident`]) wins: its held frames are
//! released and it alone sees the rest of the stream. After `window` bytes without a winner the
//! direction is given up (nothing is reported for it). A forced protocol skips detection.

use super::{Found, Label, Protocol, StreamState};

/// A frame or anomaly held while detection is undecided, with where it was completed.
#[derive(Clone, Debug)]
pub struct Held<C> {
    pub ctx: C,
    pub item: HeldItem,
}

#[derive(Clone, Debug)]
pub enum HeldItem {
    Frame {
        offset: u64,
        bytes: Vec<u8>,
        kind: Label,
    },
    Anomaly {
        offset: u64,
        len: u64,
        reason: &'static str,
    },
}

impl HeldItem {
    pub fn from_found(f: &Found<'_>) -> HeldItem {
        match *f {
            Found::Frame {
                offset,
                bytes,
                kind,
            } => HeldItem::Frame {
                offset,
                bytes: bytes.to_vec(),
                kind,
            },
            Found::Anomaly {
                offset,
                len,
                reason,
            } => HeldItem::Anomaly {
                offset,
                len,
                reason,
            },
        }
    }

    pub fn as_found(&self) -> Found<'_> {
        match self {
            HeldItem::Frame {
                offset,
                bytes,
                kind,
            } => Found::Frame {
                offset: *offset,
                bytes,
                kind: *kind,
            },
            HeldItem::Anomaly {
                offset,
                len,
                reason,
            } => Found::Anomaly {
                offset: *offset,
                len: *len,
                reason,
            },
        }
    }
}

/// One operation on a stream state (data, gap or end), with the state's emitter.
type StepFn<'a> = dyn FnMut(&mut dyn StreamState, &mut dyn FnMut(Found<'_>)) + 'a;

struct Probe<C> {
    state: Box<dyn StreamState>,
    held: Vec<Held<C>>,
    held_bytes: usize,
}

enum Phase<C> {
    Probing(Vec<Probe<C>>),
    Decided(Box<dyn StreamState>),
    GivenUp,
}

/// Detection and framing for one direction. `C` is the caller's provenance (packet context)
/// kept with held items.
pub struct Detector<C> {
    phase: Phase<C>,
    seen: u64,
    window: u64,
}

/// Bytes of frames held per probe at most (a probe holding more gives up).
const MAX_HELD: usize = 256 * 1024;

impl<C: Clone> Detector<C> {
    /// Probes `candidates` over the first `window` bytes; a single forced protocol is decided
    /// from the start.
    pub fn new(candidates: &[Protocol], forced: Option<Protocol>, window: u64) -> Self {
        let phase = match forced {
            Some(p) => Phase::Decided(p.new_state()),
            None => Phase::Probing(
                candidates
                    .iter()
                    .map(|p| {
                        let mut state = p.new_state();
                        state.probe_limit(Some(window as usize));
                        Probe {
                            state,
                            held: Vec::new(),
                            held_bytes: 0,
                        }
                    })
                    .collect(),
            ),
        };
        Detector {
            phase,
            seen: 0,
            window,
        }
    }

    /// The protocol, once decided.
    pub fn protocol(&self) -> Option<Protocol> {
        match &self.phase {
            Phase::Decided(s) => Some(s.protocol()),
            _ => None,
        }
    }

    /// Valid frames a still-undecided probe of `p` has found.
    pub fn probe_frames(&self, p: Protocol) -> usize {
        match &self.phase {
            Phase::Probing(probes) => probes
                .iter()
                .filter(|pr| pr.state.protocol() == p)
                .flat_map(|pr| pr.held.iter())
                .filter(|h| matches!(h.item, HeldItem::Frame { .. }))
                .count(),
            _ => 0,
        }
    }

    pub fn undecided(&self) -> bool {
        matches!(self.phase, Phase::Probing(_))
    }

    pub fn given_up(&self) -> bool {
        matches!(self.phase, Phase::GivenUp)
    }

    /// Decides for `p` (e.g. because the other direction of the connection was detected as
    /// `p`); releases what that probe held. No effect once decided.
    pub fn decide(&mut self, p: Protocol, emit: &mut dyn FnMut(&C, Protocol, Found<'_>)) {
        let probes = match std::mem::replace(&mut self.phase, Phase::GivenUp) {
            Phase::Probing(probes) => probes,
            other => {
                self.phase = other;
                return;
            }
        };
        match probes.into_iter().find(|pr| pr.state.protocol() == p) {
            Some(mut pr) => {
                for h in &pr.held {
                    emit(&h.ctx, p, h.item.as_found());
                }
                pr.state.probe_limit(None);
                self.phase = Phase::Decided(pr.state);
            }
            None => self.phase = Phase::Decided(p.new_state()),
        }
    }

    fn step(
        &mut self,
        ctx: &C,
        emit: &mut dyn FnMut(&C, Protocol, Found<'_>),
        f: &mut StepFn<'_>,
    ) -> Option<Protocol> {
        match &mut self.phase {
            Phase::Decided(s) => {
                let p = s.protocol();
                f(s.as_mut(), &mut |found| emit(ctx, p, found));
                None
            }
            Phase::GivenUp => None,
            Phase::Probing(probes) => {
                let mut winner = None;
                for pr in probes.iter_mut() {
                    let (held, held_bytes) = (&mut pr.held, &mut pr.held_bytes);
                    f(pr.state.as_mut(), &mut |found| {
                        if let Found::Frame { bytes, .. } = &found {
                            *held_bytes += bytes.len();
                        }
                        held.push(Held {
                            ctx: ctx.clone(),
                            item: HeldItem::from_found(&found),
                        });
                    });
                    if winner.is_none() && pr.state.confident() {
                        winner = Some(pr.state.protocol());
                    }
                }
                probes.retain(|p| p.held_bytes <= MAX_HELD && !p.state.hopeless());
                if let Some(p) = winner {
                    self.decide(p, emit);
                    return Some(p);
                }
                if self.seen >= self.window || probes.is_empty() {
                    self.phase = Phase::GivenUp;
                }
                None
            }
        }
    }

    /// Stream bytes; returns the protocol if this call decided it.
    pub fn data(
        &mut self,
        ctx: &C,
        offset: u64,
        bytes: &[u8],
        emit: &mut dyn FnMut(&C, Protocol, Found<'_>),
    ) -> Option<Protocol> {
        if matches!(self.phase, Phase::GivenUp) {
            return None;
        }
        self.seen += bytes.len() as u64;
        self.step(ctx, emit, &mut |s, e| s.data(offset, bytes, e))
    }

    pub fn gap(
        &mut self,
        ctx: &C,
        offset: u64,
        len: u64,
        emit: &mut dyn FnMut(&C, Protocol, Found<'_>),
    ) -> Option<Protocol> {
        self.step(ctx, emit, &mut |s, e| s.gap(offset, len, e))
    }

    /// End of the stream or of a datagram.
    pub fn end(
        &mut self,
        ctx: &C,
        emit: &mut dyn FnMut(&C, Protocol, Found<'_>),
    ) -> Option<Protocol> {
        self.step(ctx, emit, &mut |s, e| s.end(e))
    }
}
