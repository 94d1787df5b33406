/*
 * csvw.h - writing RFC 4180 CSV fields.
 *
 * A field is quoted when it holds a comma, a quote, CR or LF, or starts or ends
 * with white space; quotes inside are doubled. Records end with "\n".
 */
#ifndef KZ_CORE_CSVW_H
#define KZ_CORE_CSVW_H

#include <stddef.h>

#include "core/buf.h"

/* Appends one field (with a leading comma unless first). 0 or an error code. */
int kz_csvw_field(kz_buf *b, const char *s, size_t n, int first);

/* Appends a whole record of n C strings (NULL = empty) and "\n". */
int kz_csvw_record(kz_buf *b, const char *const *fields, size_t n);

#endif
