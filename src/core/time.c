/*
 * time.c - civil calendar arithmetic and strict ISO-8601 parsing.
 *
 * The day-number conversions use the era decomposition (400-year cycles of
 * 146097 days, years counted from March so that the leap day is last).
 */
#include "core/time.h"

#include <stdio.h>
#include <time.h>

#include "core/error.h"

int kz_is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int kz_month_days(int y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && kz_is_leap(y) ? 29 : days[m - 1];
}

int64_t kz_days_from_civil(int y, int m, int d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;                               /* [0, 399] */
    int64_t mp = (m + 9) % 12;                                  /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;                   /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;        /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void kz_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

int kz_weekday(kz_day d)
{
    /* 1970-01-01 was a Thursday (3) */
    int64_t w = ((int64_t)d + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

kz_month kz_day_month(kz_day d)
{
    int y, m, dd;
    kz_civil_from_days(d, &y, &m, &dd);
    return (kz_month)(y * 12 + m - 1);
}

kz_day kz_month_first_day(kz_month mo)
{
    int y = mo / 12, m = mo % 12 + 1;
    return (kz_day)kz_days_from_civil(y, m, 1);
}

/* Reads exactly `width` decimal digits at s[*i]; -1 if any is not a digit. */
static int digits(const char *s, size_t n, size_t *i, int width)
{
    int v = 0;
    if (*i + (size_t)width > n)
        return -1;
    for (int k = 0; k < width; k++) {
        char c = s[*i + (size_t)k];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *i += (size_t)width;
    return v;
}

/* Parses YYYY-MM-DD at the start of s; sets *i past it. */
static int parse_ymd(int *y, int *m, int *d, const char *s, size_t n, size_t *i)
{
    *y = digits(s, n, i, 4);
    if (*y < 0)
        return kz_error_set(KZ_EINVALID, "expected a date YYYY-MM-DD");
    if (*i >= n || s[*i] != '-')
        return kz_error_set(KZ_EINVALID, "expected a date YYYY-MM-DD");
    (*i)++;
    *m = digits(s, n, i, 2);
    if (*m < 0 || *i >= n || s[*i] != '-')
        return kz_error_set(KZ_EINVALID, "expected a date YYYY-MM-DD");
    (*i)++;
    *d = digits(s, n, i, 2);
    if (*d < 0)
        return kz_error_set(KZ_EINVALID, "expected a date YYYY-MM-DD");
    if (*y < 1)
        return kz_error_set(KZ_EINVALID, "year 0000 is out of range");
    if (*m < 1 || *m > 12)
        return kz_error_set(KZ_EINVALID, "month %02d is out of range", *m);
    if (*d < 1 || *d > kz_month_days(*y, *m))
        return kz_error_set(KZ_EINVALID, "day %02d does not exist in %04d-%02d", *d, *y, *m);
    return KZ_OK;
}

int kz_parse_time(kz_time *out, int *has_time, const char *s, size_t n)
{
    int y, mo, d, hh = 0, mi = 0, ss = 0;
    int64_t frac = 0; /* microseconds */
    int64_t offset = 0; /* seconds east of UTC */
    size_t i = 0;
    int rc = parse_ymd(&y, &mo, &d, s, n, &i);

    if (rc)
        return rc;
    if (has_time)
        *has_time = 0;
    if (i < n) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
            return kz_error_set(KZ_EINVALID, "unexpected '%c' after the date (expected 'T' and a time)", s[i]);
        i++;
        hh = digits(s, n, &i, 2);
        if (hh < 0 || i >= n || s[i] != ':')
            return kz_error_set(KZ_EINVALID, "expected a time HH:MM[:SS] after the date");
        i++;
        mi = digits(s, n, &i, 2);
        if (mi < 0)
            return kz_error_set(KZ_EINVALID, "expected a time HH:MM[:SS] after the date");
        if (i < n && s[i] == ':') {
            i++;
            ss = digits(s, n, &i, 2);
            if (ss < 0)
                return kz_error_set(KZ_EINVALID, "expected two digits of seconds");
            if (i < n && (s[i] == '.' || s[i] == ',')) {
                int nd = 0;
                i++;
                while (i < n && s[i] >= '0' && s[i] <= '9') {
                    if (nd < 6)
                        frac = frac * 10 + (s[i] - '0');
                    nd++;
                    i++;
                }
                if (nd == 0)
                    return kz_error_set(KZ_EINVALID, "expected digits after the decimal point of the seconds");
                for (int k = nd; k < 6; k++)
                    frac *= 10;
            }
        }
        if (hh > 23)
            return kz_error_set(KZ_EINVALID, "hour %02d is out of range", hh);
        if (mi > 59)
            return kz_error_set(KZ_EINVALID, "minute %02d is out of range", mi);
        if (ss > 59)
            return kz_error_set(KZ_EINVALID, "second %02d is out of range", ss);
        if (has_time)
            *has_time = 1;
        if (i < n) {
            if (s[i] == 'Z' || s[i] == 'z') {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i] == '-' ? -1 : 1;
                int oh, om = 0;
                i++;
                oh = digits(s, n, &i, 2);
                if (oh < 0)
                    return kz_error_set(KZ_EINVALID, "expected an offset +HH:MM after the time");
                if (i < n && s[i] == ':')
                    i++;
                if (i < n) {
                    om = digits(s, n, &i, 2);
                    if (om < 0)
                        return kz_error_set(KZ_EINVALID, "expected an offset +HH:MM after the time");
                }
                if (oh > 23 || om > 59)
                    return kz_error_set(KZ_EINVALID, "offset %02d:%02d is out of range", oh, om);
                offset = sign * (oh * 3600 + om * 60);
            }
        }
    }
    if (i != n)
        return kz_error_set(KZ_EINVALID, "unexpected text after the time");
    int64_t secs = kz_days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - offset;
    *out = secs * KZ_USEC_PER_SEC + frac;
    return KZ_OK;
}

int kz_parse_date(kz_day *out, const char *s, size_t n)
{
    int y, m, d;
    size_t i = 0;
    int rc = parse_ymd(&y, &m, &d, s, n, &i);
    if (rc)
        return rc;
    if (i != n) {
        kz_time t;
        int has_time;
        rc = kz_parse_time(&t, &has_time, s, n);
        if (rc)
            return rc;
        if (t % KZ_USEC_PER_DAY != 0 || kz_time_day(t) != kz_days_from_civil(y, m, d))
            return kz_error_set(KZ_EINVALID, "expected a date without a time of day");
    }
    *out = (kz_day)kz_days_from_civil(y, m, d);
    return KZ_OK;
}

int kz_parse_month(kz_month *out, const char *s, size_t n)
{
    size_t i = 0;
    int y = digits(s, n, &i, 4);
    if (y < 0 || i >= n || s[i] != '-')
        return kz_error_set(KZ_EINVALID, "expected a month YYYY-MM");
    i++;
    int m = digits(s, n, &i, 2);
    if (m < 0 || i != n)
        return kz_error_set(KZ_EINVALID, "expected a month YYYY-MM");
    if (y < 1)
        return kz_error_set(KZ_EINVALID, "year 0000 is out of range");
    if (m < 1 || m > 12)
        return kz_error_set(KZ_EINVALID, "month %02d is out of range", m);
    *out = (kz_month)(y * 12 + m - 1);
    return KZ_OK;
}

size_t kz_format_date(char buf[KZ_DATE_BUF], kz_day day)
{
    int y, m, d;
    kz_civil_from_days(day, &y, &m, &d);
    int n = snprintf(buf, KZ_DATE_BUF, "%04d-%02d-%02d", y, m, d);
    return n < 0 ? 0 : (size_t)n;
}

size_t kz_format_month(char buf[KZ_DATE_BUF], kz_month mo)
{
    int n = snprintf(buf, KZ_DATE_BUF, "%04d-%02d", mo / 12, mo % 12 + 1);
    return n < 0 ? 0 : (size_t)n;
}

size_t kz_format_time(char buf[KZ_TIME_BUF], kz_time t)
{
    kz_day day = kz_time_day(t);
    int64_t in_day = t - kz_day_time(day);
    int64_t secs = in_day / KZ_USEC_PER_SEC;
    int64_t us = in_day % KZ_USEC_PER_SEC;
    int y, m, d, n;
    kz_civil_from_days(day, &y, &m, &d);
    int hh = (int)(secs / 3600), mi = (int)(secs / 60 % 60), ss = (int)(secs % 60);
    if (us == 0)
        n = snprintf(buf, KZ_TIME_BUF, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, hh, mi, ss);
    else if (us % 1000 == 0)
        n = snprintf(buf, KZ_TIME_BUF, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, hh, mi, ss,
                     (int)(us / 1000));
    else
        n = snprintf(buf, KZ_TIME_BUF, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", y, m, d, hh, mi, ss,
                     (int)us);
    return n < 0 ? 0 : (size_t)n;
}

kz_time kz_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (kz_time)ts.tv_sec * KZ_USEC_PER_SEC + ts.tv_nsec / 1000;
}

double kz_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
