/*
 * app.c - the state the API handlers share (app.h), and the route table.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include "api/app.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/auth.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/time.h"
#include "engine/findings.h"
#include "engine/watch.h"
#include "rules/act.h"
#include "rules/run.h"

static const kz_route routes[] = {
    { "GET", "/healthz", kz_api_healthz, KZ_ROLE_PUBLIC, "liveness and a check of the database", 0 },
    { "GET", "/metrics", kz_api_prometheus, KZ_ROLE_PUBLIC, "the server's counters in Prometheus text format", 0 },
    { "GET", "/api/v1/openapi.json", kz_api_openapi, KZ_ROLE_PUBLIC, "this document, as JSON", 0 },
    { "POST", "/api/v1/login", kz_api_login, KZ_ROLE_PUBLIC,
      "log in with {name, password}: a session cookie, and the CSRF token for changes", 0 },
    { "POST", "/api/v1/logout", kz_api_logout, KZ_ROLE_VIEWER, "end the session", 0 },
    { "GET", "/api/v1/me", kz_api_me, KZ_ROLE_VIEWER, "who is calling", 0 },
    { "GET", "/api/v1/session", kz_api_session, KZ_ROLE_PUBLIC,
      "the browser's session, if any (always 200), and how to show numbers", 0 },
    { "GET", "/api/v1/users", kz_api_users, KZ_ROLE_ADMIN, "the users", 0 },
    { "POST", "/api/v1/users", kz_api_user_add, KZ_ROLE_ADMIN, "a new user: {name, role, password?}", 0 },
    { "PATCH", "/api/v1/users/{name}", kz_api_user_change, KZ_ROLE_ADMIN, "a user's new role or password", 0 },
    { "DELETE", "/api/v1/users/{name}", kz_api_user_remove, KZ_ROLE_ADMIN, "remove a user", 0 },
    { "POST", "/api/v1/users/{name}/tokens", kz_api_token_issue, KZ_ROLE_ADMIN,
      "a new API token for the user (shown once)", 0 },
    { "DELETE", "/api/v1/users/{name}/tokens", kz_api_token_revoke, KZ_ROLE_ADMIN,
      "revoke the user's tokens (?prefix= for one)", 0 },
    { "GET", "/api/v1/audit", kz_api_audit_list, KZ_ROLE_ADMIN, "the audit log, newest first (?limit, ?before)", 0 },
    { "POST", "/api/v1/events", kz_api_events_post, KZ_ROLE_CSM,
      "product events: a JSON array, one event, {batch: [...]} or NDJSON; Kizuna's keys or analytics track calls", 0 },
    { "GET", "/api/v1/accounts", kz_api_accounts, KZ_ROLE_VIEWER,
      "accounts: search (q), filters (owner, industry, plan, band, paying, filter), sort, limit, offset", KZ_CACHE },
    { "GET", "/api/v1/renewals", kz_api_renewals, KZ_ROLE_VIEWER,
      "the renewals within N days (within, default 90), by month: accounts, ARR, at risk", KZ_CACHE },
    { "POST", "/api/v1/accounts", kz_api_row_add, KZ_ROLE_CSM, "a new account (the fields of its import line)", 0 },
    { "GET", "/api/v1/accounts/{id}", kz_api_account, KZ_ROLE_VIEWER,
      "one account's story: facts, health, churn risk, signals, usage, MRR history and its rows", KZ_CACHE },
    { "GET", "/api/v1/accounts/{id}/health", kz_api_account_health, KZ_ROLE_VIEWER,
      "an account's recorded daily health scores with their factors (?from, ?to)", KZ_CACHE },
    { "PATCH", "/api/v1/accounts/{id}", kz_api_row_change, KZ_ROLE_CSM, "change an account's fields", 0 },
    { "DELETE", "/api/v1/accounts/{id}", kz_api_row_remove, KZ_ROLE_ADMIN, "delete an account and its rows", 0 },
    { "POST", "/api/v1/contacts", kz_api_row_add, KZ_ROLE_CSM, "a new contact", 0 },
    { "GET", "/api/v1/contacts/{id}", kz_api_row_get, KZ_ROLE_VIEWER, "one contact", KZ_CACHE },
    { "PATCH", "/api/v1/contacts/{id}", kz_api_row_change, KZ_ROLE_CSM, "change a contact", 0 },
    { "DELETE", "/api/v1/contacts/{id}", kz_api_row_remove, KZ_ROLE_CSM, "delete a contact", 0 },
    { "POST", "/api/v1/subscriptions", kz_api_row_add, KZ_ROLE_CSM, "a new subscription", 0 },
    { "GET", "/api/v1/subscriptions/{id}", kz_api_row_get, KZ_ROLE_VIEWER, "one subscription", KZ_CACHE },
    { "PATCH", "/api/v1/subscriptions/{id}", kz_api_row_change, KZ_ROLE_CSM, "change a subscription", 0 },
    { "DELETE", "/api/v1/subscriptions/{id}", kz_api_row_remove, KZ_ROLE_CSM, "delete a subscription", 0 },
    { "POST", "/api/v1/tickets", kz_api_row_add, KZ_ROLE_SUPPORT, "a new ticket", 0 },
    { "GET", "/api/v1/tickets/{id}", kz_api_row_get, KZ_ROLE_VIEWER, "one ticket", KZ_CACHE },
    { "PATCH", "/api/v1/tickets/{id}", kz_api_row_change, KZ_ROLE_SUPPORT, "change a ticket", 0 },
    { "DELETE", "/api/v1/tickets/{id}", kz_api_row_remove, KZ_ROLE_SUPPORT, "delete a ticket", 0 },
    { "POST", "/api/v1/nps", kz_api_row_add, KZ_ROLE_CSM, "a new NPS answer", 0 },
    { "GET", "/api/v1/nps/{id}", kz_api_row_get, KZ_ROLE_VIEWER, "one NPS answer", KZ_CACHE },
    { "PATCH", "/api/v1/nps/{id}", kz_api_row_change, KZ_ROLE_CSM, "change a NPS answer", 0 },
    { "DELETE", "/api/v1/nps/{id}", kz_api_row_remove, KZ_ROLE_CSM, "delete a NPS answer", 0 },
    { "POST", "/api/v1/activities", kz_api_row_add, KZ_ROLE_CSM, "a new activity", 0 },
    { "GET", "/api/v1/activities/{id}", kz_api_row_get, KZ_ROLE_VIEWER, "one activity", KZ_CACHE },
    { "PATCH", "/api/v1/activities/{id}", kz_api_row_change, KZ_ROLE_CSM, "change a activity", 0 },
    { "DELETE", "/api/v1/activities/{id}", kz_api_row_remove, KZ_ROLE_CSM, "delete a activity", 0 },
    { "GET", "/api/v1/spend", kz_api_spend_list, KZ_ROLE_VIEWER, "sales and marketing spend by month and channel", KZ_CACHE },
    { "POST", "/api/v1/spend", kz_api_row_add, KZ_ROLE_ADMIN, "a month's spend of a channel", 0 },
    { "GET", "/api/v1/spend/{id}", kz_api_row_get, KZ_ROLE_VIEWER, "a month's spend (?channel=)", KZ_CACHE },
    { "PATCH", "/api/v1/spend/{id}", kz_api_row_change, KZ_ROLE_ADMIN, "change a month's spend (?channel=)", 0 },
    { "DELETE", "/api/v1/spend/{id}", kz_api_row_remove, KZ_ROLE_ADMIN, "delete a month's spend (?channel=)", 0 },
    { "POST", "/api/v1/imports/{entity}", kz_api_import, KZ_ROLE_ADMIN,
      "import a CSV or NDJSON file of an entity (as kizuna import; ?format, ?strict, ?dry_run)", 0 },
    { "GET", "/api/v1/health", kz_api_health, KZ_ROLE_VIEWER,
      "the health definition in use and the current scores by band", KZ_CACHE },
    { "PUT", "/api/v1/health/definition", kz_api_health_define, KZ_ROLE_ADMIN,
      "store a new version of the health definition (and score with it)", 0 },
    { "GET", "/api/v1/health/backtest", kz_api_health_backtest, KZ_ROLE_VIEWER,
      "how well the score foresaw churn in the history (?horizon, ?step)", KZ_CACHE },
    { "GET", "/api/v1/churn/models", kz_api_churn_models, KZ_ROLE_VIEWER,
      "the stored churn models with their training window and evaluation", KZ_CACHE },
    { "GET", "/api/v1/churn/evaluation", kz_api_churn_evaluation, KZ_ROLE_VIEWER,
      "both models evaluated afresh on the held-out later dates (?horizon, ?step)", KZ_CACHE },
    { "GET", "/api/v1/churn/predictions", kz_api_churn_predictions, KZ_ROLE_VIEWER,
      "every paying account's churn probability, the riskiest first, with its drivers (?limit)", KZ_CACHE },
    { "GET", "/api/v1/anomalies", kz_api_anomalies, KZ_ROLE_VIEWER,
      "the stored anomalies of the watched series, by day (?state, ?series, ?from, ?to)", 0 },
    { "GET", "/api/v1/anomalies/{id}", kz_api_anomaly, KZ_ROLE_VIEWER, "one stored anomaly", 0 },
    { "PATCH", "/api/v1/anomalies/{id}", kz_api_anomaly_change, KZ_ROLE_CSM,
      "set an anomaly's state: {state: open | acknowledged | resolved, note?}", 0 },
    { "GET", "/api/v1/anomalies/{id}/series", kz_api_anomaly_series, KZ_ROLE_VIEWER,
      "the anomaly's series around it, each point with its expected value and usual range (?before, ?after)",
      KZ_CACHE },
    { "GET", "/api/v1/rules", kz_api_rules, KZ_ROLE_VIEWER, "the stored playbook rules with their mode and definition", 0 },
    { "POST", "/api/v1/rules", kz_api_rule_put, KZ_ROLE_ADMIN,
      "create or replace a rule: its JSON definition as the body (?mode=on|dry-run|off overrides)", 0 },
    { "GET", "/api/v1/rules/{name}", kz_api_rule, KZ_ROLE_VIEWER, "one stored rule", 0 },
    { "PATCH", "/api/v1/rules/{name}", kz_api_rule_change, KZ_ROLE_ADMIN,
      "switch a rule on, to dry-run or off: {mode, since?}", 0 },
    { "DELETE", "/api/v1/rules/{name}", kz_api_rule_remove, KZ_ROLE_ADMIN,
      "remove a rule (its firings, deliveries and tasks stay)", 0 },
    { "GET", "/api/v1/rules/{name}/backtest", kz_api_rule_backtest, KZ_ROLE_VIEWER,
      "how often the rule would have fired over the stored events (?days, ?until, ?limit)", 0 },
    { "GET", "/api/v1/firings", kz_api_firings, KZ_ROLE_VIEWER,
      "the rules' firings, newest first (?rule, ?account, ?limit, ?before)", 0 },
    { "GET", "/api/v1/deliveries", kz_api_deliveries, KZ_ROLE_VIEWER,
      "the outbox of e-mails and webhooks, newest first (?state, ?firing, ?limit)", 0 },
    { "GET", "/api/v1/tasks", kz_api_tasks, KZ_ROLE_VIEWER,
      "tasks (?assignee, ?mine, ?overdue, ?account, ?status, ?limit, ?after)", 0 },
    { "POST", "/api/v1/tasks", kz_api_task_add, KZ_ROLE_CSM,
      "a new task: {title, account_id?, assignee?, due?, playbook?, body?}", 0 },
    { "GET", "/api/v1/tasks/{id}", kz_api_task, KZ_ROLE_VIEWER, "one task", 0 },
    { "PATCH", "/api/v1/tasks/{id}", kz_api_task_change, KZ_ROLE_CSM,
      "change a task: {status?, assignee?, due?}", 0 },
    { "GET", "/api/v1/accounts/{id}/timeline", kz_api_account_timeline, KZ_ROLE_VIEWER,
      "everything that happened to the account, newest first (?limit, ?before)", 0 },
    { "GET", "/api/v1/playbooks", kz_api_playbooks, KZ_ROLE_VIEWER, "the playbook documents (playbooks.dir)", 0 },
    { "GET", "/api/v1/playbooks/{name}", kz_api_playbook, KZ_ROLE_VIEWER,
      "one playbook document, as Markdown and as HTML", 0 },
    { "GET", "/api/v1/metrics", kz_api_reports, KZ_ROLE_VIEWER, "the reports there are", KZ_CACHE },
    { "GET", "/api/v1/metrics/{report}", kz_api_report, KZ_ROLE_VIEWER,
      "a report, with the options of `kizuna metrics` as query arguments", KZ_CACHE },
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

static void on_apply(void *ctx, const kz_evcols *ev, const kz_live_name *names, size_t nnames, int64_t version)
{
    kz_app *a = ctx;
    pthread_rwlock_wrlock(&a->lock);
    for (size_t i = 0; i < nnames; i++)
        if (kz_engine_live_name(a->engine, names[i].id, names[i].name, names[i].n))
            KZ_LOG(KZ_LOG_WARN, "engine: an event name is not shown", "id=%u reason=\"%s\"", (unsigned)names[i].id,
                   kz_error_msg());
    size_t skipped = kz_engine_live_append(a->engine, ev);
    /* the engine showed the version before this commit: it shows this one now */
    if (kz_engine_data_version(a->engine) >= 0)
        kz_engine_set_data_version(a->engine, version);
    atomic_fetch_add(&a->generation, 1);
    pthread_rwlock_unlock(&a->lock);
    kz_rules_live_push(a->rules, ev, nnames > 0, version);
    if (skipped)
        KZ_LOG(KZ_LOG_WARN, "engine: live events of accounts it does not have", "events=%zu", skipped);
    kz_app_rescore(a);
}

