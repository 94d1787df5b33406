/*
 * import_events.c - the events import: dictionary-encode, block, de-duplicate.
 *
 * Events are validated like any row, then encoded as dictionary ids (account,
 * user, event name) into a column block of import.block_events events; a full
 * block is sorted by time, de-duplicated against the events stored before
 * this import began, compressed and stored as one BLOB (store/evblock.h).
 *
 * De-duplication (docs/import.md): an event with an event_id is the same event
 * as a stored one with that id, wherever it is; an event without one is the
 * same as a stored one with equal time, account, user, name, value and
 * properties. Identical events inside one file are all kept (two clicks in the
 * same second are two events); re-importing a file adds nothing, because each
 * incoming event is matched with a different stored one.
 *
 * Threads: a big file is read by two parts at once, this thread the first half
 * and a second thread the rest (from a line start near the middle); a writer
 * thread sorts, de-duplicates, compresses and stores finished blocks meanwhile.
 * - The second part is only a guess until the first arrives exactly at its
 *   starting point at a record boundary; if a record of the first part runs
 *   across it (a quoted field with line breaks), the guess is dropped and the
 *   first part simply reads on to the end. The result is the same as reading
 *   the file in one pass, always.
 * - Dictionary ids follow the file order: the first part numbers new users and
 *   event names as it meets them; the second gives provisional numbers, mapped
 *   to final ones when the first has finished, before its blocks are written.
 *   Both only read the dictionaries loaded at the start.
 * - The second part holds its rejects back, so that they are reported after the
 *   first part's, in file order. It numbers lines from where it started; the
 *   first part, stopping exactly there, knows what to add.
 * - The second part's blocks wait in memory for the merge, so it stops after a
 *   budget of them (about 1 GiB) at a record boundary; the first part's reader
 *   then goes on from there, alone, after the merge.
 * - Only the writer touches the store while the parts run (new dictionary
 *   entries are written after it has finished), so the store handle is never
 *   used by two threads at once. Blocks are written in file order.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/vec.h"
#include "core/text.h"
#include "ingest/import_internal.h"
#include "store/evblock.h"

/* The order of the fields in schema.c's event table. */
enum { F_TS, F_ACCOUNT, F_EVENT, F_USER, F_VALUE, F_EVENT_ID, F_PROPS, F_N };

/* Events stored before this import, loaded on demand for de-duplication. */
struct existing {
    kz_block_meta *pre;     /* blocks that existed when the import began */
    size_t npre;
    unsigned char *loaded;  /* per pre block: decoded into ev */
    kz_evcols ev;           /* decoded stored events */
    uint64_t *hash;         /* identity of ev[i] */
    unsigned char *used;    /* ev[i] already matched by an incoming event */
    uint32_t *table;        /* open addressing over id-less ev entries; UINT32_MAX empty */
    size_t mask;
    size_t ncontent;
    kz_strmap *ids;         /* event_id -> 1, stored and imported so far */
    int ids_loaded;
};

/* A dictionary entry first met by a part, in the order met. */
struct newkey {
    kz_dict dict;
    uint32_t id;      /* final, or provisional (PROVISIONAL bit) in the second part */
    uint32_t account;
    size_t off, len;  /* in the part's key bytes */
};

#define PROVISIONAL 0x80000000u

struct evimp;

/* One reading thread's state. */
struct part {
    struct evimp *e;
    kz_src *src;            /* the first part reads the import's source */
    kz_src own;             /* the second part's source */
    int second;
    uint64_t start;         /* second part: its first byte */
    uint64_t stop_at;       /* first part: the second part's start (0: to the end) */
    size_t hold;            /* second part: blocks it may hold; it stops at the next record after */
    int stopped_early;      /* second part: stopped for the budget at end_at / end_line */
    uint64_t end_at;
    int64_t end_line;
    int crossed;            /* first part: a record ran across stop_at */
    kz_strmap *new_users, *new_names;
    KZ_VEC(struct newkey) keys;
    kz_buf keybytes;
    uint32_t nprov[2];      /* second part: provisional ids handed out per dictionary */
    kz_evcols *cur;
    KZ_VEC(kz_evcols *) held; /* second part: finished blocks, written after the merge */
    _Atomic uint64_t bytes; /* second part: progress, read by the first */
    _Atomic int64_t rows;
    _Atomic int stop;       /* tell the second part to stop early */
    int rc;
    char msg[1024];
    pthread_t thread;
    int started;
};

