/*
 * engine_anomaly_test.c - the anomaly detectors (src/engine/anomaly.c) on
 * synthetic series whose anomalies and quiet stretches are known because they
 * were planted: noise from the seeded generator (core/rng.h), so every run
 * sees the same numbers.
 *
 * - Student's t quantiles against published values, and the generalised ESD
 *   test: planted outliers found, exactly; pure noise mostly quiet; NaN left out.
 * - Daily counts over two years with a weekly season (weekdays ~1000,
 *   weekends ~300, Poisson noise): few false alarms on a clean series; planted
 *   spikes and dips found with the right sign; a level shift flagged on its
 *   first day and learnt within weeks (and not expected back a year later);
 *   a seasonal break flagged on its first days; holidays (the option, and a
 *   holiday's quiet seen the year before); min_change; scores and warm-up.
 * - Monthly values with a December season: an abnormal December found and the
 *   other months quiet; short series (the ESD check); absolute scores with
 *   standard errors (an NPS-like series).
 * - Cohorts by age: a cohort at a third of the usual rate flagged, small
 *   cohorts not judged, a lasting change learnt after two cohorts.
 * - Any series: the period found by itself (hourly: 24; daily: 7; none: 1),
 *   a spike found and not hiding the season, two points in one slot refused,
 *   gaps accepted.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/time.h"
#include "engine/anomaly.h"

/* ---- helpers ----------------------------------------------------------------------- */

#define DAY0_Y 2024 /* 2024-01-01 is a Monday */
#define TWO_YEARS 730

static kz_day day0(void)
{
    return (kz_day)kz_days_from_civil(DAY0_Y, 1, 1);
}

/* Day index (from 2024-01-01) of a civil date. */
static size_t day_at(int y, int m, int d)
{
    return (size_t)(kz_days_from_civil(y, m, d) - day0());
}

static int is_weekday(size_t t)
{
    return kz_weekday((kz_day)(day0() + (kz_day)t)) < 5;
}

/* The usual count of day t: weekdays 1000, weekends 300. */
static double usual(size_t t)
{
    return is_weekday(t) ? 1000 : 300;
}

/* n days of Poisson counts around usual() (malloc'd). */
static double *weekly_counts(size_t n, uint64_t seed)
{
    kz_rng r;
    kz_rng_seed(&r, seed);
    double *x = malloc(n * sizeof *x);
    cr_assert_not_null(x);
    for (size_t t = 0; t < n; t++)
        x[t] = (double)kz_rng_poisson(&r, usual(t));
    return x;
}

static kz_point *points(size_t n)
{
    kz_point *p = malloc((n ? n : 1) * sizeof *p);
    cr_assert_not_null(p);
    return p;
}

static kz_detect_opts count_opts(void)
{
    kz_detect_opts o;
    kz_detect_opts_init(&o);
    o.counts = 1;
    return o;
}

static void daily(kz_point *out, const double *x, size_t n, const kz_detect_opts *o)
{
    cr_assert_eq(kz_detect_daily(out, x, n, day0(), o), KZ_OK, "%s", kz_error_msg());
}

static size_t count_flagged(const kz_point *p, size_t from, size_t to)
{
    size_t k = 0;
    for (size_t i = from; i < to; i++)
        k += p[i].flagged != 0;
    return k;
}

/* The first weekday at or after day t. */
static size_t next_weekday(size_t t)
{
    while (!is_weekday(t))
        t++;
    return t;
}

/* ---- Student's t and the generalised ESD test -------------------------------------- */

