/*
 * cache.h - the answers of GET routes that read only the data (reports,
 * lists, an account's page), kept until the data changes: the server asks
 * the app for a token of the data's state before it runs a handler, and an
 * answer is reused only while the token is the same. A token read before
 * the answer was made is never newer than what the answer shows, so a
 * reused answer is never older than the data of its token.
 */
#ifndef KZ_HTTP_CACHE_H
#define KZ_HTTP_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

typedef struct kz_cache kz_cache;

/* A cache of at most budget bytes of answers. Caller frees with kz_cache_free. */
int kz_cache_new(kz_cache **out, size_t budget);
void kz_cache_free(kz_cache *c);

/* 1 with the answer of key made at token copied into resp (status, type,
 * body) and *made_at the time it was made, else 0 (resp and *made_at untouched). */
int kz_cache_get(kz_cache *c, const char *key, uint64_t token, kz_http_resp *resp, int64_t *made_at);

/* Keeps resp (a 200 answer without extra headers, not too big), made at
 * made_at (kz_time), as the answer of key at token; best effort. */
void kz_cache_put(kz_cache *c, const char *key, uint64_t token, const kz_http_resp *resp, int64_t made_at);

void kz_cache_stats(kz_cache *c, uint64_t *hits, uint64_t *misses, size_t *bytes, size_t *entries);

#endif
