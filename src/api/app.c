/*
 * app.c - the state the API handlers share (app.h), and the route table.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include "api/app.h"

#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "core/error.h"
#include "core/log.h"
#include "core/time.h"

static const kz_route routes[] = {
    { "GET", "/healthz", kz_api_healthz, KZ_ROLE_PUBLIC, "liveness and a check of the database" },
    { "GET", "/metrics", kz_api_prometheus, KZ_ROLE_PUBLIC, "the server's counters in Prometheus text format" },
    { "POST", "/api/v1/login", kz_api_login, KZ_ROLE_PUBLIC,
      "log in with {name, password}: a session cookie, and the CSRF token for changes" },
    { "POST", "/api/v1/logout", kz_api_logout, KZ_ROLE_VIEWER, "end the session" },
    { "GET", "/api/v1/me", kz_api_me, KZ_ROLE_VIEWER, "who is calling" },
    { "GET", "/api/v1/users", kz_api_users, KZ_ROLE_ADMIN, "the users" },
    { "POST", "/api/v1/users", kz_api_user_add, KZ_ROLE_ADMIN, "a new user: {name, role, password?}" },
    { "PATCH", "/api/v1/users/{name}", kz_api_user_change, KZ_ROLE_ADMIN, "a user's new role or password" },
    { "DELETE", "/api/v1/users/{name}", kz_api_user_remove, KZ_ROLE_ADMIN, "remove a user" },
    { "POST", "/api/v1/users/{name}/tokens", kz_api_token_issue, KZ_ROLE_ADMIN,
      "a new API token for the user (shown once)" },
    { "DELETE", "/api/v1/users/{name}/tokens", kz_api_token_revoke, KZ_ROLE_ADMIN,
      "revoke the user's tokens (?prefix= for one)" },
    { "GET", "/api/v1/audit", kz_api_audit_list, KZ_ROLE_ADMIN, "the audit log, newest first (?limit, ?before)" },
    { "POST", "/api/v1/events", kz_api_events_post, KZ_ROLE_CSM,
      "product events: a JSON array, one event, {batch: [...]} or NDJSON; Kizuna's keys or analytics track calls" },
    { "GET", "/api/v1/metrics", kz_api_reports, KZ_ROLE_VIEWER, "the reports there are" },
    { "GET", "/api/v1/metrics/{report}", kz_api_report, KZ_ROLE_VIEWER,
      "a report, with the options of `kizuna metrics` as query arguments" },
};

kz_api_authorize_t kz_api_authorize_fn(void)
{
    return kz_api_authorize;
}

void (*kz_api_release_fn(void))(kz_http_req *req)
{
    return kz_api_release;
}

const kz_route *kz_api_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}

/* ---- the engine and live events: hooks of the events writer (its thread) ---- */

static int on_prepare(void *ctx, const kz_evcols *ev, uint32_t max_name)
{
    kz_app *a = ctx;
    pthread_rwlock_wrlock(&a->lock);
    int rc = kz_engine_live_prepare(a->engine, ev, max_name);
    pthread_rwlock_unlock(&a->lock);
    return rc;
}

static void on_apply(void *ctx, const kz_evcols *ev, const kz_live_name *names, size_t nnames)
{
    kz_app *a = ctx;
    pthread_rwlock_wrlock(&a->lock);
    for (size_t i = 0; i < nnames; i++)
        if (kz_engine_live_name(a->engine, names[i].id, names[i].name, names[i].n))
            KZ_LOG(KZ_LOG_WARN, "engine: an event name is not shown", "id=%u reason=\"%s\"", (unsigned)names[i].id,
                   kz_error_msg());
    size_t skipped = kz_engine_live_append(a->engine, ev);
    pthread_rwlock_unlock(&a->lock);
    if (skipped)
        KZ_LOG(KZ_LOG_WARN, "engine: live events of accounts it does not have", "events=%zu", skipped);
}

/* Another writer changed the database: a new engine, its events read again
 * from the store when they changed, else taken over from the old one. */
