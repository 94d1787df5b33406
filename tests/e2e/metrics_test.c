/*
 * metrics_test.c - the reports equal the reference results of
 * ../shared/bench, row for row: `kizuna metrics mrr|usage|daily|cohorts
 * --format csv` against what the reference SQL (run by DuckDB) computed on the
 * same data (the folders of tests/fixtures/reference; bench/duckdb/make_fixtures.sh makes
 * them). Three data sets: a small one of the reference generator, a small demo
 * world (annual terms, reactivations, add-ons), and hand-built edge cases.
 */
#include <criterion/criterion.h>
#include <math.h>
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
    char *data = kt_reference_data(dir, 1);
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
    static const char *const runs[][4] = {
        { "mrr" },           { "usage" },          { "daily" },        { "cohorts" },
        { "summary" },       { "arpa" },           { "ltv" },          { "cac" },
        { "nps" },           { "contract-length" }, { "survival" },     { "mrr", "--interval", "week" },
        { "cohorts", "--revenue", "--matrix" }, { "usage", "--wide" }, { "usage", "--by-event" },
        { "mrr", "--explain", "2024-03" },      { "cohorts", "--explain", "2024-03" },
        { "daily", "--explain", "2024-03-01" }, { "nps", "--explain", "2024-03" },
        { "survival", "--explain", "all" },
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        for (int json = 0; json < 2; json++) {
            const char *argv[12] = { "--db", "k.db", "metrics" };
            size_t n = 3;
            for (size_t k = 0; k < 4 && runs[i][k]; k++)
                argv[n++] = runs[i][k];
            if (json) {
                argv[n++] = "--format";
                argv[n++] = "json";
            }
            argv[n] = NULL;
            kt_kizuna(&r, dir, NULL, argv);
            cr_assert_eq(r.status, 0, "%s %s: %s", runs[i][0], runs[i][1] ? runs[i][1] : "", r.err);
            cr_assert(!kt_contains(r.out, "nan") && !kt_contains(r.out, "inf") && !kt_contains(r.out, "NaN"),
                      "%s: %s", runs[i][0], r.out);
            /* usage lists the one account (with zeros), contract-length counts 0
             * accounts; each says there is no data yet */
            if (!json)
                cr_assert(kt_contains(r.err, "no data for this report yet"), "%s: %s", runs[i][0], r.err);
            kt_run_free(&r);
        }
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

/* Runs `metrics REPORT --format csv` with debug logs; its output must equal
 * want (unless NULL) and its log must say where the columns came from. */
static char *image_run(const char *dir, const char *report, const char *want, const char *from)
{
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "--set", "log.level=debug", "metrics", report, "--format", "csv", NULL);
    cr_assert_eq(r.status, 0, "%s: %s", report, r.err);
    if (want)
        cr_assert_str_eq(r.out, want, "%s", report);
    cr_assert(kt_contains(r.err, from), "%s: expected '%s' in: %s", report, from, r.err);
    char *out = strdup(r.out);
    kt_run_free(&r);
    return out;
}

/* Flips one byte of the file at `at` (from the end when negative). */
static void damage(const char *path, long at)
{
    size_t n;
    char *bytes = kt_read(path, &n);
    cr_assert_not_null(bytes);
    size_t i = at < 0 ? n - (size_t)(-at) : (size_t)at;
    cr_assert_lt(i, n);
    bytes[i] ^= 0x5a;
    kt_write(path, bytes, n);
    free(bytes);
}

#define STORE "columns from the store"
#define IMAGE "columns from the image file"

