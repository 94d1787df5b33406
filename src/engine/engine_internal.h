/*
 * engine_internal.h - the image's columns, shared by the files of src/engine/.
 */
#ifndef KZ_ENGINE_INTERNAL_H
#define KZ_ENGINE_INTERNAL_H

#include "core/arena.h"
#include "engine/engine.h"

#define KZ_DAY_OPEN INT32_MAX /* end of a subscription without an end date */

enum { KZ_PRIO_NONE, KZ_PRIO_LOW, KZ_PRIO_NORMAL, KZ_PRIO_HIGH, KZ_PRIO_URGENT };
enum { KZ_CAT_NONE, KZ_CAT_FUNCTIONAL, KZ_CAT_OPERATIONAL };

struct kz_engine {
    kz_arena *arena;
    /* accounts, index 0..naccounts-1 in the order of their ids */
    size_t naccounts;
    const char **acc_key;
    size_t *acc_key_len;
    uint32_t *acc_of_id;     /* store id -> index, UINT32_MAX when none */
    size_t nids;             /* entries of acc_of_id */
    /* subscriptions, grouped by account, each group by start date */
    size_t nsubs;
    int64_t *sub_mrr;        /* money units */
    kz_day *sub_start, *sub_end;
    int64_t *sub_qty;        /* seats (quantity), 0 when not given */
    uint16_t *sub_plan;      /* plan id, 0 when not given */
    size_t nplans;
    const char **plans;      /* plan id -> name (malloc'd array; plans[0] is NULL: none) */
    uint32_t *acc_subs;      /* account a's subscriptions are [acc_subs[a], acc_subs[a+1]) */
    /* NPS answers, by time */
    size_t nnps;
    int64_t *nps_sec;        /* seconds since the epoch */
    uint8_t *nps_score;
    uint32_t *nps_acc;
    /* support tickets, grouped by account, each group by opening time */
    size_t ntickets;
    int64_t *tk_opened;      /* seconds since the epoch */
    int64_t *tk_resolved;    /* seconds since the epoch; INT64_MAX while open */
    int64_t *tk_first_resp;  /* seconds since the epoch; INT64_MAX when none */
    uint8_t *tk_priority;    /* KZ_PRIO_* */
    uint8_t *tk_category;    /* KZ_CAT_* */
    uint32_t *acc_tickets;   /* account a's tickets are [acc_tickets[a], acc_tickets[a+1]) */
    /* sales and marketing spend per month, summed over channels, by month */
    size_t nspend;
    kz_month *spend_month;
    int64_t *spend_amount;
    /* events, by time (then by storage order) */
    size_t nevents;
    int64_t base;            /* seconds since the epoch of ev_sec == 0 */
    uint32_t *ev_sec;        /* seconds since base */
    uint32_t *ev_acc;        /* account index */
    uint32_t *ev_user;       /* user id of the dictionary, 0 when none */
    uint16_t *ev_name;       /* event name id */
    int64_t *acc_last;       /* per account: its last event (seconds since base), -1 when none */
    size_t nusers;           /* user ids are 1..nusers-1 */
    size_t nnames;
    const char **names;      /* event name id -> name */
    int64_t last_time;       /* the last event, seconds since the epoch; INT64_MIN when none */
    size_t ev_cap;           /* live events (append.c): room in the owned columns */
    int ev_owned;            /* ev_* and acc_last are malloc'd (freed with the engine) */
    int names_owned;         /* names is a malloc'd array of 65536 (the strings in the arena) */
    int64_t version;         /* the store's data version the image shows; -1 when not known */
    void *map;               /* the image file, when the columns come from it */
    size_t map_len;
};

/* The image file (image.c): load the columns made at data version `version`,
 * the events too when `events` (KZ_ENOTFOUND when the file is missing,
 * stale, damaged or without events), into an engine that has only its arena;
 * or save them, the events when `events`. */
int kz_image_load(kz_engine *e, const char *path, int64_t version, int events);
int kz_image_save(const kz_engine *e, const char *path, int64_t version, int events);

/* The observation date of a report: o->obs, or the last day with events;
 * KZ_DAY_NONE when neither exists. */
kz_day kz_engine_obs(const kz_engine *e, const kz_metric_opts *o);

/* A money sum as a double the way SQL engines cast a DECIMAL: the integer of
 * its smallest scale divided by the power of ten (cents / 100.0 when every
 * amount is in whole cents), so that ratios agree to the last bit. */
static inline double kz_money_double(int64_t units)
{
    if (units % 100 == 0)
        return (double)(units / 100) / 100.0;
    return (double)units / 10000.0;
}

