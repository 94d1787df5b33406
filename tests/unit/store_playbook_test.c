/*
 * store_playbook_test.c - the playbooks part of the store contract on the
 * SQLite backend: rules and when they are switched on, firings recorded once
 * per window, the outbox of deliveries, tasks and their queries, what rules
 * remember, and what an account's deletion takes and leaves.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/engine.h"
#include "store/backend.h"
#include "store/store.h"
#include "../support/support.h"

static char *dir;
static char *db;
static kz_store *st;

static void setup(void)
{
    dir = kt_tmpdir();
    db = kt_path(dir, "t.db");
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0, "%s", kz_error_msg());
}

static void teardown(void)
{
    kz_store_close(st);
    kt_rmrf(dir);
}

TestSuite(store_playbook, .init = setup, .fini = teardown);

#define TXT(s) kz_vtext(s, strlen(s))

static int64_t add_account(const char *key)
{
    kz_value row[KZ_ACCOUNT_NCOLS] = { TXT(key), TXT(key), kz_vnull(), kz_vnull(), kz_vnull(), kz_vint(0) };
    int64_t id = 0;
    cr_assert_eq(kz_store_upsert(st, KZ_ENT_ACCOUNT, row, 0x3, 0, &id, NULL), 0, "%s", kz_error_msg());
    return id;
}

/* What callbacks saw, appended as text. */
typedef struct seen {
    char s[1024];
    int n;
} seen;

static void seen_add(seen *w, const char *text, long long num)
{
    size_t n = strlen(w->s);
    snprintf(w->s + n, sizeof w->s - n, "%s:%lld;", text, num);
    w->n++;
}

static kz_rule_rec got_rule;
static char got_rule_def[256], got_rule_mode[16];

static int keep_rule(void *ctx, const kz_rule_rec *r)
{
    (void)ctx;
    got_rule = *r;
    snprintf(got_rule_def, sizeof got_rule_def, "%s", r->definition);
    snprintf(got_rule_mode, sizeof got_rule_mode, "%s", r->mode);
    got_rule.name = got_rule.definition = got_rule.mode = got_rule.source = NULL;
    return 0;
}

static int list_rule(void *ctx, const kz_rule_rec *r)
{
    seen_add(ctx, r->name, (long long)r->enabled_at);
    return 0;
}

static void put_rule(const char *name, const char *def, const char *mode, kz_time at, int created)
{
    kz_rule_rec r = { name, def, mode, "cli", 0, 0, 0 };
    int c = -1;
    cr_assert_eq(kz_store_rule_put(st, &r, at, &c), 0, "%s", kz_error_msg());
    cr_assert_eq(c, created, "%s created %d", name, c);
}

