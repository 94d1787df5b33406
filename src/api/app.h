/*
 * app.h - what the handlers of src/api/ share: the configuration, the engine
 * (behind a read-write lock: reports read it, ingestion will write it) and a
 * store handle per server thread.
 */
#ifndef KZ_API_APP_H
#define KZ_API_APP_H

#include <pthread.h>
#include <stdatomic.h>

#include "api/api.h"
#include "api/auth.h"
#include "core/time.h"
#include "core/tz.h"
#include "engine/engine.h"
#include "engine/scores.h"
#include "ingest/live.h"
#include "rules/run.h"
#include "store/store.h"

#define KZ_LIMIT_SLOTS 256

/* The accounts' names, domains, industries and owners by engine account
 * index, for the account list (accounts.c). */
typedef struct kz_directory kz_directory;
int kz_directory_build(kz_directory **out, kz_store *st, const kz_engine *e);
void kz_directory_free(kz_directory *d);

/* Who calls (req->user, set by kz_api_authorize). */
typedef struct kz_api_user {
    kz_user user;
    int level;               /* KZ_ROLE_* */
    char session_hash[72];   /* when logged in by a session cookie */
    char csrf[KZ_TOKEN_TEXT]; /* and that session's CSRF token ("" for a token) */
} kz_api_user;

struct kz_app {
    const kz_config *cfg;
    kz_tz *tz;                  /* reporting.timezone */
    pthread_rwlock_t lock;      /* over engine (prefers the writer: ingestion waits for no queue of reports) */
    kz_engine *engine;
    char *image;                /* the engine's image file */
    kz_live *live;              /* POST /api/v1/events; its writer thread is the only one that changes engine */
    pthread_mutex_t live_mu;    /* over live_users and live_closing */
    pthread_cond_t live_idle;
    int live_users;             /* handlers inside a kz_live call */
    int live_closing;           /* kz_app_stop_events began: no more kz_live calls */
    kz_store *refresh_store;    /* the writer thread's handle for rebuilding the engine */
    kz_directory *directory;    /* under lock, made with engine */
    kz_scores *scores;          /* under lock: every account's health and churn risk; NULL until first made */
    /* the scorer thread: scores again a while after the data changed */
    pthread_t scorer;
    int scorer_started;
    pthread_mutex_t score_mu;
    pthread_cond_t score_cv;
    int score_dirty, score_stop;
    double dirty_since, dirty_last; /* monotonic seconds of the first and the last change not yet scored */
    double max_delay;           /* scores.max_delay_seconds (under score_mu: reloadable) */
    kz_store *score_store;      /* the scorer's handle */
    uint64_t rebuilds;          /* engines put in place by on_changed (under lock): account indices may differ */
    /* the anomalies, looked for by the scorer thread (its fields) when a day
     * has ended, the engine was rebuilt, or an hour has passed */
    int anomalies_done;         /* looked for at least once */
    uint64_t anomalies_rebuilds; /* rebuilds when last looked for */
    kz_day anomalies_day;       /* the last day judged then */
    double anomalies_at;        /* monotonic seconds of the last look */
    _Atomic uint64_t anomalies_new; /* anomalies found that were not stored before */
    _Atomic int64_t anomalies_judged_at; /* kz_time of the last look that judged every series (0: none yet) */
    _Atomic int32_t anomalies_judged_day; /* the last day judged then (KZ_DAY_NONE: none) */
    /* playbooks, run by the scorer thread (its fields) after each scoring */
    kz_rules_live *rules;       /* the live matcher: fed each commit's events (on_apply), run by the scorer */
    kz_time next_delivery;      /* when the earliest waiting delivery is due (0: none waits) */
    _Atomic uint64_t firings;   /* firings recorded by this server */
    _Atomic uint64_t rule_passes, rule_replays, rule_events, rule_usec; /* passes, of them replays, events matched, time */
    _Atomic uint64_t generation; /* raised whenever engine, directory or scores change (under the write lock) */
    pthread_key_t store_key;    /* this thread's kz_store */
    pthread_mutex_t stores_mu;  /* over the list of opened stores */
    kz_store **stores;
    size_t nstores, capstores;
    kz_server *server;
    pthread_mutex_t limit_mu;   /* over limits */
    struct {
        char key[96];
        kz_time since;
        int count;
    } limits[KZ_LIMIT_SLOTS];   /* failed logins by address and by user */
    char *dummy_hash;           /* checked when a user does not exist, so timing tells nothing */
};