Test(anomaly_stats, student_t_quantiles_match_the_tables)
{
    static const struct {
        double p, df, want;
    } cases[] = {
        { 0.975, 10, 2.228139 }, { 0.995, 5, 4.032143 }, { 0.9, 1, 3.077684 },
        { 0.95, 30, 1.697261 },  { 0.5, 7, 0.0 },       { 0.025, 10, -2.228139 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = kz_student_t_quantile(cases[i].p, cases[i].df);
        cr_assert_float_eq(got, cases[i].want, 1e-4, "t quantile p=%g df=%g: %.6f, want %.6f", cases[i].p,
                           cases[i].df, got, cases[i].want);
    }
    cr_assert(isnan(kz_student_t_quantile(0, 5)), "p = 0 has no quantile");
    cr_assert(isnan(kz_student_t_quantile(1, 5)), "p = 1 has no quantile");
    cr_assert(isnan(kz_student_t_quantile(0.5, 0)), "df = 0 is no distribution");
}

/* n standard normal values from seed (malloc'd). */
static double *normal_noise(size_t n, uint64_t seed)
{
    kz_rng r;
    kz_rng_seed(&r, seed);
    double *x = malloc(n * sizeof *x);
    cr_assert_not_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = kz_rng_normal(&r);
    return x;
}

Test(anomaly_stats, gesd_finds_exactly_the_two_planted_outliers)
{
    size_t n = 60;
    double *x = normal_noise(n, 11);
    x[10] = 8;
    x[40] = -9;
    uint8_t out[60];
    size_t found = kz_gesd(out, x, n, 5, 0.05);
    cr_assert_eq(found, 2, "found %zu outliers, planted 2", found);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(out[i], i == 10 || i == 40, "point %zu (%.2f) marked %d", i, x[i], out[i]);
    free(x);
}

Test(anomaly_stats, gesd_finds_nothing_in_pure_noise)
{
    uint8_t out[60];
    double *x = normal_noise(60, 12);
    cr_assert_eq(kz_gesd(out, x, 60, 5, 0.05), 0, "outliers found in pure noise (seed 12)");
    for (size_t i = 0; i < 60; i++)
        cr_assert_eq(out[i], 0);
    free(x);
    /* alpha is the chance of any false find: over many noise series, about that share */
    int noisy = 0;
    for (uint64_t seed = 100; seed < 300; seed++) {
        x = normal_noise(60, seed);
        noisy += kz_gesd(out, x, 60, 5, 0.05) > 0;
        free(x);
    }
    cr_log_info("gesd: %d of 200 pure noise series had an outlier at alpha 0.05", noisy);
    cr_assert_leq(noisy, 20, "%d of 200 pure noise series had an outlier at alpha 0.05", noisy);
}

Test(anomaly_stats, gesd_leaves_nan_out)
{
    size_t n = 60;
    double *x = normal_noise(n, 11);
    x[10] = 8;
    x[40] = -9;
    x[3] = x[25] = x[59] = NAN;
    uint8_t out[60];
    size_t found = kz_gesd(out, x, n, 5, 0.05);
    cr_assert_eq(found, 2, "found %zu outliers with NaN in the series, planted 2", found);
    cr_assert(out[10] && out[40], "the planted outliers are not both marked");
    cr_assert(!out[3] && !out[25] && !out[59], "a NaN is marked an outlier");
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
    cr_assert_eq(kz_gesd(out, x, n, 5, 0.05), 0, "all NaN: nothing to test");
    free(x);
}

/* ---- daily -------------------------------------------------------------------------- */

Test(anomaly_daily, a_clean_series_has_few_false_alarms)
{
    kz_detect_opts o = count_opts();
    kz_point *p = points(TWO_YEARS);
    size_t flagged = 0, scored = 0;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        double *x = weekly_counts(TWO_YEARS, seed);
        daily(p, x, TWO_YEARS, &o);
        for (size_t t = 0; t < TWO_YEARS; t++) {
            scored += p[t].scored != 0;
            flagged += p[t].flagged != 0;
        }
        free(x);
    }
    double rate = (double)flagged / (double)scored;
    cr_log_info("daily false alarms: %zu of %zu scored points (%.4f)", flagged, scored, rate);
    cr_assert_gt(scored, 5 * 650, "only %zu points scored in five two-year series", scored);
    cr_assert_leq(rate, 0.002, "false alarms on clean series: %zu of %zu scored points (%.4f)", flagged, scored,
                  rate);
    free(p);
}

Test(anomaly_daily, planted_spikes_and_dips_are_found_with_their_sign)
{
    double *x = weekly_counts(TWO_YEARS, 21);
    size_t planted[20];
    int up[20];
    /* 20 weekdays spread over the second year, spikes and dips in turn */
    for (size_t k = 0; k < 20; k++) {
        planted[k] = next_weekday(370 + k * 18);
        up[k] = k % 2 == 0;
        x[planted[k]] *= up[k] ? 3 : 0.3;
    }
    kz_detect_opts o = count_opts();
    kz_point *p = points(TWO_YEARS);
    daily(p, x, TWO_YEARS, &o);
    size_t found = 0, wrong_sign = 0;
    for (size_t k = 0; k < 20; k++) {
        const kz_point *q = &p[planted[k]];
        if (q->flagged) {
            found++;
            wrong_sign += (q->z > 0) != up[k];
        }
    }
    size_t others = count_flagged(p, 0, TWO_YEARS) - found;
    double rate = found / 20.0;
    cr_log_info("daily detection: %zu of 20 planted found (%.2f), %zu with the wrong sign, %zu other days flagged",
                found, rate, wrong_sign, others);
    cr_assert_geq(rate, 0.9, "found %zu of 20 planted spikes and dips", found);
    cr_assert_eq(wrong_sign, 0, "%zu found with z of the wrong sign", wrong_sign);
    cr_assert_leq(others, 2, "%zu days other than the planted ones flagged", others);
    free(x);
    free(p);
}

Test(anomaly_daily, a_level_shift_is_flagged_on_its_first_day_then_learnt)
{
    size_t n = 330, shift = next_weekday(200);
    double *x = weekly_counts(n, 31);
    for (size_t t = shift; t < n; t++)
        x[t] *= 1.8;
    kz_detect_opts o = count_opts();
    kz_point *p = points(n);
    daily(p, x, n, &o);
    cr_assert(p[shift].flagged && p[shift].z > 0, "the first day of the shift: flagged %d, z %.2f", p[shift].flagged,
              p[shift].z);
    cr_assert_eq(count_flagged(p, 0, shift), 0, "days before the shift flagged");
    size_t last = shift;
    for (size_t t = shift; t < n; t++)
        if (p[t].flagged)
            last = t;
    cr_log_info("level shift x1.8: flagged %zu days, the last %zu days after its start", count_flagged(p, shift, n),
                last - shift);
    cr_assert_lt(last, shift + 56, "still flagged %zu days after the shift", last - shift);
    free(x);
    free(p);
}

