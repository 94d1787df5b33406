/*
 * signals.h - every account's signals at an observation date: the numbers
 * health factors and churn-model features are made of (usage, support,
 * customer voice, revenue, tenure).
 *
 * One table names them (kz_signal_defs); kz_engine_signals computes all of
 * them for every account at once, as a matrix of doubles with NaN where a
 * signal has no value (no NPS answer yet, no previous usage to compare with).
 * Each uses only data on or before the end of the observation date in the
 * reporting time zone, so a signal at a past date is what was known then:
 * backtests and model training never see the future. (An end date that
 * lies after the observation date is not a signal: a billing export writes
 * the end of a monthly subscription once it has been cancelled, so at a past
 * date it would tell the future.)
 */
#ifndef KZ_ENGINE_SIGNALS_H
#define KZ_ENGINE_SIGNALS_H

#include <stddef.h>

#include "core/buf.h"
#include "engine/engine.h"

enum {
    /* usage, in the window of o->window days (default 28) and the one before */
    KZ_SIG_EVENTS, KZ_SIG_EVENTS_PREV, KZ_SIG_USAGE_TREND, KZ_SIG_ACTIVE_USERS, KZ_SIG_ACTIVE_USERS_PREV,
    KZ_SIG_USERS_TREND, KZ_SIG_ACTIVE_DAYS, KZ_SIG_DAU, KZ_SIG_WAU, KZ_SIG_MAU, KZ_SIG_STICKINESS,
    KZ_SIG_FEATURES_USED, KZ_SIG_FEATURE_BREADTH, KZ_SIG_SEATS, KZ_SIG_SEAT_UTILISATION, KZ_SIG_DAYS_SINCE_EVENT,
    /* support */
    KZ_SIG_TICKETS_OPEN, KZ_SIG_TICKETS_OPEN_HIGH, KZ_SIG_OLDEST_OPEN_TICKET_DAYS, KZ_SIG_TICKETS_28D,
    KZ_SIG_TICKETS_90D, KZ_SIG_OPERATIONAL_TICKETS_90D, KZ_SIG_FIRST_RESPONSE_HOURS_90D,
    /* customer voice */
    KZ_SIG_NPS_LAST, KZ_SIG_NPS_DAYS_SINCE,
    /* revenue and tenure */
    KZ_SIG_MRR, KZ_SIG_MRR_90D_AGO, KZ_SIG_MRR_CHANGE_90D, KZ_SIG_TENURE_DAYS,
    KZ_NSIGNALS
};

typedef struct kz_signal_def {
    const char *name;  /* as in configuration and reports: "active_users" */
    const char *unit;  /* "count", "users", "days", "ratio", "score", "money", "hours" */
    const char *help;  /* one line, for --help and docs/health.md */
} kz_signal_def;

/* The table of signals, KZ_NSIGNALS rows in the order of the enum. */
const kz_signal_def *kz_signal_defs(void);

/* The index of the signal called name (n bytes), or -1. */
int kz_signal_find(const char *name, size_t n);

/* Every signal of every account at the observation date of o (accounts left
 * out by o->mask get NaN): *out is naccounts rows of KZ_NSIGNALS doubles,
 * malloc'd; the caller frees it. Money is in currency units. */
int kz_engine_signals(double **out, const kz_engine *e, const kz_metric_opts *o);

/* 1 when account a pays on day obs and its paid span stops within horizon
 * days after it (MRR falls to 0 on some day in (obs, obs + horizon]); 0 when
 * it pays on and keeps paying; -1 when it does not pay on obs. */
int kz_engine_churns_within(const kz_engine *e, uint32_t a, kz_day obs, int horizon);

/* Signal k of an account as a sentence a CSM reads ("active users went from
 * 42 to 17 between the last two windows"), from the account's row of
 * signals; appended to out. */
int kz_signal_describe(kz_buf *out, int k, const double *row);

/* The signals as a report (`kizuna metrics signals`): account_id, then one
 * column per signal. */
int kz_metric_signals(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

#endif
