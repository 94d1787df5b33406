/*
 * api.h - the REST API (/api/v1/...) over the engine and the store: one
 * route table, one file per resource (metrics.c, system.c, ...). The CLI and
 * the API are two thin clients of the same module functions.
 */
#ifndef KZ_API_API_H
#define KZ_API_API_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "http/http.h"
#include "http/server.h"

typedef struct kz_app kz_app;

/* Opens the database of cfg and builds the engine (read from its image file
 * when current). Caller closes with kz_app_close. */
int kz_app_open(kz_app **out, const kz_config *cfg);
void kz_app_close(kz_app *a);

/* Applies what may change while serving (ingest.max_batch_events,
 * scores.max_delay_seconds) from a reloaded configuration. */
int kz_app_reload(kz_app *a, const kz_config *fresh);

/* The token of the state of the data the cached answers came from
 * (kz_server_opts.cache_token; app is the kz_app). */
uint64_t kz_app_cache_token(void *app);

/* The caller's user name (for the access log), "" when nobody logged in. */
const char *kz_api_user_name(const kz_http_req *req);

/* The first step of stopping: refuses new batches of events (503), waits
 * for the handlers inside the events writer, then stores and answers every
 * queued batch and stops the writer. The server must still run (the
 * answers go out through it). */
void kz_app_stop_events(kz_app *a);

/* The server the app answers on (for GET /metrics), once started. */
void kz_app_set_server(kz_app *a, kz_server *s);

/* The check of each request and its release, for kz_server_opts. */
typedef int (*kz_api_authorize_t)(kz_http_req *req, const kz_route *route, kz_http_resp *resp);
kz_api_authorize_t kz_api_authorize_fn(void);
void (*kz_api_release_fn(void))(kz_http_req *req);

/* docs/openapi.yaml, embedded at build time (without its comment lines):
 * JSON text of kz_openapi_doc_len bytes, NUL-terminated. */
extern const unsigned char kz_openapi_doc[];
extern const size_t kz_openapi_doc_len;

/* Playbooks (playbooks.c): rules, their firings and deliveries, tasks, an
 * account's timeline and the playbook documents. */
int kz_api_rules(kz_http_req *req, kz_http_resp *resp);
int kz_api_rule_put(kz_http_req *req, kz_http_resp *resp);
int kz_api_rule(kz_http_req *req, kz_http_resp *resp);
int kz_api_rule_change(kz_http_req *req, kz_http_resp *resp);
int kz_api_rule_remove(kz_http_req *req, kz_http_resp *resp);
int kz_api_rule_backtest(kz_http_req *req, kz_http_resp *resp);
int kz_api_firings(kz_http_req *req, kz_http_resp *resp);
int kz_api_deliveries(kz_http_req *req, kz_http_resp *resp);
int kz_api_tasks(kz_http_req *req, kz_http_resp *resp);
int kz_api_task_add(kz_http_req *req, kz_http_resp *resp);
int kz_api_task(kz_http_req *req, kz_http_resp *resp);
int kz_api_task_change(kz_http_req *req, kz_http_resp *resp);
int kz_api_account_timeline(kz_http_req *req, kz_http_resp *resp);
int kz_api_playbooks(kz_http_req *req, kz_http_resp *resp);
int kz_api_playbook(kz_http_req *req, kz_http_resp *resp);

/* The routes of the API, for kz_server_start. */
const kz_route *kz_api_routes(size_t *n);

#endif
