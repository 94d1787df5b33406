/*
 * live.c - product events as they happen (live.h): parsing and validation on
 * the callers' threads, one writer thread that stores what arrived meanwhile
 * in one transaction (group commit), de-duplication by event_id, and the
 * compaction of the small blocks that group commits leave behind.
 *
 * Shared state and its locks:
 * - dict_lock (a read-write lock that prefers the writer) guards the maps
 *   callers read while they validate: accounts, users, event names. Only the
 *   writer thread changes them, after a commit or a reload.
 * - mu guards the queue of batches, the sync counters and the statistics;
 *   kz_live_sync waits on `answered` for the writer to look again.
 * - Everything else (the store handle, the event ids, the compaction stack)
 *   belongs to the writer thread alone.
 *
 * Compaction: every commit writes one block, small when traffic is light, so
 * the writer keeps a stack of the blocks it wrote (each with a level) and
 * merges the newest COMPACT_FANIN blocks of one level into the first of them
 * (same id, so the canonical order of stored events does not change) once
 * there are that many: each event is rewritten about log16(block_events /
 * batch) times. The stack is forgotten when another writer has stored events
 * (its blocks could lie between ours) and when a merge would pass
 * import.block_events.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include "ingest/live.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/time.h"
#include "core/vec.h"
#include "ingest/ndjson.h"
#include "ingest/schema.h"
#include "store/store.h"

/* The order of the fields in schema.c's event table. */
enum { F_TS, F_ACCOUNT, F_EVENT, F_USER, F_VALUE, F_EVENT_ID, F_PROPS, F_N };

#define PROV 0x80000000u /* a key new in its batch: PROV | its index in the batch's keys */
#define COMPACT_FANIN 16
#define MAX_NAMES 65535u /* the engine keeps event names as 16-bit ids */

/* ---- a set of 128-bit keyed hashes of event ids ------------------------------------ */

typedef struct idset {
    uint64_t (*slot)[2]; /* {0, 0}: empty */
    size_t mask, n;
} idset;

static void id_hash(const uint8_t key[16], const char *id, size_t n, uint64_t out[2])
{
    unsigned char h[crypto_shorthash_siphashx24_BYTES];
    crypto_shorthash_siphashx24(h, (const unsigned char *)id, n, key);
    memcpy(out, h, sizeof h);
    if (out[0] == 0 && out[1] == 0)
        out[1] = 1; /* {0, 0} marks an empty slot */
}

static size_t id_slot(const idset *s, const uint64_t h[2])
{
    size_t i = (size_t)h[0] & s->mask;
    while (s->slot[i][0] | s->slot[i][1]) {
        if (s->slot[i][0] == h[0] && s->slot[i][1] == h[1])
            return i;
        i = (i + 1) & s->mask;
    }
    return i;
}

static int idset_has(const idset *s, const uint64_t h[2])
{
    if (!s->slot)
        return 0;
    size_t i = id_slot(s, h);
    return (s->slot[i][0] | s->slot[i][1]) != 0;
}

/* Makes room for `more` further entries (the table stays at most half full). */
static int idset_reserve(idset *s, size_t more)
{
    size_t need = s->n + more, cap = s->slot ? s->mask + 1 : 0;
    if (need * 2 <= cap)
        return KZ_OK;
    size_t ncap = cap ? cap : 1024;
    while (ncap < need * 2)
        ncap *= 2;
    idset t = { calloc(ncap, sizeof *t.slot), ncap - 1, 0 };
    if (!t.slot)
        return kz_error_oom();
    for (size_t i = 0; i < cap; i++)
        if (s->slot[i][0] | s->slot[i][1]) {
            size_t j = id_slot(&t, s->slot[i]);
            t.slot[j][0] = s->slot[i][0];
            t.slot[j][1] = s->slot[i][1];
            t.n++;
        }
    free(s->slot);
    *s = t;
    return KZ_OK;
}

/* Adds h (room must have been reserved); 0 when it was there already. */
static int idset_add(idset *s, const uint64_t h[2])
{
    size_t i = id_slot(s, h);
    if (s->slot[i][0] | s->slot[i][1])
        return 0;
    s->slot[i][0] = h[0];
    s->slot[i][1] = h[1];
    s->n++;
    return 1;
}

static void idset_free(idset *s)
{
    free(s->slot);
    memset(s, 0, sizeof *s);
}

/* ---- state ------------------------------------------------------------------------ */

/* A key (user or event name) first met in a batch. */
struct nkey {
    kz_dict dict;
    uint32_t account; /* users: the account of the event that brought it */
    size_t off, len;  /* in the batch's keybytes */
};

/* One posted batch, from validation to the writer's answer. */
struct pend {
    kz_evcols ev;            /* user and event: a stored id, or PROV | index into keys */
    uint64_t (*idh)[2];      /* per event: the hash of its event_id, {0, 0} without; NULL when none has one */
    KZ_VEC(struct nkey) keys;
    kz_buf keybytes;
    kz_strmap *newkeys[2];   /* per dictionary: key -> index into keys */
    size_t new_names;
    kz_live_result r;        /* what the caller is told; rejects filled while validating */
    kz_live_done done;       /* told when the writer has stored the batch (or failed to) */
    void *ctx;
    /* the writer's answer */
    int rc;
    char msg[512];
    size_t stored, dups;
    int64_t version;
    struct pend *next;
};

/* A block the writer stored, for compaction. */
struct written {
    int64_t id, n;
    int level;
};

struct kz_live {
    kz_live_opts o;
    _Atomic size_t max_events;  /* o.max_events, changed by kz_live_set_max_events */
    kz_store *st;               /* the writer thread's (and kz_live_open's before it starts) */
    uint8_t key[crypto_shorthash_siphashx24_KEYBYTES];
    pthread_rwlock_t dict_lock; /* over the three maps and their maxima */
    kz_strmap *accounts, *users, *names;
    uint32_t users_max, names_max;
    /* the writer's own */
    idset ids;                  /* every stored event_id */
    int64_t version;            /* the data version after the writer's last look */
    int64_t events;             /* stored events, as of that look */
    kz_buf blob;
    KZ_VEC(struct written) stack;
    /* the queue */
    pthread_mutex_t mu;
    pthread_cond_t work, answered;
    struct pend *head, *tail;
    uint64_t sync_asked, sync_done;
    int stop;
    pthread_t thread;
    int started;
    kz_live_stats stats;
};