/* Another writer changed the database: a new engine, its events read again
 * from the store when they changed, else taken over from the old one. */
static void on_changed(void *ctx, int events)
{
    kz_app *a = ctx;
    kz_engine *fresh = NULL;
    kz_directory *dir = NULL;
    double t0 = kz_monotonic();
    int rc = kz_engine_build(&fresh, a->refresh_store, events ? KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS
                                                              : KZ_ENGINE_SUBSCRIPTIONS,
                             events ? a->image : NULL);
    if (!rc)
        rc = kz_directory_build(&dir, a->refresh_store, fresh);
    /* this thread is the only one that changes a->engine: it reads it without
     * the lock, and takes the lock only to put the new one in place */
    if (!rc && !events)
        rc = kz_engine_adopt_events(fresh, a->engine);
    else if (!rc)
        rc = kz_engine_live_reserve(fresh, kz_engine_events(fresh) / 10 + ((size_t)1 << 20));
    pthread_rwlock_wrlock(&a->lock);
    if (!rc && a->scores)
        rc = kz_scores_remap(a->scores, fresh);
    if (!rc) {
        kz_engine *old = a->engine;
        kz_directory *old_dir = a->directory;
        a->engine = fresh;
        a->directory = dir;
        fresh = old;
        dir = old_dir;
        a->rebuilds++;
        atomic_fetch_add(&a->generation, 1);
    }
    pthread_rwlock_unlock(&a->lock);
    kz_engine_free(fresh);
    kz_directory_free(dir);
    if (rc) {
        KZ_LOG(KZ_LOG_ERROR, "engine: not rebuilt after a change (reports show the state before it)",
               "reason=\"%s\"", kz_error_msg());
        return;
    }
    KZ_LOG(KZ_LOG_INFO, "engine: rebuilt after a change", "events=%d seconds=%.3f", events, kz_monotonic() - t0);
    if (events)
        kz_rules_live_replay(a->rules); /* stored events changed behind the live batches */
    kz_app_rescore(a);
}

