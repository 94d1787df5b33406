/*
 * business.c - the monthly business numbers built on the MRR movements:
 * ARPA, LTV, CAC and its payback, NPS, and the summary of the last complete
 * month (docs/metrics.md).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/engine_internal.h"

/* ---- helpers ------------------------------------------------------------------- */

static int finish(kz_table *t, int rc, kz_table **out)
{
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}

static double safe_div(double a, double b)
{
    return b != 0 ? a / b : NAN; /* NaN becomes an empty cell */
}

/* Revenue churn of a month: what the starting MRR lost to contraction and
 * churn (not counting spans inside the month, which were not in it). */
static double revenue_churn(const kz_movement *x)
{
    return x->start ? kz_money_double(x->contraction + x->churned - x->intra) / kz_money_double(x->start) : NAN;
}

/* The mean revenue churn of the (up to) 12 months ending with month i, over
 * the months that had a starting MRR. */
static double churn_12m(const kz_movement *mv, size_t i)
{
    double sum = 0;
    int n = 0;
    for (size_t k = i + 1 > 12 ? i + 1 - 12 : 0; k <= i; k++) {
        double c = revenue_churn(&mv[k]);
        if (!isnan(c)) {
            sum += c;
            n++;
        }
    }
    return n ? sum / n : NAN;
}

static double arpa_of(const kz_movement *x)
{
    return x->accounts_end ? kz_money_double(x->end) / (double)x->accounts_end : NAN;
}

/* LTV = ARPA x gross margin / revenue churn (trailing 12-month mean). */
static double ltv_of(const kz_movement *mv, size_t i, double margin)
{
    return safe_div(arpa_of(&mv[i]) * margin, churn_12m(mv, i));
}

/* NPS answers of month m (in the reporting zone): responses, promoters,
 * passives, detractors. */
static void nps_of(const kz_engine *e, const kz_metric_opts *o, kz_month m, int64_t out[4])
{
    int64_t a = kz_tz_day_start(o->tz, kz_month_first_day(m)), b = kz_tz_day_start(o->tz, kz_month_first_day(m + 1));
    memset(out, 0, 4 * sizeof *out);
    size_t lo = 0, hi = e->nnps;
    while (lo < hi) { /* first answer at or after a */
        size_t mid = lo + (hi - lo) / 2;
        if (e->nps_sec[mid] < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < e->nnps && e->nps_sec[i] < b; i++) {
        if (!kz_counts(o, e->nps_acc[i]))
            continue;
        int s = e->nps_score[i];
        out[0]++;
        out[s >= 9 ? 1 : s >= 7 ? 2 : 3]++;
    }
}

static double nps_score(const int64_t r[4])
{
    return r[0] ? 100.0 * (double)(r[1] - r[3]) / (double)r[0] : NAN;
}

/* Spend of month m (money units); -1 when none was imported for it. */
static int64_t spend_of(const kz_engine *e, kz_month m)
{
    for (size_t i = 0; i < e->nspend; i++)
        if (e->spend_month[i] == m)
            return e->spend_amount[i];
    return -1;
}

/* ---- arpa ------------------------------------------------------------------------ */

static const kz_tcol arpa_cols[] = {
    { "month", KZ_T_MONTH },        { "ending_mrr", KZ_T_MONEY }, { "paying_accounts", KZ_T_INT },
    { "arpa", KZ_T_DOUBLE },        { "new_accounts", KZ_T_INT }, { "new_accounts_mrr", KZ_T_MONEY },
    { "new_arpa", KZ_T_DOUBLE },
};

int kz_metric_arpa(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(arpa_cols, sizeof arpa_cols / sizeof arpa_cols[0]);
    kz_movement *mv = NULL;
    size_t nm = 0;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    int rc = kz_engine_movements(e, kz_engine_obs(e, o), o, &mv, &nm);
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
        kz_cell_int(&r[1], x->end);
        kz_cell_int(&r[2], x->accounts_end);
        kz_cell_double(&r[3], arpa_of(x));
        kz_cell_int(&r[4], x->accounts_first);
        kz_cell_int(&r[5], x->first_mrr);
        kz_cell_double(&r[6], x->accounts_first ? kz_money_double(x->first_mrr) / (double)x->accounts_first : NAN);
    }
    free(mv);
    return finish(t, rc, out);
}

/* ---- ltv -------------------------------------------------------------------------- */

static const kz_tcol ltv_cols[] = {
    { "month", KZ_T_MONTH },          { "arpa", KZ_T_DOUBLE },         { "revenue_churn", KZ_T_DOUBLE },
    { "revenue_churn_12m", KZ_T_DOUBLE }, { "gross_margin", KZ_T_DOUBLE }, { "ltv", KZ_T_DOUBLE },
};