/* ---- loading ---------------------------------------------------------------------- */

/* The dictionaries as stored; *out maps are new (caller frees). */
static int load_maps(kz_store *st, int with_dicts, kz_strmap **acc, kz_strmap **users, uint32_t *umax,
                     kz_strmap **names, uint32_t *nmax)
{
    *acc = kz_strmap_new(1024);
    if (!*acc)
        return kz_error_oom();
    int rc = kz_store_keys(st, KZ_ENT_ACCOUNT, *acc);
    if (rc || !with_dicts)
        return rc;
    *users = kz_strmap_new(1 << 12);
    *names = kz_strmap_new(256);
    if (!*users || !*names)
        return kz_error_oom();
    rc = kz_store_dict_load(st, KZ_DICT_USERS, *users, umax);
    if (!rc)
        rc = kz_store_dict_load(st, KZ_DICT_EVENT_NAMES, *names, nmax);
    return rc;
}

/* Every stored event_id into ids, from the blocks that have some (or were
 * never counted: those are counted now, for the next time, when the
 * database can be written). */
static int load_ids(kz_live *lv, idset *ids)
{
    kz_block_meta *blocks = NULL;
    size_t nblocks = 0;
    kz_evcols ev;
    memset(&ev, 0, sizeof ev);
    KZ_VEC(struct written) counted = { 0 };
    int rc = kz_store_block_list(lv->st, INT64_MIN, INT64_MAX, &blocks, &nblocks);
    for (size_t b = 0; b < nblocks && !rc; b++) {
        if (blocks[b].n_ids == 0)
            continue;
        kz_buf_reset(&lv->blob);
        kz_evcols_clear(&ev);
        if ((rc = kz_store_block_get(lv->st, blocks[b].id, &lv->blob)) ||
            (rc = kz_evblock_decode(&ev, lv->blob.data, lv->blob.len)))
            break;
        int64_t n = kz_evcols_count_ids(&ev);
        if ((rc = idset_reserve(ids, (size_t)n)))
            break;
        for (size_t i = 0; i < ev.n; i++) {
            size_t len;
            const char *id = kz_strcol_get(&ev.event_id, i, &len);
            if (id) {
                uint64_t h[2];
                id_hash(lv->key, id, len, h);
                idset_add(ids, h);
            }
        }
        if (blocks[b].n_ids < 0) {
            struct written w = { blocks[b].id, n, 0 };
            rc = kz_vec_push(&counted, w);
        }
    }
    if (!rc && counted.n && kz_store_begin(lv->st) == KZ_OK) {
        int crc = KZ_OK;
        for (size_t i = 0; i < counted.n && !crc; i++)
            crc = kz_store_block_set_ids(lv->st, counted.v[i].id, counted.v[i].n);
        if (crc || kz_store_commit(lv->st)) {
            KZ_LOG(KZ_LOG_DEBUG, "live: ids of older blocks not counted", "reason=\"%s\"", kz_error_msg());
            kz_store_rollback(lv->st);
        }
    }
    kz_vec_free(&counted);
    kz_evcols_free(&ev);
    free(blocks);
    return rc;
}

/* Reads the database afresh after another writer changed it: the accounts,
 * and when events were stored too, the dictionaries and ids. *events_changed
 * says which. The maps are swapped in under the lock. */
static int reload(kz_live *lv, int *events_changed)
{
    int64_t count = 0;
    kz_strmap *acc = NULL, *users = NULL, *names = NULL;
    uint32_t umax = 0, nmax = 0;
    idset ids = { 0 };
    int rc = kz_store_event_count(lv->st, &count);
    *events_changed = !rc && count != lv->events;
    if (!rc)
        rc = load_maps(lv->st, *events_changed, &acc, &users, &umax, &names, &nmax);
    if (!rc && *events_changed)
        rc = load_ids(lv, &ids);
    if (rc) {
        kz_strmap_free(acc);
        kz_strmap_free(users);
        kz_strmap_free(names);
        idset_free(&ids);
        return rc;
    }
    pthread_rwlock_wrlock(&lv->dict_lock);
    kz_strmap_free(lv->accounts);
    lv->accounts = acc;
    if (*events_changed) {
        kz_strmap_free(lv->users);
        kz_strmap_free(lv->names);
        lv->users = users;
        lv->names = names;
        lv->users_max = umax;
        lv->names_max = nmax;
    }
    pthread_rwlock_unlock(&lv->dict_lock);
    if (*events_changed) {
        idset_free(&lv->ids);
        lv->ids = ids;
        lv->events = count;
    }
    lv->stack.n = 0; /* another writer's blocks may lie between ours */
    KZ_LOG(KZ_LOG_INFO, "live: the database was changed by another writer", "events_changed=%d", *events_changed);
    return KZ_OK;
}

/* ---- the writer ------------------------------------------------------------------- */

/* Empties p for another reading of its batch. */
static void pend_reset(struct pend *p)
{
    kz_evcols_clear(&p->ev);
    if (p->idh)
        memset(p->idh, 0, p->ev.cap * sizeof *p->idh);
    p->keys.n = 0;
    kz_buf_reset(&p->keybytes);
    p->new_names = 0;
    for (int d = 0; d < 2; d++) {
        kz_strmap_free(p->newkeys[d]);
        p->newkeys[d] = kz_strmap_new(d ? 16 : 64);
    }
}

static void pend_free(struct pend *p)
{
    kz_live_result_free(&p->r);
    kz_evcols_free(&p->ev);
    free(p->idh);
    kz_vec_free(&p->keys);
    kz_buf_free(&p->keybytes);
    kz_strmap_free(p->newkeys[0]);
    kz_strmap_free(p->newkeys[1]);
}

/* A key new in this commit: its id and where its text is. */
struct gkey {
    kz_dict dict;
    uint32_t id, account;
    const char *key;
    size_t len;
};

struct group {
    kz_evcols ev;
    KZ_VEC(struct gkey) keys;
    kz_strmap *newkeys[2];
    idset ids;
    uint32_t umax, nmax;
};

static void group_free(struct group *g)
{
    kz_evcols_free(&g->ev);
    kz_vec_free(&g->keys);
    kz_strmap_free(g->newkeys[0]);
    kz_strmap_free(g->newkeys[1]);
    idset_free(&g->ids);
}

/* Gives p's new keys their final ids and adds its events that are not
 * duplicates to the group. */
