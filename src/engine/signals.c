/*
 * signals.c - per-account signals at an observation date (signals.h).
 *
 * Usage comes from kz_engine_features; support from the tickets grouped by
 * account; NPS from the answers by time; revenue and tenure from the
 * subscriptions. The observation date ends at the start of the next local
 * day: a ticket opened or resolved, or an answer given, before that instant
 * counts as known.
 */
#include "engine/signals.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/engine_internal.h"

static const kz_signal_def defs[KZ_NSIGNALS] = {
    [KZ_SIG_EVENTS] = { "events", "count", "events in the window (default the last 28 days)" },
    [KZ_SIG_EVENTS_PREV] = { "events_prev", "count", "events in the window before" },
    [KZ_SIG_USAGE_TREND] = { "usage_trend", "ratio", "events ÷ events_prev" },
    [KZ_SIG_ACTIVE_USERS] = { "active_users", "users", "distinct users active in the window" },
    [KZ_SIG_ACTIVE_USERS_PREV] = { "active_users_prev", "users", "distinct users active in the window before" },
    [KZ_SIG_USERS_TREND] = { "users_trend", "ratio", "active_users ÷ active_users_prev" },
    [KZ_SIG_ACTIVE_DAYS] = { "active_days", "days", "days of the window with an event" },
    [KZ_SIG_DAU] = { "dau", "users", "distinct users active on the observation date" },
    [KZ_SIG_WAU] = { "wau", "users", "distinct users active in the last 7 days" },
    [KZ_SIG_MAU] = { "mau", "users", "distinct users active in the last 28 days" },
    [KZ_SIG_STICKINESS] = { "stickiness", "ratio", "mean daily active users over the last 28 days ÷ mau" },
    [KZ_SIG_FEATURES_USED] = { "features_used", "count", "distinct event names used in the window" },
    [KZ_SIG_FEATURE_BREADTH] = { "feature_breadth", "ratio",
                                 "features_used ÷ event names used by all accounts in the window" },
    [KZ_SIG_SEATS] = { "seats", "count", "quantity of the paid subscriptions active on the date" },
    [KZ_SIG_SEAT_UTILISATION] = { "seat_utilisation", "ratio", "active_users ÷ seats" },
    [KZ_SIG_DAYS_SINCE_EVENT] = { "days_since_last_event", "days", "days since the last event on or before the date" },
    [KZ_SIG_TICKETS_OPEN] = { "tickets_open", "count", "support tickets open at the end of the date" },
    [KZ_SIG_TICKETS_OPEN_HIGH] = { "tickets_open_high", "count", "of those, priority high or urgent" },
    [KZ_SIG_OLDEST_OPEN_TICKET_DAYS] = { "oldest_open_ticket_days", "days", "age of the oldest open ticket" },
    [KZ_SIG_TICKETS_28D] = { "tickets_28d", "count", "tickets opened in the last 28 days" },
    [KZ_SIG_TICKETS_90D] = { "tickets_90d", "count", "tickets opened in the last 90 days" },
    [KZ_SIG_OPERATIONAL_TICKETS_90D] = { "operational_tickets_90d", "count",
                                         "of those, operational (how-to, set-up) rather than functional" },
    [KZ_SIG_FIRST_RESPONSE_HOURS_90D] = { "first_response_hours_90d", "hours",
                                          "mean time to the first response of the tickets of the last 90 days" },
    [KZ_SIG_NPS_LAST] = { "nps_last", "score", "the latest NPS answer (0-10)" },
    [KZ_SIG_NPS_DAYS_SINCE] = { "nps_days_since", "days", "days since that answer" },
    [KZ_SIG_MRR] = { "mrr", "money", "MRR on the date" },
    [KZ_SIG_MRR_90D_AGO] = { "mrr_90d_ago", "money", "MRR 90 days before" },
    [KZ_SIG_MRR_CHANGE_90D] = { "mrr_change_90d", "ratio", "mrr ÷ mrr_90d_ago − 1" },
    [KZ_SIG_TENURE_DAYS] = { "tenure_days", "days", "days since the first subscription started" },
};

const kz_signal_def *kz_signal_defs(void)
{
    return defs;
}

int kz_signal_find(const char *name, size_t n)
{
    for (int i = 0; i < KZ_NSIGNALS; i++)
        if (strlen(defs[i].name) == n && memcmp(defs[i].name, name, n) == 0)
            return i;
    return -1;
}

static double ratio(double a, double b)
{
    return b != 0 ? a / b : NAN;
}

/* Money units (1/10,000) to currency units. */
static double money(int64_t units)
{
    return (double)units / 10000.0;
}

