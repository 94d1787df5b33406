/*
 * rules_run_test.c - the anomaly trigger of kz_rules_run (src/rules/run.c) on
 * a real SQLite file: an anomaly of one account's series fires once for that
 * account; business-wide ones, other series and anomalies found before the
 * rule was switched on do not. A rule naming a business-wide series fires
 * once for the business, with no account. The backtest finds the same.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/error.h"
#include "core/time.h"
#include "rules/run.h"
#include "store/store.h"
#include "../support/support.h"

static char *dir;

static void setup(void)
{
    dir = kt_tmpdir();
}

static void teardown(void)
{
    kt_rmrf(dir);
}

TestSuite(rules_run, .init = setup, .fini = teardown);

#define TXT(s) kz_vtext(s, strlen(s))

static void account(kz_store *st, const char *key)
{
    kz_value row[KZ_ACCOUNT_NCOLS] = { TXT(key), TXT(key), kz_vnull(), kz_vnull(), TXT("alice"), kz_vint(0) };
    cr_assert_eq(kz_store_upsert(st, KZ_ENT_ACCOUNT, row, 0x13, 0, NULL, NULL), 0, "%s", kz_error_msg());
}

static int count_firings(void *ctx, const kz_firing_rec *f)
{
    cr_assert_str_eq(f->account_key, "a1");
    cr_assert(strstr(f->window_key, "anomaly:"), "%s", f->window_key);
    (*(int *)ctx)++;
    return KZ_OK;
}

Test(rules_run, an_account_anomaly_fires_once_for_its_account)
{
    char *db = kt_path(dir, "k.db");
    kz_store *st;
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0, "%s", kz_error_msg());
    account(st, "a1");
    account(st, "a2");
    kz_time now = kz_now();
    kz_day today = kz_time_day(now);
    kz_anomaly_rec v[3] = {
        { .series = "account/a1", .kind = "account", .grain = "day", .day = today - 1, .until = today - 1,
          .observed = 1, .expected = 50, .low = 30, .high = 70, .score = 0.99, .higher = 0, .unit = "count",
          .message = "a1 went silent" },
        { .series = "dau", .kind = "dau", .grain = "day", .day = today - 1, .until = today - 1, .observed = 1,
          .expected = 50, .low = 30, .high = 70, .score = 0.99, .higher = 0, .unit = "count", .message = "dau" },
        { .series = "account/a2", .kind = "account", .grain = "day", .day = today - 1, .until = today - 1,
          .observed = 90, .expected = 50, .low = 30, .high = 70, .score = 0.99, .higher = 1, .unit = "count",
          .message = "a2 is up" },
    };
    cr_assert_eq(kz_store_anomalies_put(st, v, 3, now, NULL), 0, "%s", kz_error_msg());
    static const char rule[] = "{\"id\":\"silent\",\"trigger\":{\"kind\":\"anomaly\",\"series\":\"account\","
                               "\"direction\":\"down\"},\"actions\":[{\"kind\":\"task\",\"title\":\"{{trigger.reason}}\"}]}";
    kz_rule_rec rec = { .name = "silent", .definition = rule, .mode = "on", .source = "test" };
    /* switched on just before the anomalies were found */
    cr_assert_eq(kz_store_rule_put(st, &rec, now - KZ_USEC_PER_SEC, NULL), 0, "%s", kz_error_msg());
    for (int pass = 0; pass < 2; pass++) {
        kz_ruleset *rs;
        kz_run_stats s;
        cr_assert_eq(kz_ruleset_load(&rs, st), 0, "%s", kz_error_msg());
        cr_assert_eq(kz_rules_run(st, rs, NULL, now, &s), 0, "%s", kz_error_msg());
        cr_assert_eq(s.fired, pass == 0 ? 1 : 0, "pass %d fired %lld", pass, (long long)s.fired);
        kz_ruleset_free(rs);
    }
    int n = 0;
    cr_assert_eq(kz_store_firings_each(st, "silent", 0, 0, 10, count_firings, &n), 0);
    cr_assert_eq(n, 1);
    /* a rule switched on after the anomalies were found does not act on them */
    static const char late[] = "{\"id\":\"late\",\"trigger\":{\"kind\":\"anomaly\"},"
                               "\"actions\":[{\"kind\":\"task\",\"title\":\"late\"}]}";
    kz_rule_rec rec2 = { .name = "late", .definition = late, .mode = "on", .source = "test" };
    cr_assert_eq(kz_store_rule_put(st, &rec2, now + KZ_USEC_PER_SEC, NULL), 0);
    kz_ruleset *rs;
    kz_run_stats s;
    cr_assert_eq(kz_ruleset_load(&rs, st), 0);
    cr_assert_eq(kz_rules_run(st, rs, NULL, now + 2 * KZ_USEC_PER_SEC, &s), 0, "%s", kz_error_msg());
    cr_assert_eq(s.fired, 0);
    /* a backtest of the window finds a1's anomaly whatever the rule's start, as of the day after it */
    kz_rule *r = NULL;
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->rules[i]->id, "silent") == 0)
            r = rs->rules[i];
    cr_assert_not_null(r);
    kz_backtest *b;
    cr_assert_eq(kz_rules_backtest(&b, st, r, now - 3 * KZ_USEC_PER_DAY, now), 0, "%s", kz_error_msg());
    cr_assert_eq(b->n, 1);
    cr_assert_str_eq(b->hits[0].account, "a1");
    cr_assert_eq(b->hits[0].at, kz_day_time(today));
    cr_assert(strncmp(b->hits[0].key, "anomaly:", 8) == 0, "%s", b->hits[0].key);
    cr_assert_str_eq(b->hits[0].reason, "a1 went silent");
    kz_backtest_free(b);
    /* a window that ends before it: nothing */
    cr_assert_eq(kz_rules_backtest(&b, st, r, now - 10 * KZ_USEC_PER_DAY, now - 3 * KZ_USEC_PER_DAY), 0);
    cr_assert_eq(b->n, 0);
    kz_backtest_free(b);
    kz_ruleset_free(rs);
    kz_store_close(st);
    free(db);
}

