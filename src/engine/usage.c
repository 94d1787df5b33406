/*
 * usage.c - per-account usage at the observation date (docs/metrics.md; the
 * reference Q3).
 *
 * Windows of whole days: the last 28 days L = [obs-27, obs+1) and the 28
 * before P = [obs-55, obs-27). Events are sorted by time, so P and L are one
 * contiguous run found by binary search. A first pass counts event names in L
 * to rank the five most common (ties by name); the main pass counts, per
 * account, events in P and L, events of the top names, and distinct users.
 * days_since_last_event uses each account's last event, kept in the image.
 *
 * The main pass runs in two threads over the two halves of the run, each with
 * its own counters (32 bytes an account: one cache line); the halves are then
 * added up. Distinct users are marked with the first account each user was seen
 * with in a half; a user seen with a second account goes to a set of (account,
 * user) pairs. When the halves are joined, a pair found in both halves is taken
 * off once, so the count stays exact.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"
#include "engine/engine_internal.h"

#define TOP 5

static const kz_tcol cols[] = {
    { "account_id", KZ_T_TEXT },  { "n_top1", KZ_T_INT },          { "n_top2", KZ_T_INT },
    { "n_top3", KZ_T_INT },       { "n_top4", KZ_T_INT },          { "n_top5", KZ_T_INT },
    { "events_28d", KZ_T_INT },   { "events_prev_28d", KZ_T_INT }, { "active_users_28d", KZ_T_INT },
    { "ratio_28d_vs_prev", KZ_T_DOUBLE }, { "days_since_last_event", KZ_T_INT },
};

/* A set of 64-bit keys (account << 32 | user), open addressing; 0 is empty
 * (user ids start at 1). */
struct pairset {
    uint64_t *slot;
    size_t mask, n;
};

static int pairset_add(struct pairset *s, uint64_t key, int *added)
{
    if (!s->slot || (s->n + 1) * 2 > s->mask + 1) {
        size_t cap = s->slot ? (s->mask + 1) * 2 : 1024;
        uint64_t *ns = calloc(cap, sizeof *ns);
        if (!ns)
            return kz_error_oom();
        for (size_t i = 0; s->slot && i <= s->mask; i++) {
            if (!s->slot[i])
                continue;
            size_t j = (size_t)kz_mix64(s->slot[i]) & (cap - 1);
            while (ns[j])
                j = (j + 1) & (cap - 1);
            ns[j] = s->slot[i];
        }
        free(s->slot);
        s->slot = ns;
        s->mask = cap - 1;
    }
    size_t j = (size_t)kz_mix64(key) & s->mask;
    while (s->slot[j]) {
        if (s->slot[j] == key) {
            *added = 0;
            return KZ_OK;
        }
        j = (j + 1) & s->mask;
    }
    s->slot[j] = key;
    s->n++;
    *added = 1;
    return KZ_OK;
}

static int pairset_has(const struct pairset *s, uint64_t key)
{
    if (!s->slot)
        return 0;
    for (size_t j = (size_t)kz_mix64(key) & s->mask; s->slot[j]; j = (j + 1) & s->mask)
        if (s->slot[j] == key)
            return 1;
    return 0;
}

/* Per-account counters of one half: one cache line. */
struct counters {
    uint32_t top[TOP];
    uint32_t ev28, prev, users;
};

struct half {
    const kz_engine *e;
    const uint8_t *mask;
    size_t from, to, l0;       /* events [from, to); L starts at l0 */
    const int8_t *rank;        /* event name id -> 0..4, or -1 */
    struct counters *c;        /* per account */
    uint32_t *mark;            /* per user: first account + 1 seen in L, or 0 */
    struct pairset extra;      /* further (account, user) pairs seen in L */
    int rc;
};

static void *run_half(void *arg)
{
    struct half *h = arg;
    const kz_engine *e = h->e;
    size_t i = h->from;
    for (; i < h->to && i < h->l0; i++)
        h->c[e->ev_acc[i]].prev++; /* accounts left out are not shown */
    for (; i < h->to; i++) {
        uint32_t a = e->ev_acc[i], u = e->ev_user[i];
        if (h->mask && !h->mask[a])
            continue;
        struct counters *x = &h->c[a];
        x->ev28++;
        int r = h->rank[e->ev_name[i]];
        if (r >= 0)
            x->top[r]++;
        if (!u)
            continue; /* events without a user count no user */
        if (h->mark[u] == 0) {
            h->mark[u] = a + 1;
            x->users++;
        } else if (h->mark[u] != a + 1) {
            int added;
            if ((h->rc = pairset_add(&h->extra, (uint64_t)a << 32 | u, &added)))
                return NULL;
            x->users += (uint32_t)added;
        }
    }
    return NULL;
}

/* 1 when half h counted user u for account a. */
static int counted(const struct half *h, uint32_t a, uint32_t u)
{
    return h->mark[u] == a + 1 || pairset_has(&h->extra, (uint64_t)a << 32 | u);
}

/* Ranks the five most common names (ties by name) into rank[]. */
static void rank_names(const kz_engine *e, const int64_t *count, int8_t *rank)
{
    uint16_t best[TOP];
    int nbest = 0;
    for (size_t id = 0; id < e->nnames; id++) {
        if (!count[id])
            continue;
        int pos = nbest;
        while (pos > 0) {
            uint16_t b = best[pos - 1];
            const char *na = e->names[id] ? e->names[id] : "", *nb = e->names[b] ? e->names[b] : "";
            if (count[id] > count[b] || (count[id] == count[b] && strcmp(na, nb) < 0))
                pos--;
            else
                break;
        }
        if (pos >= TOP)
            continue;
        for (int k = (nbest < TOP ? nbest : TOP - 1); k > pos; k--)
            best[k] = best[k - 1];
        best[pos] = (uint16_t)id;
        if (nbest < TOP)
            nbest++;
    }
    for (int k = 0; k < nbest; k++)
        rank[best[k]] = (int8_t)k;
}

