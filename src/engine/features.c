/*
 * features.c - usage features per account at the observation date
 * (docs/metrics.md, `usage --wide` and `usage --by-event`), the inputs of
 * health scores and churn models.
 *
 * The events of the days needed (the window W of o->window days, the window
 * before it, and the last 28 days) are one contiguous run of the time-sorted
 * columns. They are grouped by account with a counting sort (stable, so each
 * account's events stay in time order); then each account is worked out
 * alone, so distinct users, days and names are counted exactly with stamps
 * (an array per user holding the last account, or account and day, that
 * counted it) instead of hash sets. Two threads take two account ranges of
 * about equal events; the results do not depend on the split.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/engine_internal.h"

#define MONTH_DAYS 28 /* MAU and stickiness: the last 28 days, four whole weeks */
#define WEEK_DAYS 7

/* One (account, event name) row of --by-event. */
struct name_row {
    uint32_t acc;
    uint16_t name;
    int64_t events, prev, users;
};

/* An event of the run, grouped by account: its user, name and day (days before obs). */
struct gev {
    uint32_t user;
    uint16_t name;
    uint16_t back;
};

struct worker {
    const kz_engine *e;
    const kz_metric_opts *o;
    uint32_t a0, a1;             /* accounts [a0, a1) */
    const uint32_t *off;         /* account a's events are ev[off[a] .. off[a+1]) */
    const struct gev *ev;
    int wdays;                   /* the window */
    kz_features *f;              /* per account */
    const uint16_t *by_event;    /* name ranks for --by-event rows, or NULL */
    uint32_t *mark_w, *mark_p, *mark_28, *mark_7, *mark_1; /* per user: account + 1 */
    uint64_t *mark_day;          /* per user: (account + 1) << 32 | day + 1 */
    uint32_t *mark_name;         /* per name: account + 1 */
    uint8_t *name_seen;          /* per name: seen in W by any account of the range */
    int64_t *cnt_w, *cnt_p;      /* per name (by_event) */
    uint16_t *touched;           /* names of the current account (by_event) */
    uint64_t *pairs;             /* (name, user) of the current account in W (by_event) */
    size_t npairs_cap;
    struct name_row *rows;       /* by_event output of the range */
    size_t nrows, rows_cap;
    int rc;
};

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* Appends the --by-event rows of account a (its names in the engine's name order). */
static int name_rows(struct worker *w, uint32_t a, size_t ntouched, size_t npairs)
{
    if (npairs > 1)
        qsort(w->pairs, npairs, sizeof *w->pairs, cmp_u64);
    /* in name order: insertion sort of the few names by rank */
    for (size_t t = 1; t < ntouched; t++) {
        uint16_t id = w->touched[t];
        size_t k = t;
        for (; k > 0 && w->by_event[w->touched[k - 1]] > w->by_event[id]; k--)
            w->touched[k] = w->touched[k - 1];
        w->touched[k] = id;
    }
    for (size_t t = 0; t < ntouched; t++) {
        uint16_t id = w->touched[t];
        if (w->nrows == w->rows_cap) {
            size_t cap = w->rows_cap ? w->rows_cap * 2 : 1024;
            struct name_row *nr = realloc(w->rows, cap * sizeof *nr);
            if (!nr)
                return kz_error_oom();
            w->rows = nr;
            w->rows_cap = cap;
        }
        /* distinct users of this name: its run in the sorted pairs */
        int64_t users = 0;
        size_t lo = 0, hi = npairs;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if ((w->pairs[mid] >> 32) < id)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t k = lo; k < npairs && (w->pairs[k] >> 32) == id; k++)
            users += k == lo || w->pairs[k] != w->pairs[k - 1];
        w->rows[w->nrows++] = (struct name_row){ a, id, w->cnt_w[id], w->cnt_p[id], users };
        w->cnt_w[id] = w->cnt_p[id] = 0;
    }
    return KZ_OK;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    for (uint32_t a = w->a0; a < w->a1 && !w->rc; a++) {
        if (!kz_counts(w->o, a))
            continue;
        kz_features *f = &w->f[a];
        uint32_t stamp = a + 1;
        size_t ntouched = 0, npairs = 0;
        int last_day = -1;
        int64_t day_users = 0;
        for (uint32_t k = w->off[a]; k < w->off[a + 1]; k++) {
            const struct gev *g = &w->ev[k];
            int back = g->back;
            uint32_t u = g->user;
            uint16_t name = g->name;
            int in_w = back < w->wdays, in_p = !in_w && back < 2 * w->wdays;
            if (in_w) {
                f->events++;
                if (back != last_day) {
                    f->active_days++;
                    last_day = back;
                }
                if (u && w->mark_w[u] != stamp) {
                    w->mark_w[u] = stamp;
                    f->active_users++;
                }
                if (w->mark_name[name] != stamp) {
                    w->mark_name[name] = stamp;
                    w->name_seen[name] = 1;
                    f->features_used++;
                }
            } else if (in_p) {
                f->events_prev++;
                if (u && w->mark_p[u] != stamp) {
                    w->mark_p[u] = stamp;
                    f->active_users_prev++;
                }
            }
            if (u && back < MONTH_DAYS) {
                if (w->mark_28[u] != stamp) {
                    w->mark_28[u] = stamp;
                    f->mau++;
                }
                if (back < WEEK_DAYS && w->mark_7[u] != stamp) {
                    w->mark_7[u] = stamp;
                    f->wau++;
                }
                if (back == 0 && w->mark_1[u] != stamp) {
                    w->mark_1[u] = stamp;
                    f->dau++;
                }
                uint64_t ds = (uint64_t)stamp << 32 | (uint32_t)(back + 1);
                if (w->mark_day[u] != ds) {
                    w->mark_day[u] = ds;
                    day_users++;
                }
            }
            if (w->by_event && (in_w || in_p)) {
                if (!w->cnt_w[name] && !w->cnt_p[name])
                    w->touched[ntouched++] = name;
                if (in_w) {
                    w->cnt_w[name]++;
                    if (u) {
                        if (npairs == w->npairs_cap) {
                            size_t cap = w->npairs_cap ? w->npairs_cap * 2 : 1024;
                            uint64_t *np = realloc(w->pairs, cap * sizeof *np);
                            if (!np) {
                                w->rc = kz_error_oom();
                                return NULL;
                            }
                            w->pairs = np;
                            w->npairs_cap = cap;
                        }
                        w->pairs[npairs++] = (uint64_t)name << 32 | u;
                    }
                } else {
                    w->cnt_p[name]++;
                }
            }
        }
        f->dau_mean = (double)day_users / MONTH_DAYS;
        if (w->by_event && ntouched && (w->rc = name_rows(w, a, ntouched, npairs)))
            return NULL;
    }
    return NULL;
}