Test(store_playbook, rules_put_replace_get_each_remove_and_enabled_at)
{
    put_rule("churn-risk", "{\"a\":1}", "on", 100, 1);
    cr_assert_eq(kz_store_rule_get(st, "churn-risk", keep_rule, NULL), 0);
    cr_assert_str_eq(got_rule_def, "{\"a\":1}");
    cr_assert_eq(got_rule.enabled_at, 100);
    cr_assert_eq(got_rule.created_at, 100);
    /* replaced, still on: enabled_at and created_at kept */
    put_rule("churn-risk", "{\"a\":2}", "dry-run", 200, 0);
    cr_assert_eq(kz_store_rule_get(st, "churn-risk", keep_rule, NULL), 0);
    cr_assert_str_eq(got_rule_def, "{\"a\":2}");
    cr_assert_str_eq(got_rule_mode, "dry-run");
    cr_assert_eq(got_rule.enabled_at, 100);
    cr_assert_eq(got_rule.created_at, 100);
    cr_assert_eq(got_rule.updated_at, 200);
    /* off: 0; back on: from then */
    cr_assert_eq(kz_store_rule_set_mode(st, "churn-risk", "off", 0, 300), 0);
    cr_assert_eq(kz_store_rule_get(st, "churn-risk", keep_rule, NULL), 0);
    cr_assert_eq(got_rule.enabled_at, 0);
    cr_assert_eq(kz_store_rule_set_mode(st, "churn-risk", "on", 0, 400), 0);
    cr_assert_eq(kz_store_rule_get(st, "churn-risk", keep_rule, NULL), 0);
    cr_assert_eq(got_rule.enabled_at, 400);
    cr_assert_eq(kz_store_rule_set_mode(st, "churn-risk", "dry-run", 0, 500), 0);
    cr_assert_eq(kz_store_rule_get(st, "churn-risk", keep_rule, NULL), 0);
    cr_assert_eq(got_rule.enabled_at, 400);
    cr_assert_eq(got_rule.updated_at, 500);
    /* since: the time it acts from moves, back or forth; the time it changed is now */
    cr_assert_eq(kz_store_rule_set_mode(st, "churn-risk", "on", 50, 550), 0);
    cr_assert_eq(kz_store_rule_get(st, "churn-risk", keep_rule, NULL), 0);
    cr_assert_eq(got_rule.enabled_at, 50);
    cr_assert_eq(got_rule.updated_at, 550);
    cr_assert_eq(kz_store_rule_set_mode(st, "churn-risk", "off", 50, 560), KZ_EINVALID, "off has no time to act from");
    cr_assert_eq(kz_store_rule_set_mode(st, "churn-risk", "on", -5, 560), KZ_EINVALID);
    cr_assert_eq(kz_store_rule_get(st, "churn-risk", keep_rule, NULL), 0);
    cr_assert_eq(got_rule.updated_at, 550, "a refused change changes nothing");
    cr_assert_eq(kz_store_rule_set_mode(st, "churn-risk", "on", 400, 570), 0);
    /* created off: 0 until it is switched on, by a replace too */
    put_rule("welcome", "{}", "off", 600, 1);
    cr_assert_eq(kz_store_rule_get(st, "welcome", keep_rule, NULL), 0);
    cr_assert_eq(got_rule.enabled_at, 0);
    put_rule("welcome", "{}", "on", 700, 0);
    seen w = { "", 0 };
    cr_assert_eq(kz_store_rules_each(st, list_rule, &w), 0);
    cr_assert_str_eq(w.s, "churn-risk:400;welcome:700;");
    put_rule("welcome", "{}", "off", 800, 0);
    cr_assert_eq(kz_store_rule_get(st, "welcome", keep_rule, NULL), 0);
    cr_assert_eq(got_rule.enabled_at, 0);
    /* removed */
    cr_assert_eq(kz_store_rule_remove(st, "welcome"), 0);
    cr_assert_eq(kz_store_rule_remove(st, "welcome"), KZ_ENOTFOUND);
    cr_assert_eq(kz_store_rule_get(st, "welcome", keep_rule, NULL), KZ_ENOTFOUND);
    cr_assert_eq(kz_store_rule_set_mode(st, "welcome", "on", 0, 900), KZ_ENOTFOUND);
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_rules_each(st, list_rule, &w), 0);
    cr_assert_str_eq(w.s, "churn-risk:400;");
}

Test(store_playbook, invalid_values_are_refused)
{
    kz_rule_rec r = { "x", "{}", "maybe", "cli", 0, 0, 0 };
    cr_assert_eq(kz_store_rule_put(st, &r, 1, NULL), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "maybe") && strstr(kz_error_msg(), "dry-run"), "%s", kz_error_msg());
    r.mode = NULL;
    cr_assert_eq(kz_store_rule_put(st, &r, 1, NULL), KZ_EINVALID);
    r.mode = "on";
    r.name = "";
    cr_assert_eq(kz_store_rule_put(st, &r, 1, NULL), KZ_EINVALID);
    char longname[80];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    r.name = longname;
    cr_assert_eq(kz_store_rule_put(st, &r, 1, NULL), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "rule name"), "%s", kz_error_msg());
    r.name = "x";
    r.definition = NULL;
    cr_assert_eq(kz_store_rule_put(st, &r, 1, NULL), KZ_EINVALID);
    r.definition = "{}";
    cr_assert_eq(kz_store_rule_put(st, &r, 1, NULL), 0);
    cr_assert_eq(kz_store_rule_set_mode(st, "x", "ON", 0, 2), KZ_EINVALID);

    kz_firing_rec f = { 0, "x", "team", "acc1", 0, NULL, "w1", 1, 1, "because", NULL, 0 };
    int64_t id = -1;
    cr_assert_eq(kz_store_firing_add(st, &f, &id), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "subject kind"), "%s", kz_error_msg());
    f.subject_kind = "account";
    f.window_key = NULL;
    cr_assert_eq(kz_store_firing_add(st, &f, &id), KZ_EINVALID);

    kz_delivery_rec d = { .firing_id = 1, .kind = "sms", .payload = "{}" };
    cr_assert_eq(kz_store_delivery_add(st, &d, 1, &id), KZ_EINVALID);
    cr_assert_eq(kz_store_delivery_set(st, 1, "sent", 1, 0, NULL, 1), KZ_EINVALID);
    cr_assert_eq(kz_store_delivery_set(st, 1, "failed", -1, 0, NULL, 1), KZ_EINVALID);
    /* a firing that does not exist */
    d.kind = "email";
    d.firing_id = 42;
    cr_assert_eq(kz_store_delivery_add(st, &d, 1, &id), KZ_EINVALID);

    kz_task_rec t = { .title = "", .source = "user:ann", .due = KZ_DAY_NONE };
    cr_assert_eq(kz_store_task_add(st, &t, 1, &id), KZ_EINVALID);
    t.title = "Call";
    t.source = NULL;
    cr_assert_eq(kz_store_task_add(st, &t, 1, &id), KZ_EINVALID);
    t.source = "user:ann";
    cr_assert_eq(kz_store_task_add(st, &t, 1, &id), 0);
    cr_assert_eq(kz_store_task_set(st, id, "closed", NULL, KZ_TASK_DUE_KEPT, 2), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "cancelled"), "%s", kz_error_msg());
    kz_task_query q = { .status = "pending", .due_before = KZ_DAY_NONE };
    cr_assert_eq(kz_store_tasks_each(st, &q, NULL, NULL), KZ_EINVALID);
    cr_assert_eq(kz_store_task_set(st, 999, "done", NULL, KZ_TASK_DUE_KEPT, 2), KZ_ENOTFOUND);
}

