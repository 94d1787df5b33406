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
#include "engine/churn_internal.h"

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
    memset(c, 0, sizeof *c);
    c->horizon = 90;
    c->step = 30;
    c->test_share = 0.3;
    c->lambda = -1; /* automatic */
}

void kz_dataset_free(kz_dataset *d)
{
    if (!d)
        return;
    for (size_t j = 0; d->names && j < d->p; j++)
        free(d->names[j]);
    free(d->x);
    free(d->y);
    free(d->obs);
    free(d->acc);
    free(d->names);
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


/* What a feature column is, as read back from its name: a signal, a plan
 * ("plan=pro"), a number or date attribute ("employees", "onboarded_at_days_ago")
 * or a value of a text attribute ("region=JP"). A name that no longer means
 * anything (a field since deleted) is COL_GONE: missing for numbers, 0 for
 * values. */
enum { COL_SIGNAL, COL_PLAN, COL_NUMBER, COL_DATE, COL_VALUE, COL_GONE_NUMBER, COL_GONE_VALUE };
struct spec {
    int kind;
    size_t index;       /* the signal, plan id or attribute column */
    const char *value;  /* COL_VALUE: after the '=' of the name */
};

struct count {
    const char *value;
    size_t n;
};

static int cmp_count(const void *x, const void *y)
{
    const struct count *a = x, *b = y;
    if (a->n != b->n)
        return a->n > b->n ? -1 : 1;
    return strcmp(a->value, b->value);
}

static int cmp_cstr(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int excluded(const kz_churn_opts *c, const char *name)
{
    for (size_t i = 0; i < c->nexclude; i++)
        if (strcmp(c->exclude[i], name) == 0)
            return 1;
    return 0;
}

int kz_churn_common_values(const char **vals, size_t n, const char **out, size_t *nout)
{
    struct count *v = malloc((n ? n : 1) * sizeof *v);
    size_t nv = 0;
    *nout = 0;
    if (!v)
        return kz_error_oom();
    /* count equal values: sort the pointers by text */
    qsort(vals, n, sizeof *vals, cmp_cstr);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(vals[j], vals[i]) == 0)
            j++;
        v[nv++] = (struct count){ vals[i], j - i };
        i = j;
    }
    if (nv > 1)
        qsort(v, nv, sizeof *v, cmp_count);
    size_t covered = 0, k = 0;
    for (; k < nv && k < KZ_CHURN_MAX_VALUES && (double)v[k].n >= 0.01 * (double)n; k++) {
        out[k] = v[k].value;
        covered += v[k].n;
    }
    if (nv >= 2 && !(nv > 50 && 2 * covered < n))
        *nout = k;
    free(v);
    return KZ_OK;
}

/* The common values of a text attribute over the accounts of o. */
static int common_values(const kz_attr_col *col, size_t na, const kz_metric_opts *o, const char **out, size_t *nout)
{
    const char **vals = malloc((na ? na : 1) * sizeof *vals);
    size_t n = 0;
    if (!vals)
        return kz_error_oom();
    for (size_t a = 0; a < na; a++)
        if (col->text[a] && kz_counts(o, (uint32_t)a))
            vals[n++] = col->text[a];
    int rc = kz_churn_common_values(vals, n, out, nout);
    free(vals);
    return rc;
}

/* Chooses the feature columns of a new dataset and names them (d->names,
 * d->p): the signals, the common plans, the attributes. */
