/*
 * scores.c - scoring accounts now (scores.h): the pieces `kizuna health`,
 * `kizuna churn predict` and the server share.
 */
#include "engine/scores.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/text.h"
#include "core/time.h"
#include "engine/evaluate.h"
#include "engine/signals.h"

/* ---- health ----------------------------------------------------------------------- */

int kz_health_def_version(kz_health_def **out, kz_store *st, int64_t v)
{
    if (v == 0)
        return kz_health_def_parse(out, kz_health_default_json(), strlen(kz_health_default_json()), "built-in");
    char *json = NULL;
    int64_t got;
    int rc = kz_store_health_def_get(st, v, &got, &json);
    if (rc)
        return kz_error_prefix(rc, "health definition version %lld", (long long)v);
    char origin[64];
    snprintf(origin, sizeof origin, "stored definition %lld", (long long)v);
    rc = kz_health_def_parse(out, json, strlen(json), origin);
    free(json);
    return rc;
}

int kz_health_def_current(kz_health_def **out, int64_t *version, kz_store *st)
{
    char *stored = NULL;
    int64_t latest = 0;
    int rc = kz_store_health_def_get(st, 0, &latest, &stored);
    free(stored);
    if (rc && rc != KZ_ENOTFOUND)
        return rc;
    *version = rc == KZ_ENOTFOUND ? 0 : latest;
    return kz_health_def_version(out, st, *version);
}

int kz_health_score_at(kz_health_scores **out, const kz_health_def *d, const char *origin, kz_store *st,
                       const kz_engine *e, const kz_metric_opts *o, kz_day at, const kz_attrs *attrs)
{
    size_t ns = kz_health_segments(d);
    kz_segments **segs = calloc(ns ? ns : 1, sizeof *segs);
    const uint8_t **masks = calloc(ns ? ns : 1, sizeof *masks);
    int rc = KZ_OK;
    *out = NULL;
    if (!segs || !masks) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t s = 0; s < ns && !rc; s++) {
        size_t nf;
        const char *const *f = kz_health_segment_filters(d, s, &nf);
        if (!nf)
            continue;
        if ((rc = kz_segments_build(&segs[s], st, e, at, f, nf, NULL)))
            kz_error_prefix(rc, "%s: segment '%s'", origin ? origin : "definition", kz_health_segment_name(d, s));
        else
            masks[s] = segs[s]->filter;
    }
    if (!rc) {
        kz_metric_opts at_o = *o;
        at_o.obs = at;
        rc = kz_health_compute(out, d, masks, e, &at_o, attrs);
    }
done:
    for (size_t s = 0; segs && s < ns; s++)
        kz_segments_free(segs[s]);
    free(segs);
    free(masks);
    return rc;
}

int kz_health_parts_json(kz_buf *out, const kz_health_def *d, const kz_health_scores *h, uint32_t a, int says)
{
    kz_jw w;
    kz_buf text;
    int s = h->segment[a];
    kz_buf_init(&text, KZ_BUF_UNLIMITED);
    kz_jw_init(&w, out);
    kz_jw_arr(&w);
    for (size_t k = 0; s >= 0 && k < kz_health_factors(d, (size_t)s); k++) {
        const kz_health_part *p = &h->part[(size_t)a * h->width + k];
        kz_jw_obj(&w);
        kz_jw_key(&w, "factor");
        kz_jw_str(&w, kz_health_factor_name(d, (size_t)s, k));
        int sig = kz_health_factor_signal(d, (size_t)s, k);
        kz_jw_key(&w, "signal"); /* what a client words the factor by (null: a custom field or events) */
        if (sig >= 0)
            kz_jw_str(&w, kz_signal_defs()[sig].name);
        else
            kz_jw_null(&w);
        kz_jw_key(&w, "value");
        kz_jw_double(&w, p->value);
        kz_jw_key(&w, "points");
        kz_jw_double(&w, p->points);
        kz_jw_key(&w, "weight");
        kz_jw_double(&w, p->weight);
        kz_jw_key(&w, "adds");
        kz_jw_double(&w, p->score);
        if (says) {
            kz_buf_reset(&text);
            kz_health_describe(&text, d, h, a, k);
            kz_jw_key(&w, "says");
            kz_jw_strn(&w, text.data ? text.data : "", text.len);
        }
        kz_jw_end(&w);
    }
    kz_jw_end(&w);
    kz_buf_free(&text);
    return kz_jw_error(&w);
}

