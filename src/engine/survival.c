/*
 * survival.c - how long customers stay (docs/metrics.md).
 *
 * An account's lifetime runs from its first paid day to its first churn: the
 * first day on which its paid subscriptions (mrr > 0) no longer cover it.
 * Accounts that have not churned by the observation date are censored there
 * (they stayed at least that long). The Kaplan-Meier estimate handles the
 * censoring: at each day on which some accounts churn, the share still
 * surviving is multiplied by 1 - churned / at risk. The median lifetime is the
 * first day the survival falls to one half or below; the mean is taken over
 * the accounts that did churn.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/engine_internal.h"

#define DAYS_PER_MONTH (365.25 / 12.0)

struct life {
    int32_t days;
    int churned; /* 0: censored */
};

static int cmp_life(const void *x, const void *y)
{
    const struct life *a = x, *b = y;
    if (a->days != b->days)
        return a->days < b->days ? -1 : 1;
    return b->churned - a->churned; /* churn before censoring on the same day */
}

/* Account a's first paid span [*start, *end): *start = KZ_DAY_OPEN when it
 * never paid; *end = KZ_DAY_OPEN while it still pays. */
static void first_span(const kz_engine *e, uint32_t a, kz_day *start, kz_day *end)
{
    *start = *end = KZ_DAY_OPEN;
    /* grouped by start date: merge the paid spans from the first */
    for (uint32_t i = e->acc_subs[a]; i < e->acc_subs[a + 1]; i++) {
        if (e->sub_mrr[i] <= 0)
            continue;
        if (*start == KZ_DAY_OPEN) {
            *start = e->sub_start[i];
            *end = e->sub_end[i];
        } else if (e->sub_start[i] <= *end) {
            if (e->sub_end[i] > *end)
                *end = e->sub_end[i];
        } else {
            break; /* a gap: the first span ended at end */
        }
    }
}

/* The lifetimes of every account with a paid start on or before obs. */
static int lifetimes(const kz_engine *e, const kz_metric_opts *o, kz_day obs, struct life **out, size_t *n)
{
    struct life *v = malloc((e->naccounts ? e->naccounts : 1) * sizeof *v);
    size_t k = 0;
    if (!v)
        return kz_error_oom();
    for (uint32_t a = 0; a < e->naccounts; a++) {
        kz_day start, end;
        if (!kz_counts(o, a))
            continue;
        first_span(e, a, &start, &end);
        if (start == KZ_DAY_OPEN || start > obs)
            continue;
        if (end <= obs)
            v[k++] = (struct life){ end - start, 1 };
        else
            v[k++] = (struct life){ obs - start, 0 };
    }
    if (k > 1)
        qsort(v, k, sizeof *v, cmp_life);
    *out = v;
    *n = k;
    return KZ_OK;
}

static const kz_tcol len_cols[] = {
    { "metric", KZ_T_TEXT },
    { "value", KZ_T_NUMBER },
};

int kz_metric_contract_length(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(len_cols, 2);
    struct life *v = NULL;
    size_t n = 0;
    int rc;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    kz_day obs = kz_engine_obs(e, o);
    rc = obs == KZ_DAY_NONE ? KZ_OK : lifetimes(e, o, obs, &v, &n);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    double s = 1.0, median = NAN, sum = 0;
    int64_t churned = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        int64_t d = 0;
        while (j < n && v[j].days == v[i].days) {
            d += v[j].churned;
            j++;
        }
        if (d) {
            s *= 1.0 - (double)d / (double)(n - i);
            if (isnan(median) && s <= 0.5)
                median = v[i].days;
        }
        for (size_t k = i; k < j; k++)
            if (v[k].churned) {
                churned++;
                sum += v[k].days;
            }
        i = j;
    }
    struct {
        const char *name;
        int count;
        double value;
    } rows[] = {
        { "accounts", 1, (double)n },
        { "churned", 1, (double)churned },
        { "still_paying", 1, (double)((int64_t)n - churned) },
        { "median_lifetime_months", 0, median / DAYS_PER_MONTH },
        { "median_lifetime_days", 0, median },
        { "mean_churned_lifetime_months", 0, churned ? sum / (double)churned / DAYS_PER_MONTH : NAN },
        { "mean_churned_lifetime_days", 0, churned ? sum / (double)churned : NAN },
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0] && !rc; k++) {
        kz_tcell *r = kz_table_add_row(t);
        if (!r || kz_cell_text(t, &r[0], rows[k].name, strlen(rows[k].name))) {
            rc = KZ_ENOMEM;
            break;
        }
        if (rows[k].count)
            kz_cell_count(&r[1], (int64_t)rows[k].value);
        else if (!isnan(rows[k].value))
            kz_cell_number(&r[1], rows[k].value);
    }
    free(v);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}