static void on_changed(void *ctx, int events)
{
    kz_app *a = ctx;
    kz_engine *fresh = NULL;
    double t0 = kz_monotonic();
    int rc = kz_engine_build(&fresh, a->refresh_store, events ? KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS
                                                              : KZ_ENGINE_SUBSCRIPTIONS,
                             events ? a->image : NULL);
    pthread_rwlock_wrlock(&a->lock);
    if (!rc && !events)
        rc = kz_engine_adopt_events(fresh, a->engine);
    if (!rc) {
        kz_engine *old = a->engine;
        a->engine = fresh;
        fresh = old;
    }
    pthread_rwlock_unlock(&a->lock);
    kz_engine_free(fresh);
    if (rc)
        KZ_LOG(KZ_LOG_ERROR, "engine: not rebuilt after a change (reports show the state before it)",
               "reason=\"%s\"", kz_error_msg());
    else
        KZ_LOG(KZ_LOG_INFO, "engine: rebuilt after a change", "events=%d seconds=%.3f", events, kz_monotonic() - t0);
}

int kz_app_open(kz_app **out, const kz_config *cfg)
{
    kz_app *a = calloc(1, sizeof *a);
    kz_store *st = NULL;
    int rc;
    *out = NULL;
    if (!a)
        return kz_error_oom();
    a->cfg = cfg;
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&a->lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&a->stores_mu, NULL);
    pthread_mutex_init(&a->limit_mu, NULL);
    if (pthread_key_create(&a->store_key, NULL) != 0) {
        free(a);
        return kz_error_set(KZ_ERROR, "no thread key");
    }
    if ((rc = kz_tz_load(&a->tz, cfg->reporting_timezone)) || (rc = kz_auth_init()))
        goto done;
    {
        /* the hash a login of an unknown user is checked against */
        char secret[KZ_TOKEN_TEXT];
        kz_auth_new_secret(secret, 0);
        if ((rc = kz_auth_hash_password(&a->dummy_hash, secret)))
            goto done;
    }
    if ((rc = kz_store_open(&st, cfg->db_path, KZ_STORE_CREATE)))
        goto done;
    a->image = kz_engine_image_path(st);
    if (!a->image) {
        rc = KZ_ENOMEM;
        goto done;
    }
    if ((rc = kz_engine_build(&a->engine, st, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS, a->image)))
        goto done;
    a->refresh_store = st;
    st = NULL;
    kz_live_opts lo;
    memset(&lo, 0, sizeof lo);
    lo.max_events = (size_t)cfg->ingest_max_batch;
    lo.max_field = (size_t)cfg->import_max_field;
    lo.block_events = (size_t)cfg->import_block_events;
    lo.hooks.ctx = a;
    lo.hooks.prepare = on_prepare;
    lo.hooks.apply = on_apply;
    lo.hooks.changed = on_changed;
    rc = kz_live_open(&a->live, cfg->db_path, &lo);
done:
    kz_store_close(st);
    if (rc) {
        kz_app_close(a);
        return rc;
    }
    *out = a;
    return KZ_OK;
}

void kz_app_close(kz_app *a)
{
    if (!a)
        return;
    kz_live_close(a->live); /* stores what is queued first */
    for (size_t i = 0; i < a->nstores; i++)
        kz_store_close(a->stores[i]);
    free(a->stores);
    pthread_key_delete(a->store_key);
    kz_store_close(a->refresh_store);
    kz_engine_free(a->engine);
    free(a->image);
    kz_tz_free(a->tz);
    pthread_rwlock_destroy(&a->lock);
    pthread_mutex_destroy(&a->stores_mu);
    pthread_mutex_destroy(&a->limit_mu);
    free(a->dummy_hash);
    free(a);
}

int kz_app_changed(kz_app *a)
{
    return kz_live_sync(a->live);
}

void kz_app_set_server(kz_app *a, kz_server *s)
{
    a->server = s;
}

kz_store *kz_app_store(kz_app *a)
{
    kz_store *st = pthread_getspecific(a->store_key);
    if (st)
        return st;
    if (kz_store_open(&st, a->cfg->db_path, 0))
        return NULL;
    pthread_mutex_lock(&a->stores_mu);
    if (a->nstores == a->capstores) {
        size_t n = a->capstores ? a->capstores * 2 : 8;
        kz_store **v = realloc(a->stores, n * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&a->stores_mu);
            kz_store_close(st);
            kz_error_oom();
            return NULL;
        }
        a->stores = v;
        a->capstores = n;
    }
    a->stores[a->nstores++] = st; /* closed with the app */
    pthread_mutex_unlock(&a->stores_mu);
    pthread_setspecific(a->store_key, st);
    return st;
}

const kz_engine *kz_app_engine(kz_app *a)
{
    pthread_rwlock_rdlock(&a->lock);
    return a->engine;
}

void kz_app_engine_done(kz_app *a)
{
    pthread_rwlock_unlock(&a->lock);
}
