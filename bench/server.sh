#!/usr/bin/env bash
# server.sh - `make bench`, part 4: `kizuna serve` under load, over loopback,
# with wrk (Debian's), on the reference data of size SIZE (default L).
#
#   pages:     the account list, one account's page and the metrics summary,
#              64 connections each for DUR seconds (default 10): requests/s,
#              p50 and p99 latency; once as served (answers reused while the
#              data is unchanged) and once with server.cache_bytes=0 (every
#              answer computed);
#   ingestion: POST /api/v1/events with batches of BATCH events (default
#              1000, bench/wrk/events.lua), 64 connections: events/s stored
#              (durably, and in the engine, before each answer), latency.
#
# Works on a copy of the benchmark's database; prints the server's peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_REF=${BENCH_REF:-../shared/bench}
SIZE=${SIZE:-L}
DUR=${DUR:-10}
CONN=${CONN:-64}
export BATCH=${BATCH:-1000}
KZ=${KZ:-build/kizuna}
mkdir -p build/bench
command -v wrk >/dev/null || ./scripts/install-deps.sh --bench

case $SIZE in S) ACC=1000;; M) ACC=10000;; L) ACC=50000;; *) echo "bench: SIZE is S, M or L" >&2; exit 1;; esac
DATA=bench/data/$SIZE
SRC=build/bench/kizuna-$SIZE.db
if [ ! -s "$SRC" ]; then
    if [ ! -s "$DATA/events.csv" ]; then
        [ build/bench/gen -nt "$BENCH_REF/gen.c" ] || cc -O2 -std=c99 -o build/bench/gen "$BENCH_REF/gen.c" -lm
        mkdir -p "$DATA"
        echo "== generating $SIZE ($ACC accounts, 730 days, seed 42)"
        build/bench/gen --out "$DATA" --accounts "$ACC" --days 730 --seed 42
    fi
    "$KZ" --db "$SRC" import --quiet "$DATA"
fi
DB=build/bench/server-$SIZE.db
rm -f "$DB" "$DB-wal" "$DB-shm" "$DB.engine"
cp "$SRC" "$DB"
[ -f "$SRC.engine" ] && cp "$SRC.engine" "$DB.engine"
"$KZ" --db "$DB" user list | grep -qw '^bench' ||
    printf 'bench-password\n' | "$KZ" --db "$DB" user add --name bench --role admin --password-stdin >/dev/null
TOKEN=$("$KZ" --db "$DB" user token --name bench | tail -1)
export TOKEN ACCOUNTS=$ACC

PID=
stop() { [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; PID=; }
trap stop EXIT

# starts the server with extra flags; sets PID and URL
start() {
    coproc SRV { exec "$KZ" --db "$DB" "$@" serve --listen 127.0.0.1:0 2> build/bench/server.log; }
    PID=$SRV_PID
    read -r line <&"${SRV[0]}"
    URL=$(echo "$line" | grep -o 'http://[0-9.:]*')
    for _ in $(seq 1 100); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.1; done
    sleep 2 # the first scores of every account
}

# wrk's figures: requests/s, p50, p99
run() {
    wrk -t2 -c"$CONN" -d"${DUR}s" --latency -H "Authorization: Bearer $TOKEN" "$@" > build/bench/wrk.out
    rps=$(awk '/Requests\/sec/ {print $2}' build/bench/wrk.out)
    p50=$(awk '$1 == "50%" {print $2}' build/bench/wrk.out)
    p99=$(awk '$1 == "99%" {print $2}' build/bench/wrk.out)
    errs=$(grep -E "Non-2xx|Socket errors" build/bench/wrk.out | tr -s ' ' | tr '\n' ' ' || true)
}

pages() {
    for page in "/api/v1/accounts" "/api/v1/accounts/acc_000123" "/api/v1/metrics/summary"; do
        run "$URL$page"
        printf "  %-30s %9s req/s  p50 %-8s p99 %-8s %s\n" "$page" "$rps" "$p50" "$p99" "$errs"
    done
}

peak() { awk '/VmHWM/ {printf "%d MB", $2 / 1024}' "/proc/$PID/status"; }

echo "== server on $SIZE: pages, $CONN connections, ${DUR} s each (load $(cut -d' ' -f1 /proc/loadavg))"
start
echo "answers reused while the data is unchanged (the default):"
pages
stop
start --set server.cache_bytes=0
echo "every answer computed (server.cache_bytes=0):"
pages
stop

echo "== ingestion on $SIZE: batches of $BATCH events, $CONN connections, ${DUR} s"
start
before=$(curl -s "$URL/metrics" | awk '/^kizuna_events_ingested_total/ {print $2}')
run -s bench/wrk/events.lua "$URL/api/v1/events"
after=$(curl -s "$URL/metrics" | awk '/^kizuna_events_ingested_total/ {print $2}')
commits=$(curl -s "$URL/metrics" | awk '/^kizuna_events_commits_total/ {print $2}')
echo "  $(( (after - before) / DUR )) events/s stored ($rps batches/s, $commits commits), p50 $p50 p99 $p99 $errs"
echo "  server peak RSS $(peak)"
t0=$(date +%s%N)
stop
echo "  stopped in $(( ($(date +%s%N) - t0) / 1000000 )) ms (every queued batch stored and answered, the image written)"
rm -f "$DB" "$DB-wal" "$DB-shm" "$DB.engine"
