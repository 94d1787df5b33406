/*
 * mrr.c - monthly MRR movements (docs/metrics.md; the reference Q2).
 *
 * For every month from the month of the first subscription to the last month
 * that has ended by the observation date, and every account whose first
 * subscription started before the month's end: m0 = MRR on the month's first
 * day, m1 = MRR on the next month's first day. The movements classify each
 * account by m0 and m1; sums are exact integers of money units.
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

int kz_engine_movements(const kz_engine *e, kz_day obs, const kz_metric_opts *o, kz_movement **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    kz_day first = KZ_DAY_OPEN;
    for (size_t i = 0; i < e->nsubs; i++)
        if (e->sub_start[i] < first)
            first = e->sub_start[i];
    if (obs == KZ_DAY_NONE || first == KZ_DAY_OPEN)
        return KZ_OK; /* no months */
    kz_month m_first = kz_day_month(first);
    kz_month m_last = kz_day_month(obs) - 1; /* the last month that has ended by obs */
    if (m_last < m_first)
        return KZ_OK;
    size_t nm = (size_t)(m_last - m_first + 1);
    kz_movement *mv = calloc(nm, sizeof *mv);
    if (!mv)
        return kz_error_oom();
    for (size_t i = 0; i < nm; i++)
        mv[i].month = m_first + (kz_month)i;
    for (uint32_t a = 0; a < e->naccounts; a++) {
        kz_day fs = kz_engine_first_start(e, a);
        if (fs == KZ_DAY_OPEN || !kz_counts(o, a))
            continue;
        kz_month mfs = kz_day_month(fs);
        kz_month from = mfs > m_first ? mfs : m_first; /* fs < me: months from fs's month */
        if (mfs <= m_last) {
            mv[mfs - m_first].accounts_first++;
            mv[mfs - m_first].first_mrr += kz_engine_mrr_on(e, a, fs);
        }
        kz_day ms = kz_month_first_day(from);
        int64_t m0 = kz_engine_mrr_on(e, a, ms);
        for (kz_month m = from; m <= m_last; m++) {
            kz_day me = kz_month_first_day(m + 1);
            int64_t m1 = kz_engine_mrr_on(e, a, me);
            kz_movement *x = &mv[m - m_first];
            x->start += m0;
            x->end += m1;
            if (m1 > 0)
                x->accounts_end++;
            if (m0 > 0) {
                x->accounts_start++;
                if (m1 == 0) {
                    x->churned += m0;
                    x->accounts_churned++;
                } else if (m1 > m0) {
                    x->expansion += m1 - m0;
                } else if (m1 < m0) {
                    x->contraction += m0 - m1;
                }
            } else if (m1 > 0) {
                if (fs >= ms) {
                    x->new_ += m1;
                    x->accounts_new++;
                } else {
                    x->reactivation += m1;
                }
            }
            m0 = m1;
            ms = me;
        }
    }
    *out = mv;
    *n = nm;
    return KZ_OK;
}

int kz_metric_mrr(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(cols, sizeof cols / sizeof cols[0]);
    kz_movement *mv = NULL;
    size_t nm = 0;
    int rc;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    rc = kz_engine_movements(e, kz_engine_obs(e, o), o, &mv, &nm);
    for (size_t i = 0; i < nm && !rc; i++) {
        const kz_movement *x = &mv[i];
        if (!kz_month_in_range(o, x->month))
            continue;
        kz_tcell *r = kz_table_add_row(t);
        if (!r) {
            rc = KZ_ENOMEM;
            break;
        }
        kz_cell_int(&r[0], x->month);
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
            kz_cell_double(&r[11], kz_money_double(x->start - x->contraction - x->churned) / start);
            kz_cell_double(&r[12], kz_money_double(x->start + x->expansion - x->contraction - x->churned) / start);
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