static int resolve(kz_live *lv, struct group *g, struct pend *p)
{
    uint32_t *final = malloc((p->keys.n ? p->keys.n : 1) * sizeof *final);
    int rc = KZ_OK;
    if (!final)
        return kz_error_oom();
    for (size_t k = 0; k < p->keys.n && !rc; k++) {
        const struct nkey *nk = &p->keys.v[k];
        const char *key = p->keybytes.data + nk->off;
        kz_strmap *stored = nk->dict == KZ_DICT_USERS ? lv->users : lv->names;
        int64_t id = kz_strmap_get(stored, key, nk->len);
        if (id < 0)
            id = kz_strmap_get(g->newkeys[nk->dict], key, nk->len);
        if (id < 0) {
            uint32_t *max = nk->dict == KZ_DICT_USERS ? &g->umax : &g->nmax;
            if (*max >= PROV - 1)
                rc = kz_error_set(KZ_ETOOBIG, "too many distinct users");
            else {
                id = ++*max;
                struct gkey gk = { nk->dict, (uint32_t)id, nk->account, key, nk->len };
                rc = kz_vec_push(&g->keys, gk);
                if (!rc)
                    rc = kz_strmap_put(g->newkeys[nk->dict], key, nk->len, (uint32_t)id);
            }
        }
        final[k] = (uint32_t)id;
    }
    if (!rc && p->idh)
        rc = idset_reserve(&g->ids, p->ev.n);
    if (!rc)
        rc = kz_evcols_reserve(&g->ev, g->ev.n + p->ev.n);
    p->stored = p->dups = 0;
    for (size_t i = 0; i < p->ev.n && !rc; i++) {
        if (p->idh && (p->idh[i][0] | p->idh[i][1])) {
            if (idset_has(&lv->ids, p->idh[i]) || !idset_add(&g->ids, p->idh[i])) {
                p->dups++;
                continue;
            }
        }
        uint32_t user = p->ev.user[i], event = p->ev.event[i];
        if (user & PROV)
            user = final[user & ~PROV];
        if (event & PROV)
            event = final[event & ~PROV];
        size_t nid, np;
        const char *id = kz_strcol_get(&p->ev.event_id, i, &nid);
        const char *props = kz_strcol_get(&p->ev.props, i, &np);
        rc = kz_evcols_append(&g->ev, p->ev.ts[i], p->ev.account[i], user, event, p->ev.value[i], id, nid, props, np);
        p->stored++;
    }
    free(final);
    return rc;
}

/* Stores the batches of one group in one transaction and tells the owner. */
static void commit_group(kz_live *lv, struct pend **ps, size_t np)
{
    struct group g;
    int rc, began = 0, external = 0, events_changed = 0;
    int64_t version = 0, block = 0;
    kz_live_name *names = NULL;
    size_t nnames = 0;
    memset(&g, 0, sizeof g);
    g.newkeys[0] = kz_strmap_new(64);
    g.newkeys[1] = kz_strmap_new(16);
    if (!g.newkeys[0] || !g.newkeys[1]) {
        rc = kz_error_oom();
        goto done;
    }
    if ((rc = kz_store_begin(lv->st)))
        goto done;
    began = 1;
    if ((rc = kz_store_data_version(lv->st, &version)))
        goto done;
    if (version != lv->version) {
        external = 1;
        if ((rc = reload(lv, &events_changed)))
            goto done;
    }
    g.umax = lv->users_max;
    g.nmax = lv->names_max;
    for (size_t i = 0; i < np && !rc; i++)
        rc = resolve(lv, &g, ps[i]);
    if (!rc && g.nmax > MAX_NAMES)
        rc = kz_error_set(KZ_ETOOBIG, "more than %u distinct event names", MAX_NAMES);
    if (rc)
        goto done;
    if (g.ev.n) {
        kz_block_meta m;
        memset(&m, 0, sizeof m);
        if ((rc = kz_evcols_sort(&g.ev)))
            goto done;
        m.min_ts = g.ev.ts[0];
        m.max_ts = g.ev.ts[g.ev.n - 1];
        m.n_events = (int64_t)g.ev.n;
        m.n_ids = kz_evcols_count_ids(&g.ev);
        kz_buf_reset(&lv->blob);
        if ((rc = kz_evblock_encode(&g.ev, &lv->blob, 1)) ||
            (rc = kz_store_block_put(lv->st, &m, lv->blob.data, lv->blob.len, &block)))
            goto done;
    }
    for (size_t k = 0; k < g.keys.n && !rc; k++) {
        const struct gkey *gk = &g.keys.v[k];
        rc = kz_store_dict_add(lv->st, gk->dict, gk->id, gk->key, gk->len, gk->account);
    }
    if (!rc && (g.ev.n || g.keys.n))
        rc = kz_store_touch(lv->st);
    if (!rc)
        rc = kz_store_data_version(lv->st, &version);
    /* what must not fail after the commit is made ready before it */
    if (!rc)
        rc = idset_reserve(&lv->ids, g.ids.n);
    if (!rc && g.keys.n) {
        names = malloc(g.keys.n * sizeof *names);
        if (!names)
            rc = kz_error_oom();
        for (size_t k = 0; names && k < g.keys.n; k++)
            if (g.keys.v[k].dict == KZ_DICT_EVENT_NAMES) {
                names[nnames].id = g.keys.v[k].id;
                names[nnames].name = g.keys.v[k].key;
                names[nnames].n = g.keys.v[k].len;
                nnames++;
            }
    }
    if (!rc && g.ev.n && lv->o.hooks.prepare)
        rc = lv->o.hooks.prepare(lv->o.hooks.ctx, &g.ev, g.nmax);
    if (!rc && (rc = kz_store_commit(lv->st)) == KZ_OK)
        began = 0;
done:
    if (began)
        kz_store_rollback(lv->st);
    if (rc) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", kz_error_msg());
        KZ_LOG(KZ_LOG_ERROR, "live: events not stored", "batches=%zu reason=\"%s\"", np, msg);
        for (size_t i = 0; i < np; i++) {
            ps[i]->rc = rc;
            snprintf(ps[i]->msg, sizeof ps[i]->msg, "%s", msg);
            ps[i]->stored = ps[i]->dups = 0;
        }
        free(names);
        group_free(&g);
        return;
    }
    /* committed: the new keys and ids become everyone's */
    pthread_rwlock_wrlock(&lv->dict_lock);
    for (size_t k = 0; k < g.keys.n; k++) {
        const struct gkey *gk = &g.keys.v[k];
        if (kz_strmap_put(gk->dict == KZ_DICT_USERS ? lv->users : lv->names, gk->key, gk->len, gk->id))
            KZ_LOG(KZ_LOG_WARN, "live: a new key is not cached (out of memory)", "id=%u", (unsigned)gk->id);
    }
    lv->users_max = g.umax;
    lv->names_max = g.nmax;
    pthread_rwlock_unlock(&lv->dict_lock);
    for (size_t i = 0; g.ids.slot && i <= g.ids.mask; i++)
        if (g.ids.slot[i][0] | g.ids.slot[i][1])
            idset_add(&lv->ids, g.ids.slot[i]);
    lv->version = version;
    lv->events += (int64_t)g.ev.n;
    if (g.ev.n && lv->o.hooks.apply)
        lv->o.hooks.apply(lv->o.hooks.ctx, &g.ev, names, nnames, version);
    if (external && lv->o.hooks.changed)
        lv->o.hooks.changed(lv->o.hooks.ctx, events_changed);
    if (block) {
        struct written w = { block, (int64_t)g.ev.n, 0 };
        if (g.ev.n * COMPACT_FANIN > lv->o.block_events || kz_vec_push(&lv->stack, w))
            lv->stack.n = 0; /* big enough as it is: the blocks before stay as they are */
    }
    for (size_t i = 0; i < np; i++) {
        ps[i]->rc = KZ_OK;
        ps[i]->version = version;
    }
    free(names);
    group_free(&g);
}

