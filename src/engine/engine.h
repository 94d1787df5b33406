/*
 * engine.h - the analytics engine: an in-memory columnar image of accounts,
 * subscriptions and product events, and the metrics computed from it.
 *
 * The image is built from the store (kz_engine_build); every metric, usage
 * feature and daily series is computed here, in C, from compact columns:
 * events sorted by time with dense integer ids (14 bytes an event), accounts
 * indexed 0..n-1 in the order of their ids, subscriptions grouped by account.
 * Definitions are in docs/metrics.md; they equal the reference SQL of
 * ../shared/bench on the same data, row for row.
 *
 * An engine is read-only once built and may be shared by threads; the one
 * exception is the server, which merges live events into it (kz_engine_live_*)
 * while it holds it exclusively.
 */
#ifndef KZ_ENGINE_ENGINE_H
#define KZ_ENGINE_ENGINE_H

#include <stdint.h>

#include "core/table.h"
#include "core/tz.h"
#include "core/time.h"
#include "store/store.h"

typedef struct kz_engine kz_engine;

enum {
    KZ_ENGINE_SUBSCRIPTIONS = 1, /* accounts and subscriptions */
    KZ_ENGINE_EVENTS = 2         /* product events too */
};

/* Builds the image of what parts asks for. With image_file (may be NULL), the
 * event columns are mapped from that file when it was made at the store's
 * current data version, and written there when not (best effort: a file that
 * cannot be written is only logged). 0, or an error with the reason. Caller
 * frees with kz_engine_free(). */
int kz_engine_build(kz_engine **out, kz_store *st, int parts, const char *image_file);

/* The default image file of a database: "<location>.engine". Caller frees. */
char *kz_engine_image_path(const kz_store *st);

void kz_engine_free(kz_engine *e);

#define KZ_DAY_NONE INT32_MIN

/* Live events (append.c), in two steps around the commit that stores them, so
 * that the second cannot fail. The caller holds the engine exclusively.
 * ev is sorted by time; its account column holds the store's account ids, its
 * user and event columns dictionary ids.
 * prepare: checks that the events fit (event name ids up to max_name, which
 * must stay below 65536; a time span of at most 136 years) and makes room for
 * them. 0, KZ_ETOOBIG or KZ_ENOMEM, nothing changed.
 * name: the text of a new event name id (up to max_name of the last prepare).
 * append: adds the events; those of accounts the image does not have are left
 * out, and their number returned. */
struct kz_evcols;
int kz_engine_live_prepare(kz_engine *e, const struct kz_evcols *ev, uint32_t max_name);
/* Moves the event columns to arrays of the engine's own with room for extra
 * more events, now (a server does it before it serves, so that the first live
 * batch does not pay for copying every column). 0 or KZ_ENOMEM. */
int kz_engine_live_reserve(kz_engine *e, size_t extra);
int kz_engine_live_name(kz_engine *e, uint32_t id, const char *name, size_t n);
size_t kz_engine_live_append(kz_engine *e, const struct kz_evcols *ev);

/* Gives dst, built without events (KZ_ENGINE_SUBSCRIPTIONS) after accounts or
 * subscriptions changed, the events of src (the engine it replaces), their
 * accounts found again by the store's ids; events of accounts dst does not
 * have are left out. src is unchanged. 0 or KZ_ENOMEM. */
int kz_engine_adopt_events(kz_engine *dst, const kz_engine *src);

/* A copy of e with every account, subscription, answer and ticket but only
 * the events at or after `from` (seconds since the epoch), and each
 * account's last event: the same signals as e for observation dates whose
 * windows start on or after `from`. Caller frees with kz_engine_free. */
int kz_engine_clone_recent(kz_engine **out, const kz_engine *e, int64_t from);

/* The store's data version the engine shows (-1 when not known): set by
 * kz_engine_build, and by the server after it merged live events stored at
 * a version. */
int64_t kz_engine_data_version(const kz_engine *e);
void kz_engine_set_data_version(kz_engine *e, int64_t version);

/* Writes the engine's image file at its data version (as kz_engine_build
 * writes one), so that the next start maps it instead of reading the
 * blocks. KZ_EINVALID when the version is not known. */
int kz_engine_save_image(const kz_engine *e, const char *path);

/* The observation date: the day of the last event in zone tz (NULL: UTC), or
 * KZ_DAY_NONE when there are no events. */
kz_day kz_engine_last_day(const kz_engine *e, const kz_tz *tz);

/* Numbers of things in the image. */
size_t kz_engine_accounts(const kz_engine *e);
size_t kz_engine_events(const kz_engine *e);
size_t kz_engine_subscriptions(const kz_engine *e);

/* The local day (tz) of the first event; KZ_DAY_NONE without events. */
kz_day kz_engine_first_day(const kz_engine *e, const kz_tz *tz);