int kz_health_weakest(kz_buf *out, const kz_health_def *d, const kz_health_scores *h, uint32_t a)
{
    int s = h->segment[a];
    if (s < 0)
        return KZ_OK;
    size_t nf = kz_health_factors(d, (size_t)s), worst[2] = { SIZE_MAX, SIZE_MAX };
    const kz_health_part *part = &h->part[(size_t)a * h->width];
    for (size_t k = 0; k < nf; k++) { /* the two that lose the most points */
        double lost = part[k].weight - part[k].score;
        if (!(lost > 0.5))
            continue;
        if (worst[0] == SIZE_MAX || lost > part[worst[0]].weight - part[worst[0]].score) {
            worst[1] = worst[0];
            worst[0] = k;
        } else if (worst[1] == SIZE_MAX || lost > part[worst[1]].weight - part[worst[1]].score) {
            worst[1] = k;
        }
    }
    int rc = KZ_OK;
    for (int w = 0; w < 2 && worst[w] != SIZE_MAX && !rc; w++) {
        const kz_health_part *p = &part[worst[w]];
        rc = kz_buf_printf(out, "%s%s -%.0f: ", w ? "; " : "", kz_health_factor_name(d, (size_t)s, worst[w]),
                           p->weight - p->score);
        if (!rc)
            rc = kz_health_describe(out, d, h, a, worst[w]);
    }
    return rc;
}

/* ---- the score against real churn ------------------------------------------------ */

void kz_health_history_free(kz_health_history *hs)
{
    free(hs->risk);
    free(hs->y);
    free(hs->band);
    free(hs->segment);
    free(hs->day);
    free(hs->points);
    memset(hs, 0, sizeof *hs);
}

static int history_grow(kz_health_history *hs)
{
    if (hs->n < hs->cap)
        return KZ_OK;
    size_t cap = hs->cap ? hs->cap * 2 : 4096;
    double *risk = realloc(hs->risk, cap * sizeof *risk);
    if (risk)
        hs->risk = risk;
    uint8_t *y = realloc(hs->y, cap), *band = y ? realloc(hs->band, cap) : NULL;
    if (y)
        hs->y = y;
    if (band)
        hs->band = band;
    int *seg = realloc(hs->segment, cap * sizeof *seg);
    if (seg)
        hs->segment = seg;
    kz_day *day = realloc(hs->day, cap * sizeof *day);
    if (day)
        hs->day = day;
    double *pts = realloc(hs->points, cap * (hs->width ? hs->width : 1) * sizeof *pts);
    if (pts)
        hs->points = pts;
    if (!risk || !y || !band || !seg || !day || !pts)
        return kz_error_oom();
    hs->cap = cap;
    return KZ_OK;
}

int kz_health_history_collect(kz_health_history *hs, const kz_health_def *d, const char *origin, kz_store *st,
                              const kz_engine *e, const kz_metric_opts *o, const kz_attrs *attrs, int horizon,
                              int step)
{
    kz_day end = o->obs != KZ_DAY_NONE ? o->obs : kz_engine_last_day(e, o->tz);
    int rc = KZ_OK;
    memset(hs, 0, sizeof *hs);
    for (size_t s = 0; s < kz_health_segments(d); s++)
        hs->width = kz_health_factors(d, s) > hs->width ? kz_health_factors(d, s) : hs->width;
    if (end == KZ_DAY_NONE || kz_engine_events(e) == 0)
        return kz_error_set(KZ_EINVALID, "no events: a backtest needs the usage history");
    kz_day first = kz_engine_first_day(e, o->tz);
    kz_day last = end - horizon;
    if (last < first + KZ_HEALTH_HISTORY_DAYS)
        return kz_error_set(KZ_EINVALID,
                            "the history is too short: a backtest date needs %d days of events before it and %d after",
                            KZ_HEALTH_HISTORY_DAYS, horizon);
    for (kz_day at = last; at >= first + KZ_HEALTH_HISTORY_DAYS && !rc; at -= step) {
        kz_health_scores *h = NULL;
        if ((rc = kz_health_score_at(&h, d, origin, st, e, o, at, attrs)))
            break;
        hs->dates++;
        for (uint32_t a = 0; a < h->naccounts && !rc; a++) {
            if (isnan(h->score[a]))
                continue;
            int label = kz_engine_churns_within(e, a, at, horizon);
            if (label < 0)
                continue;
            if ((rc = history_grow(hs)))
                break;
            size_t i = hs->n++;
            hs->risk[i] = 100 - h->score[a];
            hs->y[i] = (uint8_t)label;
            hs->band[i] = h->band[a];
            hs->segment[i] = h->segment[a];
            hs->day[i] = at;
            for (size_t k = 0; k < hs->width; k++)
                hs->points[i * hs->width + k] = h->part[(size_t)a * h->width + k].points;
        }
        kz_health_scores_free(h);
    }
    return rc;
}

