/*
 * mrr.c - MRR movements by month or ISO week (docs/metrics.md; the reference
 * Q2 for months).
 *
 * For every period from the one holding the first subscription to the last
 * that has ended by the observation date, and every account whose first
 * subscription started before the period's end: m0 = MRR on the period's
 * first day, m1 = MRR on the next period's first day. The movements classify
 * each account by m0 and m1 (kz_engine_move); sums are exact integers of
 * money units. Two definitions are configuration: a return after more than
 * o->reactivation_days days without MRR counts as new, and with
 * o->count_intra a paid span that begins and ends inside one period counts as
 * new (or reactivation) and churned in it.
 */
#include <stdlib.h>

#include "core/error.h"
#include "engine/engine_internal.h"

static const kz_tcol cols[] = {
    { "month", KZ_T_MONTH },          { "starting_mrr", KZ_T_MONEY },    { "new_mrr", KZ_T_MONEY },
    { "expansion_mrr", KZ_T_MONEY },  { "contraction_mrr", KZ_T_MONEY }, { "churned_mrr", KZ_T_MONEY },
    { "reactivation_mrr", KZ_T_MONEY }, { "ending_mrr", KZ_T_MONEY },    { "accounts_start", KZ_T_INT },
    { "accounts_churned", KZ_T_INT }, { "logo_churn_rate", KZ_T_DOUBLE }, { "grr", KZ_T_DOUBLE },
    { "nrr", KZ_T_DOUBLE },
};

kz_day kz_week_first_day(kz_day d)
{
    int32_t wd = (int32_t)(((int64_t)d + 3) % 7); /* 1970-01-01 was a Thursday: Monday = 0 */
    if (wd < 0)
        wd += 7;
    return d - wd;
}

/* The days without MRR before account a paid again in [ms, me): from the end
 * of its last paid subscription (ending by ms) to the first start after ms;
 * -1 when there is no earlier end. */
static int64_t gap_before(const kz_engine *e, uint32_t a, kz_day ms)
{
    kz_day last_end = KZ_DAY_NONE, restart = KZ_DAY_OPEN;
    for (uint32_t i = e->acc_subs[a]; i < e->acc_subs[a + 1]; i++) {
        if (e->sub_mrr[i] <= 0)
            continue;
        if (e->sub_end[i] <= ms && (last_end == KZ_DAY_NONE || e->sub_end[i] > last_end))
            last_end = e->sub_end[i];
        if (e->sub_start[i] > ms && e->sub_start[i] < restart)
            restart = e->sub_start[i];
    }
    if (last_end == KZ_DAY_NONE || restart == KZ_DAY_OPEN)
        return -1;
    return (int64_t)restart - last_end;
}

/* The highest MRR account a reached in a paid span inside (ms, me). */
static int64_t intra_mrr(const kz_engine *e, uint32_t a, kz_day ms, kz_day me)
{
    int64_t best = 0;
    for (uint32_t i = e->acc_subs[a]; i < e->acc_subs[a + 1] && e->sub_start[i] < me; i++) {
        if (e->sub_mrr[i] <= 0 || e->sub_start[i] <= ms || e->sub_end[i] > me)
            continue;
        int64_t m = kz_engine_mrr_on(e, a, e->sub_start[i]);
        if (m > best)
            best = m;
    }
    return best;
}

kz_move kz_engine_move(const kz_engine *e, const kz_metric_opts *o, uint32_t a, kz_day fs, kz_day ms, kz_day me,
                       int64_t m0, int64_t m1, int64_t *intra)
{
    *intra = 0;
    if (m0 == 0 && m1 == 0 && o->count_intra && fs < me)
        *intra = intra_mrr(e, a, ms, me);
    kz_move mv = *intra ? (fs >= ms ? KZ_MOVE_NEW : KZ_MOVE_REACTIVATION) : kz_classify(m0, m1, fs, ms);
    if (mv == KZ_MOVE_REACTIVATION && o->reactivation_days > 0 && gap_before(e, a, ms) > o->reactivation_days)
        mv = KZ_MOVE_NEW;
    return mv;
}

int kz_engine_periods(const kz_engine *e, const kz_metric_opts *o, const kz_day *b, size_t np, kz_movement *mv)
{
    for (uint32_t a = 0; a < e->naccounts; a++) {
        kz_day fs = kz_engine_first_start(e, a);
        if (fs == KZ_DAY_OPEN || fs >= b[np] || !kz_counts(o, a))
            continue;
        /* the first period that ends after fs */
        size_t lo = 0, hi = np;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (b[mid + 1] <= fs)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (b[lo] <= fs) {
            mv[lo].accounts_first++;
            mv[lo].first_mrr += kz_engine_mrr_on(e, a, fs);
        }
        int64_t m0 = kz_engine_mrr_on(e, a, b[lo]);
        for (size_t p = lo; p < np; p++) {
            int64_t m1 = kz_engine_mrr_on(e, a, b[p + 1]), intra;
            kz_movement *x = &mv[p];
            kz_move how = kz_engine_move(e, o, a, fs, b[p], b[p + 1], m0, m1, &intra);
            x->start += m0;
            x->end += m1;
            if (m1 > 0)
                x->accounts_end++;
            if (m0 > 0 || intra)
                x->accounts_start++;
            if (intra) { /* in and out inside the period */
                x->churned += intra;
                x->intra += intra;
                x->accounts_churned++;
            }
            switch (how) {
            case KZ_MOVE_CHURNED:
                x->churned += m0;
                x->accounts_churned++;
                break;
            case KZ_MOVE_EXPANSION: x->expansion += m1 - m0; break;
            case KZ_MOVE_CONTRACTION: x->contraction += m0 - m1; break;
            case KZ_MOVE_NEW:
                x->new_ += m1 + intra;
                x->accounts_new++;
                break;
            case KZ_MOVE_REACTIVATION: x->reactivation += m1 + intra; break;
            default: break;
            }
            m0 = m1;
        }
    }
    return KZ_OK;
}

