#!/usr/bin/env bash
# metrics.sh - `make bench`, part 2: the reports Q2..Q5 beside DuckDB.
#
# On the data of bench/import.sh (SIZE, default M), with both databases loaded:
#   warm: the engine built once, each report run REPS times in-process
#         (build/bench/metrics), against DuckDB running the reference query in
#         an open connection (bench/duckdb/queries.mjs);
#   cold: the whole `kizuna metrics REPORT --format csv` process on the stored
#         database, against a whole node process running one reference query
#         on the DuckDB file (bench/duckdb/one.mjs);
# and checks that both give the same rows (../shared/bench/compare.py).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_REF=${BENCH_REF:-../shared/bench}
SIZE=${SIZE:-M}
REPS=${REPS:-5}
KZ=${KZ:-build/kizuna}
DATA=bench/data/$SIZE
KZ_DB=build/bench/kizuna-$SIZE.db
DUCK_DB=$(realpath -m build/bench/duck-$SIZE.db)
OUT=build/bench/out-$SIZE
mkdir -p "$OUT/kizuna" "$OUT/duckdb"

[ -s "$DATA/events.csv" ] || { echo "bench: run bench/import.sh first (no $DATA)" >&2; exit 1; }
[ -s "$KZ_DB" ] || "$KZ" --db "$KZ_DB" import --quiet "$DATA"
[ -s "$DUCK_DB" ] || node bench/duckdb/load.mjs "$BENCH_REF/sql/duckdb/q1.sql" "$(realpath "$DATA")" "$DUCK_DB" >/dev/null

T=build/bench/metrics-$SIZE.txt
: > "$T"
echo "== warm (load $(cut -d' ' -f1 /proc/loadavg))"
build/bench/metrics "$KZ_DB" "$REPS" | tee -a "$T"
node bench/duckdb/queries.mjs "$BENCH_REF" "$DUCK_DB" "$REPS" "$(realpath "$OUT/duckdb")" | tee -a "$T"

echo "== cold"
ms() { echo $(( $(date +%s%N) / 1000000 )); }
for q in q2:mrr q3:usage q4:daily q5:cohorts; do
    qq=${q%%:*}; rep=${q##*:}
    for r in $(seq 1 3); do
        sync
        s0=$(ms); /usr/bin/time -f "%M" -o build/bench/kz.mem "$KZ" --db "$KZ_DB" metrics "$rep" --format csv > "$OUT/kizuna/$qq.csv"; s1=$(ms)
        echo "kizuna cold $qq $(( s1 - s0 )) $(cat build/bench/kz.mem)" | tee -a "$T"
        s0=$(ms); /usr/bin/time -f "%M" -o build/bench/duck.mem node bench/duckdb/one.mjs "$BENCH_REF" "$DUCK_DB" "$qq" "$(realpath "$OUT/duckdb")/$qq.csv"; s1=$(ms)
        echo "duckdb cold $qq $(( s1 - s0 )) $(cat build/bench/duck.mem)" | tee -a "$T"
    done
done
echo "== agreement"
python3 "$BENCH_REF/compare.py" "$OUT/duckdb" "$OUT/kizuna"

python3 - "$T" "$SIZE" <<'PY'
import statistics, sys
path, size = sys.argv[1:]
warm, cold, mem, extra, build, mapped, events, image = {}, {}, {}, {}, None, None, None, None
for line in open(path):
    f = line.split()
    if f[1] == 'warm':
        warm[(f[0], f[2])] = float(f[3])
    elif f[1] == 'cold':
        cold.setdefault((f[0], f[2]), []).append(int(f[3]) / 1000)
        mem[(f[0], f[2])] = max(mem.get((f[0], f[2]), 0), int(f[4]))
    elif f[1] == 'extra':
        extra[f[2]] = float(f[3])
    elif f[1] == 'build':
        build = float(f[2])
    elif f[1] == 'build_from_image':
        mapped = float(f[2])
    elif f[1] == 'events':
        events = int(f[2])
    elif f[1] == 'image_bytes':
        image = int(f[2])
names = {'q2': 'MRR movements', 'q3': 'account usage', 'q4': 'daily + DAU', 'q5': 'cohorts'}
print(f"\nReports on {size} ({events:,} events); warm = median in-process, cold = whole process, median of 3")
print(f"{'query':22} {'duckdb warm':>12} {'kizuna warm':>12} {'ratio':>7} {'duckdb cold':>12} {'kizuna cold':>12} {'ratio':>7} {'peak RSS kz':>12}")
for q in ['q2', 'q3', 'q4', 'q5']:
    dw, kw = warm[('duckdb', q)], warm[('kizuna', q)]
    dc, kc = statistics.median(cold[('duckdb', q)]), statistics.median(cold[('kizuna', q)])
    print(f"{q + ' ' + names[q]:22} {dw*1000:10.1f}ms {kw*1000:10.2f}ms {dw/kw:6.0f}x {dc*1000:10.0f}ms {kc*1000:10.0f}ms {dc/kc:6.1f}x {mem[('kizuna', q)]/1024:9.0f} MB")
print("beyond the reference, warm: " + ", ".join(f"{k} {v*1000:.1f}ms" for k, v in extra.items()))
print(f"engine: built from the blocks in {build*1000:.0f} ms, from its image file in {mapped*1000:.1f} ms; "
      f"image {image/1e6:.0f} MB = {image/events:.1f} bytes/event (goal < 16); goals: warm >= 10x, cold faster")
PY
