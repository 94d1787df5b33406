/*
 * append.c - live events into a built image (engine.h: kz_engine_live_*).
 *
 * The server keeps one image for its whole life; events that arrive over the
 * events API are merged into its columns once they are stored, so that the
 * next report sees them without a rebuild. The columns of a fresh image live
 * in its arena or in the read-only mapping of the image file; the first live
 * batch moves them to arrays of their own that grow by half each time.
 *
 * Events mostly arrive in time order and go at the end; a late one is merged
 * in from the back (the new events staged at the end of the capacity), so
 * the cost is the number of events after it. Equal seconds keep the stored events first, as a rebuild
 * from the store does for events stored later.
 */
#include "engine/engine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "store/evblock.h"

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

/* Grows one owned column to cap elements: realloc, which for arrays this big
 * moves pages (mremap) rather than bytes. On failure the old array stays. */
static int grow(void **col, size_t cap, size_t size)
{
    void *p = realloc(*col, cap * size);
    if (!p)
        return kz_error_oom();
    *col = p;
    return KZ_OK;
}

/* Moves (or grows) the event columns to owned arrays of at least cap events. */
static int own_columns(kz_engine *e, size_t cap)
{
    if (e->ev_owned && cap <= e->ev_cap)
        return KZ_OK;
    if (cap < e->ev_cap + e->ev_cap / 2)
        cap = e->ev_cap + e->ev_cap / 2;
    if (cap < 1024)
        cap = 1024;
    if (e->ev_owned) {
        /* each grown column stays valid if a later one fails: ev_cap says the least */
        int rc = grow((void **)&e->ev_sec, cap, sizeof *e->ev_sec);
        if (!rc)
            rc = grow((void **)&e->ev_acc, cap, sizeof *e->ev_acc);
        if (!rc)
            rc = grow((void **)&e->ev_user, cap, sizeof *e->ev_user);
        if (!rc)
            rc = grow((void **)&e->ev_name, cap, sizeof *e->ev_name);
        if (!rc)
            e->ev_cap = cap;
        return rc;
    }
    uint32_t *sec = malloc(cap * sizeof *sec);
    uint32_t *acc = malloc(cap * sizeof *acc);
    uint32_t *user = malloc(cap * sizeof *user);
    uint16_t *name = malloc(cap * sizeof *name);
    int64_t *last = malloc((e->naccounts ? e->naccounts : 1) * sizeof *last);
    if (!sec || !acc || !user || !name || !last) {
        free(sec);
        free(acc);
        free(user);
        free(name);
        free(last);
        return kz_error_oom();
    }
    size_t n = e->nevents;
    if (n) {
        memcpy(sec, e->ev_sec, n * sizeof *sec);
        memcpy(acc, e->ev_acc, n * sizeof *acc);
        memcpy(user, e->ev_user, n * sizeof *user);
        memcpy(name, e->ev_name, n * sizeof *name);
    }
    if (e->acc_last)
        memcpy(last, e->acc_last, e->naccounts * sizeof *last);
    else
        for (size_t a = 0; a < e->naccounts; a++)
            last[a] = -1;
    e->ev_sec = sec;
    e->ev_acc = acc;
    e->ev_user = user;
    e->ev_name = name;
    e->acc_last = last;
    e->ev_cap = cap;
    e->ev_owned = 1;
    return KZ_OK;
}

int kz_engine_live_reserve(kz_engine *e, size_t extra)
{
    if (e->nevents > SIZE_MAX / 4 - extra)
        return kz_error_oom();
    return own_columns(e, e->nevents + extra);
}

int kz_engine_live_prepare(kz_engine *e, const kz_evcols *ev, uint32_t max_name)
{
    if (ev->n == 0)
        return KZ_OK;
    if (max_name > UINT16_MAX)
        return kz_error_set(KZ_ETOOBIG, "more than %u distinct event names", (unsigned)UINT16_MAX);
    int64_t lo = floor_div(ev->ts[0], KZ_USEC_PER_SEC), hi = floor_div(ev->ts[ev->n - 1], KZ_USEC_PER_SEC);
    int64_t first = e->nevents ? e->base : lo;
    int64_t last = e->nevents ? e->base + e->ev_sec[e->nevents - 1] : hi;
    if (lo < first)
        first = lo;
    if (hi > last)
        last = hi;
    if (last - first > (int64_t)UINT32_MAX)
        return kz_error_set(KZ_ETOOBIG, "events would span more than 136 years");
    if (e->nevents > SIZE_MAX / 2 - ev->n)
        return kz_error_oom();
    if ((max_name >= e->nnames || !e->names) && !e->names_owned) {
        /* the names array must grow: give it a home of its own now */
        const char **nn = calloc(UINT16_MAX + 1, sizeof *nn);
        if (!nn)
            return kz_error_oom();
        if (e->nnames)
            memcpy(nn, e->names, e->nnames * sizeof *nn);
        e->names = nn;
        e->names_owned = 1;
    }
    /* room for the events and, behind them, for staging the new ones (append) */
    return own_columns(e, e->nevents + 2 * ev->n);
}

int kz_engine_live_name(kz_engine *e, uint32_t id, const char *name, size_t n)
{
    if (id > UINT16_MAX || !e->names_owned)
        return kz_error_set(KZ_ERROR, "kz_engine_live_name: id %u without kz_engine_live_prepare", (unsigned)id);
    char *s = kz_arena_alloc(e->arena, n + 1);
    if (!s)
        return kz_error_oom();
    memcpy(s, name, n);
    s[n] = '\0';
    e->names[id] = s;
    if (id >= e->nnames)
        e->nnames = (size_t)id + 1;
    return KZ_OK;
}

