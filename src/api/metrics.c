/*
 * metrics.c - GET /api/v1/metrics (the reports) and GET
 * /api/v1/metrics/{report}: the same reports and options as `kizuna
 * metrics`, the options as query arguments (from, to, as_of, explain,
 * interval, window, revenue, matrix, wide, by_event, filter (repeatable),
 * segment, timezone), the answer the JSON of `--format json`.
 */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/table.h"
#include "engine/reports.h"
#include "engine/segment.h"

int kz_api_reports(kz_http_req *req, kz_http_resp *resp)
{
    size_t n;
    const kz_report *r = kz_reports(&n);
    kz_jw w;
    (void)req;
    kz_jw_init(&w, &resp->body);
    kz_jw_arr(&w);
    for (size_t i = 0; i < n; i++) {
        kz_jw_obj(&w);
        kz_jw_key(&w, "name");
        kz_jw_str(&w, r[i].name);
        kz_jw_key(&w, "summary");
        kz_jw_str(&w, r[i].summary);
        kz_jw_key(&w, "path");
        kz_buf p;
        kz_buf_init(&p, 256);
        kz_buf_printf(&p, "/api/v1/metrics/%s", r[i].name);
        kz_jw_str(&w, p.data);
        kz_buf_free(&p);
        kz_jw_end(&w);
    }
    kz_jw_end(&w);
    return kz_resp_json_end(resp, &w, 200);
}


#define MAX_FILTERS 16

int kz_api_report(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    const char *name = kz_req_param(req, "report");
    const kz_report *r = kz_report_find(name);
    kz_report_args ra = { 0 };
    kz_metric_opts mo;
    kz_metric_fn fn;
    kz_tz *tz = NULL;
    kz_segments *seg = NULL;
    kz_table *t = NULL;
    const char *filters[MAX_FILTERS];
    int rc = KZ_OK;
    if (!r)
        return kz_resp_error(resp, 404, NULL, "no report '%s' (GET /api/v1/metrics lists them)", name);
    ra.from = kz_req_query(req, "from");
    ra.to = kz_req_query(req, "to");
    ra.as_of = kz_req_query(req, "as_of");
    ra.explain = kz_req_query(req, "explain");
    ra.interval = kz_req_query(req, "interval");
    ra.window = kz_req_query(req, "window");
    ra.steps = kz_req_query(req, "steps");
    ra.within = kz_req_query(req, "within");
    ra.per = kz_req_query(req, "per");
    ra.revenue = kz_req_flag(req, "revenue");
    ra.matrix = kz_req_flag(req, "matrix");
    ra.wide = kz_req_flag(req, "wide");
    ra.by_event = kz_req_flag(req, "by_event");
    kz_metric_opts_init(&mo);
    if (kz_report_options(r, &ra, "", &mo, &fn))
        return kz_resp_error(resp, 400, NULL, "%s", kz_error_msg());
    kz_report_config(a->cfg, &mo);
    const char *zone = kz_req_query(req, "timezone");
    if (zone && kz_tz_load(&tz, zone))
        return kz_resp_error(resp, 400, "timezone", "timezone: %s", kz_error_msg());
    mo.tz = tz ? tz : a->tz;
    size_t nf = kz_req_query_all(req, "filter", filters, MAX_FILTERS);
    const char *segment = kz_req_query(req, "segment");
    if (nf > MAX_FILTERS) {
        kz_tz_free(tz);
        return kz_resp_error(resp, 400, "filter", "at most %d filters", MAX_FILTERS);
    }
    const kz_engine *e = kz_app_engine(a);
    if (mo.obs == KZ_DAY_NONE && kz_engine_last_day(e, mo.tz) == KZ_DAY_NONE)
        mo.obs = (kz_day)kz_tz_day(mo.tz, kz_now() / KZ_USEC_PER_SEC); /* no events: as of today */
    if (nf || segment) {
        kz_store *st = kz_app_store(a);
        if (!st) {
            rc = KZ_EIO;
            goto done;
        }
        if (kz_segments_build(&seg, st, e, mo.obs != KZ_DAY_NONE ? mo.obs : kz_engine_last_day(e, mo.tz), filters,
                              nf, segment)) {
            if (kz_error_code() == KZ_EINVALID)
                kz_resp_error(resp, 400, nf ? "filter" : "segment", "%s", kz_error_msg());
            else
                rc = kz_error_code();
            goto done;
        }
    }
    if ((rc = kz_metric_segmented(&t, fn, e, &mo, seg)))
        goto done;
    if ((rc = kz_table_json(t, &resp->body)))
        goto done;
    kz_resp_json(resp, 200);
done:
    kz_app_engine_done(a);
    kz_table_free(t);
    kz_segments_free(seg);
    kz_tz_free(tz);
    return rc;
}
