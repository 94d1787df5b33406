/*
 * fmt.c - grouped numbers for terminal reports.
 */
#include "cli/fmt.h"

#include <stdio.h>
#include <string.h>

#include "core/text.h"
#include "store/store.h"

/* Inserts thousands separators into the integer part of a plain number. */
static const char *group(char buf[KZ_GROUPED_BUF], const char *plain)
{
    const char *dot = strchr(plain, '.');
    size_t intlen = dot ? (size_t)(dot - plain) : strlen(plain);
    size_t start = plain[0] == '-' ? 1 : 0;
    size_t digits = intlen - start, o = 0;
    if (start)
        buf[o++] = '-';
    for (size_t i = 0; i < digits; i++) {
        if (i > 0 && (digits - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = plain[start + i];
    }
    snprintf(buf + o, KZ_GROUPED_BUF - o, "%s", dot ? dot : "");
    return buf;
}

const char *kz_fmt_int(char buf[KZ_GROUPED_BUF], int64_t v)
{
    char plain[32];
    snprintf(plain, sizeof plain, "%lld", (long long)v);
    return group(buf, plain);
}

const char *kz_fmt_money(char buf[KZ_GROUPED_BUF], int64_t units)
{
    char plain[KZ_FIXED_BUF];
    kz_format_fixed_min(plain, units, KZ_MONEY_SCALE, 2);
    return group(buf, plain);
}

const char *kz_fmt_bytes(char buf[KZ_GROUPED_BUF], int64_t bytes)
{
    static const char *units[] = { "B", "KB", "MB", "GB", "TB" };
    double v = (double)bytes;
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    snprintf(buf, KZ_GROUPED_BUF, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}
