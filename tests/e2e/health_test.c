/*
 * health_test.c - `kizuna health` on a demo world (400 accounts, seed 7) and
 * on the hand-built signals world: scores, an account in words, the backtest
 * against real churn, segments of a definition, and bad definitions.
 *
 * The backtest threshold: the built-in definition reaches a ROC AUC of 0.74
 * on this world (usage falls before 85 % of its churns, risky accounts open
 * more tickets and answer NPS lower); 0.65 leaves room for honest changes
 * while a score that stops foreseeing churn (0.5) fails.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/support.h"

static char *world(void)
{
    return kt_demo_world(400, 7);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(v), "%s", key);
    return v->valuedouble;
}

Test(health, scores_backtest_and_segments, .timeout = 120)
{
    char *dir = world();
    kt_run r;
    /* every paying account, the weakest first, reasons in words */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "score", "--format", "json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *rows = cJSON_Parse(r.out), *row;
    cr_assert(cJSON_IsArray(rows) && cJSON_GetArraySize(rows) > 250, "%s", r.out);
    double last = -1;
    int red = 0;
    cJSON_ArrayForEach(row, rows)
    {
        double s = num(row, "score");
        cr_assert(s >= 0 && s <= 100 && s >= last, "%f after %f", s, last);
        last = s;
        const char *band = cJSON_GetObjectItemCaseSensitive(row, "band")->valuestring;
        cr_assert(strcmp(band, s >= 70 ? "green" : s >= 40 ? "yellow" : "red") == 0, "%f is %s", s, band);
        red += strcmp(band, "red") == 0;
    }
    cr_assert_gt(red, 0);
    cJSON_Delete(rows);
    kt_run_free(&r);
    /* one account: the factors add up to its score */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "score", "--top", "1", "--format", "csv", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    char acc[32];
    cr_assert_eq(sscanf(strchr(r.out, '\n') + 1, "%31[^,]", acc), 1);
    double score = strtod(strchr(strchr(r.out, '\n') + 1, ',') + 1, NULL);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "show", acc, "--format", "json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    rows = cJSON_Parse(r.out);
    double total = 0, weights = 0;
    cJSON_ArrayForEach(row, rows)
    {
        total += num(row, "adds");
        weights += num(row, "weight");
        cr_assert(strlen(cJSON_GetObjectItemCaseSensitive(row, "says")->valuestring) > 5);
    }
    cr_assert_float_eq(total, score, 0.35, "%s: factors add %f, score %f", acc, total, score);
    cr_assert_float_eq(weights, 100, 0.1);
    cJSON_Delete(rows);
    kt_run_free(&r);
    /* the backtest: the score foresees churn; red churns most */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "backtest", "--format", "json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *bt = cJSON_Parse(r.out);
    cr_assert_not_null(bt, "%s", r.out);
    cr_assert_geq(num(bt, "roc_auc"), 0.65, "%s", r.out);
    const cJSON *bands = cJSON_GetObjectItemCaseSensitive(bt, "bands");
    double g = num(cJSON_GetObjectItemCaseSensitive(bands, "green"), "churn_rate");
    double y = num(cJSON_GetObjectItemCaseSensitive(bands, "yellow"), "churn_rate");
    double rr = num(cJSON_GetObjectItemCaseSensitive(bands, "red"), "churn_rate");
    cr_assert(g < y && y < rr, "green %f, yellow %f, red %f", g, y, rr);
    cr_assert_gt(num(bt, "red_lift"), 2);
    cJSON_Delete(bt);
    kt_run_free(&r);
    /* suggested weights, judged beside the current ones; the suggestion is a
     * definition that scores */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "suggest", "--format", "json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *sg = cJSON_Parse(r.out);
    cr_assert_not_null(sg, "%s", r.out);
    double ac = num(sg, "roc_auc_current"), as = num(sg, "roc_auc_suggested");
    cr_assert(ac > 0.6 && ac < 1 && as > 0.6 && as < 1, "%f %f", ac, as);
    char *def = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(sg, "definition"));
    kt_write(kt_path(dir, "suggested.json"), def, (size_t)-1);
    free(def);
    cJSON_Delete(sg);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "score", "--definition", "suggested.json", "--top", "3", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(kt_lines(r.out), 4, "%s", r.out);
    kt_run_free(&r);
    /* history: recorded with the definition's version; a new definition is a
     * new version, and a diff across it tells the definition's part apart */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "record", "--from", "2026-09-01", "--to", "2026-09-03", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "on 3 days (2026-09-01 to 2026-09-03) with health definition version 0"), "%s", r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "history", acc, "--format", "csv", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(kt_lines(r.out), 4, "%s", r.out);
    cr_assert(kt_contains(r.out, "\n2026-09-01,") && kt_contains(r.out, ",0\n"), "%s", r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "definition", NULL);
    char *def1 = strdup(r.out);
    kt_run_free(&r);
    char *w = strstr(def1, "\"weight\":20");
    cr_assert_not_null(w, "%s", def1);
    memcpy(w, "\"weight\":60", 11); /* the first factor weighs more */
    kt_write(kt_path(dir, "v1.json"), def1, (size_t)-1);
    free(def1);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "define", "v1.json", NULL);
    cr_assert(kt_contains(r.out, "stored as health definition version 1"), "%s %s", r.out, r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "define", "v1.json", NULL);
    cr_assert(kt_contains(r.out, "version 1 already"), "%s", r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "record", "--as-of", "2026-10-31", NULL);
    cr_assert(kt_contains(r.out, "with health definition version 1"), "%s %s", r.out, r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "diff", acc, "--from", "2026-09-01", "--to", "2026-10-31",
               "--format", "json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *df = cJSON_Parse(r.out);
    cr_assert_not_null(df, "%s", r.out);
    double from = num(df, "from"), to = num(df, "to"), cust = num(df, "customer_change"),
           bydef = num(df, "definition_change");
    cr_assert_float_eq(from + cust + bydef, to, 1e-9, "%s", r.out);
    cr_assert_neq(bydef, 0, "%s", r.out);
    double parts = 0;
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(df, "factors"), *one;
    cJSON_ArrayForEach(one, fs) parts += num(one, "change");
    cr_assert_float_eq(parts, cust, 1e-9);
    cJSON_Delete(df);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "diff", acc, "--from", "2026-09-01", "--to", "2026-10-31",
               NULL);
    cr_assert(kt_contains(r.out, "from the new health definition (version 0 to 1), not from the customer"), "%s",
              r.out);
    kt_run_free(&r);
    /* a definition with segments: enterprise first, the rest after */
    kt_write(kt_path(dir, "def.json"),
             "{\"name\": \"two\", \"bands\": {\"green\": 60, \"yellow\": 30}, \"segments\": ["
             "{\"name\": \"enterprise\", \"filter\": [\"plan=enterprise\"], \"factors\": ["
             "{\"name\": \"Users\", \"signal\": \"mau\", \"curve\": \"percentile\", \"weight\": 1}]},"
             "{\"name\": \"others\", \"factors\": ["
             "{\"name\": \"Activity\", \"signal\": \"days_since_last_event\", \"curve\": \"linear\", \"zero\": 30,"
             " \"full\": 0, \"weight\": 2},"
             "{\"name\": \"Size\", \"field\": \"employees\", \"curve\": \"linear\", \"zero\": 0, \"full\": 500,"
             " \"weight\": 1}]}]}",
             (size_t)-1);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "score", "--definition", "def.json", "--format", "csv", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, ",enterprise,") && kt_contains(r.out, ",others,"), "%s", r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "definition", "--definition", "def.json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "\"filter\":[\"plan=enterprise\"]"), "%s", r.out);
    kt_run_free(&r);
    kt_rmrf(dir);
}

