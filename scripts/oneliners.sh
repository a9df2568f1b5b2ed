#!/usr/bin/env bash
# Runs the README's jq, DuckDB and pandas one-liners over the C37.118 samples and checks their
# row counts and values against tshark's own dissection of the same captures; then checks that
# a file mixing every protocol gets one type per column in DuckDB and pandas.
# DuckDB and pandas come from the package registry (pip) in a venv under target/.
# Needs: release binaries (cargo build --release), jq, tshark, python3 with venv.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SEKIT_BIN:-target/release}
venv=${ONELINERS_VENV:-target/oneliners-venv}
for t in jq tshark python3; do
    command -v "$t" >/dev/null || { echo "oneliners: $t not found" >&2; exit 1; }
done
if ! "$venv/bin/python" -c 'import duckdb, pandas' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q duckdb pandas
fi
export PATH="$PWD/$venv/bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
check() { # name got want
    if [ "$2" = "$3" ]; then echo "ok   $1: $2"; else echo "FAIL $1: got $2, want $3"; fail=1; fi
}

# --- The README's input: every sample decoded (one file at a time: two samples share a tuple).
for f in samples/c37118/*.pcap; do "$bin/seextract" "$f"; done 2>/dev/null | "$bin/sedecode" 2>/dev/null >"$work/c37118.jsonl"

# --- Expected values from tshark: rows = data frames × phasors per frame; SOC range; stations.
rows=0
for f in samples/c37118/*.pcap; do
    d=$(tshark -r "$f" -d udp.port==40713,synphasor -Y 'synphasor.frtype==0' 2>/dev/null | wc -l)
    nph=$(tshark -r "$f" -d udp.port==40713,synphasor -Y 'synphasor.frtype==3' -T fields -e synphasor.num_phasors 2>/dev/null | head -1 | tr ',' '\n' | awk '{s+=$1} END {print s}')
    rows=$((rows + d * nph))
done
# tshark shows SOC as a UTC date ("Aug  1, 2008 16:05:30.000000000 UTC"): back to seconds.
soc=$(for f in samples/c37118/*.pcap; do tshark -r "$f" -d udp.port==40713,synphasor -Y 'synphasor.frtype==0' -T fields -e synphasor.soc 2>/dev/null; done |
    python3 -c "import sys, calendar, time; s = sorted(calendar.timegm(time.strptime(' '.join(l.split()[:4]).split('.')[0], '%b %d, %Y %H:%M:%S')) for l in sys.stdin if l.strip()); print(s[0], s[-1])")
stations=$(for f in samples/c37118/*.pcap; do tshark -r "$f" -d udp.port==40713,synphasor -Y 'synphasor.frtype==3' -T pdml 2>/dev/null; done |
    grep -o 'show="Station #[0-9]*: &quot;[^&]*' | sed 's/.*&quot;//; s/ *$//' | sort -u | paste -sd'|')

# --- The one-liners, exactly as in README.md (run in the directory holding c37118.jsonl).
cd "$work"
jq -r 'select(.type=="decoded" and .frame=="data") | .device_time as $t | .pmus[] | . as $p | .phasors[] | [$t, $p.idcode, $p.stn, .name, .mag, .ang_deg, $p.freq] | @csv' c37118.jsonl >jq.csv
python3 -c "import duckdb; duckdb.sql(\"SELECT device_time AS time, p.idcode, p.stn AS station, ph.name AS channel, ph.mag, ph.ang_deg, p.freq FROM (SELECT device_time, unnest(pmus) AS p FROM read_json('c37118.jsonl') WHERE frame = 'data'), unnest(p.phasors) AS t(ph)\").write_csv('duckdb.csv')"
python3 -c "import pandas as pd; r = pd.read_json('c37118.jsonl', lines=True, convert_dates=False); d = r[r.frame == 'data']; t = pd.json_normalize(d.to_dict('records'), ['pmus', 'phasors'], meta=['device_time', ['pmus', 'idcode'], ['pmus', 'stn'], ['pmus', 'freq']]); t[['device_time', 'pmus.idcode', 'pmus.stn', 'name', 'mag', 'ang_deg', 'pmus.freq']].to_csv('pandas.csv', index=False)"

# --- Checks: the same table three times, and tshark's numbers.
check "jq rows" "$(wc -l <jq.csv)" "$rows"
check "duckdb rows" "$(($(wc -l <duckdb.csv) - 1))" "$rows"
check "pandas rows" "$(($(wc -l <pandas.csv) - 1))" "$rows"
range() { python3 -c "import pandas as pd, sys; t = pd.read_csv(sys.argv[1], header=None if sys.argv[2] == 'n' else 0); c = t.iloc[:, 0] // 1; print(int(c.min()), int(c.max()))" "$1" "$2"; }
check "jq SOC range" "$(range jq.csv n)" "$soc"
check "duckdb SOC range" "$(range duckdb.csv y)" "$soc"
check "pandas SOC range" "$(range pandas.csv y)" "$soc"
st() { python3 -c "import pandas as pd, sys; t = pd.read_csv(sys.argv[1], header=None if sys.argv[2] == 'n' else 0); print('|'.join(sorted(set(t.iloc[:, 2].str.strip()))))" "$1" "$2"; }
check "jq stations" "$(st jq.csv n)" "$stations"
check "duckdb stations" "$(st duckdb.csv y)" "$stations"
check "pandas stations" "$(st pandas.csv y)" "$stations"
# The three tables hold the same rows (sorted, values rounded to 6 significant digits).
norm() { python3 -c "import pandas as pd, sys; t = pd.read_csv(sys.argv[1], header=None if sys.argv[2] == 'n' else 0); t.columns = range(7); print(t.round(6).sort_values(list(range(7))).to_csv(index=False, header=False, float_format='%.6g'))" "$1" "$2" | md5sum | cut -c1-32; }
j=$(norm jq.csv n)
check "duckdb table = jq table" "$(norm duckdb.csv y)" "$j"
check "pandas table = jq table" "$(norm pandas.csv y)" "$j"
# Channel names resolved: no empty name; the TCP sample's 4 phasor names as its CFG-2 says.
check "rows without a channel name" "$(awk -F, '$4 == "\"\""' jq.csv | wc -l)" 0
cd - >/dev/null
want=$(tshark -r samples/c37118/C37.118_1PMU_TCP.pcap -Y 'synphasor.frtype==3' -T fields -e synphasor.channel_name 2>/dev/null | head -1 | tr ',' '\n' | head -4 | sed 's/ *$//' | sort | paste -sd'|')
got=$(grep -F '"Blue PMU"' "$work/jq.csv" | cut -d, -f4 | tr -d '"' | sort -u | paste -sd'|')
check "TCP sample channel names" "$got" "$want"

# --- Mixed protocols: one type per column.
for d in samples/c37118/C37.118_1PMU_TCP.pcap samples/solaredge samples/pi30 samples/tracer tests/data/sel/sel_synthetic_telnet_session.pcap; do
    "$bin/seextract" "$d"
done 2>/dev/null | "$bin/sedecode" 2>/dev/null >"$work/mixed.jsonl"
cd "$work"
json_cols=$(python3 -c "import duckdb; print(','.join(n for n, t, *_ in duckdb.sql(\"DESCRIBE SELECT * FROM read_json('mixed.jsonl')\").fetchall() if t == 'JSON'))")
check "DuckDB columns typed JSON in a mixed file" "${json_cols:-none}" none
check "DuckDB type of device_time" "$(python3 -c "import duckdb; print(dict((n, t) for n, t, *_ in duckdb.sql(\"DESCRIBE SELECT * FROM read_json('mixed.jsonl')\").fetchall())['device_time'])")" DOUBLE
check "pandas dtypes of ts, device_time" "$(python3 -c "import pandas as pd; r = pd.read_json('mixed.jsonl', lines=True, convert_dates=False); print(r.ts.dtype, r.device_time.dtype)")" "float64 float64"
check "protocols in the mixed file" "$(jq -r 'select(.type=="decoded") | .proto' mixed.jsonl | sort -u | paste -sd' ')" "c37118 pi30 sel solaredge tracer"
cd - >/dev/null
[ "$fail" = 0 ] && echo "oneliners: all checks passed" || { echo "oneliners: FAILED" >&2; exit 1; }