void kz_health_backtest_of(kz_health_backtest *b, const kz_health_history *hs, int horizon)
{
    memset(b, 0, sizeof *b);
    b->horizon = horizon;
    b->dates = hs->dates;
    b->rows = hs->n;
    b->roc_auc = hs->n ? kz_eval_roc_auc(hs->risk, hs->y, hs->n) : NAN;
    for (size_t i = 0; i < hs->n; i++) {
        b->band_rows[hs->band[i]]++;
        b->band_churned[hs->band[i]] += hs->y[i];
        b->churned += hs->y[i];
    }
    double base = hs->n ? (double)b->churned / (double)hs->n : NAN;
    double red = b->band_rows[KZ_BAND_RED] ? (double)b->band_churned[KZ_BAND_RED] / (double)b->band_rows[KZ_BAND_RED]
                                           : NAN;
    b->red_lift = red / base;
    b->verdict = isnan(b->roc_auc)   ? "no churn in the history to judge by"
                 : b->roc_auc >= 0.7 ? "the score foresees churn"
                 : b->roc_auc >= 0.6 ? "the score foresees churn weakly"
                                     : "the score does not foresee churn: as it stands it is a decoration";
}

int kz_health_backtest_json(kz_buf *out, const kz_health_backtest *b)
{
    kz_jw w;
    kz_jw_init(&w, out);
    kz_jw_obj(&w);
    kz_jw_key(&w, "roc_auc");
    kz_jw_double(&w, b->roc_auc);
    kz_jw_key(&w, "verdict");
    kz_jw_str(&w, b->verdict);
    kz_jw_key(&w, "horizon_days");
    kz_jw_int(&w, b->horizon);
    kz_jw_key(&w, "dates");
    kz_jw_int(&w, (int64_t)b->dates);
    kz_jw_key(&w, "rows");
    kz_jw_int(&w, (int64_t)b->rows);
    kz_jw_key(&w, "churned");
    kz_jw_int(&w, (int64_t)b->churned);
    kz_jw_key(&w, "red_lift");
    kz_jw_double(&w, b->red_lift);
    kz_jw_key(&w, "bands");
    kz_jw_obj(&w);
    for (int band = KZ_BAND_GREEN; band >= KZ_BAND_RED; band--) {
        kz_jw_key(&w, kz_health_band_name(band));
        kz_jw_obj(&w);
        kz_jw_key(&w, "rows");
        kz_jw_int(&w, (int64_t)b->band_rows[band]);
        kz_jw_key(&w, "churned");
        kz_jw_int(&w, (int64_t)b->band_churned[band]);
        kz_jw_key(&w, "churn_rate");
        kz_jw_double(&w, b->band_rows[band] ? (double)b->band_churned[band] / (double)b->band_rows[band] : NAN);
        kz_jw_end(&w);
    }
    kz_jw_end(&w);
    kz_jw_end(&w);
    return kz_jw_error(&w);
}

/* ---- churn ------------------------------------------------------------------------- */