static void worker_free(struct worker *w)
{
    free(w->mark_w);
    free(w->mark_p);
    free(w->mark_28);
    free(w->mark_7);
    free(w->mark_1);
    free(w->mark_day);
    free(w->mark_name);
    free(w->name_seen);
    free(w->cnt_w);
    free(w->cnt_p);
    free(w->touched);
    free(w->pairs);
    free(w->rows);
}

static int worker_init(struct worker *w, const kz_engine *e, const uint16_t *by_event)
{
    size_t nu = e->nusers ? e->nusers : 1, nn = e->nnames ? e->nnames : 1;
    w->mark_w = calloc(nu, sizeof *w->mark_w);
    w->mark_p = calloc(nu, sizeof *w->mark_p);
    w->mark_28 = calloc(nu, sizeof *w->mark_28);
    w->mark_7 = calloc(nu, sizeof *w->mark_7);
    w->mark_1 = calloc(nu, sizeof *w->mark_1);
    w->mark_day = calloc(nu, sizeof *w->mark_day);
    w->mark_name = calloc(nn, sizeof *w->mark_name);
    w->name_seen = calloc(nn, 1);
    if (!w->mark_w || !w->mark_p || !w->mark_28 || !w->mark_7 || !w->mark_1 || !w->mark_day || !w->mark_name || !w->name_seen)
        return kz_error_oom();
    if (by_event) {
        w->cnt_w = calloc(nn, sizeof *w->cnt_w);
        w->cnt_p = calloc(nn, sizeof *w->cnt_p);
        w->touched = malloc(nn * sizeof *w->touched);
        if (!w->cnt_w || !w->cnt_p || !w->touched)
            return kz_error_oom();
    }
    return KZ_OK;
}

