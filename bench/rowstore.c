/*
 * rowstore.c - the measurement behind storing events as column blocks.
 *
 * Stores the same N synthetic events (time-sorted, 10,000 accounts, 60,000
 * users, 21 event names, integer values) two ways in a fresh SQLite database
 * with Kizuna's settings (WAL, synchronous=FULL, 16 KiB pages), and prints the
 * time and the bytes per event of each:
 *   rows:   one SQL row per event, prepared INSERTs in one transaction
 *           (+ the index on time that reading a time range would need)
 *   blocks: Kizuna's column blocks (store/evblock.h) of 2^20 events
 * Parsing is left out: both start from parsed values.
 *
 *   build/bench/rowstore 10000000
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/rng.h"
#include "core/time.h"
#include "store/evblock.h"

static void die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "rowstore: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
    exit(1);
}

static sqlite3 *fresh(const char *path)
{
    sqlite3 *db;
    unlink(path);
    char wal[512];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(db, "open");
    if (sqlite3_exec(db, "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", 0, 0, 0))
        die(db, "pragmas");
    return db;
}

static long long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    long long n = 0;
    if (f) {
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fclose(f);
    }
    return n;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 10000000;
    kz_evcols ev = { 0 };
    kz_rng r;
    kz_rng_seed(&r, 1);
    if (kz_evcols_reserve(&ev, n))
        return 1;
    kz_time t = INT64_C(1704067200000000);
    for (size_t i = 0; i < n; i++) {
        t += kz_rng_range(&r, 0, 12) * KZ_USEC_PER_SEC;
        kz_evcols_append(&ev, t, (uint32_t)kz_rng_range(&r, 1, 10000), (uint32_t)kz_rng_range(&r, 1, 60000),
                         (uint32_t)kz_rng_range(&r, 1, 21), (double)kz_rng_range(&r, 1, 600), NULL, 0, NULL, 0);
    }

    /* one row per event */
    sqlite3 *db = fresh("/tmp/kizuna-rowstore-rows.db");
    double t0 = kz_monotonic();
    sqlite3_stmt *ins;
    if (sqlite3_exec(db, "CREATE TABLE events (ts INTEGER, account INTEGER, user INTEGER, event INTEGER, value REAL);"
                         "BEGIN", 0, 0, 0) ||
        sqlite3_prepare_v2(db, "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5)", -1, &ins, 0))
        die(db, "prepare");
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(ins, 1, ev.ts[i]);
        sqlite3_bind_int64(ins, 2, ev.account[i]);
        sqlite3_bind_int64(ins, 3, ev.user[i]);
        sqlite3_bind_int64(ins, 4, ev.event[i]);
        sqlite3_bind_double(ins, 5, ev.value[i]);
        if (sqlite3_step(ins) != SQLITE_DONE)
            die(db, "insert");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    double t_rows = kz_monotonic() - t0;
    if (sqlite3_exec(db, "CREATE INDEX events_ts ON events(ts); COMMIT", 0, 0, 0))
        die(db, "commit");
    double t_rows_idx = kz_monotonic() - t0;
    sqlite3_close(db);
    long long rows_bytes = file_size("/tmp/kizuna-rowstore-rows.db");

    /* column blocks */
    db = fresh("/tmp/kizuna-rowstore-blocks.db");
    t0 = kz_monotonic();
    if (sqlite3_exec(db, "CREATE TABLE blocks (id INTEGER PRIMARY KEY, data BLOB); BEGIN", 0, 0, 0) ||
        sqlite3_prepare_v2(db, "INSERT INTO blocks (data) VALUES (?1)", -1, &ins, 0))
        die(db, "prepare");
    kz_evcols part = { 0 };
    kz_buf b;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    const size_t per = 1 << 20;
    kz_evcols_reserve(&part, per);
    for (size_t i = 0; i < n; i += per) {
        kz_evcols_clear(&part);
        for (size_t k = i; k < n && k < i + per; k++)
            kz_evcols_append(&part, ev.ts[k], ev.account[k], ev.user[k], ev.event[k], ev.value[k], NULL, 0, NULL, 0);
        kz_buf_reset(&b);
        if (kz_evblock_encode(&part, &b, 1))
            return 1;
        sqlite3_bind_blob(ins, 1, b.data, (int)b.len, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            die(db, "insert block");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    if (sqlite3_exec(db, "COMMIT", 0, 0, 0))
        die(db, "commit");
    double t_blocks = kz_monotonic() - t0;
    sqlite3_close(db);
    long long block_bytes = file_size("/tmp/kizuna-rowstore-blocks.db");

    printf("%zu events\n", n);
    printf("rows:   %6.2f s (%5.2f s with the time index), %9.0f events/s, %5.1f bytes/event\n", t_rows, t_rows_idx,
           (double)n / t_rows_idx, (double)rows_bytes / (double)n);
    printf("blocks: %6.2f s, %20.0f events/s, %5.1f bytes/event\n", t_blocks, (double)n / t_blocks,
           (double)block_bytes / (double)n);
    kz_evcols_free(&ev);
    kz_evcols_free(&part);
    kz_buf_free(&b);
    unlink("/tmp/kizuna-rowstore-rows.db");
    unlink("/tmp/kizuna-rowstore-blocks.db");
    return 0;
}
