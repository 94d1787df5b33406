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
#include "engine/gbt.h"
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

/* The time-based split: the rows of the held-out dates into *test, those
 * whose horizon ended before them into *train (both malloc'd), the periods
 * and counts into ev. */
static int split(const kz_dataset *d, const kz_churn_opts *c, size_t **train, size_t *ntr, size_t **test, size_t *nte,
                 kz_churn_eval *ev)
{
    *train = *test = NULL;
    *ntr = *nte = 0;
    if (d->ndates < 2)
        return kz_error_set(KZ_EINVALID, "one observation date only: nothing to hold out (a longer history, or a "
                                         "shorter --step)");
    size_t ntest = (size_t)ceil(c->test_share * (double)d->ndates);
    if (ntest < 1)
        ntest = 1;
    if (ntest >= d->ndates)
        ntest = d->ndates - 1;
    kz_day test_first = d->dates[d->ndates - ntest], train_last = KZ_DAY_NONE;
    for (size_t i = 0; i < d->ndates; i++)
        if ((int64_t)d->dates[i] + c->horizon <= test_first)
            train_last = d->dates[i];
    if (train_last == KZ_DAY_NONE)
        return kz_error_set(KZ_EINVALID, "no observation date ends its horizon before the test period: a longer "
                                         "history is needed");
    *train = malloc((d->n ? d->n : 1) * sizeof **train);
    *test = malloc((d->n ? d->n : 1) * sizeof **test);
    if (!*train || !*test) {
        free(*train);
        free(*test);
        *train = *test = NULL;
        return kz_error_oom();
    }
    for (size_t i = 0; i < d->n; i++) {
        if (d->obs[i] <= train_last)
            (*train)[(*ntr)++] = i;
        else if (d->obs[i] >= test_first)
            (*test)[(*nte)++] = i;
    }
    ev->train_first = d->dates[0];
    ev->train_last = train_last;
    ev->test_first = test_first;
    ev->test_last = d->dates[d->ndates - 1];
    ev->train_rows = *ntr;
    ev->test_rows = *nte;
    for (size_t i = 0; i < *ntr; i++)
        ev->train_churned += d->y[(*train)[i]];
    for (size_t i = 0; i < *nte; i++)
        ev->test_churned += d->y[(*test)[i]];
    if (!*ntr || !*nte || !ev->train_churned || ev->train_churned == *ntr)
        return kz_error_set(KZ_EINVALID, "the training period has %zu rows of which %zu churned: nothing to learn from",
                            *ntr, ev->train_churned);
    return KZ_OK;
}

/* The logistic regression's probabilities for the test rows. */
static int score_logistic(const kz_dataset *d, const kz_churn_opts *c, const size_t *train, size_t ntr,
                          const size_t *test, size_t nte, double *score)
{
    struct prep pp = { 0 };
    kz_logit *model = NULL;
    double *xt = NULL, *row = NULL;
    uint8_t *yt = NULL;
    int rc = prep_fit(&pp, d, train, ntr);
    if (rc)
        goto done;
    xt = malloc(ntr * pp.p_out * sizeof *xt);
    yt = malloc(ntr);
    row = malloc(pp.p_out * sizeof *row);
    if (!xt || !yt || !row) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t i = 0; i < ntr; i++) {
        prep_row(&pp, d->x + train[i] * d->p, xt + i * pp.p_out);
        yt[i] = d->y[train[i]];
    }
    if ((rc = kz_logit_fit(&model, xt, yt, ntr, pp.p_out, c->lambda)))
        goto done;
    for (size_t i = 0; i < nte; i++) {
        prep_row(&pp, d->x + test[i] * d->p, row);
        score[i] = kz_logit_prob(model, row);
    }
done:
    free(xt);
    free(yt);
    free(row);
    prep_free(&pp);
    kz_logit_free(model);
    return rc;
}

/* The rows as floats (NaN stays missing), for XGBoost. */
static float *as_float(const kz_dataset *d, const size_t *rows, size_t n)
{
    float *f = malloc((n ? n : 1) * d->p * sizeof *f);
    if (!f) {
        kz_error_oom();
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d->p; j++)
            f[i * d->p + j] = (float)d->x[rows[i] * d->p + j];
    return f;
}

/* The boosted trees' probabilities for the test rows. */
static int score_gbt(const kz_dataset *d, const size_t *train, size_t ntr, const size_t *test, size_t nte,
                     double *score)
{
    kz_gbt_params gp;
    kz_gbt *model = NULL;
    float *xt = as_float(d, train, ntr), *xs = as_float(d, test, nte), *yt = malloc((ntr ? ntr : 1) * sizeof *yt);
    int rc = KZ_OK;
    kz_gbt_params_init(&gp);
    if (!xt || !xs || !yt) {
        rc = KZ_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < ntr; i++)
        yt[i] = d->y[train[i]];
    if (!(rc = kz_gbt_fit(&model, xt, yt, ntr, d->p, &gp)))
        rc = kz_gbt_predict(model, xs, nte, d->p, score);
done:
    free(xt);
    free(xs);
    free(yt);
    kz_gbt_free(model);
    return rc;
}

/* Fills the measures of ev from the test rows' scores. */
static int measure(kz_churn_eval *ev, const kz_dataset *d, const size_t *test, size_t nte, const double *score)
{
    uint8_t *ys = malloc(nte ? nte : 1);
    if (!ys)
        return kz_error_oom();
    for (size_t i = 0; i < nte; i++)
        ys[i] = d->y[test[i]];
    ev->roc_auc = kz_eval_roc_auc(score, ys, nte);
    ev->pr_auc = kz_eval_pr_auc(score, ys, nte);
    ev->top_decile_lift = kz_eval_lift(score, ys, nte, 0.1);
    int rc = ev->roc_auc < 0 || ev->pr_auc < 0 || ev->top_decile_lift < 0
                 ? KZ_ENOMEM
                 : kz_eval_calibration(ev->calibration, 10, score, ys, nte);
    free(ys);
    return rc;
}

int kz_churn_evaluate(kz_churn_eval out[KZ_CHURN_MODELS], const kz_dataset *d, const kz_churn_opts *c)
{
    size_t *train = NULL, *test = NULL, ntr = 0, nte = 0;
    double *score = NULL;
    kz_churn_eval base;
    memset(&base, 0, sizeof base);
    int rc = split(d, c, &train, &ntr, &test, &nte, &base);
    if (!rc && !(score = malloc((nte ? nte : 1) * sizeof *score)))
        rc = kz_error_oom();
    for (int k = 0; k < KZ_CHURN_MODELS && !rc; k++) {
        out[k] = base;
        out[k].model = k == 0 ? "logistic" : "xgboost";
        rc = k == 0 ? score_logistic(d, c, train, ntr, test, nte, score) : score_gbt(d, train, ntr, test, nte, score);
        if (!rc)
            rc = measure(&out[k], d, test, nte, score);
    }
    free(train);
    free(test);
    free(score);
    return rc;
}
