/*
 * explain_test.c - the accounts behind the numbers (--explain), weekly
 * movements, revenue cohorts and the configurable definitions, on the
 * hand-built edge cases (tests/fixtures/reference/edges; the observation date
 * is 2024-06-30) and, for the sums, on a demo world.
 *
 * The edge cases' subscriptions: a1 pays 50 from 5 to 20 March 2024 only; a2
 * 100 from January, 200 from 10 March, 50 from 20 March; a3 80 from February
 * to May 2023 and 90 again from 15 June 2024 (411 days later); a4 60 from 15
 * January to 1 April; a5 100 from January and an add-on of 30 from 10
 * February to 1 May; a6 40 from 29 February; a8 120 from 1 May.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/support.h"

/* Imports the edge cases into a new directory's k.db. */
static char *edges(void)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_fixture("reference/edges"));
    return dir;
}

#define CSV KT_METRICS_CSV

Test(explain, mrr_lists_the_accounts_of_a_month)
{
    char *dir = edges();
    /* March 2024: a4 churned (60), a2 contracted 100 -> 50, a1 came and went
     * inside the month and is invisible; the movements of the report's row */
    char *s = CSV(dir, NULL, "mrr", "--explain", "2024-03");
    cr_assert_str_eq(s, "account_id,movement,mrr_start,mrr_end,change,first_start\n"
                        "a4,churned,60.00,0.00,-60.00,2024-01-15\n"
                        "a2,contraction,100.00,50.00,-50.00,2024-01-01\n"
                        "a5,steady,130.00,130.00,0.00,2024-01-01\n"
                        "a6,steady,40.00,40.00,0.00,2024-02-29\n");
    free(s);
    s = CSV(dir, NULL, "mrr", "--from", "2024-03", "--to", "2024-03");
    cr_assert(kt_contains(s, "\n2024-03-01,330.00,0.00,0.00,50.00,60.00,0.00,220.00,4,1,"), "%s", s);
    free(s);
    /* a day names its month; the summary, arpa, ltv and cac drill the same way */
    char *day = CSV(dir, NULL, "mrr", "--explain", "2024-03-31");
    char *sum = CSV(dir, NULL, "summary", "--explain", "2024-03");
    char *ltv = CSV(dir, NULL, "ltv", "--explain", "2024-03");
    cr_assert_str_eq(day, sum);
    cr_assert_str_eq(day, ltv);
    free(day);
    free(sum);
    free(ltv);
    /* segmented: each segment's accounts */
    s = CSV(dir, NULL, "mrr", "--explain", "2024-03", "--segment", "plan");
    cr_assert(kt_contains(s, "\npro,a5,steady,130.00,130.00,0.00,2024-01-01\n"), "%s", s);
    cr_assert(kt_contains(s, "\nstarter,a4,churned,60.00,0.00,-60.00,2024-01-15\n"), "%s", s);
    free(s);
    kt_rmrf(dir);
}


/* For every month of the demo world, the explained accounts add up to the
 * month's row of the report: starting, ending, and each movement. */