Test(anomaly_daily, a_level_shift_is_not_expected_back_a_year_later)
{
    /* a lasting change is no holiday: the anniversary of its first day is an ordinary day */
    size_t shift = next_weekday(day_at(2024, 5, 6));
    double *x = weekly_counts(TWO_YEARS, 32);
    for (size_t t = shift; t < TWO_YEARS; t++)
        x[t] *= 1.8;
    kz_detect_opts o = count_opts();
    kz_point *p = points(TWO_YEARS);
    daily(p, x, TWO_YEARS, &o);
    size_t from = shift + 56, flagged = count_flagged(p, from, TWO_YEARS);
    char seen[512] = "";
    size_t len = 0;
    for (size_t t = from; t < TWO_YEARS; t++)
        if (p[t].flagged && len < sizeof seen - 64)
            len += (size_t)snprintf(seen + len, sizeof seen - len,
                                    " day %zu (anniversary %+d) z %.1f expected %.0f value %.0f;", t,
                                    (int)t - (int)(shift + 365), p[t].z, p[t].expected, x[t]);
    cr_log_info("a year after a level shift x1.8: %zu days flagged:%s", flagged, seen);
    /* a level that moved and was being learnt is no yearly season: last year's days are set against the
     * weeks around them, not against 1 */
    cr_assert_eq(flagged, 0, "days flagged a year after a level shift: %zu:%s", flagged, seen);
    free(x);
    free(p);
}

Test(anomaly_daily, a_seasonal_break_is_flagged_on_its_first_weekend)
{
    size_t n = 300, sat = day_at(2024, 8, 3); /* a Saturday */
    cr_assert_eq(kz_weekday((kz_day)(day0() + (kz_day)sat)), 5);
    double *x = weekly_counts(n, 41);
    kz_rng r;
    kz_rng_seed(&r, 42);
    for (size_t t = sat; t < n; t++)
        if (!is_weekday(t))
            x[t] = (double)kz_rng_poisson(&r, 1000);
    kz_detect_opts o = count_opts();
    kz_point *p = points(n);
    daily(p, x, n, &o);
    cr_assert(p[sat].flagged && p[sat].z > 0, "the first busy Saturday: flagged %d, z %.2f", p[sat].flagged,
              p[sat].z);
    cr_assert(p[sat + 1].flagged && p[sat + 1].z > 0, "the first busy Sunday: flagged %d, z %.2f",
              p[sat + 1].flagged, p[sat + 1].z);
    cr_assert_eq(count_flagged(p, 0, sat), 0, "days before the break flagged");
    for (size_t t = sat; t < sat + 7; t++)
        if (is_weekday(t))
            cr_assert(!p[t].flagged, "weekday %zu after the break flagged", t);
    free(x);
    free(p);
}

Test(anomaly_daily, a_holiday_dip_not_seen_a_year_before_is_no_news_but_a_spike_is)
{
    size_t n = 365, dip = next_weekday(day_at(2024, 5, 14)), spike = next_weekday(day_at(2024, 9, 10));
    double *x = weekly_counts(n, 51);
    x[dip] *= 0.3;
    x[spike] *= 3;
    uint8_t *holiday = calloc(n, 1);
    cr_assert_not_null(holiday);
    holiday[dip] = holiday[spike] = 1;
    kz_detect_opts o = count_opts();
    kz_point *p = points(n);
    /* without the calendar the dip is abnormal */
    daily(p, x, n, &o);
    cr_assert(p[dip].flagged && p[dip].z < 0, "the dip without a calendar: flagged %d, z %.2f", p[dip].flagged,
              p[dip].z);
    o.holiday = holiday;
    daily(p, x, n, &o);
    cr_assert(p[dip].scored, "the holiday is still scored");
    cr_assert_lt(p[dip].z, -5, "the holiday's dip keeps its z (%.2f)", p[dip].z);
    cr_assert(!p[dip].flagged, "a dip on a holiday with no year before is flagged (z %.2f)", p[dip].z);
    cr_assert(p[spike].flagged && p[spike].z > 0, "a spike on a holiday: flagged %d, z %.2f", p[spike].flagged,
              p[spike].z);
    cr_assert_eq(count_flagged(p, 0, n), 1, "%zu days flagged, only the spike should be", count_flagged(p, 0, n));
    free(holiday);
    free(x);
    free(p);
}

Test(anomaly_daily, a_holiday_quiet_seen_a_year_before_comes_back)
{
    /* no calendar: the quiet of 14 May 2024 is flagged, and expected again on 14 May 2025 */
    size_t first = day_at(2024, 5, 14), again = day_at(2025, 5, 14);
    cr_assert(is_weekday(first) && is_weekday(again));
    double *x = weekly_counts(TWO_YEARS, 52);
    x[first] *= 0.3;
    x[again] *= 0.3;
    kz_detect_opts o = count_opts();
    kz_point *p = points(TWO_YEARS);
    daily(p, x, TWO_YEARS, &o);
    cr_assert(p[first].flagged && p[first].z < 0, "the first quiet 14 May: flagged %d, z %.2f", p[first].flagged,
              p[first].z);
    cr_assert(!p[again].flagged, "14 May a year on is flagged again (z %.2f, expected %.0f, value %.0f)",
              p[again].z, p[again].expected, x[again]);
    cr_assert_lt(p[again].expected, 600, "a year on, 14 May is expected quiet (expected %.0f)", p[again].expected);
    free(x);
    free(p);
}

