/*
 * hash.h - 64-bit hashing and a string -> uint32 map.
 *
 * kz_strmap is the dictionary behind every id encoding (account keys, user keys,
 * event names): open addressing with linear probing, the full hash stored in each
 * slot, keys copied into the map's own arena. Not thread-safe for writers; many
 * readers may share a map that no one writes.
 */
#ifndef KZ_CORE_HASH_H
#define KZ_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* A fast non-cryptographic hash of n bytes (not for untrusted keys where
 * collisions are an attack: use it for dictionaries, not for HTTP headers).
 * Not stable across versions: never store its values. */
uint64_t kz_hash64(const void *p, size_t n, uint64_t seed);

/* Mixes a 64-bit integer (the splitmix64 finaliser). */
static inline uint64_t kz_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

typedef struct kz_strmap kz_strmap;

/* A new map sized for about hint keys. NULL when out of memory. Caller frees with
 * kz_strmap_free(). */
kz_strmap *kz_strmap_new(size_t hint);

void kz_strmap_free(kz_strmap *m);

/* The value of key[0..n), or -1 when absent. */
int64_t kz_strmap_get(const kz_strmap *m, const char *key, size_t n);

/* Same, with a hash the caller computed with kz_strmap_hash(). */
int64_t kz_strmap_get_h(const kz_strmap *m, const char *key, size_t n, uint64_t h);
uint64_t kz_strmap_hash(const char *key, size_t n);

/* Starts loading the slot of hash h into the cache (a hint, no effect on
 * results): call it before other work, then kz_strmap_get_h(). */
void kz_strmap_prefetch(const kz_strmap *m, uint64_t h);

/* Sets key -> value (replacing an old value). 0 or KZ_ENOMEM. */
int kz_strmap_put(kz_strmap *m, const char *key, size_t n, uint32_t value);

size_t kz_strmap_count(const kz_strmap *m);

/* Iteration: for (size_t i = 0; kz_strmap_next(m, &i, &k, &n, &v); ) ...
 * Keys are borrowed until the map is next written, and are NOT NUL-terminated:
 * use *n. Order is unspecified. */
int kz_strmap_next(const kz_strmap *m, size_t *iter, const char **key, size_t *n, uint32_t *value);

#endif