/* The writer thread and its queue. */
struct writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    kz_evcols **queue;      /* blocks to write, in order */
    size_t qhead, qlen, qcap;
    kz_evcols **spare;      /* written blocks, emptied, for reuse */
    size_t nspare, sparecap;
    int stop;               /* no more blocks will come */
    int rc;                 /* the writer's first error */
    char msg[1024];         /* and its message (errors are per thread) */
    int started;
};

struct evimp {
    kz_imp *im;
    kz_strmap *users, *names;   /* the dictionaries as stored when the import began */
    uint32_t users_max, names_max;
    struct existing ex;
    kz_buf blob;
    struct writer w;
    struct part a, b;
};

static int load_block(struct evimp *e, size_t k)
{
    struct existing *x = &e->ex;
    if (x->loaded[k])
        return KZ_OK;
    kz_buf_reset(&e->blob);
    int rc = kz_store_block_get(e->im->st, x->pre[k].id, &e->blob);
    if (!rc)
        rc = kz_evblock_decode(&x->ev, e->blob.data, e->blob.len);
    if (rc)
        return rc;
    x->loaded[k] = 1;
    return KZ_OK;
}

/* Makes room and indexes ev[from..n) for content matching and id lookups. */
static int index_existing(struct existing *x, size_t from)
{
    size_t n = x->ev.n;
    uint64_t *nh = realloc(x->hash, (n ? n : 1) * sizeof *nh);
    if (!nh)
        return kz_error_oom();
    x->hash = nh;
    unsigned char *nu = realloc(x->used, n ? n : 1);
    if (!nu)
        return kz_error_oom();
    x->used = nu;
    memset(x->used + from, 0, n - from);
    size_t content = 0;
    for (size_t i = from; i < n; i++) {
        size_t len;
        x->hash[i] = kz_evcols_identity(&x->ev, i);
        if (!kz_strcol_get(&x->ev.event_id, i, &len))
            content++;
    }
    if ((x->ncontent + content) * 2 > x->mask + 1 || !x->table) {
        size_t cap = 1024;
        while (cap < (x->ncontent + content) * 2 + 2)
            cap *= 2;
        uint32_t *t = malloc(cap * sizeof *t);
        if (!t)
            return kz_error_oom();
        memset(t, 0xff, cap * sizeof *t);
        free(x->table);
        x->table = t;
        x->mask = cap - 1;
        from = 0; /* re-index everything into the new table */
        x->ncontent = 0;
    }
    if (n > UINT32_MAX)
        return kz_error_set(KZ_ETOOBIG, "too many stored events overlap this import");
    for (size_t i = from; i < n; i++) {
        size_t len;
        if (kz_strcol_get(&x->ev.event_id, i, &len))
            continue;
        size_t s = (size_t)x->hash[i] & x->mask;
        while (x->table[s] != UINT32_MAX)
            s = (s + 1) & x->mask;
        x->table[s] = (uint32_t)i;
        x->ncontent++;
    }
    return KZ_OK;
}