int kz_metric_usage(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    if (o->flags & KZ_METRIC_WIDE)
        return kz_metric_usage_wide(out, e, o);
    if (o->flags & KZ_METRIC_BY_EVENT)
        return kz_metric_usage_events(out, e, o);
    kz_table *t = kz_table_new(cols, sizeof cols / sizeof cols[0]);
    struct half h[2];
    int64_t *count = NULL;
    int8_t *rank = NULL;
    int64_t *last = NULL; /* per account: the last event by obs */
    int rc = KZ_OK, nh = 0;

    *out = NULL;
    memset(h, 0, sizeof h);
    if (!t)
        return KZ_ENOMEM;
    kz_day obs = kz_engine_obs(e, o);
    size_t na = e->naccounts ? e->naccounts : 1;
    count = calloc(e->nnames ? e->nnames : 1, sizeof *count);
    rank = malloc(e->nnames ? e->nnames : 1);
    if (!count || !rank) {
        rc = kz_error_oom();
        goto done;
    }
    memset(rank, -1, e->nnames ? e->nnames : 1);
    size_t p0 = 0, l0 = 0, end = 0;
    if (obs != KZ_DAY_NONE && e->nevents) {
        p0 = kz_engine_lower_day(e, o, (int64_t)obs - 55);
        l0 = kz_engine_lower_day(e, o, (int64_t)obs - 27);
        end = kz_engine_lower_day(e, o, (int64_t)obs + 1);
    }
    for (size_t i = l0; i < end; i++)
        if (kz_counts(o, e->ev_acc[i]))
            count[e->ev_name[i]]++;
    rank_names(e, count, rank);
    /* two halves of [p0, end) of about equal work when the run is long enough:
     * an event of P costs about a quarter of one of L, so the first half takes
     * P and the start of L, the second the rest of L */
    nh = kz_engine_parts(o, end - p0, 200000);
    size_t np = l0 - p0, nl = end - l0;
    size_t split = l0 + (nl / 2 > np / 8 ? nl / 2 - np / 8 : 0);
    for (int k = 0; k < nh; k++) {
        h[k].e = e;
        h[k].mask = o->mask;
        h[k].from = k == 0 ? p0 : split;
        h[k].to = k == nh - 1 ? end : split;
        h[k].l0 = l0;
        h[k].rank = rank;
        h[k].c = calloc(na, sizeof *h[k].c);
        h[k].mark = calloc(e->nusers ? e->nusers : 1, sizeof *h[k].mark);
        if (!h[k].c || !h[k].mark) {
            rc = kz_error_oom();
            goto done;
        }
    }
    pthread_t th;
    int threaded = nh == 2 && pthread_create(&th, NULL, run_half, &h[1]) == 0;
    run_half(&h[0]);
    if (threaded)
        pthread_join(th, NULL);
    else if (nh == 2)
        run_half(&h[1]);
    if (h[0].rc || h[1].rc) {
        rc = kz_error_oom();
        goto done;
    }
    if (nh == 2) {
        /* add the second half to the first; a pair both counted is one */
        for (size_t a = 0; a < e->naccounts; a++) {
            struct counters *x = &h[0].c[a];
            const struct counters *y = &h[1].c[a];
            for (int k = 0; k < TOP; k++)
                x->top[k] += y->top[k];
            x->ev28 += y->ev28;
            x->prev += y->prev;
            x->users += y->users;
        }
        for (uint32_t u = 1; u < e->nusers; u++)
            if (h[1].mark[u] && counted(&h[0], h[1].mark[u] - 1, u))
                h[0].c[h[1].mark[u] - 1].users--;
        for (size_t j = 0; h[1].extra.slot && j <= h[1].extra.mask; j++) {
            uint64_t key = h[1].extra.slot[j];
            if (key && counted(&h[0], (uint32_t)(key >> 32), (uint32_t)key))
                h[0].c[key >> 32].users--;
        }
    }
    if (obs != KZ_DAY_NONE && e->nevents) {
        last = malloc((e->naccounts ? e->naccounts : 1) * sizeof *last);
        if (!last) {
            rc = kz_error_oom();
            goto done;
        }
        kz_engine_last_before(e, o, obs, last);
    }
    for (uint32_t a = 0; a < e->naccounts; a++) {
        const struct counters *x = &h[0].c[a];
        if (!kz_counts(o, a))
            continue;
        kz_tcell *r = kz_table_add_row(t);
        if (!r || kz_cell_text(t, &r[0], e->acc_key[a], e->acc_key_len[a])) {
            rc = KZ_ENOMEM;
            goto done;
        }
        for (int k = 0; k < TOP; k++)
            kz_cell_int(&r[1 + k], x->top[k]);
        kz_cell_int(&r[6], x->ev28);
        kz_cell_int(&r[7], x->prev);
        kz_cell_int(&r[8], x->users);
        if (x->prev)
            kz_cell_double(&r[9], (double)x->ev28 / (double)x->prev);
        if (last && last[a] >= 0)
            kz_cell_int(&r[10], obs - kz_engine_day(e, o, last[a]));
    }
done:
    for (int k = 0; k < 2; k++) {
        free(h[k].c);
        free(h[k].mark);
        free(h[k].extra.slot);
    }
    free(count);
    free(rank);
    free(last);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}