static const kz_tcol curve_cols[] = {
    { "month", KZ_T_INT },     { "at_risk", KZ_T_INT },  { "churned", KZ_T_INT },
    { "censored", KZ_T_INT },  { "survival", KZ_T_DOUBLE },
};

int kz_metric_survival(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(curve_cols, sizeof curve_cols / sizeof curve_cols[0]);
    struct life *v = NULL;
    size_t n = 0;
    int rc;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    kz_day obs = kz_engine_obs(e, o);
    rc = obs == KZ_DAY_NONE ? KZ_OK : lifetimes(e, o, obs, &v, &n);
    double s = 1.0;
    size_t i = 0;
    /* month k covers lifetimes in (k-1, k] months; month 0 is the start */
    for (int month = 0; !rc && n && (month == 0 || i < n); month++) {
        double limit = month * DAYS_PER_MONTH;
        int64_t at_risk = (int64_t)(n - i), d = 0, c = 0;
        while (i < n && v[i].days <= limit) {
            size_t j = i;
            int64_t dd = 0;
            while (j < n && v[j].days == v[i].days) {
                dd += v[j].churned;
                j++;
            }
            if (dd)
                s *= 1.0 - (double)dd / (double)(n - i);
            d += dd;
            c += (int64_t)(j - i) - dd;
            i = j;
        }
        kz_tcell *r = kz_table_add_row(t);
        if (!r) {
            rc = KZ_ENOMEM;
            break;
        }
        kz_cell_int(&r[0], month);
        kz_cell_int(&r[1], at_risk);
        kz_cell_int(&r[2], d);
        kz_cell_int(&r[3], c);
        kz_cell_double(&r[4], s);
    }
    free(v);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}

static const kz_tcol life_cols[] = {
    { "account_id", KZ_T_TEXT },     { "first_paid", KZ_T_DATE },        { "churned_on", KZ_T_DATE },
    { "lifetime_days", KZ_T_INT },   { "lifetime_months", KZ_T_DOUBLE }, { "status", KZ_T_TEXT },
};

int kz_explain_lifetimes(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(life_cols, sizeof life_cols / sizeof life_cols[0]);
    int rc = KZ_OK;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    kz_day obs = kz_engine_obs(e, o);
    for (uint32_t a = 0; a < e->naccounts && obs != KZ_DAY_NONE && !rc; a++) {
        kz_day start, end;
        if (!kz_counts(o, a))
            continue;
        first_span(e, a, &start, &end);
        if (start == KZ_DAY_OPEN || start > obs)
            continue;
        if (o->at != KZ_DAY_NONE && kz_day_month(start) != kz_day_month(o->at))
            continue;
        int churned = end <= obs;
        int64_t days = (churned ? end : obs) - start;
        const char *st = churned ? "churned" : "paying";
        kz_tcell *r = kz_table_add_row(t);
        if (!r || kz_cell_text(t, &r[0], e->acc_key[a], e->acc_key_len[a]) ||
            kz_cell_text(t, &r[5], st, strlen(st))) {
            rc = KZ_ENOMEM;
            break;
        }
        kz_cell_int(&r[1], start);
        if (churned)
            kz_cell_int(&r[2], end);
        kz_cell_int(&r[3], days);
        kz_cell_double(&r[4], (double)days / DAYS_PER_MONTH);
    }
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}
