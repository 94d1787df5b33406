/*
 * app.h - what the handlers of src/api/ share: the configuration, the engine
 * (behind a read-write lock: reports read it, ingestion will write it) and a
 * store handle per server thread.
 */
#ifndef KZ_API_APP_H
#define KZ_API_APP_H

#include <pthread.h>

#include "api/api.h"
#include "core/tz.h"
#include "engine/engine.h"
#include "store/store.h"

struct kz_app {
    const kz_config *cfg;
    kz_tz *tz;                  /* reporting.timezone */
    pthread_rwlock_t lock;      /* over engine */
    kz_engine *engine;
    pthread_key_t store_key;    /* this thread's kz_store */
    pthread_mutex_t stores_mu;  /* over the list of opened stores */
    kz_store **stores;
    size_t nstores, capstores;
    kz_server *server;
};

/* This thread's store handle, opened on first use; NULL (kz_error_msg says
 * why) when the database cannot be opened. */
kz_store *kz_app_store(kz_app *a);

/* The engine, under the read lock until kz_app_engine_done. */
const kz_engine *kz_app_engine(kz_app *a);
void kz_app_engine_done(kz_app *a);

/* Handlers, one file per resource. */
int kz_api_healthz(kz_http_req *req, kz_http_resp *resp);
int kz_api_prometheus(kz_http_req *req, kz_http_resp *resp);
int kz_api_reports(kz_http_req *req, kz_http_resp *resp);
int kz_api_report(kz_http_req *req, kz_http_resp *resp);

#endif
