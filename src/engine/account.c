/*
 * account.c - one account's facts as the engine knows them (engine.h:
 * kz_engine_account_*): what its page and the account list show.
 */
#include "engine/engine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void kz_engine_account_facts(const kz_engine *e, const kz_metric_opts *o, uint32_t a, kz_day at, kz_account_facts *out)
{
    memset(out, 0, sizeof *out);
    out->mrr = kz_engine_mrr_on(e, a, at);
    int plan = kz_engine_plan_on(e, a, at);
    out->plan = plan ? e->plans[plan] : NULL;
    for (uint32_t i = e->acc_subs[a]; i < e->acc_subs[a + 1]; i++)
        if (e->sub_start[i] <= at && e->sub_end[i] > at && e->sub_mrr[i] > 0)
            out->seats += e->sub_qty[i];
    out->first_start = kz_engine_first_start(e, a);
    if (out->first_start == KZ_DAY_OPEN)
        out->first_start = KZ_DAY_NONE;
    /* the last event on or before the end of `at` */
    int64_t end = kz_tz_day_start(o->tz, (int64_t)at + 1);
    out->last_event = INT64_MIN;
    if (e->acc_last && e->acc_last[a] >= 0) {
        if (e->base + e->acc_last[a] < end) {
            out->last_event = e->base + e->acc_last[a];
        } else {
            for (size_t i = kz_engine_lower(e, end); i-- > 0;)
                if (e->ev_acc[i] == a) {
                    out->last_event = e->base + e->ev_sec[i];
                    break;
                }
        }
    }
    for (uint32_t t = e->acc_tickets[a]; t < e->acc_tickets[a + 1]; t++) {
        if (e->tk_opened[t] >= end || e->tk_resolved[t] < end)
            continue;
        out->open_tickets++;
        out->open_urgent += e->tk_priority[t] >= KZ_PRIO_HIGH;
    }
    out->nps = -1;
    for (size_t i = e->nnps; i-- > 0;)
        if (e->nps_acc[i] == a && e->nps_sec[i] < end) {
            out->nps = e->nps_score[i];
            out->nps_time = e->nps_sec[i];
            break;
        }
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

int kz_engine_account_series(const kz_engine *e, const kz_metric_opts *o, uint32_t a, kz_day from, kz_day to,
                             int64_t *events, int64_t *users)
{
    if (to < from)
        return KZ_OK;
    size_t days = (size_t)(to - from) + 1;
    memset(events, 0, days * sizeof *events);
    memset(users, 0, days * sizeof *users);
    size_t lo = kz_engine_lower_day(e, o, from), hi = kz_engine_lower_day(e, o, (int64_t)to + 1);
    /* (day, user) of the account's events, to count distinct users per day */
    size_t n = 0, cap = 0;
    uint64_t *pairs = NULL;
    int rc = KZ_OK;
    for (size_t i = lo; i < hi; i++) {
        if (e->ev_acc[i] != a)
            continue;
        int64_t d = kz_engine_day(e, o, e->ev_sec[i]) - from;
        if (d < 0 || (size_t)d >= days)
            continue;
        events[d]++;
        if (!e->ev_user[i])
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            uint64_t *np = realloc(pairs, nc * sizeof *np);
            if (!np) {
                rc = kz_error_oom();
                goto done;
            }
            pairs = np;
            cap = nc;
        }
        pairs[n++] = (uint64_t)d << 32 | e->ev_user[i];
    }
    /* the users of a day repeat: sort, then count the runs */
    if (n > 1)
        qsort(pairs, n, sizeof *pairs, cmp_u64);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || pairs[i] != pairs[i - 1])
            users[pairs[i] >> 32]++;
done:
    free(pairs);
    return rc;
}

size_t kz_engine_event_names(const kz_engine *e)
{
    return e->nnames;
}

const char *kz_engine_event_name(const kz_engine *e, size_t k)
{
    return k < e->nnames && e->names[k] ? e->names[k] : "";
}

void kz_engine_account_by_name(const kz_engine *e, const kz_metric_opts *o, uint32_t a, kz_day from, kz_day to,
                               int64_t *by_name, int64_t *by_week)
{
    size_t names = e->nnames;
    memset(by_name, 0, names * sizeof *by_name);
    if (to < from)
        return;
    size_t weeks = (size_t)(to - from) / 7 + 1;
    if (by_week)
        memset(by_week, 0, weeks * names * sizeof *by_week);
    size_t lo = kz_engine_lower_day(e, o, from), hi = kz_engine_lower_day(e, o, (int64_t)to + 1);
    for (size_t i = lo; i < hi; i++) {
        if (e->ev_acc[i] != a || e->ev_name[i] >= names)
            continue;
        int64_t d = kz_engine_day(e, o, e->ev_sec[i]) - from;
        if (d < 0 || d > to - from)
            continue;
        by_name[e->ev_name[i]]++;
        if (by_week)
            by_week[(size_t)d / 7 * names + e->ev_name[i]]++;
    }
}
