/*
 * hash.c - kz_hash64 and the open-addressing kz_strmap.
 */
#include "core/hash.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t load32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

uint64_t kz_hash64(const void *data, size_t n, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
    uint64_t t;

    /* one multiply per word; the tail is read with overlapping loads instead of
     * a variable-length copy (which would be a library call) */
    if (n > 8) {
        while (n > 8) {
            h = (h ^ load64(p)) * 0xbf58476d1ce4e5b9ULL;
            h ^= h >> 31;
            p += 8;
            n -= 8;
        }
        t = load64(p + n - 8);
    } else if (n == 8) {
        t = load64(p);
    } else if (n >= 4) {
        t = load32(p) | (uint64_t)load32(p + n - 4) << 32;
    } else if (n > 0) {
        t = p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
    } else {
        t = 0;
    }
    h = (h ^ t) * 0x94d049bb133111ebULL;
    return kz_mix64(h);
}

#define INLINE 16

/* Keys of up to INLINE bytes live in the slot itself (zero-padded), so that a
 * lookup touches one cache line; longer keys point into the map's arena. */
struct slot {
    uint64_t hash; /* 0 marks an empty slot; real hashes are forced non-zero */
    uint32_t len;
    uint32_t value;
    union {
        char bytes[INLINE];
        const char *ptr;
    } key;
};

struct kz_strmap {
    struct slot *slots;
    size_t mask;  /* capacity - 1, capacity a power of two */
    size_t count;
    kz_arena *keys;
};

uint64_t kz_strmap_hash(const char *key, size_t n)
{
    uint64_t h = kz_hash64(key, n, 0x5bd1e995u);
    return h ? h : 1;
}

kz_strmap *kz_strmap_new(size_t hint)
{
    size_t cap = 16;
    while (cap < hint * 2 && cap < ((size_t)1 << 40))
        cap *= 2;
    kz_strmap *m = calloc(1, sizeof *m);
    if (!m)
        goto fail;
    m->slots = calloc(cap, sizeof *m->slots);
    m->keys = kz_arena_new(0);
    if (!m->slots || !m->keys)
        goto fail;
    m->mask = cap - 1;
    return m;
fail:
    kz_strmap_free(m);
    kz_error_oom();
    return NULL;
}

void kz_strmap_free(kz_strmap *m)
{
    if (!m)
        return;
    free(m->slots);
    kz_arena_free(m->keys);
    free(m);
}

static inline const char *slot_key(const struct slot *s)
{
    return s->len <= INLINE ? s->key.bytes : s->key.ptr;
}

/* The key padded to INLINE bytes, for comparing short keys as two words. */
static inline void pad(uint64_t w[2], const char *key, size_t n)
{
    w[0] = w[1] = 0;
    memcpy(w, key, n);
}

void kz_strmap_prefetch(const kz_strmap *m, uint64_t h)
{
#if defined(__GNUC__)
    __builtin_prefetch(&m->slots[(size_t)h & m->mask]);
#else
    (void)m;
    (void)h;
#endif
}

int64_t kz_strmap_get_h(const kz_strmap *m, const char *key, size_t n, uint64_t h)
{
    size_t i = (size_t)h & m->mask;
    if (n <= INLINE) {
        uint64_t w[2];
        pad(w, key, n);
        for (;;) {
            const struct slot *s = &m->slots[i];
            if (s->hash == h && s->len == n) {
                uint64_t k[2];
                memcpy(k, s->key.bytes, sizeof k);
                if (k[0] == w[0] && k[1] == w[1])
                    return s->value;
            } else if (s->hash == 0) {
                return -1;
            }
            i = (i + 1) & m->mask;
        }
    }
    for (;;) {
        const struct slot *s = &m->slots[i];
        if (s->hash == 0)
            return -1;
        if (s->hash == h && s->len == n && memcmp(s->key.ptr, key, n) == 0)
            return s->value;
        i = (i + 1) & m->mask;
    }
}

int64_t kz_strmap_get(const kz_strmap *m, const char *key, size_t n)
{
    return kz_strmap_get_h(m, key, n, kz_strmap_hash(key, n));
}

static int grow(kz_strmap *m)
{
    size_t cap = (m->mask + 1) * 2;
    struct slot *ns = calloc(cap, sizeof *ns);
    if (!ns)
        return kz_error_oom();
    for (size_t i = 0; i <= m->mask; i++) {
        struct slot *s = &m->slots[i];
        if (!s->hash)
            continue;
        size_t j = (size_t)s->hash & (cap - 1);
        while (ns[j].hash)
            j = (j + 1) & (cap - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->mask = cap - 1;
    return KZ_OK;
}

int kz_strmap_put(kz_strmap *m, const char *key, size_t n, uint32_t value)
{
    if (n > UINT32_MAX)
        return kz_error_set(KZ_ETOOBIG, "key too long");
    if ((m->count + 1) * 4 > (m->mask + 1) * 3) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    uint64_t h = kz_strmap_hash(key, n);
    size_t i = (size_t)h & m->mask;
    for (;;) {
        struct slot *s = &m->slots[i];
        if (s->hash == 0) {
            if (n <= INLINE) {
                memset(s->key.bytes, 0, INLINE);
                memcpy(s->key.bytes, key, n);
            } else {
                char *k = kz_arena_strndup(m->keys, key, n);
                if (!k)
                    return KZ_ENOMEM;
                s->key.ptr = k;
            }
            s->hash = h;
            s->len = (uint32_t)n;
            s->value = value;
            m->count++;
            return KZ_OK;
        }
        if (s->hash == h && s->len == n && memcmp(slot_key(s), key, n) == 0) {
            s->value = value;
            return KZ_OK;
        }
        i = (i + 1) & m->mask;
    }
}

size_t kz_strmap_count(const kz_strmap *m)
{
    return m->count;
}

int kz_strmap_next(const kz_strmap *m, size_t *iter, const char **key, size_t *n, uint32_t *value)
{
    while (*iter <= m->mask) {
        const struct slot *s = &m->slots[(*iter)++];
        if (s->hash) {
            *key = slot_key(s);
            *n = s->len;
            *value = s->value;
            return 1;
        }
    }
    return 0;
}