static int business_firing(void *ctx, const kz_firing_rec *f)
{
    cr_assert_str_eq(f->subject_kind, "business");
    cr_assert_str_eq(f->subject, "business");
    cr_assert_eq(f->account_id, 0);
    cr_assert_null(f->account_key);
    cr_assert_str_eq(f->reason, "dau fell");
    (*(int *)ctx)++;
    return KZ_OK;
}

static int business_task(void *ctx, const kz_task_rec *t)
{
    cr_assert_str_eq(t->title, "DAU: dau fell");
    cr_assert_eq(t->account_id, 0);
    cr_assert_str_eq(t->assignee, "carol");
    (*(int *)ctx)++;
    return KZ_OK;
}

Test(rules_run, a_business_wide_anomaly_fires_once_for_the_business)
{
    char *db = kt_path(dir, "k.db");
    kz_store *st;
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0, "%s", kz_error_msg());
    account(st, "a1");
    kz_time now = kz_now();
    kz_day today = kz_time_day(now);
    kz_anomaly_rec v[2] = {
        { .series = "dau", .kind = "dau", .grain = "day", .day = today - 1, .until = today - 1, .observed = 1,
          .expected = 50, .low = 30, .high = 70, .score = 0.99, .higher = 0, .unit = "count", .message = "dau fell" },
        { .series = "account/a1", .kind = "account", .grain = "day", .day = today - 1, .until = today - 1,
          .observed = 1, .expected = 50, .low = 30, .high = 70, .score = 0.99, .higher = 0, .unit = "count",
          .message = "a1 went silent" },
    };
    cr_assert_eq(kz_store_anomalies_put(st, v, 2, now, NULL), 0, "%s", kz_error_msg());
    static const char rule[] = "{\"id\":\"dau\",\"trigger\":{\"kind\":\"anomaly\",\"series\":\"dau\"},"
                               "\"actions\":[{\"kind\":\"task\",\"assignee\":\"carol\","
                               "\"title\":\"DAU: {{trigger.reason}}{{account.name}}\"}]}";
    kz_rule_rec rec = { .name = "dau", .definition = rule, .mode = "on", .source = "test" };
    cr_assert_eq(kz_store_rule_put(st, &rec, now - KZ_USEC_PER_SEC, NULL), 0, "%s", kz_error_msg());
    for (int pass = 0; pass < 2; pass++) {
        kz_ruleset *rs;
        kz_run_stats s;
        cr_assert_eq(kz_ruleset_load(&rs, st), 0, "%s", kz_error_msg());
        cr_assert_eq(kz_rules_run(st, rs, NULL, now, &s), 0, "%s", kz_error_msg());
        cr_assert_eq(s.fired, pass == 0 ? 1 : 0, "pass %d fired %lld", pass, (long long)s.fired);
        if (pass == 0) {
            /* the backtest finds it too, with no account */
            kz_backtest *b;
            cr_assert_eq(kz_rules_backtest(&b, st, rs->rules[0], now - 3 * KZ_USEC_PER_DAY, now), 0);
            cr_assert_eq(b->n, 1);
            cr_assert_null(b->hits[0].account);
            cr_assert_eq(b->subjects, 1);
            kz_backtest_free(b);
        }
        kz_ruleset_free(rs);
    }
    int n = 0;
    cr_assert_eq(kz_store_firings_each(st, "dau", 0, 0, 10, business_firing, &n), 0);
    cr_assert_eq(n, 1, "only the dau anomaly, once");
    kz_task_query q;
    memset(&q, 0, sizeof q);
    q.due_before = KZ_DAY_NONE;
    q.limit = 100;
    n = 0;
    cr_assert_eq(kz_store_tasks_each(st, &q, business_task, &n), 0, "%s", kz_error_msg());
    cr_assert_eq(n, 1);
    kz_store_close(st);
    free(db);
}
