/*
 * rules_run_test.c - the anomaly trigger of kz_rules_run (src/rules/run.c) on
 * a real SQLite file: an anomaly of one account's series fires once for that
 * account; business-wide ones, other series and anomalies found before the
 * rule was switched on do not.
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
    kz_ruleset_free(rs);
    kz_store_close(st);
    free(db);
}
