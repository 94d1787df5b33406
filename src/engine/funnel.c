/*
 * funnel.c - the funnel report: how many accounts (or users) went through
 * ordered events within a window, step by step (docs/metrics.md).
 *
 * A subject enters with its first event of step 1 on a day of [from, to]
 * (o->tz); it reaches step k with its first event of step k after the one
 * that reached step k-1 and no later than `within` after it entered. One
 * pass over the events in time order, one state per subject.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/table.h"
#include "core/tz.h"
#include "engine/engine_internal.h"

static const kz_tcol funnel_cols[] = {
    { "step", KZ_T_INT },           { "event", KZ_T_TEXT },          { "subjects", KZ_T_INT },
    { "conversion", KZ_T_DOUBLE },  { "step_conversion", KZ_T_DOUBLE }, { "median_hours", KZ_T_DOUBLE },
};

struct state {
    uint8_t stage;       /* steps reached; 0: not entered */
    uint32_t start, last; /* seconds since base: when it entered, when it reached its last step */
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int kz_metric_funnel(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    const char *names[KZ_FUNNEL_MAX_STEPS];
    size_t lens[KZ_FUNNEL_MAX_STEPS], n = 0;
    int ids[KZ_FUNNEL_MAX_STEPS];
    *out = NULL;
    /* the steps: "signup,first_report,invite" (checked by kz_report_options) */
    for (const char *p = o->steps; p && *p && n < KZ_FUNNEL_MAX_STEPS;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        names[n] = p;
        lens[n++] = len;
        p = c ? c + 1 : p + len;
    }
    if (n < 2)
        return kz_error_set(KZ_EINVALID, "funnel: give at least two steps");
    for (size_t k = 0; k < n; k++) {
        ids[k] = -1;
        for (size_t id = 1; id < e->nnames; id++)
            if (e->names[id] && strlen(e->names[id]) == lens[k] && memcmp(e->names[id], names[k], lens[k]) == 0)
                ids[k] = (int)id;
    }
    kz_table *t = kz_table_new(funnel_cols, sizeof funnel_cols / sizeof funnel_cols[0]);
    size_t nsub = o->per_user ? (e->nusers ? e->nusers : 1) : (e->naccounts ? e->naccounts : 1);
    struct state *st = calloc(nsub, sizeof *st);
    int64_t reached[KZ_FUNNEL_MAX_STEPS] = { 0 };
    uint32_t *times[KZ_FUNNEL_MAX_STEPS] = { 0 };
    size_t ntimes[KZ_FUNNEL_MAX_STEPS] = { 0 }, captimes[KZ_FUNNEL_MAX_STEPS] = { 0 };
    int rc = KZ_OK;
    if (!t || !st) {
        rc = kz_error_oom();
        goto done;
    }
    /* entries on the days of [from, to] in the reporting zone */
    int64_t lo = o->from == INT32_MIN ? INT64_MIN : kz_tz_day_start(o->tz, o->from) - e->base;
    int64_t hi = o->to == INT32_MAX ? INT64_MAX : kz_tz_day_start(o->tz, (int64_t)o->to + 1) - e->base - 1;
    int64_t within = o->within > 0 ? o->within : 14 * 86400;
    for (size_t i = 0; i < e->nevents && ids[0] >= 0; i++) {
        int64_t sec = e->ev_sec[i];
        if (hi != INT64_MAX && sec > hi + within)
            break; /* by time: nothing later can enter or complete */
        uint32_t acc = e->ev_acc[i];
        if (o->mask && !o->mask[acc])
            continue;
        size_t s = o->per_user ? e->ev_user[i] : acc;
        if ((o->per_user && s == 0) || s >= nsub)
            continue;
        struct state *x = &st[s];
        int name = e->ev_name[i];
        if (x->stage == 0) {
            if (name != ids[0] || sec < lo || sec > hi)
                continue;
            x->stage = 1;
            x->start = x->last = (uint32_t)sec;
            reached[0]++;
            continue;
        }
        if (x->stage >= n || name != ids[x->stage] || sec < x->last || sec - x->start > within)
            continue;
        size_t k = x->stage;
        if (ntimes[k] == captimes[k]) {
            size_t cap = captimes[k] ? captimes[k] * 2 : 1024;
            uint32_t *v = realloc(times[k], cap * sizeof *v);
            if (!v) {
                rc = kz_error_oom();
                goto done;
            }
            times[k] = v;
            captimes[k] = cap;
        }
        times[k][ntimes[k]++] = (uint32_t)(sec - x->start);
        x->last = (uint32_t)sec;
        x->stage++;
        reached[k]++;
    }
    for (size_t k = 0; k < n && !rc; k++) {
        kz_tcell *r = kz_table_add_row(t);
        if (!r) {
            rc = KZ_ENOMEM;
            break;
        }
        kz_cell_int(&r[0], (int64_t)k + 1);
        if ((rc = kz_cell_text(t, &r[1], names[k], lens[k])))
            break;
        kz_cell_int(&r[2], reached[k]);
        kz_cell_double(&r[3], reached[0] ? (double)reached[k] / (double)reached[0] : NAN);
        kz_cell_double(&r[4], k == 0 ? (reached[0] ? 1.0 : NAN)
                              : reached[k - 1] ? (double)reached[k] / (double)reached[k - 1] : NAN);
        double median = k == 0 && reached[0] ? 0.0 : NAN;
        if (k > 0 && ntimes[k]) {
            qsort(times[k], ntimes[k], sizeof *times[k], cmp_u32);
            size_t m = ntimes[k] / 2;
            median = ntimes[k] % 2 ? times[k][m] : ((double)times[k][m - 1] + (double)times[k][m]) / 2.0;
            median /= 3600.0;
        }
        kz_cell_double(&r[5], median);
    }
done:
    for (size_t k = 0; k < KZ_FUNNEL_MAX_STEPS; k++)
        free(times[k]);
    free(st);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}
