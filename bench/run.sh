#!/usr/bin/env bash
# Reproduce sekit's throughput / memory benchmarks.
#
# Usage: bench/run.sh [--quick] [--help]
#   --quick   smoke run: bench.pcap and c37dense.pcap with the sekit tools only
#             (no bench4x.pcap, no tshark/tcpflow peers, no RSS ratio)
#
# Files (generated into $BENCH_DIR unless present):
#   bench.pcap     ~637 MB generic TCP traffic ($SHARED/tools/gen_pcap.py)
#   bench4x.pcap   4x bench.pcap's bytes, same flow mix (full run only)
#   c37dense.pcap  >= $DENSE_MB MB of C37.118: the real samples/c37118 captures
#                  replicated and interleaved (bench/gen_c37_dense.py); before it
#                  is measured, seextract's frame count is checked against the
#                  generator's expected count (and no anomaly records)
#
# Environment overrides:
#   SHARED=DIR      shared tree holding tools/gen_pcap.py   (default: $ROOT/../shared)
#   BENCH_DIR=DIR   work dir for pcaps and results          (default: $ROOT/target/bench)
#   RUNS=N          hyperfine runs for sekit tools          (default: 5, plus 1 warm-up)
#   PEER_RUNS=N     hyperfine runs for tshark / tcpflow     (default: 2, no warm-up)
#   DENSE_PEER_RUNS=N  runs of tshark on c37dense.pcap      (default: 1, no warm-up; ~3 min each)
#   DENSE_MB=MB     minimum size of c37dense.pcap           (default: 220; regenerated if changed)
#   TCPFLOW_OUT=DIR tcpflow output dir, wiped between runs  (default: /dev/shm/... if tmpfs, else $BENCH_DIR)
#
# Output: a Markdown table (MB/s, packets/s, C37.118 frames/s, peak RSS per
# row) plus the seextract/tshark speed ratio on c37dense.pcap and the sefollow
# RSS ratio bench4x/bench on stdout and in $BENCH_DIR/results.md; raw hyperfine
# JSON and peak-RSS files in $BENCH_DIR/results/.
# Exit status: 0 on success, 3 if sefollow could not be built (peers still
# measured), 4 if seextract's frame count on c37dense.pcap was wrong.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
BENCH_DIR="${BENCH_DIR:-$ROOT/target/bench}"
RUNS="${RUNS:-5}"
PEER_RUNS="${PEER_RUNS:-2}"
DENSE_PEER_RUNS="${DENSE_PEER_RUNS:-1}"
DENSE_MB="${DENSE_MB:-220}"
QUICK=0

for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

log() { printf '\n==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

GEN="$SHARED/tools/gen_pcap.py"
[ -f "$GEN" ] || { echo "generator not found: $GEN (set SHARED=...)" >&2; exit 1; }
DENSE_GEN="$ROOT/bench/gen_c37_dense.py"
[ -f "$DENSE_GEN" ] || { echo "generator not found: $DENSE_GEN" >&2; exit 1; }
mkdir -p "$BENCH_DIR"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
RES="$BENCH_DIR/results"
rm -rf "$RES"
mkdir -p "$RES"

# ---------------------------------------------------------------- tools
# tool name -> Debian package; /usr/bin/time is checked by path because
# `command -v time` finds the shell keyword.
have() {
    if [ "$1" = time ]; then [ -x /usr/bin/time ]; else command -v "$1" >/dev/null 2>&1; fi
}
missing=()
for t in hyperfine time tshark capinfos tcpflow; do
    have "$t" || missing+=("$t")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing missing tools: ${missing[*]}"
        pkgs=()
        for t in "${missing[@]}"; do
            case "$t" in capinfos) pkgs+=(wireshark-common) ;; *) pkgs+=("$t") ;; esac
        done
        export DEBIAN_FRONTEND=noninteractive
        # do not make dumpcap setuid / ask about non-root capture
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
        apt-get update -q >/dev/null || warn "apt-get update failed"
        apt-get install -y -q "${pkgs[@]}" >/dev/null || warn "apt-get install ${pkgs[*]} failed"
    else
        warn "missing tools (${missing[*]}) and not root: not installing them"
    fi
fi
have hyperfine || { echo "hyperfine is required (apt-get install hyperfine)" >&2; exit 1; }
HAVE_TIME=1; have time || { HAVE_TIME=0; warn "/usr/bin/time missing: peak RSS will be n/a"; }

