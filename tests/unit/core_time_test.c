/*
 * core_time_test.c - calendar arithmetic and ISO-8601 parsing (src/core/time.c).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/error.h"
#include "core/time.h"

static kz_time T(const char *s)
{
    kz_time t;
    int rc = kz_parse_time(&t, NULL, s, strlen(s));
    cr_assert_eq(rc, 0, "%s: %s", s, kz_error_msg());
    return t;
}

static int bad_time(const char *s)
{
    kz_time t;
    return kz_parse_time(&t, NULL, s, strlen(s)) == KZ_EINVALID;
}

Test(core_time, civil_round_trip_over_four_centuries)
{
    for (int64_t d = -200000; d < 200000; d += 7) {
        int y, m, dd;
        kz_civil_from_days(d, &y, &m, &dd);
        cr_assert_eq(kz_days_from_civil(y, m, dd), d);
    }
    cr_assert_eq(kz_days_from_civil(1970, 1, 1), 0);
    cr_assert_eq(kz_days_from_civil(2000, 3, 1), 11017);
}

Test(core_time, leap_years_and_month_lengths)
{
    cr_assert(kz_is_leap(2024));
    cr_assert(kz_is_leap(2000));
    cr_assert(!kz_is_leap(1900));
    cr_assert(!kz_is_leap(2025));
    cr_assert_eq(kz_month_days(2024, 2), 29);
    cr_assert_eq(kz_month_days(2023, 2), 28);
    cr_assert_eq(kz_month_days(2023, 4), 30);
    kz_day d;
    cr_assert_eq(kz_parse_date(&d, "2024-02-29", 10), 0);
    cr_assert_eq(kz_parse_date(&d, "2023-02-29", 10), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "does not exist"));
}

Test(core_time, weekdays)
{
    kz_day d;
    kz_parse_date(&d, "2026-11-24", 10); /* a Tuesday */
    cr_assert_eq(kz_weekday(d), 1);
    kz_parse_date(&d, "1969-12-28", 10); /* a Sunday, before the epoch */
    cr_assert_eq(kz_weekday(d), 6);
}

Test(core_time, iso_forms)
{
    cr_assert_eq(T("2026-01-02"), T("2026-01-02T00:00:00Z"));
    cr_assert_eq(T("2026-01-02T03:04:05Z"), T("2026-01-02 03:04:05"));
    cr_assert_eq(T("2026-01-02T12:00:00+09:00"), T("2026-01-02T03:00:00Z"));
    cr_assert_eq(T("2026-01-02T12:00:00+0900"), T("2026-01-02T03:00:00Z"));
    cr_assert_eq(T("2026-01-02T00:30:00-01:00"), T("2026-01-02T01:30:00Z"));
    cr_assert_eq(T("2026-01-02T03:04"), T("2026-01-02T03:04:00Z"));
    cr_assert_eq(T("2026-01-02T03:04:05.5Z") - T("2026-01-02T03:04:05Z"), 500000);
    cr_assert_eq(T("2026-01-02T03:04:05.123456789Z") - T("2026-01-02T03:04:05Z"), 123456);
    /* an offset moves the instant across midnight and the year */
    cr_assert_eq(T("2026-01-01T08:00:00+09:00"), T("2025-12-31T23:00:00Z"));
}

Test(core_time, bad_times_are_refused_with_a_reason)
{
    cr_assert(bad_time(""));
    cr_assert(bad_time("2026-13-01"));
    cr_assert(bad_time("2026-00-10"));
    cr_assert(bad_time("2026-01-32"));
    cr_assert(bad_time("26-01-02"));
    cr_assert(bad_time("2026/01/02"));
    cr_assert(bad_time("2026-01-02T24:00:00Z"));
    cr_assert(bad_time("2026-01-02T23:60:00Z"));
    cr_assert(bad_time("2026-01-02T23:59:60Z"));
    cr_assert(bad_time("2026-01-02T23:59:59+25:00"));
    cr_assert(bad_time("2026-01-02T23:59:59ZZ"));
    cr_assert(bad_time("2026-01-02x"));
    cr_assert(bad_time("2026-01-02T3:04:05Z"));
    cr_assert(bad_time("2026-01-02T03:04:05."));
    cr_assert(bad_time("0000-01-01"));
    cr_assert(bad_time("2026-01-02 "));
    cr_assert_neq(kz_error_msg()[0], '\0');
}

Test(core_time, dates_accept_midnight_times_only)
{
    kz_day d, e;
    cr_assert_eq(kz_parse_date(&d, "2024-05-01", 10), 0);
    cr_assert_eq(kz_parse_date(&e, "2024-05-01 00:00:00", 19), 0);
    cr_assert_eq(d, e);
    cr_assert_eq(kz_parse_date(&e, "2024-05-01T00:00:00Z", 20), 0);
    cr_assert_eq(d, e);
    cr_assert_eq(kz_parse_date(&e, "2024-05-01T10:00:00Z", 20), KZ_EINVALID);
    cr_assert_eq(kz_parse_date(&e, "2024-05-01T00:00:00+09:00", 25), KZ_EINVALID);
}

Test(core_time, months)
{
    kz_month m;
    char buf[KZ_DATE_BUF];
    cr_assert_eq(kz_parse_month(&m, "2024-12", 7), 0);
    kz_format_month(buf, m);
    cr_assert_str_eq(buf, "2024-12");
    cr_assert_eq(kz_month_first_day(m + 1), kz_days_from_civil(2025, 1, 1));
    cr_assert_eq(kz_parse_month(&m, "2024-13", 7), KZ_EINVALID);
    cr_assert_eq(kz_parse_month(&m, "2024-1", 6), KZ_EINVALID);
    kz_day d;
    kz_parse_date(&d, "2024-02-29", 10);
    cr_assert_eq(kz_day_month(d), 2024 * 12 + 1);
}

Test(core_time, formatting_round_trips)
{
    const char *forms[] = { "2026-01-02T03:04:05Z", "1999-12-31T23:59:59.250Z", "2024-02-29T00:00:00.000001Z",
                            "1960-06-15T12:00:00Z" };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char buf[KZ_TIME_BUF];
        kz_format_time(buf, T(forms[i]));
        cr_assert_str_eq(buf, forms[i]);
    }
    cr_assert_eq(kz_time_day(T("1969-12-31T23:59:59Z")), -1);
}