int kz_metric_ltv(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(ltv_cols, sizeof ltv_cols / sizeof ltv_cols[0]);
    kz_movement *mv = NULL;
    size_t nm = 0;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    int rc = kz_engine_movements(e, kz_engine_obs(e, o), o, &mv, &nm);
    for (size_t i = 0; i < nm && !rc; i++) {
        if (!kz_month_in_range(o, mv[i].month))
            continue;
        kz_tcell *r = kz_table_add_row(t);
        if (!r) {
            rc = KZ_ENOMEM;
            break;
        }
        kz_cell_int(&r[0], mv[i].month);
        kz_cell_double(&r[1], arpa_of(&mv[i]));
        kz_cell_double(&r[2], revenue_churn(&mv[i]));
        kz_cell_double(&r[3], churn_12m(mv, i));
        kz_cell_double(&r[4], o->gross_margin);
        kz_cell_double(&r[5], ltv_of(mv, i, o->gross_margin));
    }
    free(mv);
    return finish(t, rc, out);
}

/* ---- cac -------------------------------------------------------------------------- */

static const kz_tcol cac_cols[] = {
    { "month", KZ_T_MONTH },     { "spend", KZ_T_MONEY },          { "new_accounts", KZ_T_INT },
    { "cac", KZ_T_DOUBLE },      { "new_arpa", KZ_T_DOUBLE },      { "payback_months", KZ_T_DOUBLE },
};

int kz_metric_cac(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(cac_cols, sizeof cac_cols / sizeof cac_cols[0]);
    kz_movement *mv = NULL;
    size_t nm = 0;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    int rc = kz_engine_movements(e, kz_engine_obs(e, o), o, &mv, &nm);
    for (size_t i = 0; i < nm && !rc; i++) {
        const kz_movement *x = &mv[i];
        if (!kz_month_in_range(o, x->month))
            continue;
        kz_tcell *r = kz_table_add_row(t);
        if (!r) {
            rc = KZ_ENOMEM;
            break;
        }
        int64_t spend = o->mask ? -1 : spend_of(e, x->month); /* spend is not per account */
        double new_arpa = x->accounts_first ? kz_money_double(x->first_mrr) / (double)x->accounts_first : NAN;
        double cac = spend >= 0 && x->accounts_first ? kz_money_double(spend) / (double)x->accounts_first : NAN;
        kz_cell_int(&r[0], x->month);
        if (spend >= 0)
            kz_cell_int(&r[1], spend);
        kz_cell_int(&r[2], x->accounts_first);
        kz_cell_double(&r[3], cac);
        kz_cell_double(&r[4], new_arpa);
        kz_cell_double(&r[5], safe_div(cac, new_arpa * o->gross_margin));
    }
    free(mv);
    return finish(t, rc, out);
}

/* ---- nps -------------------------------------------------------------------------- */

static const kz_tcol nps_cols[] = {
    { "month", KZ_T_MONTH },      { "responses", KZ_T_INT },  { "promoters", KZ_T_INT },
    { "passives", KZ_T_INT },     { "detractors", KZ_T_INT }, { "nps", KZ_T_DOUBLE },
};

int kz_metric_nps(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(nps_cols, sizeof nps_cols / sizeof nps_cols[0]);
    int rc = KZ_OK;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    kz_day obs = kz_engine_obs(e, o);
    if (e->nnps && obs != KZ_DAY_NONE) {
        kz_month first = kz_day_month((kz_day)kz_tz_day(o->tz, e->nps_sec[0])), last = kz_day_month(obs);
        for (kz_month m = first; m <= last && !rc; m++) {
            int64_t c[4];
            if (!kz_month_in_range(o, m))
                continue;
            nps_of(e, o, m, c);
            kz_tcell *r = kz_table_add_row(t);
            if (!r) {
                rc = KZ_ENOMEM;
                break;
            }
            kz_cell_int(&r[0], m);
            for (int k = 0; k < 4; k++)
                kz_cell_int(&r[1 + k], c[k]);
            kz_cell_double(&r[5], nps_score(c));
        }
    }
    return finish(t, rc, out);
}

/* ---- summary ---------------------------------------------------------------------- */

static const kz_tcol sum_cols[] = {
    { "metric", KZ_T_TEXT },     { "month", KZ_T_MONTH },   { "through", KZ_T_DATE },
    { "value", KZ_T_NUMBER },    { "previous", KZ_T_NUMBER }, { "change", KZ_T_NUMBER },
};

enum { V_MONEY, V_COUNT, V_RATIO, V_NUMBER };

struct sval {
    int kind;
    int64_t i; /* money, count */
    double d;  /* ratio, number; NaN: none */
    int none;
};

static struct sval money(int64_t v)
{
    return (struct sval){ V_MONEY, v, 0, 0 };
}

static struct sval count(int64_t v)
{
    return (struct sval){ V_COUNT, v, 0, 0 };
}

static struct sval ratio(double v)
{
    return (struct sval){ V_RATIO, 0, v, isnan(v) };
}

static struct sval number(double v)
{
    return (struct sval){ V_NUMBER, 0, v, isnan(v) };
}

static void put_val(kz_tcell *c, const struct sval *v)
{
    if (v->none)
        return;
    switch (v->kind) {
    case V_MONEY: kz_cell_money(c, v->i); break;
    case V_COUNT: kz_cell_count(c, v->i); break;
    case V_RATIO: kz_cell_ratio(c, v->d); break;
    default: kz_cell_number(c, v->d); break;
    }
}

