/*
 * series.h - reading a time series from a CSV file for `kizuna anomaly scan`
 * (series.c): rows timestamp,value (any column names), in time order.
 */
#ifndef KZ_INGEST_SERIES_H
#define KZ_INGEST_SERIES_H

#include <stddef.h>
#include <stdint.h>

typedef struct kz_series {
    size_t n;
    int64_t *t;    /* seconds since the epoch, increasing */
    double *v;
    int64_t *line; /* each point's line in the file */
} kz_series;

/* Reads path (CSV with a header) into out: the time column time_col
 * (ISO-8601, a space allowed for the T, or whole seconds since 1970) and the
 * number column value_col. Every row that cannot be read (a time or a value
 * that does not parse, a time not after the one before) is reported to
 * on_error as "file:line: column: reason"; then KZ_EINVALID and nothing in
 * out. Caller frees out with kz_series_free. */
int kz_series_read(kz_series *out, const char *path, const char *time_col, const char *value_col,
                   void (*on_error)(void *ctx, const char *message), void *ctx);
void kz_series_free(kz_series *s);

#endif
