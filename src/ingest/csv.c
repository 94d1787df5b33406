/*
 * csv.c - the chunked RFC 4180 reader of csv.h.
 *
 * The buffer holds [start, end) of unread input; a record is parsed in place.
 * When a record runs past the end of the buffer, the partial record is moved to
 * the front, more input is read, and the record is parsed again from its start
 * (records are short, so re-parsing costs less than keeping parser state).
 */
#include "ingest/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"

#define CHUNK (4u << 20)

struct kz_csv {
    int fd;        /* -1 for memory input */
    int own_fd;
    char *buf;     /* owned buffer (fd input) */
    const char *mem;
    size_t cap;
    size_t start, end; /* unread bytes: buf[start..end) */
    int eof;
    int bom_checked;
    size_t max_record;
    int64_t line;  /* physical line of buf[start] */
    uint64_t consumed; /* bytes before buf[start] */
    uint64_t size;
    /* the current record */
    kz_field *fields;
    size_t nfields, fcap;
    kz_buf scratch;  /* unescaped quoted fields */
    size_t *scratch_off; /* per field: offset in scratch or SIZE_MAX */
};

static int open_common(kz_csv **out, size_t max_record)
{
    kz_csv *r = calloc(1, sizeof *r);
    if (!r)
        return kz_error_oom();
    r->fd = -1;
    r->max_record = max_record;
    r->line = 1;
    kz_buf_init(&r->scratch, max_record + 16);
    *out = r;
    return KZ_OK;
}

int kz_csv_open(kz_csv **out, const char *path, size_t max_record)
{
    kz_csv *r = NULL;
    struct stat sb;
    int rc = open_common(&r, max_record);
    if (rc)
        return rc;
    if (strcmp(path, "-") == 0) {
        r->fd = 0;
    } else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            rc = kz_error_set(KZ_EIO, "cannot open %s: %s", path, strerror(errno));
            free(r);
            return rc;
        }
        r->own_fd = 1;
    }
    if (fstat(r->fd, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            kz_csv_close(r);
            return kz_error_set(KZ_EIO, "%s is a directory", path);
        }
        if (S_ISREG(sb.st_mode))
            r->size = (uint64_t)sb.st_size;
    }
    r->cap = CHUNK;
    r->buf = malloc(r->cap);
    if (!r->buf) {
        kz_csv_close(r);
        return kz_error_oom();
    }
    *out = r;
    return KZ_OK;
}

int kz_csv_open_at(kz_csv **out, const char *path, uint64_t offset, int64_t line, size_t max_record)
{
    kz_csv *r = NULL;
    int rc = kz_csv_open(&r, path, max_record);
    if (rc)
        return rc;
    if (lseek(r->fd, (off_t)offset, SEEK_SET) < 0) {
        rc = kz_error_set(KZ_EIO, "cannot seek in %s: %s", path, strerror(errno));
        kz_csv_close(r);
        return rc;
    }
    r->consumed = offset;
    r->line = line;
    r->bom_checked = 1;
    *out = r;
    return KZ_OK;
}

int kz_csv_open_mem(kz_csv **out, const char *data, size_t n, size_t max_record)
{
    kz_csv *r = NULL;
    int rc = open_common(&r, max_record);
    if (rc)
        return rc;
    r->mem = data;
    r->end = n;
    r->eof = 1;
    r->size = n;
    *out = r;
    return KZ_OK;
}

void kz_csv_close(kz_csv *r)
{
    if (!r)
        return;
    if (r->own_fd)
        close(r->fd);
    free(r->buf);
    free(r->fields);
    free(r->scratch_off);
    kz_buf_free(&r->scratch);
    free(r);
}

uint64_t kz_csv_offset(const kz_csv *r)
{
    return r->consumed;
}

int64_t kz_csv_line(const kz_csv *r)
{
    return r->line;
}

uint64_t kz_csv_size(const kz_csv *r)
{
    return r->size;
}

static const char *data(const kz_csv *r)
{
    return r->mem ? r->mem : r->buf;
}

/* Reads more input, keeping buf[start..end). 1 if bytes were added, 0 at EOF,
 * negative on error. */
