#!/usr/bin/env bash
# web.sh - `make bench`, part 5: the dashboard in Chromium (headless) against
# `kizuna serve` over loopback, on the reference data of size SIZE (default L,
# 50,000 accounts): every page's time until it is interactive, its DOM size and
# table rows, a sort and a filter of the account list (bench/web.mjs); fails
# when a page's p50 is 1 s or more or the account list renders more than 1,000
# rows.
#
# The database is the one of bench/server.sh (build/bench/kizuna-$SIZE.db, made
# here the same way when missing), never changed: its copy
# build/bench/web-$SIZE.db gets a churn model (so that the churn columns have
# values) and the user admin, once (again when kizuna-$SIZE.db is newer, or
# after rm build/bench/web-$SIZE.db.ready); each run serves a fresh copy of
# that, build/bench/web-$SIZE-run.db (the server writes its scores, sessions and
# anomalies into it), removed at the end.
#
#   RUNS=5        loads of each page measured (after one warm-up)
#   LIMIT_MS=1000 the p50 a page must stay under
#   ONLY=prepare  only make the database (the first part of the run)
#   SIZE=S|M|L, KZ, BENCH_REF as in bench/server.sh; the rest in bench/web.mjs
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_REF=${BENCH_REF:-../shared/bench}
SIZE=${SIZE:-L}
KZ=${KZ:-build/kizuna}
mkdir -p build/bench
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] && [ -d web/node_modules/playwright-core ] || ./scripts/install-deps.sh

. bench/imported.sh

DB=build/bench/web-$SIZE.db
if [ ! -s "$DB" ] || [ "$SRC" -nt "$DB" ] || [ ! -f "$DB.ready" ]; then
    echo "== copying $SRC to $DB, training the churn model"
    rm -f "$DB" "$DB-wal" "$DB-shm" "$DB.engine" "$DB.ready"
    cp "$SRC" "$DB"
    [ -f "$SRC.engine" ] && cp "$SRC.engine" "$DB.engine"
    t0=$(date +%s)
    "$KZ" --db "$DB" churn train > build/bench/web-churn.log
    echo "   churn train: $(( $(date +%s) - t0 )) s"
    printf 'admin-password\n' | "$KZ" --db "$DB" user add --name admin --role admin --password-stdin >/dev/null
    touch "$DB.ready"
fi
[ "${ONLY:-}" = prepare ] && exit 0

RUN=build/bench/web-$SIZE-run.db
rm -f "$RUN" "$RUN-wal" "$RUN-shm" "$RUN.engine"
cp "$DB" "$RUN"
[ -f "$DB.engine" ] && cp "$DB.engine" "$RUN.engine"
trap 'rm -f "$RUN" "$RUN-wal" "$RUN-shm" "$RUN.engine"' EXIT

# the dashboard as built now (`make bench` builds it first), copied: a `make web` meanwhile does
# not change the run
[ -f web/dist/index.html ] || make web
WEB=build/bench/web-root
rm -rf "$WEB" && cp -r web/dist "$WEB"
export KIZUNA_WEB_ROOT=$PWD/$WEB
export KIZUNA_BIN=$KZ KIZUNA_BENCH_DB=$RUN KIZUNA_BENCH_USER=admin KIZUNA_BENCH_PASSWORD=admin-password
node bench/web.mjs
