/*
 * daily.c - events and distinct active users per day (docs/metrics.md; the
 * reference Q4).
 *
 * One pass in time order: a day is a contiguous run of events; a user is
 * counted the first time it appears in the run (a mark per user holds the day
 * it was last counted), so each event costs one look at an array that stays
 * in cache.
 */
#include <stdlib.h>

#include "core/error.h"
#include "engine/engine_internal.h"

static const kz_tcol cols[] = {
    { "day", KZ_T_DATE },
    { "events", KZ_T_INT },
    { "dau", KZ_T_INT },
};

int kz_metric_daily(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(cols, sizeof cols / sizeof cols[0]);
    int32_t *mark = NULL;
    int rc = KZ_OK;

    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    mark = malloc((e->nusers ? e->nusers : 1) * sizeof *mark);
    if (!mark) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t u = 0; u < e->nusers; u++)
        mark[u] = INT32_MIN;
    size_t i = 0;
    if (o->from != INT32_MIN)
        i = kz_engine_lower(e, (int64_t)o->from * 86400);
    while (i < e->nevents) {
        int64_t day = kz_engine_day(e, e->ev_sec[i]);
        if (day > o->to)
            break;
        int64_t day_end = (day + 1) * 86400 - e->base; /* first second of the next day, relative */
        int64_t events = 0, dau = 0;
        for (; i < e->nevents && (int64_t)e->ev_sec[i] < day_end; i++) {
            uint32_t u = e->ev_user[i];
            events++;
            if (u && mark[u] != (int32_t)day) {
                mark[u] = (int32_t)day;
                dau++;
            }
        }
        kz_tcell *r = kz_table_add_row(t);
        if (!r) {
            rc = KZ_ENOMEM;
            goto done;
        }
        kz_cell_int(&r[0], day);
        kz_cell_int(&r[1], events);
        kz_cell_int(&r[2], dau);
    }
done:
    free(mark);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}
