/*
 * churn_test.c - `kizuna churn evaluate` on a demo world, which is built to
 * carry signal: usage falls over the 90-120 days before 85 % of churns,
 * risky accounts open more tickets and answer NPS lower (docs/demo.md).
 *
 * The threshold: chance is a ROC AUC of 0.5. On demo worlds of 300-1,000
 * accounts the logistic regression reaches 0.78-0.84 (0.78 for the world
 * below), so 0.70 leaves room for honest changes while any loss of the
 * signal shows; above 0.90 it fails too, since a leak inflates it (an end
 * date known before it happened gave 0.95). The boosted trees reach
 * 0.75-0.77 on these small worlds (about 1,500 training rows, 100 churns:
 * trees need more); they are held to 0.65.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/time.h"
#include "../support/support.h"

static char *world(void)
{
    char *dir = kt_tmpdir();
    kt_run r;
    kt_kizunav(&r, dir, NULL, "demo", "--accounts", "400", "--days", "730", "--seed", "7", "--out", "w", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    kt_import(dir, "w");
    return dir;
}

static kz_day date_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    cr_assert(cJSON_IsString(v), "%s", key);
    kz_day d;
    cr_assert_eq(kz_parse_date(&d, v->valuestring, strlen(v->valuestring)), 0);
    return d;
}

static double num_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    cr_assert(cJSON_IsNumber(v), "%s", key);
    return v->valuedouble;
}

Test(churn, the_logistic_model_foresees_churn_on_later_dates, .timeout = 120)
{
    char *dir = world();
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "churn", "evaluate", "--format", "json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *root = cJSON_Parse(r.out);
    cr_assert_not_null(root, "%s", r.out);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "models"), "logistic");
    cr_assert_not_null(m, "%s", r.out);
    double auc = num_of(m, "roc_auc");
    cr_assert_geq(auc, 0.70, "ROC AUC %.3f", auc);
    cr_assert_leq(auc, 0.90, "ROC AUC %.3f: suspiciously good, look for a leak", auc);
    cr_assert_gt(num_of(m, "pr_auc"), num_of(m, "test_churned") / num_of(m, "test_rows"), "PR AUC above the base rate");
    cr_assert_gt(num_of(m, "top_decile_lift"), 2.0);
    /* no leakage: every training label was known before the first test date */
    cr_assert_leq(date_of(m, "train_to") + 90, date_of(m, "test_from"));
    cr_assert_lt(date_of(m, "train_from"), date_of(m, "train_to"));
    /* the features: the signals, the plan, the attributes (one-hot text) */
    const cJSON *features = cJSON_GetObjectItemCaseSensitive(root, "features"), *f;
    int has_plan = 0, has_region = 0, has_employees = 0, has_onboarded = 0;
    cJSON_ArrayForEach(f, features)
    {
        has_plan |= strncmp(f->valuestring, "plan=", 5) == 0;
        has_region |= strncmp(f->valuestring, "region=", 7) == 0;
        has_employees |= strcmp(f->valuestring, "employees") == 0;
        has_onboarded |= strcmp(f->valuestring, "onboarded_at_days_ago") == 0;
    }
    cr_assert(has_plan && has_region && has_employees && has_onboarded, "%s", r.out);
    cr_assert_gt(num_of(m, "lambda"), 0); /* chosen on the training period */
    /* the boosted trees, side by side, on the same split */
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "models"), "xgboost");
    cr_assert_not_null(x, "%s", r.out);
    cr_assert_geq(num_of(x, "roc_auc"), 0.65, "xgboost ROC AUC %.3f", num_of(x, "roc_auc"));
    cr_assert_eq(date_of(x, "test_from"), date_of(m, "test_from"));
    cr_assert_float_eq(num_of(x, "test_rows"), num_of(m, "test_rows"), 0.5);
    /* the calibration covers every test row */
    const cJSON *cal = cJSON_GetObjectItemCaseSensitive(m, "calibration"), *bin;
    double rows = 0;
    cJSON_ArrayForEach(bin, cal) rows += num_of(bin, "rows");
    cr_assert_eq(cJSON_GetArraySize(cal), 10);
    cr_assert_float_eq(rows, num_of(m, "test_rows"), 0.5);
    cJSON_Delete(root);
    /* the same data, the same bytes */
    char *first = strdup(r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "churn", "evaluate", "--format", "json", NULL);
    cr_assert_str_eq(r.out, first);
    kt_run_free(&r);
    free(first);
    /* fields left out */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "churn", "evaluate", "--no-field", "region", "--no-field", "plan",
               "--format", "json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(!kt_contains(r.out, "\"region=") && !kt_contains(r.out, "\"plan="), "%s", r.out);
    cr_assert(kt_contains(r.out, "\"employees\""), "%s", r.out);
    kt_run_free(&r);
    /* a shorter horizon and step, as a table */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "churn", "evaluate", "--horizon", "30", "--step", "14", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "logistic") && kt_contains(r.out, "Calibration"), "%s", r.out);
    kt_run_free(&r);
    kt_rmrf(dir);
}

Test(churn, errors)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_fixture("reference/edges"));
    kt_run r;
    /* four months of events cannot hold 56 days of history and a 90-day horizon */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "churn", "evaluate", NULL);
    cr_assert_eq(r.status, 1, "%s", r.err);
    cr_assert(kt_contains(r.err, "history is too short"), "%s", r.err);
    cr_assert_str_eq(r.out, "");
    kt_run_free(&r);
    static const struct {
        const char *args[4];
        const char *says;
    } bad[] = {
        { { "predict-everything", NULL }, "unknown subcommand" },
        { { NULL }, "which subcommand" },
        { { "--horizon", "0", "evaluate", NULL }, "--horizon 0" },
        { { "--step", "x", "evaluate", NULL }, "--step x" },
        { { "--test-share", "1.5", "evaluate", NULL }, "--test-share 1.5" },
        { { "--lambda", "-1", "evaluate", NULL }, "--lambda -1" },
        { { "--format", "xml", "evaluate", NULL }, "--format" },
        { { "--filter", "plan~x", "evaluate", NULL }, "plan~x" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[10] = { "--db", "k.db", "churn" };
        size_t n = 3;
        for (size_t k = 0; bad[i].args[k]; k++)
            argv[n++] = bad[i].args[k];
        argv[n] = NULL;
        kt_kizuna(&r, dir, NULL, argv);
        cr_assert_eq(r.status, 2, "case %zu: %d %s", i, r.status, r.err);
        cr_assert(kt_contains(r.err, bad[i].says), "case %zu: %s", i, r.err);
        kt_run_free(&r);
    }
    kt_rmrf(dir);
}