Test(metrics, the_image_file_is_used_when_current_and_never_when_stale_or_damaged)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_fixture("reference/edges"));
    char *image = kt_path(dir, "k.db.engine");
    /* a report without events writes the accounts and subscriptions only */
    char *mrr = image_run(dir, "mrr", NULL, STORE);
    free(image_run(dir, "mrr", mrr, IMAGE));
    /* a report with events finds none in the file: from the store, then written */
    char *daily = image_run(dir, "daily", NULL, STORE);
    free(image_run(dir, "daily", daily, IMAGE));
    free(image_run(dir, "mrr", mrr, IMAGE));
    size_t n;
    char *bytes = kt_read(image, &n);
    cr_assert_not_null(bytes);
    cr_assert_gt(n, 256);
    free(bytes);
    /* damaged events: the reports without events still trust the base section */
    damage(image, -70);
    free(image_run(dir, "mrr", mrr, IMAGE));
    free(image_run(dir, "daily", daily, STORE)); /* and this rewrites the file */
    free(image_run(dir, "daily", daily, IMAGE));
    /* damaged accounts or subscriptions, then the header, then a short file */
    damage(image, 300);
    free(image_run(dir, "mrr", mrr, STORE));
    free(image_run(dir, "mrr", mrr, IMAGE));
    free(image_run(dir, "daily", daily, STORE));
    damage(image, 20);
    free(image_run(dir, "daily", daily, STORE));
    kt_write(image, "short", 5);
    free(image_run(dir, "daily", daily, STORE));
    free(image_run(dir, "daily", daily, IMAGE));
    /* stale: an import of one more event shows in the next report */
    kt_run r;
    kt_kizunav(&r, dir, "ts,account_id,user_id,event\n2024-07-01T10:00:00Z,a5,u5,login\n", "--db", "k.db", "import",
               "--format", "csv", "events", "-", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    char *later = image_run(dir, "daily", NULL, STORE);
    cr_assert(kt_contains(later, "\n2024-07-01,1,1\n"), "%s", later);
    free(later);
    /* and an import of a subscription, in a report without events */
    kt_kizunav(&r, dir, "subscription_id,account_id,plan,mrr,start_date\ns99,a7,pro,70,2024-05-01\n", "--db", "k.db",
               "import", "--format", "csv", "subscriptions", "-", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    later = image_run(dir, "mrr", NULL, STORE);
    cr_assert(kt_contains(later, "\n2024-05-01,380.00,"), "%s", later);
    free(later);
    free(mrr);
    free(daily);
    kt_rmrf(dir);
}

/* Runs a report on the edge cases (imported into dir) and returns its CSV. */
static char *edge_report(const char *dir, const char *report, const char *extra)
{
    kt_run r;
    if (extra)
        kt_kizunav(&r, dir, NULL, "--db", "k.db", "--set", extra, "metrics", report, "--format", "csv", NULL);
    else
        kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", report, "--format", "csv", NULL);
    cr_assert_eq(r.status, 0, "%s: %s", report, r.err);
    char *out = strdup(r.out);
    kt_run_free(&r);
    return out;
}

/* The business reports on the hand-built edge cases, each number checked by
 * hand (the observation date is 2024-06-30, the last event):
 * - May 2024 is the last complete month: MRR 310 (a2 50, a5 100, a6 40, a8 120)
 *   against April's 190; ARPA 77.5; revenue churn of the 12 months to May
 *   averages 0, 0, 1/3 (March: 50 + 60 of 330), 30/220 (April), 0 = 0.0939,
 *   so LTV = 77.5 / 0.0939 = 825.
 * - January 2024: three accounts start (a2 and a5 on the 1st, a4 on the 15th),
 *   260 of MRR, spend 600 + 400: CAC 333.33, payback 333.33 / 86.67 = 3.85.
 * - NPS May: 10, 9, 8, 3: two promoters, one detractor of four = 25.
 * - Lifetimes: a1 15 days, a4 77, a3 89 (its first span, before it came back)
 *   churned; a8 60, a6 122, a2 and a5 181 still paying. Kaplan-Meier:
 *   6/7 after day 15, x 4/5 after day 77, x 3/4 after day 89 = 0.514, never
 *   0.5 or below: no median yet; churned accounts lasted 60.33 days. */
Test(metrics, business_reports_on_the_edge_cases)
{
    char *dir = kt_tmpdir();
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "import", "--quiet", kt_fixture("reference/edges"), NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    /* the last complete month up to --to */
    char *s = KT_METRICS_CSV(dir, NULL, "summary", "--to", "2024-05");
    cr_assert(kt_contains(s, "\nmrr,2024-05-01,2024-05-31,310.00,190.00,120.00\n"), "%s", s);
    cr_assert(kt_contains(s, "\narr,2024-05-01,2024-05-31,3720.00,2280.00,1440.00\n"), "%s", s);
    cr_assert(kt_contains(s, "\npaying_accounts,2024-05-01,2024-05-31,4,3,1\n"), "%s", s);
    cr_assert(kt_contains(s, "\narpa,2024-05-01,2024-05-31,77.5,"), "%s", s);
    cr_assert(kt_contains(s, "\nltv,2024-05-01,2024-05-31,825.0,"), "%s", s);
    cr_assert(kt_contains(s, "\nquick_ratio,2024-05-01,2024-05-31,,0.0,\n"), "%s", s); /* nothing lost in May */
    cr_assert(kt_contains(s, "\nnps,2024-05-01,2024-05-31,25.0,,\n"), "%s", s);
    free(s);
    /* by default the month of the observation date to date: June, whole on
     * the 30th (a3 back with 90, one detractor), partial on the 10th */
    s = KT_METRICS_CSV(dir, NULL, "summary");
    cr_assert(kt_contains(s, "\nmrr,2024-06-01,2024-06-30,400.00,310.00,90.00\n"), "%s", s);
    cr_assert(kt_contains(s, "\nreactivation_mrr,2024-06-01,2024-06-30,90.00,0.00,90.00\n"), "%s", s);
    cr_assert(kt_contains(s, "\nnps,2024-06-01,2024-06-30,-100.0,25.0,-125.0\n"), "%s", s);
    free(s);
    s = KT_METRICS_CSV(dir, NULL, "summary", "--as-of", "2024-06-10");
    cr_assert(kt_contains(s, "\nmrr,2024-06-01,2024-06-10,310.00,310.00,0.00\n"), "%s", s);
    free(s);
    s = edge_report(dir, "cac", NULL);
    cr_assert(kt_contains(s, "\n2024-01-01,1000.00,3,333.3333333333333,86.66666666666667,3.846153846153846\n"), "%s", s);
    cr_assert(kt_contains(s, "\n2024-02-01,800.00,1,800.0,40.0,20.0\n"), "%s", s);
    cr_assert(kt_contains(s, "\n2024-03-01,,1,,50.0,\n"), "%s", s); /* no spend imported: no CAC */
    free(s);
    s = edge_report(dir, "nps", NULL);
    cr_assert_str_eq(s, "month,responses,promoters,passives,detractors,nps\n"
                        "2024-05-01,4,2,1,1,25.0\n"
                        "2024-06-01,1,0,0,1,-100.0\n");
    free(s);
    s = edge_report(dir, "contract-length", NULL);
    cr_assert_str_eq(s, "metric,value\naccounts,7\nchurned,3\nstill_paying,4\nmedian_lifetime_months,\n"
                        "median_lifetime_days,\nmean_churned_lifetime_months,1.9822039698836413\n"
                        "mean_churned_lifetime_days,60.333333333333336\n");
    free(s);
    s = edge_report(dir, "survival", NULL);
    cr_assert(kt_contains(s, "\n1,7,1,0,0.8571428571428572\n2,6,0,1,0.8571428571428572\n3,5,2,0,0.5142857142857143\n"),
              "%s", s);
    free(s);
    /* gross margin from the configuration: LTV x 0.8 */
    s = edge_report(dir, "ltv", "metrics.gross_margin_percent=80");
    cr_assert(kt_contains(s, "\n2024-05-01,77.5,0.0,0.09393939393939393,0.8,660.0\n"), "%s", s);
    free(s);
    s = edge_report(dir, "arpa", NULL);
    cr_assert(kt_contains(s, "\n2024-05-01,310.00,4,77.5,1,120.00,120.0\n"), "%s", s);
    free(s);
    kt_rmrf(dir);
}

/* The reporting time zone moves events to their local days: in Tokyo
 * (UTC+9) 2024-02-28T23:59:59Z is on the 29th, and the last event,
 * 2024-06-30T23:59:59Z, makes 1 July the observation date. */
Test(metrics, reporting_time_zone_shifts_days)
{
    char *dir = kt_tmpdir();
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "import", "--quiet", kt_fixture("reference/edges"), NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "daily", "--timezone", "Asia/Tokyo", "--format", "csv", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "day,events,dau\n"
                            "2024-02-29,3,2\n"
                            "2024-05-01,4,2\n"
                            "2024-06-10,1,1\n"
                            "2024-06-20,2,1\n"
                            "2024-06-25,2,2\n"
                            "2024-06-26,2,1\n"
                            "2024-06-27,1,1\n"
                            "2024-06-29,2,1\n"
                            "2024-07-01,1,1\n");
    kt_run_free(&r);
    /* the same through the configuration; an offset works too */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "--set", "reporting.timezone=+09:00", "metrics", "daily", "--from",
               "2024-07-01", "--format", "csv", NULL);
    cr_assert_str_eq(r.out, "day,events,dau\n2024-07-01,1,1\n");
    kt_run_free(&r);
    /* usage: a2's last event is on 26 June, 5 days before 1 July in Tokyo and 4
     * before 30 June in UTC */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "usage", "--timezone", "Asia/Tokyo", "--format", "csv", NULL);
    cr_assert(kt_contains(r.out, "\na2,1,0,0,0,0,1,0,1,,5\n"), "%s", r.out);
    cr_assert(kt_contains(r.out, "\na6,0,1,0,0,0,1,0,1,,0\n"), "%s", r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "usage", "--format", "csv", NULL);
    cr_assert(kt_contains(r.out, "\na2,1,0,0,0,0,1,0,1,,4\n"), "%s", r.out);
    kt_run_free(&r);
    /* a month end: in Tokyo the last event falls on 1 July, so June has ended
     * and mrr shows it (a3 back with 90); in UTC June is still running */
    char *tokyo = KT_METRICS_CSV(dir, NULL, "mrr", "--timezone", "Asia/Tokyo", "--from", "2024-06");
    cr_assert(kt_contains(tokyo, "\n2024-06-01,310.00,0.00,0.00,0.00,0.00,90.00,400.00,"), "%s", tokyo);
    free(tokyo);
    char *utc = KT_METRICS_CSV(dir, NULL, "mrr", "--from", "2024-06");
    cr_assert_eq(kt_lines(utc), 1, "%s", utc);
    free(utc);
    /* a zone that does not exist is a usage error, whichever way it comes */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "daily", "--timezone", "Mars/Base", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(kt_contains(r.err, "unknown time zone 'Mars/Base'"), "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "--set", "reporting.timezone=../../etc", "metrics", "daily", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(kt_contains(r.err, "reporting.timezone"), "%s", r.err);
    kt_run_free(&r);
    kt_rmrf(dir);
}

