/*
 * churn.c - churn datasets, the time-based split and evaluation (churn.h).
 *
 * Features are the signals (signals.h) with two transformations that suit a
 * linear model: counts and durations enter as log(1 + x), so that a drop from
 * 40 to 10 users weighs like one from 4 to 1; ratios are clipped to [0, 10].
 * A missing value is replaced by the training mean, and a column of 0/1
 * "was missing" follows each feature that had gaps in training (no NPS answer
 * is itself a signal).
 */
#include "engine/churn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/engine_internal.h"
#include "engine/logit.h"
#include "engine/signals.h"

#define HISTORY_DAYS 56 /* two usage windows before the first observation date */

void kz_churn_opts_init(kz_churn_opts *c)
{
    c->horizon = 90;
    c->step = 30;
    c->test_share = 0.3;
    c->lambda = 1.0;
}

void kz_dataset_free(kz_dataset *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->y);
    free(d->obs);
    free(d->acc);
    free((void *)d->names);
    free(d->dates);
    free(d);
}

/* A signal as a model feature. */
static double transform(int k, double v)
{
    if (isnan(v))
        return v;
    const char *unit = kz_signal_defs()[k].unit;
    if (strcmp(unit, "ratio") == 0)
        return v < 0 ? 0 : v > 10 ? 10 : v;
    if (strcmp(unit, "score") == 0)
        return v;
    return v > 0 ? log1p(v) : 0; /* counts, users, days, money, hours */
}

static int grow(kz_dataset *d, size_t *cap, size_t need)
{
    if (need <= *cap)
        return KZ_OK;
    size_t n = *cap ? *cap * 2 : 4096;
    while (n < need)
        n *= 2;
    double *x = realloc(d->x, n * d->p * sizeof *x);
    if (x)
        d->x = x;
    uint8_t *y = realloc(d->y, n * sizeof *y);
    if (y)
        d->y = y;
    kz_day *obs = realloc(d->obs, n * sizeof *obs);
    if (obs)
        d->obs = obs;
    uint32_t *acc = realloc(d->acc, n * sizeof *acc);
    if (acc)
        d->acc = acc;
    if (!x || !y || !obs || !acc)
        return kz_error_oom();
    *cap = n;
    return KZ_OK;
}

int kz_churn_dataset(kz_dataset **out, const kz_engine *e, const kz_metric_opts *o, const kz_churn_opts *c)
{
    kz_dataset *d = calloc(1, sizeof *d);
    double *m = NULL;
    size_t cap = 0;
    int rc = KZ_OK;
    *out = NULL;
    if (!d)
        return kz_error_oom();
    d->p = KZ_NSIGNALS;
    d->names = malloc(KZ_NSIGNALS * sizeof *d->names);
    if (!d->names) {
        rc = kz_error_oom();
        goto done;
    }
    for (int k = 0; k < KZ_NSIGNALS; k++)
        d->names[k] = kz_signal_defs()[k].name;
    kz_day end = kz_engine_obs(e, o);
    if (end == KZ_DAY_NONE || e->nevents == 0) {
        rc = kz_error_set(KZ_EINVALID, "no events: churn needs the usage history");
        goto done;
    }
    kz_day first_event = (kz_day)kz_engine_day(e, o, e->ev_sec[0]);
    kz_day last = end - c->horizon, earliest = first_event + HISTORY_DAYS;
    if (last < earliest) {
        rc = kz_error_set(KZ_EINVALID,
                          "the history is too short: an observation date needs %d days of events before it and "
                          "%d after it (the horizon); the data run from day %d to %d",
                          HISTORY_DAYS, c->horizon, (int)first_event, (int)end);
        goto done;
    }
    d->ndates = (size_t)((last - earliest) / c->step) + 1;
    d->dates = malloc(d->ndates * sizeof *d->dates);
    if (!d->dates) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t i = 0; i < d->ndates; i++) /* back from the last, then ascending */
        d->dates[d->ndates - 1 - i] = last - (kz_day)(i * (size_t)c->step);
    for (size_t di = 0; di < d->ndates && !rc; di++) {
        kz_metric_opts at = *o;
        at.obs = d->dates[di];
        if ((rc = kz_engine_signals(&m, e, &at)))
            break;
        for (uint32_t a = 0; a < e->naccounts; a++) {
            if (!kz_counts(o, a))
                continue;
            int label = kz_engine_churns_within(e, a, at.obs, c->horizon);
            if (label < 0)
                continue; /* not paying that day: not at risk */
            if ((rc = grow(d, &cap, d->n + 1)))
                break;
            const double *s = m + (size_t)a * KZ_NSIGNALS;
            double *row = d->x + d->n * d->p;
            for (int k = 0; k < KZ_NSIGNALS; k++)
                row[k] = transform(k, s[k]);
            d->y[d->n] = (uint8_t)label;
            d->obs[d->n] = at.obs;
            d->acc[d->n] = a;
            d->n++;
        }
        free(m);
        m = NULL;
    }
done:
    free(m);
    if (rc) {
        kz_dataset_free(d);
        return rc;
    }
    *out = d;
    return KZ_OK;
}

/* The preprocessing learnt from the training rows: the value that fills a
 * missing one (the training mean), and which features get a "was missing"
 * column after the p_in features. */
struct prep {
    size_t p_in, p_out;
    double *fill;
    uint8_t *indicator;
};