/* Merges blocks ids[0..n) (consecutive, oldest first) into ids[0]. */
static int merge_blocks(kz_live *lv, const struct written *w, size_t n)
{
    kz_evcols ev;
    memset(&ev, 0, sizeof ev);
    int rc = kz_store_begin(lv->st);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        kz_buf_reset(&lv->blob);
        rc = kz_store_block_get(lv->st, w[i].id, &lv->blob);
        if (!rc)
            rc = kz_evblock_decode(&ev, lv->blob.data, lv->blob.len);
    }
    /* a stable sort of the blocks in id order keeps equal times in stored order */
    if (!rc)
        rc = kz_evcols_sort(&ev);
    if (!rc) {
        kz_block_meta m;
        memset(&m, 0, sizeof m);
        m.min_ts = ev.ts[0];
        m.max_ts = ev.ts[ev.n - 1];
        m.n_events = (int64_t)ev.n;
        m.n_ids = kz_evcols_count_ids(&ev);
        kz_buf_reset(&lv->blob);
        rc = kz_evblock_encode(&ev, &lv->blob, 1);
        if (!rc)
            rc = kz_store_block_replace(lv->st, w[0].id, &m, lv->blob.data, lv->blob.len);
    }
    for (size_t i = 1; i < n && !rc; i++)
        rc = kz_store_block_delete(lv->st, w[i].id);
    if (!rc)
        rc = kz_store_commit(lv->st);
    if (rc)
        kz_store_rollback(lv->st);
    kz_evcols_free(&ev);
    return rc;
}

static void compact(kz_live *lv)
{
    while (lv->stack.n >= COMPACT_FANIN) {
        struct written *top = &lv->stack.v[lv->stack.n - COMPACT_FANIN];
        int64_t sum = 0;
        int same = 1;
        for (size_t i = 0; i < COMPACT_FANIN; i++) {
            sum += top[i].n;
            same &= top[i].level == top[0].level;
        }
        if (!same)
            return;
        if ((uint64_t)sum > lv->o.block_events) {
            lv->stack.n = 0; /* these are big enough */
            return;
        }
        double t0 = kz_monotonic();
        if (merge_blocks(lv, top, COMPACT_FANIN)) {
            KZ_LOG(KZ_LOG_WARN, "live: blocks not compacted", "reason=\"%s\"", kz_error_msg());
            lv->stack.n = 0;
            return;
        }
        KZ_LOG(KZ_LOG_DEBUG, "live: blocks compacted", "blocks=%d events=%lld level=%d seconds=%.3f", COMPACT_FANIN,
               (long long)sum, top[0].level + 1, kz_monotonic() - t0);
        top[0].n = sum;
        top[0].level++;
        lv->stack.n -= COMPACT_FANIN - 1;
    }
}

/* Answers a sync: reloads what another writer changed. */
static void check_version(kz_live *lv)
{
    int64_t version;
    int started = 0, events_changed = 0;
    if (kz_store_snapshot_begin(lv->st, &started) || kz_store_data_version(lv->st, &version)) {
        KZ_LOG(KZ_LOG_WARN, "live: the data version cannot be read", "reason=\"%s\"", kz_error_msg());
        kz_store_snapshot_end(lv->st, started);
        return;
    }
    int changed = version != lv->version;
    if (changed && reload(lv, &events_changed)) {
        KZ_LOG(KZ_LOG_WARN, "live: reload failed", "reason=\"%s\"", kz_error_msg());
        changed = 0;
    } else if (changed) {
        lv->version = version;
    }
    kz_store_snapshot_end(lv->st, started);
    if (changed && lv->o.hooks.changed)
        lv->o.hooks.changed(lv->o.hooks.ctx, events_changed);
}

