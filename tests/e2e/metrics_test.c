/*
 * metrics_test.c - the reports equal the reference results of
 * ../shared/bench, row for row: `kizuna metrics mrr|usage|daily|cohorts
 * --format csv` against what the reference SQL (run by DuckDB) computed on the
 * same data (the folders of tests/fixtures/reference; bench/duckdb/make_fixtures.sh makes
 * them). Three data sets: a small one of the reference generator, a small demo
 * world (annual terms, reactivations, add-ons), and hand-built edge cases.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../support/support.h"

static const struct {
    const char *report, *query;
} reports[] = { { "mrr", "q2" }, { "usage", "q3" }, { "daily", "q4" }, { "cohorts", "q5" } };

/* Imports folder into dir/k.db and checks every report against expected/. */
static void check_reports(const char *dir, const char *folder, const char *expected)
{
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "import", "--quiet", folder, NULL);
    cr_assert_eq(r.status, 0, "import: %s", r.err);
    kt_run_free(&r);
    for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s/%s.csv", expected, reports[i].query);
        char *want = kt_read(name, NULL);
        cr_assert_not_null(want, "missing %s", name);
        kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", reports[i].report, "--format", "csv", NULL);
        cr_assert_eq(r.status, 0, "%s: %s", reports[i].report, r.err);
        char *diff = kt_csv_diff(r.out, want);
        cr_assert_null(diff, "%s differs from the reference %s: %s", reports[i].report, reports[i].query, diff);
        kt_run_free(&r);
        free(want);
    }
}

Test(metrics, equal_to_the_reference_on_generated_data, .timeout = 60)
{
    char *dir = kt_tmpdir();
    char *data = kt_path(dir, "data");
    cr_assert_eq(mkdir(data, 0755), 0);
    const char *files[] = { "accounts.csv", "subscriptions.csv", "tickets.csv" };
    for (size_t i = 0; i < 3; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "reference/bench/%s", files[i]);
        char *text = kt_read(kt_fixture(rel), NULL);
        cr_assert_not_null(text);
        kt_write(kt_path(data, files[i]), text, (size_t)-1);
        free(text);
    }
    kt_unzstd(kt_fixture("reference/bench/events.csv.zst"), kt_path(data, "events.csv"));
    check_reports(dir, data, kt_fixture("reference/bench/expected"));
    kt_rmrf(dir);
}