static void prep_free(struct prep *pp)
{
    free(pp->fill);
    free(pp->indicator);
}

static int prep_fit(struct prep *pp, const kz_dataset *d, const size_t *rows, size_t r)
{
    pp->p_in = d->p;
    pp->fill = calloc(d->p, sizeof *pp->fill);
    pp->indicator = calloc(d->p, 1);
    if (!pp->fill || !pp->indicator)
        return kz_error_oom();
    pp->p_out = d->p;
    for (size_t j = 0; j < d->p; j++) {
        double s = 0;
        size_t k = 0;
        for (size_t i = 0; i < r; i++) {
            double v = d->x[rows[i] * d->p + j];
            if (isnan(v))
                continue;
            s += v;
            k++;
        }
        pp->fill[j] = k ? s / (double)k : 0;
        pp->indicator[j] = k < r;
        pp->p_out += pp->indicator[j];
    }
    return KZ_OK;
}

static void prep_row(const struct prep *pp, const double *in, double *out)
{
    size_t extra = pp->p_in;
    for (size_t j = 0; j < pp->p_in; j++) {
        int missing = isnan(in[j]);
        out[j] = missing ? pp->fill[j] : in[j];
        if (pp->indicator[j])
            out[extra++] = missing;
    }
}

int kz_churn_evaluate_logistic(kz_churn_eval *out, const kz_dataset *d, const kz_churn_opts *c)
{
    memset(out, 0, sizeof *out);
    out->model = "logistic";
    if (d->ndates < 2)
        return kz_error_set(KZ_EINVALID, "one observation date only: nothing to hold out (a longer history, or a "
                                         "shorter --step)");
    size_t ntest = (size_t)ceil(c->test_share * (double)d->ndates);
    if (ntest < 1)
        ntest = 1;
    if (ntest >= d->ndates)
        ntest = d->ndates - 1;
    kz_day test_first = d->dates[d->ndates - ntest];
    kz_day train_last = KZ_DAY_NONE;
    for (size_t i = 0; i < d->ndates; i++)
        if ((int64_t)d->dates[i] + c->horizon <= test_first)
            train_last = d->dates[i];
    if (train_last == KZ_DAY_NONE)
        return kz_error_set(KZ_EINVALID, "no observation date ends its horizon before the test period: a longer "
                                         "history is needed");
    size_t *train = malloc((d->n ? d->n : 1) * sizeof *train), *test = malloc((d->n ? d->n : 1) * sizeof *test);
    double *xt = NULL, *score = NULL;
    uint8_t *yt = NULL, *ys = NULL;
    struct prep pp = { 0 };
    kz_logit *model = NULL;
    size_t ntr = 0, nte = 0;
    int rc = KZ_OK;
    if (!train || !test) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t i = 0; i < d->n; i++) {
        if (d->obs[i] <= train_last)
            train[ntr++] = i;
        else if (d->obs[i] >= test_first)
            test[nte++] = i;
    }
    out->train_first = d->dates[0];
    out->train_last = train_last;
    out->test_first = test_first;
    out->test_last = d->dates[d->ndates - 1];
    out->train_rows = ntr;
    out->test_rows = nte;
    for (size_t i = 0; i < ntr; i++)
        out->train_churned += d->y[train[i]];
    for (size_t i = 0; i < nte; i++)
        out->test_churned += d->y[test[i]];
    if (!ntr || !nte || !out->train_churned || out->train_churned == ntr) {
        rc = kz_error_set(KZ_EINVALID, "the training period has %zu rows of which %zu churned: nothing to learn from",
                          ntr, out->train_churned);
        goto done;
    }
    if ((rc = prep_fit(&pp, d, train, ntr)))
        goto done;
    xt = malloc(ntr * pp.p_out * sizeof *xt);
    yt = malloc(ntr);
    score = malloc(nte * sizeof *score);
    ys = malloc(nte ? nte : 1);
    double *row = malloc(pp.p_out * sizeof *row);
    if (!xt || !yt || !score || !ys || !row) {
        free(row);
        rc = kz_error_oom();
        goto done;
    }
    for (size_t i = 0; i < ntr; i++) {
        prep_row(&pp, d->x + train[i] * d->p, xt + i * pp.p_out);
        yt[i] = d->y[train[i]];
    }
    if ((rc = kz_logit_fit(&model, xt, yt, ntr, pp.p_out, c->lambda))) {
        free(row);
        goto done;
    }
    for (size_t i = 0; i < nte; i++) {
        prep_row(&pp, d->x + test[i] * d->p, row);
        score[i] = kz_logit_prob(model, row);
        ys[i] = d->y[test[i]];
    }
    free(row);
    out->roc_auc = kz_eval_roc_auc(score, ys, nte);
    out->pr_auc = kz_eval_pr_auc(score, ys, nte);
    out->top_decile_lift = kz_eval_lift(score, ys, nte, 0.1);
    if (out->roc_auc < 0 || out->pr_auc < 0 || out->top_decile_lift < 0) {
        rc = KZ_ENOMEM;
        goto done;
    }
    rc = kz_eval_calibration(out->calibration, 10, score, ys, nte);
done:
    free(train);
    free(test);
    free(xt);
    free(yt);
    free(score);
    free(ys);
    prep_free(&pp);
    kz_logit_free(model);
    return rc;
}