/* The index of the account with key k (n bytes), or -1. */
int64_t kz_engine_find_account(const kz_engine *e, const char *k, size_t n);

/* Account a's key (not NUL-terminated beyond *len; borrowed from the engine). */
const char *kz_engine_account_key(const kz_engine *e, uint32_t a, size_t *len);

/* The store's id of every account index into ids[0..kz_engine_accounts(e)-1]. */
void kz_engine_account_ids(const kz_engine *e, int64_t *ids);

/* Account a's MRR on day d (money units). */
int64_t kz_engine_mrr(const kz_engine *e, uint32_t a, kz_day d);

/* Bytes the image takes (the columns, not counting the allocator). */
size_t kz_engine_bytes(const kz_engine *e);

enum { KZ_INTERVAL_MONTH, KZ_INTERVAL_WEEK };

/* Variants of a report (kz_metric_opts.flags). */
enum {
    KZ_METRIC_REVENUE = 1 << 0, /* cohorts: revenue retention instead of logo retention */
    KZ_METRIC_MATRIX = 1 << 1,  /* cohorts: a row per cohort and a column per k */
    KZ_METRIC_WIDE = 1 << 2,    /* usage: every feature, not only the reference columns */
    KZ_METRIC_BY_EVENT = 1 << 3, /* usage: a row per account and event name */
};

/* What a report covers. */
typedef struct kz_metric_opts {
    kz_day obs;       /* observation date; KZ_DAY_NONE: kz_engine_last_day() */
    kz_day from, to;  /* rows whose day or month lies in [from, to]; INT32_MIN/MAX for all */
    double gross_margin; /* metrics.gross_margin: share of revenue kept, for LTV and CAC payback */
    const kz_tz *tz;     /* reporting.timezone: days and months of events and answers (NULL: UTC) */
    const uint8_t *mask; /* per account index: 1 to count it, 0 to leave it out (NULL: all) */
    int interval;        /* KZ_INTERVAL_MONTH or KZ_INTERVAL_WEEK (ISO weeks): the periods of mrr */
    int32_t reactivation_days; /* metrics.reactivation_window_days: a return after more days
                                * without MRR counts as new; 0: always a reactivation */
    int count_intra;     /* metrics.intra_period_subscriptions = count: a paid span that begins
                          * and ends inside one period counts as new and churned in it */
    unsigned flags;      /* KZ_METRIC_*: variants of a report */
    int threads;         /* engine.threads: 0 by the size of the work, 1 or 2 always */
    int window;          /* usage --wide and --by-event: days of the window (0: 28) */
    kz_day at;           /* the day or month (any day of it) a drill-down looks at; KZ_DAY_NONE: all */
    /* funnel: its steps ("a,b,c": event names, borrowed), the window after entering (seconds; 0:
     * 14 days), and whose (0 accounts, 1 users) */
    const char *steps;
    int64_t within;
    int per_user;
} kz_metric_opts;

#define KZ_FUNNEL_MAX_STEPS 10

void kz_metric_opts_init(kz_metric_opts *o);

/* What the engine knows of account a on day `at` (its page, the account list). */
typedef struct kz_account_facts {
    int64_t mrr;            /* money units, on `at` */
    const char *plan;       /* of its largest active subscription (else its latest); NULL: none */
    int64_t seats;          /* quantity of its paid subscriptions active on `at` */
    kz_day first_start;     /* its first subscription's start; KZ_DAY_NONE without one */
    int64_t last_event;     /* seconds since the epoch, by the end of `at`; INT64_MIN: none */
    int64_t open_tickets;   /* opened by the end of `at`, not resolved by then */
    int64_t open_urgent;    /* of those, priority high or urgent */
    int nps;                /* its latest answer by then, -1 when none */
    int64_t nps_time;       /* and when (seconds since the epoch) */
} kz_account_facts;

/* Account a's facts on day at (o->tz: where days end). Strings borrowed from
 * the engine. */
void kz_engine_account_facts(const kz_engine *e, const kz_metric_opts *o, uint32_t a, kz_day at,
                             kz_account_facts *out);

/* Account a's events and distinct users per local day (o->tz) of [from, to]
 * into events[] and users[] (to - from + 1 entries each). 0 or KZ_ENOMEM. */
int kz_engine_account_series(const kz_engine *e, const kz_metric_opts *o, uint32_t a, kz_day from, kz_day to,
                             int64_t *events, int64_t *users);

/* Account a's events of [from, to] (local days of o->tz) by event name: for
 * each name id k of the engine (kz_engine_event_names of them), by_name[k]
 * the events of the whole span and by_week[w * names + k] those of the w-th
 * 7 days from `from`, weeks = (to - from) / 7 + 1 rows (by_week may be
 * NULL). */
