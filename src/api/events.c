/*
 * events.c - POST /api/v1/events: product events as they happen, in
 * batches (ingest/live.h does the work; this file speaks HTTP).
 *
 * The body is a JSON array of events, one event object, {"batch": [...]}
 * (the batch call of analytics libraries), or NDJSON with Content-Type
 * application/x-ndjson. The answer says what became of every event:
 *   200 {"received", "accepted", "duplicates", "rejected", "errors": [...]}
 *       the good events are stored durably and visible to reports;
 *   400 the body is not a batch, every event was bad, or (?strict=1) one
 *       was: nothing stored, "errors" lists them by index;
 *   413 more events than ingest.max_batch_events; 503 the database could
 *       not store them (nothing stored: send the batch again).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "core/error.h"
#include "core/jsonw.h"

static int is_ndjson(const char *type)
{
    if (!type)
        return 0;
    size_t n = strcspn(type, "; ");
    return (n == 20 && strncasecmp(type, "application/x-ndjson", n) == 0) ||
           (n == 18 && strncasecmp(type, "application/ndjson", n) == 0) ||
           (n == 20 && strncasecmp(type, "application/jsonlines", n) == 0) ||
           (n == 19 && strncasecmp(type, "application/x-jsonlines", n) == 0);
}


/* The counts and the rejected events; with message, inside an error answer. */
static int write_result(kz_http_resp *resp, int status, const kz_live_result *r, const char *message)
{
    kz_jw w;
    resp->body.len = 0;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    if (message) {
        kz_jw_key(&w, "error");
        kz_jw_obj(&w);
        kz_jw_key(&w, "status");
        kz_jw_int(&w, status);
        kz_jw_key(&w, "message");
        kz_jw_str(&w, message);
        kz_jw_end(&w);
    }
    kz_jw_key(&w, "received");
    kz_jw_int(&w, (int64_t)r->received);
    kz_jw_key(&w, "accepted");
    kz_jw_int(&w, (int64_t)r->accepted);
    kz_jw_key(&w, "duplicates");
    kz_jw_int(&w, (int64_t)r->duplicates);
    kz_jw_key(&w, "rejected");
    kz_jw_int(&w, (int64_t)r->rejected);
    kz_jw_key(&w, "errors");
    kz_jw_arr(&w);
    for (size_t i = 0; i < r->nrejects; i++) {
        kz_jw_obj(&w);
        kz_jw_key(&w, "index");
        kz_jw_int(&w, (int64_t)r->rejects[i].index);
        kz_jw_key(&w, "field");
        kz_jw_str(&w, r->rejects[i].field);
        kz_jw_key(&w, "message");
        kz_jw_str(&w, r->rejects[i].message);
        kz_jw_end(&w);
    }
    kz_jw_end(&w);
    if (r->nrejects < r->rejected) {
        kz_jw_key(&w, "errors_truncated");
        kz_jw_bool(&w, 1);
    }
    kz_jw_end(&w);
    return kz_resp_json_end(resp, &w, status);
}

/* The answer to a batch: rc and msg from the writer (or the reading). */
static int answer_batch(kz_http_resp *resp, int rc, const char *msg, kz_live_result *r, int strict)
{
    if (rc == KZ_EINVALID)
        return kz_resp_error(resp, 400, NULL, "%s", msg);
    if (rc == KZ_ETOOBIG)
        return kz_resp_error(resp, 413, NULL, "%s", msg);
    if (rc) {
        kz_resp_error(resp, 503, NULL, "the events were not stored (%s); nothing of the batch is kept, send it again",
                      msg);
        return kz_resp_header(resp, "Retry-After", "1");
    }
    char m[200];
    if (r->rejected && strict) {
        snprintf(m, sizeof m, "%zu of %zu events are invalid; with strict=1 nothing was stored", r->rejected,
                 r->received);
        rc = write_result(resp, 400, r, m);
    } else if (r->received == 0) {
        rc = write_result(resp, 400, r, "the batch has no events");
    } else if (r->rejected == r->received) {
        snprintf(m, sizeof m, "none of the %zu events is valid; nothing was stored", r->received);
        rc = write_result(resp, 400, r, m);
    } else {
        rc = write_result(resp, 200, r, NULL);
    }
    if (!rc && r->accepted) {
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)r->data_version);
        rc = kz_resp_header(resp, "X-Kizuna-Data-Version", v);
    }
    return rc;
}

/* The writer has stored the batch: answer the connection that waits. */
static void on_stored(void *ctx, int rc, const char *msg, kz_live_result *r)
{
    kz_http_later *l = ctx;
    kz_http_resp resp;
    memset(&resp, 0, sizeof resp);
    kz_buf_init(&resp.body, KZ_BUF_UNLIMITED);
    if (answer_batch(&resp, rc, msg, r, 0) || resp.status == 0) {
        kz_buf_free(&resp.body);
        for (size_t i = 0; i < resp.nheaders; i++)
            free(resp.header_value[i]);
        memset(&resp, 0, sizeof resp);
        kz_buf_init(&resp.body, KZ_BUF_UNLIMITED);
        kz_resp_error(&resp, 500, NULL, "internal error");
    }
    kz_http_later_answer(l, &resp);
}

int kz_api_events_post(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    kz_live_result r;
    int strict = kz_req_flag(req, "strict"), queued = 0;
    kz_live_format f = is_ndjson(kz_req_header(req, "Content-Type")) ? KZ_LIVE_NDJSON : KZ_LIVE_JSON;
    /* the answer comes when the writer has stored the batch, without a thread waiting */
    if (kz_app_live_begin(a)) {
        kz_resp_error(resp, 503, NULL, "the server is stopping: send the batch again to the next one");
        return kz_resp_header(resp, "Retry-After", "1");
    }
    kz_http_later *l = kz_req_later(req);
    int rc = kz_live_submit(a->live, req->body, req->body_len, f, strict, on_stored, l, &r, &queued);
    kz_app_live_done(a);
    if (queued)
        return KZ_OK;
    kz_http_later_cancel(l);
    char msg[600];
    snprintf(msg, sizeof msg, "%s", rc ? kz_error_msg() : "");
    rc = answer_batch(resp, rc, msg, &r, strict);
    kz_live_result_free(&r);
    return rc;
}
