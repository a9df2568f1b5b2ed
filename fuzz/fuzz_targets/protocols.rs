//! Every registered protocol (`sekit::protocols::registry::PROTOCOLS`): byte 0 picks the
//! protocol, the next 4 bytes are chunk sizes (0 = a one-byte gap), the rest is the stream; it
//! is framed by the protocol's stream state and every frame is decoded by its decoder and
//! written as JSON (`registry::exercise`). A protocol added to the registry is fuzzed here
//! without a target of its own.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sekit::protocols::registry;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let p = registry::PROTOCOLS[usize::from(pick) % registry::PROTOCOLS.len()];
    let (cuts, stream) = rest.split_at(rest.len().min(4));
    registry::exercise(p, cuts, stream);
});
