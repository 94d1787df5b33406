/*
 * anomalies.c - GET /api/v1/anomalies[/{id}] and PATCH /api/v1/anomalies/{id}:
 * the anomalies the scorer thread found and stored (engine/findings.h), and
 * their state.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/text.h"
#include "core/time.h"
#include "engine/findings.h"

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
    const char *state = kz_req_query(req, "state"), *series = kz_req_query(req, "series");
    kz_day from, to;
    if (kz_req_date(req, resp, "from", &from) || kz_req_date(req, resp, "to", &to))
        return KZ_OK;
    if (state && !valid_state(state))
        return kz_resp_error(resp, 400, "state", "state must be open, acknowledged or resolved");
    if (from != KZ_DAY_NONE && to != KZ_DAY_NONE && from > to)
        return kz_resp_error(resp, 400, "from", "from is after to");
    kz_store *st = kz_app_store(req->app);
    if (!st)
        return KZ_EIO;
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "anomalies");
    kz_jw_arr(&w);
    int rc = kz_store_anomalies_each(st, from != KZ_DAY_NONE ? from : INT32_MIN, to != KZ_DAY_NONE ? to : INT32_MAX,
                                     state, series, each_json, &w);
    if (rc)
        return rc;
    kz_jw_end(&w);
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