static void *writer_main(void *arg)
{
    kz_live *lv = arg;
    struct pend **group = NULL;
    size_t cap = 0;
    pthread_mutex_lock(&lv->mu);
    for (;;) {
        int idle = 0;
        while (!lv->head && lv->sync_asked == lv->sync_done && !lv->stop && !idle) {
            /* when nothing comes for a second, look whether another writer
             * changed the database, so that reports do not stay behind it */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            idle = pthread_cond_timedwait(&lv->work, &lv->mu, &until) == ETIMEDOUT;
        }
        if (!lv->head && lv->sync_asked == lv->sync_done && lv->stop)
            break; /* stopped, and nothing is left */
        if (!lv->head && lv->sync_asked == lv->sync_done) {
            pthread_mutex_unlock(&lv->mu);
            check_version(lv);
            pthread_mutex_lock(&lv->mu);
            continue;
        }
        uint64_t sync = lv->sync_asked;
        size_t n = 0, events = 0;
        while (lv->head && (n == 0 || events + lv->head->ev.n <= lv->o.block_events)) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                struct pend **ng = realloc(group, ncap * sizeof *ng);
                if (!ng)
                    break; /* the rest waits for the next round */
                group = ng;
                cap = ncap;
            }
            struct pend *p = lv->head;
            lv->head = p->next;
            if (!lv->head)
                lv->tail = NULL;
            group[n++] = p;
            events += p->ev.n;
        }
        pthread_mutex_unlock(&lv->mu);
        if (n)
            commit_group(lv, group, n); /* its version check answers the sync too */
        else
            check_version(lv);
        size_t stored = 0, dups = 0;
        for (size_t i = 0; i < n; i++) {
            struct pend *p = group[i];
            stored += p->stored;
            dups += p->dups;
            if (!p->rc) {
                p->r.accepted = p->stored;
                p->r.duplicates = p->dups;
                p->r.data_version = p->version;
            }
            p->done(p->ctx, p->rc, p->msg, &p->r);
            pend_free(p);
            free(p);
        }
        pthread_mutex_lock(&lv->mu);
        lv->stats.stored += stored;
        lv->stats.duplicates += dups;
        lv->stats.commits += n > 0;
        lv->sync_done = sync;
        pthread_cond_broadcast(&lv->answered);
        if (n && lv->stack.n >= COMPACT_FANIN) {
            pthread_mutex_unlock(&lv->mu);
            compact(lv);
            pthread_mutex_lock(&lv->mu);
        }
    }
    pthread_mutex_unlock(&lv->mu);
    free(group);
    return NULL;
}

/* ---- opening and closing ------------------------------------------------------------- */

int kz_live_open(kz_live **out, const char *db_path, const kz_live_opts *o)
{
    kz_live *lv = calloc(1, sizeof *lv);
    int rc;
    *out = NULL;
    if (!lv)
        return kz_error_oom();
    if (sodium_init() < 0) {
        free(lv);
        return kz_error_set(KZ_ERROR, "libsodium cannot start");
    }
    lv->o = *o;
    if (lv->o.max_events == 0)
        lv->o.max_events = 100000;
    if (lv->o.max_field == 0)
        lv->o.max_field = 1 << 20;
    if (lv->o.block_events == 0)
        lv->o.block_events = 1 << 20;
    atomic_store(&lv->max_events, lv->o.max_events);
    randombytes_buf(lv->key, sizeof lv->key);
    kz_buf_init(&lv->blob, KZ_BUF_UNLIMITED);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lv->dict_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&lv->mu, NULL);
    pthread_cond_init(&lv->work, NULL);
    pthread_cond_init(&lv->answered, NULL);
    int started = 0;
    if ((rc = kz_store_open(&lv->st, db_path, KZ_STORE_CREATE)) ||
        (rc = kz_store_snapshot_begin(lv->st, &started)) || (rc = kz_store_data_version(lv->st, &lv->version)) ||
        (rc = kz_store_event_count(lv->st, &lv->events)) ||
        (rc = load_maps(lv->st, 1, &lv->accounts, &lv->users, &lv->users_max, &lv->names, &lv->names_max))) {
        kz_store_snapshot_end(lv->st, started);
        goto fail;
    }
    kz_store_snapshot_end(lv->st, started);
    if ((rc = load_ids(lv, &lv->ids)))
        goto fail;
    if (pthread_create(&lv->thread, NULL, writer_main, lv) != 0) {
        rc = kz_error_set(KZ_ERROR, "cannot start the events writer thread");
        goto fail;
    }
    lv->started = 1;
    KZ_LOG(KZ_LOG_DEBUG, "live: open", "accounts=%zu users=%u names=%u ids=%zu events=%lld",
           kz_strmap_count(lv->accounts), (unsigned)lv->users_max, (unsigned)lv->names_max, lv->ids.n,
           (long long)lv->events);
    *out = lv;
    return KZ_OK;
fail:
    kz_live_close(lv);
    return rc;
}

void kz_live_close(kz_live *lv)
{
    if (!lv)
        return;
    if (lv->started) {
        pthread_mutex_lock(&lv->mu);
        lv->stop = 1;
        pthread_cond_broadcast(&lv->work);
        pthread_mutex_unlock(&lv->mu);
        pthread_join(lv->thread, NULL);
    }
    kz_store_close(lv->st);
    kz_strmap_free(lv->accounts);
    kz_strmap_free(lv->users);
    kz_strmap_free(lv->names);
    idset_free(&lv->ids);
    kz_buf_free(&lv->blob);
    kz_vec_free(&lv->stack);
    pthread_rwlock_destroy(&lv->dict_lock);
    pthread_mutex_destroy(&lv->mu);
    pthread_cond_destroy(&lv->work);
    pthread_cond_destroy(&lv->answered);
    free(lv);
}

int kz_live_sync(kz_live *lv)
{
    pthread_mutex_lock(&lv->mu);
    uint64_t want = ++lv->sync_asked;
    pthread_cond_broadcast(&lv->work);
    while (lv->sync_done < want)
        pthread_cond_wait(&lv->answered, &lv->mu);
    pthread_mutex_unlock(&lv->mu);
    return KZ_OK;
}

void kz_live_set_max_events(kz_live *lv, size_t n)
{
    atomic_store(&lv->max_events, n ? n : 1);
}

void kz_live_stats_get(kz_live *lv, kz_live_stats *out)
{
    pthread_mutex_lock(&lv->mu);
    *out = lv->stats;
    pthread_mutex_unlock(&lv->mu);
}

void kz_live_result_free(kz_live_result *r)
{
    for (size_t i = 0; i < r->nrejects; i++)
        free(r->rejects[i].message);
    free(r->rejects);
    r->rejects = NULL;
    r->nrejects = 0;
}

/* ---- reading a batch ------------------------------------------------------------------ */

struct rec {
    const char *s;
    size_t n;
    size_t index;
};

typedef KZ_VEC(struct rec) recvec;

static int body_error(const char *body, const char *at, const char *what)
{
    return kz_error_set(KZ_EINVALID, "byte %zu: %s", (size_t)(at - body) + 1, what);
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

/* The end of the JSON value at s[i] (its syntax is checked later, by the
 * record's parser): strings and nesting are followed, scalars run to the next
 * delimiter. 0 when it does not end. */
static size_t value_end(const char *s, size_t n, size_t i)
{
    int depth = 0;
    if (i >= n)
        return 0;
    if (s[i] != '{' && s[i] != '[' && s[i] != '"') {
        while (i < n && s[i] != ',' && s[i] != ']' && s[i] != '}' && s[i] != ' ' && s[i] != '\n' && s[i] != '\r' &&
               s[i] != '\t')
            i++;
        return i;
    }
    for (; i < n; i++) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            if (i >= n)
                return 0;
            if (depth == 0)
                return i + 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return i + 1;
        }
    }
    return 0;
}