/* Days of events the scorer copies: two usage windows of 28 days (the
 * default engine window of the signals) and a week to spare. */
#define SCORE_DAYS 63

/* ---- the scorer ---------------------------------------------------------------------------- */

void kz_app_rescore(kz_app *a)
{
    pthread_mutex_lock(&a->score_mu);
    double now = kz_monotonic();
    if (!a->score_dirty)
        a->dirty_since = now;
    a->score_dirty = 1;
    a->dirty_last = now;
    pthread_cond_signal(&a->score_cv);
    pthread_mutex_unlock(&a->score_mu);
}

/* Scores every account of the current engine and stores the day's scores,
 * into *out_s (with the copy they were computed on in *out_copy, and the
 * rebuild count then in *out_rebuilds) for publish() to put in place. The
 * work runs on a copy of the engine's recent weeks, made under the read
 * lock in milliseconds, so that live events are not held up while every
 * account is scored. 0, or an error (logged). */
static int rescore(kz_app *a, kz_engine **out_copy, kz_scores **out_s, uint64_t *out_rebuilds)
{
    kz_scores *s = NULL;
    kz_engine *copy = NULL;
    kz_metric_opts mo;
    kz_metric_opts_init(&mo);
    mo.tz = a->tz;
    double t0 = kz_monotonic();
    pthread_rwlock_rdlock(&a->lock);
    uint64_t rebuilds = a->rebuilds;
    kz_day obs = kz_engine_last_day(a->engine, a->tz);
    /* the signals look two usage windows back (signals.h): a margin beyond them */
    int64_t from = obs == KZ_DAY_NONE ? INT64_MIN : kz_tz_day_start(a->tz, (int64_t)obs - SCORE_DAYS);
    int rc = kz_engine_clone_recent(&copy, a->engine, from);
    pthread_rwlock_unlock(&a->lock);
    double t1 = kz_monotonic();
    if (!rc)
        rc = kz_scores_compute(&s, a->score_store, copy, &mo);
    if (!rc)
        rc = kz_scores_store(s, a->score_store);
    if (rc) {
        KZ_LOG(KZ_LOG_ERROR, "scores: not computed", "reason=\"%s\"", kz_error_msg());
        kz_engine_free(copy);
        kz_scores_free(s);
        return rc;
    }
    KZ_LOG(KZ_LOG_INFO, "scores: every account scored", "accounts=%zu model=%lld copy_ms=%.1f seconds=%.3f",
           s->naccounts, (long long)s->model_id, (t1 - t0) * 1000, kz_monotonic() - t0);
    *out_copy = copy;
    *out_s = s;
    *out_rebuilds = rebuilds;
    return KZ_OK;
}