Test(anomaly_daily, min_change_spares_small_but_unusual_moves)
{
    size_t n = 200, t = next_weekday(150);
    double *x = weekly_counts(n, 61);
    x[t] = 1350; /* 35% above a weekday: far beyond the 5% floor's 5 sigma */
    kz_detect_opts o = count_opts();
    kz_point *p = points(n);
    daily(p, x, n, &o);
    cr_assert(p[t].flagged, "+35%% with min_change 0: flagged %d, z %.2f", p[t].flagged, p[t].z);
    o.min_change = 0.6;
    daily(p, x, n, &o);
    cr_assert(!p[t].flagged, "+35%% with min_change 0.6 flagged (z %.2f)", p[t].z);
    cr_assert_geq(p[t].z, 5, "min_change does not change z (%.2f)", p[t].z);
    /* a bigger move passes min_change too */
    x[t] = 1700;
    daily(p, x, n, &o);
    cr_assert(p[t].flagged, "+70%% with min_change 0.6: flagged %d, z %.2f", p[t].flagged, p[t].z);
    free(x);
    free(p);
}

Test(anomaly_daily, scores_are_in_range_and_the_first_weeks_unscored)
{
    double *x = weekly_counts(TWO_YEARS, 71);
    x[300] *= 4;
    x[500] = NAN;
    kz_detect_opts o = count_opts();
    kz_point *p = points(TWO_YEARS);
    daily(p, x, TWO_YEARS, &o);
    /* a point needs six same weekdays before it */
    for (size_t t = 0; t < 42; t++)
        cr_assert(!p[t].scored && !p[t].flagged && p[t].score == 0 && isnan(p[t].expected),
                  "day %zu judged with under six weeks before it", t);
    for (size_t t = 42; t < 49; t++)
        cr_assert(p[t].scored, "day %zu has six weeks before it but is not scored", t);
    cr_assert(!p[500].scored && p[500].score == 0, "a missing day is scored");
    for (size_t t = 0; t < TWO_YEARS; t++) {
        cr_assert(p[t].score >= 0 && p[t].score < 1, "day %zu: score %g outside [0, 1)", t, p[t].score);
        if (!p[t].scored)
            cr_assert_eq(p[t].score, 0, "day %zu unscored with score %g", t, p[t].score);
        else
            cr_assert(p[t].low <= p[t].expected && p[t].expected <= p[t].high, "day %zu: range %g..%g around %g", t,
                      p[t].low, p[t].high, p[t].expected);
        if (p[t].flagged)
            cr_assert_geq(p[t].score, 0.5, "day %zu flagged with score %g", t, p[t].score);
    }
    cr_assert_gt(p[300].score, 0.5, "the x4 day: score %g", p[300].score);
    free(x);
    free(p);
}

/* ---- monthly ------------------------------------------------------------------------ */

/* n months of about 10000 (2% noise) from January 2021, December times dec. */
static double *monthly_values(size_t n, double dec, uint64_t seed)
{
    kz_rng r;
    kz_rng_seed(&r, seed);
    double *x = malloc(n * sizeof *x);
    cr_assert_not_null(x);
    for (size_t t = 0; t < n; t++)
        x[t] = 10000 * exp(0.02 * kz_rng_normal(&r)) * (t % 12 == 11 ? dec : 1);
    return x;
}

static kz_month month0(void)
{
    return 2021 * 12;
}

Test(anomaly_monthly, an_abnormal_december_is_found_and_the_others_quiet)
{
    size_t n = 48;
    double *x = monthly_values(n, 1.3, 81);
    x[47] *= 1.5; /* the last December: 1.5 times the earlier ones */
    kz_detect_opts o;
    kz_detect_opts_init(&o);
    kz_point *p = points(n);
    cr_assert_eq(kz_detect_monthly(p, x, n, month0(), &o), KZ_OK);
    cr_assert(p[47].flagged && p[47].z > 0, "the last December x1.5: flagged %d, z %.2f (expected %.0f, value %.0f)",
              p[47].flagged, p[47].z, p[47].expected, x[47]);
    /* even the first December, with no year before it to show the season, stays within the range */
    for (size_t t = 0; t < 47; t++)
        cr_assert(!p[t].flagged, "month %zu flagged (z %.2f, value %.0f, expected %.0f)", t, p[t].z, x[t],
                  p[t].expected);
    /* the later ordinary Decembers are expected above the other months */
    cr_assert_gt(p[35].expected, 10800, "December 2023 expected at %.0f: the season is not learnt", p[35].expected);
    for (size_t t = 0; t < 3; t++)
        cr_assert(!p[t].scored, "month %zu scored with under three months before it", t);
    free(x);
    free(p);
}