static int choose_columns(kz_dataset *d, const kz_engine *e, const kz_metric_opts *o, const kz_churn_opts *c,
                          const kz_attrs *attrs)
{
    size_t cap = KZ_NSIGNALS + KZ_CHURN_MAX_VALUES + (attrs ? attrs->n * KZ_CHURN_MAX_VALUES : 0);
    const char *vals[KZ_CHURN_MAX_VALUES];
    char buf[512];
    int rc = KZ_OK;
    d->p = 0;
    d->names = calloc(cap, sizeof *d->names);
    if (!d->names)
        return kz_error_oom();
#define ADD(...)                                                                                                   \
    do {                                                                                                           \
        snprintf(buf, sizeof buf, __VA_ARGS__);                                                                    \
        if (!(d->names[d->p++] = strdup(buf)))                                                                     \
            return kz_error_oom();                                                                                 \
    } while (0)
    for (int k = 0; k < KZ_NSIGNALS; k++)
        ADD("%s", kz_signal_defs()[k].name);
    /* plans by the number of subscriptions */
    if (!excluded(c, "plan") && e->nplans > 2) {
        struct count *pc = calloc(e->nplans, sizeof *pc);
        if (!pc)
            return kz_error_oom();
        for (size_t i = 0; i < e->nplans; i++)
            pc[i].value = e->plans[i] ? e->plans[i] : "";
        for (size_t i = 0; i < e->nsubs; i++)
            pc[e->sub_plan[i]].n++;
        pc[0].n = 0;
        qsort(pc, e->nplans, sizeof *pc, cmp_count);
        for (size_t i = 0; i < e->nplans && i < KZ_CHURN_MAX_VALUES && pc[i].n && rc == KZ_OK; i++) {
            snprintf(buf, sizeof buf, "plan=%s", pc[i].value);
            if (!(d->names[d->p++] = strdup(buf)))
                rc = kz_error_oom();
        }
        free(pc);
        if (rc)
            return rc;
    }
    for (size_t k = 0; attrs && k < attrs->n; k++) {
        const kz_attr_col *col = &attrs->cols[k];
        if (excluded(c, col->name) || kz_signal_find(col->name, strlen(col->name)) >= 0 ||
            strcmp(col->name, "plan") == 0)
            continue; /* a field named like a signal would be read back as the signal */
        if (col->numeric) {
            if (col->is_date)
                ADD("%s_days_ago", col->name);
            else
                ADD("%s", col->name);
            continue;
        }
        size_t nv = 0;
        if ((rc = common_values(col, attrs->naccounts, o, vals, &nv)))
            return rc;
        for (size_t i = 0; i < nv; i++)
            ADD("%s=%s", col->name, vals[i]);
    }
#undef ADD
    return KZ_OK;
}

/* The attribute column called name (n bytes), or -1. */
static ptrdiff_t attr_index(const kz_attrs *attrs, const char *name, size_t n, int numeric, int is_date)
{
    for (size_t k = 0; attrs && k < attrs->n; k++) {
        const kz_attr_col *col = &attrs->cols[k];
        if (strlen(col->name) == n && memcmp(col->name, name, n) == 0 && col->numeric == numeric &&
            (!numeric || col->is_date == is_date))
            return (ptrdiff_t)k;
    }
    return -1;
}

/* Reads the columns back from their names (*out malloc'd, p of them). */
static int specs_of(struct spec **out, char *const *names, size_t p, const kz_engine *e, const kz_attrs *attrs)
{
    struct spec *sp = calloc(p ? p : 1, sizeof *sp);
    if (!sp)
        return kz_error_oom();
    for (size_t j = 0; j < p; j++) {
        const char *nm = names[j], *eq = strchr(nm, '=');
        size_t len = strlen(nm);
        int sig = kz_signal_find(nm, len);
        if (sig >= 0) {
            sp[j] = (struct spec){ COL_SIGNAL, (size_t)sig, NULL };
        } else if (strncmp(nm, "plan=", 5) == 0) {
            sp[j] = (struct spec){ COL_GONE_VALUE, 0, NULL };
            for (size_t id = 1; id < e->nplans; id++)
                if (strcmp(e->plans[id], nm + 5) == 0)
                    sp[j] = (struct spec){ COL_PLAN, id, NULL };
        } else if (eq) {
            ptrdiff_t k = attr_index(attrs, nm, (size_t)(eq - nm), 0, 0);
            sp[j] = k >= 0 ? (struct spec){ COL_VALUE, (size_t)k, eq + 1 } : (struct spec){ COL_GONE_VALUE, 0, NULL };
        } else if (len > 9 && strcmp(nm + len - 9, "_days_ago") == 0 && attr_index(attrs, nm, len - 9, 1, 1) >= 0) {
            sp[j] = (struct spec){ COL_DATE, (size_t)attr_index(attrs, nm, len - 9, 1, 1), NULL };
        } else {
            ptrdiff_t k = attr_index(attrs, nm, len, 1, 0);
            sp[j] = k >= 0 ? (struct spec){ COL_NUMBER, (size_t)k, NULL } : (struct spec){ COL_GONE_NUMBER, 0, NULL };
        }
    }
    *out = sp;
    return KZ_OK;
}

