/*
 * table.c - result tables and their CSV, JSON and text renderings.
 */
#include "core/table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/csvw.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/text.h"
#include "core/time.h"
#include "core/vec.h"

struct kz_table {
    kz_tcol *cols;
    size_t ncols;
    KZ_VEC(kz_tcell) cells; /* row-major */
    kz_arena *arena;        /* names and text */
};

kz_table *kz_table_new(const kz_tcol *cols, size_t ncols)
{
    kz_table *t = calloc(1, sizeof *t);
    if (!t)
        goto fail;
    t->arena = kz_arena_new(0);
    t->cols = calloc(ncols ? ncols : 1, sizeof *t->cols);
    if (!t->arena || !t->cols)
        goto fail;
    t->ncols = ncols;
    for (size_t i = 0; i < ncols; i++) {
        t->cols[i].type = cols[i].type;
        t->cols[i].name = kz_arena_strndup(t->arena, cols[i].name, strlen(cols[i].name));
        if (!t->cols[i].name)
            goto fail;
    }
    return t;
fail:
    kz_table_free(t);
    kz_error_oom();
    return NULL;
}

void kz_table_free(kz_table *t)
{
    if (!t)
        return;
    kz_vec_free(&t->cells);
    kz_arena_free(t->arena);
    free(t->cols);
    free(t);
}

kz_tcell *kz_table_add_row(kz_table *t)
{
    if (kz_vec_reserve(&t->cells, t->cells.n + t->ncols))
        return NULL;
    kz_tcell *row = t->cells.v + t->cells.n;
    for (size_t i = 0; i < t->ncols; i++) {
        memset(&row[i], 0, sizeof row[i]);
        row[i].null = 1;
    }
    t->cells.n += t->ncols;
    return row;
}

void kz_cell_int(kz_tcell *c, int64_t v)
{
    c->null = 0;
    c->i = v;
}

void kz_cell_double(kz_tcell *c, double v)
{
    c->null = !isfinite(v);
    c->d = v;
}

void kz_cell_money(kz_tcell *c, int64_t units)
{
    c->null = 0;
    c->unit = KZ_U_MONEY;
    c->i = units;
}

void kz_cell_count(kz_tcell *c, int64_t n)
{
    c->null = 0;
    c->unit = KZ_U_COUNT;
    c->i = n;
}

void kz_cell_ratio(kz_tcell *c, double r)
{
    kz_cell_double(c, r);
    c->unit = KZ_U_RATIO;
}

void kz_cell_number(kz_tcell *c, double v)
{
    kz_cell_double(c, v);
    c->unit = KZ_U_NUMBER;
}

int kz_cell_text(kz_table *t, kz_tcell *c, const char *s, size_t n)
{
    char *p = kz_arena_strndup(t->arena, s, n);
    if (!p)
        return KZ_ENOMEM;
    c->null = 0;
    c->s = p;
    c->i = (int64_t)n;
    return KZ_OK;
}

size_t kz_table_rows(const kz_table *t)
{
    return t->ncols ? t->cells.n / t->ncols : 0;
}

size_t kz_table_cols(const kz_table *t)
{
    return t->ncols;
}

const kz_tcol *kz_table_col(const kz_table *t, size_t i)
{
    return &t->cols[i];
}

const kz_tcell *kz_table_cell(const kz_table *t, size_t row, size_t col)
{
    return &t->cells.v[row * t->ncols + col];
}