static int64_t fire(const char *rule, const char *subject, int64_t account, const char *window, kz_time at)
{
    kz_firing_rec f = { 0, rule, "account", subject, account, NULL, window, at, at + 5, "events purchase", NULL, 0 };
    int64_t id = -1;
    cr_assert_eq(kz_store_firing_add(st, &f, &id), 0, "%s", kz_error_msg());
    return id;
}

static int list_firing(void *ctx, const kz_firing_rec *f)
{
    seen_add(ctx, f->window_key, (long long)f->at);
    return 0;
}

/* The ids of what was listed, in order. */
typedef struct idlist {
    int64_t id[16];
    int n;
} idlist;

static int firing_ids(void *ctx, const kz_firing_rec *f)
{
    idlist *l = ctx;
    cr_assert_lt(l->n, 16);
    l->id[l->n++] = f->id;
    return 0;
}

static int list_firing_account(void *ctx, const kz_firing_rec *f)
{
    seen_add(ctx, f->account_key ? f->account_key : "NULL", (long long)f->account_id);
    return 0;
}

Test(store_playbook, a_firing_is_recorded_once_per_window_and_listed_newest_first)
{
    int64_t a = add_account("acc1"), b = add_account("acc2");
    int64_t f1 = fire("r1", "acc1", a, "w1", 100);
    cr_assert_gt(f1, 0);
    cr_assert_eq(fire("r1", "acc1", a, "w1", 150), 0, "a second firing of the same window writes nothing");
    int64_t f2 = fire("r1", "acc1", a, "w2", 300);
    cr_assert_gt(f2, f1);
    /* the same window key of another subject or rule is another firing */
    cr_assert_gt(fire("r1", "acc2", b, "w1", 200), 0);
    cr_assert_gt(fire("r2", "acc1", a, "w1", 300), 0);
    kz_firing_rec u = { 0, "r1", "user", "acc1", a, NULL, "w1", 50, 55, "a user", NULL, 1 };
    int64_t uid = -1;
    cr_assert_eq(kz_store_firing_add(st, &u, &uid), 0);
    cr_assert_gt(uid, 0, "a user with an account's key is another subject");

    /* r1/acc1 fired at 100 and 300: the nearest one closer than `within`, before or after, not at itself */
    kz_time near = -1;
    cr_assert_eq(kz_store_firing_near(st, "r1", "account", "acc1", 250, 100, &near), 0);
    cr_assert_eq(near, 300);
    cr_assert_eq(kz_store_firing_near(st, "r1", "account", "acc1", 160, 100, &near), 0);
    cr_assert_eq(near, 100, "an earlier firing counts even when a later one exists");
    cr_assert_eq(kz_store_firing_near(st, "r1", "account", "acc1", 200, 100, &near), 0);
    cr_assert_eq(near, 0, "exactly `within` away is not too near");
    cr_assert_eq(kz_store_firing_near(st, "r1", "account", "acc1", 300, 100, &near), 0);
    cr_assert_eq(near, 0, "a firing's own time is not another firing");
    cr_assert_eq(kz_store_firing_near(st, "r1", "account", "acc1", 250, 0, &near), 0);
    cr_assert_eq(near, 0, "no cooldown");
    cr_assert_eq(kz_store_firing_near(st, "r1", "account", "acc9", 250, 1000, &near), 0);
    cr_assert_eq(near, 0);
    cr_assert_eq(kz_store_firing_near(st, "r1", "user", "acc1", 60, 1000, &near), 0);
    cr_assert_eq(near, 50);

    /* all of them, by at then id, the latest first; the first keeps its at */
    seen w = { "", 0 };
    cr_assert_eq(kz_store_firings_each(st, NULL, 0, 0, 0, list_firing, &w), 0);
    cr_assert_str_eq(w.s, "w1:300;w2:300;w1:200;w1:100;w1:50;");
    idlist all = { { 0 }, 0 };
    cr_assert_eq(kz_store_firings_each(st, NULL, 0, 0, 100, firing_ids, &all), 0);
    cr_assert_eq(all.n, 5);
    /* paged by two: each page goes on after the last row of the one before,
     * though ids and times do not go down together */
    idlist paged = { { 0 }, 0 };
    int64_t before = 0;
    for (int round = 0; round < 5; round++) {
        idlist p = { { 0 }, 0 };
        cr_assert_eq(kz_store_firings_each(st, NULL, 0, before, 2, firing_ids, &p), 0);
        cr_assert_leq(p.n, 2);
        if (p.n == 0)
            break;
        for (int i = 0; i < p.n; i++)
            paged.id[paged.n++] = p.id[i];
        before = p.id[p.n - 1];
    }
    cr_assert_eq(paged.n, all.n);
    for (int i = 0; i < all.n; i++)
        cr_assert_eq(paged.id[i], all.id[i], "row %d", i);
    /* by rule, by account */
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_firings_each(st, "r1", a, 0, 0, list_firing, &w), 0);
    cr_assert_str_eq(w.s, "w2:300;w1:100;w1:50;");
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_firings_each(st, NULL, b, 0, 0, list_firing_account, &w), 0);
    cr_assert_str_eq(w.s, "acc2:2;");
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_firings_each(st, "r2", 0, 0, 1, list_firing, &w), 0);
    cr_assert_str_eq(w.s, "w1:300;");
}