/* The MRR movements of one month (docs/metrics.md). */
typedef struct kz_movement {
    kz_month month;          /* the month of first_day */
    kz_day first_day;        /* the period's first day */
    int64_t start, new_, expansion, contraction, churned, reactivation, end; /* money units */
    int64_t accounts_start, accounts_churned, accounts_end, accounts_new;
    /* accounts whose first subscription started in the month, and their MRR
     * on that first day (for new-account ARPA and CAC) */
    int64_t accounts_first, first_mrr;
    /* with o->count_intra: the MRR of spans inside the period (part of
     * new or reactivation and of churned, not of the starting MRR) */
    int64_t intra;
} kz_movement;

/* How one account moved over a month: m0 on its first day, m1 on the next
 * month's first day, fs its first start. */
typedef enum { KZ_MOVE_NONE, KZ_MOVE_STEADY, KZ_MOVE_NEW, KZ_MOVE_EXPANSION, KZ_MOVE_CONTRACTION, KZ_MOVE_CHURNED,
               KZ_MOVE_REACTIVATION } kz_move;

static inline kz_move kz_classify(int64_t m0, int64_t m1, kz_day fs, kz_day ms)
{
    if (m0 > 0) {
        if (m1 == 0)
            return KZ_MOVE_CHURNED;
        return m1 > m0 ? KZ_MOVE_EXPANSION : m1 < m0 ? KZ_MOVE_CONTRACTION : KZ_MOVE_STEADY;
    }
    if (m1 > 0)
        return fs >= ms ? KZ_MOVE_NEW : KZ_MOVE_REACTIVATION;
    return KZ_MOVE_NONE;
}

/* How account a (first start fs) moved over the period [ms, me) with MRR m0
 * and m1 on its bounds, under o's definitions; *intra is the MRR of a paid
 * span inside the period that counts (o->count_intra), else 0. */
kz_move kz_engine_move(const kz_engine *e, const kz_metric_opts *o, uint32_t a, kz_day fs, kz_day ms, kz_day me,
                       int64_t m0, int64_t m1, int64_t *intra);

/* Adds to mv[0..np-1] the movements of the periods [b[p], b[p+1]). */
int kz_engine_periods(const kz_engine *e, const kz_metric_opts *o, const kz_day *b, size_t np, kz_movement *mv);

/* The Monday on or before day d (ISO weeks). */
kz_day kz_week_first_day(kz_day d);

/* The movements of every month from the month of the first subscription to
 * the last month that has ended by obs. *out is malloc'd (caller frees);
 * *n = 0 when there are none. */
int kz_engine_movements(const kz_engine *e, kz_day obs, const kz_metric_opts *o, kz_movement **out, size_t *n);

/* 1 when month m is one a report should show: its first day lies between the
 * first day of from's month and to. */
int kz_month_in_range(const kz_metric_opts *o, kz_month m);

/* The local day (o->tz) of an event time in seconds since base. */
static inline int64_t kz_engine_day(const kz_engine *e, const kz_metric_opts *o, int64_t sec)
{
    return kz_tz_day(o->tz, e->base + sec);
}

/* How many threads (1 or 2) a pass over `work` items takes: two from `min`
 * items on, or as o->threads says. */
static inline int kz_engine_parts(const kz_metric_opts *o, size_t work, size_t min)
{
    return o->threads == 1 ? 1 : o->threads == 2 || work >= min ? 2 : 1;
}

/* 1 when account a counts in the report (o->mask). */
static inline int kz_counts(const kz_metric_opts *o, uint32_t a)
{
    return !o->mask || o->mask[a];
}

/* The index of the first event of local day `day` (o->tz). */
size_t kz_engine_lower_day(const kz_engine *e, const kz_metric_opts *o, int64_t day);

/* Each account's last event on or before local day `day` (seconds since
 * base; -1 when none) into last[0..naccounts-1]: e->acc_last when day is on
 * or after the last event, else one pass over the events before it (so a
 * report as of a past date never sees later events). */
void kz_engine_last_before(const kz_engine *e, const kz_metric_opts *o, kz_day day, int64_t *last);

/* The index of the first event at or after t (seconds since the epoch). */
size_t kz_engine_lower(const kz_engine *e, int64_t t);

/* MRR of account a on day d (money units). */
int64_t kz_engine_mrr_on(const kz_engine *e, uint32_t a, kz_day d);

/* The plan of account a on day d: that of its largest subscription (by MRR;
 * the earlier start on a tie) active that day, else of its latest
 * subscription; only subscriptions with a plan count; 0 when none has one. */
int kz_engine_plan_on(const kz_engine *e, uint32_t a, kz_day d);

/* The first start date of account a, or KZ_DAY_OPEN when it has no subscription. */
kz_day kz_engine_first_start(const kz_engine *e, uint32_t a);

#endif
