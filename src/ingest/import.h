/*
 * import.h - importing one file of one entity into the store.
 *
 * Reads CSV or NDJSON, validates every row against the contract of
 * schema.h, and writes the good rows in one transaction: a bad row is reported
 * ("file:line: column: reason") and copied verbatim to a rejects file, never
 * guessed at. --strict writes nothing when any row is bad; --dry-run writes
 * nothing at all. Re-importing a file is idempotent: rows are upserted by their
 * id, events de-duplicated by event_id or by content (docs/import.md).
 */
#ifndef KZ_INGEST_IMPORT_H
#define KZ_INGEST_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/schema.h"
#include "store/store.h"

typedef enum { KZ_FMT_AUTO, KZ_FMT_CSV, KZ_FMT_NDJSON } kz_format;

struct kz_import_result;

typedef struct kz_import_opts {
    kz_import_kind kind;
    kz_format format;
    int strict;              /* write nothing if any row is bad */
    int dry_run;             /* validate only */
    const char *rejects;     /* rejects file path; NULL: beside the input */
    /* column renames (--map FROM=TO) and dropped columns (--ignore) */
    const char *const *map_from;
    const char *const *map_to;
    size_t nmap;
    const char *const *ignore;
    size_t nignore;
    /* types of new custom fields (--type NAME=TYPE) */
    const char *const *type_names;
    const kz_field_type *types;
    size_t ntypes;
    size_t max_field;        /* import.max_field_bytes */
    size_t max_record;       /* import.max_record_bytes */
    size_t block_events;     /* import.block_events */
    uint64_t parallel_min;   /* import.parallel_min_bytes: two readers from this size (0: never) */
    size_t parallel_hold;    /* blocks the second reader may hold before it stops (0: about 1 GiB) */
    const char *name;        /* what messages and the ledger call the input (NULL: its path) */
    int no_rejects_file;     /* report rejected rows only through on_reject */
    /* called inside the import's transaction just before it commits (an
     * audit record that must commit with the rows); non-zero rolls back */
    int (*before_commit)(void *ctx, kz_store *st, const struct kz_import_result *res);
    /* called for each rejected row with "file:line: column: reason" */
    void (*on_reject)(void *ctx, const char *message);
    /* called now and then with progress (total 0 when unknown) */
    void (*on_progress)(void *ctx, uint64_t bytes, uint64_t total, int64_t rows);
    void *ctx;
} kz_import_opts;

/* Sensible defaults (formats from the extension, limits from the configuration
 * defaults); callers then set kind and what they need. */
void kz_import_opts_init(kz_import_opts *o);

typedef struct kz_import_result {
    const char *format;      /* "csv" or "ndjson" (static) */
    int64_t rows;            /* records read (good + bad) */
    int64_t rejected;
    int64_t inserted;        /* new rows (events: new events) */
    int64_t updated;
    int64_t unchanged;       /* rows equal to what was stored (events: duplicates skipped) */
    int64_t fields_defined;  /* new custom fields */
    int committed;           /* 1 when the changes are durably stored */
    char *rejects_path;      /* the rejects file written, or NULL; free with kz_import_result_free */
    double seconds;
} kz_import_result;

void kz_import_result_free(kz_import_result *r);

/* Imports path ("-": standard input) into st. Returns 0 when the file was
 * processed (even with rejected rows: see res), or an error for a failure that
 * stopped the import as a whole (unreadable file, bad header, database error),
 * in which case nothing was written and kz_error_msg() says why, naming the file. */
int kz_import(kz_store *st, const char *path, const kz_import_opts *o, kz_import_result *res);

/* Imports n bytes of data (o->format must say CSV or NDJSON; o->name names
 * it in messages, "body" when NULL) as kz_import imports a file; rejected
 * rows are reported through o->on_reject only, no rejects file is written. */
int kz_import_buffer(kz_store *st, const void *data, size_t n, const kz_import_opts *o, kz_import_result *res);

/* The default rejects path for an input path: "dir/accounts.csv" ->
 * "dir/accounts.rejects.csv". Caller frees with free(). */
char *kz_rejects_path(const char *input, kz_format fmt);

/* The format of a path from its extension (.csv, .ndjson, .jsonl, .json);
 * KZ_FMT_AUTO when it cannot tell. */
kz_format kz_format_of_path(const char *path);

/* Classifies a ticket without a category from its text: "functional" (how the
 * product works, errors) or "operational" (how the customer runs their business
 * with it). Static string. */
const char *kz_classify_ticket(const char *subject, size_t subject_len, const char *body, size_t body_len);

#endif
