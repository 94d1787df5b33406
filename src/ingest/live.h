/*
 * live.h - product events as they happen: the writer behind POST /api/v1/events.
 *
 * A posted batch (a JSON array, one JSON object, a {"batch": [...]} object or
 * NDJSON) is parsed and each event validated on the caller's thread, by the
 * same field rules as `kizuna import events`; the good events then go to one
 * writer thread, which stores every batch that arrived meanwhile in a single
 * transaction (group commit: one event block, one fsync) and only then answers
 * each caller. So an answer means "stored durably", and many small batches
 * cost one commit, not one each.
 *
 * Two shapes of event are read (docs/api.md lists the keys):
 * - Kizuna's own, the keys of the events import: ts, account_id, event,
 *   user_id, value, event_id, properties. Any other key is an error.
 * - The "track" call of common analytics libraries (Segment, RudderStack):
 *   an object with none of ts, account_id, user_id, event_id, whose userId (or anonymousId),
 *   event, timestamp (or originalTimestamp), messageId and properties are
 *   read; the account comes from context.groupId, else properties.account_id,
 *   else properties.groupId; the value from properties.value. Other keys of
 *   the payload (context, integrations, sentAt...) are ignored; a `type`
 *   other than "track" is an error.
 *
 * De-duplication: an event with an event_id (messageId) that is already stored,
 * or that came earlier in the same group, is counted as a duplicate and not
 * stored again, so a client may resend a batch whose answer it did not get.
 * The ids are kept in memory as keyed 128-bit hashes (16 bytes each), loaded
 * at open from the blocks that hold ids. Events without an id are never
 * de-duplicated (two identical clicks are two events).
 *
 * Threads: kz_live_submit may be called by any number of threads at once; the
 * writer thread is the only user of the live writer's store handle. Another
 * process that writes the same database (an import) is noticed by the data
 * version at the next commit: the dictionaries and ids are then reloaded.
 */
#ifndef KZ_INGEST_LIVE_H
#define KZ_INGEST_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "store/evblock.h"

typedef struct kz_live kz_live;

typedef enum { KZ_LIVE_JSON, KZ_LIVE_NDJSON } kz_live_format;

/* A new event name, handed to the hooks after the commit that stored it. */
typedef struct kz_live_name {
    uint32_t id;
    const char *name; /* not NUL-terminated: use n */
    size_t n;
} kz_live_name;

/* What the owner is told, on the writer thread, in commit order, about the
 * events of each commit (ev: sorted by time; account = the store's account
 * id; user and event = dictionary ids).
 * prepare: before the commit; a non-zero return (with kz_error_set) aborts
 * the commit and every batch of the group gets that error. max_name is the
 * largest event name id the events use.
 * apply: after the commit; must not fail (prepare made room). names are the
 * event names new in this commit, version the data version it made.
 * changed: the database was changed by another writer (an import, or an API
 * handler that then called kz_live_sync) since the writer last looked:
 * accounts, subscriptions and the like, and with events = 1 stored events
 * too. Called after the commit that noticed it, or at a sync. */
typedef struct kz_live_hooks {
    void *ctx;
    int (*prepare)(void *ctx, const kz_evcols *ev, uint32_t max_name);
    void (*apply)(void *ctx, const kz_evcols *ev, const kz_live_name *names, size_t nnames, int64_t version);
    void (*changed)(void *ctx, int events);
} kz_live_hooks;

typedef struct kz_live_opts {
    size_t max_events;   /* events in one posted batch (ingest.max_batch_events) */
    size_t max_field;    /* bytes of one value (import.max_field_bytes) */
    size_t block_events; /* events of one commit at most (import.block_events) */
    kz_live_hooks hooks; /* all may be NULL */
} kz_live_opts;

/* Opens the live writer on the database at db_path: loads the accounts, the
 * dictionaries and the stored event ids, starts the writer thread. 0, or an
 * error with the reason. Caller closes with kz_live_close(). */
int kz_live_open(kz_live **out, const char *db_path, const kz_live_opts *o);

/* Stores what is queued, answers its callers, stops the writer. NULL is a
 * no-op. No kz_live_submit may be running or start; every queued batch is
 * stored and its done called before it returns. */
void kz_live_close(kz_live *lv);

/* One rejected event of a batch. */
typedef struct kz_live_reject {
    size_t index;      /* 0-based position in the batch (NDJSON: line - 1) */
    const char *field; /* the key at fault (static), or NULL for the whole event */
    char *message;     /* malloc'd */
} kz_live_reject;

typedef struct kz_live_result {
    size_t received;   /* events in the batch */
    size_t accepted;   /* stored now */
    size_t duplicates; /* already stored (by event_id), not stored again */
    size_t rejected;   /* invalid, not stored */
    kz_live_reject *rejects; /* the first KZ_LIVE_MAX_REJECTS of them, in order; malloc'd */
    size_t nrejects;
    int64_t data_version; /* the database's data version after the commit (0 when nothing was stored) */
} kz_live_result;

#define KZ_LIVE_MAX_REJECTS 1000

/* Frees what r holds (r itself is the caller's). */
void kz_live_result_free(kz_live_result *r);

/* What the writer tells a submitter once the batch is stored (rc 0) or not
 * (rc and msg say why: nothing of the batch is stored). r is the result,
 * the submitter's to take (its rejects may be moved out; kz_live frees what
 * is left). Called on the writer thread: quick, and no kz_live call. */
typedef void (*kz_live_done)(void *ctx, int rc, const char *msg, kz_live_result *r);

/* Parses body (n bytes) in format f and validates each event on the
 * caller's thread, then either queues the good ones for the writer
 * (*queued = 1: done is called once they are stored, or not) or answers at
 * once (*queued = 0, *now filled): no good event, or with strict an invalid
 * one (nothing is stored), or an error: KZ_EINVALID when the body is not a
 * batch at all (the message says where: "byte 17: ..."), KZ_ETOOBIG beyond
 * the events a batch may have. A failure to store reaches done as its rc
 * (nothing of the batch is stored, and it may be sent again). *now is the
 * caller's to free with kz_live_result_free. */
int kz_live_submit(kz_live *lv, const char *body, size_t n, kz_live_format f, int strict, kz_live_done done,
                   void *ctx, kz_live_result *now, int *queued);



/* Waits until the writer has looked at the database once more after this
 * call began (reloading, and telling hooks.changed, what another writer or
 * this process changed): call it after a change to accounts and the like,
 * before answering, so that events for a new account are accepted at once. */
int kz_live_sync(kz_live *lv);

/* A new limit of events per batch (the configuration reloaded). */
void kz_live_set_max_events(kz_live *lv, size_t n);

typedef struct kz_live_stats {
    uint64_t stored, duplicates, rejected, commits, batches;
} kz_live_stats;

void kz_live_stats_get(kz_live *lv, kz_live_stats *out);

#endif
