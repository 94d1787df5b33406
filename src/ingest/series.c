/*
 * series.c - a time series from a CSV file (series.h): a header, a time
 * column and a value column; every row that cannot be read is reported by
 * its line, none is guessed at.
 */
#include "ingest/series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/text.h"
#include "core/time.h"
#include "core/vec.h"
#include "ingest/csv.h"

void kz_series_free(kz_series *s)
{
    free(s->t);
    free(s->v);
    free(s->line);
    memset(s, 0, sizeof *s);
}

static int find_col(const kz_csv_rec *rec, const char *name)
{
    for (size_t i = 0; i < rec->nfields; i++)
        if (rec->f[i].n == strlen(name) && memcmp(rec->f[i].p, name, rec->f[i].n) == 0)
            return (int)i;
    return -1;
}

/* A time: ISO-8601 (a space may stand for the T), or whole seconds since the epoch. */
static int parse_time(int64_t *out, const char *s, size_t n)
{
    int64_t secs;
    if (n > 0 && kz_parse_int(&secs, s, n, INT64_MIN / KZ_USEC_PER_SEC, INT64_MAX / KZ_USEC_PER_SEC) == KZ_OK) {
        *out = secs;
        return KZ_OK;
    }
    kz_time t;
    int rc = kz_parse_time(&t, NULL, s, n);
    if (rc)
        return kz_error_set(KZ_EINVALID, "not a time (ISO-8601, or seconds since 1970)");
    *out = t / KZ_USEC_PER_SEC;
    return KZ_OK;
}

int kz_series_read(kz_series *out, const char *path, const char *time_col, const char *value_col,
                   void (*on_error)(void *ctx, const char *message), void *ctx)
{
    kz_csv *rd = NULL;
    kz_csv_rec rec;
    KZ_VEC(int64_t) t = { 0 };
    KZ_VEC(double) v = { 0 };
    KZ_VEC(int64_t) lines = { 0 };
    int tc = -1, vc = -1, rc;
    size_t bad = 0;
    memset(out, 0, sizeof *out);
    if ((rc = kz_csv_open(&rd, path, (size_t)1 << 20)))
        return rc;
    rc = kz_csv_next(rd, &rec);
    if (rc != 1) {
        rc = rc == 0 ? kz_error_set(KZ_EINVALID, "%s: the file is empty (a header row is required)", path)
                     : kz_error_prefix(rc, "%s: header", path);
        goto done;
    }
    tc = find_col(&rec, time_col);
    vc = find_col(&rec, value_col);
    if (tc < 0 || vc < 0) {
        rc = kz_error_set(KZ_EINVALID, "%s:%lld: header: no column '%s' (give --%s)", path, (long long)rec.line,
                          tc < 0 ? time_col : value_col, tc < 0 ? "time-col" : "value-col");
        goto done;
    }
    int64_t last = INT64_MIN, last_line = 0;
    char msg[512];
    while ((rc = kz_csv_next(rd, &rec)) != 0) {
        if (rc == KZ_EINVALID) {
            snprintf(msg, sizeof msg, "%s:%lld: %s", path, (long long)rec.line, kz_error_msg());
            on_error(ctx, msg);
            bad++;
            continue;
        }
        if (rc < 0)
            goto done;
        if (rec.nfields == 1 && rec.f[0].n == 0)
            continue; /* a blank line */
        int64_t ts = 0;
        double val = 0;
        int ok = 0;
        if ((size_t)tc >= rec.nfields || (size_t)vc >= rec.nfields)
            snprintf(msg, sizeof msg, "%s:%lld: %s: missing (the row has %zu field%s, fewer than the header)", path,
                     (long long)rec.line, (size_t)tc >= rec.nfields ? time_col : value_col, rec.nfields,
                     rec.nfields == 1 ? "" : "s");
        else if (parse_time(&ts, rec.f[tc].p, rec.f[tc].n))
            snprintf(msg, sizeof msg, "%s:%lld: %s: '%.*s' is %s", path, (long long)rec.line, time_col,
                     (int)(rec.f[tc].n > 60 ? 60 : rec.f[tc].n), rec.f[tc].p, kz_error_msg());
        else if (rec.f[vc].n == 0 || kz_parse_double(&val, rec.f[vc].p, rec.f[vc].n) || !isfinite(val))
            snprintf(msg, sizeof msg, "%s:%lld: %s: '%.*s' is not a number", path, (long long)rec.line, value_col,
                     (int)(rec.f[vc].n > 60 ? 60 : rec.f[vc].n), rec.f[vc].p);
        else if (ts <= last)
            snprintf(msg, sizeof msg, "%s:%lld: %s: not after line %lld (the rows must be in time order, each time "
                                      "once)",
                     path, (long long)rec.line, time_col, (long long)last_line);
        else
            ok = 1;
        if (!ok) {
            on_error(ctx, msg);
            bad++;
            continue;
        }
        if (kz_vec_push(&t, ts) || kz_vec_push(&v, val) || kz_vec_push(&lines, rec.line)) {
            rc = kz_error_oom();
            goto done;
        }
        last = ts;
        last_line = rec.line;
    }
    rc = bad ? kz_error_set(KZ_EINVALID, "%s: %zu row%s cannot be read (nothing was scored)", path, bad,
                            bad == 1 ? "" : "s")
             : KZ_OK;
done:
    kz_csv_close(rd);
    if (rc) {
        kz_vec_free(&t);
        kz_vec_free(&v);
        kz_vec_free(&lines);
        return rc;
    }
    out->n = t.n;
    out->t = t.v;
    out->v = v.v;
    out->line = lines.v;
    return KZ_OK;
}