/* Decimal digits of v into buf (cap >= 21). Returns the length. */
static size_t format_int(char *buf, int64_t v)
{
    char tmp[24];
    size_t n = 0, len = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

const char *kz_cell_format(const kz_tcol *col, const kz_tcell *c, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    if (c->null) {
        *len = 0;
        return "";
    }
    if (col->type == KZ_T_NUMBER) {
        static const kz_tcol as[] = { [KZ_U_NUMBER] = { "", KZ_T_DOUBLE }, [KZ_U_MONEY] = { "", KZ_T_MONEY },
                                      [KZ_U_COUNT] = { "", KZ_T_INT },     [KZ_U_RATIO] = { "", KZ_T_DOUBLE } };
        return kz_cell_format(&as[c->unit], c, buf, cap, len);
    }
    switch (col->type) {
    case KZ_T_TEXT:
        *len = (size_t)c->i;
        return c->s;
    case KZ_T_INT:
        if (cap < 24)
            return *len = 0, "";
        n = format_int(buf, c->i);
        break;
    case KZ_T_MONEY: {
        char tmp[KZ_FIXED_BUF];
        n = kz_format_fixed_min(tmp, c->i, 4, 2);
        n = (size_t)snprintf(buf, cap, "%s", tmp);
        break;
    }
    case KZ_T_DOUBLE:
        if (c->d == floor(c->d) && fabs(c->d) < 1e15)
            n = (size_t)snprintf(buf, cap, "%.1f", c->d);
        else {
            char tmp[KZ_DOUBLE_BUF];
            n = kz_format_double(tmp, c->d);
            n = (size_t)snprintf(buf, cap, "%s", tmp);
        }
        break;
    case KZ_T_DATE: {
        char tmp[KZ_DATE_BUF];
        kz_format_date(tmp, (kz_day)c->i);
        n = (size_t)snprintf(buf, cap, "%s", tmp);
        break;
    }
    case KZ_T_MONTH: {
        char tmp[KZ_DATE_BUF];
        kz_format_date(tmp, kz_month_first_day((kz_month)c->i));
        n = (size_t)snprintf(buf, cap, "%s", tmp);
        break;
    }
    case KZ_T_NUMBER:
        break; /* handled above */
    }
    *len = n < cap ? n : cap - 1;
    return buf;
}

int kz_table_csv(const kz_table *t, kz_buf *out)
{
    char buf[64];
    /* about 8 bytes a cell: one allocation instead of a dozen doublings */
    int rc = kz_buf_reserve(out, kz_table_rows(t) * t->ncols * 8 + 256);
    for (size_t c = 0; c < t->ncols && !rc; c++)
        rc = kz_csvw_field(out, t->cols[c].name, strlen(t->cols[c].name), c == 0);
    if (!rc)
        rc = kz_buf_putc(out, '\n');
    size_t rows = kz_table_rows(t);
    for (size_t r = 0; r < rows && !rc; r++) {
        for (size_t c = 0; c < t->ncols && !rc; c++) {
            size_t len;
            const char *s = kz_cell_format(&t->cols[c], kz_table_cell(t, r, c), buf, sizeof buf, &len);
            rc = kz_csvw_field(out, s, len, c == 0);
        }
        if (!rc)
            rc = kz_buf_putc(out, '\n');
    }
    return rc;
}

int kz_table_json(const kz_table *t, kz_buf *out)
{
    kz_jw w;
    char buf[64];
    kz_jw_init(&w, out);
    kz_jw_arr(&w);
    size_t rows = kz_table_rows(t);
    for (size_t r = 0; r < rows; r++) {
        kz_jw_obj(&w);
        for (size_t c = 0; c < t->ncols; c++) {
            const kz_tcell *cell = kz_table_cell(t, r, c);
            const kz_tcol *col = &t->cols[c];
            size_t len;
            kz_jw_key(&w, col->name);
            if (cell->null) {
                kz_jw_null(&w);
                continue;
            }
            const char *s = kz_cell_format(col, cell, buf, sizeof buf, &len);
            if (col->type == KZ_T_TEXT || col->type == KZ_T_DATE || col->type == KZ_T_MONTH)
                kz_jw_strn(&w, s, len);
            else
                kz_jw_raw(&w, s, len);
        }
        kz_jw_end(&w);
    }
    kz_jw_end(&w);
    int rc = kz_jw_error(&w);
    if (!rc)
        rc = kz_buf_putc(out, '\n');
    return rc;
}

/* Thousands separators for the integer part of a plain number. */
static size_t grouped(char *dst, size_t cap, const char *plain, size_t n)
{
    size_t start = plain[0] == '-' ? 1 : 0, intlen = n, o = 0;
    const char *dot = memchr(plain, '.', n);
    if (dot)
        intlen = (size_t)(dot - plain);
    if (start)
        dst[o++] = '-';
    size_t digits = intlen - start;
    for (size_t i = 0; i < digits && o + 2 < cap; i++) {
        if (i > 0 && (digits - i) % 3 == 0)
            dst[o++] = ',';
        dst[o++] = plain[start + i];
    }
    for (size_t i = intlen; i < n && o + 1 < cap; i++)
        dst[o++] = plain[i];
    dst[o] = '\0';
    return o;
}

/* The display width of UTF-8 text: East Asian wide characters count two. */
static size_t width_of(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            w++;
            i++;
        } else if (c >= 0xe0) {
            w += 2; /* CJK and most 3/4-byte characters in names are wide */
            i += c >= 0xf0 ? 4 : 3;
        } else {
            w++;
            i += 2;
        }
    }
    return w;
}

