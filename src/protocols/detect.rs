//! Content detection per direction (never by port). Every candidate protocol's stream state
//! runs in probe mode on the direction's first bytes; what it finds is held back. The first
//! protocol whose detection rule is met ([`StreamState::confident`]) wins: its held frames are
//! released and it alone sees the rest of the stream. After `window` bytes without a winner the
//! direction is given up (nothing is reported for it). A forced protocol skips detection.

use super::c37118::state::C37State;
use super::sel::state::SelState;
use super::solaredge::state::SeState;
use super::{Found, Label, Protocol, StreamState};

/// An owned copy of a frame or anomaly (what a decision releases, before it is sorted into
/// capture order).
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

/// A protocol's stream state held inline: a direction's probes live in one allocation.
enum AnyState {
    SolarEdge(SeState),
    C37118(C37State),
    Sel(SelState),
}

impl AnyState {
    fn new(p: Protocol) -> AnyState {
        match p {
            Protocol::SolarEdge => AnyState::SolarEdge(SeState::default()),
            Protocol::C37118 => AnyState::C37118(C37State::default()),
            Protocol::Sel => AnyState::Sel(SelState::default()),
        }
    }

    fn get(&self) -> &dyn StreamState {
        match self {
            AnyState::SolarEdge(s) => s,
            AnyState::C37118(s) => s,
            AnyState::Sel(s) => s,
        }
    }

    fn get_mut(&mut self) -> &mut dyn StreamState {
        match self {
            AnyState::SolarEdge(s) => s,
            AnyState::C37118(s) => s,
            AnyState::Sel(s) => s,
        }
    }

    fn boxed(self) -> Box<dyn StreamState> {
        match self {
            AnyState::SolarEdge(s) => Box::new(s),
            AnyState::C37118(s) => Box::new(s),
            AnyState::Sel(s) => Box::new(s),
        }
    }
}

struct Probe<C> {
    state: AnyState,
    /// What the probe found, in order; frames' bytes are in `held_data`, one after the other
    /// (one buffer per probe rather than one allocation per frame).
    held: Vec<(C, Kept)>,
    held_data: Vec<u8>,
}

/// A held item; a frame's bytes are the next `len` bytes of the probe's `held_data`.
enum Kept {
    Frame {
        offset: u64,
        len: usize,
        kind: Label,
    },
    Anomaly {
        offset: u64,
        len: u64,
        reason: &'static str,
    },
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
                        let mut state = AnyState::new(*p);
                        state.get_mut().probe_limit(Some(window as usize));
                        Probe {
                            state,
                            held: Vec::new(),
                            held_data: Vec::new(),
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
                .filter(|pr| pr.state.get().protocol() == p)
                .flat_map(|pr| pr.held.iter())
                .filter(|h| matches!(h.1, Kept::Frame { .. }))
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
        match probes.into_iter().find(|pr| pr.state.get().protocol() == p) {
            Some(mut pr) => {
                let mut at = 0;
                for (ctx, k) in &pr.held {
                    let found = match *k {
                        Kept::Frame { offset, len, kind } => {
                            at += len;
                            Found::Frame {
                                offset,
                                bytes: &pr.held_data[at - len..at],
                                kind,
                            }
                        }
                        Kept::Anomaly {
                            offset,
                            len,
                            reason,
                        } => Found::Anomaly {
                            offset,
                            len,
                            reason,
                        },
                    };
                    emit(ctx, p, found);
                }
                pr.state.get_mut().probe_limit(None);
                self.phase = Phase::Decided(pr.state.boxed());
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
                    let (held, data) = (&mut pr.held, &mut pr.held_data);
                    f(pr.state.get_mut(), &mut |found| {
                        let kept = match found {
                            Found::Frame {
                                offset,
                                bytes,
                                kind,
                            } => {
                                data.extend_from_slice(bytes);
                                Kept::Frame {
                                    offset,
                                    len: bytes.len(),
                                    kind,
                                }
                            }
                            Found::Anomaly {
                                offset,
                                len,
                                reason,
                            } => Kept::Anomaly {
                                offset,
                                len,
                                reason,
                            },
                        };
                        held.push((ctx.clone(), kept));
                    });
                    if winner.is_none() && pr.state.get().confident() {
                        winner = Some(pr.state.get().protocol());
                    }
                }
                probes.retain(|p| p.held_data.len() <= MAX_HELD && !p.state.get().hopeless());
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