/* The evaluation's ROC AUC stored with a model (-1 when it has none). */
static double stored_auc(const kz_model_rec *rec)
{
    cJSON *root = cJSON_Parse(rec->meta);
    const cJSON *auc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "evaluation"), "roc_auc");
    double v = cJSON_IsNumber(auc) ? auc->valuedouble : -1;
    cJSON_Delete(root);
    return v;
}

int kz_churn_model_pick(kz_model_rec **out, kz_store *st, const char *algorithm)
{
    kz_model_rec *rec = NULL, *other = NULL;
    int best = strcmp(algorithm, "best") == 0;
    int rc = kz_store_model_latest(st, "churn", best ? "logistic" : algorithm, &rec);
    if (rc && rc != KZ_ENOTFOUND)
        return rc;
    if (best && kz_store_model_latest(st, "churn", "xgboost", &other) == KZ_OK &&
        (!rec || stored_auc(other) > stored_auc(rec))) {
        kz_model_rec *swap = rec;
        rec = other;
        other = swap;
    }
    kz_model_rec_free(other);
    if (!rec)
        return kz_error_set(KZ_ENOTFOUND, "no churn model is stored");
    *out = rec;
    return KZ_OK;
}

/* A signal's value as a person reads it (features enter models transformed). */
static double shown_value(const char *name, double v)
{
    int k = kz_signal_find(name, strlen(name));
    if (k < 0 || isnan(v))
        return v;
    const char *u = kz_signal_defs()[k].unit;
    if (strcmp(u, "ratio") == 0 || strcmp(u, "score") == 0)
        return v;
    double x = expm1(v); /* undoes log(1 + x), to the rounding of the unit */
    if (strcmp(u, "money") == 0)
        return round(x * 100) / 100;
    if (strcmp(u, "hours") == 0)
        return round(x * 1000) / 1000;
    return round(x);
}

enum { TOP_DRIVERS = 3 };

int kz_churn_drivers(kz_buf *j, kz_buf *t, char *const *names, size_t p, const double *x, const double *c,
                     const double *signals)
{
    size_t best[TOP_DRIVERS];
    size_t nb = 0;
    for (size_t f = 0; f < p; f++) {
        if (!(c[f] > 0))
            continue;
        size_t pos = nb < TOP_DRIVERS ? nb++ : TOP_DRIVERS;
        while (pos > 0 && c[best[pos - 1]] < c[f]) {
            if (pos < TOP_DRIVERS)
                best[pos] = best[pos - 1];
            pos--;
        }
        if (pos < TOP_DRIVERS)
            best[pos] = f;
    }
    kz_jw w;
    kz_jw_init(&w, j);
    kz_jw_arr(&w);
    int rc = KZ_OK;
    for (size_t i = 0; i < nb && !rc; i++) {
        size_t f = best[i];
        double v = shown_value(names[f], x[f]);
        char num[KZ_DOUBLE_BUF];
        kz_jw_obj(&w);
        kz_jw_key(&w, "feature");
        kz_jw_str(&w, names[f]);
        kz_jw_key(&w, "value");
        kz_jw_double(&w, v);
        kz_jw_key(&w, "effect");
        kz_jw_double(&w, c[f]);
        int k = signals ? kz_signal_find(names[f], strlen(names[f])) : -1;
        if (k >= 0) {
            /* the signal in a CSM's words ("3 open high or urgent tickets") */
            kz_buf says;
            kz_buf_init(&says, KZ_BUF_UNLIMITED);
            if (kz_signal_describe(&says, k, signals) == KZ_OK) {
                kz_jw_key(&w, "says");
                kz_jw_strn(&w, says.data ? says.data : "", says.len);
            }
            kz_buf_free(&says);
        }
        kz_jw_end(&w);
        if (isnan(v))
            snprintf(num, sizeof num, "missing");
        else
            snprintf(num, sizeof num, "%.3g", v);
        rc = kz_buf_printf(t, "%s%s %s (+%.2f)", i ? ", " : "", names[f], num, c[f]);
    }
    kz_jw_end(&w);
    return rc ? rc : kz_jw_error(&w);
}


