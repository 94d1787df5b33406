/*
 * churn_table_test.c - churn models on an analyst's own table (`churn
 * evaluate|train|predict --table`): a synthetic telecom-like table whose
 * churn follows a known logistic rule, and every way such a table can be
 * wrong.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "../support/support.h"

/* A deterministic generator, so the table is the same on every machine. */
static double next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* n rows: tenure, contract (category), payment (category), monthly charges
 * (5 % blank), senior (yes/no), and with_label the churn drawn from a
 * logistic rule: short tenure, monthly contracts, paper checks churn more. */
static char *table(int n, int with_label, const char *prefix)
{
    static const char *const contracts[] = { "month", "month", "one_year", "two_year" };
    static const char *const payments[] = { "card", "bank", "check" };
    uint64_t s = 42;
    kz_buf b;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    kz_buf_printf(&b, "customer_id,tenure_months,contract,payment,monthly_charges,senior%s\n",
                  with_label ? ",churned" : "");
    for (int i = 0; i < n; i++) {
        int t = (int)(next(&s) * 73), c = (int)(next(&s) * 4), p = (int)(next(&s) * 3), senior = next(&s) < 0.25;
        double m = 20 + next(&s) * 100, z = -1.0 - 0.04 * t + (c < 2 ? 1.2 : 0) + 0.01 * m + (p == 2 ? 0.4 : 0) +
                                            (senior ? 0.3 : 0);
        int y = next(&s) < 1 / (1 + exp(-z));
        kz_buf_printf(&b, "%s%05d,%d,%s,%s,", prefix, i, t, contracts[c], payments[p]);
        if (next(&s) >= 0.05)
            kz_buf_printf(&b, "%.2f", m);
        kz_buf_printf(&b, ",%s", senior ? "yes" : "no");
        if (with_label)
            kz_buf_printf(&b, ",%s", y ? "yes" : "no");
        kz_buf_putc(&b, '\n');
    }
    return b.data;
}

static void put(const char *dir, const char *name, const char *text)
{
    kt_write(kt_path(dir, name), text, (size_t)-1);
}

