//! The one list of protocols. Detection, `--proto` value lists, which records are decoded,
//! the fuzz harness and the docs' tables are all derived from it: adding a protocol is its
//! folder plus one line here (docs/ARCHITECTURE.md, "How to add a protocol").

use super::core::{DecodeConfig, Envelope, Found, Protocol};

/// Every protocol, in the order detection tries them and summaries list them.
pub static PROTOCOLS: &[Protocol] = &[
    super::solaredge::PROTOCOL,
    super::c37118::PROTOCOL,
    super::sel::PROTOCOL,
    super::pi30::PROTOCOL,
    super::tracer::PROTOCOL,
];

/// Every registered protocol, in registry order.
pub fn all() -> impl Iterator<Item = Protocol> {
    PROTOCOLS.iter().copied()
}

/// The protocol of this name.
pub fn find(name: &str) -> Option<Protocol> {
    all().find(|p| p.name() == name)
}

/// Names for a command line's `--proto` (`clap::builder::PossibleValuesParser`).
pub fn names() -> Vec<&'static str> {
    PROTOCOLS.iter().map(|p| p.name()).collect()
}

/// Feeds `stream` to a fresh stream state of `p` in chunks whose sizes come from `cuts`
/// (cycled; a 0 is a gap of one byte before the next chunk), decodes every frame with a
/// default decoder, serializes every message as JSON, and returns the frames found. The fuzz
/// harness (`fuzz/fuzz_targets/protocols.rs`) runs it for every registered protocol; it must
/// never panic.
pub fn exercise(p: Protocol, cuts: &[u8], stream: &[u8]) -> usize {
    let mut state = p.new_state();
    let mut decoder =
        p.0.new_decoder
            .and_then(|new| new(&DecodeConfig::default()).ok());
    let mut frames = 0;
    let mut out = Vec::new();
    let mut emit = |f: Found<'_>| {
        if let Found::Frame { bytes, .. } = f {
            frames += 1;
            if let Some(d) = decoder.as_mut() {
                let msg = d.decode(&Envelope::default(), bytes);
                out.clear();
                // A message that cannot be written as JSON is a bug of its decoder.
                serde_json::to_writer(&mut out, &msg).expect("message serializes");
            }
        }
    };
    let (mut at, mut offset) = (0usize, 0u64);
    for &c in cuts
        .iter()
        .cycle()
        .take(if cuts.is_empty() { 0 } else { 4096 })
    {
        if at >= stream.len() {
            break;
        }
        if c == 0 {
            state.gap(offset, 1, &mut emit);
            offset += 1;
            continue;
        }
        let n = usize::from(c).min(stream.len() - at);
        state.data(offset, &stream[at..at + n], &mut emit);
        (at, offset) = (at + n, offset + n as u64);
    }
    if at < stream.len() {
        state.data(offset, &stream[at..], &mut emit);
    }
    state.end(&mut emit);
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        let names = names();
        for (i, n) in names.iter().enumerate() {
            assert!(!names[..i].contains(n), "{n} registered twice");
            assert_eq!(find(n).map(|p| p.name()), Some(*n));
        }
        assert_eq!(find("nope"), None);
    }
}