/* This thread's store handle, opened on first use; NULL (kz_error_msg says
 * why) when the database cannot be opened. */
kz_store *kz_app_store(kz_app *a);

/* A handler's use of a->live: 0 to go on (then kz_app_live_done), or
 * KZ_ECONFLICT when the server is stopping. */
int kz_app_live_begin(kz_app *a);
void kz_app_live_done(kz_app *a);

/* After a handler changed accounts, subscriptions, tickets or the like: waits
 * until the engine (and the events writer's accounts) show the change. */
int kz_app_changed(kz_app *a);

/* Asks the scorer to score every account again (after a change). */
void kz_app_rescore(kz_app *a);

/* The engine, under the read lock until kz_app_engine_done. The directory
 * and the scores of the app go with it. */
const kz_engine *kz_app_engine(kz_app *a);
void kz_app_engine_done(kz_app *a);

/* The check of every request (kz_server_opts.authorize) and its release. */
int kz_api_authorize(kz_http_req *req, const kz_route *route, kz_http_resp *resp);
void kz_api_release(kz_http_req *req);

/* Writes the audit log: the caller (req->user), an action, its target. */
int kz_api_audit(kz_http_req *req, const char *action, const char *target, const char *detail);

/* Handlers, one file per resource. */
int kz_api_login(kz_http_req *req, kz_http_resp *resp);
int kz_api_logout(kz_http_req *req, kz_http_resp *resp);
int kz_api_me(kz_http_req *req, kz_http_resp *resp);
int kz_api_session(kz_http_req *req, kz_http_resp *resp);
int kz_api_anomaly_series(kz_http_req *req, kz_http_resp *resp);
int kz_api_users(kz_http_req *req, kz_http_resp *resp);
int kz_api_user_add(kz_http_req *req, kz_http_resp *resp);
int kz_api_user_change(kz_http_req *req, kz_http_resp *resp);
int kz_api_user_remove(kz_http_req *req, kz_http_resp *resp);
int kz_api_token_issue(kz_http_req *req, kz_http_resp *resp);
int kz_api_token_revoke(kz_http_req *req, kz_http_resp *resp);
int kz_api_audit_list(kz_http_req *req, kz_http_resp *resp);
int kz_api_healthz(kz_http_req *req, kz_http_resp *resp);
int kz_api_prometheus(kz_http_req *req, kz_http_resp *resp);
int kz_api_openapi(kz_http_req *req, kz_http_resp *resp);
int kz_api_reports(kz_http_req *req, kz_http_resp *resp);
int kz_api_report(kz_http_req *req, kz_http_resp *resp);
int kz_api_events_post(kz_http_req *req, kz_http_resp *resp);
int kz_api_row_add(kz_http_req *req, kz_http_resp *resp);
int kz_api_row_get(kz_http_req *req, kz_http_resp *resp);
int kz_api_row_change(kz_http_req *req, kz_http_resp *resp);
int kz_api_row_remove(kz_http_req *req, kz_http_resp *resp);
int kz_api_spend_list(kz_http_req *req, kz_http_resp *resp);
int kz_api_import(kz_http_req *req, kz_http_resp *resp);
int kz_api_accounts(kz_http_req *req, kz_http_resp *resp);
int kz_api_renewals(kz_http_req *req, kz_http_resp *resp);
int kz_api_health(kz_http_req *req, kz_http_resp *resp);
int kz_api_health_define(kz_http_req *req, kz_http_resp *resp);
int kz_api_health_backtest(kz_http_req *req, kz_http_resp *resp);
int kz_api_account_health(kz_http_req *req, kz_http_resp *resp);
int kz_api_churn_models(kz_http_req *req, kz_http_resp *resp);
int kz_api_churn_evaluation(kz_http_req *req, kz_http_resp *resp);
int kz_api_churn_predictions(kz_http_req *req, kz_http_resp *resp);
int kz_api_account(kz_http_req *req, kz_http_resp *resp);
int kz_api_anomalies(kz_http_req *req, kz_http_resp *resp);
int kz_api_anomaly(kz_http_req *req, kz_http_resp *resp);
int kz_api_anomaly_change(kz_http_req *req, kz_http_resp *resp);

/* Appends the rows of entity e of account account_id (internal id), the
 * newest first, at most limit, as a JSON array of import objects. */
int kz_api_rows_of_account(kz_store *st, kz_entity e, int64_t account_id, int64_t limit, kz_buf *out);

#endif