/* Seven quiet months of about 100, then x[last]. */
static int short_series_flags(size_t n, double last)
{
    kz_rng r;
    kz_rng_seed(&r, 91);
    double x[24];
    cr_assert_leq(n, 24);
    for (size_t t = 0; t + 1 < n; t++)
        x[t] = 100 * exp(0.02 * kz_rng_normal(&r));
    x[n - 1] = last;
    kz_point p[24];
    kz_detect_opts o;
    kz_detect_opts_init(&o);
    cr_assert_eq(kz_detect_monthly(p, x, n, month0(), &o), KZ_OK);
    for (size_t t = 0; t + 1 < n; t++)
        cr_assert(!p[t].flagged, "quiet month %zu of %zu flagged", t, n);
    return p[n - 1].flagged;
}

Test(anomaly_monthly, a_short_series_is_judged_with_the_esd_check)
{
    /* under a year: seven quiet months, then a huge one or a modest one */
    int huge8 = short_series_flags(8, 500), modest8 = short_series_flags(8, 115);
    cr_assert(!modest8, "8 months: +15%% flagged");
    /* a young series (a level of three to five months) is judged by the ESD test on its few residuals */
    cr_assert(huge8, "8 months: x5 in the eighth not flagged");
    /* 13 to 18 months: fewer than twelve residuals, the ESD test has the last word */
    cr_assert(short_series_flags(14, 500), "14 months: x5 in the last not flagged");
    cr_assert(!short_series_flags(14, 115), "14 months: +15%% flagged");
}

Test(anomaly_monthly, absolute_scores_with_standard_errors)
{
    /* an NPS-like score: about 40, moving by ~0.3 a month, each month's survey +-3 */
    size_t n = 36;
    kz_rng r;
    kz_rng_seed(&r, 101);
    double x[36], se[36];
    for (size_t t = 0; t < n; t++) {
        x[t] = 40 + 0.3 * kz_rng_normal(&r);
        se[t] = 3;
    }
    size_t drop = 30, wobble = 33;
    x[drop] = 10;
    x[wobble] = 38;
    kz_detect_opts o;
    kz_detect_opts_init(&o);
    o.absolute = 1;
    kz_point p[36];
    /* without standard errors the month-to-month spread is tiny: 2 points is a lot */
    cr_assert_eq(kz_detect_monthly(p, x, n, month0(), &o), KZ_OK);
    cr_assert(p[wobble].flagged, "without se, a 2-point move on a steady score: flagged %d, z %.2f",
              p[wobble].flagged, p[wobble].z);
    o.se = se;
    cr_assert_eq(kz_detect_monthly(p, x, n, month0(), &o), KZ_OK);
    cr_assert(p[drop].flagged && p[drop].z < 0, "a 30-point drop: flagged %d, z %.2f", p[drop].flagged, p[drop].z);
    cr_assert_float_eq(p[drop].expected, 40, 1, "expected %.2f, in points", p[drop].expected);
    cr_assert(!p[wobble].flagged, "a 2-point wobble within the survey's error flagged (z %.2f)", p[wobble].z);
    cr_assert_eq(count_flagged(p, 0, n), 1, "%zu months flagged, only the drop should be", count_flagged(p, 0, n));
    cr_assert_geq(p[wobble].high - p[wobble].expected, 5 * 3 - 1e-9, "the range is at least 5 se wide");
}

/* ---- cohorts ------------------------------------------------------------------------ */

#define NCOH 20

/* Cohort c's accounts (size[c]; when 0, drawn from lo to hi) each file Poisson(1.6 x factor[c] x their own propensity,
 * log-normal with sd 0.3) in their first month: the cohort's mean and per-account variance. */
static void cohorts(double *rate, double *size, double *var, const double *factor, int lo, int hi, uint64_t seed)
{
    kz_rng r;
    kz_rng_seed(&r, seed);
    for (size_t c = 0; c < NCOH; c++) {
        if (size[c] == 0)
            size[c] = (double)kz_rng_range(&r, lo, hi);
        double sum = 0, sq = 0;
        for (int a = 0; a < (int)size[c]; a++) {
            double v = (double)kz_rng_poisson(&r, 1.6 * factor[c] * exp(0.3 * kz_rng_normal(&r) - 0.045));
            sum += v;
            sq += v * v;
        }
        rate[c] = sum / size[c];
        var[c] = (sq - sum * sum / size[c]) / (size[c] - 1);
    }
}

Test(anomaly_cohorts, a_cohort_at_a_third_of_the_rate_is_flagged)
{
    double rate[NCOH], size[NCOH] = { 0 }, var[NCOH], factor[NCOH];
    for (size_t c = 0; c < NCOH; c++)
        factor[c] = 1;
    factor[12] = 1.0 / 3;
    size[15] = 19; /* too small to judge */
    size[16] = 20; /* just large enough */
    cohorts(rate, size, var, factor, 30, 40, 111);
    kz_detect_opts o = count_opts();
    o.threshold = 3; /* the watched cohort series' threshold: at 30-40 accounts a third is about five sigma */
    kz_point p[NCOH];
    cr_assert_eq(kz_detect_cohorts(p, rate, size, var, NCOH, 1, 12, &o), KZ_OK);
    cr_log_info("cohorts of 30-40 accounts: the third-rate cohort (%.2f) z %.2f, flagged %d", rate[12], p[12].z,
                p[12].flagged);
    cr_assert(p[12].flagged && p[12].z < -4, "the cohort at a third (%.2f vs ~1.6): flagged %d, z %.2f", rate[12],
              p[12].flagged, p[12].z);
    for (size_t c = 0; c < NCOH; c++)
        if (c != 12)
            cr_assert(!p[c].flagged, "cohort %zu (rate %.2f, %g accounts) flagged, z %.2f", c, rate[c], size[c],
                      p[c].z);
    for (size_t c = 0; c < 3; c++)
        cr_assert(!p[c].scored, "cohort %zu scored with fewer than three cohorts before it", c);
    cr_assert(!p[15].scored && p[15].score == 0, "a cohort of 19 accounts is scored");
    cr_assert(p[16].scored, "a cohort of 20 accounts is not scored");
    cr_assert_float_eq(p[13].expected, 1.6, 0.25, "cohort 13 expected %.2f", p[13].expected);
    /* the flagged cohort is no reference for the next ones */
    cr_assert_gt(p[13].expected, 1.3, "the third-rate cohort pulls down the next's expectation: %.2f",
                 p[13].expected);
}

