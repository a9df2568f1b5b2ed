#!/usr/bin/env bash
# Replay timing benchmark (docs/BENCHMARKS.md, "Replay timing"): 10,000 C37.118 frames at
# 50 frames/s replayed with --speed 10 (20 s), sereplay's lateness and the receiver's drift;
# then tcpreplay -x 10 on the same frames as a pcap, when tcpreplay is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin sereplay -q
python3 bench/replay_timing.py target/release/sereplay 10000 50 10
if command -v tcpreplay >/dev/null; then
    echo "$(tcpreplay -V 2>&1 | head -1)"; python3 bench/replay_timing.py tcpreplay 10000 50 10
else
    echo "tcpreplay: not installed (apt-get install tcpreplay)"
fi