/* The elements of the JSON array s[0..n) (s[0] is '['), offsets from body. */
static int split_array(const char *body, const char *s, size_t n, recvec *out, size_t max)
{
    size_t i = skip_ws(s, n, 1);
    if (i < n && s[i] == ']')
        return skip_ws(s, n, i + 1) == n ? KZ_OK : body_error(body, s + i + 1, "text after the array");
    for (;;) {
        size_t end = value_end(s, n, i);
        if (end == 0 || end <= i)
            return body_error(body, s + i, i >= n ? "the array does not end" : "a value that does not end");
        if (out->n >= max)
            return kz_error_set(KZ_ETOOBIG, "more than %zu events in one batch (ingest.max_batch_events)", max);
        struct rec r = { s + i, end - i, out->n };
        if (kz_vec_push(out, r))
            return KZ_ENOMEM;
        i = skip_ws(s, n, end);
        if (i < n && s[i] == ',') {
            i = skip_ws(s, n, i + 1);
            continue;
        }
        if (i < n && s[i] == ']')
            break;
        return body_error(body, s + (i < n ? i : n), "expected ',' or ']' after an event");
    }
    if (skip_ws(s, n, i + 1) != n)
        return body_error(body, s + i + 1, "text after the array");
    return KZ_OK;
}

/* Does the object s[0..n) have a top-level "batch" key? Then *out gets its
 * value's span. */
static int find_batch(const char *s, size_t n, const char **out, size_t *out_n)
{
    size_t i = skip_ws(s, n, 1);
    while (i < n && s[i] == '"') {
        size_t kend = value_end(s, n, i);
        if (!kend)
            return 0;
        int is_batch = kend - i == 7 && memcmp(s + i, "\"batch\"", 7) == 0;
        i = skip_ws(s, n, kend);
        if (i >= n || s[i] != ':')
            return 0;
        i = skip_ws(s, n, i + 1);
        size_t vend = value_end(s, n, i);
        if (!vend)
            return 0;
        if (is_batch && s[i] == '[') {
            *out = s + i;
            *out_n = vend - i;
            return 1;
        }
        i = skip_ws(s, n, vend);
        if (i < n && s[i] == ',')
            i = skip_ws(s, n, i + 1);
    }
    return 0;
}

static int split_body(const char *body, size_t n, kz_live_format f, recvec *out, size_t max)
{
    if (f == KZ_LIVE_NDJSON) {
        size_t line = 0;
        for (size_t i = 0; i < n; line++) {
            const char *nl = memchr(body + i, '\n', n - i);
            size_t end = nl ? (size_t)(nl - body) : n;
            if (skip_ws(body, end, i) < end) {
                if (out->n >= max)
                    return kz_error_set(KZ_ETOOBIG, "more than %zu events in one batch (ingest.max_batch_events)",
                                        max);
                struct rec r = { body + i, end - i, line };
                if (kz_vec_push(out, r))
                    return KZ_ENOMEM;
            }
            i = end + 1;
        }
        return KZ_OK;
    }
    size_t i = skip_ws(body, n, 0);
    if (i >= n)
        return kz_error_set(KZ_EINVALID, "the body is empty: send a JSON array of events");
    if (body[i] == '[')
        return split_array(body, body + i, n - i, out, max);
    if (body[i] != '{')
        return body_error(body, body + i, "expected a JSON array of events, an event object or {\"batch\": [...]}");
    size_t end = value_end(body, n, i);
    if (!end)
        return body_error(body, body + i, "the object does not end");
    if (skip_ws(body, n, end) != n)
        return body_error(body, body + end, "text after the object (for NDJSON, send Content-Type: application/x-ndjson)");
    const char *arr;
    size_t arr_n;
    if (find_batch(body + i, end - i, &arr, &arr_n))
        return split_array(body, arr, arr_n, out, max);
    struct rec r = { body + i, end - i, 0 };
    return kz_vec_push(out, r) ? KZ_ENOMEM : KZ_OK;
}

/* What validating one batch needs. */
struct work {
    kz_live *lv;
    kz_ndjson top, ctx, props;
    kz_vctx vctx;
    const kz_import_schema *sc;
    kz_time now;
    int unknown_account; /* the last event was refused for an account not known */
};

static const kz_jpair *pair_of(const kz_ndjson *p, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < p->n; i++)
        if (p->pairs[i].key_len == n && memcmp(p->pairs[i].key, key, n) == 0)
            return &p->pairs[i];
    return NULL;
}

static kz_rawval raw_of(const kz_jpair *p)
{
    kz_rawval v = { KZ_JNULL, NULL, 0 };
    if (p) {
        v.type = p->type;
        v.s = p->val;
        v.n = p->val_len;
    }
    return v;
}