# ---------------------------------------------------------------- build
SEFOLLOW="$ROOT/target/release/sefollow"
SEEXTRACT="$ROOT/target/release/seextract"
log "cargo build --release"
if [ ! -f "$ROOT/Cargo.toml" ]; then
    warn "no Cargo.toml in $ROOT: nothing to build"
elif ! command -v cargo >/dev/null 2>&1; then
    warn "cargo not found: cannot build"
elif ! (cd "$ROOT" && cargo build --release); then
    warn "cargo build --release failed"
fi

# ---------------------------------------------------------------- data
# gen NAME ARGS...: generate $BENCH_DIR/NAME unless present; stores the
# generator's JSON summary (bytes, packets, flows, secs) in NAME.gen.json.
gen() {
    local name="$1"; shift
    local out="$BENCH_DIR/$name"
    if [ -s "$out" ]; then
        echo "$name present ($(stat -c %s "$out") bytes), not regenerating" >&2
        return
    fi
    log "generating $name (python3 gen_pcap.py $*)"
    local tmp="$out.partial"
    rm -f "$tmp" "$tmp.manifest.jsonl"
    local t0=$SECONDS
    python3 "$GEN" -o "$tmp" "$@" > "$out.gen.json.tmp"
    mv "$tmp.manifest.jsonl" "$out.manifest.jsonl"
    mv "$tmp" "$out"
    sed "s#\"file\": \"[^\"]*\"#\"file\": \"$name\"#" "$out.gen.json.tmp" > "$out.gen.json"
    rm -f "$out.gen.json.tmp"
    echo "generated $name in $((SECONDS - t0)) s: $(cat "$out.gen.json")" >&2
}
COMMON=(--mean-flow 15000 --concurrency 2000 --seed 1)
gen bench.pcap --flows 40000 --target-mb 600 "${COMMON[@]}"
# --target-mb stops opening new flows past that size (it binds before --flows
# here); the flows still open then are finished, adding ~36 MB at concurrency
# 2000.  2511 instead of 2400 makes bench4x.pcap 4.00x bench.pcap's bytes.
[ "$QUICK" = 1 ] || gen bench4x.pcap --flows 160000 --target-mb 2511 "${COMMON[@]}"

# jget FILE KEY: a top-level value of a JSON file (empty if absent)
jget() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2" 2>/dev/null || true
}
# c37dense.pcap: regenerated when missing, without its summary, or of another --target-mb
DENSE="$BENCH_DIR/c37dense.pcap"
if [ -s "$DENSE" ] && [ -s "$DENSE.gen.json" ] && [ "$(jget "$DENSE.gen.json" target_mb)" = "$(python3 -c 'import sys; print(float(sys.argv[1]))' "$DENSE_MB")" ]; then
    echo "c37dense.pcap present ($(stat -c %s "$DENSE") bytes), not regenerating" >&2
else
    log "generating c37dense.pcap (python3 gen_c37_dense.py --target-mb $DENSE_MB --seed 1)"
    rm -f "$DENSE" "$DENSE.gen.json" "$DENSE.partial"
    t0=$SECONDS
    python3 "$DENSE_GEN" -o "$DENSE.partial" --target-mb "$DENSE_MB" --seed 1 > "$DENSE.gen.json.tmp"
    mv "$DENSE.partial" "$DENSE"
    sed 's#"file": "[^"]*"#"file": "c37dense.pcap"#' "$DENSE.gen.json.tmp" > "$DENSE.gen.json"
    rm -f "$DENSE.gen.json.tmp"
    echo "generated c37dense.pcap in $((SECONDS - t0)) s: $(cat "$DENSE.gen.json")" >&2
fi
DENSE_FRAMES="$(jget "$DENSE.gen.json" expected_frames)"
DENSE_PDUS="$(jget "$DENSE.gen.json" expected_wireshark_pdus)"
DENSE_TSHARK_ARGS="$(jget "$DENSE.gen.json" tshark_args)"
cp "$DENSE.gen.json" "$RES/c37dense.gen.json"