static int same_value(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

static int same_event(const kz_evcols *a, size_t i, const kz_evcols *b, size_t j)
{
    size_t na, nb;
    if (a->ts[i] != b->ts[j] || a->account[i] != b->account[j] || a->user[i] != b->user[j] ||
        a->event[i] != b->event[j] || !same_value(a->value[i], b->value[j]))
        return 0;
    const char *pa = kz_strcol_get(&a->props, i, &na);
    const char *pb = kz_strcol_get(&b->props, j, &nb);
    return na == nb && (na == 0 || memcmp(pa, pb, na) == 0);
}

/* Loads every stored event_id (once), for imports that carry ids. */
static int load_ids(struct evimp *e)
{
    struct existing *x = &e->ex;
    if (x->ids_loaded)
        return KZ_OK;
    size_t before = x->ev.n;
    for (size_t k = 0; k < x->npre; k++) {
        int rc = load_block(e, k);
        if (rc)
            return rc;
    }
    int rc = index_existing(x, before);
    if (rc)
        return rc;
    for (size_t i = 0; i < x->ev.n; i++) {
        size_t len;
        const char *id = kz_strcol_get(&x->ev.event_id, i, &len);
        if (id && kz_strmap_put(x->ids, id, len, 1))
            return KZ_ENOMEM;
    }
    x->ids_loaded = 1;
    return KZ_OK;
}

/* Marks in keep[] which events of the (sorted) block c are new. */
static int dedup(struct evimp *e, kz_evcols *c, unsigned char *keep, int64_t *dups)
{
    struct existing *x = &e->ex;
    int has_ids = c->event_id.off != NULL;
    int rc;

    memset(keep, 1, c->n);
    if (has_ids && (rc = load_ids(e)))
        return rc;
    if (x->npre > 0) {
        /* stored blocks that overlap this block's time span */
        size_t before = x->ev.n;
        kz_time lo = c->ts[0], hi = c->ts[c->n - 1];
        for (size_t k = 0; k < x->npre; k++)
            if (x->pre[k].max_ts >= lo && x->pre[k].min_ts <= hi && (rc = load_block(e, k)))
                return rc;
        if (x->ev.n > before && (rc = index_existing(x, before)))
            return rc;
    }
    for (size_t i = 0; i < c->n; i++) {
        size_t len;
        const char *id = kz_strcol_get(&c->event_id, i, &len);
        if (id) {
            if (kz_strmap_get(x->ids, id, len) >= 0) {
                keep[i] = 0;
                (*dups)++;
            } else if (kz_strmap_put(x->ids, id, len, 1)) {
                return KZ_ENOMEM;
            }
            continue;
        }
        if (!x->table || x->ncontent == 0)
            continue;
        uint64_t h = kz_evcols_identity(c, i);
        for (size_t s = (size_t)h & x->mask; x->table[s] != UINT32_MAX; s = (s + 1) & x->mask) {
            uint32_t j = x->table[s];
            if (x->hash[j] == h && !x->used[j] && same_event(c, i, &x->ev, j)) {
                x->used[j] = 1;
                keep[i] = 0;
                (*dups)++;
                break;
            }
        }
    }
    return KZ_OK;
}

/* Keeps the events whose keep[] is set, in order. */
static int compact(kz_evcols *c, const unsigned char *keep)
{
    kz_evcols out;
    memset(&out, 0, sizeof out);
    int rc = kz_evcols_reserve(&out, c->n);
    for (size_t i = 0; i < c->n && !rc; i++) {
        size_t nid, np;
        const char *id, *props;
        if (!keep[i])
            continue;
        id = kz_strcol_get(&c->event_id, i, &nid);
        props = kz_strcol_get(&c->props, i, &np);
        rc = kz_evcols_append(&out, c->ts[i], c->account[i], c->user[i], c->event[i], c->value[i], id, nid, props, np);
    }
    if (rc) {
        kz_evcols_free(&out);
        return rc;
    }
    kz_evcols_free(c);
    *c = out;
    return KZ_OK;
}

/* Sorts, de-duplicates, encodes and stores block c (the writer thread). */
static int write_block(struct evimp *e, kz_evcols *c)
{
    kz_imp *im = e->im;
    int64_t dups = 0;
    int rc;

    if (c->n == 0)
        return KZ_OK;
    if ((rc = kz_evcols_sort(c)))
        return rc;
    if (e->ex.npre > 0 || c->event_id.off) {
        unsigned char *keep = malloc(c->n);
        if (!keep)
            return kz_error_oom();
        rc = dedup(e, c, keep, &dups);
        if (!rc && dups)
            rc = compact(c, keep);
        free(keep);
        if (rc)
            return rc;
        im->res->unchanged += dups;
    }
    if (c->n > 0) {
        kz_block_meta m;
        memset(&m, 0, sizeof m);
        m.min_ts = c->ts[0];
        m.max_ts = c->ts[c->n - 1];
        m.n_events = (int64_t)c->n;
        m.n_ids = kz_evcols_count_ids(c);
        kz_buf_reset(&e->blob);
        rc = kz_evblock_encode(c, &e->blob, 1);
        if (!rc)
            rc = kz_store_block_put(im->st, &m, e->blob.data, e->blob.len, NULL);
        if (rc)
            return rc;
        im->res->inserted += (int64_t)c->n;
    }
    size_t cap = c->cap;
    kz_evcols_clear(c);
    return kz_evcols_reserve(c, cap);
}

static void *writer_main(void *arg)
{
    struct evimp *e = arg;
    struct writer *w = &e->w;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->qlen == 0 && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->qlen == 0)
            break; /* stopped, nothing left */
        kz_evcols *c = w->queue[w->qhead];
        pthread_mutex_unlock(&w->mu);
        int rc = w->rc ? KZ_OK : write_block(e, c);
        pthread_mutex_lock(&w->mu);
        if (rc && !w->rc) {
            w->rc = rc;
            snprintf(w->msg, sizeof w->msg, "%s", kz_error_msg());
        }
        kz_evcols_clear(c);
        w->qhead = (w->qhead + 1) % w->qcap;
        w->qlen--;
        if (w->nspare < w->sparecap)
            w->spare[w->nspare++] = c;
        else {
            kz_evcols_free(c);
            free(c);
        }
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Queues block c for writing; with limit > 0, first waits until fewer than
 * limit blocks are waiting (so that reading never runs far ahead of writing).
 * The writer owns c from here on. Returns the writer's error, if any. */
static int submit(struct evimp *e, kz_evcols *c, size_t limit)
{
    struct writer *w = &e->w;
    int rc = KZ_OK;
    pthread_mutex_lock(&w->mu);
    while (limit && w->qlen >= limit && !w->rc)
        pthread_cond_wait(&w->cv, &w->mu);
    if (!w->rc && w->qlen == w->qcap) {
        size_t ncap = w->qcap ? w->qcap * 2 : 8;
        kz_evcols **nq = malloc(ncap * sizeof *nq);
        if (!nq) {
            rc = kz_error_oom();
        } else {
            for (size_t i = 0; i < w->qlen; i++)
                nq[i] = w->queue[(w->qhead + i) % w->qcap];
            free(w->queue);
            w->queue = nq;
            w->qhead = 0;
            w->qcap = ncap;
        }
    }
    if (!rc && !w->rc) {
        w->queue[(w->qhead + w->qlen) % w->qcap] = c;
        w->qlen++;
        pthread_cond_broadcast(&w->cv);
        c = NULL;
    }
    if (!rc && w->rc)
        rc = kz_error_set(w->rc, "%s", w->msg);
    pthread_mutex_unlock(&w->mu);
    if (c) {
        kz_evcols_free(c);
        free(c);
    }
    return rc;
}

/* An empty block to fill: a spare one or a new one. */
static int take_block(struct evimp *e, kz_evcols **out)
{
    struct writer *w = &e->w;
    kz_evcols *c = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->nspare)
        c = w->spare[--w->nspare];
    pthread_mutex_unlock(&w->mu);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c || kz_evcols_reserve(c, e->im->o->block_events)) {
            if (c)
                kz_evcols_free(c);
            free(c);
            return kz_error_oom();
        }
    }
    *out = c;
    return KZ_OK;
}

