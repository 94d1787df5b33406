/*
 * anomalies.c - GET /api/v1/anomalies[/{id}] and PATCH /api/v1/anomalies/{id}:
 * the anomalies the scorer thread found and stored (engine/findings.h), and
 * their state.
 */
#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/text.h"
#include "core/time.h"
#include "engine/findings.h"
#include "engine/watch.h"

static int each_json(void *ctx, const kz_anomaly_rec *r)
{
    kz_jw *w = ctx;
    kz_finding_json(w, r);
    return w->err; /* kz_jw_error also wants every level closed */
}

static int valid_state(const char *s)
{
    return strcmp(s, "open") == 0 || strcmp(s, "acknowledged") == 0 || strcmp(s, "resolved") == 0;
}

int kz_api_anomalies(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    const char *state = kz_req_query(req, "state"), *series = kz_req_query(req, "series"),
               *sort = kz_req_query(req, "sort");
    kz_day from, to;
    int64_t limit, offset;
    if (kz_req_date(req, resp, "from", &from) || kz_req_date(req, resp, "to", &to) ||
        kz_req_int(req, resp, "limit", 1, 1000, 0, &limit) || kz_req_int(req, resp, "offset", 0, INT32_MAX, 0, &offset))
        return KZ_OK;
    if (state && !valid_state(state))
        return kz_resp_error(resp, 400, "state", "state must be open, acknowledged or resolved");
    if (from != KZ_DAY_NONE && to != KZ_DAY_NONE && from > to)
        return kz_resp_error(resp, 400, "from", "from is after to");
    if (sort && strcmp(sort, "day") != 0 && strcmp(sort, "-day") != 0)
        return kz_resp_error(resp, 400, "sort", "sort: day (the oldest first) or -day (the newest first)");
    kz_store *st = kz_app_store(a);
    if (!st)
        return KZ_EIO;
    kz_anomaly_query q = { from != KZ_DAY_NONE ? from : INT32_MIN, to != KZ_DAY_NONE ? to : INT32_MAX, state, series,
                           sort && strcmp(sort, "-day") == 0, limit, offset };
    int64_t judged_at = atomic_load(&a->anomalies_judged_at);
    kz_day judged_day = atomic_load(&a->anomalies_judged_day);
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "judged_at");
    if (judged_at)
        kz_jw_time(&w, judged_at);
    else
        kz_jw_null(&w);
    kz_jw_key(&w, "judged_through");
    kz_jw_date(&w, judged_at ? judged_day : KZ_DAY_NONE);
    kz_jw_key(&w, "anomalies");
    kz_jw_arr(&w);
    int64_t total = 0;
    int rc = kz_store_anomalies_page(st, &q, each_json, &w, &total);
    if (rc)
        return rc;
    kz_jw_end(&w);
    kz_jw_key(&w, "total");
    kz_jw_int(&w, total);
    kz_jw_end(&w);
    return kz_resp_json_end(resp, &w, 200);
}

/* The {id} of the path, or 0 (resp holds the 404). */
static int64_t path_id(kz_http_req *req, kz_http_resp *resp)
{
    const char *p = kz_req_param(req, "id");
    int64_t id;
    if (!p || kz_parse_int(&id, p, strlen(p), 1, INT64_MAX)) {
        kz_resp_error(resp, 404, NULL, "no anomaly '%.40s'", p ? p : "");
        return 0;
    }
    return id;
}

static int one_json(kz_store *st, int64_t id, kz_http_resp *resp, int status)
{
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    int rc = kz_store_anomaly_get(st, id, each_json, &w);
    if (rc == KZ_ENOTFOUND) {
        kz_buf_reset(&resp->body);
        return kz_resp_error(resp, 404, NULL, "no anomaly %lld", (long long)id);
    }
    return rc ? rc : kz_resp_json_end(resp, &w, status);
}

int kz_api_anomaly(kz_http_req *req, kz_http_resp *resp)
{
    int64_t id = path_id(req, resp);
    if (!id)
        return KZ_OK;
    kz_store *st = kz_app_store(req->app);
    return st ? one_json(st, id, resp, 200) : KZ_EIO;
}

int kz_api_anomaly_change(kz_http_req *req, kz_http_resp *resp)
{
    int64_t id = path_id(req, resp);
    if (!id)
        return KZ_OK;
    cJSON *body = cJSON_ParseWithLength(req->body, req->body_len);
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(body, "state"),
                *jn = cJSON_GetObjectItemCaseSensitive(body, "note");
    int rc = KZ_OK;
    if (!cJSON_IsObject(body)) {
        rc = kz_resp_error(resp, 400, NULL, "the body must be a JSON object: {\"state\": ..., \"note\": ...}");
        goto done;
    }
    if (!cJSON_IsString(js) || !valid_state(js->valuestring)) {
        rc = kz_resp_error(resp, 400, "state", "state must be open, acknowledged or resolved");
        goto done;
    }
    if (jn && !cJSON_IsNull(jn) && !cJSON_IsString(jn)) {
        rc = kz_resp_error(resp, 400, "note", "note must be a text");
        goto done;
    }
    const char *note = cJSON_IsString(jn) ? jn->valuestring : NULL;
    if (note && strlen(note) > 4000) {
        rc = kz_resp_error(resp, 400, "note", "note is longer than 4000 bytes");
        goto done;
    }
    kz_store *st = kz_app_store(req->app);
    if (!st) {
        rc = KZ_EIO;
        goto done;
    }
    kz_api_user *me = req->user;
    char target[40];
    snprintf(target, sizeof target, "anomaly/%lld", (long long)id);
    kz_buf detail;
    kz_buf_init(&detail, KZ_BUF_UNLIMITED);
    /* the change and its audit record in one transaction */
    if ((rc = kz_buf_printf(&detail, "%s%s%s", js->valuestring, note ? ": " : "", note ? note : "")) ||
        (rc = kz_store_begin(st))) {
        kz_buf_free(&detail);
        goto done;
    }
    rc = kz_store_anomaly_set_state(st, id, js->valuestring, me->user.name, note, kz_now());
    if (!rc)
        rc = kz_api_audit(req, "anomaly.state", target, detail.data);
    kz_buf_free(&detail);
    if (!rc)
        rc = kz_store_commit(st);
    if (rc) {
        kz_store_rollback(st);
        if (rc == KZ_ENOTFOUND)
            rc = kz_resp_error(resp, 404, NULL, "no anomaly %lld", (long long)id);
        goto done;
    }
    rc = one_json(st, id, resp, 200);
done:
    cJSON_Delete(body);
    return rc;
}