static void put_change(kz_tcell *c, const struct sval *now, const struct sval *before)
{
    if (now->none || before->none)
        return;
    switch (now->kind) {
    case V_MONEY: kz_cell_money(c, now->i - before->i); break;
    case V_COUNT: kz_cell_count(c, now->i - before->i); break;
    case V_RATIO: kz_cell_ratio(c, now->d - before->d); break; /* in points */
    default: kz_cell_number(c, now->d - before->d); break;
    }
}

/* The numbers of month i (-1: none, all empty). */
static int summary_values(const kz_engine *e, const kz_metric_opts *o, const kz_movement *mv, ptrdiff_t i,
                          struct sval *v)
{
    double margin = o->gross_margin;
    static const struct sval empty = { V_NUMBER, 0, 0, 1 };
    int n = 0;
    if (i < 0) {
        for (int k = 0; k < 16; k++)
            v[k] = empty;
        return 16;
    }
    const kz_movement *x = &mv[i];
    int64_t c[4];
    nps_of(e, o, x->month, c);
    v[n++] = money(x->end);
    v[n++] = money(x->end * 12);
    v[n++] = count(x->accounts_end);
    v[n++] = money(x->new_);
    v[n++] = money(x->expansion);
    v[n++] = money(x->contraction);
    v[n++] = money(x->churned);
    v[n++] = money(x->reactivation);
    v[n++] = ratio(x->accounts_start ? (double)x->accounts_churned / (double)x->accounts_start : NAN);
    v[n++] = ratio(revenue_churn(x));
    int64_t lost = x->churned - x->intra; /* of the starting MRR */
    v[n++] = ratio(x->start ? kz_money_double(x->start - x->contraction - lost) / kz_money_double(x->start) : NAN);
    v[n++] = ratio(x->start ? kz_money_double(x->start + x->expansion - x->contraction - lost) /
                                  kz_money_double(x->start)
                            : NAN);
    v[n++] = number(arpa_of(x));
    v[n++] = number(ltv_of(mv, (size_t)i, margin));
    v[n++] = number(safe_div(kz_money_double(x->new_ + x->expansion + x->reactivation),
                             kz_money_double(x->contraction + x->churned)));
    v[n++] = number(nps_score(c));
    return n;
}

int kz_metric_summary(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    static const char *const names[16] = {
        "mrr",          "arr",          "paying_accounts", "new_mrr",      "expansion_mrr", "contraction_mrr",
        "churned_mrr",  "reactivation_mrr", "logo_churn_rate", "revenue_churn_rate", "grr", "nrr",
        "arpa",         "ltv",          "quick_ratio",     "nps",
    };
    kz_table *t = kz_table_new(sum_cols, sizeof sum_cols / sizeof sum_cols[0]);
    kz_movement *mv = NULL;
    size_t nm = 0;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    kz_day obs = kz_engine_obs(e, o);
    int rc = kz_engine_movements(e, obs, o, &mv, &nm);
    ptrdiff_t cur = (ptrdiff_t)nm - 1;
    kz_day through = KZ_DAY_NONE;
    if (!rc && o->to == INT32_MAX && obs != KZ_DAY_NONE && kz_engine_subscriptions(e)) {
        /* the month of the observation date, to date: [its first day, obs + 1) */
        kz_movement *grown = realloc(mv, (nm + 1) * sizeof *mv);
        if (!grown) {
            rc = kz_error_oom();
        } else {
            mv = grown;
            kz_day b[2] = { kz_month_first_day(kz_day_month(obs)), obs + 1 };
            memset(&mv[nm], 0, sizeof *mv);
            mv[nm].month = kz_day_month(obs);
            mv[nm].first_day = b[0];
            rc = kz_engine_periods(e, o, b, 1, &mv[nm]);
            cur = (ptrdiff_t)nm++;
            through = obs;
        }
    } else {
        /* the last complete month within --to */
        while (cur >= 0 && !kz_month_in_range(o, mv[cur].month) && kz_month_first_day(mv[cur].month) > o->to)
            cur--;
        if (cur >= 0)
            through = kz_month_first_day(mv[cur].month + 1) - 1;
    }
    if (!rc && cur >= 0) {
        struct sval now[16], before[16];
        summary_values(e, o, mv, cur, now);
        summary_values(e, o, mv, cur - 1, before);
        for (int k = 0; k < 16; k++) {
            kz_tcell *r = kz_table_add_row(t);
            if (!r || kz_cell_text(t, &r[0], names[k], strlen(names[k]))) {
                rc = KZ_ENOMEM;
                break;
            }
            kz_cell_int(&r[1], mv[cur].month);
            kz_cell_int(&r[2], through);
            put_val(&r[3], &now[k]);
            put_val(&r[4], &before[k]);
            put_change(&r[5], &now[k], &before[k]);
        }
    }
    free(mv);
    return finish(t, rc, out);
}
