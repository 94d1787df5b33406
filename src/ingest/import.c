/*
 * import.c - the import driver: reading records, checking them against the
 * schema, upserting entities, rejects, custom fields (import.h).
 *
 * Events take their own path (import_events.c) because of their volume; both
 * share the reader, the header mapping and the rejects handling here.
 */
#define _GNU_SOURCE /* memfd_create */
#include "ingest/import.h"

#include <sys/mman.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/text.h"
#include "core/time.h"
#include "core/vec.h"
#include "ingest/import_internal.h"

#define FIELD_NAME_MAX 127

void kz_import_opts_init(kz_import_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = KZ_FMT_AUTO;
    o->max_field = 1 << 20;
    o->max_record = 16 << 20;
    o->block_events = 1 << 20;
    o->parallel_min = 32u << 20;
}

void kz_import_result_free(kz_import_result *r)
{
    free(r->rejects_path);
    r->rejects_path = NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

kz_format kz_format_of_path(const char *path)
{
    if (ends_with(path, ".csv") || ends_with(path, ".CSV"))
        return KZ_FMT_CSV;
    if (ends_with(path, ".ndjson") || ends_with(path, ".jsonl") || ends_with(path, ".json"))
        return KZ_FMT_NDJSON;
    return KZ_FMT_AUTO;
}

char *kz_rejects_path(const char *input, kz_format fmt)
{
    const char *ext = fmt == KZ_FMT_NDJSON ? ".ndjson" : ".csv";
    if (strcmp(input, "-") == 0) {
        size_t n = strlen("stdin.rejects") + strlen(ext) + 1;
        char *p = malloc(n);
        if (p)
            snprintf(p, n, "stdin.rejects%s", ext);
        return p;
    }
    const char *slash = strrchr(input, '/');
    const char *base = slash ? slash + 1 : input;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - input) : strlen(input);
    const char *tail = dot && dot != base ? dot : "";
    size_t n = stem + strlen(".rejects") + strlen(tail) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%.*s.rejects%s", (int)stem, input, tail);
    return p;
}

/* ---- names, --map and --ignore ------------------------------------------------ */

const char *kz_imp_mapped(const kz_imp *im, const char *name, size_t n, size_t *out_n)
{
    for (size_t i = 0; i < im->o->nmap; i++) {
        if (kz_streq(name, n, im->o->map_from[i])) {
            *out_n = strlen(im->o->map_to[i]);
            return im->o->map_to[i];
        }
    }
    *out_n = n;
    return name;
}

int kz_imp_ignored(const kz_imp *im, const char *name, size_t n)
{
    for (size_t i = 0; i < im->o->nignore; i++)
        if (kz_streq(name, n, im->o->ignore[i]))
            return 1;
    return 0;
}

/* ---- rejects ------------------------------------------------------------------ */

static int open_rejects(kz_imp *im)
{
    const kz_import_opts *o = im->o;
    im->rej_path = o->rejects ? strdup(o->rejects) : kz_rejects_path(im->path, im->ndjson ? KZ_FMT_NDJSON : KZ_FMT_CSV);
    if (!im->rej_path)
        return kz_error_oom();
    size_t n = strlen(im->rej_path) + 16;
    im->rej_tmp = malloc(n);
    if (!im->rej_tmp)
        return kz_error_oom();
    snprintf(im->rej_tmp, n, "%s.tmp", im->rej_path);
    im->rej = fopen(im->rej_tmp, "wb");
    if (!im->rej)
        return kz_error_set(KZ_EIO, "cannot write rejects file %s: %s", im->rej_tmp, strerror(errno));
    if (!im->ndjson && im->header_raw.len) {
        if (fwrite(im->header_raw.data, 1, im->header_raw.len, im->rej) != im->header_raw.len ||
            fputc('\n', im->rej) == EOF)
            return kz_error_set(KZ_EIO, "writing rejects file %s: %s", im->rej_tmp, strerror(errno));
    }
    return KZ_OK;
}

/* Reports one bad record now. */
static int emit_reject(kz_imp *im, int64_t line_no, const char *msg, const char *raw, size_t raw_len)
{
    char line[1200];
    snprintf(line, sizeof line, "%s:%lld: %s", im->name, (long long)line_no, msg);
    if (im->o->on_reject)
        im->o->on_reject(im->o->ctx, line);
    if (im->o->dry_run || im->o->no_rejects_file)
        return KZ_OK;
    if (!im->rej) {
        int rc = open_rejects(im);
        if (rc)
            return rc;
    }
    if (!raw)
        return KZ_OK; /* the record was too long to keep */
    if (fwrite(raw, 1, raw_len, im->rej) != raw_len || fputc('\n', im->rej) == EOF)
        return kz_error_set(KZ_EIO, "writing rejects file %s: %s", im->rej_tmp, strerror(errno));
    return KZ_OK;
}

int kz_imp_reject(kz_imp *im, kz_src *src, const char *raw, size_t raw_len, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    src->rejected++;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!src->held)
        return emit_reject(im, src->line, msg, raw, raw_len);
    /* kept as: line (8 bytes), message length (4), raw length (4, UINT32_MAX
     * when the raw bytes are lost), message, raw */
    size_t mlen = n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    uint32_t m32 = (uint32_t)mlen, r32 = raw ? (uint32_t)raw_len : UINT32_MAX;
    if (raw && raw_len >= UINT32_MAX)
        return kz_error_set(KZ_ETOOBIG, "rejected record too long");
    int64_t line_no = src->line;
    int rc = kz_buf_append(&src->kept, &line_no, sizeof line_no);
    if (!rc)
        rc = kz_buf_append(&src->kept, &m32, sizeof m32);
    if (!rc)
        rc = kz_buf_append(&src->kept, &r32, sizeof r32);
    if (!rc)
        rc = kz_buf_append(&src->kept, msg, mlen);
    if (!rc && raw)
        rc = kz_buf_append(&src->kept, raw, raw_len);
    return rc;
}

