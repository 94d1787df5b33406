/*
 * calendar.c - the holiday calendar of calendar.h.
 */
#include "core/calendar.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* "MM-DD" as month * 100 + day, or -1. */
static int32_t month_day(const char *s, size_t n)
{
    if (n != 5 || s[2] != '-')
        return -1;
    for (size_t i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int m = (s[0] - '0') * 10 + (s[1] - '0'), d = (s[3] - '0') * 10 + (s[4] - '0');
    if (m < 1 || m > 12 || d < 1 || d > kz_month_days(2024, m)) /* 2024: 02-29 is a date */
        return -1;
    return m * 100 + d;
}

static size_t trimmed(const char **s, size_t n)
{
    while (n && (**s == ' ' || **s == '\t'))
        (*s)++, n--;
    while (n && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t'))
        n--;
    return n;
}

/* One entry (a day or a range) into r. */
static int parse_entry(struct kz_cal_range *r, const char *s, size_t n)
{
    const char *dots = NULL;
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '.' && s[i + 1] == '.') {
            dots = s + i;
            break;
        }
    const char *a = s, *b = dots ? dots + 2 : s;
    size_t na = dots ? (size_t)(dots - s) : n, nb = dots ? n - (size_t)(dots + 2 - s) : n;
    na = trimmed(&a, na);
    nb = trimmed(&b, nb);
    int32_t ma = month_day(a, na), mb = month_day(b, nb);
    if (ma >= 0 && mb >= 0) {
        r->yearly = 1;
        r->from = ma;
        r->to = mb;
        return KZ_OK;
    }
    kz_day da, db;
    if (na == 10 && nb == 10 && kz_parse_date(&da, a, na) == KZ_OK && kz_parse_date(&db, b, nb) == KZ_OK) {
        if (db < da)
            return kz_error_set(KZ_EINVALID, "'%.*s': the range ends before it starts", (int)(n > 40 ? 40 : n), s);
        r->yearly = 0;
        r->from = da;
        r->to = db;
        return KZ_OK;
    }
    return kz_error_set(KZ_EINVALID,
                        "'%.*s' is not a day or a range of days (MM-DD or YYYY-MM-DD, a range as FROM..TO, "
                        "both of the same form)",
                        (int)(n > 40 ? 40 : n), s);
}

int kz_calendar_parse(kz_calendar *cal, const char *text)
{
    memset(cal, 0, sizeof *cal);
    const char *t = text;
    size_t tl = trimmed(&t, strlen(text));
    if (tl == 0 || (tl == 4 && memcmp(t, "none", 4) == 0))
        return KZ_OK;
    size_t cap = 1;
    for (size_t i = 0; i < tl; i++)
        cap += t[i] == ',';
    cal->v = malloc(cap * sizeof *cal->v);
    if (!cal->v)
        return kz_error_oom();
    for (const char *p = t, *end = t + tl; p < end;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        const char *e = p;
        size_t n = trimmed(&e, (size_t)(stop - p));
        int rc = n ? parse_entry(&cal->v[cal->n], e, n)
                   : kz_error_set(KZ_EINVALID, "entry %zu is empty (two commas together, or one at an end)",
                                  cal->n + 1);
        if (rc) {
            kz_calendar_free(cal);
            return rc;
        }
        cal->n++;
        p = comma ? comma + 1 : end;
        if (comma && p == end) {
            size_t at = cal->n + 1;
            kz_calendar_free(cal);
            return kz_error_set(KZ_EINVALID, "entry %zu is empty (two commas together, or one at an end)", at);
        }
    }
    return KZ_OK;
}

void kz_calendar_free(kz_calendar *cal)
{
    free(cal->v);
    cal->v = NULL;
    cal->n = 0;
}

int kz_calendar_has(const kz_calendar *cal, kz_day d)
{
    if (!cal || cal->n == 0)
        return 0;
    int y, m, dd;
    kz_civil_from_days(d, &y, &m, &dd);
    int32_t md = m * 100 + dd;
    for (size_t i = 0; i < cal->n; i++) {
        const struct kz_cal_range *r = &cal->v[i];
        if (r->yearly ? (r->from <= r->to ? md >= r->from && md <= r->to : md >= r->from || md <= r->to)
                      : d >= r->from && d <= r->to)
            return 1;
    }
    return 0;
}