/* The first day of the first subscription; KZ_DAY_OPEN when there is none. */
static kz_day first_start(const kz_engine *e)
{
    kz_day first = KZ_DAY_OPEN;
    for (size_t i = 0; i < e->nsubs; i++)
        if (e->sub_start[i] < first)
            first = e->sub_start[i];
    return first;
}

/* The periods (months, or weeks when weekly) from the one holding the first
 * subscription to the last that has ended by obs, as *np + 1 boundaries in
 * *out (malloc'd, caller frees); *np = 0 when there are none. */
static int boundaries(const kz_engine *e, kz_day obs, int weekly, kz_day **out, size_t *np)
{
    kz_day first = first_start(e);
    *out = NULL;
    *np = 0;
    if (obs == KZ_DAY_NONE || first == KZ_DAY_OPEN)
        return KZ_OK;
    int64_t lo, hi; /* period numbers: months, or Mondays / 7 */
    if (weekly) {
        lo = kz_week_first_day(first);
        hi = (int64_t)kz_week_first_day(obs) - 7;
        if (hi < lo)
            return KZ_OK;
        *np = (size_t)((hi - lo) / 7 + 1);
    } else {
        lo = kz_day_month(first);
        hi = (int64_t)kz_day_month(obs) - 1; /* the last month that has ended by obs */
        if (hi < lo)
            return KZ_OK;
        *np = (size_t)(hi - lo + 1);
    }
    kz_day *b = malloc((*np + 1) * sizeof *b);
    if (!b) {
        *np = 0;
        return kz_error_oom();
    }
    for (size_t i = 0; i <= *np; i++)
        b[i] = weekly ? (kz_day)(lo + 7 * (int64_t)i) : kz_month_first_day((kz_month)(lo + (int64_t)i));
    *out = b;
    return KZ_OK;
}

static int movements(const kz_engine *e, kz_day obs, const kz_metric_opts *o, int weekly, kz_movement **out,
                     size_t *n)
{
    kz_day *b = NULL;
    size_t np = 0;
    *out = NULL;
    *n = 0;
    int rc = boundaries(e, obs, weekly, &b, &np);
    if (rc || np == 0)
        return rc;
    kz_movement *mv = calloc(np, sizeof *mv);
    if (!mv) {
        free(b);
        return kz_error_oom();
    }
    for (size_t i = 0; i < np; i++) {
        mv[i].first_day = b[i];
        mv[i].month = kz_day_month(b[i]);
    }
    rc = kz_engine_periods(e, o, b, np, mv);
    free(b);
    if (rc) {
        free(mv);
        return rc;
    }
    *out = mv;
    *n = np;
    return KZ_OK;
}

int kz_engine_movements(const kz_engine *e, kz_day obs, const kz_metric_opts *o, kz_movement **out, size_t *n)
{
    return movements(e, obs, o, 0, out, n);
}

/* 1 when the period starting on day `first` is one the report should show. */
static int in_range(const kz_metric_opts *o, int weekly, kz_day first)
{
    if (!weekly)
        return kz_month_in_range(o, kz_day_month(first));
    if (o->from != INT32_MIN && first < kz_week_first_day(o->from))
        return 0;
    return first <= o->to;
}

int kz_metric_mrr(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    int weekly = o->interval == KZ_INTERVAL_WEEK;
    kz_tcol tc[sizeof cols / sizeof cols[0]];
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        tc[i] = cols[i];
    if (weekly)
        tc[0] = (kz_tcol){ "week", KZ_T_DATE };
    kz_table *t = kz_table_new(tc, sizeof tc / sizeof tc[0]);
    kz_movement *mv = NULL;
    size_t nm = 0;
    int rc;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    rc = movements(e, kz_engine_obs(e, o), o, weekly, &mv, &nm);
    for (size_t i = 0; i < nm && !rc; i++) {
        const kz_movement *x = &mv[i];
        if (!in_range(o, weekly, x->first_day))
            continue;
        kz_tcell *r = kz_table_add_row(t);
        if (!r) {
            rc = KZ_ENOMEM;
            break;
        }
        kz_cell_int(&r[0], weekly ? x->first_day : x->month);
        kz_cell_int(&r[1], x->start);
        kz_cell_int(&r[2], x->new_);
        kz_cell_int(&r[3], x->expansion);
        kz_cell_int(&r[4], x->contraction);
        kz_cell_int(&r[5], x->churned);
        kz_cell_int(&r[6], x->reactivation);
        kz_cell_int(&r[7], x->end);
        kz_cell_int(&r[8], x->accounts_start);
        kz_cell_int(&r[9], x->accounts_churned);
        if (x->accounts_start)
            kz_cell_double(&r[10], (double)x->accounts_churned / (double)x->accounts_start);
        if (x->start) {
            double start = kz_money_double(x->start);
            int64_t lost = x->churned - x->intra; /* of the starting MRR */
            kz_cell_double(&r[11], kz_money_double(x->start - x->contraction - lost) / start);
            kz_cell_double(&r[12], kz_money_double(x->start + x->expansion - x->contraction - lost) / start);
        }
    }
    free(mv);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}