int kz_imp_release(kz_imp *im, kz_src *src, int64_t line_offset)
{
    size_t at = 0;
    while (at < src->kept.len) {
        int64_t line_no;
        uint32_t m32, r32;
        char msg[1024];
        memcpy(&line_no, src->kept.data + at, sizeof line_no);
        memcpy(&m32, src->kept.data + at + 8, sizeof m32);
        memcpy(&r32, src->kept.data + at + 12, sizeof r32);
        at += 16;
        memcpy(msg, src->kept.data + at, m32);
        msg[m32] = '\0';
        at += m32;
        const char *raw = r32 == UINT32_MAX ? NULL : src->kept.data + at;
        size_t raw_len = r32 == UINT32_MAX ? 0 : r32;
        at += raw_len;
        int rc = emit_reject(im, line_no + line_offset, msg, raw, raw_len);
        if (rc)
            return rc;
    }
    kz_buf_reset(&src->kept);
    return KZ_OK;
}

void kz_src_free(kz_src *src)
{
    kz_csv_close(src->rd);
    src->rd = NULL;
    kz_ndjson_free(&src->json);
    kz_buf_free(&src->kept);
}

/* Moves the rejects file into place, or removes a stale one when there were
 * no rejects this time. */
static int finish_rejects(kz_imp *im)
{
    if (im->o->dry_run || im->o->no_rejects_file)
        return KZ_OK;
    if (!im->rej) {
        char *stale = im->o->rejects ? strdup(im->o->rejects)
                                     : kz_rejects_path(im->path, im->ndjson ? KZ_FMT_NDJSON : KZ_FMT_CSV);
        if (stale && access(stale, F_OK) == 0)
            unlink(stale);
        free(stale);
        return KZ_OK;
    }
    int bad = fclose(im->rej) != 0;
    im->rej = NULL;
    if (bad || rename(im->rej_tmp, im->rej_path) != 0)
        return kz_error_set(KZ_EIO, "writing rejects file %s: %s", im->rej_path, strerror(errno));
    im->res->rejects_path = im->rej_path;
    im->rej_path = NULL;
    return KZ_OK;
}

/* ---- custom fields ------------------------------------------------------------ */

static int add_custom(kz_imp *im, const char *name, size_t n, size_t *out_idx)
{
    if (n == 0 || n > FIELD_NAME_MAX)
        return kz_error_set(KZ_EINVALID, "custom field name must be 1 to %d bytes", FIELD_NAME_MAX);
    if (kz_check_text(name, n, FIELD_NAME_MAX))
        return kz_error_prefix(KZ_EINVALID, "custom field name");
    for (size_t i = 0; i < im->ncustoms; i++) {
        if (im->customs[i].len == n && memcmp(im->customs[i].name, name, n) == 0) {
            *out_idx = i;
            return KZ_OK;
        }
    }
    if (im->ncustoms == im->custom_cap) {
        size_t ncap = im->custom_cap ? im->custom_cap * 2 : 16;
        kz_custom *nc = realloc(im->customs, ncap * sizeof *nc);
        if (!nc)
            return kz_error_oom();
        im->customs = nc;
        kz_rawval *nv = realloc(im->custom_vals, ncap * sizeof *nv);
        if (!nv)
            return kz_error_oom();
        im->custom_vals = nv;
        unsigned char *ng = realloc(im->custom_given, ncap);
        if (!ng)
            return kz_error_oom();
        im->custom_given = ng;
        im->custom_cap = ncap;
    }
    kz_custom *c = &im->customs[im->ncustoms];
    memset(c, 0, sizeof *c);
    c->name = kz_arena_strndup(im->arena, name, n);
    if (!c->name)
        return KZ_ENOMEM;
    c->len = n;
    c->may_bool = c->may_number = c->may_date = 1;
    /* defined already? */
    kz_field_def *defs = NULL;
    size_t nd = 0;
    int rc = kz_store_fields(im->st, &defs, &nd);
    if (rc)
        return rc;
    for (size_t i = 0; i < nd; i++) {
        if (strcmp(defs[i].name, c->name) == 0) {
            c->defined = 1;
            c->field_id = defs[i].id;
            c->type = defs[i].type;
        }
    }
    free(defs);
    for (size_t i = 0; i < im->o->ntypes; i++) {
        if (strcmp(im->o->type_names[i], c->name) != 0)
            continue;
        if (c->defined && c->type != im->o->types[i])
            return kz_error_set(KZ_ECONFLICT, "custom field '%s' is already %s; --type says %s", c->name,
                                kz_field_type_name(c->type), kz_field_type_name(im->o->types[i]));
        if (!c->defined) {
            rc = kz_store_field_define(im->st, c->name, im->o->types[i], &c->field_id);
            if (rc)
                return rc;
            c->defined = 1;
            c->type = im->o->types[i];
            c->typed_by_flag = 1;
            im->res->fields_defined++;
        }
    }
    im->custom_vals[im->ncustoms].type = KZ_JNULL;
    im->custom_given[im->ncustoms] = 0;
    *out_idx = im->ncustoms++;
    return KZ_OK;
}

