/*
 * engine_signals_test.c - per-account signals and churn labels at an
 * observation date, on a small hand-built world (tests/fixtures/signals),
 * each value worked out by hand; and that a past date sees only the past.
 *
 * s1 pays 100 for 10 seats since 2023; four users were active from 5 to 8 May,
 * two in June; three tickets by the end of June (one resolved, one urgent
 * operational ticket open since 20 June, one high functional ticket open since
 * 1 March and resolved only in July) and one opened in July; NPS 4 on 10 June
 * and 9 in July. s2's only subscription ends on 1 August; s3 renews without a
 * gap on 15 July; s4 stopped paying in February.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/engine.h"
#include "engine/signals.h"
#include "store/store.h"
#include "../support/support.h"

struct world {
    char *dir;
    kz_store *st;
    kz_engine *e;
};

static struct world open_world(void)
{
    struct world w;
    w.dir = kt_tmpdir();
    kt_import(w.dir, kt_fixture("signals"));
    cr_assert_eq(kz_store_open(&w.st, kt_path(w.dir, "k.db"), KZ_STORE_READONLY), 0, "%s", kz_error_msg());
    cr_assert_eq(kz_engine_build(&w.e, w.st, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS, NULL), 0, "%s",
                 kz_error_msg());
    return w;
}

static void close_world(struct world *w)
{
    kz_engine_free(w->e);
    kz_store_close(w->st);
    kt_rmrf(w->dir);
}

/* The value of signal `name` for account index a (accounts in key order: s1..s4). */
static double sig(const double *m, int a, const char *name)
{
    int k = kz_signal_find(name, strlen(name));
    cr_assert_geq(k, 0, "no signal %s", name);
    return m[(size_t)a * KZ_NSIGNALS + (size_t)k];
}

#define EQ(m, a, name, want) cr_assert_float_eq(sig(m, a, name), (want), 1e-12, "s%d %s = %g", (a) + 1, name, sig(m, a, name))
#define NA(m, a, name) cr_assert(isnan(sig(m, a, name)), "s%d %s = %g, not empty", (a) + 1, name, sig(m, a, name))

Test(engine_signals, at_the_end_of_june)
{
    struct world w = open_world();
    kz_metric_opts o;
    kz_metric_opts_init(&o);
    o.obs = (kz_day)kz_days_from_civil(2024, 6, 30);
    double *m;
    cr_assert_eq(kz_engine_signals(&m, w.e, &o), 0);
    /* usage: the last 28 days are 3-30 June, the 28 before 6 May-2 June */
    EQ(m, 0, "events", 2);
    EQ(m, 0, "events_prev", 3);
    EQ(m, 0, "active_users", 2);
    EQ(m, 0, "active_users_prev", 3);
    EQ(m, 0, "users_trend", 2.0 / 3.0);
    EQ(m, 0, "seats", 10);
    EQ(m, 0, "seat_utilisation", 0.2);
    EQ(m, 0, "days_since_last_event", 19);
    /* support: t2 and t3 open at the end of the 30th, both high or urgent;
     * t3 is 121 days old; t2 in the last 28 days, t1 and t2 in the last 90;
     * first responses 2 h and 6 h; t4 is in July and does not exist yet */
    EQ(m, 0, "tickets_open", 2);
    EQ(m, 0, "tickets_open_high", 2);
    EQ(m, 0, "oldest_open_ticket_days", 121);
    EQ(m, 0, "tickets_28d", 1);
    EQ(m, 0, "tickets_90d", 2);
    EQ(m, 0, "operational_tickets_90d", 1);
    EQ(m, 0, "first_response_hours_90d", 4.0);
    /* voice: the answer of 10 June; July's is in the future */
    EQ(m, 0, "nps_last", 4);
    EQ(m, 0, "nps_days_since", 20);
    /* revenue and tenure */
    EQ(m, 0, "mrr", 100);
    EQ(m, 0, "tenure_days", 546);
    EQ(m, 3, "mrr", 0);
    EQ(m, 3, "mrr_90d_ago", 0);
    NA(m, 3, "mrr_change_90d");
    NA(m, 2, "nps_last");
    NA(m, 2, "usage_trend");
    free(m);
    close_world(&w);
}

Test(engine_signals, a_past_date_sees_only_the_past)
{
    struct world w = open_world();
    kz_metric_opts o;
    kz_metric_opts_init(&o);
    o.obs = (kz_day)kz_days_from_civil(2024, 6, 15);
    double *m;
    cr_assert_eq(kz_engine_signals(&m, w.e, &o), 0);
    EQ(m, 0, "tickets_open", 1); /* t2 is opened on the 20th */
    EQ(m, 0, "oldest_open_ticket_days", 106);
    EQ(m, 0, "first_response_hours_90d", 2.0);
    EQ(m, 0, "days_since_last_event", 4);
    EQ(m, 0, "nps_days_since", 5);
    NA(m, 1, "days_since_last_event"); /* s2's only event is on the 30th */
    free(m);
    close_world(&w);
}

Test(engine_signals, churn_within_the_horizon)
{
    struct world w = open_world();
    kz_day obs = (kz_day)kz_days_from_civil(2024, 6, 30);
    cr_assert_eq(kz_engine_churns_within(w.e, 0, obs, 90), 0);  /* s1 pays on */
    cr_assert_eq(kz_engine_churns_within(w.e, 1, obs, 90), 1);  /* s2 stops on 1 August, 32 days on */
    cr_assert_eq(kz_engine_churns_within(w.e, 1, obs, 32), 1);
    cr_assert_eq(kz_engine_churns_within(w.e, 1, obs, 31), 0);
    cr_assert_eq(kz_engine_churns_within(w.e, 2, obs, 90), 0);  /* s3 renews without a gap */
    cr_assert_eq(kz_engine_churns_within(w.e, 3, obs, 90), -1); /* s4 does not pay: not at risk */
    cr_assert_eq(kz_engine_churns_within(w.e, 3, (kz_day)kz_days_from_civil(2024, 1, 1), 90), 1);
    close_world(&w);
}

Test(engine_signals, the_table_names_every_signal_once)
{
    const kz_signal_def *d = kz_signal_defs();
    for (int i = 0; i < KZ_NSIGNALS; i++) {
        cr_assert_not_null(d[i].name, "signal %d has no row", i);
        cr_assert_not_null(d[i].help);
        cr_assert_eq(kz_signal_find(d[i].name, strlen(d[i].name)), i, "%s", d[i].name);
    }
    cr_assert_eq(kz_signal_find("nope", 4), -1);
}