Test(explain, mrr_accounts_add_up_to_every_month, .timeout = 120)
{
    char *dir = kt_tmpdir();
    kt_run r;
    kt_kizunav(&r, dir, NULL, "demo", "--accounts", "120", "--days", "400", "--seed", "5", "--out", "world", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    kt_import(dir, "world");
    char *report = CSV(dir, NULL, "mrr");
    int months = 0;
    for (char *line = strchr(report, '\n') + 1, *next; *line; line = next) {
        next = strchr(line, '\n');
        *next++ = '\0';
        char *f[16];
        cr_assert_eq(kt_fields(line, f, 16), 13);
        double want[7]; /* starting, new, expansion, contraction, churned, reactivation, ending */
        for (int k = 0; k < 7; k++)
            want[k] = strtod(f[1 + k], NULL);
        double got[7] = { 0 };
        char month[8];
        snprintf(month, sizeof month, "%.7s", f[0]);
        char *x = CSV(dir, NULL, "mrr", "--explain", month);
        for (char *l = strchr(x, '\n') + 1, *nl; *l; l = nl) {
            nl = strchr(l, '\n');
            *nl++ = '\0';
            char *g[8];
            cr_assert_eq(kt_fields(l, g, 8), 6);
            double m0 = strtod(g[2], NULL), m1 = strtod(g[3], NULL);
            got[0] += m0;
            got[6] += m1;
            if (strcmp(g[1], "new") == 0)
                got[1] += m1;
            else if (strcmp(g[1], "expansion") == 0)
                got[2] += m1 - m0;
            else if (strcmp(g[1], "contraction") == 0)
                got[3] += m0 - m1;
            else if (strcmp(g[1], "churned") == 0)
                got[4] += m0;
            else if (strcmp(g[1], "reactivation") == 0)
                got[5] += m1;
            else
                cr_assert_str_eq(g[1], "steady");
        }
        for (int k = 0; k < 7; k++)
            cr_assert(want[k] - got[k] < 0.005 && got[k] - want[k] < 0.005, "%s column %d: report %.2f, accounts %.2f",
                      month, k, want[k], got[k]);
        free(x);
        months++;
    }
    cr_assert_gt(months, 10);
    free(report);
    kt_rmrf(dir);
}

Test(explain, the_other_reports)
{
    char *dir = edges();
    /* cohort of January 2024: a2, a4, a5 */
    char *s = CSV(dir, NULL, "cohorts", "--explain", "2024-01");
    cr_assert_str_eq(s, "account_id,first_start,months_seen,months_retained,retained_now,initial_mrr,mrr_now\n"
                        "a2,2024-01-01,5,5,yes,100.00,50.00\n"
                        "a4,2024-01-15,5,2,no,60.00,0.00\n"
                        "a5,2024-01-01,5,5,yes,100.00,100.00\n");
    free(s);
    /* 1 May: the user "shared" acts for a5 and a2, so it counts in each */
    s = CSV(dir, NULL, "daily", "--explain", "2024-05-01");
    cr_assert_str_eq(s, "account_id,events,users\na2,1,1\na5,3,2\n");
    free(s);
    /* an event without a user counts as an event, not a user */
    s = CSV(dir, NULL, "daily", "--explain", "2024-02-29");
    cr_assert_str_eq(s, "account_id,events,users\na6,2,1\n");
    free(s);
    s = CSV(dir, NULL, "nps", "--explain", "2024-05");
    cr_assert_str_eq(s, "account_id,day,score,group\na2,2024-05-03,10,promoter\na5,2024-05-10,9,promoter\n"
                        "a6,2024-05-12,8,passive\na8,2024-05-20,3,detractor\n");
    free(s);
    /* lifetimes: every account, or those that began paying in a month */
    s = CSV(dir, NULL, "contract-length", "--explain", "all");
    cr_assert_eq(kt_lines(s), 8, "%s", s);
    cr_assert(kt_contains(s, "\na3,2023-02-01,2023-05-01,89,2.924024640657084,churned\n"), "%s", s);
    cr_assert(kt_contains(s, "\na8,2024-05-01,,60,1.9712525667351128,paying\n"), "%s", s);
    free(s);
    s = CSV(dir, NULL, "survival", "--explain", "2024-01");
    cr_assert_str_eq(s, "account_id,first_paid,churned_on,lifetime_days,lifetime_months,status\n"
                        "a2,2024-01-01,,181,5.946611909650924,paying\n"
                        "a4,2024-01-15,2024-04-01,77,2.529774127310062,churned\n"
                        "a5,2024-01-01,,181,5.946611909650924,paying\n");
    free(s);
    kt_rmrf(dir);
}

Test(explain, weekly_movements)
{
    char *dir = edges();
    /* ISO weeks start on Monday; 1 April 2024 is a Monday, so the week of
     * 25 March ends where March does: 220 */
    char *s = CSV(dir, NULL, "mrr", "--interval", "week", "--from", "2024-03-04", "--to", "2024-03-25");
    cr_assert_str_eq(s, "week,starting_mrr,new_mrr,expansion_mrr,contraction_mrr,churned_mrr,reactivation_mrr,"
                        "ending_mrr,accounts_start,accounts_churned,logo_churn_rate,grr,nrr\n"
                        "2024-03-04,330.00,50.00,100.00,0.00,0.00,0.00,480.00,4,0,0.0,1.0,1.303030303030303\n"
                        "2024-03-11,480.00,0.00,0.00,0.00,0.00,0.00,480.00,5,0,0.0,1.0,1.0\n"
                        "2024-03-18,480.00,0.00,0.00,150.00,50.00,0.00,280.00,5,1,0.2,0.5833333333333334,"
                        "0.5833333333333334\n"
                        "2024-03-25,280.00,0.00,0.00,0.00,60.00,0.00,220.00,4,1,0.25,0.7857142857142857,"
                        "0.7857142857142857\n");
    free(s);
    /* --from inside a week starts at its Monday; the drill-down takes any day of the week */
    s = CSV(dir, NULL, "mrr", "--interval", "week", "--from", "2024-03-06", "--to", "2024-03-06");
    cr_assert(kt_contains(s, "\n2024-03-04,330.00,"), "%s", s);
    cr_assert_eq(kt_lines(s), 2, "%s", s);
    free(s);
    s = CSV(dir, NULL, "mrr", "--interval", "week", "--explain", "2024-03-08");
    cr_assert_str_eq(s, "account_id,movement,mrr_start,mrr_end,change,first_start\n"
                        "a2,expansion,100.00,200.00,100.00,2024-01-01\n"
                        "a1,new,0.00,50.00,50.00,2024-03-05\n"
                        "a4,steady,60.00,60.00,0.00,2024-01-15\n"
                        "a5,steady,130.00,130.00,0.00,2024-01-01\n"
                        "a6,steady,40.00,40.00,0.00,2024-02-29\n");
    free(s);
    kt_rmrf(dir);
}

Test(explain, revenue_cohorts_and_the_matrix)
{
    char *dir = edges();
    /* January 2024: a2 100 + a4 60 + a5 100 = 260 at first; 290 on 1 March
     * (a5's add-on), 180 on 1 April (a2 down to 50, a4 gone), then 150 */
    char *s = CSV(dir, NULL, "cohorts", "--revenue", "--from", "2024-01", "--to", "2024-01");
    cr_assert_str_eq(s, "cohort_month,k,cohort_accounts,initial_mrr,mrr,revenue_retention\n"
                        "2024-01-01,0,3,260.00,260.00,1.0\n"
                        "2024-01-01,1,3,260.00,290.00,1.1153846153846154\n"
                        "2024-01-01,2,3,260.00,180.00,0.6923076923076923\n"
                        "2024-01-01,3,3,260.00,150.00,0.5769230769230769\n"
                        "2024-01-01,4,3,260.00,150.00,0.5769230769230769\n");
    free(s);
    s = CSV(dir, NULL, "cohorts", "--matrix", "--from", "2024-01");
    cr_assert_str_eq(s, "cohort_month,cohort_accounts,k0,k1,k2,k3,k4\n"
                        "2024-01-01,3,1.0,1.0,0.6666666666666666,0.6666666666666666,0.6666666666666666\n"
                        "2024-02-01,1,1.0,1.0,1.0,1.0,\n"
                        "2024-03-01,1,0.0,0.0,0.0,,\n"
                        "2024-05-01,1,1.0,,,,\n");
    free(s);
    s = CSV(dir, NULL, "cohorts", "--matrix", "--revenue", "--from", "2024-05");
    cr_assert_str_eq(s, "cohort_month,cohort_accounts,initial_mrr,k0\n2024-05-01,1,120.00,1.0\n");
    free(s);
    kt_rmrf(dir);
}

/* a3 paid until 1 May 2023 and again from 15 June 2024: 411 days without MRR. */
Test(explain, the_reactivation_window)
{
    char *dir = edges();
    const char *june[] = { "mrr", "--as-of", "2024-07-01", "--from", "2024-06", NULL };
    char *s = kt_metrics_csv(dir, NULL, june); /* the reference: always a reactivation */
    cr_assert(kt_contains(s, "\n2024-06-01,310.00,0.00,0.00,0.00,0.00,90.00,400.00,"), "%s", s);
    free(s);
    s = kt_metrics_csv(dir, "metrics.reactivation_window_days=411", june); /* not more than 411 */
    cr_assert(kt_contains(s, "\n2024-06-01,310.00,0.00,0.00,0.00,0.00,90.00,400.00,"), "%s", s);
    free(s);
    s = kt_metrics_csv(dir, "metrics.reactivation_window_days=410", june);
    cr_assert(kt_contains(s, "\n2024-06-01,310.00,90.00,0.00,0.00,0.00,0.00,400.00,"), "%s", s);
    free(s);
    s = CSV(dir, "metrics.reactivation_window_days=410", "mrr", "--explain", "2024-06");
    cr_assert(kt_contains(s, "\na3,new,0.00,90.00,90.00,2023-02-01\n"), "%s", s);
    free(s);
    kt_rmrf(dir);
}

/* a1 paid 50 from 5 to 20 March 2024: invisible by default (the reference),
 * new and churned in March when counted; GRR and NRR, which measure the MRR
 * the month started with, do not change. */
Test(explain, subscriptions_inside_one_period)
{
    char *dir = edges();
    const char *march[] = { "mrr", "--from", "2024-03", "--to", "2024-03", NULL };
    char *s = kt_metrics_csv(dir, "metrics.intra_period_subscriptions=count", march);
    cr_assert_str_eq(s, "month,starting_mrr,new_mrr,expansion_mrr,contraction_mrr,churned_mrr,reactivation_mrr,"
                        "ending_mrr,accounts_start,accounts_churned,logo_churn_rate,grr,nrr\n"
                        "2024-03-01,330.00,50.00,0.00,50.00,110.00,0.00,220.00,5,2,0.4,0.6666666666666666,"
                        "0.6666666666666666\n");
    free(s);
    s = CSV(dir, "metrics.intra_period_subscriptions=count", "mrr", "--explain", "2024-03");
    cr_assert(kt_contains(s, "\na1,new_and_churned,0.00,0.00,0.00,2024-03-05,50.00\n"), "%s", s);
    free(s);
    /* weekly, a1 spans two weeks: new in the first, churned in the third */
    s = CSV(dir, "metrics.intra_period_subscriptions=count", "mrr", "--interval", "week", "--from", "2024-03-04",
            "--to", "2024-03-18");
    cr_assert(kt_contains(s, "\n2024-03-04,330.00,50.00,100.00,"), "%s", s);
    cr_assert(kt_contains(s, "\n2024-03-18,480.00,0.00,0.00,150.00,50.00,"), "%s", s);
    free(s);
    kt_rmrf(dir);
}

Test(explain, usage_errors)
{
    char *dir = edges();
    static const struct {
        const char *args[8];
        const char *says;
    } bad[] = {
        { { "metrics", "usage", "--explain", "2024-03", NULL }, "already lists its accounts" },
        { { "metrics", "daily", "--explain", "2024-03", NULL }, "drills into a day" },
        { { "metrics", "nps", "--explain", "2024-03-01", NULL }, "drills into a month" },
        { { "metrics", "mrr", "--explain", "March", NULL }, "--explain March" },
        { { "metrics", "cohorts", "--interval", "week", NULL }, "only the mrr report has weeks" },
        { { "metrics", "mrr", "--interval", "fortnight", NULL }, "must be month or week" },
        { { "metrics", "mrr", "--revenue", NULL }, "only the cohorts report" },
        { { "metrics", "cohorts", "--matrix", "--explain", "2024-01", NULL }, "choose one" },
        { { "--set", "metrics.intra_period_subscriptions=sometimes", "metrics", "mrr", NULL }, "ignore|count" },
        { { "--set", "metrics.reactivation_window_days=-1", "metrics", "mrr", NULL }, "out of range" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[12] = { "--db", "k.db" };
        size_t n = 2;
        for (size_t k = 0; bad[i].args[k]; k++)
            argv[n++] = bad[i].args[k];
        argv[n] = NULL;
        kt_run r;
        kt_kizuna(&r, dir, NULL, argv);
        cr_assert_eq(r.status, 2, "case %zu: status %d, %s", i, r.status, r.err);
        cr_assert(kt_contains(r.err, bad[i].says), "case %zu: %s", i, r.err);
        cr_assert_str_eq(r.out, "", "case %zu", i);
        kt_run_free(&r);
    }
    kt_rmrf(dir);
}
