/*
 * csv.h - streaming RFC 4180 reader (and the line reader under NDJSON).
 *
 * Reads a file descriptor or a memory buffer in large chunks and hands out one
 * record at a time: its fields (quotes removed, doubled quotes undone), the
 * physical line it starts on, and its raw bytes (for the rejects file).
 * Accepted: a UTF-8 byte order mark at the start, CRLF, LF or lone CR line ends,
 * quoted fields with commas, quotes and line breaks inside. Blank lines are
 * skipped. A malformed record (a quote inside an unquoted field, text after a
 * closing quote, an unterminated quote, a record longer than the limit) is
 * returned as KZ_EINVALID with the reason, and the reader resynchronises at the
 * next line so that one broken row never hides the rest of the file.
 *
 * Not for: deciding what the fields mean (ingest/import.c) or checking UTF-8.
 */
#ifndef KZ_INGEST_CSV_H
#define KZ_INGEST_CSV_H

#include <stddef.h>
#include <stdint.h>

typedef struct kz_csv kz_csv;

typedef struct kz_field {
    const char *p; /* not NUL-terminated */
    size_t n;
    int quoted;    /* the field was written in quotes */
} kz_field;

typedef struct kz_csv_rec {
    const kz_field *f; /* fields, borrowed until the next call */
    size_t nfields;
    int64_t line;      /* physical line (1-based) where the record starts */
    const char *raw;   /* the record's bytes without its line end */
    size_t raw_len;
} kz_csv_rec;

/* Opens path ("-" is standard input) with records of at most max_record bytes.
 * 0, or KZ_EIO with the reason. Caller frees with kz_csv_close(). */
int kz_csv_open(kz_csv **out, const char *path, size_t max_record);

/* Opens path positioned at byte offset (which must be the start of a record),
 * numbering lines from line. No byte order mark is looked for. For reading a
 * part of a file in a second thread. */
int kz_csv_open_at(kz_csv **out, const char *path, uint64_t offset, int64_t line, size_t max_record);

/* Reads from a caller-owned buffer that must outlive the reader (tests, HTTP). */
int kz_csv_open_mem(kz_csv **out, const char *data, size_t n, size_t max_record);

void kz_csv_close(kz_csv *r);

/* The next CSV record: 1 when *rec is filled, 0 at the end, KZ_EINVALID for a
 * malformed record (rec->line and rec->raw tell which; kz_error_msg() why; call
 * again for the next record), KZ_EIO / KZ_ENOMEM on failure. */
int kz_csv_next(kz_csv *r, kz_csv_rec *rec);

/* The next non-blank physical line as a record with one field (NDJSON). Same
 * returns; a line longer than max_record is KZ_EINVALID. */
int kz_csv_next_line(kz_csv *r, kz_csv_rec *rec);

/* The line the next record starts on. */
int64_t kz_csv_line(const kz_csv *r);

/* Bytes consumed so far, and the total size (0 when unknown, e.g. a pipe). */
uint64_t kz_csv_offset(const kz_csv *r);
uint64_t kz_csv_size(const kz_csv *r);

#endif
