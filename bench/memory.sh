#!/usr/bin/env bash
# Memory budget benchmark: peak resident memory of seextract and sefollow --list on the four
# adversarial captures of bench/gen_adversarial.py (1 M lone SYNs, 1 M one-datagram UDP flows,
# 200 k connections each holding a 4,000-byte frame start during detection, 200 k short
# connections left open), against the goal peak RSS <= budget + 64 MiB.
#
# Usage: bench/memory.sh [BUDGET]   (default 256M; any --max-memory value)
# Environment: BENCH_DIR (default target/bench), BIN (default target/release).
# Prints one row per (capture, tool): peak RSS, connections evicted, the state peak the tool
# counted, and whether the goal holds; exits 1 if it does not hold for some row.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUDGET="${1:-256M}"
BENCH_DIR="${BENCH_DIR:-$ROOT/target/bench}/adversarial"
BIN="${BIN:-$ROOT/target/release}"
mkdir -p "$BENCH_DIR"
[ -x "$BIN/seextract" ] || (cd "$ROOT" && cargo build --release)
budget_kib=$(python3 -c 'import sys
s=sys.argv[1]; m={"K":1,"M":1024,"G":1<<20}
print(int(s[:-1])*m[s[-1].upper()] if s[-1].upper() in m else int(s)//1024)' "$BUDGET")
limit_kib=$((budget_kib + 64 * 1024))
for kind in syn udp held short; do
    [ -s "$BENCH_DIR/$kind.pcap" ] || python3 "$ROOT/bench/gen_adversarial.py" "$kind" -o "$BENCH_DIR/$kind.pcap" >&2
done
# peak KiB of one command (its children's ru_maxrss), then its stderr's last line
measure() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)
print(r.stderr.decode(errors="replace").strip().splitlines()[-1] if r.stderr else "")
PY
}
fail=0
printf '%-6s %-16s %12s %10s %14s %s\n' capture tool "peak RSS KiB" evicted "state peak KiB" goal
for kind in syn udp held short; do
    for tool in seextract "sefollow --list"; do
        # shellcheck disable=SC2086
        out=$(measure "$BIN"/$tool --max-memory "$BUDGET" "$BENCH_DIR/$kind.pcap")
        rss=$(echo "$out" | head -1 | cut -d' ' -f1)
        summary=$(echo "$out" | tail -1)
        evicted=$(echo "$summary" | sed -n 's/.* \([0-9]*\) conns evicted.*/\1/p')
        peak=$(echo "$summary" | sed -n 's/.*state peak \([0-9]*\) KiB.*/\1/p')
        ok=yes
        [ "$rss" -le "$limit_kib" ] || { ok=NO; fail=1; }
        printf '%-6s %-16s %12s %10s %14s %s (<= %s)\n' "$kind" "$tool" "$rss" "$evicted" "$peak" "$ok" "$limit_kib"
    done
done
exit $fail