Test(anomaly_cohorts, without_variances_counts_vary_by_chance)
{
    double rate[NCOH], size[NCOH] = { 0 }, var[NCOH], factor[NCOH];
    for (size_t c = 0; c < NCOH; c++)
        factor[c] = 1;
    factor[12] = 1.0 / 3;
    cohorts(rate, size, var, factor, 30, 40, 112);
    kz_detect_opts o = count_opts();
    o.threshold = 3;
    kz_point p[NCOH];
    cr_assert_eq(kz_detect_cohorts(p, rate, size, NULL, NCOH, 1, 12, &o), KZ_OK);
    cr_log_info("cohorts without var: the third-rate cohort z %.2f, flagged %d", p[12].z, p[12].flagged);
    cr_assert(p[12].flagged && p[12].z < -4, "the cohort at a third without var: flagged %d, z %.2f", p[12].flagged,
              p[12].z);
    for (size_t c = 0; c < NCOH; c++)
        if (c != 12)
            cr_assert(!p[c].flagged, "cohort %zu (rate %.2f) flagged without var, z %.2f", c, rate[c], p[c].z);
}

Test(anomaly_cohorts, among_larger_cohorts_a_third_is_flagged_every_time)
{
    int flagged = 0;
    for (uint64_t seed = 111; seed < 121; seed++) {
        double rate[NCOH], size[NCOH] = { 0 }, var[NCOH], factor[NCOH];
        for (size_t c = 0; c < NCOH; c++)
            factor[c] = c == 12 ? 1.0 / 3 : 1;
        cohorts(rate, size, var, factor, 80, 100, seed);
        kz_detect_opts o = count_opts();
        kz_point p[NCOH];
        cr_assert_eq(kz_detect_cohorts(p, rate, size, var, NCOH, 1, 12, &o), KZ_OK);
        cr_assert(p[12].flagged && p[12].z < 0, "seed %llu: a third among 80-100 accounts: flagged %d, z %.2f",
                  (unsigned long long)seed, p[12].flagged, p[12].z);
        flagged += (int)count_flagged(p, 0, NCOH);
    }
    cr_assert_eq(flagged, 10, "%d cells flagged in ten worlds with one low cohort each", flagged);
}

Test(anomaly_cohorts, a_lasting_change_is_learnt_after_two_cohorts)
{
    double rate[NCOH], size[NCOH] = { 0 }, var[NCOH], factor[NCOH];
    for (size_t c = 0; c < NCOH; c++)
        factor[c] = c >= 12 ? 2 : 1;
    cohorts(rate, size, var, factor, 30, 40, 121);
    kz_detect_opts o = count_opts();
    kz_point p[NCOH];
    cr_assert_eq(kz_detect_cohorts(p, rate, size, var, NCOH, 1, 12, &o), KZ_OK);
    cr_assert(p[12].flagged && p[12].z > 0, "the first cohort at x2: flagged %d, z %.2f", p[12].flagged, p[12].z);
    cr_assert(p[13].flagged && p[13].z > 0, "the second cohort at x2: flagged %d, z %.2f", p[13].flagged, p[13].z);
    for (size_t c = 14; c < NCOH; c++)
        cr_assert(!p[c].flagged, "cohort %zu, the %zuth at x2, still flagged (z %.2f, expected %.2f)", c, c - 11,
                  p[c].z, p[c].expected);
    cr_assert_eq(count_flagged(p, 0, 12), 0, "cohorts before the change flagged");
}

