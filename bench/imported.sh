# imported.sh - sourced by bench/server.sh and bench/web.sh: the reference data
# of size $SIZE (S, M or L: 1,000, 10,000 or 50,000 accounts over 730 days,
# seed 42) generated with $BENCH_REF/gen.c when missing, and imported by $KZ
# into build/bench/kizuna-$SIZE.db once; sets ACC, DATA and SRC (that database).
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
    echo "== importing $SIZE into $SRC"
    "$KZ" --db "$SRC" import --quiet "$DATA"
fi