Test(store_playbook, a_firing_in_a_rolled_back_transaction_leaves_nothing)
{
    int64_t a = add_account("acc1");
    cr_assert_eq(kz_store_begin(st), 0);
    int64_t f = fire("r1", "acc1", a, "w1", 100);
    cr_assert_gt(f, 0);
    kz_task_rec t = { .title = "Call them", .account_id = a, .due = KZ_DAY_NONE, .source = "rule:r1", .firing_id = f };
    int64_t tid = 0;
    cr_assert_eq(kz_store_task_add(st, &t, 100, &tid), 0, "%s", kz_error_msg());
    cr_assert_eq(kz_store_rollback(st), 0);
    seen w = { "", 0 };
    cr_assert_eq(kz_store_firings_each(st, NULL, 0, 0, 0, list_firing, &w), 0);
    cr_assert_eq(w.n, 0);
    cr_assert_eq(kz_store_task_get(st, tid, NULL, NULL), KZ_ENOTFOUND);
    /* and so it fires again */
    cr_assert_gt(fire("r1", "acc1", a, "w1", 100), 0);
    /* committed with its caller */
    cr_assert_eq(kz_store_begin(st), 0);
    cr_assert_gt(fire("r1", "acc1", a, "w2", 200), 0);
    cr_assert_eq(kz_store_commit(st), 0);
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_firings_each(st, NULL, 0, 0, 0, list_firing, &w), 0);
    cr_assert_str_eq(w.s, "w2:200;w1:100;");
}

static int list_delivery(void *ctx, const kz_delivery_rec *d)
{
    char line[256];
    snprintf(line, sizeof line, "%s/%s/%s/%d/%lld/%s/%s", d->kind, d->payload, d->state, d->attempts,
             (long long)d->next_at, d->last_error ? d->last_error : "-", d->rule);
    seen_add(ctx, line, (long long)d->account_id);
    return 0;
}

Test(store_playbook, deliveries_wait_until_due_and_keep_their_errors)
{
    int64_t a = add_account("acc1");
    int64_t f = fire("r1", "acc1", a, "w1", 100);
    kz_delivery_rec d = { .firing_id = f, .action = 1, .kind = "email", .payload = "{\"to\":\"x\"}" };
    int64_t d1 = 0, d2 = 0;
    cr_assert_eq(kz_store_delivery_add(st, &d, 1000, &d1), 0, "%s", kz_error_msg());
    d.kind = "webhook";
    d.payload = "{}";
    d.action = 2;
    cr_assert_eq(kz_store_delivery_add(st, &d, 2000, &d2), 0);
    cr_assert_gt(d2, d1);
    /* due by time, the oldest first */
    seen w = { "", 0 };
    cr_assert_eq(kz_store_deliveries_due(st, 999, 10, list_delivery, &w), 0);
    cr_assert_eq(w.n, 0);
    cr_assert_eq(kz_store_deliveries_due(st, 1000, 10, list_delivery, &w), 0);
    cr_assert_str_eq(w.s, "email/{\"to\":\"x\"}/pending/0/1000/-/r1:1;");
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_deliveries_due(st, 5000, 0, list_delivery, &w), 0);
    cr_assert_eq(w.n, 2);
    cr_assert(strncmp(w.s, "email", 5) == 0, "%s", w.s);
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_deliveries_due(st, 5000, 1, list_delivery, &w), 0);
    cr_assert_eq(w.n, 1);
    /* a try that failed, retried later; then given up */
    cr_assert_eq(kz_store_delivery_set(st, d2, "pending", 1, 9000, "HTTP 503", 2100), 0);
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_deliveries_due(st, 5000, 0, list_delivery, &w), 0);
    cr_assert_eq(w.n, 1);
    cr_assert_eq(kz_store_delivery_set(st, d2, "failed", 5, 0, "HTTP 503 after 5 tries", 9100), 0);
    cr_assert_eq(kz_store_delivery_set(st, d1, "done", 1, 0, NULL, 1100), 0);
    cr_assert_eq(kz_store_delivery_set(st, 999, "done", 1, 0, NULL, 1100), KZ_ENOTFOUND);
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_deliveries_due(st, 99999, 0, list_delivery, &w), 0);
    cr_assert_eq(w.n, 0, "%s", w.s);
    /* by state, by firing, the newest first */
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_deliveries_each(st, "failed", 0, 0, list_delivery, &w), 0);
    cr_assert_str_eq(w.s, "webhook/{}/failed/5/0/HTTP 503 after 5 tries/r1:1;");
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_deliveries_each(st, NULL, f, 0, list_delivery, &w), 0);
    cr_assert_str_eq(w.s, "webhook/{}/failed/5/0/HTTP 503 after 5 tries/r1:1;email/{\"to\":\"x\"}/done/1/0/-/r1:1;");
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_deliveries_each(st, NULL, f + 1, 0, list_delivery, &w), 0);
    cr_assert_eq(w.n, 0);
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_deliveries_each(st, "done", 0, 1, list_delivery, &w), 0);
    cr_assert_eq(w.n, 1);
}

