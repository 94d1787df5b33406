#!/usr/bin/env bash
# churn.sh - `make bench`, part 3: churn models on the benchmark's data.
#
# On the database of bench/metrics.sh (SIZE, default M): `kizuna churn train`
# (build the dataset of every paying account every 30 days, evaluate both
# models on the held-out later dates, fit both on every date, store them) and
# `kizuna churn predict` for every paying account with the best model, each as
# a whole process, with the held-out ROC AUC of each model and the time the
# scoring itself takes (from the debug log). Works on a copy, so the
# benchmark's database keeps no models.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-M}
KZ=${KZ:-build/kizuna}
SRC=build/bench/kizuna-$SIZE.db
DB=build/bench/churn-$SIZE.db
[ -s "$SRC" ] || { echo "bench: run bench/metrics.sh first (no $SRC)" >&2; exit 1; }
cp "$SRC" "$DB"
[ -f "$SRC.engine" ] && cp "$SRC.engine" "$DB.engine"
export OMP_WAIT_POLICY=PASSIVE
echo "== churn on $SIZE"
/usr/bin/time -f "%e %M" -o build/bench/churn.time "$KZ" --db "$DB" churn train --format csv > build/bench/churn-train.csv
read -r secs kb < build/bench/churn.time
echo "train: ${secs} s, peak RSS $((kb / 1024)) MB (dataset, evaluation of both models, both fitted and stored)"
python3 - build/bench/churn-train.csv <<'PY'
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    print(f"  {r['model']:9} held-out ROC AUC {float(r['roc_auc']):.3f}  PR AUC {float(r['pr_auc']):.3f}  "
          f"top-decile lift {float(r['top_decile_lift']):.2f}  ({r['train_rows']} training rows, {r['test_rows']} test rows)")
PY
/usr/bin/time -f "%e %M" -o build/bench/churn.time "$KZ" --db "$DB" --set log.level=debug churn predict --format csv \
    > build/bench/churn-predict.csv 2> build/bench/churn-predict.log
read -r secs kb < build/bench/churn.time
scored=$(grep -o 'accounts=[0-9]* features_ms=[0-9.]* score_ms=[0-9.]*' build/bench/churn-predict.log || true)
echo "predict: ${secs} s for the whole process, peak RSS $((kb / 1024)) MB; $scored"
rm -f "$DB" "$DB.engine" "$DB-wal" "$DB-shm"
