/*
 * jsonw.h - a small streaming JSON writer.
 *
 * Writes into a kz_buf, inserting commas and escaping strings, so that JSON is
 * never formatted by hand. Errors (buffer cap, nesting deeper than 64, a value
 * where a key is due) are sticky: check kz_jw_error() once at the end.
 *
 *   kz_jw w; kz_jw_init(&w, &buf);
 *   kz_jw_obj(&w); kz_jw_key(&w, "n"); kz_jw_int(&w, 3); kz_jw_end(&w);
 */
#ifndef KZ_CORE_JSONW_H
#define KZ_CORE_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define KZ_JW_MAX_DEPTH 64

typedef struct kz_jw {
    kz_buf *out;
    int depth;
    int err;
    unsigned char first[KZ_JW_MAX_DEPTH]; /* 1 until the level has an element */
    unsigned char is_obj[KZ_JW_MAX_DEPTH];
    int after_key;
    int pretty; /* newline and two-space indent per level */
} kz_jw;

/* Starts writing into out (not reset; output is appended). */
void kz_jw_init(kz_jw *w, kz_buf *out);

void kz_jw_obj(kz_jw *w);
void kz_jw_arr(kz_jw *w);
void kz_jw_end(kz_jw *w); /* closes the innermost object or array */

void kz_jw_key(kz_jw *w, const char *key);
void kz_jw_keyn(kz_jw *w, const char *key, size_t n);

void kz_jw_str(kz_jw *w, const char *s);          /* NULL writes null */
void kz_jw_strn(kz_jw *w, const char *s, size_t n);
void kz_jw_int(kz_jw *w, int64_t v);
void kz_jw_double(kz_jw *w, double v);            /* non-finite writes null */
void kz_jw_bool(kz_jw *w, int v);
void kz_jw_null(kz_jw *w);
/* Writes already-encoded JSON text as one value (the caller vouches for it). */
void kz_jw_raw(kz_jw *w, const char *json, size_t n);

/* A calendar day as "YYYY-MM-DD"; INT32_MIN (the engine's KZ_DAY_NONE) writes null. */
void kz_jw_date(kz_jw *w, int32_t day);
/* A time (microseconds since the epoch) as ISO-8601 UTC. */
void kz_jw_time(kz_jw *w, int64_t t);
/* A fixed-point number (v / 10^scale) as a JSON number with at least
 * min_decimals decimals: money (scale 4, 2 decimals). */
void kz_jw_fixed(kz_jw *w, int64_t v, int scale, int min_decimals);

/* 0, or the first error code (KZ_ETOOBIG, KZ_ENOMEM, KZ_EINVALID). */
int kz_jw_error(const kz_jw *w);

/* Appends s[0..n) as a quoted, escaped JSON string to b. 0 or an error code. */
int kz_json_quote(kz_buf *b, const char *s, size_t n);

#endif
