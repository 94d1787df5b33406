/*
 * table.h - a result table: typed columns, rows of cells, and its renderings.
 *
 * Every report the engine computes is a kz_table; the CLI prints it as an
 * aligned table, CSV or JSON, and the HTTP API will send the JSON. The CSV
 * form writes exactly what the reference results of ../shared/bench write:
 * dates as YYYY-MM-DD, money with two decimals (more when needed), integral
 * doubles as "1.0", empty cells for nulls.
 */
#ifndef KZ_CORE_TABLE_H
#define KZ_CORE_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"

typedef enum {
    KZ_T_TEXT,
    KZ_T_INT,
    KZ_T_MONEY,  /* int64 in 1/10,000 units */
    KZ_T_DOUBLE,
    KZ_T_DATE,   /* kz_day */
    KZ_T_MONTH,  /* kz_month, written as its first day */
    KZ_T_NUMBER  /* per cell: money, count, ratio or number (kz_tcell.unit) */
} kz_ctype;

/* Units of KZ_T_NUMBER cells. */
enum { KZ_U_NUMBER = 0, KZ_U_MONEY, KZ_U_COUNT, KZ_U_RATIO };

typedef struct kz_tcol {
    const char *name; /* static or owned by the table */
    kz_ctype type;
} kz_tcol;

typedef struct kz_tcell {
    int null;
    int unit;       /* KZ_T_NUMBER: KZ_U_*; money and count use i, the others d */
    int64_t i;      /* INT, MONEY, DATE, MONTH */
    double d;       /* DOUBLE */
    const char *s;  /* TEXT: owned by the table */
} kz_tcell;

typedef struct kz_table kz_table;

/* A new empty table with the given columns (names are copied). NULL when out
 * of memory. Caller frees with kz_table_free(). */
kz_table *kz_table_new(const kz_tcol *cols, size_t ncols);
void kz_table_free(kz_table *t);

/* Appends a row and returns its cells (ncols of them, all null), or NULL when
 * out of memory. The pointer is valid until the next kz_table_add_row(). */
kz_tcell *kz_table_add_row(kz_table *t);

/* Setters for the cells of a row. */
void kz_cell_int(kz_tcell *c, int64_t v);
void kz_cell_double(kz_tcell *c, double v); /* NaN and infinities become null */
/* A KZ_T_NUMBER cell: money (units) or count in i; ratio or number in d. */
void kz_cell_money(kz_tcell *c, int64_t units);
void kz_cell_count(kz_tcell *c, int64_t n);
void kz_cell_ratio(kz_tcell *c, double r);
void kz_cell_number(kz_tcell *c, double v);
/* Copies text into the table. 0 or KZ_ENOMEM. */
int kz_cell_text(kz_table *t, kz_tcell *c, const char *s, size_t n);

size_t kz_table_rows(const kz_table *t);
size_t kz_table_cols(const kz_table *t);
const kz_tcol *kz_table_col(const kz_table *t, size_t i);
const kz_tcell *kz_table_cell(const kz_table *t, size_t row, size_t col);

/* Renderings, appended to out. */
int kz_table_csv(const kz_table *t, kz_buf *out);
int kz_table_json(const kz_table *t, kz_buf *out);
/* An aligned text table with a header; numbers right-aligned, money and
 * counts with thousands separators. */
int kz_table_text(const kz_table *t, kz_buf *out);

/* One cell as text in its CSV form into buf (cap >= 64 for numbers; text cells
 * are returned by pointer instead). Returns the text and its length. */
const char *kz_cell_format(const kz_tcol *col, const kz_tcell *c, char *buf, size_t cap, size_t *len);

#endif
