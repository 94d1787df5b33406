/*
 * buf.h - growable byte buffer with a cap.
 *
 * The one string builder of the code base. Every buffer has a maximum size set
 * when it is initialised; an append that would pass it fails with KZ_ETOOBIG and
 * leaves the buffer as it was, so input can never grow memory without bound.
 * The data is always NUL-terminated (the NUL is not counted in len).
 */
#ifndef KZ_CORE_BUF_H
#define KZ_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct kz_buf {
    char *data;  /* NUL-terminated; NULL until the first append */
    size_t len;  /* bytes used, without the NUL */
    size_t cap;  /* bytes allocated */
    size_t max;  /* most bytes len may reach */
} kz_buf;

#define KZ_BUF_UNLIMITED SIZE_MAX

/* Initialises an empty buffer that may hold at most max bytes. Allocates nothing. */
void kz_buf_init(kz_buf *b, size_t max);

/* Frees the memory; the buffer is empty again and may be reused. */
void kz_buf_free(kz_buf *b);

/* Empties the buffer, keeping its memory. */
void kz_buf_reset(kz_buf *b);

/* Makes room for extra more bytes. 0, KZ_ETOOBIG (past max) or KZ_ENOMEM. */
int kz_buf_reserve(kz_buf *b, size_t extra);

int kz_buf_append(kz_buf *b, const void *p, size_t n);
int kz_buf_putc(kz_buf *b, char c);
int kz_buf_puts(kz_buf *b, const char *s);
int kz_buf_printf(kz_buf *b, const char *fmt, ...) KZ_PRINTF(2, 3);

/* The contents as a C string ("" when empty). Borrowed until the next append. */
const char *kz_buf_cstr(const kz_buf *b);

/* Hands the data to the caller (caller frees with free()) and empties the buffer.
 * Returns an allocated "" for an empty buffer, NULL when out of memory. */
char *kz_buf_take(kz_buf *b);

#endif
