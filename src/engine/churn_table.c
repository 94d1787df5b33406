/*
 * churn_table.c - churn models on an analyst's own feature table: a CSV file
 * with one row per customer, an id column, a label column when training, and
 * any other columns as features (churn.h).
 *
 * The encoding is learnt from the training table and saved with the model,
 * so that prediction reads a new table the same way: a column whose values
 * are all numbers (or all booleans) is a number, blank cells missing; any
 * other column is categorical, one 0/1 feature per common value. Every bad
 * cell stops with its file, line and column: nothing is guessed.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/jsonw.h"
#include "core/text.h"
#include "engine/churn.h"
#include "engine/churn_internal.h"
#include "ingest/csv.h"

#define MAX_RECORD (16u << 20)

struct kz_ftable {
    char *path;
    size_t n, ncols;
    char **header;     /* ncols */
    char ***cell;      /* ncols columns of n cells; NULL when blank */
    int64_t *line;     /* n: the line of each row */
    size_t id_col, label_col; /* label_col = ncols when absent */
    int8_t *label;     /* n; -1 when there is no label column */
};

void kz_ftable_free(kz_ftable *t)
{
    if (!t)
        return;
    for (size_t c = 0; t->cell && c < t->ncols; c++) {
        for (size_t i = 0; t->cell[c] && i < t->n; i++)
            free(t->cell[c][i]);
        free(t->cell[c]);
    }
    for (size_t c = 0; t->header && c < t->ncols; c++)
        free(t->header[c]);
    free(t->cell);
    free(t->header);
    free(t->line);
    free(t->label);
    free(t->path);
    free(t);
}

size_t kz_ftable_rows(const kz_ftable *t)
{
    return t->n;
}

const char *kz_ftable_id(const kz_ftable *t, size_t i)
{
    return t->cell[t->id_col][i];
}

const char *kz_ftable_id_column(const kz_ftable *t)
{
    return t->header[t->id_col];
}

/* The column called name, or ncols. */
static size_t column(const kz_ftable *t, const char *name)
{
    for (size_t c = 0; c < t->ncols; c++)
        if (strcmp(t->header[c], name) == 0)
            return c;
    return t->ncols;
}