/* Waits until the writer has written everything and stops it. */
static int writer_finish(struct evimp *e)
{
    struct writer *w = &e->w;
    if (!w->started)
        return KZ_OK;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    w->started = 0;
    if (w->rc)
        kz_error_set(w->rc, "%s", w->msg);
    return w->rc;
}

static void writer_free(struct writer *w)
{
    for (size_t i = 0; i < w->qlen; i++) {
        kz_evcols *c = w->queue[(w->qhead + i) % w->qcap];
        kz_evcols_free(c);
        free(c);
    }
    for (size_t i = 0; i < w->nspare; i++) {
        kz_evcols_free(w->spare[i]);
        free(w->spare[i]);
    }
    free(w->queue);
    free(w->spare);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

/* ---- reading parts ---------------------------------------------------------------- */

static int part_init(struct part *p, struct evimp *e, int second)
{
    memset(p, 0, sizeof *p);
    p->e = e;
    p->second = second;
    kz_buf_init(&p->keybytes, KZ_BUF_UNLIMITED);
    p->new_users = kz_strmap_new(1024);
    p->new_names = kz_strmap_new(64);
    if (!p->new_users || !p->new_names)
        return KZ_ENOMEM;
    if (second) {
        kz_ndjson_init(&p->own.json, e->im->o->max_record);
        kz_buf_init(&p->own.kept, KZ_BUF_UNLIMITED);
        p->own.held = 1;
        p->src = &p->own;
    } else {
        p->src = &e->im->src;
    }
    return KZ_OK;
}

static void part_free(struct part *p)
{
    kz_strmap_free(p->new_users);
    kz_strmap_free(p->new_names);
    kz_vec_free(&p->keys);
    kz_buf_free(&p->keybytes);
    if (p->cur) {
        kz_evcols_free(p->cur);
        free(p->cur);
    }
    for (size_t i = 0; i < p->held.n; i++) {
        if (!p->held.v[i])
            continue; /* handed to the writer */
        kz_evcols_free(p->held.v[i]);
        free(p->held.v[i]);
    }
    kz_vec_free(&p->held);
    if (p->second)
        kz_src_free(&p->own);
}

/* Remembers a dictionary entry first met by this part. */
static int remember(struct part *p, kz_dict d, uint32_t id, uint32_t account, const char *key, size_t n)
{
    struct newkey k = { d, id, account, p->keybytes.len, n };
    int rc = kz_buf_append(&p->keybytes, key, n);
    return rc ? rc : kz_vec_push(&p->keys, k);
}

/* The dictionary id of key: stored ones from the shared (read-only) maps, new
 * ones from this part's own map, validated on first sight. 0 with the id, or
 * KZ_EINVALID with the reason. */
static int dict_id(struct part *p, kz_dict d, const kz_input_field *f, const kz_rawval *v, uint64_t h,
                   uint32_t account, uint32_t *out)
{
    struct evimp *e = p->e;
    kz_strmap *base = d == KZ_DICT_USERS ? e->users : e->names;
    kz_strmap *mine = d == KZ_DICT_USERS ? p->new_users : p->new_names;
    if ((v->type == KZ_JSTRING || v->type == KZ_JNUMBER) && v->s) {
        int64_t id = kz_strmap_get_h(base, v->s, v->n, h);
        if (id < 0)
            id = kz_strmap_get_h(mine, v->s, v->n, h);
        if (id >= 0) {
            *out = (uint32_t)id;
            return KZ_OK;
        }
    }
    kz_value val;
    int rc = kz_validate(&e->im->vctx, f, v, &val); /* checks the text on first sight only */
    if (rc)
        return rc;
    uint32_t id;
    if (p->second) {
        if (p->nprov[d] >= PROVISIONAL - 1)
            return kz_error_set(KZ_ETOOBIG, "too many distinct %s", d == KZ_DICT_USERS ? "users" : "event names");
        id = PROVISIONAL | ++p->nprov[d];
    } else {
        uint32_t *max = d == KZ_DICT_USERS ? &e->users_max : &e->names_max;
        if (*max >= PROVISIONAL - 1)
            return kz_error_set(KZ_ETOOBIG, "too many distinct %s", d == KZ_DICT_USERS ? "users" : "event names");
        id = ++*max;
    }
    rc = remember(p, d, id, account, val.s, val.n);
    if (!rc)
        rc = kz_strmap_put(mine, val.s, val.n, id);
    if (rc)
        return rc == KZ_EINVALID ? KZ_ERROR : rc; /* not the row's fault */
    *out = id;
    return KZ_OK;
}

/* A plain non-negative integer without sign, point or exponent converts
 * exactly and fast; everything else takes the general parser. */
static int parse_value(const kz_rawval *v, double *out)
{
    if (v->n > 0 && v->n <= 15) {
        int64_t x = 0;
        size_t i = 0;
        while (i < v->n && v->s[i] >= '0' && v->s[i] <= '9')
            x = x * 10 + (v->s[i++] - '0');
        if (i == v->n && (v->n == 1 || v->s[0] != '0')) {
            *out = (double)x;
            return KZ_OK;
        }
    }
    if (v->type == KZ_JBOOL)
        return kz_error_set(KZ_EINVALID, "expected a number, found a JSON boolean");
    return kz_parse_double(out, v->s, v->n);
}

/* A finished block: the first part queues it, the second holds it. */
static int block_full(struct part *p)
{
    if (!p->second) {
        int rc = submit(p->e, p->cur, 2);
        p->cur = NULL;
        return rc ? rc : take_block(p->e, &p->cur);
    }
    int rc = kz_vec_push(&p->held, p->cur);
    if (rc)
        return rc;
    p->cur = NULL;
    return take_block(p->e, &p->cur);
}

/* Reads this part's records into blocks. */
static int parse(struct part *p)
{
    struct evimp *e = p->e;
    kz_imp *im = e->im;
    kz_src *src = p->src;
    const kz_input_field *fs = im->sc->fields;
    kz_rawval vals[F_N];
    int rc = p->cur ? KZ_OK : take_block(e, &p->cur); /* the first part may be called twice */

    while (!rc) {
        const char *raw;
        size_t raw_len;
        uint64_t present;
        kz_value v;
        kz_time ts;
        uint32_t account, user = 0, event;
        double value = NAN;
        const char *field = NULL;

        if (p->stop_at) {
            uint64_t off = kz_csv_offset(src->rd);
            if (off == p->stop_at)
                break; /* exactly where the second part began: it read the rest */
            if (off > p->stop_at) {
                p->crossed = 1; /* the second part started inside a record */
                p->stop_at = 0;
                atomic_store(&e->b.stop, 1);
            }
        }
        if (p->second && p->held.n >= p->hold) {
            /* at a record boundary: the rest is the first part's after the merge */
            p->stopped_early = 1;
            p->end_at = kz_csv_offset(src->rd);
            p->end_line = kz_csv_line(src->rd);
            break;
        }
        rc = kz_imp_next(im, src, vals, &present, &raw, &raw_len);
        if (rc == 0)
            break;
        if (p->second) {
            if ((src->rows & 0xffff) == 0) {
                atomic_store_explicit(&p->bytes, kz_csv_offset(src->rd) - p->start, memory_order_relaxed);
                atomic_store_explicit(&p->rows, src->rows, memory_order_relaxed);
                if (atomic_load(&p->stop))
                    return KZ_OK;
            }
        } else {
            kz_imp_progress(im, 0, atomic_load_explicit(&e->b.bytes, memory_order_relaxed),
                            atomic_load_explicit(&e->b.rows, memory_order_relaxed));
        }
        if (rc == KZ_EINVALID) {
            rc = KZ_OK;
            continue;
        }
        if (rc < 0)
            return rc;
        rc = KZ_OK;
        /* the dictionaries are bigger than the caches: start their loads now and
         * parse the time while they arrive */
        uint64_t h_acc = vals[F_ACCOUNT].s ? kz_strmap_hash(vals[F_ACCOUNT].s, vals[F_ACCOUNT].n) : 0;
        uint64_t h_user = vals[F_USER].s ? kz_strmap_hash(vals[F_USER].s, vals[F_USER].n) : 0;
        uint64_t h_event = vals[F_EVENT].s ? kz_strmap_hash(vals[F_EVENT].s, vals[F_EVENT].n) : 0;
        kz_strmap_prefetch(im->accounts, h_acc);
        kz_strmap_prefetch(e->users, h_user);
        if ((rc = kz_validate(&im->vctx, &fs[F_TS], &vals[F_TS], &v))) {
            field = fs[F_TS].name;
            goto bad;
        }
        ts = v.i;
        int64_t acc = (vals[F_ACCOUNT].type == KZ_JSTRING || vals[F_ACCOUNT].type == KZ_JNUMBER) && vals[F_ACCOUNT].s
                          ? kz_strmap_get_h(im->accounts, vals[F_ACCOUNT].s, vals[F_ACCOUNT].n, h_acc)
                          : -1;
        if (acc < 0) {
            rc = kz_validate(&im->vctx, &fs[F_ACCOUNT], &vals[F_ACCOUNT], &v); /* says why */
            field = fs[F_ACCOUNT].name;
            goto bad;
        }
        account = (uint32_t)acc;
        if ((rc = dict_id(p, KZ_DICT_EVENT_NAMES, &fs[F_EVENT], &vals[F_EVENT], h_event, 0, &event))) {
            field = fs[F_EVENT].name;
            goto bad;
        }
        if (vals[F_USER].type != KZ_JNULL && !(vals[F_USER].type == KZ_JSTRING && vals[F_USER].n == 0) &&
            (rc = dict_id(p, KZ_DICT_USERS, &fs[F_USER], &vals[F_USER], h_user, account, &user))) {
            field = fs[F_USER].name;
            goto bad;
        }
        if (vals[F_VALUE].type != KZ_JNULL && vals[F_VALUE].n > 0 && (rc = parse_value(&vals[F_VALUE], &value))) {
            field = fs[F_VALUE].name;
            goto bad;
        }
        kz_value id = kz_vnull(), props = kz_vnull();
        if ((rc = kz_validate(&im->vctx, &fs[F_EVENT_ID], &vals[F_EVENT_ID], &id))) {
            field = fs[F_EVENT_ID].name;
            goto bad;
        }
        if ((rc = kz_validate(&im->vctx, &fs[F_PROPS], &vals[F_PROPS], &props))) {
            field = fs[F_PROPS].name;
            goto bad;
        }
        rc = kz_evcols_append(p->cur, ts, account, user, event, value, id.s, id.n, props.s, props.n);
        if (!rc && p->cur->n == p->cur->cap)
            rc = block_full(p);
        continue;
    bad:
        if (rc != KZ_EINVALID)
            return rc;
        rc = kz_imp_reject(im, src, raw, raw_len, "%s: %s", field, kz_error_msg());
    }
    if (rc)
        return rc;
    if (p->cur && p->cur->n > 0)
        return block_full(p);
    return KZ_OK;
}

static void *second_main(void *arg)
{
    struct part *p = arg;
    kz_imp *im = p->e->im;
    int rc = kz_csv_open_at(&p->own.rd, im->path, p->start, 1, im->o->max_record);
    if (!rc)
        rc = parse(p);
    if (rc) {
        p->rc = rc;
        snprintf(p->msg, sizeof p->msg, "%s", kz_error_msg());
    }
    return NULL;
}

/* Where a second part could start: the first line start after the middle of
 * the file, or 0 when the file is too small to split or has no line end there. */
static uint64_t split_point(kz_imp *im)
{
    uint64_t size = kz_csv_size(im->src.rd);
    uint64_t min = im->o->parallel_min;
    if (min == 0 || size < min || size < 1024 || strcmp(im->path, "-") == 0)
        return 0;
    FILE *f = fopen(im->path, "rb");
    if (!f)
        return 0;
    uint64_t mid = size / 2, at = 0;
    char buf[65536];
    if (fseeko(f, (off_t)mid, SEEK_SET) == 0) {
        size_t got = fread(buf, 1, sizeof buf, f);
        const char *nl = memchr(buf, '\n', got);
        if (nl && mid + (uint64_t)(nl - buf) + 1 < size)
            at = mid + (uint64_t)(nl - buf) + 1;
    }
    fclose(f);
    return at;
}

/* After both parts: gives the second part's new keys their final ids in file
 * order, rewrites its blocks with them, and queues the blocks. */
static int merge_second(struct evimp *e)
{
    struct part *a = &e->a, *b = &e->b;
    uint32_t *remap[2] = { NULL, NULL };
    int rc = KZ_OK;
    for (int d = 0; d < 2; d++) {
        remap[d] = calloc((size_t)b->nprov[d] + 1, sizeof *remap[d]);
        if (!remap[d]) {
            rc = kz_error_oom();
            goto done;
        }
    }
    for (size_t i = 0; i < b->keys.n && !rc; i++) {
        struct newkey *k = &b->keys.v[i];
        const char *key = b->keybytes.data + k->off;
        kz_strmap *amap = k->dict == KZ_DICT_USERS ? a->new_users : a->new_names;
        int64_t have = kz_strmap_get(amap, key, k->len);
        uint32_t final;
        if (have >= 0) {
            final = (uint32_t)have; /* the first part met it too, earlier in the file */
        } else {
            uint32_t *max = k->dict == KZ_DICT_USERS ? &e->users_max : &e->names_max;
            final = ++*max;
            rc = remember(a, k->dict, final, k->account, key, k->len);
            if (!rc)
                rc = kz_strmap_put(amap, key, k->len, final);
        }
        remap[k->dict][k->id & ~PROVISIONAL] = final;
    }
    for (size_t h = 0; h < b->held.n && !rc; h++) {
        kz_evcols *c = b->held.v[h];
        for (size_t i = 0; i < c->n; i++) {
            if (c->user[i] & PROVISIONAL)
                c->user[i] = remap[KZ_DICT_USERS][c->user[i] & ~PROVISIONAL];
            if (c->event[i] & PROVISIONAL)
                c->event[i] = remap[KZ_DICT_EVENT_NAMES][c->event[i] & ~PROVISIONAL];
        }
        b->held.v[h] = NULL;
        rc = submit(e, c, 0);
    }
done:
    free(remap[0]);
    free(remap[1]);
    return rc;
}

static int write_keys(struct evimp *e)
{
    struct part *a = &e->a;
    for (size_t i = 0; i < a->keys.n; i++) {
        struct newkey *k = &a->keys.v[i];
        int rc = kz_store_dict_add(e->im->st, k->dict, k->id, a->keybytes.data + k->off, k->len, k->account);
        if (rc)
            return rc == KZ_EINVALID ? KZ_ERROR : rc;
    }
    return KZ_OK;
}

int kz_import_events(kz_imp *im)
{
    struct evimp e;
    int rc;

    memset(&e, 0, sizeof e);
    e.im = im;
    kz_buf_init(&e.blob, KZ_BUF_UNLIMITED);
    pthread_mutex_init(&e.w.mu, NULL);
    pthread_cond_init(&e.w.cv, NULL);
    e.w.sparecap = 4;
    e.w.spare = calloc(e.w.sparecap, sizeof *e.w.spare);
    e.users = kz_strmap_new(1 << 16);
    e.names = kz_strmap_new(256);
    e.ex.ids = kz_strmap_new(1024);
    if (!e.w.spare || !e.users || !e.names || !e.ex.ids) {
        rc = kz_error_oom();
        goto done;
    }
    if ((rc = part_init(&e.a, &e, 0)) || (rc = part_init(&e.b, &e, 1)))
        goto done;
    if ((rc = kz_store_dict_load(im->st, KZ_DICT_USERS, e.users, &e.users_max)) ||
        (rc = kz_store_dict_load(im->st, KZ_DICT_EVENT_NAMES, e.names, &e.names_max)) ||
        (rc = kz_store_block_list(im->st, INT64_MIN, INT64_MAX, &e.ex.pre, &e.ex.npre)))
        goto done;
    e.ex.loaded = calloc(e.ex.npre ? e.ex.npre : 1, 1);
    if (!e.ex.loaded) {
        rc = kz_error_oom();
        goto done;
    }
    if (pthread_create(&e.w.thread, NULL, writer_main, &e) != 0) {
        rc = kz_error_set(KZ_ERROR, "cannot start the writer thread");
        goto done;
    }
    e.w.started = 1;
    uint64_t split = split_point(im);
    if (split) {
        e.b.start = split;
        e.b.hold = im->o->parallel_hold;
        if (e.b.hold == 0) /* about 1 GiB of decoded events (28 bytes each) */
            e.b.hold = (size_t)1 + ((size_t)1 << 30) / (28 * (im->o->block_events ? im->o->block_events : 1));
        if (pthread_create(&e.b.thread, NULL, second_main, &e.b) == 0) {
            e.b.started = 1;
            e.a.stop_at = split;
        }
    }
    double t0 = kz_monotonic();
    rc = parse(&e.a);
    KZ_LOG(KZ_LOG_DEBUG, "events: first part read", "seconds=%.3f split=%llu", kz_monotonic() - t0,
           (unsigned long long)split);
    if (e.b.started) {
        if (rc)
            atomic_store(&e.b.stop, 1);
        pthread_join(e.b.thread, NULL);
        e.b.started = 0;
        if (!rc && !e.a.crossed) {
            if (e.b.rc) {
                rc = kz_error_set(e.b.rc, "%s", e.b.msg);
            } else {
                im->src.rows += e.b.own.rows;
                im->src.rejected += e.b.own.rejected;
                /* the first part stopped where the second began: its next line
                 * is the second part's line 1 */
                int64_t line_offset = kz_csv_line(im->src.rd) - 1;
                rc = kz_imp_release(im, &e.b.own, line_offset);
                if (!rc)
                    rc = merge_second(&e);
                /* its rows now count in the first part's source */
                atomic_store(&e.b.bytes, 0);
                atomic_store(&e.b.rows, 0);
                if (!rc && e.b.stopped_early) {
                    /* the first part reads the rest, where the second stopped */
                    kz_csv_close(im->src.rd);
                    im->src.rd = NULL;
                    rc = kz_csv_open_at(&im->src.rd, im->path, e.b.end_at, line_offset + e.b.end_line,
                                        im->o->max_record);
                    e.a.stop_at = 0;
                    if (!rc)
                        rc = parse(&e.a);
                }
            }
        }
        KZ_LOG(KZ_LOG_DEBUG, "events: second part merged", "seconds=%.3f crossed=%d", kz_monotonic() - t0,
               e.a.crossed);
    }
    if (!rc)
        rc = writer_finish(&e);
    KZ_LOG(KZ_LOG_DEBUG, "events: written", "seconds=%.3f", kz_monotonic() - t0);
    if (!rc)
        rc = write_keys(&e);
done:
    if (e.b.started) {
        atomic_store(&e.b.stop, 1);
        pthread_join(e.b.thread, NULL);
    }
    if (e.w.started) {
        int wrc = writer_finish(&e);
        if (!rc)
            rc = wrc;
    }
    part_free(&e.a);
    part_free(&e.b);
    writer_free(&e.w);
    kz_evcols_free(&e.ex.ev);
    free(e.ex.pre);
    free(e.ex.loaded);
    free(e.ex.hash);
    free(e.ex.used);
    free(e.ex.table);
    kz_strmap_free(e.ex.ids);
    kz_strmap_free(e.users);
    kz_strmap_free(e.names);
    kz_buf_free(&e.blob);
    return rc;
}
