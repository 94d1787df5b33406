/*
 * health.c - health scores and churn risk over HTTP: the scores now (by
 * band), the definition (read, and a new version stored), an account's
 * recorded scores, the backtest against real churn, the stored churn models
 * with their evaluation, a fresh evaluation, and the predictions riskiest
 * first.
 *
 * The backtest and the evaluation replay the whole history (seconds on big
 * data): they run on an engine of their own, built from the store, so that
 * reports and ingestion go on meanwhile.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/text.h"
#include "core/time.h"
#include "engine/churn.h"
#include "engine/health.h"
#include "engine/scores.h"





/* ---- the scores now, and the definition ------------------------------------------------ */

int kz_api_health(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    kz_store *st = kz_app_store(a);
    kz_health_def *d = NULL;
    int64_t version = 0;
    kz_buf def;
    if (!st)
        return KZ_EIO;
    kz_buf_init(&def, KZ_BUF_UNLIMITED);
    int rc = kz_health_def_current(&d, &version, st);
    if (!rc)
        rc = kz_health_def_json(d, &def);
    kz_health_def_free(d);
    if (rc) {
        kz_buf_free(&def);
        return rc;
    }
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "definition_version");
    kz_jw_int(&w, version);
    kz_jw_key(&w, "definition");
    kz_jw_raw(&w, def.data, def.len);
    const kz_engine *e = kz_app_engine(a);
    const kz_scores *s = a->scores;
    (void)e;
    kz_jw_key(&w, "scores");
    if (!s) {
        kz_jw_null(&w);
    } else {
        size_t bands[3] = { 0 }, n = 0;
        double sum = 0;
        for (size_t i = 0; i < s->naccounts; i++)
            if (!isnan(s->health[i])) {
                bands[s->band[i]]++;
                sum += s->health[i];
                n++;
            }
        kz_jw_obj(&w);
        kz_jw_key(&w, "day");
        kz_jw_date(&w, s->at);
        kz_jw_key(&w, "computed_at");
        kz_jw_time(&w, s->computed_at);
        kz_jw_key(&w, "version");
        kz_jw_int(&w, s->health_version);
        kz_jw_key(&w, "scored");
        kz_jw_int(&w, (int64_t)n);
        kz_jw_key(&w, "mean");
        kz_jw_double(&w, n ? round(sum / (double)n * 10) / 10 : NAN);
        kz_jw_key(&w, "bands");
        kz_jw_obj(&w);
        for (int b = KZ_BAND_GREEN; b >= KZ_BAND_RED; b--) {
            kz_jw_key(&w, kz_health_band_name(b));
            kz_jw_int(&w, (int64_t)bands[b]);
        }
        kz_jw_end(&w);
        kz_jw_end(&w);
    }
    kz_app_engine_done(a);
    kz_jw_end(&w);
    kz_buf_free(&def);
    return kz_resp_json_end(resp, &w, 200);
}

int kz_api_health_define(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    kz_store *st = kz_app_store(a);
    kz_api_user *u = req->user;
    kz_health_def *d = NULL;
    kz_buf norm;
    int64_t version = 0;
    if (!st)
        return KZ_EIO;
    if (kz_health_def_parse(&d, req->body, req->body_len, "definition")) {
        /* "definition: segments[0].factors[2].curve: ...": the place is the field */
        const char *m = kz_error_msg(), *p = strncmp(m, "definition: ", 12) == 0 ? m + 12 : m;
        size_t n = strcspn(p, ": ");
        char field[128];
        if (p[n] == ':' && n > 0 && n < sizeof field)
            snprintf(field, sizeof field, "%.*s", (int)n, p);
        else
            snprintf(field, sizeof field, "definition");
        return kz_resp_error(resp, 400, field, "%s", m);
    }
    kz_buf_init(&norm, KZ_BUF_UNLIMITED);
    char detail[32];
    int rc = kz_health_def_json(d, &norm);
    kz_health_def_free(d);
    if (!rc)
        rc = kz_buf_putc(&norm, '\0');
    if (!rc && !(rc = kz_store_begin(st))) {
        if (!(rc = kz_store_health_def_put(st, norm.data, kz_now(), &version))) {
            snprintf(detail, sizeof detail, "version=%lld", (long long)version);
            kz_audit rec = { 0, kz_now(), u->user.name, "health.define", "health definition", detail, req->client };
            rc = kz_store_audit_add(st, &rec);
        }
        if (!rc)
            rc = kz_store_commit(st);
        if (rc)
            kz_store_rollback(st);
    }
    kz_buf_free(&norm);
    if (rc)
        return rc;
    /* the answers kept of the old definition are not reused (cache.h); the
     * data version is not raised, since the data did not change */
    atomic_fetch_add(&a->generation, 1);
    kz_app_rescore(a); /* a new definition is a new score, recorded as such */
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "definition_version");
    kz_jw_int(&w, version);
    kz_jw_end(&w);
    return kz_resp_json_end(resp, &w, 201);
}