/* The value of column sp for account a on day obs (s: its signals that day). */
static double column_value(const struct spec *sp, const double *s, const kz_attrs *attrs, const kz_engine *e,
                           uint32_t a, kz_day obs)
{
    switch (sp->kind) {
    case COL_SIGNAL: return transform((int)sp->index, s[sp->index]);
    case COL_PLAN: return (size_t)kz_engine_plan_on(e, a, obs) == sp->index;
    case COL_NUMBER: return attrs->cols[sp->index].num[a];
    case COL_DATE: {
        double us = attrs->cols[sp->index].num[a];
        if (isnan(us))
            return NAN;
        double days = (double)obs - floor(us / (double)KZ_USEC_PER_DAY);
        return days >= 0 ? days : NAN; /* a date after the observation date is not known yet */
    }
    case COL_VALUE: {
        const char *t = attrs->cols[sp->index].text[a];
        return t && strcmp(t, sp->value) == 0;
    }
    case COL_GONE_VALUE: return 0;
    default: return NAN;
    }
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

/* Appends the rows of date `at`: every account (of o's mask) paying then,
 * labelled when horizon > 0. */
static int add_rows(kz_dataset *d, size_t *cap, const struct spec *sp, const kz_engine *e, const kz_metric_opts *o,
                    kz_day at, int horizon, const kz_attrs *attrs)
{
    kz_metric_opts ao = *o;
    double *m = NULL;
    ao.obs = at;
    int rc = kz_engine_signals(&m, e, &ao);
    for (uint32_t a = 0; a < e->naccounts && !rc; a++) {
        if (!kz_counts(o, a))
            continue;
        int label = kz_engine_churns_within(e, a, at, horizon > 0 ? horizon : 1);
        if (label < 0)
            continue; /* not paying that day: not at risk */
        if ((rc = grow(d, cap, d->n + 1)))
            break;
        const double *s = m + (size_t)a * KZ_NSIGNALS;
        double *row = d->x + d->n * d->p;
        for (size_t k = 0; k < d->p; k++)
            row[k] = column_value(&sp[k], s, attrs, e, a, at);
        d->y[d->n] = horizon > 0 ? (uint8_t)label : 0;
        d->obs[d->n] = at;
        d->acc[d->n] = a;
        d->n++;
    }
    free(m);
    return rc;
}

int kz_churn_dataset(kz_dataset **out, const kz_engine *e, const kz_metric_opts *o, const kz_churn_opts *c,
                     const kz_attrs *attrs)
{
    kz_dataset *d = calloc(1, sizeof *d);
    struct spec *sp = NULL;
    size_t cap = 0;
    int rc = KZ_OK;
    *out = NULL;
    if (!d)
        return kz_error_oom();
    if ((rc = choose_columns(d, e, o, c, attrs)) || (rc = specs_of(&sp, d->names, d->p, e, attrs)))
        goto done;
    kz_day end = kz_engine_obs(e, o);
    if (end == KZ_DAY_NONE || e->nevents == 0) {
        rc = kz_error_set(KZ_EINVALID, "no events: churn needs the usage history");
        goto done;
    }
    kz_day first_event = (kz_day)kz_engine_day(e, o, e->ev_sec[0]);
    kz_day last = end - c->horizon, earliest = first_event + HISTORY_DAYS;
    if (last < earliest) {
        char a[KZ_DATE_BUF], b[KZ_DATE_BUF];
        kz_format_date(a, first_event);
        kz_format_date(b, end);
        rc = kz_error_set(KZ_EINVALID,
                          "the history is too short: an observation date needs %d days of events before it and "
                          "%d after it (the horizon), and the events run from %s to %s",
                          HISTORY_DAYS, c->horizon, a, b);
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
    for (size_t di = 0; di < d->ndates && !rc; di++)
        rc = add_rows(d, &cap, sp, e, o, d->dates[di], c->horizon, attrs);
done:
    free(sp);
    if (rc) {
        kz_dataset_free(d);
        return rc;
    }
    *out = d;
    return KZ_OK;
}

int kz_churn_rows(kz_dataset **out, const kz_engine *e, const kz_metric_opts *o, kz_day at, char *const *names,
                  size_t p, const kz_attrs *attrs)
{
    kz_dataset *d = calloc(1, sizeof *d);
    struct spec *sp = NULL;
    size_t cap = 0;
    int rc = KZ_OK;
    *out = NULL;
    if (!d)
        return kz_error_oom();
    d->names = calloc(p ? p : 1, sizeof *d->names);
    d->dates = malloc(sizeof *d->dates);
    if (!d->names || !d->dates) {
        rc = kz_error_oom();
        goto done;
    }
    for (d->p = 0; d->p < p; d->p++)
        if (!(d->names[d->p] = strdup(names[d->p]))) {
            rc = kz_error_oom();
            goto done;
        }
    d->ndates = 1;
    d->dates[0] = at;
    if (!(rc = specs_of(&sp, d->names, d->p, e, attrs)))
        rc = add_rows(d, &cap, sp, e, o, at, 0, attrs);
done:
    free(sp);
    if (rc) {
        kz_dataset_free(d);
        return rc;
    }
    *out = d;
    return KZ_OK;
}

void kz_churn_prep_free(struct kz_churn_prep *pp)
{
    free(pp->fill);
    free(pp->indicator);
}

int kz_churn_prep_fit(struct kz_churn_prep *pp, const kz_dataset *d, const size_t *rows, size_t r)
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

void kz_churn_prep_row(const struct kz_churn_prep *pp, const double *in, double *out)
{
    size_t extra = pp->p_in;
    for (size_t j = 0; j < pp->p_in; j++) {
        int missing = isnan(in[j]);
        out[j] = missing ? pp->fill[j] : in[j];
        if (pp->indicator[j])
            out[extra++] = missing;
    }
}

/* The time-based roles of the rows: the latest c->test_share of the dates
 * test; the dates whose horizon ends before the first test date train; of
 * those, the same split again gives the validation rows of the penalty
 * search. The periods go into ev. */
static int time_roles(const kz_dataset *d, const kz_churn_opts *c, uint8_t *role, kz_churn_eval *ev)
{
    if (d->ndates < 2)
        return kz_error_set(KZ_EINVALID, "one observation date only: nothing to hold out (a longer history, or a "
                                         "shorter --step)");
    size_t ntest = (size_t)ceil(c->test_share * (double)d->ndates);
    ntest = ntest < 1 ? 1 : ntest >= d->ndates ? d->ndates - 1 : ntest;
    kz_day test_first = d->dates[d->ndates - ntest], train_last = KZ_DAY_NONE;
    size_t ntrain_dates = 0;
    for (size_t i = 0; i < d->ndates; i++)
        if ((int64_t)d->dates[i] + c->horizon <= test_first) {
            train_last = d->dates[i];
            ntrain_dates = i + 1;
        }
    if (train_last == KZ_DAY_NONE)
        return kz_error_set(KZ_EINVALID, "no observation date ends its horizon before the test period: a longer "
                                         "history is needed");
    kz_day val_first = KZ_DAY_NONE;
    if (ntrain_dates >= 2) {
        size_t nval = (size_t)ceil(c->test_share * (double)ntrain_dates);
        nval = nval < 1 ? 1 : nval >= ntrain_dates ? ntrain_dates - 1 : nval;
        val_first = d->dates[ntrain_dates - nval];
    }
    for (size_t i = 0; i < d->n; i++) {
        kz_day t = d->obs[i];
        if (t >= test_first)
            role[i] = KZ_ROLE_TEST;
        else if (t > train_last)
            role[i] = KZ_ROLE_NONE;
        else if (val_first == KZ_DAY_NONE)
            role[i] = KZ_ROLE_TRAIN_ONLY;
        else if (t >= val_first)
            role[i] = KZ_ROLE_VALIDATE;
        else
            role[i] = (int64_t)t + c->horizon <= val_first ? KZ_ROLE_TRAIN : KZ_ROLE_TRAIN_ONLY;
    }
    ev->train_first = d->dates[0];
    ev->train_last = train_last;
    ev->test_first = test_first;
    ev->test_last = d->dates[d->ndates - 1];
    return KZ_OK;
}

/* Fits the logistic regression with penalty lambda on the rows train and
 * scores the rows test into score. */
static int fit_score(const kz_dataset *d, double lambda, const size_t *train, size_t ntr, const size_t *test,
                     size_t nte, double *score)
{
    struct kz_churn_prep pp = { 0 };
    kz_logit *model = NULL;
    double *xt = NULL, *row = NULL;
    uint8_t *yt = NULL;
    int rc = kz_churn_prep_fit(&pp, d, train, ntr);
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
        kz_churn_prep_row(&pp, d->x + train[i] * d->p, xt + i * pp.p_out);
        yt[i] = d->y[train[i]];
    }
    if ((rc = kz_logit_fit(&model, xt, yt, ntr, pp.p_out, lambda)))
        goto done;
    for (size_t i = 0; i < nte; i++) {
        kz_churn_prep_row(&pp, d->x + test[i] * d->p, row);
        score[i] = kz_logit_prob(model, row);
    }
done:
    free(xt);
    free(yt);
    free(row);
    kz_churn_prep_free(&pp);
    kz_logit_free(model);
    return rc;
}

/* The penalty for the logistic regression when it is automatic: the one among
 * 0.1, 1, 10, 100 and 1000 with the best ROC AUC on the validation rows when
 * fitted on the inner training rows (the larger on a tie); 10 when there are
 * no such rows or they hold a single class. */
static int choose_lambda(const kz_dataset *d, const uint8_t *role, double *lambda)
{
    static const double grid[] = { 0.1, 1, 10, 100, 1000 };
    size_t *in = malloc((d->n ? d->n : 1) * sizeof *in), *val = malloc((d->n ? d->n : 1) * sizeof *val);
    double *score = malloc((d->n ? d->n : 1) * sizeof *score);
    uint8_t *yv = malloc(d->n ? d->n : 1);
    size_t nin = 0, nv = 0, churn_in = 0, churn_v = 0;
    int rc = KZ_OK;
    *lambda = 10;
    if (!in || !val || !score || !yv) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t r = 0; r < d->n; r++) {
        if (role[r] == KZ_ROLE_TRAIN) {
            in[nin++] = r;
            churn_in += d->y[r];
        } else if (role[r] == KZ_ROLE_VALIDATE) {
            yv[nv] = d->y[r];
            churn_v += d->y[r];
            val[nv++] = r;
        }
    }
    if (!churn_in || churn_in == nin || !churn_v || churn_v == nv)
        goto done;
    double best = -1;
    for (size_t g = 0; g < sizeof grid / sizeof grid[0]; g++) {
        if ((rc = fit_score(d, grid[g], in, nin, val, nv, score)))
            break;
        double auc = kz_eval_roc_auc(score, yv, nv);
        if (auc < 0) {
            rc = KZ_ENOMEM;
            break;
        }
        if (auc >= best) {
            best = auc;
            *lambda = grid[g];
        }
    }
done:
    free(in);
    free(val);
    free(score);
    free(yv);
    return rc;
}