# packet count: generator summary, else capinfos, else a stdlib pcap walk
count_packets() {
    local f="$BENCH_DIR/$1"
    if [ -s "$f.gen.json" ]; then
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packets"])' "$f.gen.json"
    elif have capinfos; then
        capinfos -c -M "$f" | awk -F': *' '/Number of packets/ {print $2}'
    else
        python3 - "$f" <<'EOF'
import struct, sys
with open(sys.argv[1], "rb") as fh:
    e = "<" if fh.read(24)[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    n = 0
    while len(h := fh.read(16)) == 16:
        fh.seek(struct.unpack(e + "IIII", h)[2], 1)
        n += 1
print(n)
EOF
    fi
}
FILES=(bench.pcap)
[ "$QUICK" = 1 ] || FILES+=(bench4x.pcap)
FILES+=(c37dense.pcap)
{
    printf 'file\tbytes\tpackets\n'
    for f in "${FILES[@]}"; do
        printf '%s\t%s\t%s\n' "$f" "$(stat -c %s "$BENCH_DIR/$f")" "$(count_packets "$f")"
    done
} > "$RES/files.tsv"
cat "$RES/files.tsv" >&2

# ---------------------------------------------------------------- measure
cd "$BENCH_DIR"
printf 'name\tfile\tcommand\tframes\n' > "$RES/entries.tsv"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_START="$(loadavg)"

# [FRAMES=N] bench NAME FILE WARMUP RUNS DISPLAY_CMD CMD [hyperfine args...]
# Times CMD (a shell string, run in $BENCH_DIR) with hyperfine; every run is
# wrapped in GNU time, which appends the peak RSS (KiB) to NAME.rss.  FRAMES,
# if set, is the number of protocol frames CMD finds (for the frames/s column).
bench() {
    local name="$1" file="$2" warm="$3" runs="$4" shown="$5" cmd="$6"; shift 6
    log "$name: $shown  (warm-up $warm, runs $runs; load average $(loadavg))"
    local wrapped="$cmd"
    if [ "$HAVE_TIME" = 1 ]; then
        wrapped="/usr/bin/time -a -o $(printf %q "$RES/$name.rss") -f %M $cmd"
    fi
    if hyperfine --style basic -w "$warm" -r "$runs" -n "$name" \
            --export-json "$RES/$name.json" "$@" "$wrapped" >&2; then
        printf '%s\t%s\t%s\t%s\n' "$name" "$file" "$shown" "${FRAMES:-}" >> "$RES/entries.tsv"
    else
        warn "$name failed; left out of the table"
    fi
}
q() { printf %q "$1"; }

STATUS=0
if [ -x "$SEFOLLOW" ]; then
    bench sefollow bench.pcap 1 "$RUNS" \
        "sefollow --list bench.pcap" "$(q "$SEFOLLOW") --list bench.pcap > /dev/null"
    bench sefollow-nohash bench.pcap 1 "$RUNS" \
        "sefollow --list --no-hash bench.pcap" "$(q "$SEFOLLOW") --list --no-hash bench.pcap > /dev/null"
    if [ "$QUICK" = 0 ]; then
        cat bench4x.pcap > /dev/null   # warm the page cache: this one runs once
        bench sefollow-4x bench4x.pcap 0 1 \
            "sefollow --list bench4x.pcap" "$(q "$SEFOLLOW") --list bench4x.pcap > /dev/null"
    fi
else
    warn "sefollow not built ($SEFOLLOW missing): skipping the sefollow benchmarks"
    STATUS=3
fi

if [ -x "$SEEXTRACT" ]; then
    bench seextract bench.pcap 1 "$RUNS" \
        "seextract -q bench.pcap" "$(q "$SEEXTRACT") -q bench.pcap > /dev/null"
    bench seextract-1thread bench.pcap 1 "$RUNS" \
        "seextract -q --threads 1 bench.pcap" "$(q "$SEEXTRACT") -q --threads 1 bench.pcap > /dev/null"

    # check the dense file's frame count before timing seextract on it
    log "checking seextract on c37dense.pcap: expecting $DENSE_FRAMES C37.118 frames, 0 anomalies"
    if counts="$("$SEEXTRACT" -q c37dense.pcap | awk '
            /"type":"frame"/ { f++; if (!/"proto":"c37118"/) o++ }
            /"type":"anomaly"/ { a++ }
            END { printf "%d %d %d\n", f, a, o }')"; then
        read -r got anom other <<< "$counts"
    else
        got=error anom=error other=error
    fi
    if [ "$got" = "$DENSE_FRAMES" ] && [ "$anom" = 0 ] && [ "$other" = 0 ]; then
        verdict=OK
    else
        verdict=MISMATCH
        warn "c37dense.pcap: seextract found $got frames ($other not c37118), $anom anomalies; expected $DENSE_FRAMES, 0"
        [ "$STATUS" != 0 ] || STATUS=4
    fi
    echo "- c37dense check: seextract -q c37dense.pcap found $got frames (expected $DENSE_FRAMES), $other not c37118, $anom anomaly records: $verdict" > "$RES/dense-check.md"
    cat "$RES/dense-check.md" >&2

    FRAMES="$DENSE_FRAMES" bench seextract-c37dense c37dense.pcap 1 "$RUNS" \
        "seextract -q c37dense.pcap" "$(q "$SEEXTRACT") -q c37dense.pcap > /dev/null"
    SEDECODE="$ROOT/target/release/sedecode"
    if [ -x "$SEDECODE" ]; then
        # the whole pipeline: peak RSS is that of the first stage GNU time wraps (seextract)
        FRAMES="$DENSE_FRAMES" bench sedecode-c37dense c37dense.pcap 1 "$RUNS" \
            "seextract -q c37dense.pcap | sedecode -q" \
            "$(q "$SEEXTRACT") -q c37dense.pcap | $(q "$SEDECODE") -q > /dev/null"
    fi
else
    echo "seextract not built; skipped" >&2
fi

if [ "$QUICK" = 0 ]; then
    if have tshark; then
        bench tshark-conv bench.pcap 0 "$PEER_RUNS" \
            "tshark -r bench.pcap -q -z conv,tcp" "tshark -r bench.pcap -q -z conv,tcp > /dev/null 2>&1"
        # one value of synphasor.frtype per C37.118 PDU (comma-separated within a packet)
        FRAMES="$DENSE_PDUS" bench tshark-c37dense c37dense.pcap 0 "$DENSE_PEER_RUNS" \
            "tshark -r c37dense.pcap $DENSE_TSHARK_ARGS -T fields -e synphasor.frtype" \
            "tshark -r c37dense.pcap $DENSE_TSHARK_ARGS -T fields -e synphasor.frtype > /dev/null 2>&1"
        # full decode as JSON, the counterpart of seextract | sedecode
        FRAMES="$DENSE_PDUS" bench tshark-ek-c37dense c37dense.pcap 0 "$DENSE_PEER_RUNS" \
            "tshark -r c37dense.pcap $DENSE_TSHARK_ARGS -T ek" \
            "tshark -r c37dense.pcap $DENSE_TSHARK_ARGS -T ek > /dev/null 2>&1"
    else
        echo "tshark not installed; peer skipped" >&2
    fi
    if have tcpflow; then
        if [ -z "${TCPFLOW_OUT:-}" ]; then
            if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ]; then
                TCPFLOW_OUT="/dev/shm/sekit-bench-tcpflow.$$"
            else
                TCPFLOW_OUT="$BENCH_DIR/tcpflow.out"
            fi
        fi
        o="$(q "$TCPFLOW_OUT")"
        bench tcpflow bench.pcap 0 "$PEER_RUNS" \
            "tcpflow -r bench.pcap -o OUTDIR" "tcpflow -r bench.pcap -o $o > /dev/null 2>&1" \
            --prepare "rm -rf $o && mkdir -p $o"
        rm -rf "$TCPFLOW_OUT"
    else
        echo "tcpflow not installed; peer skipped" >&2
    fi