/* Sums column col (a money column with two decimals) of the CSV rows whose
 * first field is `month`, when segmented (the month is then the second). */
static double sum_month(const char *csv, const char *month, int col, int segmented)
{
    double total = 0;
    for (const char *line = strchr(csv, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        const char *p = line + 1;
        if (segmented) {
            /* skip the segment (no commas in the demo's regions) */
            p = strchr(p, ',');
            if (!p)
                break;
            p++;
        }
        if (strncmp(p, month, strlen(month)) != 0)
            continue;
        for (int k = 0; k < col && p; k++) {
            p = strchr(p, ',');
            if (p)
                p++;
        }
        if (p)
            total += strtod(p, NULL);
    }
    return total;
}

Test(metrics, segments_add_up_to_the_whole, .timeout = 60)
{
    char *dir = kt_tmpdir();
    kt_run r;
    kt_kizunav(&r, dir, NULL, "demo", "--accounts", "150", "--days", "365", "--seed", "9", "--out", "world", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "import", "--quiet", "world", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "mrr", "--format", "csv", NULL);
    char *whole = strdup(r.out);
    kt_run_free(&r);
    const char *by[] = { "region", "plan", "owner", "industry" };
    for (size_t k = 0; k < 4; k++) {
        kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "mrr", "--segment", by[k], "--format", "csv", NULL);
        cr_assert_eq(r.status, 0, "%s: %s", by[k], r.err);
        cr_assert(strncmp(r.out, "segment,month,", 14) == 0, "%s", r.out);
        const char *months[] = { "2026-01-01", "2026-06-01", "2026-09-01" };
        for (size_t m = 0; m < 3; m++) {
            double a = sum_month(whole, months[m], 7, 0), b = sum_month(r.out, months[m], 7, 1);
            cr_assert(a > 0, "no MRR in %s", months[m]);
            cr_assert(fabs(a - b) < 0.005, "%s by %s: %.2f in all, %.2f over the segments", months[m], by[k], a, b);
        }
        kt_run_free(&r);
    }
    /* a filter and its complement add up too */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "mrr", "--filter", "employees>=200", "--format", "csv", NULL);
    char *big = strdup(r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "mrr", "--filter", "employees<200", "--format", "csv", NULL);
    char *small = strdup(r.out);
    kt_run_free(&r);
    /* spaces around the operator are not part of the name or the value */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "mrr", "--filter", "employees >= 200", "--format", "csv", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.out, big, "'employees >= 200' is 'employees>=200'");
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "mrr", "--filter", "employees!=0", "--filter",
               "strategic=true", "--format", "csv", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    double a = sum_month(whole, "2026-06-01", 7, 0);
    double b = sum_month(big, "2026-06-01", 7, 0) + sum_month(small, "2026-06-01", 7, 0);
    cr_assert(fabs(a - b) < 0.005, "%.2f vs %.2f", a, b);
    free(big);
    free(small);
    free(whole);
    kt_rmrf(dir);
}