static kz_task_rec got_task; /* its strings copied below, the rest NULL */
static char got_task_text[512], got_task_status[16], got_task_assignee[64];

static int keep_task(void *ctx, const kz_task_rec *t)
{
    (void)ctx;
    got_task = *t;
    snprintf(got_task_text, sizeof got_task_text, "%s|%s|%s|%s|%s|%s|%s", t->title, t->body ? t->body : "-",
             t->account_key ? t->account_key : "-", t->assignee ? t->assignee : "-", t->status, t->source,
             t->playbook ? t->playbook : "-");
    snprintf(got_task_status, sizeof got_task_status, "%s", t->status);
    snprintf(got_task_assignee, sizeof got_task_assignee, "%s", t->assignee ? t->assignee : "-");
    got_task.title = got_task.body = got_task.account_key = got_task.assignee = NULL;
    got_task.status = got_task.source = got_task.playbook = NULL;
    return 0;
}

static int task_titles(void *ctx, const kz_task_rec *t)
{
    seen_add(ctx, t->title, (long long)t->id);
    return 0;
}

static int64_t add_task(const char *title, int64_t account, const char *assignee, kz_day due)
{
    kz_task_rec t = { .title = title, .account_id = account, .assignee = assignee, .due = due, .source = "user:ann" };
    int64_t id = 0;
    cr_assert_eq(kz_store_task_add(st, &t, 10, &id), 0, "%s", kz_error_msg());
    cr_assert_gt(id, 0);
    return id;
}

/* The titles of the tasks q finds. */
static const char *find_tasks(kz_task_query q)
{
    static seen w;
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_tasks_each(st, &q, task_titles, &w), 0, "%s", kz_error_msg());
    return w.s;
}