Test(anomaly_cohorts, cells_are_laid_out_by_cohort_then_age)
{
    /* two ages; the low cohort is low only at age 1 */
    enum { NA = 2 };
    double rate[NCOH * NA], size[NCOH], var[NCOH * NA];
    kz_rng r;
    kz_rng_seed(&r, 131);
    for (size_t c = 0; c < NCOH; c++) {
        size[c] = 200;
        for (size_t k = 0; k < NA; k++) {
            double lam = (k ? 0.8 : 1.6) * 200 * (c == 9 && k == 1 ? 1.0 / 3 : 1);
            rate[c * NA + k] = (double)kz_rng_poisson(&r, lam) / 200;
            var[c * NA + k] = k ? 0.8 : 1.6;
        }
    }
    rate[(NCOH - 1) * NA + 1] = NAN; /* the last cohort has not reached age 1 */
    kz_detect_opts o = count_opts();
    kz_point p[NCOH * NA];
    cr_assert_eq(kz_detect_cohorts(p, rate, size, var, NCOH, NA, 12, &o), KZ_OK);
    cr_assert(p[9 * NA + 1].flagged && p[9 * NA + 1].z < 0, "cohort 9 at age 1: flagged %d, z %.2f",
              p[9 * NA + 1].flagged, p[9 * NA + 1].z);
    cr_assert(!p[9 * NA].flagged, "cohort 9 at age 0 flagged (z %.2f)", p[9 * NA].z);
    cr_assert(!p[(NCOH - 1) * NA + 1].scored, "an age not reached is scored");
    cr_assert_eq(count_flagged(p, 0, NCOH * NA), 1, "%zu cells flagged", count_flagged(p, 0, NCOH * NA));
}

/* ---- any series --------------------------------------------------------------------- */

#define HOURS (8 * 168)

/* Hourly counts over 8 weeks with a daily season: scale x (20 at night to 100 in the afternoon). */
static void hourly(int64_t *t, double *v, uint64_t seed, double scale)
{
    kz_rng r;
    kz_rng_seed(&r, seed);
    int64_t t0 = kz_days_from_civil(2024, 1, 1) * 86400;
    for (size_t i = 0; i < HOURS; i++) {
        t[i] = t0 + (int64_t)i * 3600;
        v[i] = (double)kz_rng_poisson(&r, scale * (60 - 40 * cos(2 * M_PI * (double)(i % 24) / 24)));
    }
}

Test(anomaly_series, hourly_data_finds_a_daily_season_and_a_spike)
{
    int64_t *t = malloc(HOURS * sizeof *t);
    double *v = malloc(HOURS * sizeof *v);
    kz_point *p = points(HOURS);
    cr_assert(t && v);
    size_t spike = 7 * 168 + 24 * 3 + 14; /* an afternoon in week 8 */
    for (uint64_t seed = 141; seed < 151; seed++) {
        hourly(t, v, seed, 3); /* 60 to 300 an hour */
        v[spike] *= 3;
        kz_detect_opts o = count_opts();
        int64_t step;
        size_t period, clash = 0;
        cr_assert_eq(kz_detect_series(p, t, v, HOURS, &step, &period, &clash, &o), KZ_OK, "%s", kz_error_msg());
        cr_assert_eq(step, 3600, "step %lld", (long long)step);
        /* a daily season is also a weekly one: the shorter period is the one wanted */
        cr_assert_eq(period, 24, "seed %llu: hourly data with a daily season: period %zu",
                     (unsigned long long)seed, period);
        cr_assert(p[spike].flagged && p[spike].z > 0, "seed %llu: the spike: flagged %d, z %.2f",
                  (unsigned long long)seed, p[spike].flagged, p[spike].z);
        size_t others = count_flagged(p, 0, HOURS) - 1;
        cr_assert_leq(others, 3, "seed %llu: %zu other hours flagged", (unsigned long long)seed, others);
    }
    free(t);
    free(v);
    free(p);
}

Test(anomaly_series, a_single_spike_does_not_hide_the_season)
{
    /* a moderate daily season (20 to 100 an hour): found without the spike; the spike should not change it */
    int64_t *t = malloc(HOURS * sizeof *t);
    double *v = malloc(HOURS * sizeof *v);
    kz_point *p = points(HOURS);
    cr_assert(t && v);
    hourly(t, v, 141, 1);
    kz_detect_opts o = count_opts();
    int64_t step;
    size_t before, after, clash = 0;
    cr_assert_eq(kz_detect_series(p, t, v, HOURS, &step, &before, &clash, &o), KZ_OK, "%s", kz_error_msg());
    cr_assert_eq(before, 24, "without the spike: period %zu", before);
    cr_assert_leq(count_flagged(p, 0, HOURS), 2, "without the spike %zu hours flagged", count_flagged(p, 0, HOURS));
    size_t spike = 7 * 168 + 24 * 3 + 14;
    v[spike] *= 3;
    cr_assert_eq(kz_detect_series(p, t, v, HOURS, &step, &after, &clash, &o), KZ_OK, "%s", kz_error_msg());
    size_t flagged = count_flagged(p, 0, HOURS);
    cr_log_info("moderate daily season: period %zu without the spike, %zu with it, then %zu hours flagged", before,
                after, flagged);
    cr_assert(p[spike].flagged && p[spike].z > 0, "the spike: flagged %d, z %.2f", p[spike].flagged, p[spike].z);
    /* the differences are clipped before their autocorrelation: one spike does not hide the season */
    cr_assert_eq(after, before, "with the spike: period %zu (before %zu)", after, before);
    cr_assert_leq(flagged, 3, "with one spike %zu hours flagged (period %zu)", flagged, after);
    free(t);
    free(v);
    free(p);
}

