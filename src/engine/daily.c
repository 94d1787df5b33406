/*
 * daily.c - events and distinct active users per day (docs/metrics.md; the
 * reference Q4).
 *
 * Events are sorted by time, so a day is a contiguous run: its end is found by
 * binary search and its event count is a subtraction. Distinct users are
 * counted with a bitmap of all users, cleared for each day (37 KB for 300,000
 * users: it stays in the first caches), so the pass reads only the user column.
 * The days are split between two threads at a day boundary; each fills its own
 * rows, so the result is the same as one pass.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/engine_internal.h"

static const kz_tcol cols[] = {
    { "day", KZ_T_DATE },
    { "events", KZ_T_INT },
    { "dau", KZ_T_INT },
};

struct day_row {
    int64_t day, events, dau;
};

struct part {
    const kz_engine *e;
    const kz_metric_opts *o;
    size_t from, to;      /* events [from, to), whole days */
    int64_t last_day;     /* stop after this day */
    struct day_row *rows; /* out: one per day with events */
    size_t nrows, cap;
    int rc;
};

static void *run_part(void *arg)
{
    struct part *p = arg;
    const kz_engine *e = p->e;
    size_t words = (e->nusers + 63) / 64;
    uint64_t *seen = calloc(words ? words : 1, sizeof *seen);
    if (!seen) {
        p->rc = KZ_ENOMEM;
        return NULL;
    }
    for (size_t i = p->from; i < p->to;) {
        int64_t day = kz_engine_day(e, p->o, e->ev_sec[i]);
        if (day > p->last_day)
            break;
        size_t end = kz_engine_lower_day(e, p->o, day + 1);
        if (end > p->to)
            end = p->to;
        int64_t dau = 0, events = (int64_t)(end - i);
        const uint8_t *mask = p->o->mask;
        if (!mask) {
            for (size_t k = i; k < end; k++) {
                uint32_t u = e->ev_user[k];
                uint64_t bit = (uint64_t)1 << (u & 63), *w = &seen[u >> 6];
                dau += !(*w & bit);
                *w |= bit;
            }
        } else {
            events = 0;
            for (size_t k = i; k < end; k++) {
                if (!mask[e->ev_acc[k]])
                    continue;
                uint32_t u = e->ev_user[k];
                uint64_t bit = (uint64_t)1 << (u & 63), *w = &seen[u >> 6];
                events++;
                dau += !(*w & bit);
                *w |= bit;
            }
        }
        /* user 0 (no user) is never a user */
        if (seen[0] & 1) {
            dau--;
        }
        if (p->nrows == p->cap) {
            size_t ncap = p->cap ? p->cap * 2 : 512;
            struct day_row *nr = realloc(p->rows, ncap * sizeof *nr);
            if (!nr) {
                p->rc = KZ_ENOMEM;
                break;
            }
            p->rows = nr;
            p->cap = ncap;
        }
        if (events)
            p->rows[p->nrows++] = (struct day_row){ day, events, dau };
        /* clear only what this day set */
        for (size_t k = i; k < end; k++)
            seen[e->ev_user[k] >> 6] = 0;
        i = end;
    }
    free(seen);
    return NULL;
}

int kz_metric_daily(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(cols, sizeof cols / sizeof cols[0]);
    struct part parts[2];
    int nparts = 1, rc = KZ_OK;

    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    memset(parts, 0, sizeof parts);
    size_t from = o->from != INT32_MIN ? kz_engine_lower_day(e, o, o->from) : 0;
    size_t to = o->to != INT32_MAX ? kz_engine_lower_day(e, o, (int64_t)o->to + 1) : e->nevents;
    parts[0] = (struct part){ e, o, from, to, o->to, NULL, 0, 0, 0 };
    if (to > from + 1 && kz_engine_parts(o, to - from, 1000000) == 2) {
        /* two halves, split at the start of the day in the middle */
        size_t mid = from + (to - from) / 2;
        int64_t mid_day = kz_engine_day(e, o, e->ev_sec[mid]);
        size_t split = kz_engine_lower_day(e, o, mid_day);
        if (split > from && split < to) {
            parts[0].to = split;
            parts[1] = (struct part){ e, o, split, to, o->to, NULL, 0, 0, 0 };
            nparts = 2;
        }
    }
    pthread_t th;
    int threaded = nparts == 2 && pthread_create(&th, NULL, run_part, &parts[1]) == 0;
    run_part(&parts[0]);
    if (threaded)
        pthread_join(th, NULL);
    else if (nparts == 2)
        run_part(&parts[1]);
    for (int k = 0; k < nparts && !rc; k++) {
        if (parts[k].rc) {
            rc = kz_error_oom();
            break;
        }
        for (size_t i = 0; i < parts[k].nrows; i++) {
            kz_tcell *r = kz_table_add_row(t);
            if (!r) {
                rc = KZ_ENOMEM;
                break;
            }
            kz_cell_int(&r[0], parts[k].rows[i].day);
            kz_cell_int(&r[1], parts[k].rows[i].events);
            kz_cell_int(&r[2], parts[k].rows[i].dau);
        }
    }
    free(parts[0].rows);
    free(parts[1].rows);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}
