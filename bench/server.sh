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
#              (durably, and in the engine, before each answer), latency;
#              then again with 100 playbook rules on: the same, and what the
#              rules' passes cost per event matched (/metrics).
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

. bench/imported.sh
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

# The same ingestion with 100 playbook rules on (rules.dir): 40 event rules,
# 40 sequences (two steps within 1 to 30 days, per user or per account) and 20
# counting rules over the names events.lua sends. Their last step asks for
# one user, so they keep state for every user and account as real rules do
# but fire seldom: the figure is the matching, not the actions.
RULES=build/bench/rules.d
rm -rf "$RULES"; mkdir -p "$RULES"
names=(login dashboard.view report.create report.export search api.call settings.update invite.send comment.add file.upload)
for i in $(seq 0 99); do
    a=${names[$((i % 10))]} b=${names[$(((i * 7 + 3) % 10))]}
    who=$(printf 'usr_%08d' $((i + 1)))
    if [ "$i" -lt 40 ]; then
        trig="{\"kind\":\"event\",\"event\":\"$a\",\"where\":[{\"field\":\"user_id\",\"op\":\"=\",\"value\":\"$who\"}]}"
    elif [ "$i" -lt 80 ]; then
        per=$([ $((i % 2)) -eq 0 ] && echo user || echo account)
        trig="{\"kind\":\"sequence\",\"per\":\"$per\",\"within\":\"$((1 + i % 30))d\",\"steps\":[{\"event\":\"$a\"},{\"event\":\"$b\",\"where\":[{\"field\":\"user_id\",\"op\":\"=\",\"value\":\"$who\"}]}]}"
    else
        trig="{\"kind\":\"sequence\",\"per\":\"user\",\"within\":\"1d\",\"steps\":[{\"event\":\"$a\",\"count\":3,\"where\":[{\"field\":\"user_id\",\"op\":\"=\",\"value\":\"$who\"}]}]}"
    fi
    printf '{"id":"bench-%d","trigger":%s,"actions":[{"kind":"note","text":"bench"}]}\n' "$i" "$trig" > "$RULES/bench-$i.json"
done
echo "== ingestion on $SIZE with 100 rules on: batches of $BATCH events, $CONN connections, ${DUR} s"
start --set rules.dir="$RULES" --set scores.max_delay_seconds=2
metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
# the first pass replays the stored events: wait for it
for _ in $(seq 1 300); do [ "$(metric kizuna_rule_passes_total)" -gt 0 ] && break; sleep 1; done
echo "  the first pass replayed $(metric kizuna_rule_events_total) stored events in $(metric kizuna_rule_seconds_total) s"
p0=$(metric kizuna_rule_passes_total) r0=$(metric kizuna_rule_replays_total)
e0=$(metric kizuna_rule_events_total) s0=$(metric kizuna_rule_seconds_total)
before=$(metric kizuna_events_ingested_total)
run -s bench/wrk/events.lua "$URL/api/v1/events"
after=$(metric kizuna_events_ingested_total)
echo "  $(( (after - before) / DUR )) events/s stored ($rps batches/s), p50 $p50 p99 $p99 $errs"
# the passes after the load: until one has matched everything stored
ended=$(metric kizuna_rule_passes_total)
for _ in $(seq 1 300); do [ "$(metric kizuna_rule_passes_total)" -gt "$ended" ] && break; sleep 1; done
passes=$(metric kizuna_rule_passes_total) replays=$(metric kizuna_rule_replays_total)
matched=$(metric kizuna_rule_events_total) secs=$(metric kizuna_rule_seconds_total) fired=$(metric kizuna_rule_firings_total)
awk -v p="$((passes - p0))" -v r="$((replays - r0))" -v e="$matched" -v e0="$e0" -v s="$secs" -v s0="$s0" -v f="$fired" 'BEGIN {
    e -= e0; s -= s0
    printf "  then %d passes during and after the load (%d replaying), %d events matched in %.2f s: %.2f us per event, %d firings in all\n",
           p, r, e, s, (e > 0 ? s * 1e6 / e : 0), f }'
echo "  server peak RSS $(peak)"
stop
rm -f "$DB" "$DB-wal" "$DB-shm" "$DB.engine"