Test(store_playbook, tasks_change_status_and_are_found_by_query)
{
    int64_t a = add_account("acc1"), b = add_account("acc2");
    int64_t f = fire("r1", "acc1", a, "w1", 5);
    kz_task_rec t = { .title = "Renewal call", .body = "Ask about seats", .account_id = a, .assignee = "kim",
                      .due = 20100, .source = "rule:r1", .firing_id = f, .playbook = "renewal" };
    int64_t t1 = 0;
    cr_assert_eq(kz_store_task_add(st, &t, 10, &t1), 0, "%s", kz_error_msg());
    cr_assert_eq(kz_store_task_get(st, t1, keep_task, NULL), 0);
    cr_assert_str_eq(got_task_text, "Renewal call|Ask about seats|acc1|kim|open|rule:r1|renewal");
    cr_assert_eq(got_task.account_id, a);
    cr_assert_eq(got_task.firing_id, f);
    cr_assert_eq(got_task.due, 20100);
    cr_assert_eq(got_task.created_at, 10);
    cr_assert_eq(got_task.closed_at, 0);
    cr_assert_eq(kz_store_task_get(st, t1 + 100, keep_task, NULL), KZ_ENOTFOUND);

    /* done: closed_at set; a change of assignee and due keeps the status */
    cr_assert_eq(kz_store_task_set(st, t1, "done", NULL, KZ_TASK_DUE_KEPT, 50), 0);
    cr_assert_eq(kz_store_task_get(st, t1, keep_task, NULL), 0);
    cr_assert_str_eq(got_task_status, "done");
    cr_assert_eq(got_task.closed_at, 50);
    cr_assert_eq(got_task.due, 20100);
    cr_assert_eq(kz_store_task_set(st, t1, "cancelled", NULL, KZ_TASK_DUE_KEPT, 60), 0);
    cr_assert_eq(kz_store_task_get(st, t1, keep_task, NULL), 0);
    cr_assert_eq(got_task.closed_at, 50, "still closed since it was first closed");
    /* reopened: cleared */
    cr_assert_eq(kz_store_task_set(st, t1, "open", "lee", KZ_DAY_NONE, 70), 0);
    cr_assert_eq(kz_store_task_get(st, t1, keep_task, NULL), 0);
    cr_assert_str_eq(got_task_text, "Renewal call|Ask about seats|acc1|lee|open|rule:r1|renewal");
    cr_assert_eq(got_task.closed_at, 0);
    cr_assert_eq(got_task.due, KZ_DAY_NONE);
    cr_assert_eq(got_task.updated_at, 70);
    cr_assert_eq(kz_store_task_set(st, t1, NULL, NULL, 20050, 80), 0);
    cr_assert_eq(kz_store_task_get(st, t1, keep_task, NULL), 0);
    cr_assert_eq(got_task.due, 20050);
    cr_assert_str_eq(got_task_assignee, "lee");

    /* a task of nobody and no account */
    int64_t t2 = add_task("Tidy", 0, NULL, KZ_DAY_NONE);
    cr_assert_eq(kz_store_task_get(st, t2, keep_task, NULL), 0);
    cr_assert_str_eq(got_task_text, "Tidy|-|-|-|open|user:ann|-");
    cr_assert_eq(got_task.account_id, 0);
    cr_assert_eq(got_task.firing_id, 0);
    int64_t t3 = add_task("Onboard", b, "kim", 20000);
    int64_t t4 = add_task("QBR", b, "lee", 20200);
    cr_assert_eq(kz_store_task_set(st, t3, "done", NULL, KZ_TASK_DUE_KEPT, 90), 0);
    (void)t4;

    kz_task_query any = { .due_before = KZ_DAY_NONE };
    cr_assert_str_eq(find_tasks(any), "Renewal call:1;Tidy:2;Onboard:3;QBR:4;");
    kz_task_query q = any;
    q.assignee = "lee";
    cr_assert_str_eq(find_tasks(q), "Renewal call:1;QBR:4;");
    q = any;
    q.account_id = b;
    cr_assert_str_eq(find_tasks(q), "Onboard:3;QBR:4;");
    q = any;
    q.status = "open";
    cr_assert_str_eq(find_tasks(q), "Renewal call:1;Tidy:2;QBR:4;");
    q.assignee = "kim";
    cr_assert_str_eq(find_tasks(q), "");
    /* overdue on day 20100: due before it (a task due on it is not yet) */
    q = any;
    q.due_before = 20100;
    cr_assert_str_eq(find_tasks(q), "Renewal call:1;Onboard:3;");
    q.status = "open";
    cr_assert_str_eq(find_tasks(q), "Renewal call:1;");
    q = any;
    q.due_before = 20050;
    cr_assert_str_eq(find_tasks(q), "Onboard:3;");
    /* paging by id */
    q = any;
    q.limit = 2;
    cr_assert_str_eq(find_tasks(q), "Renewal call:1;Tidy:2;");
    q.after_id = 2;
    cr_assert_str_eq(find_tasks(q), "Onboard:3;QBR:4;");
    q.after_id = 4;
    cr_assert_str_eq(find_tasks(q), "");
}

Test(store_playbook, deleting_an_account_takes_its_tasks_and_keeps_its_firings)
{
    int64_t a = add_account("acc1"), b = add_account("acc2");
    int64_t f = fire("r1", "acc1", a, "w1", 100);
    fire("r1", "acc2", b, "w1", 200);
    kz_delivery_rec d = { .firing_id = f, .kind = "webhook", .payload = "{}" };
    int64_t did;
    cr_assert_eq(kz_store_delivery_add(st, &d, 100, &did), 0);
    kz_task_rec t = { .title = "Call", .account_id = a, .due = KZ_DAY_NONE, .source = "rule:r1", .firing_id = f };
    int64_t ta, tb;
    cr_assert_eq(kz_store_task_add(st, &t, 100, &ta), 0);
    t.account_id = b;
    cr_assert_eq(kz_store_task_add(st, &t, 100, &tb), 0);

    kz_value key = TXT("acc1");
    cr_assert_eq(kz_store_delete(st, KZ_ENT_ACCOUNT, &key), 0, "%s", kz_error_msg());
    cr_assert_eq(kz_store_task_get(st, ta, keep_task, NULL), KZ_ENOTFOUND);
    cr_assert_eq(kz_store_task_get(st, tb, keep_task, NULL), 0);
    seen w = { "", 0 };
    cr_assert_eq(kz_store_firings_each(st, NULL, 0, 0, 0, list_firing_account, &w), 0);
    cr_assert_str_eq(w.s, "acc2:2;NULL:0;");
    /* the record stays whole: still once per window, still delivered */
    cr_assert_eq(fire("r1", "acc1", 0, "w1", 100), 0);
    kz_time near;
    cr_assert_eq(kz_store_firing_near(st, "r1", "account", "acc1", 150, 100, &near), 0);
    cr_assert_eq(near, 100);
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_deliveries_each(st, NULL, f, 0, list_delivery, &w), 0);
    cr_assert_str_eq(w.s, "webhook/{}/pending/0/100/-/r1:0;");
    /* removing the rule keeps its firings too */
    put_rule("r1", "{}", "on", 300, 1);
    cr_assert_eq(kz_store_rule_remove(st, "r1"), 0);
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_firings_each(st, "r1", 0, 0, 0, list_firing, &w), 0);
    cr_assert_eq(w.n, 2);
}