/* Shifts every event time so that `lo` (seconds since the epoch) fits. */
static void rebase(kz_engine *e, int64_t lo)
{
    uint32_t shift = (uint32_t)(e->base - lo);
    for (size_t i = 0; i < e->nevents; i++)
        e->ev_sec[i] += shift;
    for (size_t a = 0; a < e->naccounts; a++)
        if (e->acc_last[a] >= 0)
            e->acc_last[a] += shift;
    e->base = lo;
}

size_t kz_engine_live_append(kz_engine *e, const kz_evcols *ev)
{
    size_t m = 0, n = e->nevents, skipped = 0;
    if (ev->n == 0)
        return 0;
    int64_t lo = floor_div(ev->ts[0], KZ_USEC_PER_SEC);
    if (n == 0)
        e->base = lo;
    else if (lo < e->base)
        rebase(e, lo);
    /* the new events that count (their account is in the image), staged at
     * the end of the capacity, [put, cap), past where the merge writes
     * (prepare made cap >= n + 2 * ev->n) */
    size_t end = e->ev_cap, put = end;
    for (size_t i = ev->n; i-- > 0;) {
        uint32_t id = ev->account[i];
        uint32_t a = id < e->nids ? e->acc_of_id[id] : UINT32_MAX;
        if (a == UINT32_MAX) {
            skipped++;
            continue;
        }
        put--;
        e->ev_sec[put] = (uint32_t)(floor_div(ev->ts[i], KZ_USEC_PER_SEC) - e->base);
        e->ev_acc[put] = a;
        e->ev_user[put] = ev->user[i];
        e->ev_name[put] = (uint16_t)ev->event[i];
        if (ev->user[i] >= e->nusers)
            e->nusers = (size_t)ev->user[i] + 1;
        m++;
    }
    /* merge from the back: the old events [0, n) and the new [put, end) into
     * [0, n + m); a new event goes after old ones of the same second */
    size_t i = n, j = end, k = n + m;
    while (j > put) {
        if (i > 0 && e->ev_sec[i - 1] > e->ev_sec[j - 1]) {
            i--;
            k--;
            e->ev_sec[k] = e->ev_sec[i];
            e->ev_acc[k] = e->ev_acc[i];
            e->ev_user[k] = e->ev_user[i];
            e->ev_name[k] = e->ev_name[i];
        } else {
            j--;
            k--;
            e->ev_sec[k] = e->ev_sec[j];
            e->ev_acc[k] = e->ev_acc[j];
            e->ev_user[k] = e->ev_user[j];
            e->ev_name[k] = e->ev_name[j];
            if ((int64_t)e->ev_sec[k] > e->acc_last[e->ev_acc[k]])
                e->acc_last[e->ev_acc[k]] = e->ev_sec[k];
        }
    }
    e->nevents = n + m;
    if (m) {
        int64_t t = e->base + e->ev_sec[e->nevents - 1];
        if (t > e->last_time)
            e->last_time = t;
    }
    return skipped;
}

int kz_engine_adopt_events(kz_engine *dst, const kz_engine *src)
{
    if (dst->nevents || dst->ev_owned)
        return kz_error_set(KZ_ERROR, "kz_engine_adopt_events: the engine has events of its own");
    /* src's account index -> dst's, through the store's ids */
    uint32_t *map = malloc((src->naccounts ? src->naccounts : 1) * sizeof *map);
    if (!map)
        return kz_error_oom();
    for (size_t id = 0; id < src->nids; id++) {
        uint32_t a = src->acc_of_id[id];
        if (a != UINT32_MAX)
            map[a] = id < dst->nids ? dst->acc_of_id[id] : UINT32_MAX;
    }
    int rc = KZ_OK;
    size_t n = src->nevents, m = 0;
    if (src->nnames > dst->nnames) {
        /* names stored since dst read them (they are in src): dst needs room for them */
        const char **nn = calloc(UINT16_MAX + 1, sizeof *nn);
        if (!nn) {
            rc = kz_error_oom();
            goto done;
        }
        memcpy(nn, dst->names, dst->nnames * sizeof *nn);
        for (size_t i = dst->nnames; i < src->nnames; i++)
            if (src->names[i] && !(nn[i] = kz_arena_strndup(dst->arena, src->names[i], strlen(src->names[i])))) {
                free(nn);
                rc = kz_error_oom();
                goto done;
            }
        if (dst->names_owned)
            free((void *)dst->names);
        dst->names = nn;
        dst->names_owned = 1;
        dst->nnames = src->nnames;
    }
    if ((rc = own_columns(dst, n ? n : 1)))
        goto done;
    dst->base = src->base;
    for (size_t a = 0; a < dst->naccounts; a++)
        dst->acc_last[a] = -1;
    for (size_t i = 0; i < n; i++) {
        uint32_t a = map[src->ev_acc[i]];
        if (a == UINT32_MAX)
            continue; /* an account that is no longer stored */
        dst->ev_sec[m] = src->ev_sec[i];
        dst->ev_acc[m] = a;
        dst->ev_user[m] = src->ev_user[i];
        dst->ev_name[m] = src->ev_name[i];
        if ((int64_t)src->ev_sec[i] > dst->acc_last[a])
            dst->acc_last[a] = src->ev_sec[i];
        m++;
    }
    dst->nevents = m;
    dst->nusers = src->nusers > dst->nusers ? src->nusers : dst->nusers;
    dst->last_time = m ? dst->base + dst->ev_sec[m - 1] : INT64_MIN;
done:
    free(map);
    return rc;
}
