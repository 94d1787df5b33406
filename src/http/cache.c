/*
 * cache.c - answers of GET routes kept while the data they came from is
 * unchanged (cache.h).
 *
 * A small open-addressing table of at most CACHE_SLOTS answers under one
 * mutex, keyed by the request (path and query); each answer carries the
 * token of the data it was made from, and a lookup with another token is a
 * miss. When the bytes held pass the budget, the least recently used
 * answers go.
 */
#include "http/cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"

#define CACHE_SLOTS 1024 /* a power of two */
#define MAX_ENTRY_SHARE 8 /* one answer takes at most 1/8 of the budget */

struct entry {
    char *key;           /* NULL: free */
    uint64_t hash, token, used;
    int64_t made_at;     /* kz_time */
    int status;
    const char *type;    /* static */
    char *body;
    size_t len;
};

struct kz_cache {
    pthread_mutex_t mu;
    size_t budget, bytes, count;
    uint64_t tick, hits, misses;
    struct entry slot[CACHE_SLOTS];
};

int kz_cache_new(kz_cache **out, size_t budget)
{
    kz_cache *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c)
        return kz_error_oom();
    pthread_mutex_init(&c->mu, NULL);
    c->budget = budget;
    *out = c;
    return KZ_OK;
}

static void drop(kz_cache *c, struct entry *e)
{
    c->bytes -= e->len + strlen(e->key);
    c->count--;
    free(e->key);
    free(e->body);
    memset(e, 0, sizeof *e);
}

void kz_cache_free(kz_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (c->slot[i].key) {
            free(c->slot[i].key);
            free(c->slot[i].body);
        }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* The slot of key, or of where it would go (linear probing over a table that
 * is never more than three quarters full). */
static struct entry *find(kz_cache *c, const char *key, uint64_t h)
{
    size_t i = (size_t)h & (CACHE_SLOTS - 1);
    for (size_t n = 0; n < CACHE_SLOTS; n++, i = (i + 1) & (CACHE_SLOTS - 1)) {
        struct entry *e = &c->slot[i];
        if (!e->key || (e->hash == h && strcmp(e->key, key) == 0))
            return e;
    }
    return NULL;
}

int kz_cache_get(kz_cache *c, const char *key, uint64_t token, kz_http_resp *resp, int64_t *made_at)
{
    uint64_t h = kz_strmap_hash(key, strlen(key));
    int hit = 0;
    pthread_mutex_lock(&c->mu);
    struct entry *e = find(c, key, h);
    if (e && e->key && e->token == token && kz_buf_append(&resp->body, e->body, e->len) == KZ_OK) {
        resp->status = e->status;
        resp->type = e->type;
        *made_at = e->made_at;
        e->used = ++c->tick;
        hit = 1;
    }
    if (hit)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->mu);
    return hit;
}

/* Removing from linear probing: re-insert the run after the hole. */
static void remove_at(kz_cache *c, struct entry *e)
{
    drop(c, e);
    size_t i = (size_t)(e - c->slot);
    for (size_t j = (i + 1) & (CACHE_SLOTS - 1); c->slot[j].key; j = (j + 1) & (CACHE_SLOTS - 1)) {
        struct entry moved = c->slot[j];
        memset(&c->slot[j], 0, sizeof c->slot[j]);
        struct entry *to = find(c, moved.key, moved.hash);
        *to = moved;
    }
}

static void evict_oldest(kz_cache *c)
{
    struct entry *old = NULL;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (c->slot[i].key && (!old || c->slot[i].used < old->used))
            old = &c->slot[i];
    if (old)
        remove_at(c, old);
}

void kz_cache_put(kz_cache *c, const char *key, uint64_t token, const kz_http_resp *resp, int64_t made_at)
{
    size_t klen = strlen(key);
    if (resp->status != 200 || resp->nheaders || resp->body.len + klen > c->budget / MAX_ENTRY_SHARE)
        return; /* only plain successful answers, and none that would crowd out the others */
    char *k = malloc(klen + 1), *b = malloc(resp->body.len ? resp->body.len : 1);
    if (!k || !b) {
        free(k);
        free(b);
        return; /* a cache that cannot keep something just does not */
    }
    memcpy(k, key, klen + 1);
    if (resp->body.len)
        memcpy(b, resp->body.data, resp->body.len);
    uint64_t h = kz_strmap_hash(key, klen);
    pthread_mutex_lock(&c->mu);
    struct entry *e = find(c, key, h);
    if (e && e->key)
        remove_at(c, e);
    while (c->count && (c->bytes + resp->body.len + klen > c->budget || c->count >= CACHE_SLOTS * 3 / 4))
        evict_oldest(c);
    e = find(c, key, h);
    *e = (struct entry){ k, h, token, ++c->tick, made_at, resp->status, resp->type, b, resp->body.len };
    c->bytes += resp->body.len + klen;
    c->count++;
    pthread_mutex_unlock(&c->mu);
}

void kz_cache_stats(kz_cache *c, uint64_t *hits, uint64_t *misses, size_t *bytes, size_t *entries)
{
    pthread_mutex_lock(&c->mu);
    *hits = c->hits;
    *misses = c->misses;
    *bytes = c->bytes;
    *entries = c->count;
    pthread_mutex_unlock(&c->mu);
}
