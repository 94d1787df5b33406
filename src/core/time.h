/*
 * time.h - instants, calendar dates and their ISO-8601 text forms.
 *
 * An instant (kz_time) is microseconds since 1970-01-01T00:00:00Z; a calendar
 * date (kz_day) is days since 1970-01-01 in the proleptic Gregorian calendar; a
 * month (kz_month) is year * 12 + (month - 1). Parsing is strict and explains what
 * is wrong through kz_error_set(); formatting never fails. Time zones other than
 * fixed offsets in the text are not handled here.
 */
#ifndef KZ_CORE_TIME_H
#define KZ_CORE_TIME_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t kz_time;
typedef int32_t kz_day;
typedef int32_t kz_month;

#define KZ_USEC_PER_SEC INT64_C(1000000)
#define KZ_USEC_PER_DAY (INT64_C(86400) * KZ_USEC_PER_SEC)

/* Days since 1970-01-01 of a valid civil date (y in 1..9999, m 1..12, d 1..31). */
int64_t kz_days_from_civil(int y, int m, int d);

/* The civil date of a day number. */
void kz_civil_from_days(int64_t days, int *y, int *m, int *d);

/* 1 if y is a leap year. */
int kz_is_leap(int y);

/* Days in month m (1..12) of year y. */
int kz_month_days(int y, int m);

/* ISO weekday: 0 = Monday ... 6 = Sunday. */
int kz_weekday(kz_day d);

/* The day of an instant in UTC (floor division, right for negative times too). */
static inline kz_day kz_time_day(kz_time t)
{
    int64_t d = t / KZ_USEC_PER_DAY;
    if (t % KZ_USEC_PER_DAY < 0)
        d--;
    return (kz_day)d;
}

static inline kz_time kz_day_time(kz_day d)
{
    return (kz_time)d * KZ_USEC_PER_DAY;
}

/* The month containing a day, and the first day of a month. */
kz_month kz_day_month(kz_day d);
kz_day kz_month_first_day(kz_month m);

/* Parses an ISO-8601 date or date-time:
 *   2026-01-02                       midnight UTC
 *   2026-01-02T03:04[:05[.ffffff]]   UTC unless an offset follows ('T', 't' or ' ')
 *   ...Z | +09:00 | +0900 | +09      offset from UTC
 * Fractions finer than a microsecond are dropped (documented precision).
 * *has_time (may be NULL) is set to 1 when a time of day was given.
 * Returns 0 or KZ_EINVALID with the reason in kz_error_msg(). */
int kz_parse_time(kz_time *out, int *has_time, const char *s, size_t n);

/* Parses a calendar date "YYYY-MM-DD". A date-time is accepted only when it is
 * exactly midnight with no offset or offset zero (billing exports often write
 * "2026-01-02 00:00:00"). 0 or KZ_EINVALID. */
int kz_parse_date(kz_day *out, const char *s, size_t n);

/* Parses "YYYY-MM". 0 or KZ_EINVALID. */
int kz_parse_month(kz_month *out, const char *s, size_t n);

/* Buffer sizes that always suffice for the formatters below (with the NUL). */
#define KZ_DATE_BUF 16
#define KZ_TIME_BUF 40

/* "2026-01-02". Returns the length written. */
size_t kz_format_date(char buf[KZ_DATE_BUF], kz_day d);

/* "2026-01-02T03:04:05Z", with ".mmm" or ".uuuuuu" when the fraction is not zero. */
size_t kz_format_time(char buf[KZ_TIME_BUF], kz_time t);

/* "2026-01". */
size_t kz_format_month(char buf[KZ_DATE_BUF], kz_month m);

/* The current instant from the system clock. */
kz_time kz_now(void);

/* A monotonic clock in seconds, for measuring durations. */
double kz_monotonic(void);

#endif
