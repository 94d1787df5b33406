/*
 * watch.h - the series a CS team watches, and what is abnormal in them.
 *
 * One table (kz_watch_kinds) lists the kinds of series: daily active users
 * and events per day (all accounts, per plan, per event name), each big
 * account's daily activity (going silent), new paying accounts per month,
 * monthly logo and revenue churn, the MRR movements, tickets per day (all,
 * functional, operational), tickets per account in a cohort's first months,
 * NPS per month. kz_watch_scan extracts every series of the kinds asked for
 * from the engine, judges every point with the detectors of anomaly.h, and
 * lists the abnormal ones with a sentence each.
 */
#ifndef KZ_ENGINE_WATCH_H
#define KZ_ENGINE_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/calendar.h"
#include "engine/engine.h"

enum { KZ_GRAIN_DAY, KZ_GRAIN_MONTH, KZ_GRAIN_COHORT };

typedef struct kz_watch_kind {
    const char *name;    /* "dau": configuration and the series' names start with it */
    const char *label;   /* "Active users": messages */
    int grain;           /* KZ_GRAIN_* */
    double threshold;    /* default robust z */
    double min_change;   /* a point abnormal also differs from its expectation by this share of it (0: any) */
} kz_watch_kind;

/* The table, *n rows (docs/anomalies.md describes each; a test keeps them in step). */
const kz_watch_kind *kz_watch_kinds(size_t *n);

typedef struct kz_anomaly {
    const char *series;  /* "dau", "events/help.view", "dau/plan=pro", "account/acc_001", "cohort_tickets/age 0" */
    const char *kind;    /* the kind's name (static) */
    int grain;
    kz_day day;          /* the day; a month's or a cohort's first day */
    int age;             /* cohorts: the accounts' 30-day months since their first payment (0: the first) */
    kz_day until;        /* the last day the point concerns: the day, the month's last, the cohort age's last */
    double observed, expected, low, high;
    double z, score;
    int higher;          /* above the range (else below) */
    const char *message; /* "Active users Tue 2026-03-10: 512, usual for a Tuesday 88-112" */
    const char *unit;    /* "count", "ratio", "money", "score", "per account" */
    int flagged;         /* abnormal (0 only for the points of a traced series) */
} kz_anomaly;

typedef struct kz_anomalies {
    size_t n, cap;
    kz_anomaly *v;       /* by day, then series */
    kz_arena *arena;     /* holds the strings */
    size_t series;       /* series judged */
    size_t points;       /* points judged */
    kz_day last_day;     /* the last day judged (the observation date) */
    kz_month last_month; /* the last complete month judged */
} kz_anomalies;

/* What to watch: every kind (kinds NULL) or those named, each with its
 * threshold (thresholds[i] for kinds[i]; <= 0: the kind's default), all
 * thresholds times `sensitivity` (default 1; higher finds fewer). */
typedef struct kz_watch_opts {
    const char *const *kinds;
    const double *thresholds;
    size_t nkinds;
    double sensitivity;
    const char *trace;   /* a series whose every judged point is listed, abnormal or not (NULL: none) */
    const kz_calendar *holidays; /* days whose low activity is expected (NULL: none); borrowed */
    kz_time now;         /* days not over by now (o->tz) are not judged (0: every day with data) */
} kz_watch_opts;

void kz_watch_opts_init(kz_watch_opts *w);

/* Parses the configuration's list "dau, events:6, logo_churn" (a kind, and
 * optionally its threshold) or "all" into w (strings borrowed from text:
 * keep it alive; arrays malloc'd, freed with kz_watch_opts_free). KZ_EINVALID
 * names an unknown kind or a bad threshold. */
int kz_watch_opts_parse(kz_watch_opts *w, const char *text);
void kz_watch_opts_free(kz_watch_opts *w);

/* Every abnormal point of every watched series, over the whole history up
 * to the observation date of o (o->tz: days and months; o->mask: the
 * accounts counted). Caller frees with kz_anomalies_free. */
int kz_watch_scan(kz_anomalies **out, const kz_engine *e, const kz_metric_opts *o, const kz_watch_opts *w);

/* kz_watch_scan in two steps, for a caller that must let go of the engine
 * soon (the server holds a lock on it): kz_watch_collect reads every
 * watched series out of the engine (the fast part), kz_watch_judge judges
 * them without it. w must outlive the collection. */
typedef struct kz_watch_series kz_watch_series;
int kz_watch_collect(kz_watch_series **out, const kz_engine *e, const kz_metric_opts *o, const kz_watch_opts *w);
int kz_watch_judge(kz_anomalies **out, const kz_watch_series *ws);
void kz_watch_series_free(kz_watch_series *ws);
void kz_anomalies_free(kz_anomalies *a);

#endif