/* ---- an anomaly's series, for its chart ------------------------------------------------ */

/* What the series endpoint needs of the stored anomaly (copied: the record is borrowed). */
struct which {
    char series[256], kind[64];
    kz_day day;
    int age;
};

static int keep_which(void *ctx, const kz_anomaly_rec *r)
{
    struct which *w = ctx;
    snprintf(w->series, sizeof w->series, "%s", r->series);
    snprintf(w->kind, sizeof w->kind, "%s", r->kind);
    w->day = r->day;
    w->age = r->age;
    return KZ_OK;
}

int kz_api_anomaly_series(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    int64_t id = path_id(req, resp), before, after;
    if (!id)
        return KZ_OK;
    if (kz_req_int(req, resp, "before", 0, 730, 60, &before) || kz_req_int(req, resp, "after", 0, 730, 14, &after))
        return KZ_OK;
    kz_store *st = kz_app_store(a);
    if (!st)
        return KZ_EIO;
    struct which wh;
    memset(&wh, 0, sizeof wh);
    int rc = kz_store_anomaly_get(st, id, keep_which, &wh);
    if (rc == KZ_ENOTFOUND)
        return kz_resp_error(resp, 404, NULL, "no anomaly %lld", (long long)id);
    if (rc)
        return rc;
    /* the anomaly's kind judged again, as the scorer does, with its series traced: every point, the
     * expected value and the usual range of each */
    kz_watch_opts w;
    kz_calendar holidays;
    kz_anomalies *found = NULL;
    kz_watch_series *ws = NULL;
    kz_metric_opts mo;
    kz_metric_opts_init(&mo);
    mo.tz = a->tz;
    rc = kz_findings_opts(&w, &holidays, a->cfg, wh.kind, 1);
    if (rc == KZ_EINVALID) {
        kz_findings_opts_free(&w, &holidays);
        return kz_resp_error(resp, 409, NULL, "anomaly %lld: its kind '%s' is no longer watched: %s", (long long)id,
                             wh.kind, kz_error_msg());
    }
    w.trace = wh.series;
    w.now = kz_now();
    if (!rc) {
        const kz_engine *e = kz_app_engine(a);
        rc = kz_watch_collect(&ws, e, &mo, &w);
        kz_app_engine_done(a);
    }
    if (!rc)
        rc = kz_watch_judge(&found, ws);
    kz_jw jw;
    kz_jw_init(&jw, &resp->body);
    if (!rc) {
        /* the points of the series, in order: `before` before the anomaly's, `after` after it */
        size_t at = SIZE_MAX, first = SIZE_MAX, n = 0;
        for (size_t i = 0; i < found->n; i++) {
            const kz_anomaly *p = &found->v[i];
            if (strcmp(p->series, wh.series) != 0)
                continue;
            if (first == SIZE_MAX)
                first = i;
            if (p->day == wh.day && p->age == wh.age)
                at = n;
            n++;
        }
        size_t lo = at == SIZE_MAX ? 0 : at > (size_t)before ? at - (size_t)before : 0;
        size_t hi = at == SIZE_MAX ? n : at + (size_t)after + 1;
        kz_jw_obj(&jw);
        kz_jw_key(&jw, "anomaly_id");
        kz_jw_int(&jw, id);
        kz_jw_key(&jw, "series");
        kz_jw_str(&jw, wh.series);
        kz_jw_key(&jw, "kind");
        kz_jw_str(&jw, wh.kind);
        kz_jw_key(&jw, "points");
        kz_jw_arr(&jw);
        size_t k = 0;
        for (size_t i = first == SIZE_MAX ? found->n : first; i < found->n; i++) {
            const kz_anomaly *p = &found->v[i];
            if (strcmp(p->series, wh.series) != 0)
                continue;
            if (k >= lo && k < hi) {
                kz_jw_obj(&jw);
                kz_jw_key(&jw, "date");
                kz_jw_date(&jw, p->day);
                kz_jw_key(&jw, "until");
                kz_jw_date(&jw, p->until);
                kz_jw_key(&jw, "observed");
                kz_jw_double(&jw, p->observed);
                kz_jw_key(&jw, "expected");
                kz_jw_double(&jw, p->expected);
                kz_jw_key(&jw, "low");
                kz_jw_double(&jw, p->low);
                kz_jw_key(&jw, "high");
                kz_jw_double(&jw, p->high);
                kz_jw_key(&jw, "abnormal");
                kz_jw_bool(&jw, p->flagged);
                kz_jw_key(&jw, "unit");
                kz_jw_str(&jw, p->unit);
                kz_jw_end(&jw);
            }
            k++;
        }
        kz_jw_end(&jw);
        kz_jw_end(&jw);
    }
    kz_anomalies_free(found);
    kz_watch_series_free(ws);
    kz_findings_opts_free(&w, &holidays);
    return rc ? rc : kz_resp_json_end(resp, &jw, 200);
}
