/*
 * engine_renewal_test.c - an account's renewal day (src/engine/renewal.c):
 * the field renewal_date when set, else the next anniversary of the first
 * subscription's start, 29 February included.
 */
#include <criterion/criterion.h>

#include "core/time.h"
#include "engine/renewal.h"

static kz_day D(int y, int m, int d)
{
    return (kz_day)kz_days_from_civil(y, m, d);
}

Test(engine_renewal, the_next_anniversary_on_or_after_the_day)
{
    cr_assert_eq(kz_renewal_next(D(2024, 3, 10), KZ_DAY_NONE, D(2026, 10, 31)), D(2027, 3, 10));
    cr_assert_eq(kz_renewal_next(D(2024, 10, 31), KZ_DAY_NONE, D(2026, 10, 31)), D(2026, 10, 31), "on the day itself");
    cr_assert_eq(kz_renewal_next(D(2024, 11, 1), KZ_DAY_NONE, D(2026, 10, 31)), D(2026, 11, 1));
    /* in the first year: its first anniversary, never the start itself */
    cr_assert_eq(kz_renewal_next(D(2026, 10, 31), KZ_DAY_NONE, D(2026, 10, 31)), D(2027, 10, 31));
    cr_assert_eq(kz_renewal_next(D(2026, 6, 1), KZ_DAY_NONE, D(2026, 10, 31)), D(2027, 6, 1));
    /* a start after the day (a future subscription): its first anniversary */
    cr_assert_eq(kz_renewal_next(D(2027, 1, 1), KZ_DAY_NONE, D(2026, 10, 31)), D(2028, 1, 1));
}

Test(engine_renewal, the_29th_of_february_renews_on_the_28th_in_common_years)
{
    cr_assert_eq(kz_renewal_next(D(2024, 2, 29), KZ_DAY_NONE, D(2025, 1, 1)), D(2025, 2, 28));
    cr_assert_eq(kz_renewal_next(D(2024, 2, 29), KZ_DAY_NONE, D(2027, 3, 1)), D(2028, 2, 29));
    cr_assert_eq(kz_add_years(D(2024, 2, 29), 4), D(2028, 2, 29));
    cr_assert_eq(kz_add_years(D(2024, 2, 29), 1), D(2025, 2, 28));
}

Test(engine_renewal, the_field_wins_even_when_it_has_passed_and_nothing_gives_none)
{
    cr_assert_eq(kz_renewal_next(D(2024, 3, 10), D(2026, 12, 15), D(2026, 10, 31)), D(2026, 12, 15));
    cr_assert_eq(kz_renewal_next(D(2024, 3, 10), D(2026, 9, 1), D(2026, 10, 31)), D(2026, 9, 1), "overdue: shown so");
    cr_assert_eq(kz_renewal_next(KZ_DAY_NONE, D(2027, 1, 1), D(2026, 10, 31)), D(2027, 1, 1));
    cr_assert_eq(kz_renewal_next(KZ_DAY_NONE, KZ_DAY_NONE, D(2026, 10, 31)), KZ_DAY_NONE);
}