/* Puts the scores rescore() made in place (they are the readers' from now on). */
static void publish(kz_app *a, kz_scores *s, uint64_t rebuilds)
{
    pthread_rwlock_wrlock(&a->lock);
    /* another engine may have replaced the one copied (its accounts re-indexed) */
    if (a->rebuilds != rebuilds && kz_scores_remap(s, a->engine)) {
        pthread_rwlock_unlock(&a->lock);
        kz_scores_free(s);
        kz_app_rescore(a);
        return;
    }
    kz_scores *old = a->scores;
    a->scores = s;
    atomic_fetch_add(&a->generation, 1);
    pthread_rwlock_unlock(&a->lock);
    kz_scores_free(old);
}

/* How often anomalies are looked for with no day ended and no rebuild. */
#define ANOMALIES_EVERY 3600.0

/* Looks for anomalies in every watched series and stores the new ones, when
 * something they are judged on may have changed: a day has ended (days still
 * going on are not judged), the engine was rebuilt (accounts,
 * subscriptions, tickets or events changed), or an hour has passed (late
 * events of days already judged). The series are read out of the engine
 * under the read lock; judging them runs without it. */
static void find_anomalies(kz_app *a)
{
    kz_metric_opts mo;
    kz_metric_opts_init(&mo);
    mo.tz = a->tz;
    kz_time now = kz_now();
    kz_day today = (kz_day)kz_tz_day(a->tz, now / KZ_USEC_PER_SEC);
    double t0 = kz_monotonic();
    pthread_rwlock_rdlock(&a->lock);
    kz_day last = kz_engine_last_day(a->engine, a->tz);
    if (last != KZ_DAY_NONE && last >= today)
        last = today - 1;
    if (a->anomalies_done && a->rebuilds == a->anomalies_rebuilds && last == a->anomalies_day &&
        t0 - a->anomalies_at < ANOMALIES_EVERY) {
        pthread_rwlock_unlock(&a->lock);
        return;
    }
    uint64_t rebuilds = a->rebuilds;
    kz_watch_opts w;
    kz_calendar holidays;
    kz_watch_series *ws = NULL;
    kz_anomalies *found = NULL;
    int64_t fresh = 0;
    int rc = kz_findings_opts(&w, &holidays, a->cfg, NULL, 1);
    w.now = now;
    if (!rc)
        rc = kz_watch_collect(&ws, a->engine, &mo, &w);
    pthread_rwlock_unlock(&a->lock);
    double t1 = kz_monotonic();
    if (!rc)
        rc = kz_watch_judge(&found, ws);
    if (!rc)
        rc = kz_findings_record(a->score_store, found, now, &fresh);
    if (rc) {
        KZ_LOG(KZ_LOG_ERROR, "anomalies: not looked for", "reason=\"%s\"", kz_error_msg());
    } else {
        a->anomalies_done = 1;
        a->anomalies_rebuilds = rebuilds;
        a->anomalies_day = last;
        a->anomalies_at = t0;
        atomic_fetch_add(&a->anomalies_new, (uint64_t)fresh);
        atomic_store(&a->anomalies_judged_day, last);
        atomic_store(&a->anomalies_judged_at, now);
        KZ_LOG(fresh ? KZ_LOG_WARN : KZ_LOG_INFO, "anomalies: every watched series judged",
               "series=%zu points=%zu abnormal=%zu new=%lld read_ms=%.1f seconds=%.3f", found->series, found->points,
               found->n, (long long)fresh, (t1 - t0) * 1000, kz_monotonic() - t0);
    }
    kz_anomalies_free(found);
    kz_watch_series_free(ws);
    kz_findings_opts_free(&w, &holidays);
}

