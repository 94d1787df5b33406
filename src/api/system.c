/*
 * system.c - GET /healthz and GET /metrics (Prometheus text format).
 */
#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "core/error.h"
#include "core/jsonw.h"

int kz_api_healthz(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    kz_store *st = kz_app_store(a);
    int64_t version = 0;
    int db_ok = st && kz_store_data_version(st, &version) == KZ_OK;
    const kz_engine *e = kz_app_engine(a);
    size_t accounts = kz_engine_accounts(e), events = kz_engine_events(e);
    kz_app_engine_done(a);
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "status");
    kz_jw_str(&w, db_ok ? "ok" : "failing");
    kz_jw_key(&w, "database");
    kz_jw_str(&w, db_ok ? "ok" : kz_error_msg());
    kz_jw_key(&w, "data_version");
    kz_jw_int(&w, version);
    kz_jw_key(&w, "accounts");
    kz_jw_int(&w, (int64_t)accounts);
    kz_jw_key(&w, "events");
    kz_jw_int(&w, (int64_t)events);
    kz_jw_end(&w);
    return kz_resp_json_end(resp, &w, db_ok ? 200 : 503);
}

int kz_api_prometheus(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    kz_server_stats s;
    memset(&s, 0, sizeof s);
    if (a->server)
        kz_server_stats_get(a->server, &s);
    const kz_engine *e = kz_app_engine(a);
    size_t bytes = kz_engine_bytes(e), events = kz_engine_events(e), accounts = kz_engine_accounts(e);
    kz_app_engine_done(a);
    kz_buf *b = &resp->body;
    int rc = a->server ? kz_server_prometheus(a->server, b) : KZ_OK;
    if (!rc)
        rc = kz_buf_printf(b,
                           "# HELP kizuna_http_requests_answered_total Requests answered.\n"
                           "# TYPE kizuna_http_requests_answered_total counter\n"
                           "kizuna_http_requests_answered_total %llu\n"
                           "# HELP kizuna_http_received_bytes_total Request body bytes.\n"
                           "# TYPE kizuna_http_received_bytes_total counter\n"
                           "kizuna_http_received_bytes_total %llu\n"
                           "# HELP kizuna_http_sent_bytes_total Response body bytes.\n"
                           "# TYPE kizuna_http_sent_bytes_total counter\n"
                           "kizuna_http_sent_bytes_total %llu\n"
                           "# HELP kizuna_engine_bytes Memory of the engine's columns.\n"
                           "# TYPE kizuna_engine_bytes gauge\n"
                           "kizuna_engine_bytes %zu\n"
                           "# HELP kizuna_engine_events Events in the engine.\n"
                           "# TYPE kizuna_engine_events gauge\n"
                           "kizuna_engine_events %zu\n"
                           "# HELP kizuna_engine_accounts Accounts in the engine.\n"
                           "# TYPE kizuna_engine_accounts gauge\n"
                           "kizuna_engine_accounts %zu\n"
                           "# HELP kizuna_anomalies_found_total Anomalies found that were not stored before.\n"
                           "# TYPE kizuna_anomalies_found_total counter\n"
                           "kizuna_anomalies_found_total %llu\n"
                           "# HELP kizuna_rule_firings_total Playbook rule firings recorded (acted on or dry runs).\n"
                           "# TYPE kizuna_rule_firings_total counter\n"
                           "kizuna_rule_firings_total %llu\n"
                           "# HELP kizuna_rule_passes_total Passes of the playbook rules (after each scoring).\n"
                           "# TYPE kizuna_rule_passes_total counter\n"
                           "kizuna_rule_passes_total %llu\n"
                           "# HELP kizuna_rule_replays_total Passes that replayed the stored events (the rules changed).\n"
                           "# TYPE kizuna_rule_replays_total counter\n"
                           "kizuna_rule_replays_total %llu\n"
                           "# HELP kizuna_rule_events_total Events the rules' matcher looked at.\n"
                           "# TYPE kizuna_rule_events_total counter\n"
                           "kizuna_rule_events_total %llu\n"
                           "# HELP kizuna_rule_seconds_total Time spent in passes of the rules.\n"
                           "# TYPE kizuna_rule_seconds_total counter\n"
                           "kizuna_rule_seconds_total %.6f\n",
                           (unsigned long long)s.requests, (unsigned long long)s.bytes_in,
                           (unsigned long long)s.bytes_out, bytes, events, accounts,
                           (unsigned long long)atomic_load(&a->anomalies_new),
                           (unsigned long long)atomic_load(&a->firings), (unsigned long long)atomic_load(&a->rule_passes),
                           (unsigned long long)atomic_load(&a->rule_replays), (unsigned long long)atomic_load(&a->rule_events),
                           (double)atomic_load(&a->rule_usec) / 1e6);
    kz_live_stats ls;
    memset(&ls, 0, sizeof ls);
    if (kz_app_live_begin(a) == KZ_OK) {
        kz_live_stats_get(a->live, &ls);
        kz_app_live_done(a);
    }
    if (!rc)
        rc = kz_buf_printf(b,
                           "# HELP kizuna_events_ingested_total Events stored through POST /api/v1/events.\n"
                           "# TYPE kizuna_events_ingested_total counter\n"
                           "kizuna_events_ingested_total %llu\n"
                           "# HELP kizuna_events_duplicate_total Posted events already stored (by event_id).\n"
                           "# TYPE kizuna_events_duplicate_total counter\n"
                           "kizuna_events_duplicate_total %llu\n"
                           "# HELP kizuna_events_rejected_total Posted events that were invalid.\n"
                           "# TYPE kizuna_events_rejected_total counter\n"
                           "kizuna_events_rejected_total %llu\n"
                           "# HELP kizuna_events_batches_total Batches handed to the events writer.\n"
                           "# TYPE kizuna_events_batches_total counter\n"
                           "kizuna_events_batches_total %llu\n"
                           "# HELP kizuna_events_commits_total Transactions of the events writer (one per group of batches).\n"
                           "# TYPE kizuna_events_commits_total counter\n"
                           "kizuna_events_commits_total %llu\n",
                           (unsigned long long)ls.stored, (unsigned long long)ls.duplicates,
                           (unsigned long long)ls.rejected, (unsigned long long)ls.batches,
                           (unsigned long long)ls.commits);
    resp->status = 200;
    resp->type = "text/plain; version=0.0.4";
    return rc;
}

int kz_api_openapi(kz_http_req *req, kz_http_resp *resp)
{
    (void)req;
    int rc = kz_buf_append(&resp->body, kz_openapi_doc, kz_openapi_doc_len);
    if (!rc)
        kz_resp_json(resp, 200);
    return rc;
}
