/*
 * clone.c - a private copy of an engine with only its recent events
 * (engine.h: kz_engine_clone_recent), for work that takes long on data that
 * must not change under it (scoring every account) while the original goes
 * on taking live events. The copy is made under the original's read lock in
 * tens of milliseconds; the work then needs no lock at all.
 */
#include "engine/engine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* n elements of size each, from src into the arena (NULL src: zeroes). */
static void *copy_arr(kz_arena *a, const void *src, size_t n, size_t size)
{
    void *p = kz_arena_alloc(a, (n ? n : 1) * size);
    if (p && src && n)
        memcpy(p, src, n * size);
    else if (p)
        memset(p, 0, (n ? n : 1) * size);
    return p;
}

static const char *copy_str(kz_arena *a, const char *s)
{
    return s ? kz_arena_strndup(a, s, strlen(s)) : NULL;
}

int kz_engine_clone_recent(kz_engine **out, const kz_engine *e, int64_t from)
{
    kz_engine *c = calloc(1, sizeof *c);
    int rc = KZ_OK;
    *out = NULL;
    if (!c || !(c->arena = kz_arena_new(1 << 20))) {
        free(c);
        return kz_error_oom();
    }
    kz_arena *A = c->arena;
    size_t na = e->naccounts;
    /* accounts (the arrays kz_engine_free frees with free() are malloc'd) */
    c->naccounts = na;
    c->nids = e->nids;
    c->acc_key = malloc((na ? na : 1) * sizeof *c->acc_key);
    c->acc_key_len = malloc((na ? na : 1) * sizeof *c->acc_key_len);
    c->acc_of_id = malloc((e->nids ? e->nids : 1) * sizeof *c->acc_of_id);
    c->plans = malloc((e->nplans ? e->nplans : 1) * sizeof *c->plans);
    if (!c->acc_key || !c->acc_key_len || !c->acc_of_id || !c->plans) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t a = 0; a < na; a++) {
        char *k = kz_arena_strndup(A, e->acc_key[a], e->acc_key_len[a]);
        if (!k) {
            rc = kz_error_oom();
            goto done;
        }
        c->acc_key[a] = k;
        c->acc_key_len[a] = e->acc_key_len[a];
    }
    if (e->nids)
        memcpy(c->acc_of_id, e->acc_of_id, e->nids * sizeof *c->acc_of_id);
    c->nplans = e->nplans;
    for (size_t p = 0; p < e->nplans; p++)
        if ((c->plans[p] = copy_str(A, e->plans[p])) == NULL && e->plans[p]) {
            rc = kz_error_oom();
            goto done;
        }
    /* subscriptions, answers, tickets, spend: whole */
    c->nsubs = e->nsubs;
    c->sub_mrr = copy_arr(A, e->sub_mrr, e->nsubs, sizeof *e->sub_mrr);
    c->sub_start = copy_arr(A, e->sub_start, e->nsubs, sizeof *e->sub_start);
    c->sub_end = copy_arr(A, e->sub_end, e->nsubs, sizeof *e->sub_end);
    c->sub_qty = copy_arr(A, e->sub_qty, e->nsubs, sizeof *e->sub_qty);
    c->sub_plan = copy_arr(A, e->sub_plan, e->nsubs, sizeof *e->sub_plan);
    c->acc_subs = copy_arr(A, e->acc_subs, na + 1, sizeof *e->acc_subs);
    c->nnps = e->nnps;
    c->nps_sec = copy_arr(A, e->nps_sec, e->nnps, sizeof *e->nps_sec);
    c->nps_score = copy_arr(A, e->nps_score, e->nnps, sizeof *e->nps_score);
    c->nps_acc = copy_arr(A, e->nps_acc, e->nnps, sizeof *e->nps_acc);
    c->ntickets = e->ntickets;
    c->tk_opened = copy_arr(A, e->tk_opened, e->ntickets, sizeof *e->tk_opened);
    c->tk_resolved = copy_arr(A, e->tk_resolved, e->ntickets, sizeof *e->tk_resolved);
    c->tk_first_resp = copy_arr(A, e->tk_first_resp, e->ntickets, sizeof *e->tk_first_resp);
    c->tk_priority = copy_arr(A, e->tk_priority, e->ntickets, sizeof *e->tk_priority);
    c->tk_category = copy_arr(A, e->tk_category, e->ntickets, sizeof *e->tk_category);
    c->acc_tickets = copy_arr(A, e->acc_tickets, na + 1, sizeof *e->acc_tickets);
    c->nspend = e->nspend;
    c->spend_month = copy_arr(A, e->spend_month, e->nspend, sizeof *e->spend_month);
    c->spend_amount = copy_arr(A, e->spend_amount, e->nspend, sizeof *e->spend_amount);
    /* the events from `from` on, on the same base; every account's last event */
    size_t lo = kz_engine_lower(e, from), n = e->nevents - lo;
    c->nevents = n;
    c->base = e->base;
    c->ev_sec = copy_arr(A, e->ev_sec + lo, n, sizeof *e->ev_sec);
    c->ev_acc = copy_arr(A, e->ev_acc + lo, n, sizeof *e->ev_acc);
    c->ev_user = copy_arr(A, e->ev_user + lo, n, sizeof *e->ev_user);
    c->ev_name = copy_arr(A, e->ev_name + lo, n, sizeof *e->ev_name);
    c->acc_last = copy_arr(A, e->acc_last, na, sizeof *e->acc_last);
    if (!e->acc_last && c->acc_last)
        for (size_t a = 0; a < na; a++)
            c->acc_last[a] = -1;
    c->nusers = e->nusers;
    c->version = -1; /* only part of the events: never an image */
    c->last_time = e->last_time;
    c->nnames = e->nnames;
    c->names = kz_arena_calloc(A, e->nnames ? e->nnames : 1, sizeof *c->names);
    if (!c->sub_mrr || !c->sub_start || !c->sub_end || !c->sub_qty || !c->sub_plan || !c->acc_subs || !c->nps_sec ||
        !c->nps_score || !c->nps_acc || !c->tk_opened || !c->tk_resolved || !c->tk_first_resp || !c->tk_priority ||
        !c->tk_category || !c->acc_tickets || !c->spend_month || !c->spend_amount || !c->ev_sec || !c->ev_acc ||
        !c->ev_user || !c->ev_name || !c->acc_last || !c->names) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t k = 0; k < e->nnames; k++)
        if (e->names[k] && !(c->names[k] = copy_str(A, e->names[k]))) {
            rc = kz_error_oom();
            goto done;
        }
done:
    if (rc) {
        kz_engine_free(c);
        return rc;
    }
    *out = c;
    return KZ_OK;
}