int kz_engine_churns_within(const kz_engine *e, uint32_t a, kz_day obs, int horizon)
{
    kz_day end = KZ_DAY_NONE;
    /* the paid subscriptions covering obs, and the furthest end among them */
    for (uint32_t i = e->acc_subs[a]; i < e->acc_subs[a + 1]; i++)
        if (e->sub_mrr[i] > 0 && e->sub_start[i] <= obs && e->sub_end[i] > obs &&
            (end == KZ_DAY_NONE || e->sub_end[i] > end))
            end = e->sub_end[i];
    if (end == KZ_DAY_NONE)
        return -1;
    /* by start date, one pass extends the span over what follows without a gap */
    for (uint32_t i = e->acc_subs[a]; i < e->acc_subs[a + 1] && end != KZ_DAY_OPEN; i++)
        if (e->sub_mrr[i] > 0 && e->sub_start[i] <= end && e->sub_end[i] > end)
            end = e->sub_end[i];
    return end != KZ_DAY_OPEN && (int64_t)end <= (int64_t)obs + horizon;
}

/* Support signals of every account. */
static void support(double *m, const kz_engine *e, const kz_metric_opts *o, kz_day obs)
{
    int64_t t_end = kz_tz_day_start(o->tz, (int64_t)obs + 1);
    int64_t t28 = kz_tz_day_start(o->tz, (int64_t)obs - 27), t90 = kz_tz_day_start(o->tz, (int64_t)obs - 89);
    for (uint32_t a = 0; a < e->naccounts; a++) {
        if (!kz_counts(o, a))
            continue;
        double *r = m + (size_t)a * KZ_NSIGNALS;
        int64_t open = 0, high = 0, n28 = 0, n90 = 0, op90 = 0, nresp = 0;
        int64_t oldest = INT64_MAX;
        double resp = 0;
        for (uint32_t i = e->acc_tickets[a]; i < e->acc_tickets[a + 1] && e->tk_opened[i] < t_end; i++) {
            int64_t opened = e->tk_opened[i];
            if (e->tk_resolved[i] >= t_end) {
                open++;
                high += e->tk_priority[i] >= KZ_PRIO_HIGH;
                if (opened < oldest)
                    oldest = opened;
            }
            if (opened >= t28)
                n28++;
            if (opened >= t90) {
                n90++;
                op90 += e->tk_category[i] == KZ_CAT_OPERATIONAL;
                if (e->tk_first_resp[i] < t_end && e->tk_first_resp[i] >= opened) {
                    resp += (double)(e->tk_first_resp[i] - opened) / 3600.0;
                    nresp++;
                }
            }
        }
        r[KZ_SIG_TICKETS_OPEN] = (double)open;
        r[KZ_SIG_TICKETS_OPEN_HIGH] = (double)high;
        r[KZ_SIG_OLDEST_OPEN_TICKET_DAYS] = open ? (double)(obs - kz_tz_day(o->tz, oldest)) : NAN;
        r[KZ_SIG_TICKETS_28D] = (double)n28;
        r[KZ_SIG_TICKETS_90D] = (double)n90;
        r[KZ_SIG_OPERATIONAL_TICKETS_90D] = (double)op90;
        r[KZ_SIG_FIRST_RESPONSE_HOURS_90D] = nresp ? resp / (double)nresp : NAN;
    }
}

/* The latest NPS answer of every account, by the end of obs. */
static void voice(double *m, const kz_engine *e, const kz_metric_opts *o, kz_day obs)
{
    int64_t t_end = kz_tz_day_start(o->tz, (int64_t)obs + 1);
    for (size_t i = 0; i < e->nnps && e->nps_sec[i] < t_end; i++) { /* by time: the last wins */
        uint32_t a = e->nps_acc[i];
        if (!kz_counts(o, a))
            continue;
        double *r = m + (size_t)a * KZ_NSIGNALS;
        r[KZ_SIG_NPS_LAST] = e->nps_score[i];
        r[KZ_SIG_NPS_DAYS_SINCE] = (double)(obs - kz_tz_day(o->tz, e->nps_sec[i]));
    }
}

static void revenue(double *m, const kz_engine *e, const kz_metric_opts *o, kz_day obs)
{
    for (uint32_t a = 0; a < e->naccounts; a++) {
        if (!kz_counts(o, a))
            continue;
        double *r = m + (size_t)a * KZ_NSIGNALS;
        int64_t now = kz_engine_mrr_on(e, a, obs), before = kz_engine_mrr_on(e, a, obs - 90);
        kz_day fs = kz_engine_first_start(e, a);
        r[KZ_SIG_MRR] = money(now);
        r[KZ_SIG_MRR_90D_AGO] = money(before);
        r[KZ_SIG_MRR_CHANGE_90D] = before ? (double)now / (double)before - 1 : NAN;
        r[KZ_SIG_TENURE_DAYS] = fs != KZ_DAY_OPEN && fs <= obs ? (double)(obs - fs) : NAN;
    }
}

