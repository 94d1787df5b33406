/*
 * arena.c - chunked bump allocator behind arena.h.
 */
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 16

struct chunk {
    struct chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    _Alignas(ALIGN) unsigned char data[];
};

struct kz_arena {
    struct chunk *head; /* current chunk; older ones follow */
    size_t chunk_size;
    size_t used;
};

static struct chunk *chunk_new(size_t size)
{
    struct chunk *c;
    if (size > SIZE_MAX - sizeof *c)
        return NULL;
    c = malloc(sizeof *c + size);
    if (!c)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

kz_arena *kz_arena_new(size_t chunk)
{
    kz_arena *a = malloc(sizeof *a);
    if (!a) {
        kz_error_oom();
        return NULL;
    }
    a->chunk_size = chunk ? chunk : 64 * 1024;
    a->used = 0;
    a->head = chunk_new(a->chunk_size);
    if (!a->head) {
        free(a);
        kz_error_oom();
        return NULL;
    }
    return a;
}

void kz_arena_free(kz_arena *a)
{
    if (!a)
        return;
    struct chunk *c = a->head;
    while (c) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

void kz_arena_reset(kz_arena *a)
{
    struct chunk *c = a->head;
    /* keep the oldest chunk (the one created with the arena) */
    while (c->next) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    c->used = 0;
    a->head = c;
    a->used = 0;
}

void *kz_arena_alloc(kz_arena *a, size_t n)
{
    size_t need;
    struct chunk *c = a->head;

    if (n > SIZE_MAX - ALIGN) {
        kz_error_oom();
        return NULL;
    }
    need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need == 0)
        need = ALIGN;
    if (c->size - c->used < need) {
        size_t size = need > a->chunk_size ? need : a->chunk_size;
        struct chunk *nc = chunk_new(size);
        if (!nc) {
            kz_error_oom();
            return NULL;
        }
        if (need > a->chunk_size) {
            /* a big allocation gets a chunk of its own behind the current one,
             * so that the current chunk's free space is not wasted */
            nc->next = c->next;
            c->next = nc;
            nc->used = need;
            a->used += need;
            return nc->data;
        }
        nc->next = c;
        a->head = nc;
        c = nc;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->used += need;
    return p;
}

void *kz_arena_calloc(kz_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) {
        kz_error_oom();
        return NULL;
    }
    void *p = kz_arena_alloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

char *kz_arena_strndup(kz_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX) {
        kz_error_oom();
        return NULL;
    }
    char *p = kz_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *kz_arena_printf(kz_arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        kz_error_set(KZ_ERROR, "bad format");
        return NULL;
    }
    char *p = kz_arena_alloc(a, (size_t)n + 1);
    if (p)
        vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

size_t kz_arena_used(const kz_arena *a)
{
    return a->used;
}