size_t kz_engine_event_names(const kz_engine *e);
const char *kz_engine_event_name(const kz_engine *e, size_t k);
void kz_engine_account_by_name(const kz_engine *e, const kz_metric_opts *o, uint32_t a, kz_day from, kz_day to,
                               int64_t *by_name, int64_t *by_week);


/* Monthly MRR movements (reference Q2): month, starting, new, expansion,
 * contraction, churned, reactivation, ending MRR, accounts at the start and
 * churned, logo churn rate, GRR, NRR. */
int kz_metric_mrr(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* Retention by signup cohort. Logo retention in long form (reference Q5):
 * cohort month, k, cohort accounts, retained, share; KZ_METRIC_REVENUE:
 * cohort month, k, cohort accounts, initial MRR, MRR, revenue retention;
 * KZ_METRIC_MATRIX: a row per cohort, the shares in columns k0..kN. */
int kz_metric_cohorts(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* Per-account usage at the observation date (reference Q3); with
 * KZ_METRIC_WIDE every feature (kz_metric_usage_wide), with
 * KZ_METRIC_BY_EVENT a row per account and event name. */
int kz_metric_usage(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* Usage features of one account at the observation date o (docs/metrics.md):
 * W is the window of o->window days ending with o, P the same length before. */
typedef struct kz_features {
    int64_t events, events_prev;       /* events in W and in P */
    int64_t active_users, active_days; /* distinct users and days with events in W */
    int64_t active_users_prev;         /* distinct users with events in P */
    int64_t dau, wau, mau;             /* distinct users on o, in the last 7 and 28 days */
    double dau_mean;                   /* mean distinct users per day over the last 28 days */
    int64_t features_used;             /* distinct event names in W */
    double feature_breadth;            /* features_used ÷ names used in W by the accounts counted (NaN: none) */
    int64_t seats;                     /* quantity of the paid subscriptions active on o */
    int64_t days_since_last;           /* o - the day of the last event; -1 when none */
} kz_features;

/* The features of every account (index order), those outside o->mask left
 * zero. *out is malloc'd; the caller frees it. */
int kz_engine_features(const kz_engine *e, const kz_metric_opts *o, kz_features **out);

/* usage --wide: account_id, events, events_prev, trend, active_users,
 * active_days, dau, wau, mau, stickiness, features_used, feature_breadth,
 * seats, seat_utilisation, days_since_last_event. */
int kz_metric_usage_wide(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* usage --by-event: account_id, event, events (W), events_prev (P), users (W),
 * for each account and event name with events in W or P. */
int kz_metric_usage_events(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* Events and distinct active users per day (reference Q4). */
int kz_metric_daily(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* The last complete month at a glance, each number beside the month before:
 * MRR, ARR, paying accounts, movements, churn, GRR, NRR, ARPA, LTV, quick
 * ratio, NPS. */
int kz_metric_summary(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* Per month: ending MRR, paying accounts, ARPA; new accounts and their ARPA. */
int kz_metric_arpa(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* Per month: ARPA, revenue churn and its trailing 12-month mean, LTV. */
int kz_metric_ltv(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* Per month: spend, new accounts, CAC, new-account ARPA, CAC payback. */
int kz_metric_cac(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* Per month: NPS responses, promoters, passives, detractors, NPS. */
int kz_metric_nps(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* Account lifetime: Kaplan-Meier median (accounts still paying are censored)
 * and the mean lifetime of churned accounts. */
int kz_metric_contract_length(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* The Kaplan-Meier survival curve of account lifetime, month by month. */
int kz_metric_survival(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* funnel: per step of o->steps, the accounts (o->per_user: users) that
 * reached it in order within o->within of entering (their first step-1
 * event on a day of [from, to]): subjects, conversion from the first step and
 * from the one before, median hours from entering (docs/metrics.md). */
int kz_metric_funnel(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* Drill-downs (--explain): the accounts behind the numbers of o->at.
 * mrr: for o->at's month, each account with MRR at its start or its end: the
 * movement, MRR at the start and the end, the change, the first start
 * (churned first, then contraction, expansion, new, reactivation, steady;
 * the biggest change first). Its sums per movement equal the month's row of
 * kz_metric_mrr. */
int kz_explain_mrr(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* cohorts: the accounts of o->at's signup cohort, the months observed and the
 * months in which each still paid. */
int kz_explain_cohorts(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* nps: the answers of o->at's month (account, local day, score, group). */
int kz_explain_nps(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* daily: the accounts active on day o->at, their events and distinct users. */
int kz_explain_daily(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* contract-length and survival: each account's first paid span, churned or
 * still paying (censored) at the observation date; only those whose first
 * paid day lies in o->at's month unless o->at is KZ_DAY_NONE. */
int kz_explain_lifetimes(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

#endif
