/*
 * renewal.c - an account's renewal day (renewal.h).
 */
#include "engine/renewal.h"

kz_day kz_add_years(kz_day d, int years)
{
    int y, m, dd;
    kz_civil_from_days(d, &y, &m, &dd);
    y += years;
    if (m == 2 && dd == 29 && !kz_is_leap(y))
        dd = 28;
    return (kz_day)kz_days_from_civil(y, m, dd);
}

kz_day kz_renewal_next(kz_day first_start, kz_day field, kz_day at)
{
    if (field != KZ_DAY_NONE)
        return field;
    if (first_start == KZ_DAY_NONE)
        return KZ_DAY_NONE;
    int y0, m0, d0, ya, ma, da;
    kz_civil_from_days(first_start, &y0, &m0, &d0);
    kz_civil_from_days(at, &ya, &ma, &da);
    int years = ya - y0 < 1 ? 1 : ya - y0;
    kz_day next = kz_add_years(first_start, years);
    while (next < at)
        next = kz_add_years(first_start, ++years);
    return next;
}