/* ---- one account's recorded scores ------------------------------------------------------ */

struct hist_ctx {
    kz_jw *w;
};

static int on_history(void *ctx, const char *key, const kz_health_row *h)
{
    struct hist_ctx *c = ctx;
    (void)key;
    kz_jw_obj(c->w);
    kz_jw_key(c->w, "day");
    kz_jw_date(c->w, h->day);
    kz_jw_key(c->w, "score");
    kz_jw_double(c->w, round(h->score * 10) / 10);
    kz_jw_key(c->w, "band");
    kz_jw_str(c->w, h->band);
    kz_jw_key(c->w, "definition_version");
    kz_jw_int(c->w, h->version);
    kz_jw_key(c->w, "factors");
    kz_jw_raw(c->w, h->parts, strlen(h->parts));
    kz_jw_end(c->w);
    return KZ_OK;
}

struct id_ctx {
    int64_t id;
};

static int on_id(void *ctx, int64_t id, const kz_value *row)
{
    (void)row;
    ((struct id_ctx *)ctx)->id = id;
    return KZ_OK;
}

int kz_api_account_health(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    kz_store *st = kz_app_store(a);
    const char *key = kz_req_param(req, "id");
    kz_day from, to;
    if (!st)
        return KZ_EIO;
    if (kz_req_date(req, resp, "from", &from) || kz_req_date(req, resp, "to", &to))
        return KZ_OK;
    if (from != KZ_DAY_NONE && to != KZ_DAY_NONE && from > to)
        return kz_resp_error(resp, 400, "from", "from is after to");
    struct id_ctx ic = { 0 };
    kz_value k = kz_vtext(key, strlen(key));
    int rc = kz_store_get(st, KZ_ENT_ACCOUNT, &k, on_id, &ic);
    if (rc == KZ_ENOTFOUND)
        return kz_resp_error(resp, 404, NULL, "no account '%s'", key);
    if (rc)
        return rc;
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "account_id");
    kz_jw_str(&w, key);
    kz_jw_key(&w, "scores");
    kz_jw_arr(&w);
    struct hist_ctx hc = { &w };
    rc = kz_store_health_each(st, ic.id, from != KZ_DAY_NONE ? from : INT32_MIN + 1, to != KZ_DAY_NONE ? to : INT32_MAX,
                              on_history, &hc);
    kz_jw_end(&w);
    kz_jw_end(&w);
    if (rc)
        return rc;
    return kz_resp_json_end(resp, &w, 200);
}

/* ---- the backtest and the evaluation, on an engine of their own -------------------------- */

struct private_engine {
    kz_store *st;
    kz_engine *e;
    kz_attrs *attrs;
    char *image;
};

static void private_free(struct private_engine *p)
{
    kz_attrs_free(p->attrs);
    kz_engine_free(p->e);
    kz_store_close(p->st);
    free(p->image);
}

static int private_open(kz_app *a, struct private_engine *p)
{
    memset(p, 0, sizeof *p);
    int rc = kz_store_open(&p->st, a->cfg->db_path, KZ_STORE_READONLY);
    if (!rc && !(p->image = kz_engine_image_path(p->st)))
        rc = KZ_ENOMEM;
    if (!rc)
        rc = kz_engine_build(&p->e, p->st, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS, p->image);
    if (!rc)
        rc = kz_attrs_load(&p->attrs, p->st, p->e);
    return rc;
}

int kz_api_health_backtest(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    int64_t horizon, step;
    if (kz_req_int(req, resp, "horizon", 1, 3660, 90, &horizon) || kz_req_int(req, resp, "step", 1, 3660, 30, &step))
        return KZ_OK;
    struct private_engine p;
    kz_health_def *d = NULL;
    int64_t version = 0;
    kz_health_history hs;
    memset(&hs, 0, sizeof hs);
    kz_metric_opts mo;
    kz_metric_opts_init(&mo);
    mo.tz = a->tz;
    int rc = private_open(a, &p);
    if (!rc)
        rc = kz_health_def_current(&d, &version, p.st);
    if (!rc && kz_health_history_collect(&hs, d, "definition", p.st, p.e, &mo, p.attrs, (int)horizon, (int)step)) {
        rc = kz_error_code();
        if (rc == KZ_EINVALID) {
            kz_resp_error(resp, 409, NULL, "%s", kz_error_msg());
            rc = KZ_OK;
        }
    } else if (!rc) {
        kz_health_backtest bt;
        kz_health_backtest_of(&bt, &hs, (int)horizon);
        rc = kz_health_backtest_json(&resp->body, &bt);
        if (!rc && !(rc = kz_buf_putc(&resp->body, '\n')))
            kz_resp_json(resp, 200);
    }
    kz_health_history_free(&hs);
    kz_health_def_free(d);
    private_free(&p);
    return rc;
}

