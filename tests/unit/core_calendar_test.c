/*
 * core_calendar_test.c - the holiday calendar (src/core/calendar.c): every
 * year's days and ranges (the year-end break across New Year, 29 February),
 * one year's dates and ranges, "none" and empty text, spaces around entries;
 * and each kind of wrong entry refused as invalid input with a message that
 * quotes it, the calendar left empty.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/calendar.h"
#include "core/error.h"
#include "core/time.h"

static kz_day D(int y, int m, int d)
{
    return (kz_day)kz_days_from_civil(y, m, d);
}

static kz_calendar parse_ok(const char *text)
{
    kz_calendar cal;
    int rc = kz_calendar_parse(&cal, text);
    cr_assert_eq(rc, KZ_OK, "'%s': %s", text, kz_error_msg());
    return cal;
}

#define IN(cal, y, m, d) \
    cr_assert(kz_calendar_has(&(cal), D(y, m, d)), "%04d-%02d-%02d is not in the calendar", y, m, d)
#define OUT(cal, y, m, d) \
    cr_assert(!kz_calendar_has(&(cal), D(y, m, d)), "%04d-%02d-%02d is in the calendar", y, m, d)

Test(core_calendar, a_yearly_day_is_in_every_year)
{
    kz_calendar cal = parse_ok("05-03");
    cr_assert_eq(cal.n, 1);
    cr_assert(cal.v[0].yearly);
    for (int y = 1999; y <= 2031; y++) {
        IN(cal, y, 5, 3);
        OUT(cal, y, 5, 2);
        OUT(cal, y, 5, 4);
    }
    OUT(cal, 2026, 3, 5); /* not read the other way round */
    kz_calendar_free(&cal);
    cr_assert_eq(cal.n, 0);
    cr_assert_null(cal.v);
}

Test(core_calendar, the_year_end_break_runs_over_new_year)
{
    kz_calendar cal = parse_ok("12-24..01-03");
    for (int y = 2024; y <= 2027; y++) {
        IN(cal, y, 12, 24);
        IN(cal, y, 12, 31);
        IN(cal, y, 1, 1);
        IN(cal, y, 1, 3);
        OUT(cal, y, 12, 23);
        OUT(cal, y, 1, 4);
        OUT(cal, y, 6, 15);
    }
    kz_calendar_free(&cal);
    /* a yearly range within the year */
    cal = parse_ok("08-10..08-20");
    IN(cal, 2025, 8, 10);
    IN(cal, 2025, 8, 15);
    IN(cal, 2025, 8, 20);
    OUT(cal, 2025, 8, 9);
    OUT(cal, 2025, 8, 21);
    OUT(cal, 2025, 1, 1);
    kz_calendar_free(&cal);
}

Test(core_calendar, the_29th_of_february)
{
    kz_calendar cal = parse_ok("02-29");
    IN(cal, 2024, 2, 29);
    IN(cal, 2000, 2, 29);
    OUT(cal, 2025, 2, 28);
    OUT(cal, 2025, 3, 1);
    OUT(cal, 2024, 2, 28);
    OUT(cal, 2024, 3, 1);
    kz_calendar_free(&cal);
    cal = parse_ok("02-28..03-01");
    IN(cal, 2024, 2, 28);
    IN(cal, 2024, 2, 29);
    IN(cal, 2024, 3, 1);
    IN(cal, 2025, 2, 28);
    IN(cal, 2025, 3, 1);
    OUT(cal, 2025, 3, 2);
    OUT(cal, 2024, 2, 27);
    kz_calendar_free(&cal);
}

Test(core_calendar, one_year_dates_and_ranges)
{
    kz_calendar cal = parse_ok("2026-11-26,2026-08-13..2026-08-16");
    cr_assert_eq(cal.n, 2);
    cr_assert(!cal.v[0].yearly && !cal.v[1].yearly);
    IN(cal, 2026, 11, 26);
    OUT(cal, 2025, 11, 26);
    OUT(cal, 2027, 11, 26);
    OUT(cal, 2026, 11, 25);
    OUT(cal, 2026, 11, 27);
    IN(cal, 2026, 8, 13);
    IN(cal, 2026, 8, 14);
    IN(cal, 2026, 8, 16);
    OUT(cal, 2026, 8, 12);
    OUT(cal, 2026, 8, 17);
    OUT(cal, 2027, 8, 14);
    kz_calendar_free(&cal);
    /* a range of one day, and one across the year's end */
    cal = parse_ok("2026-05-05..2026-05-05, 2025-12-30..2026-01-02");
    IN(cal, 2026, 5, 5);
    OUT(cal, 2026, 5, 6);
    IN(cal, 2025, 12, 30);
    IN(cal, 2025, 12, 31);
    IN(cal, 2026, 1, 1);
    IN(cal, 2026, 1, 2);
    OUT(cal, 2026, 1, 3);
    OUT(cal, 2024, 12, 31);
    kz_calendar_free(&cal);
}

