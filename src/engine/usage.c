/*
 * usage.c - per-account usage at the observation date (docs/metrics.md; the
 * reference Q3).
 *
 * Windows of whole days: the last 28 days L = [obs-27, obs+1) and the 28
 * before P = [obs-55, obs-27). Events are sorted by time, so each window is one
 * contiguous run found by binary search; one pass over it counts events per
 * account, per event name, and distinct users per account. The five most
 * common event names in L over all accounts (ties by name) get a column each.
 * days_since_last_event uses each account's last event over all time, kept in
 * the image.
 *
 * Distinct users: a user is marked with the first account it was seen with in
 * the window; the rare event of a user in a second account goes through a hash
 * set of (account, user) pairs, so the count stays exact.
 */
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

/* A set of 64-bit keys (account << 32 | user), open addressing. */
struct pairset {
    uint64_t *slot; /* 0 = empty (keys are never 0: users start at 1) */
    size_t mask, n;
};

static int pairset_add(struct pairset *s, uint64_t key, int *added)
{
    if ((s->n + 1) * 2 > s->mask + 1 || !s->slot) {
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

struct acc_usage {
    int64_t top[TOP];
    int64_t ev28, prev, users;
    int seen; /* any event in the 56 days */
};

static int cmp_name_count(const void *x, const void *y, const kz_engine *e, const int64_t *count)
{
    uint16_t a = *(const uint16_t *)x, b = *(const uint16_t *)y;
    if (count[a] != count[b])
        return count[a] > count[b] ? -1 : 1;
    const char *na = a < e->nnames && e->names[a] ? e->names[a] : "";
    const char *nb = b < e->nnames && e->names[b] ? e->names[b] : "";
    return strcmp(na, nb);
}

int kz_metric_usage(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(cols, sizeof cols / sizeof cols[0]);
    struct acc_usage *au = NULL;
    int64_t *count = NULL;
    uint32_t *mark = NULL;
    int rank_of[65536];
    struct pairset extra = { NULL, 0, 0 };
    int rc = KZ_OK;

    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    kz_day obs = kz_engine_obs(e, o);
    au = calloc(e->naccounts ? e->naccounts : 1, sizeof *au);
    count = calloc(e->nnames ? e->nnames : 1, sizeof *count);
    mark = calloc(e->nusers ? e->nusers : 1, sizeof *mark);
    if (!au || !count || !mark) {
        rc = kz_error_oom();
        goto done;
    }
    memset(rank_of, 0xff, sizeof rank_of);
    if (obs != KZ_DAY_NONE && e->nevents) {
        size_t p0 = kz_engine_lower(e, (int64_t)(obs - 55) * 86400);
        size_t l0 = kz_engine_lower(e, (int64_t)(obs - 27) * 86400);
        size_t end = kz_engine_lower(e, (int64_t)(obs + 1) * 86400);
        for (size_t i = p0; i < l0; i++) {
            au[e->ev_acc[i]].prev++;
            au[e->ev_acc[i]].seen = 1;
        }
        for (size_t i = l0; i < end; i++)
            count[e->ev_name[i]]++;
        /* the five most common names in L, ties by name */
        uint16_t best[TOP];
        int nbest = 0;
        for (size_t id = 0; id < e->nnames; id++) {
            if (!count[id])
                continue;
            uint16_t cand = (uint16_t)id;
            int pos = nbest;
            while (pos > 0 && cmp_name_count(&cand, &best[pos - 1], e, count) < 0)
                pos--;
            if (pos >= TOP)
                continue;
            int last = nbest < TOP ? nbest : TOP - 1;
            for (int k = last; k > pos; k--)
                best[k] = best[k - 1];
            best[pos] = cand;
            if (nbest < TOP)
                nbest++;
        }
        for (int k = 0; k < nbest; k++)
            rank_of[best[k]] = k;
        for (size_t i = l0; i < end; i++) {
            uint32_t a = e->ev_acc[i], u = e->ev_user[i];
            struct acc_usage *x = &au[a];
            x->ev28++;
            x->seen = 1;
            int r = rank_of[e->ev_name[i]];
            if (r >= 0)
                x->top[r]++;
            if (!u)
                continue; /* events without a user count no user */
            if (mark[u] == 0) {
                mark[u] = a + 1;
                x->users++;
            } else if (mark[u] != a + 1) {
                int added;
                if ((rc = pairset_add(&extra, (uint64_t)a << 32 | u, &added)))
                    goto done;
                x->users += added;
            }
        }
    }
    for (uint32_t a = 0; a < e->naccounts; a++) {
        const struct acc_usage *x = &au[a];
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
        if (x->seen && x->prev)
            kz_cell_double(&r[9], (double)x->ev28 / (double)x->prev);
        if (e->acc_last && e->acc_last[a] >= 0 && obs != KZ_DAY_NONE) {
            int64_t last_day = kz_engine_day(e, e->acc_last[a]);
            kz_cell_int(&r[10], obs - last_day);
        }
    }
done:
    free(au);
    free(count);
    free(mark);
    free(extra.slot);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}