/* {"horizon_days", "models": {name: {roc_auc, pr_auc, top_decile_lift, periods, rows, calibration}}} */
int kz_churn_eval_json(kz_buf *out, const kz_churn_eval *ev, size_t n, const kz_churn_opts *c, const kz_dataset *d)
{
    kz_jw w;
    kz_jw_init(&w, out);
    kz_jw_obj(&w);
    kz_jw_key(&w, "features");
    kz_jw_arr(&w);
    for (size_t j = 0; j < d->p; j++)
        kz_jw_str(&w, d->names[j]);
    kz_jw_end(&w);
    kz_jw_key(&w, "horizon_days");
    kz_jw_int(&w, c->horizon);
    kz_jw_key(&w, "step_days");
    kz_jw_int(&w, c->step);
    kz_jw_key(&w, "models");
    kz_jw_obj(&w);
    for (size_t i = 0; i < n; i++) {
        kz_jw_key(&w, ev[i].model);
        kz_jw_obj(&w);
        kz_jw_key(&w, "roc_auc");
        kz_jw_double(&w, ev[i].roc_auc);
        kz_jw_key(&w, "pr_auc");
        kz_jw_double(&w, ev[i].pr_auc);
        kz_jw_key(&w, "top_decile_lift");
        kz_jw_double(&w, ev[i].top_decile_lift);
        if (!isnan(ev[i].lambda)) {
            kz_jw_key(&w, "lambda");
            kz_jw_double(&w, ev[i].lambda);
        }
        kz_jw_key(&w, "train_from");
        kz_jw_date(&w, ev[i].train_first);
        kz_jw_key(&w, "train_to");
        kz_jw_date(&w, ev[i].train_last);
        kz_jw_key(&w, "test_from");
        kz_jw_date(&w, ev[i].test_first);
        kz_jw_key(&w, "test_to");
        kz_jw_date(&w, ev[i].test_last);
        kz_jw_key(&w, "train_rows");
        kz_jw_int(&w, (int64_t)ev[i].train_rows);
        kz_jw_key(&w, "train_churned");
        kz_jw_int(&w, (int64_t)ev[i].train_churned);
        kz_jw_key(&w, "test_rows");
        kz_jw_int(&w, (int64_t)ev[i].test_rows);
        kz_jw_key(&w, "test_churned");
        kz_jw_int(&w, (int64_t)ev[i].test_churned);
        kz_jw_key(&w, "calibration");
        kz_jw_arr(&w);
        for (int b = 0; b < 10; b++) {
            const kz_calib_bin *cb = &ev[i].calibration[b];
            kz_jw_obj(&w);
            kz_jw_key(&w, "predicted_from");
            kz_jw_double(&w, cb->lo);
            kz_jw_key(&w, "predicted_to");
            kz_jw_double(&w, cb->hi);
            kz_jw_key(&w, "rows");
            kz_jw_int(&w, (int64_t)cb->n);
            kz_jw_key(&w, "mean_predicted");
            kz_jw_double(&w, cb->mean_pred);
            kz_jw_key(&w, "observed");
            kz_jw_double(&w, cb->observed);
            kz_jw_end(&w);
        }
        kz_jw_end(&w);
        kz_jw_end(&w);
    }
    kz_jw_end(&w);
    kz_jw_end(&w);
    if (kz_buf_putc(out, '\n'))
        return KZ_ENOMEM;
    return kz_jw_error(&w);
}

void kz_churn_preds_free(kz_churn_preds *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->rows && i < p->rows->n; i++) {
        if (p->drivers)
            free(p->drivers[i]);
        if (p->text)
            free(p->text[i]);
    }
    free(p->drivers);
    free(p->text);
    free(p->prob);
    kz_dataset_free(p->rows);
    free(p);
}

