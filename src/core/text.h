/*
 * text.h - checks and conversions of text values: UTF-8, numbers, money, booleans.
 *
 * Every parser is strict (the whole input must be the value), reports the reason
 * through kz_error_set() and returns 0 or KZ_EINVALID. None allocates.
 */
#ifndef KZ_CORE_TEXT_H
#define KZ_CORE_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Offset of the first byte that is not part of valid UTF-8 (overlong forms,
 * surrogates and code points above U+10FFFF are invalid), or n when all is valid. */
size_t kz_utf8_invalid_at(const char *s, size_t n);

/* Offset of the first ASCII control character other than tab, CR and LF
 * (and of DEL), or n when there is none. */
size_t kz_control_at(const char *s, size_t n);

/* Parses a decimal integer with optional sign into [min, max]. */
int kz_parse_int(int64_t *out, const char *s, size_t n, int64_t min, int64_t max);

/* Parses a finite decimal number (JSON number syntax, plus a leading '+' or a
 * leading '.' digit form like "0.5"). Infinity and NaN are rejected. */
int kz_parse_double(double *out, const char *s, size_t n);

/* Money and other fixed-point amounts: an integer count of 1/10^scale units.
 * Parses "1234.5", "-3", "1e3", "0.0001" exactly; rejects more fractional digits
 * than scale allows (that would change the value) and values beyond +-9e15 units. */
int kz_parse_fixed(int64_t *out, const char *s, size_t n, int scale);

/* Writes a fixed-point amount with exactly `decimals` fractional digits
 * (decimals <= scale; digits beyond are not rounded but must be zero for an exact
 * form: callers pass decimals = scale unless they know). Returns the length. */
#define KZ_FIXED_BUF 32
size_t kz_format_fixed(char buf[KZ_FIXED_BUF], int64_t v, int scale, int decimals);

/* Writes a fixed-point amount with as few fractional digits as represent it
 * exactly, but at least min_decimals. Returns the length. */
size_t kz_format_fixed_min(char buf[KZ_FIXED_BUF], int64_t v, int scale, int min_decimals);

/* Booleans: true/false, yes/no, 1/0, t/f, y/n (ASCII, any case). */
int kz_parse_bool(int *out, const char *s, size_t n);

/* Shortest text that reads back as the same double ("%.17g" trimmed). */
#define KZ_DOUBLE_BUF 40
size_t kz_format_double(char buf[KZ_DOUBLE_BUF], double v);

/* Case-sensitive equality of s[0..n) with a C string. */
int kz_streq(const char *s, size_t n, const char *lit);

/* 1 if s[0..n) starts or ends with ASCII white space. */
int kz_has_outer_space(const char *s, size_t n);

#endif