int kz_api_churn_evaluation(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    int64_t horizon, step;
    if (kz_req_int(req, resp, "horizon", 1, 3660, 90, &horizon) || kz_req_int(req, resp, "step", 1, 3660, 30, &step))
        return KZ_OK;
    struct private_engine p;
    kz_dataset *d = NULL;
    kz_churn_eval ev[KZ_CHURN_MODELS];
    kz_churn_opts co;
    kz_churn_opts_init(&co);
    co.horizon = (int)horizon;
    co.step = (int)step;
    kz_metric_opts mo;
    kz_metric_opts_init(&mo);
    mo.tz = a->tz;
    int rc = private_open(a, &p);
    if (!rc && (kz_churn_dataset(&d, p.e, &mo, &co, p.attrs) || kz_churn_evaluate(ev, d, &co))) {
        rc = kz_error_code();
        if (rc == KZ_EINVALID) {
            kz_resp_error(resp, 409, NULL, "%s", kz_error_msg());
            rc = KZ_OK;
        }
    } else if (!rc) {
        rc = kz_churn_eval_json(&resp->body, ev, KZ_CHURN_MODELS, &co, d);
        if (!rc)
            kz_resp_json(resp, 200);
    }
    kz_dataset_free(d);
    private_free(&p);
    return rc;
}

/* ---- the stored models and the predictions ------------------------------------------------ */

int kz_api_churn_models(kz_http_req *req, kz_http_resp *resp)
{
    kz_store *st = kz_app_store(req->app);
    if (!st)
        return KZ_EIO;
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    int rc = KZ_OK;
    for (int algo = KZ_CHURN_LOGISTIC; algo <= KZ_CHURN_XGBOOST && !rc; algo++) {
        const char *name = kz_churn_algo_name(algo);
        kz_model_rec *m = NULL;
        kz_jw_key(&w, name);
        rc = kz_store_model_latest(st, "churn", name, &m);
        if (rc == KZ_ENOTFOUND) {
            kz_jw_null(&w);
            rc = KZ_OK;
            continue;
        }
        if (rc)
            break;
        kz_jw_obj(&w);
        kz_jw_key(&w, "model_id");
        kz_jw_int(&w, m->id);
        kz_jw_key(&w, "created_at");
        kz_jw_time(&w, m->created_at);
        kz_jw_key(&w, "data_version");
        kz_jw_int(&w, m->data_version);
        kz_jw_key(&w, "about");
        kz_jw_raw(&w, m->meta, strlen(m->meta));
        kz_jw_end(&w);
        kz_model_rec_free(m);
    }
    kz_jw_end(&w);
    if (rc)
        return rc;
    return kz_resp_json_end(resp, &w, 200);
}

struct risk_order {
    uint32_t a;
    double p;
};

static int cmp_risk(const void *x, const void *y)
{
    const struct risk_order *a = x, *b = y;
    if (a->p != b->p)
        return a->p > b->p ? -1 : 1;
    return (a->a > b->a) - (a->a < b->a);
}

int kz_api_churn_predictions(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    int64_t limit;
    if (kz_req_int(req, resp, "limit", 1, 100000, 100, &limit))
        return KZ_OK;
    const kz_engine *e = kz_app_engine(a);
    const kz_scores *s = a->scores;
    struct risk_order *ord = NULL;
    size_t n = 0;
    int rc = KZ_OK;
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "model_id");
    kz_jw_int(&w, s ? s->model_id : 0);
    kz_jw_key(&w, "model");
    if (s && s->model_id)
        kz_jw_str(&w, s->model);
    else
        kz_jw_null(&w);
    kz_jw_key(&w, "horizon_days");
    kz_jw_int(&w, s && s->model_id ? s->horizon : 0);
    kz_jw_key(&w, "day");
    kz_jw_date(&w, s ? s->at : KZ_DAY_NONE);
    kz_jw_key(&w, "predictions");
    kz_jw_arr(&w);
    if (s && s->naccounts) {
        ord = malloc(s->naccounts * sizeof *ord);
        if (!ord) {
            rc = kz_error_oom();
            goto done;
        }
        for (uint32_t i = 0; i < s->naccounts && i < kz_engine_accounts(e); i++)
            if (!isnan(s->churn[i]))
                ord[n++] = (struct risk_order){ i, s->churn[i] };
        qsort(ord, n, sizeof *ord, cmp_risk);
        for (size_t k = 0; k < n && k < (size_t)limit; k++) {
            size_t klen;
            const char *key = kz_engine_account_key(e, ord[k].a, &klen);
            kz_jw_obj(&w);
            kz_jw_key(&w, "account_id");
            kz_jw_strn(&w, key, klen);
            kz_jw_key(&w, "churn_probability");
            kz_jw_double(&w, round(ord[k].p * 10000) / 10000);
            kz_jw_key(&w, "drivers");
            kz_jw_raw(&w, s->drivers[ord[k].a], strlen(s->drivers[ord[k].a]));
            kz_jw_end(&w);
        }
    }
    kz_jw_end(&w);
    kz_jw_end(&w);
    rc = kz_resp_json_end(resp, &w, 200);
done:
    kz_app_engine_done(a);
    free(ord);
    return rc;
}