/* ---- playbooks ------------------------------------------------------------------------------ */

static int on_next(void *ctx, const kz_delivery_rec *d)
{
    *(kz_time *)ctx = d->next_at;
    return KZ_OK;
}

/* When the earliest waiting delivery is due (0: none waits). */
static kz_time next_delivery(kz_store *st)
{
    kz_time at = 0;
    if (kz_store_deliveries_due(st, INT64_MAX / 2, 1, on_next, &at))
        KZ_LOG(KZ_LOG_ERROR, "playbooks: the outbox not read", "reason=\"%s\"", kz_error_msg());
    return at;
}

/* Runs the rules that are on over the events committed since the last
 * pass (all the stored ones since they were switched on when the rules
 * changed: run.h, kz_rules_live) and the scheduled triggers, then sends the
 * deliveries due. e and sc (may be NULL) are the scorer's copy of the
 * engine and the scores just made on it, not yet shared. */
static void run_rules(kz_app *a, const kz_engine *e, const kz_scores *sc)
{
    kz_run_stats s = { 0 };
    kz_act_env env;
    kz_act_env_from_config(&env, a->cfg);
    double t0 = kz_monotonic();
    int rc = kz_rules_live_pass(a->rules, a->score_store, e, sc, &env, kz_now(), &s);
    atomic_fetch_add(&a->rule_passes, 1);
    atomic_fetch_add(&a->rule_replays, (uint64_t)s.replayed);
    atomic_fetch_add(&a->rule_events, (uint64_t)s.events);
    atomic_fetch_add(&a->rule_usec, (uint64_t)((kz_monotonic() - t0) * 1e6));
    if (rc) {
        KZ_LOG(KZ_LOG_ERROR, "playbooks: rules not run", "reason=\"%s\"", kz_error_msg());
    } else if (s.fired || s.replayed || s.deliveries.sent || s.deliveries.retrying || s.deliveries.failed) {
        atomic_fetch_add(&a->firings, (uint64_t)s.fired);
        KZ_LOG(KZ_LOG_INFO, "playbooks: rules run",
               "events=%lld replayed=%d fired=%lld dry=%lld known=%lld sent=%lld retrying=%lld failed=%lld "
               "seconds=%.3f",
               (long long)s.events, s.replayed, (long long)s.fired, (long long)s.dry, (long long)s.known,
               (long long)s.deliveries.sent, (long long)s.deliveries.retrying, (long long)s.deliveries.failed,
               kz_monotonic() - t0);
    }
    a->next_delivery = next_delivery(a->score_store);
}