/* The logistic regression's probabilities for the test rows; *lambda is the
 * penalty used. */
static int score_logistic(const kz_dataset *d, const kz_churn_opts *c, const uint8_t *role, const size_t *train,
                          size_t ntr, const size_t *test, size_t nte, double *score, double *lambda)
{
    int rc = KZ_OK;
    *lambda = c->lambda;
    if (c->lambda < 0 && (rc = choose_lambda(d, role, lambda)))
        return rc;
    return fit_score(d, *lambda, train, ntr, test, nte, score);
}

/* The rows as floats (NaN stays missing), for XGBoost. */
float *kz_churn_as_float(const kz_dataset *d, const size_t *rows, size_t n)
{
    float *f = malloc((n ? n : 1) * d->p * sizeof *f);
    if (!f) {
        kz_error_oom();
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d->p; j++)
            f[i * d->p + j] = (float)d->x[(rows ? rows[i] : i) * d->p + j];
    return f;
}

/* The boosted trees' probabilities for the test rows. */
static int score_gbt(const kz_dataset *d, const size_t *train, size_t ntr, const size_t *test, size_t nte,
                     double *score)
{
    kz_gbt_params gp;
    kz_gbt *model = NULL;
    float *xt = kz_churn_as_float(d, train, ntr), *xs = kz_churn_as_float(d, test, nte), *yt = malloc((ntr ? ntr : 1) * sizeof *yt);
    int rc = KZ_OK;
    kz_gbt_params_init(&gp);
    gp.threads = kz_gbt_threads(ntr);
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

int kz_churn_evaluate_roles(kz_churn_eval out[KZ_CHURN_MODELS], const kz_dataset *d, const kz_churn_opts *c,
                            const uint8_t *role, const kz_churn_eval *periods)
{
    size_t *train = malloc((d->n ? d->n : 1) * sizeof *train), *test = malloc((d->n ? d->n : 1) * sizeof *test);
    size_t ntr = 0, nte = 0, churn_tr = 0, churn_te = 0;
    double *score = NULL;
    int rc = KZ_OK;
    if (!train || !test) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t i = 0; i < d->n; i++) {
        if (role[i] == KZ_ROLE_TEST) {
            test[nte++] = i;
            churn_te += d->y[i];
        } else if (role[i] != KZ_ROLE_NONE) {
            train[ntr++] = i;
            churn_tr += d->y[i];
        }
    }
    if (!ntr || !nte || !churn_tr || churn_tr == ntr) {
        rc = kz_error_set(KZ_EINVALID, "the training part has %zu rows of which %zu churned: nothing to learn from",
                          ntr, churn_tr);
        goto done;
    }
    if (!(score = malloc((nte ? nte : 1) * sizeof *score))) {
        rc = kz_error_oom();
        goto done;
    }
    for (int k = 0; k < KZ_CHURN_MODELS && !rc; k++) {
        out[k] = *periods;
        out[k].model = kz_churn_algo_name(k);
        out[k].lambda = NAN;
        out[k].train_rows = ntr;
        out[k].train_churned = churn_tr;
        out[k].test_rows = nte;
        out[k].test_churned = churn_te;
        rc = k == KZ_CHURN_LOGISTIC ? score_logistic(d, c, role, train, ntr, test, nte, score, &out[k].lambda)
                                    : score_gbt(d, train, ntr, test, nte, score);
        if (!rc)
            rc = measure(&out[k], d, test, nte, score);
    }
done:
    free(train);
    free(test);
    free(score);
    return rc;
}

int kz_churn_evaluate(kz_churn_eval out[KZ_CHURN_MODELS], const kz_dataset *d, const kz_churn_opts *c)
{
    uint8_t *role = malloc(d->n ? d->n : 1);
    kz_churn_eval periods;
    memset(&periods, 0, sizeof periods);
    if (!role)
        return kz_error_oom();
    int rc = time_roles(d, c, role, &periods);
    if (!rc)
        rc = kz_churn_evaluate_roles(out, d, c, role, &periods);
    free(role);
    return rc;
}
