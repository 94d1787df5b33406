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
 * Two threads: this one reads and validates rows into a block; a writer thread
 * sorts, de-duplicates, compresses and stores the previous block meanwhile.
 * Only the writer touches the store while it runs (new dictionary entries are
 * kept in memory and written after it has finished), so the store handle is
 * never used by two threads at once. Blocks are written in input order, so the
 * result does not depend on timing.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"
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

/* A dictionary entry made during the import, written to the store at the end. */
struct newkey {
    kz_dict dict;
    uint32_t id;
    uint32_t account;
    size_t off, len; /* in keys */
};

/* The writer thread and the two blocks that go back and forth. */
struct writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    kz_evcols blocks[2];
    int full[2];      /* block i waits for the writer */
    int next_write;   /* the block the writer takes next */
    int stop;         /* no more blocks will come */
    int rc;           /* the writer's first error */
    char msg[1024];   /* and its message (errors are per thread) */
    int started;
};

struct evimp {
    kz_imp *im;
    kz_strmap *users, *names;
    uint32_t users_max, names_max;
    kz_evcols *cur;   /* the block being filled */
    int cur_idx;
    struct existing ex;
    kz_buf blob;
    struct newkey *newkeys;
    size_t nnew, newcap;
    kz_buf keys;
    struct writer w;
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
        int i = w->next_write;
        while (!w->full[i] && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->full[i])
            break; /* stopped, nothing left */
        pthread_mutex_unlock(&w->mu);
        int rc = w->rc ? KZ_OK : write_block(e, &w->blocks[i]);
        pthread_mutex_lock(&w->mu);
        if (rc && !w->rc) {
            w->rc = rc;
            snprintf(w->msg, sizeof w->msg, "%s", kz_error_msg());
        }
        if (w->rc)
            kz_evcols_clear(&w->blocks[i]);
        w->full[i] = 0;
        w->next_write = 1 - i;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Hands the current block to the writer and takes the other one to fill,
 * waiting until the writer is done with it. Returns the writer's error, if any. */
static int hand_over(struct evimp *e)
{
    struct writer *w = &e->w;
    int rc;
    pthread_mutex_lock(&w->mu);
    w->full[e->cur_idx] = 1;
    pthread_cond_broadcast(&w->cv);
    int other = 1 - e->cur_idx;
    while (w->full[other])
        pthread_cond_wait(&w->cv, &w->mu);
    rc = w->rc;
    pthread_mutex_unlock(&w->mu);
    e->cur_idx = other;
    e->cur = &w->blocks[other];
    if (rc)
        kz_error_set(rc, "%s", w->msg);
    return rc;
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

/* Remembers a new dictionary entry for the end of the import. */
static int remember(struct evimp *e, kz_dict d, uint32_t id, uint32_t account, const char *key, size_t n)
{
    if (e->nnew == e->newcap) {
        size_t ncap = e->newcap ? e->newcap * 2 : 1024;
        struct newkey *nk = realloc(e->newkeys, ncap * sizeof *nk);
        if (!nk)
            return kz_error_oom();
        e->newkeys = nk;
        e->newcap = ncap;
    }
    struct newkey *k = &e->newkeys[e->nnew];
    k->dict = d;
    k->id = id;
    k->account = account;
    k->off = e->keys.len;
    k->len = n;
    int rc = kz_buf_append(&e->keys, key, n);
    if (rc)
        return rc;
    e->nnew++;
    return KZ_OK;
}

static int write_keys(struct evimp *e)
{
    for (size_t i = 0; i < e->nnew; i++) {
        struct newkey *k = &e->newkeys[i];
        int rc = kz_store_dict_add(e->im->st, k->dict, k->id, e->keys.data + k->off, k->len, k->account);
        if (rc)
            return rc == KZ_EINVALID ? KZ_ERROR : rc;
    }
    return KZ_OK;
}

/* The dictionary id of key, adding it (validated) when new. 0 with the id, or
 * KZ_EINVALID with the reason. */
static int dict_id(struct evimp *e, kz_dict d, const kz_input_field *f, const kz_rawval *v, uint64_t h,
                   uint32_t account, uint32_t *out)
{
    kz_strmap *map = d == KZ_DICT_USERS ? e->users : e->names;
    uint32_t *max = d == KZ_DICT_USERS ? &e->users_max : &e->names_max;
    if ((v->type == KZ_JSTRING || v->type == KZ_JNUMBER) && v->s) {
        int64_t id = kz_strmap_get_h(map, v->s, v->n, h);
        if (id >= 0) {
            *out = (uint32_t)id;
            return KZ_OK;
        }
    }
    kz_value val;
    int rc = kz_validate(&e->im->vctx, f, v, &val); /* checks text only on first sight */
    if (rc)
        return rc;
    if (*max == UINT32_MAX - 1)
        return kz_error_set(KZ_ETOOBIG, "too many distinct %s", d == KZ_DICT_USERS ? "users" : "event names");
    uint32_t id = ++*max;
    rc = remember(e, d, id, account, val.s, val.n);
    if (!rc)
        rc = kz_strmap_put(map, val.s, val.n, id);
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

int kz_import_events(kz_imp *im)
{
    struct evimp e;
    const kz_input_field *fs = im->sc->fields;
    kz_rawval vals[F_N];
    int rc;

    memset(&e, 0, sizeof e);
    e.im = im;
    kz_buf_init(&e.blob, KZ_BUF_UNLIMITED);
    kz_buf_init(&e.keys, KZ_BUF_UNLIMITED);
    pthread_mutex_init(&e.w.mu, NULL);
    pthread_cond_init(&e.w.cv, NULL);
    e.users = kz_strmap_new(1 << 16);
    e.names = kz_strmap_new(256);
    e.ex.ids = kz_strmap_new(1024);
    if (!e.users || !e.names || !e.ex.ids) {
        rc = KZ_ENOMEM;
        goto done;
    }
    if ((rc = kz_store_dict_load(im->st, KZ_DICT_USERS, e.users, &e.users_max)) ||
        (rc = kz_store_dict_load(im->st, KZ_DICT_EVENT_NAMES, e.names, &e.names_max)) ||
        (rc = kz_store_block_list(im->st, INT64_MIN, INT64_MAX, &e.ex.pre, &e.ex.npre)))
        goto done;
    e.ex.loaded = calloc(e.ex.npre ? e.ex.npre : 1, 1);
    if (!e.ex.loaded || kz_evcols_reserve(&e.w.blocks[0], im->o->block_events) ||
        kz_evcols_reserve(&e.w.blocks[1], im->o->block_events)) {
        rc = kz_error_oom();
        goto done;
    }
    e.cur = &e.w.blocks[0];
    if (pthread_create(&e.w.thread, NULL, writer_main, &e) != 0) {
        rc = kz_error_set(KZ_ERROR, "cannot start the writer thread");
        goto done;
    }
    e.w.started = 1;
    for (;;) {
        const char *raw;
        size_t raw_len;
        uint64_t present;
        kz_value v;
        kz_time ts;
        uint32_t account, user = 0, event;
        double value = NAN;
        const char *field = NULL;

        rc = kz_imp_next(im, vals, &present, &raw, &raw_len);
        if (rc == 0)
            break;
        kz_imp_progress(im, 0);
        if (rc == KZ_EINVALID)
            continue;
        if (rc < 0)
            goto done;
        rc = KZ_OK;
        /* the dictionaries are bigger than the caches: start their loads now and
         * parse the time while they arrive */
        uint64_t h_acc = vals[F_ACCOUNT].s ? kz_strmap_hash(vals[F_ACCOUNT].s, vals[F_ACCOUNT].n) : 0;
        uint64_t h_user = vals[F_USER].s ? kz_strmap_hash(vals[F_USER].s, vals[F_USER].n) : 0;
        uint64_t h_event = vals[F_EVENT].s ? kz_strmap_hash(vals[F_EVENT].s, vals[F_EVENT].n) : 0;
        kz_strmap_prefetch(im->accounts, h_acc);
        kz_strmap_prefetch(e.users, h_user);
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
        if ((rc = dict_id(&e, KZ_DICT_EVENT_NAMES, &fs[F_EVENT], &vals[F_EVENT], h_event, 0, &event))) {
            field = fs[F_EVENT].name;
            goto bad;
        }
        if (vals[F_USER].type != KZ_JNULL && !(vals[F_USER].type == KZ_JSTRING && vals[F_USER].n == 0) &&
            (rc = dict_id(&e, KZ_DICT_USERS, &fs[F_USER], &vals[F_USER], h_user, account, &user))) {
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
        rc = kz_evcols_append(e.cur, ts, account, user, event, value, id.s, id.n, props.s, props.n);
        if (rc)
            goto done;
        if (e.cur->n == e.cur->cap && (rc = hand_over(&e)))
            goto done;
        continue;
    bad:
        if (rc != KZ_EINVALID)
            goto done;
        rc = kz_imp_reject(im, raw, raw_len, "%s: %s", field, kz_error_msg());
        if (rc)
            goto done;
    }
    if (e.cur->n > 0 && (rc = hand_over(&e)))
        goto done;
    rc = writer_finish(&e);
    if (!rc)
        rc = write_keys(&e);
done:
    if (e.w.started) {
        int wrc = writer_finish(&e);
        if (!rc)
            rc = wrc;
    }
    kz_evcols_free(&e.w.blocks[0]);
    kz_evcols_free(&e.w.blocks[1]);
    free(e.newkeys);
    kz_buf_free(&e.keys);
    pthread_mutex_destroy(&e.w.mu);
    pthread_cond_destroy(&e.w.cv);
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