Test(store_playbook, rule_state_is_remembered_replaced_and_forgotten)
{
    char *v = (char *)"untouched";
    cr_assert_eq(kz_store_rule_state_get(st, "r1", "acc1", &v), 0);
    cr_assert_null(v);
    cr_assert_eq(kz_store_rule_state_put(st, "r1", "acc1", "{\"held\":true}", 10), 0);
    cr_assert_eq(kz_store_rule_state_put(st, "r1", "acc2", "{\"held\":false}", 10), 0);
    cr_assert_eq(kz_store_rule_state_get(st, "r1", "acc1", &v), 0);
    cr_assert_str_eq(v, "{\"held\":true}");
    free(v);
    cr_assert_eq(kz_store_rule_state_put(st, "r1", "acc1", "{\"held\":false}", 20), 0);
    cr_assert_eq(kz_store_rule_state_get(st, "r1", "acc1", &v), 0);
    cr_assert_str_eq(v, "{\"held\":false}");
    free(v);
    cr_assert_eq(kz_store_rule_state_get(st, "r2", "acc1", &v), 0);
    cr_assert_null(v);
    cr_assert_eq(kz_store_rule_state_put(st, "r1", "acc1", NULL, 30), 0);
    cr_assert_eq(kz_store_rule_state_get(st, "r1", "acc1", &v), 0);
    cr_assert_null(v);
    cr_assert_eq(kz_store_rule_state_put(st, "r1", "acc1", NULL, 30), 0, "forgetting nothing is fine");
    cr_assert_eq(kz_store_rule_state_get(st, "r1", "acc2", &v), 0);
    cr_assert_str_eq(v, "{\"held\":false}");
    free(v);
    cr_assert_eq(kz_store_rule_state_get(st, "r1", NULL, &v), KZ_EINVALID);
}

Test(store_playbook, a_read_only_store_refuses_every_write)
{
    int64_t a = add_account("acc1");
    put_rule("r1", "{}", "on", 1, 1);
    int64_t f = fire("r1", "acc1", a, "w1", 1);
    int64_t tid = add_task("Call", a, "kim", KZ_DAY_NONE);
    kz_delivery_rec d = { .firing_id = f, .kind = "email", .payload = "{}" };
    int64_t did;
    cr_assert_eq(kz_store_delivery_add(st, &d, 1, &did), 0);
    kz_store_close(st);
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_READONLY), 0, "%s", kz_error_msg());

    kz_rule_rec r = { "r2", "{}", "on", "cli", 0, 0, 0 };
    cr_assert_eq(kz_store_rule_put(st, &r, 2, NULL), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "read-only"), "%s", kz_error_msg());
    cr_assert_eq(kz_store_rule_set_mode(st, "r1", "off", 0, 2), KZ_EINVALID);
    cr_assert_eq(kz_store_rule_remove(st, "r1"), KZ_EINVALID);
    kz_firing_rec fr = { 0, "r1", "account", "acc1", a, NULL, "w2", 2, 2, "x", NULL, 0 };
    int64_t id;
    cr_assert_eq(kz_store_firing_add(st, &fr, &id), KZ_EINVALID);
    cr_assert_eq(kz_store_delivery_add(st, &d, 2, &id), KZ_EINVALID);
    cr_assert_eq(kz_store_delivery_set(st, did, "done", 1, 0, NULL, 2), KZ_EINVALID);
    kz_task_rec t = { .title = "T", .due = KZ_DAY_NONE, .source = "cli" };
    cr_assert_eq(kz_store_task_add(st, &t, 2, &id), KZ_EINVALID);
    cr_assert_eq(kz_store_task_set(st, tid, "done", NULL, KZ_TASK_DUE_KEPT, 2), KZ_EINVALID);
    cr_assert_eq(kz_store_rule_state_put(st, "r1", "acc1", "1", 2), KZ_EINVALID);
    /* reads work, and nothing changed */
    cr_assert_eq(kz_store_rule_get(st, "r1", keep_rule, NULL), 0);
    cr_assert_str_eq(got_rule_mode, "on");
    cr_assert_eq(kz_store_task_get(st, tid, keep_task, NULL), 0);
    cr_assert_str_eq(got_task_status, "open");
    seen w = { "", 0 };
    cr_assert_eq(kz_store_firings_each(st, NULL, 0, 0, 0, list_firing, &w), 0);
    cr_assert_str_eq(w.s, "w1:1;");
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_deliveries_due(st, 10, 0, list_delivery, &w), 0);
    cr_assert_eq(w.n, 1);
}