Test(anomaly_series, daily_data_finds_a_weekly_season)
{
    size_t n = 20 * 7;
    double *x = weekly_counts(n, 151);
    int64_t t[20 * 7];
    for (size_t i = 0; i < n; i++)
        t[i] = ((int64_t)day0() + (int64_t)i) * 86400;
    kz_point *p = points(n);
    kz_detect_opts o = count_opts();
    int64_t step;
    size_t period, clash = 0;
    cr_assert_eq(kz_detect_series(p, t, x, n, &step, &period, &clash, &o), KZ_OK, "%s", kz_error_msg());
    cr_assert_eq(step, 86400, "step %lld", (long long)step);
    cr_assert_eq(period, 7, "daily data with a weekly season: period %zu", period);
    /* the same through kz_detect_auto, with the day and the week as candidates */
    size_t cand[] = { 7, 30 }, period2;
    cr_assert_eq(kz_detect_auto(p, x, n, cand, 2, &period2, &o), KZ_OK);
    cr_assert_eq(period2, 7, "kz_detect_auto: period %zu", period2);
    cr_assert_eq(count_flagged(p, 0, n), 0, "%zu days of a clean weekly series flagged", count_flagged(p, 0, n));
    free(x);
    free(p);
}

Test(anomaly_series, a_series_without_season_has_period_one)
{
    int64_t *t = malloc(HOURS * sizeof *t);
    double *v = malloc(HOURS * sizeof *v);
    kz_point *p = points(HOURS);
    cr_assert(t && v);
    kz_rng r;
    kz_rng_seed(&r, 161);
    for (size_t i = 0; i < HOURS; i++) {
        t[i] = (int64_t)i * 3600;
        v[i] = (double)kz_rng_poisson(&r, 500);
    }
    v[1000] = 900;
    kz_detect_opts o = count_opts();
    int64_t step;
    size_t period, clash = 0;
    cr_assert_eq(kz_detect_series(p, t, v, HOURS, &step, &period, &clash, &o), KZ_OK, "%s", kz_error_msg());
    cr_assert_eq(period, 1, "white noise: period %zu", period);
    /* with no period, the points just before are the reference: six needed */
    for (size_t i = 0; i < 6; i++)
        cr_assert(!p[i].scored, "point %zu scored with under six before it", i);
    cr_assert(p[6].scored, "point 6 not scored");
    cr_assert(p[1000].flagged && p[1000].z > 0, "900 among ~500: flagged %d, z %.2f", p[1000].flagged, p[1000].z);
    free(t);
    free(v);
    free(p);
}

Test(anomaly_series, two_points_in_one_slot_are_refused)
{
    int64_t t[12];
    double v[12];
    for (size_t i = 0; i < 12; i++) {
        t[i] = 1700000000 + (int64_t)i * 3600;
        v[i] = 10;
    }
    /* point 7 lands 100 s after point 6: the same hour */
    for (size_t i = 7; i < 12; i++)
        t[i] -= 3600 - 100;
    kz_point p[12];
    kz_detect_opts o = count_opts();
    int64_t step;
    size_t period, clash = 99;
    int rc = kz_detect_series(p, t, v, 12, &step, &period, &clash, &o);
    cr_assert_eq(rc, KZ_EINVALID, "rc %d", rc);
    cr_assert_eq(clash, 7, "clash at %zu, the second point of the slot is 7", clash);
    cr_assert(strstr(kz_error_msg(), "two points in one step"), "message: %s", kz_error_msg());
}

Test(anomaly_series, gaps_are_missing_slots)
{
    int64_t *t = malloc(HOURS * sizeof *t), *tg = malloc(HOURS * sizeof *tg);
    double *v = malloc(HOURS * sizeof *v), *vg = malloc(HOURS * sizeof *vg);
    kz_point *p = points(HOURS);
    cr_assert(t && v && tg && vg);
    hourly(t, v, 171, 3);
    size_t spike = 7 * 168 + 24 * 4 + 15;
    v[spike] *= 3;
    /* drop every 13th hour and a whole half day in week 5 */
    size_t n = 0, spike_at = 0;
    for (size_t i = 0; i < HOURS; i++) {
        if (i % 13 == 5 || (i >= 4 * 168 + 30 && i < 4 * 168 + 42))
            continue;
        if (i == spike)
            spike_at = n;
        tg[n] = t[i];
        vg[n] = v[i];
        n++;
    }
    cr_assert_lt(n, HOURS - 100);
    kz_detect_opts o = count_opts();
    int64_t step;
    size_t period, clash = 0;
    cr_assert_eq(kz_detect_series(p, tg, vg, n, &step, &period, &clash, &o), KZ_OK, "%s", kz_error_msg());
    cr_assert_eq(step, 3600, "step %lld with gaps", (long long)step);
    cr_assert_eq(period, 24, "period %zu with gaps", period);
    cr_assert(p[spike_at].flagged && p[spike_at].z > 0, "the spike with gaps: flagged %d, z %.2f",
              p[spike_at].flagged, p[spike_at].z);
    size_t scored = 0;
    for (size_t i = 0; i < n; i++) {
        scored += p[i].scored != 0;
        cr_assert(p[i].score >= 0 && p[i].score < 1);
    }
    cr_assert_gt(scored, n / 2, "only %zu of %zu points scored with gaps", scored, n);
    cr_assert_leq(count_flagged(p, 0, n), 4, "%zu points flagged with gaps", count_flagged(p, 0, n));
    free(t);
    free(v);
    free(tg);
    free(vg);
    free(p);
}
