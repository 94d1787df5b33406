/*
 * ndjson.h - one NDJSON line as a flat list of (key, value) pairs.
 *
 * Import records are flat JSON objects, so a full DOM is not needed: this
 * scanner walks one object, decodes keys and string values (escapes and
 * surrogate pairs), checks number syntax, and returns nested objects and arrays
 * as their raw text, which it validates with cJSON. Strict JSON (RFC 8259):
 * no comments, no trailing commas, no duplicate keys.
 */
#ifndef KZ_INGEST_NDJSON_H
#define KZ_INGEST_NDJSON_H

#include <stddef.h>

#include "core/buf.h"

typedef enum { KZ_JNULL, KZ_JSTRING, KZ_JNUMBER, KZ_JBOOL, KZ_JOBJECT, KZ_JARRAY } kz_jtype;

typedef struct kz_jpair {
    const char *key;
    size_t key_len;
    kz_jtype type;
    const char *val; /* string: decoded; number: literal; bool: "true"/"false";
                        object/array: raw JSON text; null: NULL */
    size_t val_len;
} kz_jpair;

typedef struct kz_ndjson {
    kz_jpair *pairs; /* borrowed until the next parse */
    size_t n, cap;
    kz_buf scratch;  /* decoded strings that had escapes */
    size_t *off;     /* per pair: key/val offsets into scratch when decoded there */
} kz_ndjson;

/* Initialises a parser whose decoded strings may total at most max bytes. */
void kz_ndjson_init(kz_ndjson *p, size_t max);
void kz_ndjson_free(kz_ndjson *p);

/* Parses one line holding one JSON object. 0, or KZ_EINVALID with the reason
 * and the byte column ("column 17: expected ':' after a key"). The pairs point
 * into line or into the parser's scratch and live until the next call. */
int kz_ndjson_parse(kz_ndjson *p, const char *line, size_t n);

/* A short name of a JSON type ("string", "number", ...). */
const char *kz_jtype_name(kz_jtype t);

#endif
