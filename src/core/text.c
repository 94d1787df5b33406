/*
 * text.c - value parsers and formatters of text.h.
 */
#include "core/text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

size_t kz_utf8_invalid_at(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        /* fast path: eight ASCII bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return i;
        }
        if (i + len > n)
            return i;
        for (size_t k = 1; k < len; k++) {
            unsigned cc = s[i + k];
            if ((cc & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += len;
    }
    return n;
}

size_t kz_control_at(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            return i;
    }
    return n;
}

int kz_parse_int(int64_t *out, const char *s, size_t n, int64_t min, int64_t max)
{
    size_t i = 0;
    int neg = 0;
    uint64_t v = 0;

    if (n == 0)
        return kz_error_set(KZ_EINVALID, "expected an integer");
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i++;
    }
    if (i == n)
        return kz_error_set(KZ_EINVALID, "expected an integer");
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return kz_error_set(KZ_EINVALID, "expected an integer, found '%.*s'", (int)(n > 40 ? 40 : n), s);
        if (v > (UINT64_MAX - 9) / 10)
            return kz_error_set(KZ_EINVALID, "integer out of range");
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return kz_error_set(KZ_EINVALID, "integer out of range");
    int64_t r = neg ? (int64_t)(0 - v) : (int64_t)v;
    if (r < min || r > max)
        return kz_error_set(KZ_EINVALID, "%lld is out of range (%lld to %lld)", (long long)r,
                            (long long)min, (long long)max);
    *out = r;
    return KZ_OK;
}

/* Splits a decimal literal into sign, digit string (no leading zeros issue) and
 * exponent. Accepts [+-]digits[.digits][(e|E)[+-]digits] and [+-].digits. */
struct decimal {
    int neg;
    char digits[40]; /* significant digits, at most 38 kept; more is an error */
    int ndigits;
    int exp;         /* value = digits * 10^exp */
};

static int split_decimal(struct decimal *d, const char *s, size_t n)
{
    size_t i = 0;
    int seen = 0, frac = 0;
    memset(d, 0, sizeof *d);
    if (n == 0)
        return kz_error_set(KZ_EINVALID, "expected a number");
    if (s[0] == '-' || s[0] == '+') {
        d->neg = s[0] == '-';
        i++;
    }
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            seen = 1;
            if (d->ndigits == 0 && c == '0') {
                if (frac)
                    d->exp--;
                continue;
            }
            if (d->ndigits >= 38)
                return kz_error_set(KZ_EINVALID, "number has too many digits");
            d->digits[d->ndigits++] = c;
            if (frac)
                d->exp--;
        } else if (c == '.' && !frac) {
            frac = 1;
        } else {
            break;
        }
    }
    if (!seen)
        return kz_error_set(KZ_EINVALID, "expected a number, found '%.*s'", (int)(n > 40 ? 40 : n), s);
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int64_t e;
        i++;
        size_t start = i;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i != n || kz_parse_int(&e, s + start, i - start, -400, 400))
            return kz_error_set(KZ_EINVALID, "bad exponent in number '%.*s'", (int)(n > 40 ? 40 : n), s);
        d->exp += (int)e;
    }
    if (i != n)
        return kz_error_set(KZ_EINVALID, "expected a number, found '%.*s'", (int)(n > 40 ? 40 : n), s);
    return KZ_OK;
}

int kz_parse_fixed(int64_t *out, const char *s, size_t n, int scale)
{
    struct decimal d;
    int rc = split_decimal(&d, s, n);
    if (rc)
        return rc;
    /* value in units = digits * 10^(exp + scale) */
    int shift = d.exp + scale;
    int nd = d.ndigits;
    /* trailing zeros of the digit string may absorb a negative shift */
    while (shift < 0 && nd > 0 && d.digits[nd - 1] == '0') {
        nd--;
        shift++;
    }
    if (nd == 0) {
        *out = 0;
        return KZ_OK;
    }
    if (shift < 0)
        return kz_error_set(KZ_EINVALID, "more than %d decimal places", scale);
    const int64_t limit = INT64_C(9000000000000000000);
    int64_t v = 0;
    for (int k = 0; k < nd + shift; k++) {
        int digit = k < nd ? d.digits[k] - '0' : 0;
        if (v > (limit - digit) / 10)
            return kz_error_set(KZ_EINVALID, "number is too large");
        v = v * 10 + digit;
    }
    *out = d.neg ? -v : v;
    return KZ_OK;
}

static size_t fixed_format(char buf[KZ_FIXED_BUF], int64_t v, int scale, int decimals, int trim)
{
    char digits[24];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int nd = 0;
    size_t len = 0;

    if (decimals > scale)
        decimals = scale;
    do {
        digits[nd++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (nd <= scale)
        digits[nd++] = '0';
    /* digits[] holds the number reversed; the first `scale` are fractional */
    int first_frac = scale - 1; /* index of the most significant fractional digit */
    int keep = decimals;
    if (trim) {
        keep = scale;
        while (keep > decimals && digits[scale - keep] == '0')
            keep--;
    }
    if (v < 0)
        buf[len++] = '-';
    for (int k = nd - 1; k >= scale; k--)
        buf[len++] = digits[k];
    if (keep > 0) {
        buf[len++] = '.';
        for (int k = 0; k < keep; k++)
            buf[len++] = digits[first_frac - k];
    }
    buf[len] = '\0';
    return len;
}

size_t kz_format_fixed(char buf[KZ_FIXED_BUF], int64_t v, int scale, int decimals)
{
    return fixed_format(buf, v, scale, decimals, 0);
}

size_t kz_format_fixed_min(char buf[KZ_FIXED_BUF], int64_t v, int scale, int min_decimals)
{
    return fixed_format(buf, v, scale, min_decimals, 1);
}

int kz_parse_double(double *out, const char *s, size_t n)
{
    struct decimal d;
    char tmp[64];
    int rc = split_decimal(&d, s, n); /* syntax check */
    if (rc)
        return rc;
    if (n >= sizeof tmp)
        return kz_error_set(KZ_EINVALID, "number is too long");
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    if (*end != '\0' || !isfinite(v))
        return kz_error_set(KZ_EINVALID, "number out of range");
    *out = v;
    return KZ_OK;
}

size_t kz_format_double(char buf[KZ_DOUBLE_BUF], double v)
{
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, KZ_DOUBLE_BUF, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return n < 0 ? 0 : (size_t)n;
}

static int ieq(const char *s, size_t n, const char *lit)
{
    size_t k = 0;
    for (; k < n && lit[k]; k++) {
        char c = s[k];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[k])
            return 0;
    }
    return k == n && lit[k] == '\0';
}

int kz_parse_bool(int *out, const char *s, size_t n)
{
    static const char *yes[] = { "true", "yes", "1", "t", "y" };
    static const char *no[] = { "false", "no", "0", "f", "n" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (ieq(s, n, yes[i])) {
            *out = 1;
            return KZ_OK;
        }
        if (ieq(s, n, no[i])) {
            *out = 0;
            return KZ_OK;
        }
    }
    return kz_error_set(KZ_EINVALID, "expected true or false, found '%.*s'", (int)(n > 40 ? 40 : n), s);
}

int kz_streq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

int kz_has_outer_space(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned char a = (unsigned char)s[0], b = (unsigned char)s[n - 1];
    return a == ' ' || a == '\t' || a == '\r' || a == '\n' || b == ' ' || b == '\t' || b == '\r' ||
           b == '\n';
}