Test(health, errors)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_fixture("signals"));
    kt_write(kt_path(dir, "bad.json"), "{\"segments\": [{\"name\": \"a\", \"factors\": [{\"name\": \"x\", "
                                       "\"signal\": \"mau\", \"curve\": \"linear\", \"weight\": 1}]}]}",
             (size_t)-1);
    kt_write(kt_path(dir, "badseg.json"), "{\"segments\": [{\"name\": \"a\", \"filter\": [\"colour=red\"], "
                                          "\"factors\": [{\"name\": \"x\", \"signal\": \"mau\", \"curve\": "
                                          "\"percentile\", \"weight\": 1}]}]}",
             (size_t)-1);
    static const struct {
        const char *args[8];
        int status;
        const char *says;
    } bad[] = {
        { { "score", "--definition", "bad.json", NULL }, 2, "bad.json: segments[0].factors[0].zero: missing" },
        { { "score", "--definition", "none.json", NULL }, 2, "cannot read none.json" },
        { { "score", "--definition", "badseg.json", NULL }, 2, "segment 'a': 'colour' is not an attribute" },
        { { "show", NULL }, 2, "show which account" },
        { { "show", "nobody", NULL }, 2, "no account 'nobody'" },
        { { "show", "s4", NULL }, 1, "s4 does not pay on 2024-06-30" },
        { { "rate", NULL }, 2, "unknown subcommand 'rate'" },
        { { "diff", "s1", "--from", "2024-06-01", NULL }, 2, "diff needs --from DATE and --to DATE" },
        { { "score", "--from", "2024-06-01", NULL }, 2, "--from and --to: for record, history and diff" },
        { { "history", "nobody", NULL }, 2, "no account 'nobody'" },
        { { "define", NULL }, 2, "define which file?" },
        { { "backtest", "--top", "3", NULL }, 2, "--top: only health score" },
        { { "backtest", NULL }, 1, "the history is too short" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[12] = { "--db", "k.db", "health" };
        size_t n = 3;
        for (size_t k = 0; bad[i].args[k]; k++)
            argv[n++] = bad[i].args[k];
        argv[n] = NULL;
        kt_run r;
        kt_kizuna(&r, dir, NULL, argv);
        cr_assert_eq(r.status, bad[i].status, "case %zu: %d %s", i, r.status, r.err);
        cr_assert(kt_contains(r.err, bad[i].says), "case %zu: %s", i, r.err);
        kt_run_free(&r);
    }
    /* the curves on known values: at 2024-06-30 s1 has 2 active users, s2 1, s3 0
     * (s4 does not pay): linear 0..4 gives 50; steps (at most 1: 100, else 30)
     * 30; the percentile among 2, 1, 0 is (2 below + half of 1 equal) / 3 =
     * 83.3; missing NPS... s1 has one: 4 of 0..10 = 40 */
    kt_write(kt_path(dir, "curves.json"),
             "{\"segments\": [{\"name\": \"all\", \"factors\": ["
             "{\"name\": \"lin\", \"signal\": \"active_users\", \"curve\": \"linear\", \"zero\": 0, \"full\": 4, \"weight\": 1},"
             "{\"name\": \"steps\", \"signal\": \"active_users\", \"curve\": \"steps\", \"steps\": [{\"at_most\": 1,"
             " \"points\": 100}], \"else\": 30, \"weight\": 1},"
             "{\"name\": \"pct\", \"signal\": \"active_users\", \"curve\": \"percentile\", \"weight\": 1},"
             "{\"name\": \"nps\", \"signal\": \"nps_last\", \"curve\": \"linear\", \"zero\": 0, \"full\": 10,"
             " \"missing\": 70, \"weight\": 1}]}]}",
             (size_t)-1);
    kt_run r0;
    kt_kizunav(&r0, dir, NULL, "--db", "k.db", "health", "show", "s1", "--definition", "curves.json", "--format", "csv",
               NULL);
    cr_assert_eq(r0.status, 0, "%s", r0.err);
    cr_assert(kt_contains(r0.out, "\nlin,2.0,50.0,25.0,12.5,"), "%s", r0.out);
    cr_assert(kt_contains(r0.out, "\nsteps,2.0,30.0,25.0,7.5,"), "%s", r0.out);
    cr_assert(kt_contains(r0.out, "\npct,2.0,83.3,25.0,20.8,"), "%s", r0.out);
    cr_assert(kt_contains(r0.out, "\nnps,4.0,40.0,25.0,10.0,"), "%s", r0.out);
    kt_run_free(&r0);
    /* s3 has no NPS answer: the missing points */
    kt_kizunav(&r0, dir, NULL, "--db", "k.db", "health", "show", "s3", "--definition", "curves.json", "--format", "csv",
               NULL);
    cr_assert(kt_contains(r0.out, "\nnps,,70.0,25.0,17.5,no NPS answer yet\n"), "%s", r0.out);
    cr_assert(kt_contains(r0.out, "\npct,0.0,16.7,25.0,4.2,"), "%s", r0.out);
    kt_run_free(&r0);
    /* events and milestones: s1 logged in once in the last 28 days (10 June) and
     * has used login and report.view of the three milestones */
    kt_write(kt_path(dir, "events.json"),
             "{\"segments\": [{\"name\": \"all\", \"factors\": ["
             "{\"name\": \"logins\", \"event\": \"login\", \"days\": 28, \"curve\": \"linear\", \"zero\": 0,"
             " \"full\": 4, \"weight\": 1},"
             "{\"name\": \"onboarding\", \"milestones\": [\"login\", \"report.view\", \"export\"], \"curve\":"
             " \"linear\", \"zero\": 0, \"full\": 3, \"weight\": 1}]}]}",
             (size_t)-1);
    kt_kizunav(&r0, dir, NULL, "--db", "k.db", "health", "show", "s1", "--definition", "events.json", "--format", "csv",
               NULL);
    cr_assert_eq(r0.status, 0, "%s", r0.err);
    cr_assert(kt_contains(r0.out, "\nlogins,1.0,25.0,50.0,12.5,1 login events in the last 28 days\n"), "%s", r0.out);
    cr_assert(kt_contains(r0.out, "\nonboarding,2.0,66.7,50.0,33.3,2 of 3 milestones reached\n"), "%s", r0.out);
    kt_run_free(&r0);
    /* the hand-built world: s1 is the only paying account with usage */
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "health", "show", "s1", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "active users went from 3 to 2 between the last two windows"), "%s", r.out);
    cr_assert(kt_contains(r.out, "the oldest open ticket is 121 days old"), "%s", r.out);
    cr_assert(kt_contains(r.out, "last NPS answer 4, 20 days ago"), "%s", r.out);
    kt_run_free(&r);
    kt_rmrf(dir);
}