Test(metrics, equal_to_the_reference_on_a_demo_world, .timeout = 60)
{
    char *dir = kt_tmpdir();
    kt_run r;
    /* the same flags as bench/duckdb/make_fixtures.sh */
    kt_kizunav(&r, dir, NULL, "demo", "--accounts", "120", "--days", "400", "--seed", "5", "--out", "world", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    check_reports(dir, kt_path(dir, "world"), kt_fixture("reference/demo/expected"));
    kt_rmrf(dir);
}

Test(metrics, equal_to_the_reference_on_edge_cases)
{
    char *dir = kt_tmpdir();
    check_reports(dir, kt_fixture("reference/edges"), kt_fixture("reference/edges/expected"));
    kt_rmrf(dir);
}

Test(metrics, an_empty_database_says_so_and_prints_no_nan)
{
    char *dir = kt_tmpdir();
    kt_run r;
    kt_kizunav(&r, dir, "account_id\nx\n", "--db", "k.db", "import", "--format", "csv", "accounts", "-", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    const char *names[] = { "mrr", "usage", "daily", "cohorts" };
    for (size_t i = 0; i < 4; i++) {
        kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", names[i], NULL);
        cr_assert_eq(r.status, 0, "%s: %s", names[i], r.err);
        cr_assert(!kt_contains(r.out, "nan") && !kt_contains(r.out, "inf"), "%s", r.out);
        if (strcmp(names[i], "usage") != 0)
            cr_assert(kt_contains(r.err, "no data for this report yet"), "%s: %s", names[i], r.err);
        kt_run_free(&r);
        kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", names[i], "--format", "json", NULL);
        cr_assert_eq(r.status, 0);
        cr_assert(!kt_contains(r.out, "nan"), "%s", r.out);
        kt_run_free(&r);
    }
    kt_rmrf(dir);
}

Test(metrics, filters_formats_and_usage_errors)
{
    char *dir = kt_tmpdir();
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "import", "--quiet", kt_fixture("reference/edges"), NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "mrr", "--from", "2024-02", "--to", "2024-03", "--format",
               "csv", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(kt_lines(r.out), 3, "%s", r.out);
    cr_assert(kt_contains(r.out, "\n2024-02-01,260.00,") && kt_contains(r.out, "\n2024-03-01,330.00,"), "%s", r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "daily", "--from", "2024-05-01", "--to", "2024-05-01",
               "--format", "json", NULL);
    cr_assert_str_eq(r.out, "[{\"day\":\"2024-05-01\",\"events\":4,\"dau\":2}]\n");
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "mrr", "--from", "2024-05", NULL);
    cr_assert_eq(r.status, 0);
    cr_assert(kt_contains(r.out, "starting_mrr") && kt_contains(r.out, "310.00"), "%s", r.out);
    kt_run_free(&r);
    const char *bad[][8] = {
        { "metrics", NULL }, { "metrics", "velocity", NULL }, { "metrics", "mrr", "--from", "2024-13", NULL },
        { "metrics", "mrr", "--format", "xml", NULL }, { "metrics", "mrr", "--from", "2024-05", "--to", "2024-04", NULL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[10] = { "--db", "k.db" };
        for (size_t k = 0; bad[i][k]; k++)
            args[2 + k] = bad[i][k];
        kt_kizuna(&r, dir, NULL, args);
        cr_assert_eq(r.status, 2, "case %zu: %s", i, r.err);
        kt_run_free(&r);
    }
    kt_rmrf(dir);
}

Test(metrics, the_image_file_is_used_when_current_and_never_when_stale_or_damaged)
{
    char *dir = kt_tmpdir();
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "import", "--quiet", kt_fixture("reference/edges"), NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "daily", "--format", "csv", NULL);
    char *first = strdup(r.out);
    kt_run_free(&r);
    char *image = kt_path(dir, "k.db.engine");
    size_t n;
    char *bytes = kt_read(image, &n);
    cr_assert_not_null(bytes, "the first report did not write the image file");
    cr_assert_gt(n, 128);
    /* current: the same answer */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "daily", "--format", "csv", NULL);
    cr_assert_str_eq(r.out, first);
    kt_run_free(&r);
    /* damaged: rebuilt from the store, same answer (a column byte, then a
     * header byte) */
    bytes[200] ^= 0x5a;
    kt_write(image, bytes, n);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "daily", "--format", "csv", NULL);
    cr_assert_str_eq(r.out, first);
    kt_run_free(&r);
    free(bytes);
    bytes = kt_read(image, &n); /* rewritten by the rebuild */
    bytes[20] ^= 0x01;
    kt_write(image, bytes, n);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "daily", "--format", "csv", NULL);
    cr_assert_str_eq(r.out, first);
    kt_run_free(&r);
    kt_write(image, "short", 5);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "daily", "--format", "csv", NULL);
    cr_assert_str_eq(r.out, first);
    kt_run_free(&r);
    /* stale: an import of one more event shows in the next report */
    kt_kizunav(&r, dir, "ts,account_id,user_id,event\n2024-07-01T10:00:00Z,a5,u5,login\n", "--db", "k.db", "import",
               "--format", "csv", "events", "-", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "daily", "--format", "csv", NULL);
    cr_assert(kt_contains(r.out, "\n2024-07-01,1,1\n"), "%s", r.out);
    kt_run_free(&r);
    free(first);
    free(bytes);
    kt_rmrf(dir);
}