static int fill(kz_csv *r)
{
    if (r->eof)
        return 0;
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->cap - r->end < CHUNK / 2) {
        size_t ncap = r->cap * 2;
        char *nb = realloc(r->buf, ncap);
        if (!nb)
            return kz_error_oom();
        r->buf = nb;
        r->cap = ncap;
    }
    for (;;) {
        ssize_t got = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return kz_error_set(KZ_EIO, "read error: %s", strerror(errno));
        if (got == 0) {
            r->eof = 1;
            return 0;
        }
        r->end += (size_t)got;
        return 1;
    }
}

static void skip_bom(kz_csv *r)
{
    const char *d = data(r);
    if (r->end - r->start >= 3 && memcmp(d + r->start, "\xEF\xBB\xBF", 3) == 0) {
        r->start += 3;
        r->consumed += 3;
    }
}

static int push_field(kz_csv *r, const char *p, size_t n, int quoted, size_t soff)
{
    if (r->nfields == r->fcap) {
        size_t ncap = r->fcap ? r->fcap * 2 : 32;
        kz_field *nf = realloc(r->fields, ncap * sizeof *nf);
        if (!nf)
            return kz_error_oom();
        r->fields = nf;
        size_t *no = realloc(r->scratch_off, ncap * sizeof *no);
        if (!no)
            return kz_error_oom();
        r->scratch_off = no;
        r->fcap = ncap;
    }
    r->fields[r->nfields].p = p;
    r->fields[r->nfields].n = n;
    r->fields[r->nfields].quoted = quoted;
    r->scratch_off[r->nfields] = soff;
    r->nfields++;
    return KZ_OK;
}

/* Counts physical line ends in d[a..b) (CRLF once, lone CR once). */
static int64_t count_lines(const char *d, size_t a, size_t b)
{
    int64_t n = 0;
    for (size_t i = a; i < b; i++) {
        if (d[i] == '\n')
            n++;
        else if (d[i] == '\r' && (i + 1 >= b || d[i + 1] != '\n'))
            n++;
    }
    return n;
}

/* Outcome of parsing one record from buf[start..end). */
enum { P_OK, P_MORE, P_BAD, P_UNTERMINATED, P_ERR };

/* Character classes for the unquoted scan: 1 = ends or breaks the field. */
static const unsigned char special[256] = {
    ['\n'] = 1, ['\r'] = 1, [','] = 1, ['"'] = 1,
};

/* The index of the first byte in d[i..end) that ends or breaks an unquoted
 * field (',', '"', CR, LF), or end. Eight bytes at a time: a byte equal to c
 * makes the zero-byte test fire in its lane; the lowest firing lane is exact. */
static inline size_t scan_special(const char *d, size_t i, size_t end)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (i + 8 <= end) {
        uint64_t w;
        memcpy(&w, d + i, 8);
        uint64_t a = w ^ (ones * ','), b = w ^ (ones * '"'), c = w ^ (ones * '\n'), e = w ^ (ones * '\r');
        uint64_t m = ((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c) | ((e - ones) & ~e);
        m &= highs;
        if (m)
            return i + (size_t)(__builtin_ctzll(m) >> 3);
        i += 8;
    }
    while (i < end && !special[(unsigned char)d[i]])
        i++;
    return i;
}

/* Parses one record. On P_OK sets *rec_end (index of the line end or end of
 * input), *next (index after the line end) and *lines (line ends inside the
 * record, quoted ones). On P_BAD the reason is set and *next is where to resume. */