Test(churn_table, evaluate_train_and_predict, .timeout = 120)
{
    char *dir = kt_tmpdir();
    char *train = table(3000, 1, "C"), *fresh = table(20, 0, "N");
    put(dir, "train.csv", train);
    put(dir, "new.csv", fresh);
    kt_run r;
    /* the rule is learnt: ROC AUC well above chance on the held-out rows
     * (the true rule reaches about 0.79) */
    kt_kizunav(&r, dir, NULL, "churn", "evaluate", "--table", "train.csv", "--id", "customer_id", "--label",
               "churned", "--format", "csv", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    char *logistic = strstr(r.out, "\nlogistic,");
    cr_assert_not_null(logistic, "%s", r.out);
    /* model,train_from,train_to,test_from,test_to,train_rows,train_churned,test_rows,test_churned,roc_auc */
    const char *p = logistic + 1;
    for (int k = 0; k < 9; k++)
        p = strchr(p, ',') + 1;
    cr_assert_gt(strtod(p, NULL), 0.72, "%s", r.out);
    cr_assert(kt_contains(r.out, "\nlogistic,,,,,"), "no dates for a table: %s", r.out);
    kt_run_free(&r);
    /* trained and written; predicted in the table's order */
    kt_kizunav(&r, dir, NULL, "churn", "train", "--table", "train.csv", "--id", "customer_id", "--label", "churned",
               "--model", "model.json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "written to model.json"), "%s", r.out);
    kt_run_free(&r);
    char *model = kt_read(kt_path(dir, "model.json"), NULL);
    cr_assert(model && kt_contains(model, "\"table\":{\"id\":\"customer_id\""), "%s", model);
    cr_assert(kt_contains(model, "\"contract=month\""), "%s", model);
    free(model);
    kt_kizunav(&r, dir, NULL, "churn", "predict", "--table", "new.csv", "--model", "model.json", "--output",
               "out.csv", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    char *out = kt_read(kt_path(dir, "out.csv"), NULL);
    cr_assert_not_null(out);
    cr_assert_eq(kt_lines(out), 21);
    cr_assert(strncmp(out, "customer_id,churn_probability\nN00000,", 37) == 0, "%s", out);
    for (char *line = strchr(out, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        double pr = strtod(strchr(line, ',') + 1, NULL);
        cr_assert(pr > 0 && pr < 1, "%s", line);
    }
    /* the same rows give the same probabilities; to standard output too */
    kt_kizunav(&r, dir, NULL, "churn", "predict", "--table", "new.csv", "--model", "model.json", NULL);
    cr_assert_str_eq(r.out, out);
    kt_run_free(&r);
    free(out);
    /* the trees, chosen by name */
    kt_kizunav(&r, dir, NULL, "churn", "train", "--table", "train.csv", "--id", "customer_id", "--label", "churned",
               "--model", "trees.json", "--algorithm", "xgboost", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "xgboost model of 3000 rows"), "%s", r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "churn", "predict", "--table", "new.csv", "--model", "trees.json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(kt_lines(r.out), 21);
    kt_run_free(&r);
    /* a value never seen in training is no value of the known ones */
    put(dir, "odd.csv", "customer_id,tenure_months,contract,payment,monthly_charges,senior\nX1,5,weekly,card,50,no\n");
    kt_kizunav(&r, dir, NULL, "churn", "predict", "--table", "odd.csv", "--model", "model.json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "\nX1,0."), "%s", r.out);
    kt_run_free(&r);
    free(train);
    free(fresh);
    kt_rmrf(dir);
}

Test(churn_table, bad_tables_say_where_and_write_nothing)
{
    char *dir = kt_tmpdir();
    static const struct {
        const char *csv, *says;
    } bad[] = {
        { "", "empty, a header row is needed" },
        { "customer_id,churned\n", "no rows after the header" },
        { "id,x,churned\nA,1,yes\n", "no id column 'customer_id' (the columns: id, x, churned)" },
        { "customer_id,x\nA,1\n", "no label column 'churned'" },
        { "customer_id,x,churned\nA,1,yes\nB,2,maybe\n", "t.csv:3: column 'churned': 'maybe' is not yes/no" },
        { "customer_id,x,churned\nA,1,yes\nA,2,no\n", "t.csv:3: column 'customer_id': id 'A' again (first on line 2)" },
        { "customer_id,x,churned\n,1,yes\n", "t.csv:2: column 'customer_id': the id is empty" },
        { "customer_id,x,churned\nA,1,yes\nB,2\n", "t.csv:3: 2 fields, the header has 3" },
        { "customer_id,x,x,churned\nA,1,2,yes\n", "the column 'x' appears twice" },
        { "customer_id,x,churned\nA,\"1,yes\n", "t.csv:2:" },
        { "customer_id,churned\nA,yes\nB,no\n", "no feature columns" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        put(dir, "t.csv", bad[i].csv);
        kt_run r;
        kt_kizunav(&r, dir, NULL, "churn", "train", "--table", "t.csv", "--id", "customer_id", "--label", "churned",
                   "--model", "m.json", NULL);
        cr_assert_eq(r.status, 2, "case %zu: %d %s", i, r.status, r.err);
        cr_assert(kt_contains(r.err, bad[i].says), "case %zu: %s", i, r.err);
        cr_assert_null(kt_read(kt_path(dir, "m.json"), NULL), "case %zu wrote a model", i);
        kt_run_free(&r);
    }
    /* prediction: a missing feature column, a bad number, no model, a model of the database */
    char *train = table(400, 1, "C");
    put(dir, "train.csv", train);
    free(train);
    kt_run r;
    kt_kizunav(&r, dir, NULL, "churn", "train", "--table", "train.csv", "--id", "customer_id", "--label", "churned",
               "--model", "m.json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    put(dir, "p.csv", "customer_id,tenure_months,contract,payment,senior\nX,1,month,card,no\n");
    kt_kizunav(&r, dir, NULL, "churn", "predict", "--table", "p.csv", "--model", "m.json", NULL);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(kt_contains(r.err, "no feature column 'monthly_charges'"), "%s", r.err);
    kt_run_free(&r);
    put(dir, "p.csv", "customer_id,tenure_months,contract,payment,monthly_charges,senior\nX,1,month,card,cheap,no\n");
    kt_kizunav(&r, dir, NULL, "churn", "predict", "--table", "p.csv", "--model", "m.json", NULL);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(kt_contains(r.err, "p.csv:2: column 'monthly_charges': 'cheap' is not a number"), "%s", r.err);
    cr_assert_str_eq(r.out, "");
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "churn", "predict", "--table", "p.csv", "--model", "nope.json", NULL);
    cr_assert_eq(r.status, 1);
    cr_assert(kt_contains(r.err, "cannot read nope.json"), "%s", r.err);
    kt_run_free(&r);
    put(dir, "junk.json", "{\"format\":\"something else\"}");
    kt_kizunav(&r, dir, NULL, "churn", "predict", "--table", "p.csv", "--model", "junk.json", NULL);
    cr_assert_eq(r.status, 1);
    cr_assert(kt_contains(r.err, "not a Kizuna churn model"), "%s", r.err);
    kt_run_free(&r);
    /* the command line */
    static const struct {
        const char *args[10];
        const char *says;
    } usage[] = {
        { { "train", "--table", "t.csv", "--model", "m.json", NULL }, "--table needs --id COLUMN and --label" },
        { { "train", "--table", "t.csv", "--id", "a", "--label", "b", NULL }, "needs --model PATH" },
        { { "predict", "--model", "m.json", NULL }, "--model goes with --table" },
        { { "evaluate", "--table", "t.csv", "--id", "a", "--label", "b", "--output", "o.csv", NULL },
          "--output: only churn predict" },
        { { "predict", "--table", "p.csv", "--model", "m.json", "--label", "x", NULL }, "no label to read" },
        { { "predict", "--table", "p.csv", "--model", "m.json", "--top", "3", NULL }, "not --table" },
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        const char *argv[14] = { "churn" };
        size_t n = 1;
        for (size_t k = 0; usage[i].args[k]; k++)
            argv[n++] = usage[i].args[k];
        argv[n] = NULL;
        kt_kizuna(&r, dir, NULL, argv);
        cr_assert_eq(r.status, 2, "case %zu: %d %s", i, r.status, r.err);
        cr_assert(kt_contains(r.err, usage[i].says), "case %zu: %s", i, r.err);
        kt_run_free(&r);
    }
    kt_rmrf(dir);
}