static int infer_literal_bool(const char *s, size_t n)
{
    static const char *words[] = { "true", "false", "yes", "no" };
    for (size_t i = 0; i < 4; i++) {
        size_t m = strlen(words[i]);
        if (m != n)
            continue;
        size_t k = 0;
        while (k < n && (s[k] | 0x20) == words[i][k])
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

/* Converts a custom value of a known type. */
static int custom_value(const kz_custom *c, const kz_rawval *v, size_t max, kz_value *out)
{
    if (v->type == KZ_JNULL || (v->type == KZ_JSTRING && v->n == 0)) {
        *out = kz_vnull();
        return KZ_OK;
    }
    if (v->type == KZ_JOBJECT || v->type == KZ_JARRAY)
        return kz_error_set(KZ_EINVALID, "a custom field holds one value, not a JSON %s", kz_jtype_name(v->type));
    switch (c->type) {
    case KZ_FIELD_NUMBER: {
        double d;
        if (v->type == KZ_JBOOL || kz_parse_double(&d, v->s, v->n))
            return kz_error_set(KZ_EINVALID, "'%.*s' is not a number (the field is number)", (int)(v->n > 40 ? 40 : v->n), v->s);
        *out = kz_vreal(d);
        return KZ_OK;
    }
    case KZ_FIELD_DATE: {
        kz_time t;
        if (v->type != KZ_JSTRING || kz_parse_time(&t, NULL, v->s, v->n))
            return kz_error_set(KZ_EINVALID, "'%.*s' is not an ISO-8601 date (the field is date)", (int)(v->n > 40 ? 40 : v->n), v->s);
        *out = kz_vint(t);
        return KZ_OK;
    }
    case KZ_FIELD_BOOLEAN: {
        int b;
        if (kz_parse_bool(&b, v->s, v->n))
            return kz_error_set(KZ_EINVALID, "'%.*s' is not true or false (the field is boolean)", (int)(v->n > 40 ? 40 : v->n), v->s);
        *out = kz_vint(b);
        return KZ_OK;
    }
    case KZ_FIELD_TEXT:
        if (kz_check_text(v->s, v->n, max))
            return KZ_EINVALID;
        *out = kz_vtext(v->s, v->n);
        return KZ_OK;
    }
    return KZ_EINVALID;
}

/* ---- reading records ------------------------------------------------------------ */

static int read_header(kz_imp *im)
{
    kz_csv_rec rec;
    int rc = kz_csv_next(im->src.rd, &rec);
    if (rc == 0)
        return kz_error_set(KZ_EINVALID, "%s: the file is empty (a header row is required)", im->name);
    if (rc < 0)
        return kz_error_prefix(rc, "%s:%lld: header", im->name, (long long)rec.line);
    if (kz_buf_append(&im->header_raw, rec.raw, rec.raw_len))
        return KZ_ENOMEM;
    im->ncols = rec.nfields;
    im->col_role = calloc(rec.nfields, sizeof *im->col_role);
    im->col_target = calloc(rec.nfields, sizeof *im->col_target);
    if (!im->col_role || !im->col_target)
        return kz_error_oom();
    for (size_t i = 0; i < rec.nfields; i++) {
        const kz_field *f = &rec.f[i];
        size_t n;
        if (kz_check_text(f->p, f->n, 1024))
            return kz_error_prefix(KZ_EINVALID, "%s:%lld: header: column %zu", im->name, (long long)rec.line, i + 1);
        for (size_t j = 0; j < i; j++) {
            const kz_field *g = &rec.f[j];
            if (g->n == f->n && memcmp(g->p, f->p, f->n) == 0)
                return kz_error_set(KZ_EINVALID, "%s:%lld: header: column '%.*s' appears twice", im->name,
                                    (long long)rec.line, (int)f->n, f->p);
        }
        if (kz_imp_ignored(im, f->p, f->n)) {
            im->col_role[i] = COL_IGNORED;
            continue;
        }
        const char *name = kz_imp_mapped(im, f->p, f->n, &n);
        const kz_input_field *fd = kz_schema_field(im->sc, name, n);
        if (fd) {
            size_t idx = (size_t)(fd - im->sc->fields);
            if (im->header_fields & ((uint64_t)1 << idx))
                return kz_error_set(KZ_EINVALID, "%s:%lld: header: two columns are field '%s' (check --map)",
                                    im->name, (long long)rec.line, fd->name);
            im->col_role[i] = COL_FIELD;
            im->col_target[i] = (int)idx;
            im->header_fields |= (uint64_t)1 << idx;
        } else if (im->sc->custom_fields) {
            size_t ci;
            rc = add_custom(im, name, n, &ci);
            if (rc)
                return kz_error_prefix(rc, "%s:%lld: header: column '%.*s'", im->name, (long long)rec.line,
                                       (int)(n > 60 ? 60 : n), name);
            im->col_role[i] = COL_CUSTOM;
            im->col_target[i] = (int)ci;
        } else {
            return kz_error_set(KZ_EINVALID,
                                "%s:%lld: header: column '%.*s' is not a field of %s "
                                "(rename it with --map, or drop it with --ignore)",
                                im->name, (long long)rec.line, (int)(n > 60 ? 60 : n), name, im->sc->name);
        }
    }
    for (size_t i = 0; i < im->sc->nfields; i++)
        if (im->sc->fields[i].required && !(im->header_fields & ((uint64_t)1 << i)))
            return kz_error_set(KZ_EINVALID, "%s:%lld: header: required column '%s' is missing", im->name,
                                (long long)rec.line, im->sc->fields[i].name);
    return KZ_OK;
}

void kz_imp_progress(kz_imp *im, int force, uint64_t extra_bytes, int64_t extra_rows)
{
    uint64_t off = kz_csv_offset(im->src.rd) + extra_bytes;
    if (!im->o->on_progress)
        return;
    if (!force && off - im->progress_bytes < (1u << 20))
        return;
    im->progress_bytes = off;
    im->o->on_progress(im->o->ctx, off, kz_csv_size(im->src.rd), im->src.rows + extra_rows);
}

int kz_imp_next(kz_imp *im, kz_src *src, kz_rawval *vals, uint64_t *present, const char **raw, size_t *raw_len)
{
    kz_csv_rec rec;
    int rc;

    static const kz_rawval none = { KZ_JNULL, NULL, 0 };
    for (size_t i = 0; i < im->sc->nfields; i++)
        vals[i] = none;
    for (size_t i = 0; i < im->ncustoms; i++) {
        im->custom_vals[i] = none;
        im->custom_given[i] = 0;
    }
    *present = 0;
    rc = im->ndjson ? kz_csv_next_line(src->rd, &rec) : kz_csv_next(src->rd, &rec);
    if (rc == 0)
        return 0;
    src->line = rec.line;
    *raw = rec.raw;
    *raw_len = rec.raw_len;
    if (rc == KZ_EINVALID) {
        src->rows++;
        rc = kz_imp_reject(im, src, rec.raw, rec.raw_len, "%s", kz_error_msg());
        return rc ? rc : KZ_EINVALID;
    }
    if (rc < 0)
        return kz_error_prefix(rc, "%s:%lld", im->name, (long long)rec.line);
    src->rows++;
    if (!im->ndjson) {
        if (rec.nfields != im->ncols) {
            rc = kz_imp_reject(im, src, rec.raw, rec.raw_len, "expected %zu fields (as in the header), found %zu",
                               im->ncols, rec.nfields);
            return rc ? rc : KZ_EINVALID;
        }
        for (size_t i = 0; i < rec.nfields; i++) {
            kz_rawval v = { rec.f[i].n ? KZ_JSTRING : KZ_JNULL, rec.f[i].p, rec.f[i].n };
            if (im->col_role[i] == COL_FIELD)
                vals[im->col_target[i]] = v;
            else if (im->col_role[i] == COL_CUSTOM) {
                im->custom_vals[im->col_target[i]] = v;
                im->custom_given[im->col_target[i]] = 1;
            }
        }
        *present = im->header_fields;
        return 1;
    }
    rc = kz_ndjson_parse(&src->json, rec.f[0].p, rec.f[0].n);
    if (rc) {
        rc = kz_imp_reject(im, src, rec.raw, rec.raw_len, "%s", kz_error_msg());
        return rc ? rc : KZ_EINVALID;
    }
    for (size_t k = 0; k < src->json.n; k++) {
        const kz_jpair *pr = &src->json.pairs[k];
        size_t n;
        if (kz_imp_ignored(im, pr->key, pr->key_len))
            continue;
        const char *name = kz_imp_mapped(im, pr->key, pr->key_len, &n);
        const kz_input_field *fd = kz_schema_field(im->sc, name, n);
        kz_rawval v = { pr->type, pr->val, pr->val_len };
        if (fd) {
            size_t idx = (size_t)(fd - im->sc->fields);
            vals[idx] = v;
            *present |= (uint64_t)1 << idx;
        } else if (im->sc->custom_fields) {
            size_t ci;
            rc = add_custom(im, name, n, &ci);
            if (rc) {
                if (rc != KZ_EINVALID)
                    return rc;
                rc = kz_imp_reject(im, src, rec.raw, rec.raw_len, "%.*s: %s", (int)(n > 60 ? 60 : n), name, kz_error_msg());
                return rc ? rc : KZ_EINVALID;
            }
            im->custom_vals[ci] = v;
            im->custom_given[ci] = 1;
        } else {
            rc = kz_imp_reject(im, src, rec.raw, rec.raw_len,
                               "%.*s: not a field of %s (rename it with --map, or drop it with --ignore)",
                               (int)(n > 60 ? 60 : n), name, im->sc->name);
            return rc ? rc : KZ_EINVALID;
        }
    }
    for (size_t i = 0; i < im->sc->nfields; i++) {
        if (im->sc->fields[i].required && !(*present & ((uint64_t)1 << i))) {
            rc = kz_imp_reject(im, src, rec.raw, rec.raw_len, "%s: required, but missing", im->sc->fields[i].name);
            return rc ? rc : KZ_EINVALID;
        }
    }
    return 1;
}

/* ---- entities ----------------------------------------------------------------- */

/* A custom value waiting for its field's type to be inferred. */
struct deferred {
    int64_t account_id;
    size_t custom;
    kz_rawval v;      /* copied into the arena */
    size_t row_slot;  /* index into the row outcomes, to count a change */
};

/* A key met earlier in the file: the hash of its row and where it was. */
struct seen_row {
    uint64_t hash;
    int64_t line;
};

struct entity_state {
    KZ_VEC(struct deferred) def;
    KZ_VEC(kz_row_change) outcome; /* per row with deferred values */
    kz_strmap *seen;               /* key -> index into rows */
    KZ_VEC(struct seen_row) rows;
};

static uint64_t row_hash(const kz_imp *im, const kz_value *row, size_t ncols, uint64_t present)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ present;
    for (size_t c = 0; c < ncols; c++) {
        const kz_value *v = &row[c];
        uint64_t x = (uint64_t)v->kind * 0x100000001b3ULL + c;
        if (v->kind == KZ_VTEXT)
            x ^= kz_hash64(v->s, v->n, c);
        else if (v->kind == KZ_VINT)
            x ^= kz_mix64((uint64_t)v->i);
        else if (v->kind == KZ_VREAL) {
            uint64_t bits;
            memcpy(&bits, &v->d, sizeof bits);
            x ^= kz_mix64(bits);
        }
        h = kz_mix64(h ^ x);
    }
    for (size_t i = 0; i < im->ncustoms; i++) {
        const kz_rawval *v = &im->custom_vals[i];
        if (!im->custom_given[i])
            continue;
        h = kz_mix64(h ^ kz_hash64(im->customs[i].name, im->customs[i].len, 7) ^ (uint64_t)v->type);
        if (v->type != KZ_JNULL)
            h = kz_mix64(h ^ kz_hash64(v->s, v->n, 11));
    }
    return h;
}

/* Duplicate ids within one file: identical repeats are harmless, differing ones
 * are rejected (which one wins would be a guess). 1: skip the row (identical),
 * 0: go on, KZ_EINVALID: rejected. */
static int check_repeat(kz_imp *im, struct entity_state *es, const kz_value *row, size_t ncols, uint64_t present,
                        const char *raw, size_t raw_len)
{
    char key[600];
    size_t klen;
    int nkeys = im->sc->entity == KZ_ENT_SPEND ? 2 : 1;
    /* the key as bytes: month and channel for spend */
    if (nkeys == 2)
        klen = (size_t)snprintf(key, sizeof key, "%lld\x1f%.*s", (long long)row[0].i,
                                (int)(row[1].kind == KZ_VTEXT ? (row[1].n > 500 ? 500 : row[1].n) : 0),
                                row[1].kind == KZ_VTEXT ? row[1].s : "");
    else
        klen = (size_t)snprintf(key, sizeof key, "%.*s", (int)(row[0].n > 500 ? 500 : row[0].n), row[0].s);
    uint64_t h = row_hash(im, row, ncols, present);
    int64_t at = kz_strmap_get(es->seen, key, klen);
    if (at >= 0) {
        if (es->rows.v[at].hash == h)
            return 1;
        int rc = kz_imp_reject(im, &im->src, raw, raw_len, "%s: '%.*s' appears again with different values (first at line %lld)",
                               im->sc->fields[0].name, (int)(klen > 80 ? 80 : klen), key, (long long)es->rows.v[at].line);
        return rc ? rc : KZ_EINVALID;
    }
    struct seen_row sr = { h, im->src.line };
    if (kz_strmap_put(es->seen, key, klen, (uint32_t)es->rows.n) || kz_vec_push(&es->rows, sr))
        return KZ_ENOMEM;
    return 0;
}

/* Checks between fields of one row; 0 or KZ_EINVALID with "column: reason". */
static int cross_checks(kz_imp *im, kz_value *row, uint64_t *present, uint64_t *defaults, char *why,
                        size_t cap)
{
    switch (im->sc->entity) {
    case KZ_ENT_SUBSCRIPTION:
        if (row[KZ_SUB_END].kind == KZ_VINT && row[KZ_SUB_END].i <= row[KZ_SUB_START].i) {
            snprintf(why, cap, "end_date: must be after start_date (the end date is exclusive)");
            return KZ_EINVALID;
        }
        break;
    case KZ_ENT_TICKET:
        if (row[KZ_TICKET_FIRST_RESPONSE].kind == KZ_VINT && row[KZ_TICKET_FIRST_RESPONSE].i < row[KZ_TICKET_OPENED].i) {
            snprintf(why, cap, "first_response_at: before opened_at");
            return KZ_EINVALID;
        }
        if (row[KZ_TICKET_RESOLVED].kind == KZ_VINT && row[KZ_TICKET_RESOLVED].i < row[KZ_TICKET_OPENED].i) {
            snprintf(why, cap, "resolved_at: before opened_at");
            return KZ_EINVALID;
        }
        if (*present & ((uint64_t)1 << KZ_TICKET_CATEGORY)) {
            *present |= (uint64_t)1 << KZ_TICKET_CATEGORY_SOURCE;
            if (row[KZ_TICKET_CATEGORY].kind == KZ_VNULL) {
                const kz_value *s = &row[KZ_TICKET_SUBJECT], *b = &row[KZ_TICKET_BODY];
                const char *cat = kz_classify_ticket(s->kind == KZ_VTEXT ? s->s : NULL, s->n,
                                                     b->kind == KZ_VTEXT ? b->s : NULL, b->n);
                row[KZ_TICKET_CATEGORY] = kz_vtext(cat, strlen(cat));
                row[KZ_TICKET_CATEGORY_SOURCE] = kz_vtext("classified", 10);
            } else {
                row[KZ_TICKET_CATEGORY_SOURCE] = kz_vtext("imported", 8);
            }
        } else {
            /* no category column: classify new tickets; keep the category of stored ones */
            const kz_value *s = &row[KZ_TICKET_SUBJECT], *b = &row[KZ_TICKET_BODY];
            const char *cat = kz_classify_ticket(s->kind == KZ_VTEXT ? s->s : NULL, s->n,
                                                 b->kind == KZ_VTEXT ? b->s : NULL, b->n);
            row[KZ_TICKET_CATEGORY] = kz_vtext(cat, strlen(cat));
            row[KZ_TICKET_CATEGORY_SOURCE] = kz_vtext("classified", 10);
            *defaults |= (uint64_t)1 << KZ_TICKET_CATEGORY | (uint64_t)1 << KZ_TICKET_CATEGORY_SOURCE;
        }
        break;
    case KZ_ENT_NPS:
        if (row[KZ_NPS_CONTACT].kind == KZ_VINT) {
            int64_t acc = 0;
            int rc = kz_store_contact_account(im->st, row[KZ_NPS_CONTACT].i, &acc);
            if (rc && rc != KZ_ENOTFOUND)
                return rc;
            if (rc || acc != row[KZ_NPS_ACCOUNT].i) {
                snprintf(why, cap, "contact_id: the contact belongs to another account");
                return KZ_EINVALID;
            }
        }
        break;
    case KZ_ENT_SPEND:
        /* channel is part of the key: '' when absent or empty */
        if (row[KZ_SPEND_CHANNEL].kind == KZ_VNULL)
            row[KZ_SPEND_CHANNEL] = kz_vtext("", 0);
        *present |= (uint64_t)1 << KZ_SPEND_CHANNEL;
        break;
    default:
        break;
    }
    return KZ_OK;
}

static int defer_value(kz_imp *im, struct entity_state *es, int64_t account_id, size_t ci, size_t slot)
{
    const kz_rawval *v = &im->custom_vals[ci];
    kz_custom *c = &im->customs[ci];
    if (kz_vec_reserve(&es->def, es->def.n + 1))
        return KZ_ENOMEM;
    struct deferred *d = &es->def.v[es->def.n++];
    d->account_id = account_id;
    d->custom = ci;
    d->row_slot = slot;
    d->v.type = v->type;
    d->v.n = v->n;
    d->v.s = NULL;
    if (v->type != KZ_JNULL) {
        d->v.s = kz_arena_strndup(im->arena, v->s, v->n);
        if (!d->v.s)
            return KZ_ENOMEM;
        c->seen = 1;
        if (v->type != KZ_JBOOL && !(v->type == KZ_JSTRING && infer_literal_bool(v->s, v->n)))
            c->may_bool = 0;
        double dd;
        if (v->type == KZ_JBOOL || (v->type == KZ_JSTRING ? kz_parse_double(&dd, v->s, v->n) != 0 : v->type != KZ_JNUMBER))
            c->may_number = 0;
        kz_time t;
        if (v->type != KZ_JSTRING || kz_parse_time(&t, NULL, v->s, v->n))
            c->may_date = 0;
    }
    return KZ_OK;
}

/* Defines the new custom fields by what their values fit, then writes them. */
static int flush_deferred(kz_imp *im, struct entity_state *es)
{
    for (size_t i = 0; i < im->ncustoms; i++) {
        kz_custom *c = &im->customs[i];
        if (c->defined)
            continue;
        c->type = !c->seen ? KZ_FIELD_TEXT
                  : c->may_bool ? KZ_FIELD_BOOLEAN
                  : c->may_number ? KZ_FIELD_NUMBER
                  : c->may_date ? KZ_FIELD_DATE
                  : KZ_FIELD_TEXT;
        int rc = kz_store_field_define(im->st, c->name, c->type, &c->field_id);
        if (rc)
            return rc;
        c->defined = 1;
        im->res->fields_defined++;
    }
    for (size_t k = 0; k < es->def.n; k++) {
        struct deferred *d = &es->def.v[k];
        kz_value v;
        int changed = 0;
        kz_rawval rv = d->v;
        /* JSON numbers kept as their literal text in a text field */
        if (im->customs[d->custom].type == KZ_FIELD_TEXT && (rv.type == KZ_JNUMBER || rv.type == KZ_JBOOL))
            rv.type = KZ_JSTRING;
        int rc = custom_value(&im->customs[d->custom], &rv, im->o->max_field, &v);
        if (rc)
            return kz_error_prefix(KZ_ERROR, "custom field '%s'", im->customs[d->custom].name);
        rc = kz_store_field_set(im->st, d->account_id, im->customs[d->custom].field_id, &v, &changed);
        if (rc)
            return rc;
        if (changed && es->outcome.v[d->row_slot] == KZ_ROW_UNCHANGED) {
            es->outcome.v[d->row_slot] = KZ_ROW_UPDATED;
            im->res->unchanged--;
            im->res->updated++;
        }
    }
    return KZ_OK;
}

static int import_entities(kz_imp *im)
{
    const kz_import_schema *sc = im->sc;
    kz_entity ent = (kz_entity)sc->entity;
    size_t ncols;
    kz_store_columns(ent, &ncols);
    kz_rawval vals[KZ_STORE_MAX_COLS];
    kz_value row[KZ_STORE_MAX_COLS];
    struct entity_state es;
    int rc = KZ_OK;

    memset(&es, 0, sizeof es);
    es.seen = kz_strmap_new(1024);
    if (!es.seen)
        return KZ_ENOMEM;
    /* into an empty table every row is new (repeats within the file are caught
     * by check_repeat), so rows are inserted without looking them up first */
    int64_t stored = 0;
    rc = kz_store_count(im->st, ent, &stored);
    if (rc)
        goto done;
    for (;;) {
        const char *raw = NULL;
        size_t raw_len = 0;
        uint64_t in_present = 0, present = 0, defaults = 0;
        char why[512];

        rc = kz_imp_next(im, &im->src, vals, &in_present, &raw, &raw_len);
        if (rc == 0)
            break;
        kz_imp_progress(im, 0, 0, 0);
        if (rc == KZ_EINVALID)
            continue;
        if (rc < 0)
            goto done;
        /* validate the fields into store columns */
        for (size_t c = 0; c < ncols; c++)
            row[c] = kz_vnull();
        int bad = 0;
        for (size_t i = 0; i < sc->nfields && !bad; i++) {
            const kz_input_field *f = &sc->fields[i];
            if (!(in_present & ((uint64_t)1 << i)))
                continue;
            if (kz_validate(&im->vctx, f, &vals[i], &row[f->col])) {
                rc = kz_imp_reject(im, &im->src, raw, raw_len, "%s: %s", f->name, kz_error_msg());
                bad = 1;
            }
            present |= (uint64_t)1 << f->col;
        }
        if (!bad) {
            int cr = cross_checks(im, row, &present, &defaults, why, sizeof why);
            if (cr == KZ_EINVALID) {
                rc = kz_imp_reject(im, &im->src, raw, raw_len, "%s", why);
                bad = 1;
            } else if (cr) {
                rc = cr;
                goto done;
            }
        }
        /* custom values of known type are checked now; new fields wait */
        kz_value cvals[64];
        size_t ncv = im->ncustoms < 64 ? im->ncustoms : 64;
        if (im->ncustoms > 64 && !bad) {
            rc = kz_imp_reject(im, &im->src, raw, raw_len, "more than 64 custom fields");
            bad = 1;
        }
        for (size_t ci = 0; ci < ncv && !bad; ci++) {
            if (!im->custom_given[ci] || !im->customs[ci].defined)
                continue;
            if (custom_value(&im->customs[ci], &im->custom_vals[ci], im->o->max_field, &cvals[ci])) {
                rc = kz_imp_reject(im, &im->src, raw, raw_len, "%s: %s", im->customs[ci].name, kz_error_msg());
                bad = 1;
            }
        }
        if (rc < 0)
            goto done;
        if (bad)
            continue;
        int rep = check_repeat(im, &es, row, ncols, present, raw, raw_len);
        if (rep == 1) {
            im->res->unchanged++;
            continue;
        }
        if (rep == KZ_EINVALID)
            continue;
        if (rep < 0) {
            rc = rep;
            goto done;
        }
        int64_t id = 0;
        kz_row_change change = KZ_ROW_INSERTED;
        if (stored == 0)
            rc = kz_store_insert(im->st, ent, row, present | defaults, &id);
        else
            rc = kz_store_upsert(im->st, ent, row, present, defaults, &id, &change);
        if (rc == KZ_EINVALID) {
            rc = kz_imp_reject(im, &im->src, raw, raw_len, "rejected by the database: %s", kz_error_msg());
            if (rc)
                goto done;
            continue;
        }
        if (rc)
            goto done;
        size_t slot = SIZE_MAX;
        for (size_t ci = 0; ci < ncv; ci++) {
            if (!im->custom_given[ci])
                continue;
            if (im->customs[ci].defined) {
                int changed = 0;
                rc = kz_store_field_set(im->st, id, im->customs[ci].field_id, &cvals[ci], &changed);
                if (rc)
                    goto done;
                if (changed && change == KZ_ROW_UNCHANGED)
                    change = KZ_ROW_UPDATED;
            } else {
                if (slot == SIZE_MAX) {
                    slot = es.outcome.n;
                    if ((rc = kz_vec_push(&es.outcome, change)) != 0)
                        goto done;
                }
                rc = defer_value(im, &es, id, ci, slot);
                if (rc)
                    goto done;
            }
        }
        if (slot != SIZE_MAX)
            es.outcome.v[slot] = change;
        if (change == KZ_ROW_INSERTED)
            im->res->inserted++;
        else if (change == KZ_ROW_UPDATED)
            im->res->updated++;
        else
            im->res->unchanged++;
    }
    rc = flush_deferred(im, &es);
    /* a file of only new custom columns with no values still defines them */
done:
    kz_strmap_free(es.seen);
    kz_vec_free(&es.rows);
    kz_vec_free(&es.def);
    kz_vec_free(&es.outcome);
    return rc;
}

/* ---- the driver ------------------------------------------------------------------ */

static void imp_free(kz_imp *im)
{
    if (im->rej) {
        fclose(im->rej);
        unlink(im->rej_tmp);
    }
    free(im->rej_path);
    free(im->rej_tmp);
    kz_src_free(&im->src);
    kz_arena_free(im->arena);
    kz_strmap_free(im->accounts);
    kz_strmap_free(im->contacts);
    free(im->col_role);
    free(im->col_target);
    free(im->customs);
    free(im->custom_vals);
    free(im->custom_given);
    kz_buf_free(&im->header_raw);
}

int kz_import(kz_store *st, const char *path, const kz_import_opts *o, kz_import_result *res)
{
    kz_imp im;
    kz_import_rec rec;
    double t0 = kz_monotonic();
    kz_time started = kz_now();
    int rc, in_tx = 0;

    memset(res, 0, sizeof *res);
    memset(&im, 0, sizeof im);
    im.st = st;
    im.o = o;
    im.res = res;
    im.path = path;
    im.name = o->name ? o->name : path;
    im.sc = kz_import_schema_of(o->kind);
    kz_buf_init(&im.header_raw, 1 << 20);
    kz_ndjson_init(&im.src.json, o->max_record);
    kz_buf_init(&im.src.kept, KZ_BUF_UNLIMITED);
    kz_format fmt = o->format != KZ_FMT_AUTO ? o->format : kz_format_of_path(path);
    if (fmt == KZ_FMT_AUTO) {
        if (strcmp(path, "-") == 0) {
            rc = kz_error_set(KZ_EINVALID, "standard input: give --format csv or --format ndjson");
            goto done;
        }
        fmt = KZ_FMT_CSV; /* files without a known extension are read as CSV */
    }
    im.ndjson = fmt == KZ_FMT_NDJSON;
    res->format = im.ndjson ? "ndjson" : "csv";
    im.arena = kz_arena_new(0);
    im.accounts = kz_strmap_new(1024);
    if (!im.arena || !im.accounts) {
        rc = KZ_ENOMEM;
        goto done;
    }
    rc = kz_csv_open(&im.src.rd, path, o->max_record);
    if (rc)
        goto done;
    rc = kz_store_begin(st);
    if (rc)
        goto done;
    in_tx = 1;
    rc = kz_store_keys(st, KZ_ENT_ACCOUNT, im.accounts);
    if (rc)
        goto done;
    if (o->kind == KZ_IMP_NPS) {
        im.contacts = kz_strmap_new(1024);
        if (!im.contacts) {
            rc = KZ_ENOMEM;
            goto done;
        }
        rc = kz_store_keys(st, KZ_ENT_CONTACT, im.contacts);
        if (rc)
            goto done;
    }
    im.vctx.accounts = im.accounts;
    im.vctx.contacts = im.contacts;
    im.vctx.max_field = o->max_field;
    if (!im.ndjson) {
        rc = read_header(&im);
        if (rc)
            goto done;
    }
    rc = o->kind == KZ_IMP_EVENTS ? kz_import_events(&im) : import_entities(&im);
    res->rows = im.src.rows;
    res->rejected = im.src.rejected;
    if (rc)
        goto done;
    kz_imp_progress(&im, 1, 0, 0);
    const char *status = o->dry_run ? "dry run" : (o->strict && res->rejected) ? "rolled back" : "committed";
    memset(&rec, 0, sizeof rec);
    rec.entity = im.sc->name;
    rec.source = im.name;
    rec.format = res->format;
    rec.started_at = started;
    rec.finished_at = kz_now();
    rec.rows_ok = res->rows - res->rejected;
    rec.rows_rejected = res->rejected;
    rec.inserted = res->inserted;
    rec.updated = res->updated;
    rec.unchanged = res->unchanged;
    rec.status = status;
    KZ_LOG(KZ_LOG_DEBUG, "import: rows read", "file=%s rows=%lld seconds=%.3f", path, (long long)res->rows,
           kz_monotonic() - t0);
    if (strcmp(status, "committed") == 0) {
        rc = kz_store_import_log(st, &rec);
        if (!rc && (res->inserted || res->updated || res->fields_defined))
            rc = kz_store_touch(st);
        if (!rc && o->before_commit)
            rc = o->before_commit(o->ctx, st, res);
        if (!rc)
            rc = kz_store_commit(st);
        KZ_LOG(KZ_LOG_DEBUG, "import: committed", "file=%s seconds=%.3f", path, kz_monotonic() - t0);
        if (rc)
            goto done;
        in_tx = 0;
        res->committed = 1;
    } else {
        rc = kz_store_rollback(st);
        in_tx = 0;
        if (rc)
            goto done;
    }
    rc = finish_rejects(&im);
done:
    if (in_tx)
        kz_store_rollback(st);
    if (rc && !strstr(kz_error_msg(), im.name))
        kz_error_prefix(rc, "%s", im.name);
    imp_free(&im);
    res->seconds = kz_monotonic() - t0;
    return rc;
}

int kz_import_buffer(kz_store *st, const void *data, size_t n, const kz_import_opts *o, kz_import_result *res)
{
    memset(res, 0, sizeof *res);
    if (o->format == KZ_FMT_AUTO)
        return kz_error_set(KZ_EINVALID, "%s: say whether it is CSV or NDJSON", o->name ? o->name : "the data");
    /* a file in memory, so that the importer reads it as it reads any file */
    int fd = memfd_create("kizuna-import", MFD_CLOEXEC);
    if (fd < 0)
        return kz_error_set(KZ_EIO, "no memory file for the import: %s", strerror(errno));
    const char *p = data;
    size_t left = n;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int err = errno;
            close(fd);
            return kz_error_set(KZ_EIO, "writing the memory file of the import: %s", strerror(err));
        }
        p += w;
        left -= (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    kz_import_opts oo = *o;
    oo.no_rejects_file = 1;
    if (!oo.name)
        oo.name = "body";
    int rc = kz_import(st, path, &oo, res);
    close(fd);
    return rc;
}