/* The features (*out, per account), and with by_event (the name ranks) the
 * (account, name) rows in account and name order (*rows, *nrows); both
 * malloc'd, caller frees; *names_in_window: names seen in W. */
static int compute(const kz_engine *e, const kz_metric_opts *o, const uint16_t *by_event, kz_features **out,
                   struct name_row **rows, size_t *nrows, int64_t *names_in_window)
{
    struct worker w[2];
    uint32_t *off = NULL;
    struct gev *ev = NULL;
    int64_t *th = NULL;
    kz_features *f = calloc(e->naccounts ? e->naccounts : 1, sizeof *f);
    int rc = KZ_OK, nw = 0;
    memset(w, 0, sizeof w);
    *out = NULL;
    *rows = NULL;
    *nrows = 0;
    *names_in_window = 0;
    if (!f)
        return kz_error_oom();
    kz_day obs = kz_engine_obs(e, o);
    int wdays = o->window > 0 ? o->window : 28;
    int ndays = 2 * wdays > MONTH_DAYS ? 2 * wdays : MONTH_DAYS;
    for (uint32_t a = 0; a < e->naccounts; a++) {
        f[a].days_since_last = -1;
        f[a].feature_breadth = NAN;
    }
    if (obs == KZ_DAY_NONE)
        goto finish;
    /* seats: the quantity of the paid subscriptions active on obs */
    for (uint32_t a = 0; a < e->naccounts; a++)
        for (uint32_t i = e->acc_subs[a]; i < e->acc_subs[a + 1]; i++)
            if (e->sub_mrr[i] > 0 && e->sub_start[i] <= obs && e->sub_end[i] > obs)
                f[a].seats += e->sub_qty[i];
    if (!e->nevents)
        goto finish;
    {
        int64_t *last = malloc((e->naccounts ? e->naccounts : 1) * sizeof *last);
        if (!last) {
            rc = kz_error_oom();
            goto finish;
        }
        kz_engine_last_before(e, o, obs, last);
        for (uint32_t a = 0; a < e->naccounts; a++)
            if (last[a] >= 0)
                f[a].days_since_last = obs - kz_engine_day(e, o, last[a]);
        free(last);
    }
    kz_day first = obs - ndays + 1;
    size_t lo = kz_engine_lower_day(e, o, first), hi = kz_engine_lower_day(e, o, (int64_t)obs + 1);
    th = malloc(((size_t)ndays + 1) * sizeof *th);
    off = calloc(e->naccounts + 1, sizeof *off);
    ev = malloc((hi > lo ? hi - lo : 1) * sizeof *ev);
    if (!th || !off || !ev) {
        rc = kz_error_oom();
        goto finish;
    }
    for (int j = 0; j <= ndays; j++)
        th[j] = kz_tz_day_start(o->tz, (int64_t)first + j) - e->base;
    /* group the run by account, keeping time order */
    for (size_t i = lo; i < hi; i++)
        off[e->ev_acc[i] + 1]++;
    for (size_t a = 0; a < e->naccounts; a++)
        off[a + 1] += off[a];
    {
        uint32_t *pos = malloc((e->naccounts ? e->naccounts : 1) * sizeof *pos);
        if (!pos) {
            rc = kz_error_oom();
            goto finish;
        }
        memcpy(pos, off, e->naccounts * sizeof *pos);
        int j = 0; /* the day of event i: first + j, found by walking the days in time order */
        for (size_t i = lo; i < hi; i++) {
            while (j + 1 < ndays && th[j + 1] <= (int64_t)e->ev_sec[i])
                j++;
            ev[pos[e->ev_acc[i]]++] = (struct gev){ e->ev_user[i], e->ev_name[i], (uint16_t)(ndays - 1 - j) };
        }
        free(pos);
    }
    /* two account ranges of about equal events */
    nw = e->naccounts > 1 ? kz_engine_parts(o, hi - lo, 100000) : 1;
    uint32_t split = (uint32_t)e->naccounts;
    if (nw == 2) {
        uint32_t half = (uint32_t)((hi - lo) / 2), l = 0, r = (uint32_t)e->naccounts;
        while (l < r) {
            uint32_t m = l + (r - l) / 2;
            if (off[m] < half)
                l = m + 1;
            else
                r = m;
        }
        split = l;
    }
    for (int k = 0; k < nw; k++) {
        w[k] = (struct worker){ .e = e, .o = o, .a0 = k ? split : 0, .a1 = k == nw - 1 ? (uint32_t)e->naccounts : split,
                                .off = off, .ev = ev, .wdays = wdays, .f = f, .by_event = by_event };
        if ((rc = worker_init(&w[k], e, by_event)))
            goto finish;
    }
    pthread_t tid;
    int threaded = nw == 2 && pthread_create(&tid, NULL, work, &w[1]) == 0;
    work(&w[0]);
    if (threaded)
        pthread_join(tid, NULL);
    else if (nw == 2)
        work(&w[1]);
    rc = w[0].rc ? w[0].rc : nw == 2 ? w[1].rc : KZ_OK;
    if (rc)
        goto finish;
    for (size_t n = 0; n < e->nnames; n++)
        *names_in_window += w[0].name_seen[n] || (nw == 2 && w[1].name_seen[n]);
    for (uint32_t a = 0; a < e->naccounts; a++)
        f[a].feature_breadth = *names_in_window ? (double)f[a].features_used / (double)*names_in_window : NAN;
    if (by_event) {
        size_t total = w[0].nrows + (nw == 2 ? w[1].nrows : 0);
        struct name_row *all = malloc((total ? total : 1) * sizeof *all);
        if (!all) {
            rc = kz_error_oom();
            goto finish;
        }
        if (w[0].nrows)
            memcpy(all, w[0].rows, w[0].nrows * sizeof *all);
        if (nw == 2 && w[1].nrows)
            memcpy(all + w[0].nrows, w[1].rows, w[1].nrows * sizeof *all);
        *rows = all;
        *nrows = total;
    }
finish:
    for (int k = 0; k < 2; k++)
        worker_free(&w[k]);
    free(th);
    free(off);
    free(ev);
    if (rc) {
        free(f);
        return rc;
    }
    *out = f;
    return KZ_OK;
}