fi

# ---------------------------------------------------------------- report
LOAD_END="$(loadavg)"
{
    echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
    if rev="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"; then
        git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || rev="$rev (dirty)"
    else
        rev="none"
    fi
    echo "- commit: $rev"
    echo "- cpu: $(nproc) x $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "- tools: $(hyperfine --version 2>/dev/null | head -1)"\
"$(have tshark && echo ", $(tshark --version 2>/dev/null | head -1 | sed "s/\.$//")")"\
"$(have tcpflow && echo ", $(tcpflow --version 2>/dev/null | head -1)")"
    echo "- load average (1/5/15 min): $LOAD_START at the first benchmark, $LOAD_END after the last"
    [ "$QUICK" = 1 ] && echo "- mode: --quick (no 4x file, no peers)"
    true
} > "$RES/env.md"

python3 - "$RES" > "$BENCH_DIR/results.md" <<'EOF'
import csv, json, os, statistics, sys

res = sys.argv[1]
def tsv(name):
    with open(os.path.join(res, name)) as fh:
        return list(csv.DictReader(fh, delimiter="\t"))

def peak_rss_mib(name):
    rp = os.path.join(res, name + ".rss")
    if os.path.exists(rp):
        kb = [int(x) for x in open(rp).read().split() if x.isdigit()]
        if kb:
            return max(kb) / 1024
    return None

def mbs(x):  # MB/s: whole numbers, one decimal below 10
    return f"{x:.0f}" if x >= 10 else f"{x:.1f}"

files = {r["file"]: (int(r["bytes"]), int(r["packets"])) for r in tsv("files.tsv")}
dense = {}
if os.path.exists(os.path.join(res, "c37dense.gen.json")):
    dense = json.load(open(os.path.join(res, "c37dense.gen.json")))
out = ["# sekit benchmark results", ""]
out += open(os.path.join(res, "env.md")).read().splitlines()
out += [""]
for f, (b, p) in files.items():
    line = f"- `{f}`: {b / 1e6:.1f} MB, {p:,} packets"
    if f == "c37dense.pcap" and dense:
        line += (f"; {dense['replicas']} replicas of the {len(dense['traces'])} samples/c37118 captures, "
                 f"~{dense['concurrency']} at a time; {dense['expected_frames']:,} C37.118 frames "
                 f"(seextract), {dense['expected_wireshark_pdus']:,} synphasor PDUs (Wireshark skips the "
                 "16-byte header frame of c37_1100_clean_tcp)")
    out.append(line)
if os.path.exists(os.path.join(res, "dense-check.md")):
    out += open(os.path.join(res, "dense-check.md")).read().splitlines()
out += ["", "| benchmark | command | runs | median s | min–max s | MB/s | Mpkt/s | Mframe/s | peak RSS MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
notes = []
med_of, rss_of, mbs_of = {}, {}, {}
for e in tsv("entries.tsv"):
    r = json.load(open(os.path.join(res, e["name"] + ".json")))["results"][0]
    t = r["times"]
    med = statistics.median(t)
    b, p = files[e["file"]]
    rss_mib = peak_rss_mib(e["name"])
    rss = "n/a" if rss_mib is None else f"{rss_mib:.0f}"
    frames = f"{int(e['frames']) / 1e6 / med:.3f}" if e.get("frames") else "–"
    med_of[e["name"]], rss_of[e["name"]], mbs_of[e["name"]] = med, rss_mib, b / 1e6 / med
    flag = ""
    if med < 0.05 and b > 50e6:
        flag = " ⚠"
        notes.append(f"⚠ {e['name']}: {med * 1e3:.1f} ms for {b / 1e6:.0f} MB is implausible "
                     "(stub binary or early exit?)")
    out.append(f"| {e['name']}{flag} | `{e['command']}` | {len(t)} | {med:.2f} | {min(t):.2f}–{max(t):.2f} "
               f"| {mbs(b / 1e6 / med)} | {p / 1e6 / med:.3f} | {frames} | {rss} |")
out += ["", "MB/s = file bytes / 1e6 / median wall seconds; Mpkt/s likewise with the packet count; "
        "Mframe/s likewise with the C37.118 frames found (seextract: the generator's expected count, "
        "checked above; tshark: synphasor PDUs, one `synphasor.frtype` value each); "
        "peak RSS = max over runs (incl. warm-up) of GNU time's %M. Output goes to /dev/null "
        "(tcpflow writes its flow files to a tmpfs dir wiped between runs)."]
ratios = []
a, b = "seextract-c37dense", "tshark-c37dense"
if a in med_of and b in med_of:
    ratios.append(f"- speed seextract / tshark on c37dense.pcap: {mbs(mbs_of[a])} / {mbs(mbs_of[b])} MB/s = "
                  f"**{med_of[b] / med_of[a]:.0f}x** (median wall times {med_of[a]:.2f} s vs {med_of[b]:.1f} s)")
a, b = "sedecode-c37dense", "tshark-ek-c37dense"
if a in med_of and b in med_of:
    ratios.append(f"- speed seextract | sedecode / tshark -T ek on c37dense.pcap: {mbs(mbs_of[a])} / {mbs(mbs_of[b])} MB/s = "
                  f"**{med_of[b] / med_of[a]:.0f}x** (median wall times {med_of[a]:.2f} s vs {med_of[b]:.1f} s; goal ≥ 30x)")
a, b = "sefollow-4x", "sefollow"
if rss_of.get(a) and rss_of.get(b):
    r = rss_of[a] / rss_of[b]
    ratios.append(f"- peak RSS sefollow --list bench4x.pcap / bench.pcap: {rss_of[a]:.1f} / {rss_of[b]:.1f} MiB = "
                  f"**{r:.2f}** (target ≤ 1.1: {'met' if r <= 1.1 else 'NOT met'})")
if ratios:
    out += ["", "Ratios:", ""] + ratios
out += [""] + notes if notes else []
print("\n".join(out))
EOF
cat "$BENCH_DIR/results.md"
case "$STATUS" in
    3) warn "sefollow missing: results are incomplete (exit 3)" ;;
    4) warn "seextract's frame count on c37dense.pcap was wrong (exit 4)" ;;
esac
exit "$STATUS"
