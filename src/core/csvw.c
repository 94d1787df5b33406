/*
 * csvw.c - the CSV field writer of csvw.h.
 */
#include "core/csvw.h"

#include <string.h>

int kz_csvw_field(kz_buf *b, const char *s, size_t n, int first)
{
    int rc = KZ_OK;
    int quote = 0;

    if (!first)
        rc = kz_buf_putc(b, ',');
    if (rc)
        return rc;
    if (n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        quote = 1;
    for (size_t i = 0; i < n && !quote; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            quote = 1;
    if (!quote)
        return kz_buf_append(b, s, n);
    rc = kz_buf_putc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (s[i] != '"')
            continue;
        rc = kz_buf_append(b, s + start, i + 1 - start); /* up to and with the quote */
        start = i; /* the quote is written again: doubled */
    }
    if (!rc)
        rc = kz_buf_append(b, s + start, n - start);
    if (!rc)
        rc = kz_buf_putc(b, '"');
    return rc;
}

int kz_csvw_record(kz_buf *b, const char *const *fields, size_t n)
{
    int rc = KZ_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        const char *f = fields[i] ? fields[i] : "";
        rc = kz_csvw_field(b, f, strlen(f), i == 0);
    }
    if (!rc)
        rc = kz_buf_putc(b, '\n');
    return rc;
}