/* Filters on the edge cases: industry Finance is a5 and a6; a5 starts on
 * 2024-01-01 (100) and adds an add-on of 30 from 2024-02-10 to 2024-05-01,
 * a6 starts on 2024-02-29 (40). */
Test(metrics, filters_on_the_edge_cases)
{
    char *dir = kt_tmpdir();
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "import", "--quiet", kt_fixture("reference/edges"), NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "mrr", "--filter", "industry=Finance", "--from", "2024-01",
               "--to", "2024-04", "--format", "csv", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "\n2024-01-01,100.00,0.00,0.00,0.00,0.00,0.00,100.00,1,0,"), "%s", r.out);
    cr_assert(kt_contains(r.out, "\n2024-02-01,100.00,40.00,30.00,0.00,0.00,0.00,170.00,1,0,"), "%s", r.out);
    cr_assert(kt_contains(r.out, "\n2024-04-01,170.00,0.00,0.00,30.00,0.00,0.00,140.00,2,0,"), "%s", r.out);
    kt_run_free(&r);
    /* plan on the observation date: a2 is on starter (its third subscription) */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "usage", "--filter", "plan=starter", "--format", "csv", NULL);
    cr_assert(kt_contains(r.out, "\na2,") && kt_contains(r.out, "\na6,"), "%s", r.out);
    cr_assert(!kt_contains(r.out, "\na5,"), "%s", r.out);
    kt_run_free(&r);
    /* nps by industry */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "nps", "--segment", "industry", "--format", "csv", NULL);
    cr_assert(kt_contains(r.out, "\nFinance,2024-05-01,2,1,1,0,50.0\n"), "%s", r.out);
    cr_assert(kt_contains(r.out, "\nMedia,2024-05-01,1,0,0,1,-100.0\n"), "%s", r.out);
    kt_run_free(&r);
    /* CAC has no spend per segment: its spend and CAC stay empty */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "cac", "--filter", "industry=SaaS", "--format", "csv", NULL);
    cr_assert(kt_contains(r.out, "\n2024-01-01,,1,,100.0,\n"), "%s", r.out);
    kt_run_free(&r);
    const char *bad[] = { "nope=1", "industry>Retail", "owner", "=x" };
    for (size_t k = 0; k < 4; k++) {
        kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "mrr", "--filter", bad[k], NULL);
        cr_assert_eq(r.status, 2, "%s: %s", bad[k], r.err);
        kt_run_free(&r);
    }
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "mrr", "--segment", "colour", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(kt_contains(r.err, "'colour' is not an attribute of accounts"), "%s", r.err);
    kt_run_free(&r);
    kt_rmrf(dir);
}
