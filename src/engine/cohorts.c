/*
 * cohorts.c - logo and revenue retention by signup cohort (docs/metrics.md;
 * logo retention in long form is the reference Q5).
 *
 * The cohort of an account is the month of its first subscription start. It
 * is retained at k (k = 0..24) when it still pays (MRR > 0) on the first day
 * after the end of its k-th month of life; points after the observation date
 * are left out. Revenue retention at k is the cohort's MRR on that day over
 * its initial MRR (each account's MRR on its first start day): above 1 when
 * expansion outweighs churn.
 */
#include <stdlib.h>

#include "core/error.h"
#include "engine/engine_internal.h"

#define MAX_K 24

static const kz_tcol logo_cols[] = {
    { "cohort_month", KZ_T_MONTH }, { "k", KZ_T_INT }, { "cohort_accounts", KZ_T_INT },
    { "retained", KZ_T_INT },       { "share", KZ_T_DOUBLE },
};

static const kz_tcol revenue_cols[] = {
    { "cohort_month", KZ_T_MONTH }, { "k", KZ_T_INT },   { "cohort_accounts", KZ_T_INT },
    { "initial_mrr", KZ_T_MONEY },  { "mrr", KZ_T_MONEY }, { "revenue_retention", KZ_T_DOUBLE },
};

static const char *const k_names[MAX_K + 1] = {
    "k0",  "k1",  "k2",  "k3",  "k4",  "k5",  "k6",  "k7",  "k8",  "k9",  "k10", "k11", "k12",
    "k13", "k14", "k15", "k16", "k17", "k18", "k19", "k20", "k21", "k22", "k23", "k24",
};

struct cohort {
    int64_t accounts, initial;   /* accounts, and their MRR on their first days */
    int64_t points;              /* k = 0..points-1 lie on or before obs */
    int64_t kept[MAX_K + 1];     /* accounts paying at k */
    int64_t mrr[MAX_K + 1];      /* their MRR at k */
};

/* The cohorts from month *first on; *n = 0 when there are none. */
static int build(const kz_engine *e, const kz_metric_opts *o, struct cohort **out, kz_month *first, size_t *n)
{
    kz_day obs = kz_engine_obs(e, o);
    kz_month lo = INT32_MAX, hi = INT32_MIN;
    *out = NULL;
    *n = 0;
    for (uint32_t a = 0; a < e->naccounts; a++) {
        kz_day fs = kz_engine_first_start(e, a);
        if (fs == KZ_DAY_OPEN)
            continue;
        kz_month m = kz_day_month(fs);
        lo = m < lo ? m : lo;
        hi = m > hi ? m : hi;
    }
    if (obs == KZ_DAY_NONE || lo > hi)
        return KZ_OK;
    struct cohort *c = calloc((size_t)(hi - lo + 1), sizeof *c);
    if (!c)
        return kz_error_oom();
    for (kz_month m = lo; m <= hi; m++) {
        int64_t k = 0;
        while (k <= MAX_K && kz_month_first_day(m + (kz_month)k + 1) <= obs)
            k++;
        c[m - lo].points = k;
    }
    for (uint32_t a = 0; a < e->naccounts; a++) {
        kz_day fs = kz_engine_first_start(e, a);
        if (fs == KZ_DAY_OPEN || !kz_counts(o, a))
            continue;
        kz_month cm = kz_day_month(fs);
        struct cohort *x = &c[cm - lo];
        x->accounts++;
        x->initial += kz_engine_mrr_on(e, a, fs);
        for (int64_t k = 0; k < x->points; k++) {
            int64_t m = kz_engine_mrr_on(e, a, kz_month_first_day(cm + (kz_month)k + 1));
            x->kept[k] += m > 0;
            x->mrr[k] += m;
        }
    }
    *out = c;
    *first = lo;
    *n = (size_t)(hi - lo + 1);
    return KZ_OK;
}

