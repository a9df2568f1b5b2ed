#!/usr/bin/env bash
# SEL benchmark: seextract | sedecode on an SEL-dense capture (bench/gen_sel_dense.py) beside
# tshark's SEL dissector on the same file (docs/SEL.md "Performance").
#
#   bench/sel.sh [DIR]        DIR holds seldense.pcap (generated when missing; default /tmp/sekit-bench)
#
# Environment: SEL_MB=MB (default 110), SEL_CONNS=N (default 200), NO_TSHARK=1 to skip tshark.
# Prints one line per tool: seconds (wall), CPU seconds, records, records/s, MB/s.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-/tmp/sekit-bench}
mkdir -p "$DIR"
PCAP="$DIR/seldense.pcap"
BIN="$ROOT/target/release"
[ -x "$BIN/seextract" ] || cargo build --release --bins --manifest-path "$ROOT/Cargo.toml"
if [ ! -s "$PCAP" ]; then
    python3 "$ROOT/bench/gen_sel_dense.py" -o "$PCAP" --target-mb "${SEL_MB:-110}" --conns "${SEL_CONNS:-200}" >&2
fi
MB=$(python3 -c "import os,sys; print(os.path.getsize(sys.argv[1]) / 1e6)" "$PCAP")
measure() { # name, records-counting command, pipeline...
    local name=$1 count=$2; shift 2
    local t0 t1 cpu
    t0=$(date +%s.%N)
    cpu=$( { /usr/bin/time -f "%U %S" bash -c "$*" > "$DIR/$name.out"; } 2>&1 | tail -1 )
    t1=$(date +%s.%N)
    local n; n=$(eval "$count" < "$DIR/$name.out")
    python3 - "$name" "$t0" "$t1" "$cpu" "$n" "$MB" <<'PY'
import sys
name, t0, t1, cpu, n, mb = sys.argv[1:]
wall = float(t1) - float(t0); c = sum(map(float, cpu.split()))
print(f"{name}: {wall:.2f} s wall, {c:.2f} s CPU, {n} records, {int(n)/wall:,.0f} records/s, {float(mb)/wall:.2f} MB/s")
PY
}
measure seextract "grep -c '\"type\":\"frame\"'" "$BIN/seextract -q '$PCAP'"
measure sekit "grep -c '\"type\":\"decoded\"'" "$BIN/seextract -q '$PCAP' | $BIN/sedecode -q"
if [ -z "${NO_TSHARK:-}" ] && command -v tshark > /dev/null; then
    measure tshark "grep -c '\"selfm'" "tshark -r '$PCAP' -d tcp.port==23,selfm -T ek 2>/dev/null"
else
    echo "tshark: skipped (not installed or NO_TSHARK set)"
fi