int kz_engine_features(const kz_engine *e, const kz_metric_opts *o, kz_features **out)
{
    struct name_row *rows;
    size_t nrows;
    int64_t names;
    return compute(e, o, NULL, out, &rows, &nrows, &names);
}

static const kz_tcol wide_cols[] = {
    { "account_id", KZ_T_TEXT },       { "events", KZ_T_INT },          { "events_prev", KZ_T_INT },
    { "trend", KZ_T_DOUBLE },          { "active_users", KZ_T_INT },    { "active_days", KZ_T_INT },
    { "dau", KZ_T_INT },               { "wau", KZ_T_INT },             { "mau", KZ_T_INT },
    { "stickiness", KZ_T_DOUBLE },     { "features_used", KZ_T_INT },   { "feature_breadth", KZ_T_DOUBLE },
    { "seats", KZ_T_INT },             { "seat_utilisation", KZ_T_DOUBLE }, { "days_since_last_event", KZ_T_INT },
};

int kz_metric_usage_wide(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(wide_cols, sizeof wide_cols / sizeof wide_cols[0]);
    kz_features *f = NULL;
    struct name_row *rows = NULL;
    size_t nrows = 0;
    int64_t names = 0;
    int rc;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    rc = compute(e, o, NULL, &f, &rows, &nrows, &names);
    for (uint32_t a = 0; a < e->naccounts && !rc; a++) {
        if (!kz_counts(o, a))
            continue;
        const kz_features *x = &f[a];
        kz_tcell *r = kz_table_add_row(t);
        if (!r || kz_cell_text(t, &r[0], e->acc_key[a], e->acc_key_len[a])) {
            rc = KZ_ENOMEM;
            break;
        }
        kz_cell_int(&r[1], x->events);
        kz_cell_int(&r[2], x->events_prev);
        if (x->events_prev)
            kz_cell_double(&r[3], (double)x->events / (double)x->events_prev);
        kz_cell_int(&r[4], x->active_users);
        kz_cell_int(&r[5], x->active_days);
        kz_cell_int(&r[6], x->dau);
        kz_cell_int(&r[7], x->wau);
        kz_cell_int(&r[8], x->mau);
        if (x->mau)
            kz_cell_double(&r[9], x->dau_mean / (double)x->mau);
        kz_cell_int(&r[10], x->features_used);
        if (!isnan(x->feature_breadth))
            kz_cell_double(&r[11], x->feature_breadth);
        kz_cell_int(&r[12], x->seats);
        if (x->seats)
            kz_cell_double(&r[13], (double)x->active_users / (double)x->seats);
        if (x->days_since_last >= 0)
            kz_cell_int(&r[14], x->days_since_last);
    }
    free(f);
    free(rows);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}