static int parse_record(kz_csv *r, size_t *rec_end, size_t *next, int64_t *lines)
{
    const char *d = data(r);
    size_t i = r->start, end = r->end;
    int any_quoted = 0;

    r->nfields = 0;
    kz_buf_reset(&r->scratch);
    for (;;) {
        /* start of a field */
        if (i < end && d[i] == '"') {
            size_t fstart = ++i;
            size_t soff = SIZE_MAX;
            for (;;) {
                const char *q = memchr(d + i, '"', end - i);
                if (!q)
                    return r->eof ? P_UNTERMINATED : P_MORE;
                size_t qi = (size_t)(q - d);
                any_quoted = 1;
                if (qi + 1 >= end && !r->eof)
                    return P_MORE; /* cannot tell "" from a closing quote yet */
                if (qi + 1 < end && d[qi + 1] == '"') {
                    /* doubled quote: the field needs unescaping into scratch */
                    if (soff == SIZE_MAX)
                        soff = r->scratch.len;
                    if (kz_buf_append(&r->scratch, d + i, qi + 1 - i))
                        return P_ERR;
                    i = qi + 2;
                    continue;
                }
                /* closing quote */
                size_t flen;
                const char *fp;
                if (soff != SIZE_MAX) {
                    if (kz_buf_append(&r->scratch, d + i, qi - i))
                        return P_ERR;
                    fp = NULL;
                    flen = r->scratch.len - soff;
                } else {
                    fp = d + fstart;
                    flen = qi - fstart;
                }
                if (push_field(r, fp, flen, 1, soff))
                    return P_ERR;
                i = qi + 1;
                break;
            }
            if (i < end && d[i] != ',' && d[i] != '\n' && d[i] != '\r') {
                kz_error_set(KZ_EINVALID, "unexpected character '%c' after a closing quote", d[i]);
                goto bad_line;
            }
        } else {
            size_t fstart = i;
            i = scan_special(d, i, end);
            if (i < end && d[i] == '"') {
                kz_error_set(KZ_EINVALID, "quote inside an unquoted field (quote the whole field and "
                                          "double the quote)");
                goto bad_line;
            }
            if (push_field(r, d + fstart, i - fstart, 0, SIZE_MAX))
                return P_ERR;
        }
        if (i >= end) {
            if (!r->eof)
                return P_MORE;
            *rec_end = i;
            *next = i;
            *lines = any_quoted ? count_lines(d, r->start, i) : 0;
            return P_OK;
        }
        if (d[i] == ',') {
            i++;
            continue;
        }
        /* line end */
        *rec_end = i;
        if (d[i] == '\r' && i + 1 >= end && !r->eof)
            return P_MORE; /* is it CRLF? */
        if (d[i] == '\r' && i + 1 < end && d[i + 1] == '\n')
            i++;
        *next = i + 1;
        *lines = any_quoted ? count_lines(d, r->start, *rec_end) : 0;
        return P_OK;
    }
bad_line:
    /* resume after the end of the physical line the error is on */
    while (i < end && d[i] != '\n' && d[i] != '\r')
        i++;
    if (i >= end && !r->eof)
        return P_MORE;
    *rec_end = i;
    if (i < end && d[i] == '\r' && i + 1 < end && d[i + 1] == '\n')
        i++;
    *next = i < end ? i + 1 : i;
    *lines = 0;
    return P_BAD;
}

static void advance(kz_csv *r, size_t next, int64_t lines_in_record, int had_line_end)
{
    r->consumed += next - r->start;
    r->line += lines_in_record + (had_line_end ? 1 : 0);
    r->start = next;
}

/* Handles a record longer than max_record or an unterminated quote at the end:
 * reports it and resumes at the line after the one it starts on. */
static int resync_after_first_line(kz_csv *r, kz_csv_rec *rec, const char *why)
{
    const char *d = data(r);
    size_t i = r->start;
    while (i < r->end && d[i] != '\n' && d[i] != '\r')
        i++;
    rec->line = r->line;
    rec->raw = d + r->start;
    rec->raw_len = i - r->start;
    rec->nfields = 0;
    rec->f = NULL;
    kz_error_set(KZ_EINVALID, "%s", why);
    if (i >= r->end) {
        /* one enormous line: drop input until its end */
        r->consumed += r->end - r->start;
        r->start = r->end;
        for (;;) {
            int got = fill(r);
            if (got < 0)
                return got;
            if (got == 0)
                break;
            const char *dd = data(r);
            const char *nlp = memchr(dd + r->start, '\n', r->end - r->start);
            if (nlp) {
                size_t k = (size_t)(nlp - dd) + 1;
                r->consumed += k - r->start;
                r->start = k;
                break;
            }
            r->consumed += r->end - r->start;
            r->start = r->end;
        }
        rec->raw = NULL; /* the bytes are gone; the rejects file gets a note */
        rec->raw_len = 0;
        r->line++;
        return KZ_EINVALID;
    }
    size_t next = i + 1;
    if (d[i] == '\r' && next < r->end && d[next] == '\n')
        next++;
    r->consumed += next - r->start;
    r->start = next;
    r->line++;
    return KZ_EINVALID;
}