int kz_churn_predict_all(kz_churn_preds **out, const kz_churn_model *m, const kz_engine *e, const kz_metric_opts *o,
                         kz_day at, const kz_attrs *attrs, const double *signals)
{
    kz_churn_preds *p = calloc(1, sizeof *p);
    double *contrib = NULL;
    size_t np;
    char *const *names = kz_churn_model_features(m, &np);
    int rc;
    *out = NULL;
    if (!p)
        return kz_error_oom();
    if ((rc = kz_churn_rows(&p->rows, e, o, at, names, np, attrs)))
        goto done;
    size_t n = p->rows->n;
    p->prob = malloc((n ? n : 1) * sizeof *p->prob);
    p->drivers = calloc(n ? n : 1, sizeof *p->drivers);
    p->text = calloc(n ? n : 1, sizeof *p->text);
    contrib = malloc((n ? n : 1) * (np ? np : 1) * sizeof *contrib);
    if (!p->prob || !p->drivers || !p->text || !contrib) {
        rc = kz_error_oom();
        goto done;
    }
    if ((rc = kz_churn_model_score(m, p->rows, p->prob, contrib)))
        goto done;
    for (size_t i = 0; i < n && !rc; i++) {
        kz_buf j, t;
        kz_buf_init(&j, KZ_BUF_UNLIMITED);
        kz_buf_init(&t, KZ_BUF_UNLIMITED);
        rc = kz_churn_drivers(&j, &t, names, np, p->rows->x + i * np, contrib + i * np,
                              signals ? signals + (size_t)p->rows->acc[i] * KZ_NSIGNALS : NULL);
        if (!rc)
            rc = kz_buf_putc(&j, '\0');
        if (!rc)
            rc = kz_buf_putc(&t, '\0');
        p->drivers[i] = j.data; /* the buffers' memory is the strings' */
        p->text[i] = t.data;
        if (rc) {
            kz_buf_free(&j);
            kz_buf_free(&t);
            p->drivers[i] = p->text[i] = NULL;
        }
    }
done:
    free(contrib);
    if (rc) {
        kz_churn_preds_free(p);
        return rc;
    }
    *out = p;
    return KZ_OK;
}

/* ---- every account's scores -------------------------------------------------------- */

void kz_scores_free(kz_scores *s)
{
    if (!s)
        return;
    free(s->health);
    free(s->health_before);
    free(s->band);
    free((void *)s->segment);
    free((void *)s->factors);
    free((void *)s->weakest);
    free(s->churn);
    free((void *)s->drivers);
    free(s->signals);
    free(s->ids);
    kz_arena_free(s->arena);
    free(s);
}

static int scores_health(kz_scores *s, kz_store *st, const kz_engine *e, const kz_metric_opts *o,
                         const kz_attrs *attrs)
{
    kz_health_def *d = NULL;
    kz_health_scores *h = NULL;
    kz_buf b;
    int rc = kz_health_def_current(&d, &s->health_version, st);
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    if (!rc)
        rc = kz_health_score_at(&h, d, NULL, st, e, o, s->at, attrs);
    for (uint32_t a = 0; !rc && a < s->naccounts; a++) {
        if (isnan(h->score[a]))
            continue;
        double sc = h->score[a];
        s->health[a] = sc < 0 ? 0 : sc > 100 ? 100 : sc;
        s->band[a] = h->band[a];
        s->segment[a] = kz_health_segment_name(d, (size_t)h->segment[a]);
        kz_buf_reset(&b);
        if ((rc = kz_health_parts_json(&b, d, h, a, 1)))
            break;
        s->factors[a] = kz_arena_strndup(s->arena, b.data ? b.data : "", b.len);
        kz_buf_reset(&b);
        if ((rc = kz_health_weakest(&b, d, h, a)))
            break;
        s->weakest[a] = kz_arena_strndup(s->arena, b.data ? b.data : "", b.len);
        if (!s->factors[a] || !s->weakest[a] ||
            !(s->segment[a] = kz_arena_strndup(s->arena, s->segment[a], strlen(s->segment[a]))))
            rc = kz_error_oom();
    }
    kz_buf_free(&b);
    if (!rc && h) {
        s->signals = h->signals; /* kept: the account page shows them */
        h->signals = NULL;
    }
    kz_health_scores_free(h);
    h = NULL;
    /* the same definition a week before: each score's trend */
    if (!rc)
        rc = kz_health_score_at(&h, d, NULL, st, e, o, s->at - KZ_TREND_DAYS, attrs);
    for (uint32_t a = 0; !rc && a < s->naccounts; a++) {
        double sc = h->score[a];
        s->health_before[a] = isnan(sc) ? NAN : sc < 0 ? 0 : sc > 100 ? 100 : sc;
    }
    kz_health_scores_free(h);
    kz_health_def_free(d);
    return rc;
}

