/*
 * cohorts.c - logo retention by signup cohort (docs/metrics.md; the
 * reference Q5).
 *
 * The cohort of an account is the month of its first subscription start. It
 * is retained at k (k = 0..24) when it still pays (MRR > 0) on the first day
 * after the end of its k-th month of life; points after the observation date
 * are left out.
 */
#include <stdlib.h>

#include "core/error.h"
#include "engine/engine_internal.h"

#define MAX_K 24

static const kz_tcol cols[] = {
    { "cohort_month", KZ_T_MONTH }, { "k", KZ_T_INT }, { "cohort_accounts", KZ_T_INT },
    { "retained", KZ_T_INT },       { "share", KZ_T_DOUBLE },
};

int kz_metric_cohorts(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(cols, sizeof cols / sizeof cols[0]);
    int64_t(*size)[MAX_K + 1] = NULL, (*kept)[MAX_K + 1] = NULL;
    int rc = KZ_OK;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    kz_day obs = kz_engine_obs(e, o);
    kz_month first = INT32_MAX, last = INT32_MIN;
    for (uint32_t a = 0; a < e->naccounts; a++) {
        kz_day fs = kz_engine_first_start(e, a);
        if (fs == KZ_DAY_OPEN)
            continue;
        kz_month m = kz_day_month(fs);
        if (m < first)
            first = m;
        if (m > last)
            last = m;
    }
    if (obs == KZ_DAY_NONE || first > last)
        goto done;
    size_t n = (size_t)(last - first + 1);
    size = calloc(n, sizeof *size);
    kept = calloc(n, sizeof *kept);
    if (!size || !kept) {
        rc = kz_error_oom();
        goto done;
    }
    for (uint32_t a = 0; a < e->naccounts; a++) {
        kz_day fs = kz_engine_first_start(e, a);
        if (fs == KZ_DAY_OPEN || !kz_counts(o, a))
            continue;
        kz_month cm = kz_day_month(fs);
        for (int k = 0; k <= MAX_K; k++) {
            kz_day d = kz_month_first_day(cm + k + 1);
            if (d > obs)
                break;
            size[cm - first][k]++;
            if (kz_engine_mrr_on(e, a, d) > 0)
                kept[cm - first][k]++;
        }
    }
    for (size_t c = 0; c < n; c++) {
        kz_month cm = first + (kz_month)c;
        if (!kz_month_in_range(o, cm))
            continue;
        for (int k = 0; k <= MAX_K; k++) {
            if (!size[c][k])
                continue;
            kz_tcell *r = kz_table_add_row(t);
            if (!r) {
                rc = KZ_ENOMEM;
                goto done;
            }
            kz_cell_int(&r[0], cm);
            kz_cell_int(&r[1], k);
            kz_cell_int(&r[2], size[c][k]);
            kz_cell_int(&r[3], kept[c][k]);
            kz_cell_double(&r[4], (double)kept[c][k] / (double)size[c][k]);
        }
    }
done:
    free(size);
    free(kept);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}