int kz_engine_signals(double **out, const kz_engine *e, const kz_metric_opts *o)
{
    size_t na = e->naccounts;
    double *m = malloc((na ? na : 1) * KZ_NSIGNALS * sizeof *m);
    kz_features *f = NULL;
    *out = NULL;
    if (!m)
        return kz_error_oom();
    for (size_t i = 0; i < na * KZ_NSIGNALS; i++)
        m[i] = NAN;
    kz_day obs = kz_engine_obs(e, o);
    if (obs == KZ_DAY_NONE) {
        *out = m;
        return KZ_OK;
    }
    int rc = kz_engine_features(e, o, &f);
    if (rc) {
        free(m);
        return rc;
    }
    for (uint32_t a = 0; a < na; a++) {
        if (!kz_counts(o, a))
            continue;
        const kz_features *x = &f[a];
        double *r = m + (size_t)a * KZ_NSIGNALS;
        r[KZ_SIG_EVENTS] = (double)x->events;
        r[KZ_SIG_EVENTS_PREV] = (double)x->events_prev;
        r[KZ_SIG_USAGE_TREND] = ratio((double)x->events, (double)x->events_prev);
        r[KZ_SIG_ACTIVE_USERS] = (double)x->active_users;
        r[KZ_SIG_ACTIVE_USERS_PREV] = (double)x->active_users_prev;
        r[KZ_SIG_USERS_TREND] = ratio((double)x->active_users, (double)x->active_users_prev);
        r[KZ_SIG_ACTIVE_DAYS] = (double)x->active_days;
        r[KZ_SIG_DAU] = (double)x->dau;
        r[KZ_SIG_WAU] = (double)x->wau;
        r[KZ_SIG_MAU] = (double)x->mau;
        r[KZ_SIG_STICKINESS] = ratio(x->dau_mean, (double)x->mau);
        r[KZ_SIG_FEATURES_USED] = (double)x->features_used;
        r[KZ_SIG_FEATURE_BREADTH] = x->feature_breadth;
        r[KZ_SIG_SEATS] = (double)x->seats;
        r[KZ_SIG_SEAT_UTILISATION] = ratio((double)x->active_users, (double)x->seats);
        r[KZ_SIG_DAYS_SINCE_EVENT] = x->days_since_last >= 0 ? (double)x->days_since_last : NAN;
    }
    free(f);
    support(m, e, o, obs);
    voice(m, e, o, obs);
    revenue(m, e, o, obs);
    *out = m;
    return KZ_OK;
}

int kz_metric_signals(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_tcol cols[1 + KZ_NSIGNALS];
    cols[0] = (kz_tcol){ "account_id", KZ_T_TEXT };
    for (int k = 0; k < KZ_NSIGNALS; k++) {
        const char *u = defs[k].unit;
        kz_ctype t = strcmp(u, "money") == 0                             ? KZ_T_MONEY
                     : strcmp(u, "ratio") == 0 || strcmp(u, "hours") == 0 ? KZ_T_DOUBLE
                                                                           : KZ_T_INT;
        cols[1 + k] = (kz_tcol){ defs[k].name, t };
    }
    kz_table *t = kz_table_new(cols, 1 + KZ_NSIGNALS);
    double *m = NULL;
    int rc;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    rc = kz_engine_signals(&m, e, o);
    for (uint32_t a = 0; a < e->naccounts && !rc; a++) {
        if (!kz_counts(o, a))
            continue;
        kz_tcell *r = kz_table_add_row(t);
        if (!r || kz_cell_text(t, &r[0], e->acc_key[a], e->acc_key_len[a])) {
            rc = KZ_ENOMEM;
            break;
        }
        const double *v = m + (size_t)a * KZ_NSIGNALS;
        for (int k = 0; k < KZ_NSIGNALS; k++) {
            if (isnan(v[k]))
                continue;
            switch (cols[1 + k].type) {
            case KZ_T_MONEY: kz_cell_int(&r[1 + k], (int64_t)llround(v[k] * 10000.0)); break;
            case KZ_T_DOUBLE: kz_cell_double(&r[1 + k], v[k]); break;
            default: kz_cell_int(&r[1 + k], (int64_t)llround(v[k])); break;
            }
        }
    }
    free(m);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}

/* How each signal reads in a sentence: a template whose {name} are signal
 * values ({name%} as a percentage), and what to say when one is missing. */