static int scores_churn(kz_scores *s, kz_store *st, const kz_engine *e, const kz_metric_opts *o,
                        const kz_attrs *attrs)
{
    kz_model_rec *rec = NULL;
    kz_churn_model *m = NULL;
    kz_churn_preds *p = NULL;
    int rc = kz_churn_model_pick(&rec, st, "best");
    if (rc == KZ_ENOTFOUND)
        return KZ_OK; /* no model yet: no risk to show */
    if (!rc)
        rc = kz_churn_model_load(&m, rec->body, rec->body_len);
    if (!rc)
        rc = kz_churn_predict_all(&p, m, e, o, s->at, attrs, s->signals);
    if (!rc) {
        s->model_id = rec->id;
        s->model = kz_churn_algo_name(kz_churn_model_algo(m));
        s->horizon = kz_churn_model_horizon(m);
        for (size_t i = 0; i < p->rows->n && !rc; i++) {
            uint32_t a = p->rows->acc[i];
            s->churn[a] = p->prob[i];
            if (!(s->drivers[a] = kz_arena_strndup(s->arena, p->drivers[i], strlen(p->drivers[i]))))
                rc = kz_error_oom();
        }
    }
    kz_churn_preds_free(p);
    kz_churn_model_free(m);
    kz_model_rec_free(rec);
    return rc;
}

int kz_scores_compute(kz_scores **out, kz_store *st, const kz_engine *e, const kz_metric_opts *o)
{
    kz_scores *s = calloc(1, sizeof *s);
    kz_attrs *attrs = NULL;
    int rc = KZ_OK;
    *out = NULL;
    if (!s)
        return kz_error_oom();
    size_t n = kz_engine_accounts(e), m = n ? n : 1;
    s->naccounts = n;
    s->computed_at = kz_now();
    s->at = o->obs != KZ_DAY_NONE ? o->obs : kz_engine_last_day(e, o->tz);
    s->arena = kz_arena_new(1 << 20);
    s->health = malloc(m * sizeof *s->health);
    s->health_before = malloc(m * sizeof *s->health_before);
    s->band = calloc(m, sizeof *s->band);
    s->segment = calloc(m, sizeof *s->segment);
    s->factors = calloc(m, sizeof *s->factors);
    s->weakest = calloc(m, sizeof *s->weakest);
    s->churn = malloc(m * sizeof *s->churn);
    s->drivers = calloc(m, sizeof *s->drivers);
    s->ids = malloc(m * sizeof *s->ids);
    if (!s->arena || !s->health || !s->health_before || !s->band || !s->segment || !s->factors || !s->weakest ||
        !s->churn || !s->drivers || !s->ids) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t a = 0; a < n; a++)
        s->health[a] = s->health_before[a] = s->churn[a] = NAN;
    kz_engine_account_ids(e, s->ids);
    if (s->at == KZ_DAY_NONE)
        goto done; /* no events yet */
    if ((rc = kz_attrs_load(&attrs, st, e)))
        goto done;
    double t0 = kz_monotonic();
    if ((rc = scores_health(s, st, e, o, attrs)))
        goto done;
    double t1 = kz_monotonic();
    rc = scores_churn(s, st, e, o, attrs);
    KZ_LOG(KZ_LOG_DEBUG, "scores: computed", "accounts=%zu health_ms=%.1f churn_ms=%.1f", n, (t1 - t0) * 1000,
           (kz_monotonic() - t1) * 1000);
done:
    kz_attrs_free(attrs);
    if (rc) {
        kz_scores_free(s);
        return rc;
    }
    *out = s;
    return KZ_OK;
}

