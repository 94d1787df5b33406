#!/usr/bin/env bash
# import.sh - `make bench`: Kizuna's import beside DuckDB's load of the same files.
#
# Generates the M-size data of the reference workload (../shared/bench, or
# BENCH_REF) if it is missing, then, REPS times, alternately: DuckDB runs the
# reference Q1 (create tables, COPY the four CSV files, CHECKPOINT) on a fresh
# file, and `kizuna import` loads the same folder into a fresh database
# (committed with fsync: durable when the command returns). Prints the median
# wall time, rows/s, peak memory of each and the ratio.
#
#   make bench                      # size M, 3 repetitions
#   SIZE=L REPS=1 make bench        # the 50,000-account size
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_REF=${BENCH_REF:-../shared/bench}
SIZE=${SIZE:-M}
REPS=${REPS:-3}
KZ=${KZ:-build/kizuna}
OUT=bench/results
mkdir -p "$OUT" build/bench

[ -f "$BENCH_REF/gen.c" ] || { echo "bench: reference workload not found at $BENCH_REF (set BENCH_REF)" >&2; exit 1; }
command -v node >/dev/null || { echo "bench: node and npm are needed for the DuckDB side" >&2; exit 1; }
if [ ! -x /usr/bin/time ] || ! command -v python3 >/dev/null; then
    ./scripts/install-deps.sh --bench
fi

case $SIZE in S) ACC=1000;; M) ACC=10000;; L) ACC=50000;; *) echo "bench: SIZE is S, M or L" >&2; exit 1;; esac
DATA=bench/data/$SIZE
[ build/bench/gen -nt "$BENCH_REF/gen.c" ] || cc -O2 -std=c99 -o build/bench/gen "$BENCH_REF/gen.c" -lm
if [ ! -s "$DATA/events.csv" ]; then
    echo "== generating $SIZE ($ACC accounts, 730 days, seed 42)"
    build/bench/gen --out "$DATA" --accounts "$ACC" --days 730 --seed 42
fi
if [ ! -d bench/duckdb/node_modules/@duckdb/node-api ]; then
    echo "== installing @duckdb/node-api (benchmark only)"
    (cd bench/duckdb && npm install --no-audit --no-fund --silent)
fi

rows=0
for f in accounts subscriptions events tickets; do
    n=$(($(wc -l < "$DATA/$f.csv") - 1))
    rows=$((rows + n))
done
bytes=$(cat "$DATA"/{accounts,subscriptions,events,tickets}.csv | wc -c)
events=$(($(wc -l < "$DATA/events.csv") - 1))
DUCK_DB=$(realpath -m build/bench/duck-$SIZE.db)
KZ_DB=build/bench/kizuna-$SIZE.db
T=$OUT/import-$SIZE.txt
: > "$T"

peak_kb() { awk '/Maximum resident/{print $NF}' "$1"; }

for r in $(seq 1 "$REPS"); do
    echo "== rep $r/$REPS (load $(cut -d' ' -f1 /proc/loadavg))"
    sync
    /usr/bin/time -v -o build/bench/duck.timev node bench/duckdb/load.mjs "$BENCH_REF/sql/duckdb/q1.sql" \
        "$(realpath "$DATA")" "$DUCK_DB" > build/bench/duck.out
    ds=$(awk '/^seconds/{print $2}' build/bench/duck.out)
    echo "duckdb $ds $(peak_kb build/bench/duck.timev)" | tee -a "$T"
    rm -f "$KZ_DB" "$KZ_DB-wal" "$KZ_DB-shm"
    sync
    s0=$(date +%s%N)
    /usr/bin/time -v -o build/bench/kz.timev "$KZ" --db "$KZ_DB" import --quiet "$DATA"
    s1=$(date +%s%N)
    ks=$(( (s1 - s0) / 1000000 ))
    ks=$(printf '%d.%03d' $((ks / 1000)) $((ks % 1000)))
    echo "kizuna $ks $(peak_kb build/bench/kz.timev)" | tee -a "$T"
done

python3 - "$T" "$rows" "$bytes" "$events" "$KZ_DB" "$DUCK_DB" "$SIZE" <<'PY'
import os, statistics, sys
path, rows, nbytes, events, kzdb, duckdb, size = sys.argv[1:]
rows, nbytes, events = int(rows), int(nbytes), int(events)
runs = {}
for line in open(path):
    eng, sec, kb = line.split()
    runs.setdefault(eng, []).append((float(sec), int(kb)))
med = {e: statistics.median(s for s, _ in v) for e, v in runs.items()}
peak = {e: max(k for _, k in v) for e, v in runs.items()}
print()
print(f"Import of the {size} files ({rows:,} rows, {nbytes/1e6:.0f} MB of CSV), median of {len(runs['kizuna'])}:")
print(f"{'engine':8} {'seconds':>8} {'rows/s':>12} {'MB/s':>7} {'peak RSS':>10}")
for e in ('duckdb', 'kizuna'):
    print(f"{e:8} {med[e]:8.2f} {rows/med[e]:12,.0f} {nbytes/1e6/med[e]:7.0f} {peak[e]/1024:8.0f} MB")
print(f"ratio: Kizuna loads {med['duckdb']/med['kizuna']:.2f}x as fast as DuckDB (goal: 3x), "
      f"with {peak['duckdb']/peak['kizuna']:.1f}x less peak memory")
kz = os.path.getsize(kzdb)
for suffix in ('-wal',):
    if os.path.exists(kzdb + suffix):
        kz += os.path.getsize(kzdb + suffix)
print(f"stored: Kizuna {kz/1e6:.0f} MB ({kz/events:.1f} bytes/event incl. all tables), "
      f"DuckDB {os.path.getsize(duckdb)/1e6:.0f} MB")
PY
