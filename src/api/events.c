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
#include <strings.h>
#include <string.h>

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

static int flag(const kz_http_req *req, const char *name)
{
    const char *v = kz_req_query(req, name);
    return v && (!*v || strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
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
    kz_buf_putc(&resp->body, '\n');
    kz_resp_json(resp, status);
    return kz_jw_error(&w);
}

int kz_api_events_post(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    kz_live_result r;
    int strict = flag(req, "strict");
    kz_live_format f = is_ndjson(kz_req_header(req, "Content-Type")) ? KZ_LIVE_NDJSON : KZ_LIVE_JSON;
    int rc = kz_live_post(a->live, req->body, req->body_len, f, strict, &r);
    if (rc == KZ_EINVALID) {
        kz_live_result_free(&r);
        return kz_resp_error(resp, 400, NULL, "%s", kz_error_msg());
    }
    if (rc == KZ_ETOOBIG) {
        kz_live_result_free(&r);
        return kz_resp_error(resp, 413, NULL, "%s", kz_error_msg());
    }
    if (rc) {
        char msg[600];
        snprintf(msg, sizeof msg, "the events were not stored (%s); nothing of the batch is kept, send it again",
                 kz_error_msg());
        kz_live_result_free(&r);
        kz_resp_error(resp, 503, NULL, "%s", msg);
        return kz_resp_header(resp, "Retry-After", "1");
    }
    char msg[200];
    if (r.rejected && strict) {
        snprintf(msg, sizeof msg, "%zu of %zu events are invalid; with strict=1 nothing was stored", r.rejected,
                 r.received);
        rc = write_result(resp, 400, &r, msg);
    } else if (r.received == 0) {
        rc = write_result(resp, 400, &r, "the batch has no events");
    } else if (r.rejected == r.received) {
        snprintf(msg, sizeof msg, "none of the %zu events is valid; nothing was stored", r.received);
        rc = write_result(resp, 400, &r, msg);
    } else {
        rc = write_result(resp, 200, &r, NULL);
    }
    if (!rc && r.accepted) {
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)r.data_version);
        rc = kz_resp_header(resp, "X-Kizuna-Data-Version", v);
    }
    kz_live_result_free(&r);
    return rc;
}
