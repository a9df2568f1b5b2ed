//! Content detection per direction (never by port). Every candidate protocol's stream state
//! runs in probe mode on the direction's first bytes; what it finds is held back. The first
//! protocol whose detection rule is met ([`StreamState::confident`]) wins: its held frames are
//! released and it alone sees the rest of the stream. After `window` bytes without a winner the
//! direction is given up (nothing is reported for it). A forced protocol skips detection.

use super::{Found, Label, Protocol, StreamState};

/// Found items kept for later (what a probe holds back until detection decides, what a
/// decision releases before it is put in capture order), each with the caller's context `C`;
/// frames' bytes sit one after the other in one buffer (not one allocation per frame).
pub struct Held<C> {
    items: Vec<(C, Kept)>,
    data: Vec<u8>,
}

/// A held item; a frame's bytes are `data[start..start + len]`.
enum Kept {
    Frame {
        offset: u64,
        start: usize,
        len: usize,
        kind: Label,
    },
    Anomaly {
        offset: u64,
        len: u64,
        reason: &'static str,
    },
}

impl<C> Default for Held<C> {
    fn default() -> Self {
        Held {
            items: Vec::new(),
            data: Vec::new(),
        }
    }
}

impl<C> Held<C> {
    /// Keeps a copy of `found` with its context.
    pub fn push(&mut self, ctx: C, found: &Found<'_>) {
        // Most probes hold one item or none: room for one first, not the usual four.
        if self.items.capacity() == 0 {
            self.items.reserve_exact(1);
        }
        let kept = match *found {
            Found::Frame {
                offset,
                bytes,
                kind,
            } => {
                let start = self.data.len();
                self.data.extend_from_slice(bytes);
                Kept::Frame {
                    offset,
                    start,
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
        self.items.push((ctx, kept));
    }

    /// Bytes of frames held.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// Heap bytes held (by capacity, with the allocator's header of each buffer).
    pub fn footprint(&self) -> usize {
        let vec = |cap: usize, size: usize| {
            if cap == 0 {
                0
            } else {
                cap * size + ALLOC_HEADER
            }
        };
        vec(self.items.capacity(), std::mem::size_of::<(C, Kept)>()) + vec(self.data.capacity(), 1)
    }

    /// Orders the items by a key of their context (stable: equal keys keep their order).
    pub fn sort_by_key<K: Ord>(&mut self, mut key: impl FnMut(&C) -> K) {
        self.items.sort_by_key(|(c, _)| key(c));
    }

    /// Every item in order, borrowed again as a [`Found`].
    pub fn for_each(&self, mut f: impl FnMut(&C, Found<'_>)) {
        for (ctx, k) in &self.items {
            let found = match *k {
                Kept::Frame {
                    offset,
                    start,
                    len,
                    kind,
                } => Found::Frame {
                    offset,
                    bytes: &self.data[start..start + len],
                    kind,
                },
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
            f(ctx, found);
        }
    }
}

/// One operation on a stream state (data, gap or end), with the state's emitter.
type StepFn<'a> = dyn FnMut(&mut dyn StreamState, &mut dyn FnMut(Found<'_>)) + 'a;

struct Probe<C> {
    state: Box<dyn StreamState>,
    /// What the probe found, in order.
    held: Held<C>,
}

enum Phase<C> {
    /// No byte seen yet: the probes are made when the first data or gap comes, so a direction
    /// that never carries data (a lone SYN, the silent side of a UDP flow) costs nothing.
    Fresh,
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

/// What the allocator adds to each allocation (glibc: an 8-byte header, 16-byte rounding).
pub const ALLOC_HEADER: usize = 16;

/// Bytes of frames held per probe at most (a probe holding more gives up).
const MAX_HELD: usize = 256 * 1024;

impl<C: Clone> Detector<C> {
    /// Probes `candidates` over the first `window` bytes; a single forced protocol is decided
    /// from the start.
    pub fn new(candidates: &[Protocol], forced: Option<Protocol>, window: u64) -> Self {
        let mut d = Self::fresh(forced, window);
        d.start(candidates);
        d
    }

    /// A detector whose probes are made by [`Detector::start`] when its first byte comes (a
    /// forced protocol is decided at once).
    pub fn fresh(forced: Option<Protocol>, window: u64) -> Self {
        Detector {
            phase: forced.map_or(Phase::Fresh, |p| Phase::Decided(p.new_state())),
            seen: 0,
            window,
        }
    }

    /// Makes the probes of a fresh detector; no effect otherwise.
    pub fn start(&mut self, candidates: &[Protocol]) {
        if !matches!(self.phase, Phase::Fresh) {
            return;
        }
        let window = self.window;
        self.phase = Phase::Probing(
            candidates
                .iter()
                .map(|p| {
                    let mut state = p.new_state();
                    state.probe_limit(Some(window as usize));
                    Probe {
                        state,
                        held: Held::default(),
                    }
                })
                .collect(),
        );
    }

    /// No probe made yet.
    pub fn is_fresh(&self) -> bool {
        matches!(self.phase, Phase::Fresh)
    }

    /// Heap bytes held for this direction: probe states, what they hold, the decided state.
    pub fn footprint(&self) -> usize {
        match &self.phase {
            Phase::Fresh | Phase::GivenUp => 0,
            Phase::Decided(s) => s.footprint(),
            Phase::Probing(probes) => {
                probes.capacity() * std::mem::size_of::<Probe<C>>()
                    + ALLOC_HEADER
                    + probes
                        .iter()
                        .map(|p| p.state.footprint() + ALLOC_HEADER + p.held.footprint())
                        .sum::<usize>()
            }
        }
    }

    /// The protocol, once decided.
    pub fn protocol(&self) -> Option<Protocol> {
        match &self.phase {
            Phase::Decided(s) => Some(s.protocol()),
            _ => None,
        }
    }

    /// Frames with a verified check a still-undecided probe of `p` has found
    /// ([`StreamState::checked_frames`]).
    pub fn probe_frames(&self, p: Protocol) -> u64 {
        match &self.phase {
            Phase::Probing(probes) => probes
                .iter()
                .filter(|pr| pr.state.protocol() == p)
                .map(|pr| pr.state.checked_frames())
                .sum(),
            _ => 0,
        }
    }

    pub fn undecided(&self) -> bool {
        matches!(self.phase, Phase::Probing(_) | Phase::Fresh)
    }

    pub fn given_up(&self) -> bool {
        matches!(self.phase, Phase::GivenUp)
    }

    /// Decides for `p` (e.g. because the other direction of the connection was detected as
    /// `p`); releases what that probe held. No effect once decided.
    pub fn decide(&mut self, p: Protocol, emit: &mut dyn FnMut(&C, Protocol, Found<'_>)) {
        let probes = match std::mem::replace(&mut self.phase, Phase::GivenUp) {
            Phase::Probing(probes) => probes,
            Phase::Fresh => Vec::new(),
            other => {
                self.phase = other;
                return;
            }
        };
        match probes.into_iter().find(|pr| pr.state.protocol() == p) {
            Some(mut pr) => {
                pr.held.for_each(|ctx, found| emit(ctx, p, found));
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
            // A stream that ends before its first byte: nothing to look at.
            Phase::GivenUp | Phase::Fresh => None,
            Phase::Probing(probes) => {
                let mut winner = None;
                for pr in probes.iter_mut() {
                    let held = &mut pr.held;
                    f(pr.state.as_mut(), &mut |found| {
                        held.push(ctx.clone(), &found)
                    });
                    if winner.is_none() && pr.state.confident() {
                        winner = Some(pr.state.protocol());
                    }
                }
                probes.retain(|p| p.held.bytes() <= MAX_HELD && !p.state.hopeless());
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
