/*
 * usage_test.c - the usage features (`usage --wide`, `--by-event`,
 * `--window`): checked by hand on the edge cases, against the reference
 * columns and each other on the small reference data, and the same with one
 * thread or two.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/support.h"

#define CSV KT_METRICS_CSV

/* The edge cases at 2024-06-30, W = 3 to 30 June. a5: a login on the 10th
 * (u5), dashboards on the 25th (u5, u55), an alert on the 26th (shared): 4
 * events, 3 users on 3 days, all three in the last week, none on the 30th;
 * 1 + 2 + 1 user-days over 28 days = 0.1429 a day over 3 monthly users =
 * 0.0476 stickiness; 3 of the 4 names used in W; 5 seats (pro, the add-on
 * ended in May), 3 active: 0.6. a8: one user on three days in a row. a6's
 * login at 23:59:59 on the 30th makes it the only one active that day. */
Test(usage, features_by_hand)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_fixture("reference/edges"));
    char *s = CSV(dir, NULL, "usage", "--wide");
    cr_assert_str_eq(s, "account_id,events,events_prev,trend,active_users,active_days,dau,wau,mau,stickiness,"
                        "features_used,feature_breadth,seats,seat_utilisation,days_since_last_event\n"
                        "a1,0,0,,0,0,0,0,0,,0,0.0,0,,\n"
                        "a2,1,0,,1,1,0,1,1,0.03571428571428571,1,0.25,2,0.5,4\n"
                        "a3,2,0,,1,1,0,0,1,0.03571428571428571,2,0.5,1,1.0,10\n"
                        "a4,0,0,,0,0,0,0,0,,0,0.0,0,,\n"
                        "a5,4,0,,3,3,0,3,3,0.047619047619047616,3,0.75,5,0.6,4\n"
                        "a6,1,0,,1,1,1,1,1,0.03571428571428571,1,0.25,1,1.0,0\n"
                        "a7,0,0,,0,0,0,0,0,,0,0.0,0,,\n"
                        "a8,3,0,,1,3,0,1,1,0.10714285714285714,2,0.5,3,0.3333333333333333,1\n");
    free(s);
    s = CSV(dir, NULL, "usage", "--by-event");
    cr_assert_str_eq(s, "account_id,event,events,events_prev,users\n"
                        "a2,dashboard.view,1,0,1\n"
                        "a3,dashboard.view,1,0,1\n"
                        "a3,login,1,0,1\n"
                        "a5,alert.create,1,0,1\n"
                        "a5,dashboard.view,2,0,2\n"
                        "a5,login,1,0,1\n"
                        "a6,login,1,0,1\n"
                        "a8,api.call,2,0,1\n"
                        "a8,login,1,0,1\n");
    free(s);
    /* a window of 7 days: a3's two events of the 20th fall in the week before */
    s = CSV(dir, NULL, "usage", "--wide", "--window", "7");
    cr_assert(kt_contains(s, "\na3,0,2,0.0,0,0,0,0,1,0.03571428571428571,0,0.0,1,0.0,10\n"), "%s", s);
    free(s);
    s = CSV(dir, NULL, "usage", "--by-event", "--window", "7");
    cr_assert(kt_contains(s, "\na3,dashboard.view,0,1,0\na3,login,0,1,0\n"), "%s", s);
    free(s);
    /* in Tokyo a6's last login is on 1 July, the observation date */
    s = CSV(dir, NULL, "usage", "--wide", "--timezone", "Asia/Tokyo");
    cr_assert(kt_contains(s, "\na6,1,0,,1,1,1,1,1,"), "%s", s);
    free(s);
    /* as of a past date, later events do not exist: a6's last event before 15
     * May is on 29 February, 76 days before; a3's and a8's come later */
    s = CSV(dir, NULL, "usage", "--as-of", "2024-05-15");
    cr_assert(kt_contains(s, "\na2,1,0,0,0,0,1,0,1,,14\n"), "%s", s);
    cr_assert(kt_contains(s, "\na3,0,0,0,0,0,0,0,0,,\n"), "%s", s);
    cr_assert(kt_contains(s, "\na6,0,0,0,0,0,0,0,0,,76\n"), "%s", s);
    free(s);
    s = CSV(dir, NULL, "usage", "--wide", "--as-of", "2024-05-15");
    cr_assert(kt_contains(s, "\na6,0,0,,0,0,0,0,0,,0,0.0,1,0.0,76\n"), "%s", s);
    cr_assert(kt_contains(s, "\na8,0,0,,0,0,0,0,0,,0,0.0,3,0.0,\n"), "%s", s); /* seats from 1 May */
    free(s);
    /* filtered: only the accounts that pass, breadth over their names */
    s = CSV(dir, NULL, "usage", "--wide", "--filter", "plan=pro");
    cr_assert_eq(kt_lines(s), 3, "%s", s);
    cr_assert(kt_contains(s, "\na5,4,0,,3,3,0,3,3,0.047619047619047616,3,0.75,5,0.6,4\n"), "%s", s);
    free(s);
    kt_rmrf(dir);
}