static const kz_tcol event_cols[] = {
    { "account_id", KZ_T_TEXT }, { "event", KZ_T_TEXT }, { "events", KZ_T_INT },
    { "events_prev", KZ_T_INT }, { "users", KZ_T_INT },
};

struct named {
    const char *name;
    uint16_t id;
};

static int cmp_named(const void *x, const void *y)
{
    return strcmp(((const struct named *)x)->name, ((const struct named *)y)->name);
}

/* rank[id]: the place of event name id in the order of the names. */
static int name_ranks(const kz_engine *e, uint16_t **out)
{
    size_t nn = e->nnames ? e->nnames : 1;
    struct named *v = malloc(nn * sizeof *v);
    uint16_t *rank = malloc(nn * sizeof *rank);
    if (!v || !rank) {
        free(v);
        free(rank);
        return kz_error_oom();
    }
    for (size_t i = 0; i < e->nnames; i++)
        v[i] = (struct named){ e->names[i] ? e->names[i] : "", (uint16_t)i };
    if (e->nnames > 1)
        qsort(v, e->nnames, sizeof *v, cmp_named);
    for (size_t i = 0; i < e->nnames; i++)
        rank[v[i].id] = (uint16_t)i;
    free(v);
    *out = rank;
    return KZ_OK;
}

int kz_metric_usage_events(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(event_cols, sizeof event_cols / sizeof event_cols[0]);
    kz_features *f = NULL;
    struct name_row *rows = NULL;
    uint16_t *rank = NULL;
    size_t nrows = 0;
    int64_t names = 0;
    int rc;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    rc = name_ranks(e, &rank);
    if (!rc)
        rc = compute(e, o, rank, &f, &rows, &nrows, &names);
    for (size_t i = 0; i < nrows && !rc; i++) {
        const struct name_row *x = &rows[i];
        const char *name = e->names[x->name] ? e->names[x->name] : "";
        kz_tcell *r = kz_table_add_row(t);
        if (!r || kz_cell_text(t, &r[0], e->acc_key[x->acc], e->acc_key_len[x->acc]) ||
            kz_cell_text(t, &r[1], name, strlen(name))) {
            rc = KZ_ENOMEM;
            break;
        }
        kz_cell_int(&r[2], x->events);
        kz_cell_int(&r[3], x->prev);
        kz_cell_int(&r[4], x->users);
    }
    free(rank);
    free(f);
    free(rows);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}
