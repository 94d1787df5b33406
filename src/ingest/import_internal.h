/*
 * import_internal.h - the state of one import, shared by import.c (entities)
 * and import_events.c (the columnar fast path for events).
 */
#ifndef KZ_INGEST_IMPORT_INTERNAL_H
#define KZ_INGEST_IMPORT_INTERNAL_H

#include <stdio.h>

#include "core/arena.h"
#include "core/buf.h"
#include "ingest/csv.h"
#include "ingest/import.h"
#include "ingest/ndjson.h"

/* What an input column (CSV) or key (NDJSON) is for. */
enum { COL_FIELD = 0, COL_CUSTOM, COL_IGNORED };

/* A custom account field met in the input. */
typedef struct kz_custom {
    char *name;         /* in the arena */
    size_t len;
    int64_t field_id;   /* 0 until defined in the store */
    kz_field_type type;
    int defined;        /* exists in the store (before or since this import) */
    int typed_by_flag;  /* --type gave the type */
    /* inference for new fields: which types every value so far fits */
    int may_bool, may_number, may_date, seen;
} kz_custom;

/* One reader over the input (or, for events, over its second half), with the
 * counts of what it has read. A second reader holds its rejects back until the
 * first has finished, so that they are reported in file order. */
typedef struct kz_src {
    kz_csv *rd;
    kz_ndjson json;
    int64_t line;     /* line of the current record */
    int64_t rows;     /* records read, good and bad */
    int64_t rejected;
    int held;         /* keep rejects in `kept` instead of reporting them */
    kz_buf kept;      /* records: line, message length, raw length, message, raw */
} kz_src;

typedef struct kz_imp {
    kz_store *st;
    const kz_import_opts *o;
    const kz_import_schema *sc;
    kz_import_result *res;
    const char *path;     /* as given, to open */
    const char *name;     /* for messages: the path, or what the caller calls the data */
    int ndjson;
    kz_src src;           /* the reader of the file */
    kz_arena *arena;
    kz_vctx vctx;
    kz_strmap *accounts;  /* account_id -> internal id */
    kz_strmap *contacts;
    /* CSV header: per column, its role and target */
    size_t ncols;
    int *col_role;
    int *col_target;      /* schema field index or custom index */
    uint64_t header_fields; /* bit i: schema field i has a column */
    kz_buf header_raw;
    /* custom account fields: known ones and their values in the current record */
    kz_custom *customs;
    size_t ncustoms, custom_cap;
    kz_rawval *custom_vals; /* per custom, this record's value (KZ_JNULL when absent) */
    unsigned char *custom_given; /* per custom: the record has the column/key */
    /* the rejects file, opened at the first bad row */
    FILE *rej;
    char *rej_path, *rej_tmp;
    uint64_t progress_bytes;
} kz_imp;

/* Reports a bad record of src (its current line): the message ("file:line: "
 * is prepended) goes to on_reject, the raw bytes to the rejects file; a held
 * source keeps both for kz_imp_release(). Returns 0 or an I/O error. */
int kz_imp_reject(kz_imp *im, kz_src *src, const char *raw, size_t raw_len, const char *fmt, ...)
    KZ_PRINTF(5, 6);

/* Reports what a held source kept, in order, adding line_offset to its line
 * numbers (a second reader counts lines from where it started), and empties it. */
int kz_imp_release(kz_imp *im, kz_src *src, int64_t line_offset);

/* Reads the next record of src: 1 with the raw values per schema field filled
 * (and the record's raw bytes), 0 at the end, KZ_EINVALID for a record that was
 * already rejected (malformed), other negatives on failure. vals has nfields
 * entries; *present gets bit i for field i given in this record. Custom fields
 * (accounts) are read only from the import's own source. */
int kz_imp_next(kz_imp *im, kz_src *src, kz_rawval *vals, uint64_t *present, const char **raw, size_t *raw_len);

/* Frees a source's reader and buffers. */
void kz_src_free(kz_src *src);

/* Applies --map to a column or key name; the result is borrowed. */
const char *kz_imp_mapped(const kz_imp *im, const char *name, size_t n, size_t *out_n);

/* 1 when --ignore lists the (mapped) name. */
int kz_imp_ignored(const kz_imp *im, const char *name, size_t n);

/* Calls on_progress when enough input went by; extra_bytes and extra_rows come
 * from a second reader. */
void kz_imp_progress(kz_imp *im, int force, uint64_t extra_bytes, int64_t extra_rows);

/* The events path (import_events.c). */
int kz_import_events(kz_imp *im);

#endif
