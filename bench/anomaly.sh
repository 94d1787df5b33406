#!/usr/bin/env bash
# anomaly.sh - `make bench`, part 4: anomaly detection.
#
# 1. Scoring throughput: `kizuna anomaly scan` on a series of a million
#    points (five-minute steps, about nine and a half years, with a daily
#    season, noise and a few planted spikes), as a whole process: reading the
#    CSV, finding the step and the season, judging every point against the
#    same phase of the days before it, writing every score.
# 2. A full look at every watched series of the benchmark's database (SIZE,
#    default M; bench/metrics.sh makes it): `kizuna anomalies --all`, as a
#    whole process (the engine mapped from its image, every series read out
#    of it and judged), on a copy so the benchmark's database keeps no
#    anomalies.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-M}
KZ=${KZ:-build/kizuna}
OUT=build/bench
mkdir -p "$OUT"
echo "== anomalies"
python3 - "$OUT/series-1m.csv" <<'PY'
import math, random, sys
random.seed(7)
t0 = 1577836800  # 2020-01-01
with open(sys.argv[1], "w") as f:
    f.write("timestamp,value\n")
    for i in range(1_000_000):
        hod = (i % 288) / 12.0
        level = 100 + 80 * math.sin((hod - 6) / 24 * 2 * math.pi)
        v = random.gauss(level, 0.05 * level)
        if i % 100_000 == 99_999:
            v *= 3
        f.write(f"{t0 + 300 * i},{v:.2f}\n")
PY
/usr/bin/time -f "%e %M" -o "$OUT/anomaly.time" "$KZ" anomaly scan --series "$OUT/series-1m.csv" \
    --output "$OUT/scores-1m.csv" 2> "$OUT/anomaly-scan.log"
read -r secs kb < "$OUT/anomaly.time"
python3 - "$secs" "$kb" "$OUT/scores-1m.csv" "$OUT/anomaly-scan.log" <<'PY'
import csv, sys
secs, kb = float(sys.argv[1]), int(sys.argv[2])
rows = list(csv.reader(open(sys.argv[3])))[1:]
high = [i for i, r in enumerate(rows) if float(r[2]) >= 0.5]
planted = {i for i in range(99_999, 1_000_000, 100_000)}
log = open(sys.argv[4]).read().strip().replace("\n", ";")
print(f"scan: {len(rows)} points in {secs:.2f} s ({len(rows) / secs / 1e6:.2f} M points/s, whole process), "
      f"peak RSS {kb // 1024} MB")
print(f"  {log}")
print(f"  planted spikes found {len(planted & set(high))} of {len(planted)}; "
      f"other points above the threshold {len(set(high) - planted)} ({len(set(high) - planted) / len(rows):.5%})")
PY
SRC=$OUT/kizuna-$SIZE.db
if [ -s "$SRC" ]; then
    DB=$OUT/anomaly-$SIZE.db
    cp "$SRC" "$DB"
    [ -f "$SRC.engine" ] && cp "$SRC.engine" "$DB.engine"
    /usr/bin/time -f "%e %M" -o "$OUT/anomaly.time" "$KZ" --db "$DB" anomalies --all > "$OUT/anomalies-$SIZE.txt"
    read -r secs kb < "$OUT/anomaly.time"
    echo "look at every watched series of $SIZE: ${secs} s for the whole process, peak RSS $((kb / 1024)) MB"
    echo "  $(head -1 "$OUT/anomalies-$SIZE.txt")"
    rm -f "$DB" "$DB.engine" "$DB-wal" "$DB-shm"
else
    echo "bench: no $SRC (bench/metrics.sh makes it): the look at the watched series is left out" >&2
fi
rm -f "$OUT/series-1m.csv" "$OUT/scores-1m.csv"