int kz_scores_remap(kz_scores *s, const kz_engine *to)
{
    size_t n = kz_engine_accounts(to), m = n ? n : 1;
    int64_t maxid = 0;
    for (size_t a = 0; a < s->naccounts; a++)
        if (s->ids[a] > maxid)
            maxid = s->ids[a];
    uint32_t *old_of = malloc(((size_t)maxid + 1) * sizeof *old_of);
    int64_t *ids = malloc(m * sizeof *ids);
    double *health = malloc(m * sizeof *health), *before = malloc(m * sizeof *before),
           *churn = malloc(m * sizeof *churn);
    double *sig = s->signals ? malloc(m * KZ_NSIGNALS * sizeof *sig) : NULL;
    uint8_t *band = calloc(m, sizeof *band);
    const char **segment = calloc(m, sizeof *segment), **factors = calloc(m, sizeof *factors),
               **weakest = calloc(m, sizeof *weakest), **drivers = calloc(m, sizeof *drivers);
    if (!old_of || !ids || !health || !before || !churn || (s->signals && !sig) || !band || !segment || !factors || !weakest ||
        !drivers) {
        free(old_of), free(ids), free(health), free(before), free(churn), free(sig), free(band);
        free((void *)segment), free((void *)factors), free((void *)weakest), free((void *)drivers);
        return kz_error_oom();
    }
    memset(old_of, 0xff, ((size_t)maxid + 1) * sizeof *old_of);
    for (size_t a = 0; a < s->naccounts; a++)
        old_of[s->ids[a]] = (uint32_t)a;
    kz_engine_account_ids(to, ids);
    for (size_t a = 0; a < n; a++) {
        uint32_t o = ids[a] <= maxid ? old_of[ids[a]] : UINT32_MAX;
        health[a] = o != UINT32_MAX ? s->health[o] : NAN;
        before[a] = o != UINT32_MAX ? s->health_before[o] : NAN;
        churn[a] = o != UINT32_MAX ? s->churn[o] : NAN;
        if (o == UINT32_MAX) {
            for (size_t k = 0; sig && k < KZ_NSIGNALS; k++)
                sig[a * KZ_NSIGNALS + k] = NAN;
            continue;
        }
        band[a] = s->band[o];
        segment[a] = s->segment[o];
        factors[a] = s->factors[o];
        weakest[a] = s->weakest[o];
        drivers[a] = s->drivers[o];
        if (sig)
            memcpy(sig + a * KZ_NSIGNALS, s->signals + (size_t)o * KZ_NSIGNALS, KZ_NSIGNALS * sizeof *sig);
    }
    free(old_of);
    free(s->ids), free(s->health), free(s->health_before), free(s->churn), free(s->signals), free(s->band);
    free((void *)s->segment), free((void *)s->factors), free((void *)s->weakest), free((void *)s->drivers);
    s->naccounts = n;
    s->ids = ids;
    s->health = health;
    s->health_before = before;
    s->churn = churn;
    s->signals = sig;
    s->band = band;
    s->segment = segment;
    s->factors = factors;
    s->weakest = weakest;
    s->drivers = drivers;
    return KZ_OK;
}

int kz_scores_store(const kz_scores *s, kz_store *st)
{
    size_t n = s->naccounts, m = n ? n : 1, nh = 0, np = 0;
    const int64_t *ids = s->ids;
    kz_health_row *rows = malloc(m * sizeof *rows);
    kz_prediction *preds = malloc(m * sizeof *preds);
    int rc = KZ_OK;
    if (!rows || !preds) {
        rc = kz_error_oom();
        goto done;
    }
    if (s->at == KZ_DAY_NONE)
        goto done;
    for (size_t a = 0; a < n; a++) {
        if (!isnan(s->health[a]))
            rows[nh++] = (kz_health_row){ ids[a], s->at, s->health[a], kz_health_band_name(s->band[a]),
                                          s->health_version, s->factors[a] };
        if (!isnan(s->churn[a]))
            preds[np++] = (kz_prediction){ ids[a], s->at, s->churn[a], s->drivers[a] };
    }
    if (nh && (rc = kz_store_health_put(st, rows, nh, s->computed_at)))
        goto done;
    if (s->model_id)
        rc = kz_store_predictions_put(st, s->model_id, preds, np, s->computed_at);
done:
    free(rows);
    free(preds);
    return rc;
}