/* rules.dir: the rules of the folder stored (a new one in its own mode, one
 * stored before keeps the mode people gave it), all or none: a rule that
 * does not read stops the server from starting, with the file, the rule and
 * the field. */
static int load_rules_dir(kz_store *st, const char *dir)
{
    kz_rule **v = NULL;
    size_t n = 0;
    int rc;
    if (!dir || strcmp(dir, "-") == 0)
        return KZ_OK;
    if ((rc = kz_rule_load_path(&v, &n, dir)))
        return kz_error_prefix(rc, "rules.dir");
    rc = kz_ruleset_store(st, v, n, NULL, 1, kz_now(), NULL);
    if (!rc)
        KZ_LOG(KZ_LOG_INFO, "playbooks: rules loaded", "dir=\"%s\" rules=%zu", dir, n);
    kz_rule_list_free(v, n);
    return rc;
}

/* The deliveries due now, between scorings (their retries). */
static void deliver_due(kz_app *a)
{
    kz_act_env env;
    kz_deliver_stats s;
    kz_act_env_from_config(&env, a->cfg);
    if (kz_act_deliver(a->score_store, &env, kz_now(), 0, 0, &s))
        KZ_LOG(KZ_LOG_ERROR, "playbooks: deliveries not sent", "reason=\"%s\"", kz_error_msg());
    else if (s.sent || s.retrying || s.failed)
        KZ_LOG(KZ_LOG_INFO, "playbooks: deliveries tried", "sent=%lld retrying=%lld failed=%lld", (long long)s.sent,
               (long long)s.retrying, (long long)s.failed);
    a->next_delivery = next_delivery(a->score_store);
    /* one the store could not move on (an error): not again at once, but in a minute */
    kz_time now = kz_now();
    if (a->next_delivery && a->next_delivery <= now)
        a->next_delivery = now + 60 * KZ_USEC_PER_SEC;
}