static int record_too_long(kz_csv *r, kz_csv_rec *rec)
{
    char why[160];
    snprintf(why, sizeof why, "record longer than %zu bytes (an unterminated quote?)", r->max_record);
    return resync_after_first_line(r, rec, why);
}

/* Reads the byte order mark, once, at the start of input. */
static int check_bom(kz_csv *r)
{
    if (r->bom_checked)
        return KZ_OK;
    while (r->end - r->start < 3 && !r->eof) {
        int got = fill(r);
        if (got < 0)
            return got;
    }
    skip_bom(r);
    r->bom_checked = 1;
    return KZ_OK;
}

int kz_csv_next(kz_csv *r, kz_csv_rec *rec)
{
    int rc = check_bom(r);
    if (rc)
        return rc;
    for (;;) {
        if (r->start >= r->end) {
            int got = fill(r);
            if (got < 0)
                return got;
            if (got == 0 && r->start >= r->end)
                return 0;
        }
        size_t rec_end = 0, next = 0;
        int64_t lines = 0;
        int p = parse_record(r, &rec_end, &next, &lines);
        if (p == P_ERR)
            return kz_error_code() ? kz_error_code() : KZ_ENOMEM;
        if (p == P_MORE) {
            if (r->end - r->start > r->max_record)
                return record_too_long(r, rec);
            int got = fill(r);
            if (got < 0)
                return got;
            continue;
        }
        if (p == P_UNTERMINATED)
            return resync_after_first_line(r, rec, "unterminated quoted field (no closing quote before the end of the file)");
        if (rec_end - r->start > r->max_record)
            return record_too_long(r, rec);
        const char *d = data(r);
        int had_end = next > rec_end;
        rec->line = r->line;
        rec->raw = d + r->start;
        rec->raw_len = rec_end - r->start;
        if (p == P_BAD) {
            rec->nfields = 0;
            rec->f = NULL;
            advance(r, next, count_lines(d, r->start, rec_end), had_end);
            return KZ_EINVALID;
        }
        if (r->nfields == 1 && r->fields[0].n == 0 && !r->fields[0].quoted) {
            advance(r, next, lines, had_end); /* blank line */
            continue;
        }
        /* fields unescaped into scratch get their pointers now that it is complete */
        for (size_t k = 0; k < r->nfields; k++)
            if (r->scratch_off[k] != SIZE_MAX)
                r->fields[k].p = r->scratch.data + r->scratch_off[k];
        rec->f = r->fields;
        rec->nfields = r->nfields;
        advance(r, next, lines, had_end);
        return 1;
    }
}

static int is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t')
            return 0;
    return 1;
}

int kz_csv_next_line(kz_csv *r, kz_csv_rec *rec)
{
    int rc = check_bom(r);
    if (rc)
        return rc;
    for (;;) {
        const char *d = data(r);
        const char *nlp = r->start < r->end ? memchr(d + r->start, '\n', r->end - r->start) : NULL;
        if (!nlp && !r->eof) {
            if (r->end - r->start > r->max_record)
                return record_too_long(r, rec);
            int got = fill(r);
            if (got < 0)
                return got;
            continue;
        }
        if (!nlp && r->start >= r->end)
            return 0;
        size_t line_end = nlp ? (size_t)(nlp - d) : r->end;
        size_t next = nlp ? line_end + 1 : line_end;
        size_t content_end = line_end;
        if (content_end > r->start && d[content_end - 1] == '\r')
            content_end--;
        if (content_end - r->start > r->max_record)
            return record_too_long(r, rec);
        rec->line = r->line;
        rec->raw = d + r->start;
        rec->raw_len = content_end - r->start;
        r->consumed += next - r->start;
        r->start = next;
        r->line++;
        if (is_blank(rec->raw, rec->raw_len))
            continue;
        r->nfields = 0;
        if (push_field(r, rec->raw, rec->raw_len, 0, SIZE_MAX))
            return KZ_ENOMEM;
        rec->f = r->fields;
        rec->nfields = 1;
        return 1;
    }
}
