/*
 * evblock.h - product events as compressed column blocks.
 *
 * Events are far too many for one SQL row each (tens of millions), so they are
 * stored as blocks of up to import.block_events events, sorted by time, each
 * column encoded and compressed with zstd on its own, and kept as one BLOB per
 * block (store.h: kz_store_block_put). Account, user and event name are
 * dictionary ids (the store's accounts.id, product_users.id, event_names.id).
 * docs/architecture.md gives the measurements behind this choice and the byte
 * layout; the decoder checks every length, so a damaged block is an error,
 * never a crash.
 *
 * kz_evcols is the decoded form: parallel arrays, owned by the struct.
 */
#ifndef KZ_STORE_EVBLOCK_H
#define KZ_STORE_EVBLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/time.h"

struct kz_store;

/* Optional text per event (event_id, properties): offsets into one byte array;
 * event i is bytes[off[i] .. off[i+1]); empty means none. */
typedef struct kz_strcol {
    uint32_t *off; /* n + 1 entries when used, NULL when no event has a value */
    char *bytes;
    size_t len, cap;
} kz_strcol;

typedef struct kz_evcols {
    size_t n, cap;
    kz_time *ts;
    uint32_t *account;
    uint32_t *user;  /* 0: no user */
    uint32_t *event;
    double *value;   /* NaN: no value */
    kz_strcol event_id;
    kz_strcol props;  /* JSON object text */
} kz_evcols;

/* Frees the arrays; the struct is empty and reusable. */
void kz_evcols_free(kz_evcols *c);

/* Empties without freeing. */
void kz_evcols_clear(kz_evcols *c);

/* Makes room for cap events. 0 or KZ_ENOMEM. */
int kz_evcols_reserve(kz_evcols *c, size_t cap);

/* Appends one event (there must be room: see kz_evcols_reserve). The strings may
 * be NULL/0. 0, or KZ_ENOMEM / KZ_ETOOBIG for the string columns. */
int kz_evcols_append(kz_evcols *c, kz_time ts, uint32_t account, uint32_t user, uint32_t event,
                     double value, const char *event_id, size_t id_len, const char *props,
                     size_t props_len);

/* The optional strings of event i (NULL with *n = 0 when none). */
const char *kz_strcol_get(const kz_strcol *s, size_t i, size_t *n);

/* How many events have an event_id. */
int64_t kz_evcols_count_ids(const kz_evcols *c);

/* Reorders the events by time, keeping the input order of equal times. */
int kz_evcols_sort(kz_evcols *c);

/* Encodes c (which must be sorted) and appends the block to out. level is the
 * zstd level (1 is fast and good here). */
int kz_evblock_encode(const kz_evcols *c, kz_buf *out, int level);

/* Decodes a block and appends its events to out. KZ_EINVALID when the bytes are
 * not a valid block. */
int kz_evblock_decode(kz_evcols *out, const void *data, size_t n);

/* Calls fn with the stored events in their canonical order: by time, and for
 * equal times in the order they were stored (block ids grow with every block
 * written, and each block keeps its input order for equal times). Blocks whose
 * time spans overlap are decoded together and merged, so the order does not
 * depend on how events fell into blocks. Each call gets one run of events,
 * borrowed for the call; a non-zero return of fn stops the walk and is
 * returned. *out_total (may be NULL) receives the number of stored events
 * before the first call. */
typedef int (*kz_events_fn)(void *ctx, const kz_evcols *ev);
int kz_events_walk(struct kz_store *st, kz_events_fn fn, void *ctx, int64_t *out_total);

/* A 64-bit identity of an event for de-duplication: its event_id when it has one,
 * otherwise its content (time, account, user, event, value, properties). */
uint64_t kz_evcols_identity(const kz_evcols *c, size_t i);

#endif