/* Long form: a row per cohort and k. */
static int long_form(kz_table *t, const struct cohort *c, kz_month first, size_t n, const kz_metric_opts *o,
                     int revenue)
{
    for (size_t i = 0; i < n; i++) {
        kz_month cm = first + (kz_month)i;
        if (!c[i].accounts || !kz_month_in_range(o, cm))
            continue;
        for (int64_t k = 0; k < c[i].points; k++) {
            kz_tcell *r = kz_table_add_row(t);
            if (!r)
                return KZ_ENOMEM;
            kz_cell_int(&r[0], cm);
            kz_cell_int(&r[1], k);
            kz_cell_int(&r[2], c[i].accounts);
            if (revenue) {
                kz_cell_int(&r[3], c[i].initial);
                kz_cell_int(&r[4], c[i].mrr[k]);
                if (c[i].initial)
                    kz_cell_double(&r[5], kz_money_double(c[i].mrr[k]) / kz_money_double(c[i].initial));
            } else {
                kz_cell_int(&r[3], c[i].kept[k]);
                kz_cell_double(&r[4], (double)c[i].kept[k] / (double)c[i].accounts);
            }
        }
    }
    return KZ_OK;
}

/* The matrix: a row per cohort, a column per k up to the last one shown. */
static int matrix(kz_table **out, const struct cohort *c, kz_month first, size_t n, const kz_metric_opts *o,
                  int revenue)
{
    int64_t kmax = 0; /* over every cohort in range, so that segments share the columns */
    for (size_t i = 0; i < n; i++)
        if (kz_month_in_range(o, first + (kz_month)i) && c[i].points > kmax)
            kmax = c[i].points;
    kz_tcol cols[3 + MAX_K + 1];
    size_t nc = 0;
    cols[nc++] = (kz_tcol){ "cohort_month", KZ_T_MONTH };
    cols[nc++] = (kz_tcol){ "cohort_accounts", KZ_T_INT };
    if (revenue)
        cols[nc++] = (kz_tcol){ "initial_mrr", KZ_T_MONEY };
    size_t k0 = nc;
    for (int64_t k = 0; k < (kmax ? kmax : 1); k++)
        cols[nc++] = (kz_tcol){ k_names[k], KZ_T_DOUBLE };
    kz_table *t = kz_table_new(cols, nc);
    if (!t)
        return KZ_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        kz_month cm = first + (kz_month)i;
        if (!c[i].accounts || !kz_month_in_range(o, cm))
            continue;
        kz_tcell *r = kz_table_add_row(t);
        if (!r) {
            kz_table_free(t);
            return KZ_ENOMEM;
        }
        kz_cell_int(&r[0], cm);
        kz_cell_int(&r[1], c[i].accounts);
        if (revenue)
            kz_cell_int(&r[2], c[i].initial);
        for (int64_t k = 0; k < c[i].points; k++) {
            if (!revenue)
                kz_cell_double(&r[k0 + (size_t)k], (double)c[i].kept[k] / (double)c[i].accounts);
            else if (c[i].initial)
                kz_cell_double(&r[k0 + (size_t)k], kz_money_double(c[i].mrr[k]) / kz_money_double(c[i].initial));
        }
    }
    *out = t;
    return KZ_OK;
}

int kz_metric_cohorts(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    struct cohort *c = NULL;
    kz_month first = 0;
    size_t n = 0;
    int revenue = (o->flags & KZ_METRIC_REVENUE) != 0;
    int rc = build(e, o, &c, &first, &n);
    *out = NULL;
    if (rc)
        return rc;
    if (o->flags & KZ_METRIC_MATRIX) {
        rc = matrix(out, c, first, n, o, revenue);
    } else {
        kz_table *t = revenue ? kz_table_new(revenue_cols, sizeof revenue_cols / sizeof revenue_cols[0])
                              : kz_table_new(logo_cols, sizeof logo_cols / sizeof logo_cols[0]);
        rc = t ? long_form(t, c, first, n, o, revenue) : KZ_ENOMEM;
        if (rc)
            kz_table_free(t);
        else
            *out = t;
    }
    free(c);
    return rc;
}