int kz_table_text(const kz_table *t, kz_buf *out)
{
    size_t rows = kz_table_rows(t);
    size_t *wid = calloc(t->ncols ? t->ncols : 1, sizeof *wid);
    char buf[64], g[96];
    int rc = KZ_OK;
    if (!wid)
        return kz_error_oom();
    for (size_t c = 0; c < t->ncols; c++)
        wid[c] = width_of(t->cols[c].name, strlen(t->cols[c].name));
    /* two passes: widths, then the text */
    for (int pass = 0; pass < 2 && !rc; pass++) {
        if (pass == 1) {
            for (size_t c = 0; c < t->ncols && !rc; c++) {
                size_t n = strlen(t->cols[c].name), w = width_of(t->cols[c].name, n);
                int right = t->cols[c].type != KZ_T_TEXT;
                if (c)
                    rc = kz_buf_puts(out, "  ");
                for (size_t k = w; right && k < wid[c] && !rc; k++)
                    rc = kz_buf_putc(out, ' ');
                if (!rc)
                    rc = kz_buf_append(out, t->cols[c].name, n);
                for (size_t k = w; !right && k < wid[c] && c + 1 < t->ncols && !rc; k++)
                    rc = kz_buf_putc(out, ' ');
            }
            if (!rc)
                rc = kz_buf_putc(out, '\n');
        }
        for (size_t r = 0; r < rows && !rc; r++) {
            for (size_t c = 0; c < t->ncols && !rc; c++) {
                const kz_tcol *col = &t->cols[c];
                const kz_tcell *cell = kz_table_cell(t, r, c);
                size_t len;
                const char *s = kz_cell_format(col, cell, buf, sizeof buf, &len);
                kz_ctype ty = col->type;
                if (ty == KZ_T_NUMBER)
                    ty = cell->unit == KZ_U_MONEY ? KZ_T_MONEY : cell->unit == KZ_U_COUNT ? KZ_T_INT : KZ_T_DOUBLE;
                if (cell->null) {
                    s = "-";
                    len = 1;
                } else if (ty == KZ_T_MONEY || ty == KZ_T_INT) {
                    len = grouped(g, sizeof g, s, len);
                    s = g;
                } else if (col->type == KZ_T_NUMBER && cell->unit == KZ_U_RATIO) {
                    len = (size_t)snprintf(g, sizeof g, "%.2f%%", cell->d * 100);
                    s = g;
                } else if (col->type == KZ_T_NUMBER) {
                    char plain[64];
                    size_t pn = (size_t)snprintf(plain, sizeof plain, "%.2f", cell->d);
                    len = grouped(g, sizeof g, plain, pn);
                    s = g;
                } else if (ty == KZ_T_DOUBLE) {
                    len = (size_t)snprintf(g, sizeof g, "%.4f", cell->d);
                    s = g;
                }
                size_t w = width_of(s, len);
                if (pass == 0) {
                    if (w > wid[c])
                        wid[c] = w;
                    continue;
                }
                int right = col->type != KZ_T_TEXT;
                if (c)
                    rc = kz_buf_puts(out, "  ");
                for (size_t k = w; right && k < wid[c] && !rc; k++)
                    rc = kz_buf_putc(out, ' ');
                if (!rc)
                    rc = kz_buf_append(out, s, len);
                for (size_t k = w; !right && k < wid[c] && c + 1 < t->ncols && !rc; k++)
                    rc = kz_buf_putc(out, ' ');
            }
            if (pass == 1 && !rc)
                rc = kz_buf_putc(out, '\n');
        }
    }
    free(wid);
    return rc;
}