/* Schema 11 makes rule_firings again (a subject kind for the business):
 * the firings of a schema 10 file keep their ids, so deliveries and tasks
 * still point at them, and foreign keys hold again afterwards. */
/* A firing written as schema 10 had them (no why: this code's statements would not fit), by SQL on the
 * file; its id, or 0 when the schema refused it. */
static int64_t fire_v10(const char *path, const char *kind, const char *subject, int64_t account, const char *window,
                        kz_time at)
{
    sqlite3 *h;
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_open(path, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(h,
                                    "INSERT INTO rule_firings (rule, subject_kind, subject, account_id, window_key, at, "
                                    "fired_at, reason, dry_run) VALUES ('r1', ?1, ?2, ?3, ?4, ?5, ?5 + 5, 'x', 0)",
                                    -1, &q, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(h));
    sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, subject, -1, SQLITE_STATIC);
    if (account)
        sqlite3_bind_int64(q, 3, account);
    else
        sqlite3_bind_null(q, 3);
    sqlite3_bind_text(q, 4, window, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, at);
    int64_t id = sqlite3_step(q) == SQLITE_DONE ? sqlite3_last_insert_rowid(h) : 0;
    sqlite3_finalize(q);
    sqlite3_close(h);
    return id;
}

Test(store_playbook, schema_11_keeps_firings_deliveries_and_tasks_and_takes_the_business)
{
    char *old = kt_path(dir, "v10.db");
    kz_store_close(st);
    cr_assert_eq(kz_sqlite_open_at_version(&st, old, 10), 0, "%s", kz_error_msg());
    int64_t a = add_account("acc1");
    int64_t f1 = fire_v10(old, "account", "acc1", a, "w1", 100), f2 = fire_v10(old, "account", "acc1", a, "w2", 300);
    cr_assert(f1 && f2);
    kz_delivery_rec d = { .firing_id = f2, .kind = "webhook", .payload = "{}" };
    int64_t did = 0, tid = 0;
    cr_assert_eq(kz_store_delivery_add(st, &d, 1, &did), 0, "%s", kz_error_msg());
    kz_task_rec t = { .title = "Call", .account_id = a, .source = "rule:r1", .firing_id = f1, .due = KZ_DAY_NONE };
    cr_assert_eq(kz_store_task_add(st, &t, 5, &tid), 0, "%s", kz_error_msg());
    cr_assert_eq(fire_v10(old, "business", "business", 0, "anomaly:1", 50), 0, "schema 10 has no business firings");
    kz_store_close(st);
    kz_firing_rec b = { 0, "r1", "business", "business", 0, NULL, "anomaly:1", 50, 55, "dau fell", NULL, 0 };
    int64_t bid = 0;

    cr_assert_eq(kz_store_open(&st, old, 0), 0, "%s", kz_error_msg());
    int cur = 0, latest = 0;
    kz_store_schema_version(st, &cur, &latest);
    cr_assert_eq(cur, latest);
    seen w = { "", 0 };
    cr_assert_eq(kz_store_firings_each(st, "r1", 0, 0, 0, list_firing, &w), 0);
    cr_assert_str_eq(w.s, "w2:300;w1:100;");
    w = (seen){ "", 0 };
    cr_assert_eq(kz_store_deliveries_each(st, NULL, f2, 0, list_delivery, &w), 0);
    cr_assert_str_eq(w.s, "webhook/{}/pending/0/1/-/r1:1;", "the delivery still names its firing's rule and account");
    cr_assert_eq(kz_store_task_get(st, tid, keep_task, NULL), 0);
    cr_assert_eq(got_task.firing_id, f1);
    /* the business now */
    cr_assert_eq(kz_store_firing_add(st, &b, &bid), 0, "%s", kz_error_msg());
    cr_assert_gt(bid, f2);
    /* the same window again: once */
    int64_t again = -1;
    cr_assert_eq(kz_store_firing_add(st, &b, &again), 0);
    cr_assert_eq(again, 0);
    /* foreign keys are on again: a delivery of no firing is refused */
    kz_delivery_rec bad = { .firing_id = 9999, .kind = "webhook", .payload = "{}" };
    cr_assert_neq(kz_store_delivery_add(st, &bad, 1, &did), 0);
    free(old);
}