static const struct {
    const char *says, *missing;
} phrase[KZ_NSIGNALS] = {
    [KZ_SIG_EVENTS] = { "{events} events in the window ({events_prev} in the one before)", NULL },
    [KZ_SIG_EVENTS_PREV] = { "{events_prev} events in the window before", NULL },
    [KZ_SIG_USAGE_TREND] = { "events went from {events_prev} to {events} between the last two windows",
                             "no events in the window before to compare with" },
    [KZ_SIG_ACTIVE_USERS] = { "{active_users} active users in the window", NULL },
    [KZ_SIG_ACTIVE_USERS_PREV] = { "{active_users_prev} active users in the window before", NULL },
    [KZ_SIG_USERS_TREND] = { "active users went from {active_users_prev} to {active_users} between the last two windows",
                             "no active users in the window before to compare with" },
    [KZ_SIG_ACTIVE_DAYS] = { "active on {active_days} days of the window", NULL },
    [KZ_SIG_DAU] = { "{dau} users active on the day", NULL },
    [KZ_SIG_WAU] = { "{wau} users active in the last 7 days", NULL },
    [KZ_SIG_MAU] = { "{mau} users active in the last 28 days", NULL },
    [KZ_SIG_STICKINESS] = { "daily use is {stickiness%} of monthly use", "no monthly users" },
    [KZ_SIG_FEATURES_USED] = { "{features_used} features used in the window", NULL },
    [KZ_SIG_FEATURE_BREADTH] = { "uses {feature_breadth%} of the features in use", "no features in use at all" },
    [KZ_SIG_SEATS] = { "{seats} seats", NULL },
    [KZ_SIG_SEAT_UTILISATION] = { "{active_users} of {seats} seats active", "no seats" },
    [KZ_SIG_DAYS_SINCE_EVENT] = { "last activity {days_since_last_event} days ago", "no activity ever" },
    [KZ_SIG_TICKETS_OPEN] = { "{tickets_open} open tickets", NULL },
    [KZ_SIG_TICKETS_OPEN_HIGH] = { "{tickets_open_high} open high or urgent tickets", NULL },
    [KZ_SIG_OLDEST_OPEN_TICKET_DAYS] = { "the oldest open ticket is {oldest_open_ticket_days} days old", "no open ticket" },
    [KZ_SIG_TICKETS_28D] = { "{tickets_28d} tickets in the last 28 days", NULL },
    [KZ_SIG_TICKETS_90D] = { "{tickets_90d} tickets in the last 90 days", NULL },
    [KZ_SIG_OPERATIONAL_TICKETS_90D] = { "{operational_tickets_90d} how-to tickets in the last 90 days", NULL },
    [KZ_SIG_FIRST_RESPONSE_HOURS_90D] = { "first responses took {first_response_hours_90d} hours on average",
                                          "no tickets answered in 90 days" },
    [KZ_SIG_NPS_LAST] = { "last NPS answer {nps_last}, {nps_days_since} days ago", "no NPS answer yet" },
    [KZ_SIG_NPS_DAYS_SINCE] = { "last NPS answer {nps_days_since} days ago", "no NPS answer yet" },
    [KZ_SIG_MRR] = { "MRR {mrr}", NULL },
    [KZ_SIG_MRR_90D_AGO] = { "MRR 90 days ago {mrr_90d_ago}", NULL },
    [KZ_SIG_MRR_CHANGE_90D] = { "MRR went from {mrr_90d_ago} to {mrr} in 90 days", "no MRR 90 days ago" },
    [KZ_SIG_TENURE_DAYS] = { "customer for {tenure_days} days", NULL },
};

int kz_signal_describe(kz_buf *out, int k, const double *row)
{
    const char *t = phrase[k].says;
    /* first: is any value the sentence needs missing? */
    for (const char *p = strchr(t, '{'); p; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        size_t n = (size_t)(e - p - 1) - (e[-1] == '%');
        int j = kz_signal_find(p + 1, n);
        if (j >= 0 && isnan(row[j]))
            return kz_buf_puts(out, phrase[k].missing ? phrase[k].missing : "no value");
    }
    int rc = KZ_OK;
    while (*t && !rc) {
        const char *p = strchr(t, '{');
        if (!p)
            return kz_buf_puts(out, t);
        if ((rc = kz_buf_append(out, t, (size_t)(p - t))))
            break;
        const char *e = strchr(p, '}');
        int pct = e[-1] == '%';
        size_t n = (size_t)(e - p - 1) - (size_t)pct;
        int j = kz_signal_find(p + 1, n);
        double v = j >= 0 ? row[j] : NAN;
        const char *unit = j >= 0 ? defs[j].unit : "";
        if (pct)
            rc = kz_buf_printf(out, "%.0f%%", v * 100);
        else if (strcmp(unit, "money") == 0)
            rc = kz_buf_printf(out, "%.2f", v);
        else if (strcmp(unit, "hours") == 0 || strcmp(unit, "ratio") == 0)
            rc = kz_buf_printf(out, "%.1f", v);
        else
            rc = kz_buf_printf(out, "%.0f", v);
        t = e + 1;
    }
    return rc;
}