static void *scorer_main(void *arg)
{
    kz_app *a = arg;
    double interval = (double)a->cfg->scores_interval, last = kz_monotonic();
    pthread_mutex_lock(&a->score_mu);
    for (;;) {
        while (!a->score_dirty && !a->score_stop) {
            /* a delivery waiting for its next try */
            if (a->next_delivery && a->next_delivery <= kz_now()) {
                pthread_mutex_unlock(&a->score_mu);
                deliver_due(a);
                pthread_mutex_lock(&a->score_mu);
                continue;
            }
            if (a->next_delivery) {
                double wait = (double)(a->next_delivery - kz_now()) / KZ_USEC_PER_SEC;
                double left = interval > 0 ? last + interval - kz_monotonic() : 1e18; /* 0: no schedule */
                if (wait < left && left > 0) {
                    struct timespec until;
                    clock_gettime(CLOCK_REALTIME, &until);
                    until.tv_sec += (time_t)wait + 1;
                    pthread_cond_timedwait(&a->score_cv, &a->score_mu, &until);
                    continue;
                }
            }
            if (interval <= 0) {
                pthread_cond_wait(&a->score_cv, &a->score_mu);
                continue;
            }
            /* the schedule: again after the interval, changes or not */
            double left = last + interval - kz_monotonic();
            if (left <= 0) {
                a->score_dirty = 1;
                a->dirty_since = a->dirty_last = 0; /* no quiet second to wait for */
                break;
            }
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += (time_t)left + 1;
            pthread_cond_timedwait(&a->score_cv, &a->score_mu, &until);
        }
        /* wait for a quiet second, or the longest delay */
        while (!a->score_stop) {
            double now = kz_monotonic();
            if (now - a->dirty_last >= 1.0 || now - a->dirty_since >= a->max_delay)
                break;
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 200 * 1000 * 1000;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&a->score_cv, &a->score_mu, &until);
        }
        if (a->score_stop)
            break;
        a->score_dirty = 0;
        pthread_mutex_unlock(&a->score_mu);
        /* anomalies first, so that the rules see this pass's; the rules then
         * judge on the scores before they are shared (no lock held) */
        find_anomalies(a);
        kz_engine *copy = NULL;
        kz_scores *s = NULL;
        uint64_t rebuilds = 0;
        int scored = rescore(a, &copy, &s, &rebuilds) == KZ_OK;
        run_rules(a, copy, s);
        kz_engine_free(copy);
        if (scored)
            publish(a, s, rebuilds);
        last = kz_monotonic();
        pthread_mutex_lock(&a->score_mu);
    }
    pthread_mutex_unlock(&a->score_mu);
    return NULL;
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
    a->max_delay = (double)cfg->scores_max_delay;
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&a->lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&a->stores_mu, NULL);
    pthread_mutex_init(&a->limit_mu, NULL);
    pthread_mutex_init(&a->score_mu, NULL);
    pthread_cond_init(&a->score_cv, NULL);
    pthread_mutex_init(&a->live_mu, NULL);
    pthread_cond_init(&a->live_idle, NULL);
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
    if ((rc = kz_engine_build(&a->engine, st, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS, a->image)) ||
        (rc = kz_directory_build(&a->directory, st, a->engine)))
        goto done;
    /* live events go into columns of the engine's own: copy them out of the
     * image now, with room for a tenth more (or a million), before serving */
    if ((rc = kz_engine_live_reserve(a->engine, kz_engine_events(a->engine) / 10 + ((size_t)1 << 20))))
        goto done;
    a->refresh_store = st;
    st = NULL;
    if ((rc = kz_store_open(&a->score_store, cfg->db_path, 0)) ||
        (rc = load_rules_dir(a->score_store, cfg->rules_dir)) || (rc = kz_rules_live_new(&a->rules)))
        goto done;
    kz_live_opts lo;
    memset(&lo, 0, sizeof lo);
    lo.max_events = (size_t)cfg->ingest_max_batch;
    lo.max_field = (size_t)cfg->import_max_field;
    lo.block_events = (size_t)cfg->import_block_events;
    lo.hooks.ctx = a;
    lo.hooks.prepare = on_prepare;
    lo.hooks.apply = on_apply;
    lo.hooks.changed = on_changed;
    if ((rc = kz_live_open(&a->live, cfg->db_path, &lo)))
        goto done;
    if (pthread_create(&a->scorer, NULL, scorer_main, a) != 0) {
        rc = kz_error_set(KZ_ERROR, "cannot start the scorer thread");
        goto done;
    }
    a->scorer_started = 1;
    kz_app_rescore(a); /* the first scores, soon after the start */
done:
    kz_store_close(st);
    if (rc) {
        kz_app_close(a);
        return rc;
    }
    *out = a;
    return KZ_OK;
}

/* At the end: the engine's image file, when the engine shows the store as it
 * is (no other writer since), so that the next start maps it. */
