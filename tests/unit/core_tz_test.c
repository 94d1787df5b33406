/*
 * core_tz_test.c - time zones (src/core/tz.c): fixed offsets, IANA zones from
 * the system's files, daylight saving transitions inside and after the table,
 * and bad names.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/error.h"
#include "core/time.h"
#include "core/tz.h"

static int64_t T(const char *s)
{
    kz_time t;
    cr_assert_eq(kz_parse_time(&t, NULL, s, strlen(s)), 0, "%s", s);
    return t / KZ_USEC_PER_SEC;
}

static int64_t D(const char *s)
{
    kz_day d;
    cr_assert_eq(kz_parse_date(&d, s, strlen(s)), 0, "%s", s);
    return d;
}

Test(core_tz, utc_and_fixed_offsets)
{
    kz_tz *z;
    cr_assert_eq(kz_tz_load(&z, "UTC"), 0);
    cr_assert(kz_tz_is_utc(z));
    cr_assert_eq(kz_tz_day(z, T("2026-01-01T23:59:59Z")), D("2026-01-01"));
    kz_tz_free(z);
    cr_assert_eq(kz_tz_load(&z, "+09:00"), 0);
    cr_assert_eq(kz_tz_offset(z, 0), 9 * 3600);
    cr_assert_eq(kz_tz_day(z, T("2026-01-01T15:00:00Z")), D("2026-01-02"));
    cr_assert_eq(kz_tz_day_start(z, D("2026-01-02")), T("2026-01-01T15:00:00Z"));
    kz_tz_free(z);
    cr_assert_eq(kz_tz_load(&z, "-0530"), 0);
    cr_assert_eq(kz_tz_offset(z, 0), -(5 * 3600 + 1800));
    kz_tz_free(z);
}

Test(core_tz, tokyo_shifts_days_and_months)
{
    kz_tz *z;
    cr_assert_eq(kz_tz_load(&z, "Asia/Tokyo"), 0, "%s", kz_error_msg());
    cr_assert_eq(kz_tz_offset(z, T("2026-06-01T00:00:00Z")), 9 * 3600);
    /* 2026-01-31T20:00Z is February 1st in Tokyo */
    cr_assert_eq(kz_tz_day(z, T("2026-01-31T20:00:00Z")), D("2026-02-01"));
    cr_assert_eq(kz_tz_day_start(z, D("2026-02-01")), T("2026-01-31T15:00:00Z"));
    kz_tz_free(z);
}

Test(core_tz, daylight_saving_in_and_after_the_table)
{
    kz_tz *z;
    cr_assert_eq(kz_tz_load(&z, "America/New_York"), 0, "%s", kz_error_msg());
    cr_assert_eq(kz_tz_offset(z, T("2026-01-15T12:00:00Z")), -5 * 3600);
    cr_assert_eq(kz_tz_offset(z, T("2026-07-15T12:00:00Z")), -4 * 3600);
    /* the switch of 2026-03-08 at 2:00 local (7:00 UTC) */
    cr_assert_eq(kz_tz_offset(z, T("2026-03-08T06:59:59Z")), -5 * 3600);
    cr_assert_eq(kz_tz_offset(z, T("2026-03-08T07:00:00Z")), -4 * 3600);
    /* after 2037 the footer rule decides: 2050-07-01 is summer, 2050-01-01 winter */
    cr_assert_eq(kz_tz_offset(z, T("2050-07-01T12:00:00Z")), -4 * 3600);
    cr_assert_eq(kz_tz_offset(z, T("2050-01-01T12:00:00Z")), -5 * 3600);
    /* the second Sunday of March 2050 is the 13th: 2:00 EST = 7:00 UTC */
    cr_assert_eq(kz_tz_offset(z, T("2050-03-13T06:59:59Z")), -5 * 3600);
    cr_assert_eq(kz_tz_offset(z, T("2050-03-13T07:00:00Z")), -4 * 3600);
    cr_assert_eq(kz_tz_day_start(z, D("2026-07-15")), T("2026-07-15T04:00:00Z"));
    kz_tz_free(z);
    /* southern hemisphere: summer spans the new year */
    cr_assert_eq(kz_tz_load(&z, "Australia/Sydney"), 0);
    cr_assert_eq(kz_tz_offset(z, T("2050-01-15T00:00:00Z")), 11 * 3600);
    cr_assert_eq(kz_tz_offset(z, T("2050-07-15T00:00:00Z")), 10 * 3600);
    kz_tz_free(z);
}

Test(core_tz, bad_names_are_refused_before_any_file_is_opened)
{
    kz_tz *z;
    cr_assert_eq(kz_tz_load(&z, "../../etc/passwd"), KZ_EINVALID);
    cr_assert_eq(kz_tz_load(&z, "Asia/Tokyo; rm"), KZ_EINVALID);
    cr_assert_eq(kz_tz_load(&z, ""), KZ_EINVALID);
    cr_assert_eq(kz_tz_load(&z, "+25:00"), KZ_EINVALID);
    cr_assert_eq(kz_tz_load(&z, "Mars/Olympus_Mons"), KZ_ENOTFOUND);
    cr_assert(strstr(kz_error_msg(), "unknown time zone"), "%s", kz_error_msg());
}