static int no_column(const kz_ftable *t, const char *what, const char *name)
{
    char list[512];
    size_t n = 0;
    list[0] = '\0';
    for (size_t c = 0; c < t->ncols && n + 4 < sizeof list; c++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", c ? ", " : "", t->header[c]);
    return kz_error_set(KZ_EINVALID, "%s: no %s column '%s' (the columns: %s)", t->path, what, name, list);
}

static int grow_rows(kz_ftable *t, size_t *cap)
{
    if (t->n < *cap)
        return KZ_OK;
    size_t n = *cap ? *cap * 2 : 1024;
    for (size_t c = 0; c < t->ncols; c++) {
        char **col = realloc(t->cell[c], n * sizeof *col);
        if (!col)
            return kz_error_oom();
        t->cell[c] = col;
    }
    int64_t *line = realloc(t->line, n * sizeof *line);
    if (!line)
        return kz_error_oom();
    t->line = line;
    *cap = n;
    return KZ_OK;
}

struct idx {
    const char *id;
    size_t row;
};

static int cmp_idx(const void *x, const void *y)
{
    const struct idx *a = x, *b = y;
    int c = strcmp(a->id, b->id);
    return c ? c : (a->row > b->row) - (a->row < b->row);
}

/* Every id once, none empty. */
static int check_ids(kz_ftable *t)
{
    struct idx *v = malloc((t->n ? t->n : 1) * sizeof *v);
    int rc = KZ_OK;
    if (!v)
        return kz_error_oom();
    for (size_t i = 0; i < t->n && !rc; i++) {
        if (!t->cell[t->id_col][i])
            rc = kz_error_set(KZ_EINVALID, "%s:%lld: column '%s': the id is empty", t->path, (long long)t->line[i],
                              t->header[t->id_col]);
        v[i] = (struct idx){ t->cell[t->id_col][i], i };
    }
    if (!rc && t->n > 1) {
        qsort(v, t->n, sizeof *v, cmp_idx);
        for (size_t i = 1; i < t->n && !rc; i++)
            if (strcmp(v[i].id, v[i - 1].id) == 0)
                rc = kz_error_set(KZ_EINVALID, "%s:%lld: column '%s': id '%s' again (first on line %lld)", t->path,
                                  (long long)t->line[v[i].row], t->header[t->id_col], v[i].id,
                                  (long long)t->line[v[i - 1].row]);
    }
    free(v);
    return rc;
}

int kz_ftable_read(kz_ftable **out, const char *path, const char *id_col, const char *label_col)
{
    kz_ftable *t = calloc(1, sizeof *t);
    kz_csv *r = NULL;
    kz_csv_rec rec;
    size_t cap = 0;
    int rc;
    *out = NULL;
    if (!t || !(t->path = strdup(path))) {
        free(t);
        return kz_error_oom();
    }
    if ((rc = kz_csv_open(&r, path, MAX_RECORD)))
        goto done;
    rc = kz_csv_next(r, &rec);
    if (rc == 0) {
        rc = kz_error_set(KZ_EINVALID, "%s: empty, a header row is needed", path);
        goto done;
    }
    if (rc < 0) {
        rc = kz_error_set(KZ_EINVALID, "%s:%lld: %s", path, (long long)rec.line, kz_error_msg());
        goto done;
    }
    t->ncols = rec.nfields;
    t->header = calloc(t->ncols, sizeof *t->header);
    t->cell = calloc(t->ncols, sizeof *t->cell);
    if (!t->header || !t->cell) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        if (!(t->header[c] = strndup(rec.f[c].p, rec.f[c].n))) {
            rc = kz_error_oom();
            goto done;
        }
        for (size_t k = 0; k < c; k++)
            if (strcmp(t->header[k], t->header[c]) == 0) {
                rc = kz_error_set(KZ_EINVALID, "%s:%lld: the column '%s' appears twice", path, (long long)rec.line,
                                  t->header[c]);
                goto done;
            }
    }
    t->id_col = column(t, id_col);
    if (t->id_col == t->ncols) {
        rc = no_column(t, "id", id_col);
        goto done;
    }
    t->label_col = label_col ? column(t, label_col) : t->ncols;
    if (label_col && t->label_col == t->ncols) {
        rc = no_column(t, "label", label_col);
        goto done;
    }
    while ((rc = kz_csv_next(r, &rec)) != 0) {
        if (rc < 0) {
            rc = kz_error_set(rc, "%s:%lld: %s", path, (long long)rec.line, kz_error_msg());
            goto done;
        }
        if (rec.nfields != t->ncols) {
            rc = kz_error_set(KZ_EINVALID, "%s:%lld: %zu fields, the header has %zu", path, (long long)rec.line,
                              rec.nfields, t->ncols);
            goto done;
        }
        if ((rc = grow_rows(t, &cap)))
            goto done;
        for (size_t c = 0; c < t->ncols; c++) {
            /* blank (or only spaces) is missing */
            const char *p = rec.f[c].p;
            size_t n = rec.f[c].n;
            while (n && (*p == ' ' || *p == '\t')) {
                p++;
                n--;
            }
            while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                n--;
            t->cell[c][t->n] = NULL;
            if (n && !(t->cell[c][t->n] = strndup(p, n))) {
                for (size_t k = 0; k < c; k++) /* the row so far */
                    free(t->cell[k][t->n]);
                rc = kz_error_oom();
                goto done;
            }
        }
        t->line[t->n++] = rec.line;
    }
    if ((rc = check_ids(t)))
        goto done;
    if (t->label_col < t->ncols) {
        t->label = malloc(t->n ? t->n : 1);
        if (!t->label) {
            rc = kz_error_oom();
            goto done;
        }
        for (size_t i = 0; i < t->n; i++) {
            const char *v = t->cell[t->label_col][i];
            int b;
            if (!v || kz_parse_bool(&b, v, strlen(v))) {
                rc = kz_error_set(KZ_EINVALID, "%s:%lld: column '%s': '%s' is not yes/no, true/false or 1/0", path,
                                  (long long)t->line[i], t->header[t->label_col], v ? v : "");
                goto done;
            }
            t->label[i] = (int8_t)b;
        }
    }
    if (!t->n)
        rc = kz_error_set(KZ_EINVALID, "%s: no rows after the header", path);
done:
    kz_csv_close(r);
    if (rc) {
        kz_ftable_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}

/* The kind of a column: a number when every value parses as one (or every
 * value as a boolean), else categorical. */
enum { K_NUMBER, K_BOOL, K_CATEGORY };

static int kind_of(const kz_ftable *t, size_t c)
{
    int num = 1, boo = 1;
    for (size_t i = 0; i < t->n && (num || boo); i++) {
        const char *v = t->cell[c][i];
        double d;
        int b;
        if (!v)
            continue;
        num = num && kz_parse_double(&d, v, strlen(v)) == 0 && isfinite(d);
        boo = boo && kz_parse_bool(&b, v, strlen(v)) == 0;
    }
    return num ? K_NUMBER : boo ? K_BOOL : K_CATEGORY;
}

/* The encoding of a training table as JSON: {"id", "columns": [{"name",
 * "kind": "number" | "boolean" | "category", "values": [...]}]}. */
static int learn_encoding(const kz_ftable *t, kz_buf *out)
{
    const char **vals = malloc((t->n ? t->n : 1) * sizeof *vals);
    const char *common[KZ_CHURN_MAX_VALUES];
    kz_jw w;
    int rc = KZ_OK;
    if (!vals)
        return kz_error_oom();
    kz_jw_init(&w, out);
    kz_jw_obj(&w);
    kz_jw_key(&w, "id");
    kz_jw_str(&w, t->header[t->id_col]);
    kz_jw_key(&w, "columns");
    kz_jw_arr(&w);
    for (size_t c = 0; c < t->ncols && !rc; c++) {
        if (c == t->id_col || c == t->label_col)
            continue;
        int k = kind_of(t, c);
        size_t nv = 0, ncommon = 0;
        if (k == K_CATEGORY) {
            for (size_t i = 0; i < t->n; i++)
                if (t->cell[c][i])
                    vals[nv++] = t->cell[c][i];
            if ((rc = kz_churn_common_values(vals, nv, common, &ncommon)))
                break;
            if (!ncommon)
                continue; /* one value, or identifier-like: nothing to learn */
        }
        kz_jw_obj(&w);
        kz_jw_key(&w, "name");
        kz_jw_str(&w, t->header[c]);
        kz_jw_key(&w, "kind");
        kz_jw_str(&w, k == K_NUMBER ? "number" : k == K_BOOL ? "boolean" : "category");
        if (k == K_CATEGORY) {
            kz_jw_key(&w, "values");
            kz_jw_arr(&w);
            for (size_t i = 0; i < ncommon; i++)
                kz_jw_str(&w, common[i]);
            kz_jw_end(&w);
        }
        kz_jw_end(&w);
    }
    kz_jw_end(&w);
    kz_jw_end(&w);
    free(vals);
    return rc ? rc : kz_jw_error(&w);
}

/* One feature of the encoding. */
struct feat {
    size_t col;        /* in the table */
    int kind;
    const char *value; /* K_CATEGORY: borrowed from the parsed encoding */
};

int kz_ftable_dataset(kz_dataset **out, char **encoding, const kz_ftable *t, const char *given)
{
    kz_buf learnt;
    cJSON *enc = NULL;
    struct feat *f = NULL;
    kz_dataset *d = calloc(1, sizeof *d);
    int rc = KZ_OK;
    *out = NULL;
    kz_buf_init(&learnt, KZ_BUF_UNLIMITED);
    if (!d)
        return kz_error_oom();
    if (!given) {
        if ((rc = learn_encoding(t, &learnt)) || (rc = kz_buf_putc(&learnt, '\0')))
            goto done;
        given = learnt.data;
    }
    enc = cJSON_Parse(given);
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(enc, "columns"), *col;
    if (!cJSON_IsArray(cols)) {
        rc = kz_error_set(KZ_EINVALID, "the model's table encoding is damaged");
        goto done;
    }
    size_t nf = 0;
    cJSON_ArrayForEach(col, cols)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(col, "values");
        nf += cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 1;
    }
    f = calloc(nf ? nf : 1, sizeof *f);
    d->names = calloc(nf ? nf : 1, sizeof *d->names);
    if (!f || !d->names) {
        rc = kz_error_oom();
        goto done;
    }
    cJSON_ArrayForEach(col, cols)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(col, "name");
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(col, "kind");
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(col, "values"), *v;
        if (!cJSON_IsString(name) || !cJSON_IsString(kind)) {
            rc = kz_error_set(KZ_EINVALID, "the model's table encoding is damaged");
            goto done;
        }
        size_t c = column(t, name->valuestring);
        if (c == t->ncols) {
            rc = no_column(t, "feature", name->valuestring);
            goto done;
        }
        int k = strcmp(kind->valuestring, "number") == 0 ? K_NUMBER
                : strcmp(kind->valuestring, "boolean") == 0 ? K_BOOL
                                                             : K_CATEGORY;
        char buf[1024];
        if (k != K_CATEGORY) {
            f[d->p] = (struct feat){ c, k, NULL };
            snprintf(buf, sizeof buf, "%s", name->valuestring);
            if (!(d->names[d->p++] = strdup(buf))) {
                rc = kz_error_oom();
                goto done;
            }
            continue;
        }
        cJSON_ArrayForEach(v, values)
        {
            if (!cJSON_IsString(v)) {
                rc = kz_error_set(KZ_EINVALID, "the model's table encoding is damaged");
                goto done;
            }
            f[d->p] = (struct feat){ c, k, v->valuestring };
            snprintf(buf, sizeof buf, "%s=%s", name->valuestring, v->valuestring);
            if (!(d->names[d->p++] = strdup(buf))) {
                rc = kz_error_oom();
                goto done;
            }
        }
    }
    if (!d->p) {
        rc = kz_error_set(KZ_EINVALID, "%s: no feature columns besides the id and the label", t->path);
        goto done;
    }
    d->n = t->n;
    d->x = malloc((t->n ? t->n : 1) * d->p * sizeof *d->x);
    d->y = calloc(t->n ? t->n : 1, 1);
    d->obs = calloc(t->n ? t->n : 1, sizeof *d->obs);
    d->acc = malloc((t->n ? t->n : 1) * sizeof *d->acc);
    d->dates = calloc(1, sizeof *d->dates);
    d->ndates = 1;
    if (!d->x || !d->y || !d->obs || !d->acc || !d->dates) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t i = 0; i < t->n && !rc; i++) {
        d->acc[i] = (uint32_t)i;
        d->y[i] = t->label && t->label[i] > 0;
        for (size_t j = 0; j < d->p; j++) {
            const char *v = t->cell[f[j].col][i];
            double x = NAN;
            int b;
            if (f[j].kind == K_CATEGORY) {
                x = v && strcmp(v, f[j].value) == 0;
            } else if (v && f[j].kind == K_NUMBER) {
                if (kz_parse_double(&x, v, strlen(v)) || !isfinite(x))
                    rc = kz_error_set(KZ_EINVALID, "%s:%lld: column '%s': '%s' is not a number", t->path,
                                      (long long)t->line[i], t->header[f[j].col], v);
            } else if (v) {
                if (kz_parse_bool(&b, v, strlen(v)))
                    rc = kz_error_set(KZ_EINVALID, "%s:%lld: column '%s': '%s' is not yes/no, true/false or 1/0",
                                      t->path, (long long)t->line[i], t->header[f[j].col], v);
                x = b;
            }
            if (rc)
                break;
            d->x[i * d->p + j] = x;
        }
    }
    if (!rc && encoding && !(*encoding = strdup(given)))
        rc = kz_error_oom();
done:
    cJSON_Delete(enc);
    free(f);
    kz_buf_free(&learnt);
    if (rc) {
        kz_dataset_free(d);
        return rc;
    }
    *out = d;
    return KZ_OK;
}

/* FNV-1a: a hash that stays the same from run to run and version to version. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

int kz_ftable_roles(uint8_t *role, const kz_ftable *t, double test_share)
{
    uint64_t cut = (uint64_t)(test_share * 1000.0);
    for (size_t i = 0; i < t->n; i++) {
        uint64_t b = fnv1a(t->cell[t->id_col][i]) % 1000;
        role[i] = b < cut ? KZ_ROLE_TEST : b < 2 * cut ? KZ_ROLE_VALIDATE : KZ_ROLE_TRAIN;
    }
    return KZ_OK;
}