Test(core_calendar, none_and_empty_text_have_no_day)
{
    static const char *const texts[] = { "", "none", "   ", " none ", "\tnone" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        kz_calendar cal = parse_ok(texts[i]);
        cr_assert_eq(cal.n, 0, "'%s': %zu entries", texts[i], cal.n);
        for (kz_day d = D(2024, 1, 1); d < D(2025, 1, 1); d++)
            cr_assert(!kz_calendar_has(&cal, d), "'%s' has a day", texts[i]);
        kz_calendar_free(&cal);
    }
    cr_assert(!kz_calendar_has(NULL, D(2025, 12, 25)), "no calendar has a day");
}

Test(core_calendar, spaces_around_entries_are_ignored)
{
    kz_calendar cal = parse_ok("  05-03 ,\t12-24 .. 01-03 ,2026-11-26,  2026-08-13 ..2026-08-16  ");
    cr_assert_eq(cal.n, 4, "%zu entries", cal.n);
    IN(cal, 2025, 5, 3);
    IN(cal, 2025, 12, 28);
    IN(cal, 2026, 1, 2);
    IN(cal, 2026, 11, 26);
    IN(cal, 2026, 8, 15);
    OUT(cal, 2026, 8, 17);
    OUT(cal, 2025, 5, 4);
    kz_calendar_free(&cal);
}

/* text must be refused as invalid, with a message holding want, and leave the calendar empty. */
static void refused(const char *text, const char *want)
{
    kz_calendar cal;
    kz_error_clear();
    int rc = kz_calendar_parse(&cal, text);
    cr_assert_eq(rc, KZ_EINVALID, "'%s' accepted (rc %d)", text, rc);
    cr_assert_eq(kz_error_code(), KZ_EINVALID, "'%s': error code %d", text, kz_error_code());
    cr_assert(strstr(kz_error_msg(), want), "'%s': the message \"%s\" does not hold \"%s\"", text, kz_error_msg(),
              want);
    cr_assert_eq(cal.n, 0, "'%s': %zu entries left after the error", text, cal.n);
    cr_assert_null(cal.v, "'%s': entries left allocated after the error", text);
    cr_assert(!kz_calendar_has(&cal, D(2025, 5, 3)), "'%s': the calendar has a day after the error", text);
    kz_calendar_free(&cal); /* harmless on the empty calendar */
}

Test(core_calendar, bad_entries_are_named)
{
    refused("13-01", "'13-01'");
    refused("00-10", "'00-10'");
    refused("12-32", "'12-32'");
    refused("04-31", "'04-31'");
    refused("2026-02-30", "'2026-02-30'");
    refused("2026-13-01", "'2026-13-01'");
    refused("5-3", "'5-3'");
    refused("christmas", "'christmas'");
    refused("01-05..2026-01-01", "'01-05..2026-01-01'");
    refused("2026-01-05..01-10", "'2026-01-05..01-10'");
    refused("01-05..", "'01-05..'");
    /* the mixed forms: the message says what is allowed */
    refused("01-05..2026-01-01", "same form");
    /* the good entries before a bad one do not survive it */
    refused("05-03, 12-24..01-03, 12-32, 2026-11-26", "'12-32'");
}

Test(core_calendar, a_range_ending_before_it_starts_is_refused)
{
    refused("2026-08-16..2026-08-13", "'2026-08-16..2026-08-13'");
    refused("2026-08-16..2026-08-13", "ends before it starts");
    refused("2027-01-01..2026-12-31", "ends before it starts");
    /* every year's range that ends before it starts runs over New Year instead */
    kz_calendar cal = parse_ok("03-01..02-01");
    IN(cal, 2025, 12, 1);
    IN(cal, 2025, 1, 15);
    OUT(cal, 2025, 2, 15);
    kz_calendar_free(&cal);
}

Test(core_calendar, an_empty_entry_is_refused_wherever_it_is)
{
    refused("05-03,,12-25", "entry 2 is empty");
    refused("05-03, ,12-25", "entry 2 is empty");
    refused(",05-03", "entry 1 is empty");
    refused("05-03,", "entry 2 is empty");
    refused("05-03, ", "entry 2 is empty");
}
