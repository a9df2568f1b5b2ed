#!/usr/bin/env bash
# Golden comparison of every tool's output, for refactors that must not change behaviour.
#
# Usage:
#   bench/golden.sh record OUT_DIR [BIN_DIR]   run every case with the binaries in BIN_DIR
#                                             (default: target/release) and keep each case's
#                                             stdout, stderr and exit status in OUT_DIR
#   bench/golden.sh compare OLD_DIR NEW_DIR    list the cases whose output differs (exit 1 if any)
#   bench/golden.sh rev REV OUT_DIR            build REV in a temporary worktree and record it
#
# Cases: every tool (seextract, seextract --raw, sedecode on records, on a raw stream, with
# --semonitor and --derive-key, sefollow --list / --conn / -w) on samples/, every capture under
# tests/data/, every capture of ../shared/fixtures (when present) and the benchmark captures in
# target/bench (bench.pcap, c37dense.pcap; when present). Outputs over 4 MiB are kept as their
# sha256 only. A typical workflow: `bench/golden.sh rev main /tmp/old`, change things,
# `cargo build --release`, `bench/golden.sh record /tmp/new`, `bench/golden.sh compare /tmp/old /tmp/new`.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
BENCH_DIR="${BENCH_DIR:-$ROOT/target/bench}"

usage() { awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}"; exit 2; }

# case NAME CMD...: runs CMD (a shell string) and stores its outputs under $OUT/NAME.
run_case() {
    local name="$1" cmd="$2"
    local dir="$OUT/$name"
    mkdir -p "$dir"
    (cd "$WORK" && bash -c "set -o pipefail; $cmd" >"$dir/stdout" 2>"$dir/stderr")
    echo "$?" >"$dir/status"
    for f in stdout stderr; do
        if [ "$(stat -c %s "$dir/$f")" -gt $((4 << 20)) ]; then
            sha256sum <"$dir/$f" | cut -d' ' -f1 >"$dir/$f.sha256"
            rm "$dir/$f"
        fi
    done
    # Tool names and temporary paths in messages do not count as differences.
    [ -f "$dir/stderr" ] && sed -i "s#$WORK#WORK#g; s#$BIN/##g" "$dir/stderr"
}

record() {
    OUT="$1"
    BIN="$(cd "${2:-$ROOT/target/release}" && pwd)"
    rm -rf "$OUT"
    mkdir -p "$OUT"
    OUT="$(cd "$OUT" && pwd)"
    WORK="$(mktemp -d)"
    trap 'rm -rf "$WORK"' RETURN
    local X="$BIN/seextract" D="$BIN/sedecode" F="$BIN/sefollow"
    # Inputs: name -> path (relative names keep the records' "file" fields the same).
    local -a inputs=()
    cp -r "$ROOT/samples" "$WORK/samples"
    inputs+=("samples")
    while IFS= read -r f; do
        inputs+=("$f")
    done < <(cd "$ROOT" && find tests/data -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.gz' \) | sort)
    mkdir -p "$WORK/tests" && cp -r "$ROOT/tests/data" "$WORK/tests/data"
    if [ -d "$SHARED/fixtures" ]; then
        cp -r "$SHARED/fixtures" "$WORK/fixtures"
        while IFS= read -r f; do
            inputs+=("$f")
        done < <(cd "$WORK" && find fixtures -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
    fi
    for big in bench.pcap c37dense.pcap; do
        [ -f "$BENCH_DIR/$big" ] && ln -s "$BENCH_DIR/$big" "$WORK/$big" && inputs+=("$big")
    done
    local n=0
    for in in "${inputs[@]}"; do
        n=$((n + 1))
        local c
        c="$(echo "$in" | tr '/.' '__')"
        run_case "$c.extract" "'$X' -q '$in'"
        run_case "$c.extract_summary" "'$X' '$in' >/dev/null"
        run_case "$c.decode" "'$X' -q '$in' | '$D'"
        run_case "$c.follow_list" "'$F' --list '$in'"
        case "$in" in
        bench.pcap | c37dense.pcap) ;;
        *)
            run_case "$c.follow_conn1" "'$F' --conn 1 --format hex '$in'"
            run_case "$c.follow_w" "rm -rf w_$n && '$F' -q -w w_$n '$in' && (cd w_$n && find . -type f | sort | xargs sha256sum)"
            run_case "$c.raw_se" "'$X' -q --raw --proto solaredge '$in' | sha256sum"
            run_case "$c.semonitor" "'$X' -q '$in' | TZ=Europe/Berlin '$D' -q --semonitor"
            ;;
        esac
    done
    # Raw-stream decoding and the SolarEdge key modes on the generated inverter session.
    run_case "se_rec_decode" "'$X' -q --raw --proto solaredge samples/solaredge > se.rec && '$D' --proto solaredge se.rec"
    run_case "se_rec_c37" "'$X' -q --raw --proto c37118 samples/c37118/C37.118_1PMU_TCP.pcap > c.bin && '$D' --proto c37118 c.bin"
    run_case "se_derive_key" "'$X' -q samples/solaredge | '$D' --derive-key"
    run_case "se_semonitor_utc" "'$X' -q samples/solaredge | TZ=UTC '$D' --semonitor"
    run_case "se_state" "rm -rf st && '$X' -q samples/solaredge | '$D' -q --state st >/dev/null && cat st/*"
    run_case "decode_garbage" "printf '{\"type\":\"frame\",\"proto\":\"c37118\",\"hex\":\"aa01\"}\nnot json\n{\"type\":\"other\",\"x\":1}\n' | '$D'"
    echo "golden: $n inputs recorded in $OUT" >&2
}

compare() {
    local old="$1" new="$2" bad=0
    while IFS= read -r d; do
        local name="${d#"$old"/}"
        if [ ! -d "$new/$name" ]; then
            echo "missing in new: $name"
            bad=$((bad + 1))
        elif ! diff -rq "$d" "$new/$name" >/dev/null; then
            echo "differs: $name"
            diff -r "$d" "$new/$name" | head -5
            bad=$((bad + 1))
        fi
    done < <(find "$old" -mindepth 1 -maxdepth 1 -type d | sort)
    local total
    total="$(find "$old" -mindepth 1 -maxdepth 1 -type d | wc -l)"
    echo "golden: $((total - bad)) of $total cases identical"
    [ "$bad" -eq 0 ]
}

case "${1:-}" in
record) [ $# -ge 2 ] || usage; record "$2" "${3:-}" ;;
compare) [ $# -eq 3 ] || usage; compare "$2" "$3" ;;
rev)
    [ $# -eq 3 ] || usage
    tree="$(mktemp -d)"
    git -C "$ROOT" worktree add -q --detach "$tree" "$2" || exit 1
    (cd "$tree" && cargo build --release --bins -q) || exit 1
    record "$3" "$tree/target/release"
    git -C "$ROOT" worktree remove --force "$tree"
    ;;
*) usage ;;
esac
