/*
 * arena.h - region allocator: many small allocations, one free.
 *
 * Each CLI run, import batch or HTTP request owns an arena; parsed input and
 * temporary strings live there and go with kz_arena_free() or kz_arena_reset().
 * Not thread-safe: one arena, one thread. Not for long-lived objects that are
 * freed one by one.
 */
#ifndef KZ_CORE_ARENA_H
#define KZ_CORE_ARENA_H

#include <stddef.h>

#include "core/error.h"

typedef struct kz_arena kz_arena;

/* A new arena whose chunks are at least chunk bytes (0: 64 KiB). NULL when out of
 * memory. Caller frees with kz_arena_free(). */
kz_arena *kz_arena_new(size_t chunk);

/* Frees every allocation and the arena. kz_arena_free(NULL) is a no-op. */
void kz_arena_free(kz_arena *a);

/* Forgets every allocation but keeps the first chunk for reuse. */
void kz_arena_reset(kz_arena *a);

/* n bytes aligned to 16, uninitialised; NULL (and kz_error_oom) when out of memory
 * or when n overflows. Lives in the arena. */
void *kz_arena_alloc(kz_arena *a, size_t n);

/* Like kz_arena_alloc, zero-filled, for count * size bytes (overflow-checked). */
void *kz_arena_calloc(kz_arena *a, size_t count, size_t size);

/* A NUL-terminated copy of s[0..n). Lives in the arena; NULL when out of memory. */
char *kz_arena_strndup(kz_arena *a, const char *s, size_t n);

/* printf into the arena; NULL when out of memory. */
char *kz_arena_printf(kz_arena *a, const char *fmt, ...) KZ_PRINTF(2, 3);

/* Bytes handed out since creation or the last reset. */
size_t kz_arena_used(const kz_arena *a);

#endif