/* The fields of a "track" payload; *field names the key at fault. */
static int read_track(struct work *w, kz_rawval *vals, const char **field)
{
    const kz_jpair *type = pair_of(&w->top, "type");
    if (type && !(type->type == KZ_JSTRING && type->val_len == 5 && memcmp(type->val, "track", 5) == 0)) {
        *field = "type";
        if (type->type != KZ_JSTRING)
            return kz_error_set(KZ_EINVALID, "expected \"track\", found a JSON %s", kz_jtype_name(type->type));
        return kz_error_set(KZ_EINVALID, "only track calls carry events, not '%.*s'",
                            (int)(type->val_len > 40 ? 40 : type->val_len), type->val);
    }
    const kz_jpair *ts = pair_of(&w->top, "timestamp");
    if (!ts || ts->type == KZ_JNULL)
        ts = pair_of(&w->top, "originalTimestamp");
    vals[F_TS] = raw_of(ts);
    vals[F_EVENT] = raw_of(pair_of(&w->top, "event"));
    const kz_jpair *user = pair_of(&w->top, "userId");
    if (!user || user->type == KZ_JNULL || (user->type == KZ_JSTRING && user->val_len == 0))
        user = pair_of(&w->top, "anonymousId");
    vals[F_USER] = raw_of(user);
    vals[F_EVENT_ID] = raw_of(pair_of(&w->top, "messageId"));
    const kz_jpair *props = pair_of(&w->top, "properties");
    vals[F_PROPS] = raw_of(props);
    const kz_jpair *ctx = pair_of(&w->top, "context");
    if (ctx && ctx->type == KZ_JOBJECT) {
        if (kz_ndjson_parse(&w->ctx, ctx->val, ctx->val_len)) {
            *field = "context";
            return KZ_EINVALID;
        }
        const kz_jpair *g = pair_of(&w->ctx, "groupId");
        if (g && g->type != KZ_JNULL)
            vals[F_ACCOUNT] = raw_of(g);
    }
    if (props && props->type == KZ_JOBJECT) {
        if (kz_ndjson_parse(&w->props, props->val, props->val_len)) {
            *field = "properties";
            return KZ_EINVALID;
        }
        if (vals[F_ACCOUNT].type == KZ_JNULL) {
            const kz_jpair *a = pair_of(&w->props, "account_id");
            if (!a || a->type == KZ_JNULL)
                a = pair_of(&w->props, "groupId");
            vals[F_ACCOUNT] = raw_of(a);
        }
        const kz_jpair *v = pair_of(&w->props, "value");
        if (v && v->type == KZ_JNUMBER)
            vals[F_VALUE] = raw_of(v);
    } else if (props && props->type != KZ_JNULL) {
        *field = "properties";
        return kz_error_set(KZ_EINVALID, "expected a JSON object, found a JSON %s", kz_jtype_name(props->type));
    }
    if (vals[F_ACCOUNT].type == KZ_JNULL) {
        *field = "context.groupId";
        return kz_error_set(KZ_EINVALID, "no account: give context.groupId, or properties.account_id");
    }
    return KZ_OK;
}

/* The fields of an event in Kizuna's own shape (the keys of the import). */
static int read_own(struct work *w, kz_rawval *vals, const char **field)
{
    for (size_t i = 0; i < w->top.n; i++) {
        const kz_jpair *p = &w->top.pairs[i];
        const kz_input_field *f = kz_schema_field(w->sc, p->key, p->key_len);
        if (!f) {
            *field = NULL;
            return kz_error_set(KZ_EINVALID, "unknown key '%.*s' (the keys are ts, account_id, event, user_id, value, event_id, properties)",
                                (int)(p->key_len > 40 ? 40 : p->key_len), p->key);
        }
        vals[f - w->sc->fields] = raw_of(p);
    }
    return KZ_OK;
}

/* The dictionary id of a user or event name, or a new key of the batch. */
static int key_id(struct work *w, struct pend *p, kz_dict d, const kz_input_field *f, const kz_rawval *v,
                  uint32_t account, uint32_t *out)
{
    kz_strmap *stored = d == KZ_DICT_USERS ? w->lv->users : w->lv->names;
    if ((v->type == KZ_JSTRING || v->type == KZ_JNUMBER) && v->s) {
        int64_t id = kz_strmap_get(stored, v->s, v->n);
        if (id < 0)
            id = kz_strmap_get(p->newkeys[d], v->s, v->n);
        if (id >= 0) {
            *out = (uint32_t)id;
            return KZ_OK;
        }
    }
    kz_value val;
    int rc = kz_validate(&w->vctx, f, v, &val);
    if (rc)
        return rc;
    if (d == KZ_DICT_EVENT_NAMES && w->lv->names_max + p->new_names >= MAX_NAMES)
        return kz_error_set(KZ_ETOOBIG, "more than %u distinct event names", MAX_NAMES);
    if (p->keys.n >= PROV - 1)
        return kz_error_set(KZ_ETOOBIG, "too many new users in one batch");
    struct nkey k = { d, account, p->keybytes.len, val.n };
    uint32_t idx = (uint32_t)p->keys.n;
    if ((rc = kz_buf_append(&p->keybytes, val.s, val.n)) || (rc = kz_vec_push(&p->keys, k)) ||
        (rc = kz_strmap_put(p->newkeys[d], val.s, val.n, PROV | idx)))
        return rc == KZ_EINVALID ? KZ_ERROR : rc;
    p->new_names += d == KZ_DICT_EVENT_NAMES;
    *out = PROV | idx;
    return KZ_OK;
}

/* Validates one record into p; KZ_EINVALID (or KZ_ETOOBIG) with *field and
 * the reason for a bad event, other errors for failures. */
static int read_event(struct work *w, struct pend *p, const struct rec *r, const char **field)
{
    kz_rawval vals[F_N];
    const kz_input_field *fs = w->sc->fields;
    kz_value v, id = kz_vnull(), props = kz_vnull();
    int rc;
    for (int i = 0; i < F_N; i++)
        vals[i] = (kz_rawval){ KZ_JNULL, NULL, 0 };
    *field = NULL;
    w->unknown_account = 0;
    if ((rc = kz_ndjson_parse(&w->top, r->s, r->n)))
        return rc;
    int own = pair_of(&w->top, "ts") || pair_of(&w->top, "account_id") || pair_of(&w->top, "user_id") ||
              pair_of(&w->top, "event_id");
    int track = !own;
    if ((rc = own ? read_own(w, vals, field) : read_track(w, vals, field)))
        return rc;
    kz_time ts = w->now;
    if (!(track && vals[F_TS].type == KZ_JNULL)) { /* a track call without a time happened when it arrived */
        if ((rc = kz_validate(&w->vctx, &fs[F_TS], &vals[F_TS], &v))) {
            *field = track ? "timestamp" : fs[F_TS].name;
            return rc;
        }
        ts = v.i;
    }
    w->unknown_account = 0;
    if ((rc = kz_validate(&w->vctx, &fs[F_ACCOUNT], &vals[F_ACCOUNT], &v))) {
        *field = track ? "context.groupId" : fs[F_ACCOUNT].name;
        w->unknown_account = vals[F_ACCOUNT].type == KZ_JSTRING || vals[F_ACCOUNT].type == KZ_JNUMBER;
        return rc;
    }
    uint32_t account = (uint32_t)v.i, user = 0, event;
    if ((rc = key_id(w, p, KZ_DICT_EVENT_NAMES, &fs[F_EVENT], &vals[F_EVENT], 0, &event))) {
        *field = fs[F_EVENT].name;
        return rc;
    }
    if (vals[F_USER].type != KZ_JNULL && !(vals[F_USER].type == KZ_JSTRING && vals[F_USER].n == 0) &&
        (rc = key_id(w, p, KZ_DICT_USERS, &fs[F_USER], &vals[F_USER], account, &user))) {
        *field = track ? "userId" : fs[F_USER].name;
        return rc;
    }
    double value = NAN;
    if (vals[F_VALUE].type != KZ_JNULL) {
        if ((rc = kz_validate(&w->vctx, &fs[F_VALUE], &vals[F_VALUE], &v))) {
            *field = track ? "properties.value" : fs[F_VALUE].name;
            return rc;
        }
        if (v.kind == KZ_VREAL)
            value = v.d;
        else if (v.kind == KZ_VINT)
            value = (double)v.i;
    }
    if ((rc = kz_validate(&w->vctx, &fs[F_EVENT_ID], &vals[F_EVENT_ID], &id))) {
        *field = track ? "messageId" : fs[F_EVENT_ID].name;
        return rc;
    }
    if ((rc = kz_validate(&w->vctx, &fs[F_PROPS], &vals[F_PROPS], &props))) {
        *field = fs[F_PROPS].name;
        return rc;
    }
    if (id.kind == KZ_VTEXT) {
        if (!p->idh && !(p->idh = calloc(p->ev.cap, sizeof *p->idh)))
            return kz_error_oom();
        id_hash(w->lv->key, id.s, id.n, p->idh[p->ev.n]);
    }
    rc = kz_evcols_append(&p->ev, ts, account, user, event, value, id.kind == KZ_VTEXT ? id.s : NULL,
                          id.kind == KZ_VTEXT ? id.n : 0, props.kind == KZ_VTEXT ? props.s : NULL,
                          props.kind == KZ_VTEXT ? props.n : 0);
    return rc == KZ_ETOOBIG ? KZ_ERROR : rc;
}