static void save_image(kz_app *a)
{
    int64_t version = -1;
    if (!a->engine || !a->refresh_store || kz_store_data_version(a->refresh_store, &version))
        return;
    int64_t mine = kz_engine_data_version(a->engine);
    if (mine != version || !kz_engine_events(a->engine))
        return;
    double t0 = kz_monotonic();
    if (kz_engine_save_image(a->engine, a->image))
        KZ_LOG(KZ_LOG_WARN, "engine: image file not written", "reason=\"%s\"", kz_error_msg());
    else
        KZ_LOG(KZ_LOG_INFO, "engine: image file written for the next start", "events=%zu seconds=%.3f",
               kz_engine_events(a->engine), kz_monotonic() - t0);
}

void kz_app_close(kz_app *a)
{
    if (!a)
        return;
    if (a->scorer_started) {
        pthread_mutex_lock(&a->score_mu);
        a->score_stop = 1;
        pthread_cond_signal(&a->score_cv);
        pthread_mutex_unlock(&a->score_mu);
        pthread_join(a->scorer, NULL);
    }
    if (a->live) {
        kz_live_close(a->live); /* stores what is queued first */
        a->live = NULL;
        save_image(a);
    }
    for (size_t i = 0; i < a->nstores; i++)
        kz_store_close(a->stores[i]);
    free(a->stores);
    pthread_key_delete(a->store_key);
    kz_store_close(a->refresh_store);
    kz_store_close(a->score_store);
    kz_rules_live_free(a->rules);
    kz_scores_free(a->scores);
    kz_directory_free(a->directory);
    kz_engine_free(a->engine);
    free(a->image);
    kz_tz_free(a->tz);
    pthread_rwlock_destroy(&a->lock);
    pthread_mutex_destroy(&a->stores_mu);
    pthread_mutex_destroy(&a->limit_mu);
    pthread_mutex_destroy(&a->score_mu);
    pthread_cond_destroy(&a->score_cv);
    pthread_mutex_destroy(&a->live_mu);
    pthread_cond_destroy(&a->live_idle);
    free(a->dummy_hash);
    free(a);
}

uint64_t kz_app_cache_token(void *app)
{
    kz_app *a = app;
    int64_t version = 0;
    kz_store *st = kz_app_store(a);
    /* read before the answer is made (cache.h): the generation covers what
     * the engine and the scores hold, the data version what the store holds */
    uint64_t gen = atomic_load(&a->generation);
    if (!st || kz_store_data_version(st, &version))
        version = -1 - (int64_t)(gen & 0x7fffffff); /* unknown: a token no answer was kept under */
    return kz_mix64(gen) ^ (uint64_t)version;
}

const char *kz_api_user_name(const kz_http_req *req)
{
    const kz_api_user *u = req->user;
    return u ? u->user.name : "";
}

int kz_app_reload(kz_app *a, const kz_config *fresh)
{
    if (kz_app_live_begin(a) == KZ_OK) {
        kz_live_set_max_events(a->live, (size_t)fresh->ingest_max_batch);
        kz_app_live_done(a);
    }
    pthread_mutex_lock(&a->score_mu);
    a->max_delay = (double)fresh->scores_max_delay;
    pthread_mutex_unlock(&a->score_mu);
    return KZ_OK;
}

int kz_app_live_begin(kz_app *a)
{
    pthread_mutex_lock(&a->live_mu);
    int closing = a->live_closing;
    if (!closing)
        a->live_users++;
    pthread_mutex_unlock(&a->live_mu);
    return closing ? kz_error_set(KZ_ECONFLICT, "the server is stopping") : KZ_OK;
}

void kz_app_live_done(kz_app *a)
{
    pthread_mutex_lock(&a->live_mu);
    if (--a->live_users == 0)
        pthread_cond_broadcast(&a->live_idle);
    pthread_mutex_unlock(&a->live_mu);
}

void kz_app_stop_events(kz_app *a)
{
    pthread_mutex_lock(&a->live_mu);
    a->live_closing = 1;
    while (a->live_users > 0)
        pthread_cond_wait(&a->live_idle, &a->live_mu);
    pthread_mutex_unlock(&a->live_mu);
    kz_live_close(a->live); /* stores and answers what is queued */
    a->live = NULL;
    save_image(a);
}

int kz_app_changed(kz_app *a)
{
    if (kz_app_live_begin(a))
        return KZ_OK; /* stopping: nothing will read the engine again */
    int rc = kz_live_sync(a->live);
    kz_app_live_done(a);
    return rc;
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
