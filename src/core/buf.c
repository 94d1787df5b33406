/*
 * buf.c - the capped growable buffer of buf.h.
 */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kz_buf_init(kz_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void kz_buf_free(kz_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void kz_buf_reset(kz_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int kz_buf_reserve(kz_buf *b, size_t extra)
{
    if (extra > b->max - b->len || extra > SIZE_MAX - b->len - 1)
        return kz_error_set(KZ_ETOOBIG, "buffer limit of %zu bytes reached", b->max);
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return KZ_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return kz_error_oom();
    b->data = p;
    b->cap = cap;
    return KZ_OK;
}

int kz_buf_append(kz_buf *b, const void *p, size_t n)
{
    int rc = kz_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return KZ_OK;
}

int kz_buf_putc(kz_buf *b, char c)
{
    if (b->len + 1 < b->cap && b->len < b->max) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return KZ_OK;
    }
    return kz_buf_append(b, &c, 1);
}

int kz_buf_puts(kz_buf *b, const char *s)
{
    return kz_buf_append(b, s, strlen(s));
}

int kz_buf_printf(kz_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    int rc = KZ_OK;
    if (n < 0) {
        rc = kz_error_set(KZ_ERROR, "bad format");
        goto done;
    }
    rc = kz_buf_reserve(b, (size_t)n);
    if (rc)
        goto done;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    b->len += (size_t)n;
done:
    va_end(ap2);
    return rc;
}

const char *kz_buf_cstr(const kz_buf *b)
{
    return b->data ? b->data : "";
}

char *kz_buf_take(kz_buf *b)
{
    char *p = b->data;
    if (!p) {
        p = calloc(1, 1);
        if (!p)
            kz_error_oom();
        return p;
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