static int add_reject(kz_live_result *r, size_t index, const char *field, const char *msg)
{
    r->rejected++;
    if (r->nrejects >= KZ_LIVE_MAX_REJECTS)
        return KZ_OK;
    if (!r->rejects) {
        r->rejects = calloc(KZ_LIVE_MAX_REJECTS, sizeof *r->rejects);
        if (!r->rejects)
            return kz_error_oom();
    }
    char *m = strdup(msg);
    if (!m)
        return kz_error_oom();
    r->rejects[r->nrejects].index = index;
    r->rejects[r->nrejects].field = field;
    r->rejects[r->nrejects].message = m;
    r->nrejects++;
    return KZ_OK;
}

/* Reads and validates a batch into p (p->r says what became of each event). */
static int read_batch(kz_live *lv, const char *body, size_t n, kz_live_format f, struct pend *p)
{
    recvec recs = { 0 };
    struct work w;
    kz_live_result *r = &p->r;
    int rc, locked = 0;
    memset(&w, 0, sizeof w);
    w.lv = lv;
    w.sc = kz_import_schema_of(KZ_IMP_EVENTS);
    w.now = kz_now();
    w.vctx.max_field = lv->o.max_field;
    kz_ndjson_init(&w.top, lv->o.max_field * 4);
    kz_ndjson_init(&w.ctx, lv->o.max_field);
    kz_ndjson_init(&w.props, lv->o.max_field);
    kz_buf_init(&p->keybytes, KZ_BUF_UNLIMITED);
    if ((rc = split_body(body, n, f, &recs, atomic_load(&lv->max_events))))
        goto done;
    r->received = recs.n;
    p->newkeys[0] = kz_strmap_new(64);
    p->newkeys[1] = kz_strmap_new(16);
    if (!p->newkeys[0] || !p->newkeys[1] || kz_evcols_reserve(&p->ev, recs.n ? recs.n : 1)) {
        rc = kz_error_oom();
        goto done;
    }
    for (int attempt = 0;; attempt++) {
        int unknown_account = 0;
        pthread_rwlock_rdlock(&lv->dict_lock);
        locked = 1;
        w.vctx.accounts = lv->accounts;
        for (size_t i = 0; i < recs.n; i++) {
            const char *field = NULL;
            rc = read_event(&w, p, &recs.v[i], &field);
            if (rc == KZ_EINVALID || (rc == KZ_ETOOBIG && field)) {
                unknown_account |= w.unknown_account;
                if (field)
                    kz_error_prefix(rc, "%s", field); /* a message that stands on its own */
                if ((rc = add_reject(r, recs.v[i].index, field, kz_error_msg())))
                    goto done;
                continue;
            }
            if (rc)
                goto done;
        }
        pthread_rwlock_unlock(&lv->dict_lock);
        locked = 0;
        if (!unknown_account || attempt > 0)
            break;
        /* an account this writer has not seen may have been added since it
         * last looked (an import, the API): look again, then read the batch again */
        kz_live_sync(lv);
        size_t received = r->received;
        kz_live_result_free(r);
        memset(r, 0, sizeof *r);
        r->received = received;
        pend_reset(p);
        if (!p->newkeys[0] || !p->newkeys[1]) {
            rc = kz_error_oom();
            goto done;
        }
    }
done:
    if (locked)
        pthread_rwlock_unlock(&lv->dict_lock);
    if (r->rejected) {
        pthread_mutex_lock(&lv->mu);
        lv->stats.rejected += r->rejected;
        pthread_mutex_unlock(&lv->mu);
    }
    kz_vec_free(&recs);
    kz_ndjson_free(&w.top);
    kz_ndjson_free(&w.ctx);
    kz_ndjson_free(&w.props);
    return rc;
}

int kz_live_submit(kz_live *lv, const char *body, size_t n, kz_live_format f, int strict, kz_live_done done,
                   void *ctx, kz_live_result *now, int *queued)
{
    struct pend *p = calloc(1, sizeof *p);
    *queued = 0;
    memset(now, 0, sizeof *now);
    if (!p)
        return kz_error_oom();
    int rc = read_batch(lv, body, n, f, p);
    if (rc || p->ev.n == 0 || (p->r.rejected && strict)) {
        /* answered now: the caller reads the result (nothing stored) */
        *now = p->r;
        memset(&p->r, 0, sizeof p->r);
        pend_free(p);
        free(p);
        return rc;
    }
    p->done = done;
    p->ctx = ctx;
    pthread_mutex_lock(&lv->mu);
    if (lv->tail)
        lv->tail->next = p;
    else
        lv->head = p;
    lv->tail = p;
    lv->stats.batches++;
    pthread_cond_signal(&lv->work);
    pthread_mutex_unlock(&lv->mu);
    *queued = 1;
    return KZ_OK;
}
