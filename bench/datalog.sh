#!/bin/sh
# selog / seserve benchmark (docs/BENCHMARKS.md "selog and seserve"):
#  1. selog --interval 0 on the decoded records of samples/c37118, repeated (timestamps shifted
#     by 10,000 s per copy so every copy is new data) to >= 1 M field values;
#  2. selog on the SolarEdge sample's records x REPS_SE (1,000);
#  3. /graph latency (curl, median of 5) on a stats table of ROWS (10 M) rows over one year
#     (served from the rollup tables selog builds on open);
#  4. database size per million values.
# Usage: bench/datalog.sh [WORKDIR]   (ROWS=… REPS_C37=… REPS_SE=… override the sizes)
set -eu
cd "$(dirname "$0")/.."
W=${1:-$(mktemp -d)}
ROWS=${ROWS:-10000000}
REPS_C37=${REPS_C37:-20}
REPS_SE=${REPS_SE:-1000}
cargo build --release --bin seextract --bin sedecode --bin selog --bin seserve >/dev/null 2>&1
B=target/release
export TZ=UTC

repeat() { # repeat FILE N > out: N copies, envelope ts shifted by 10,000 s each
  python3 - "$1" "$2" <<'EOF'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
ts = re.compile(r'"ts":([0-9.]+)')
out = sys.stdout
for k in range(int(sys.argv[2])):
    d = k * 10000
    for l in lines:
        out.write(ts.sub(lambda m: '"ts":%.6f' % (float(m.group(1)) + d), l, count=1) + "\n")
EOF
}

run_selog() { # run_selog NAME INPUT
  rm -f "$W/$1.db" "$W/$1.db-wal" "$W/$1.db-shm"
  s=$(date +%s.%N)
  cpu=$( { /usr/bin/time -f '%U %S' $B/selog -q -d "$W/$1.db" --interval 0 "$2"; } 2>&1 | tail -1)
  e=$(date +%s.%N)
  n=$(sqlite3 "$W/$1.db" "SELECT COUNT(1) FROM points")
  sz=$(stat -c %s "$W/$1.db")
  python3 -c "
n, t, sz = $n, $e - $s, $sz
cpu = sum(map(float, '$cpu'.split()))
print(f'$1: {n:,} field values in {t:.2f} s wall = {n / t:,.0f} values/s; CPU (user+sys) {cpu:.2f} s = {n / cpu:,.0f} values/s; db {sz / 1e6:.1f} MB = {sz / n * 1e6 / 1e6:.1f} MB per million values')"
}

$B/seextract samples/c37118 2>/dev/null | $B/sedecode 2>/dev/null >"$W/c37.jsonl"
$B/seextract samples/solaredge 2>/dev/null | $B/sedecode 2>/dev/null >"$W/se.jsonl"
repeat "$W/c37.jsonl" "$REPS_C37" >"$W/c37-rep.jsonl"
repeat "$W/se.jsonl" "$REPS_SE" >"$W/se-rep.jsonl"
echo "input: c37118 $(wc -l <"$W/c37-rep.jsonl") records, solaredge $(wc -l <"$W/se-rep.jsonl") records"
run_selog c37118 "$W/c37-rep.jsonl"
run_selog solaredge "$W/se-rep.jsonl"

# 3. A stats table of ROWS rows spread over 2023 (the schema from selog itself).
G="$W/graph.db"
rm -f "$G" "$G-wal" "$G-shm"
grep '"command":"QPIGS"' tests/data/datalog/pi30-bridge-and-eybond.jsonl | grep '"role":"reply"' | head -1 |
  $B/selog -q -d "$G"
s=$(date +%s.%N)
# Loaded without the rollup triggers (as into a database of an older selog); selog's next
# open builds the rollups (timed below).
sqlite3 "$G" "DROP TRIGGER stats_rollup_ins; DROP TRIGGER stats_rollup_del; DROP TRIGGER stats_rollup_upd;
DELETE FROM meta WHERE key = 'rollups'; DELETE FROM stats; PRAGMA journal_mode=WAL;
WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i + 1 < $ROWS)
INSERT INTO stats (datetime, grid_volt, batt_volt, batt_charge_amps, pv_amps, pv_watts, device)
SELECT 1672531200 + i * 31536000 / $ROWS, 230.0, 48.0 + (i % 400) / 100.0, i % 20, i % 15,
       i % 3000, '192.168.7.20' FROM r;" >/dev/null
e=$(date +%s.%N)
echo "stats: $(sqlite3 "$G" 'SELECT COUNT(1) FROM stats') rows loaded in $(python3 -c "print(f'{$e - $s:.1f}')") s; db $(du -m "$G" | cut -f1) MB"
s=$(date +%s.%N)
$B/selog -q -d "$G" </dev/null
e=$(date +%s.%N)
echo "rollups built on open by selog in $(python3 -c "print(f'{$e - $s:.1f}')") s; db $(du -m "$G" | cut -f1) MB"
$B/seserve "$G" --listen 127.0.0.1:0 2>"$W/serve.log" &
SP=$!
trap 'kill $SP 2>/dev/null' EXIT
sleep 1
A=$(sed -n 's|^seserve: listening on http://\(.*\)/$|\1|p' "$W/serve.log")
for q in "col_1=batt_volt" "col_1=batt_volt&col_2=pv_watts" "col_1=batt_volt&format=json"; do
  url="http://$A/graph?from=20230101&to=20231231235959&$q"
  ts=$(for i in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' "$url"; done | sort -n | sed -n 3p)
  code=$(curl -s -o "$W/g.out" -w '%{http_code}' "$url")
  echo "/graph $q one year over $ROWS rows: median $ts s (HTTP $code, $(wc -c <"$W/g.out") bytes)"
done
kill $SP