/* On the small reference data: the wide features at 28 days agree with the
 * reference columns of usage, the by-event rows add up to them, and one
 * thread or two give the same bytes for every event report. */
Test(usage, agrees_with_the_reference_columns_and_across_threads, .timeout = 120)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_reference_data(dir, 0));

    static const char *const variants[][3] = {
        { "usage", NULL, NULL }, { "usage", "--wide", NULL }, { "usage", "--by-event", NULL },
        { "daily", NULL, NULL }, { "usage", "--wide", "--timezone=Asia/Tokyo" },
    };
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        const char *args[4] = { variants[v][0], variants[v][1], variants[v][2], NULL };
        char *one = kt_metrics_csv(dir, "engine.threads=1", args), *two = kt_metrics_csv(dir, "engine.threads=2", args);
        cr_assert_str_eq(one, two, "%s %s: one thread and two differ", args[0], args[1] ? args[1] : "");
        free(one);
        free(two);
    }

    char *ref = CSV(dir, NULL, "usage"), *wide = CSV(dir, NULL, "usage", "--wide"),
         *by = CSV(dir, NULL, "usage", "--by-event");
    char *pr = ref, *pw = wide, *pb = by;
    kt_next_line(&pr);
    kt_next_line(&pw);
    kt_next_line(&pb);
    char *lb = kt_next_line(&pb), *bf[8];
    int nb = lb ? kt_fields(lb, bf, 8) : 0;
    size_t accounts = 0;
    for (char *lr; (lr = kt_next_line(&pr));) {
        char *lw = kt_next_line(&pw), *rf[16], *wf[16];
        cr_assert_not_null(lw);
        cr_assert_eq(kt_fields(lr, rf, 16), 11);
        cr_assert_eq(kt_fields(lw, wf, 16), 15);
        cr_assert_str_eq(rf[0], wf[0]);
        cr_assert_str_eq(rf[6], wf[1], "%s events", rf[0]);
        cr_assert_str_eq(rf[7], wf[2], "%s events_prev", rf[0]);
        cr_assert_str_eq(rf[8], wf[4], "%s active users", rf[0]);
        cr_assert_str_eq(rf[9], wf[3], "%s trend", rf[0]);
        cr_assert_str_eq(rf[10], wf[14], "%s days since", rf[0]);
        cr_assert_str_eq(rf[8], wf[8], "%s mau is the 28-day users", rf[0]);
        long ev = 0, prev = 0, names = 0, most_users = 0;
        while (nb == 5 && strcmp(bf[0], rf[0]) == 0) {
            ev += strtol(bf[2], NULL, 10);
            prev += strtol(bf[3], NULL, 10);
            names += strtol(bf[2], NULL, 10) > 0;
            if (strtol(bf[4], NULL, 10) > most_users)
                most_users = strtol(bf[4], NULL, 10);
            lb = kt_next_line(&pb);
            nb = lb ? kt_fields(lb, bf, 8) : 0;
        }
        cr_assert_eq(ev, strtol(wf[1], NULL, 10), "%s: by-event events", rf[0]);
        cr_assert_eq(prev, strtol(wf[2], NULL, 10), "%s: by-event events_prev", rf[0]);
        cr_assert_eq(names, strtol(wf[10], NULL, 10), "%s: names used", rf[0]);
        cr_assert_leq(most_users, strtol(wf[4], NULL, 10), "%s", rf[0]);
        accounts++;
    }
    cr_assert_null(kt_next_line(&pw));
    cr_assert_eq(nb, 0, "by-event rows of an unknown account: %s", nb ? bf[0] : "");
    cr_assert_gt(accounts, 100);
    free(ref);
    free(wide);
    free(by);
    kt_rmrf(dir);
}

Test(usage, usage_errors)
{
    char *dir = kt_tmpdir();
    static const struct {
        const char *args[6];
        const char *says;
    } bad[] = {
        { { "usage", "--window", "7", NULL }, "only with signals, or usage --wide or --by-event" },
        { { "usage", "--wide", "--window", "0", NULL }, "from 1 to 366" },
        { { "usage", "--wide", "--window", "7x", NULL }, "from 1 to 366" },
        { { "usage", "--wide", "--by-event", NULL }, "choose one" },
        { { "mrr", "--wide", NULL }, "only the usage report" },
        { { "daily", "--by-event", NULL }, "only the usage report" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[12] = { "--db", "k.db", "metrics" };
        size_t n = 3;
        for (size_t k = 0; bad[i].args[k]; k++)
            argv[n++] = bad[i].args[k];
        argv[n] = NULL;
        kt_run r;
        kt_kizuna(&r, dir, NULL, argv);
        cr_assert_eq(r.status, 2, "case %zu: status %d, %s", i, r.status, r.err);
        cr_assert(kt_contains(r.err, bad[i].says), "case %zu: %s", i, r.err);
        kt_run_free(&r);
    }
    kt_rmrf(dir);
}
