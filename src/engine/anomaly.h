/*
 * anomaly.h - is this number normal? Detectors for the series a CS team
 * watches: each point is judged only by the points before it, against what
 * they make it expect, and gets an expected value, a range, a score and a
 * verdict.
 *
 * - Daily series (kz_detect_daily): a weekly season (the same weekday over the
 *   last weeks, with their trend fitted robustly by Theil-Sen) and, once a year
 *   of history exists, the yearly one (how far the same days of last year lay
 *   from their own expectation: holidays come back).
 * - Monthly series (kz_detect_monthly): the recent level (the months before,
 *   seasons taken out) times the month's season in earlier years; with few
 *   points the verdict is the generalised ESD test (Rosner) on the residuals.
 * - Cohorts by age (kz_detect_cohorts): a cohort's value at an age against the
 *   earlier cohorts at the same age.
 * - Any regular series (kz_detect_auto): its period found by itself (the
 *   autocorrelation of the robustly detrended series), then as daily.
 *
 * The spread is robust (the median absolute deviation of the residuals, not
 * the standard deviation), so past anomalies do not widen the range, with
 * floors: a share of the expected value, and for counts the Poisson spread
 * (the square root of the expected count). A point's robust z is its
 * residual over the spread; it is abnormal from o->threshold on, and its
 * score |z| / (|z| + threshold) is 0.5 there, in [0, 1) always.
 *
 * Cost: scoring a point reads a window of the points before it (O(window)),
 * never the whole history.
 */
#ifndef KZ_ENGINE_ANOMALY_H
#define KZ_ENGINE_ANOMALY_H

#include <stddef.h>
#include <stdint.h>

#include "core/time.h"

typedef struct kz_point {
    int scored;       /* 0: too little history before it to judge (expected etc. NaN) */
    int flagged;      /* abnormal */
    double expected, low, high;
    double z;         /* robust z (signed) */
    double score;     /* [0, 1): |z| / (|z| + threshold); 0 when not scored */
} kz_point;

typedef struct kz_detect_opts {
    double threshold; /* the robust z at which a point is abnormal (default 5) */
    int direction;    /* 0 both ways, 1 only above the range, -1 only below */
    int counts;       /* the values are counts: Poisson floor on the spread */
    double min_rel;   /* floor of the spread as a share of the expected value (default 0.05) */
    double min_expected; /* points expected below this are scored but never abnormal (default 0) */
    double min_change;   /* daily: an abnormal point also differs from its expectation by at least this share of
                            it (default 0: any; 0.6: down to 40% or up to 160% of it) */
    int absolute;     /* monthly: residuals in the series' units (a score such as NPS), not relative */
    const double *se; /* monthly: each point's sampling standard error, a floor of its spread (may be NULL) */
    int exact_ranges; /* counts: the exact Poisson range of every point (else only of abnormal ones, the
                         others' from the normal approximation: it is slow) */
    const uint8_t *holiday; /* daily: holiday[t] 1 when day t is a holiday (may be NULL): until the same days
                               of a year before are seen, its low values are not abnormal */
} kz_detect_opts;

void kz_detect_opts_init(kz_detect_opts *o);

/* x[0..n): one value a day from day0 (NaN: missing). out[i] judges x[i]. */
int kz_detect_daily(kz_point *out, const double *x, size_t n, kz_day day0, const kz_detect_opts *o);

/* x[0..n): one value a month from m0 (NaN: missing). */
int kz_detect_monthly(kz_point *out, const double *x, size_t n, kz_month m0, const kz_detect_opts *o);

/* Cohorts by age: rate[c * nages + k] is cohort c's mean per account at age
 * k (NaN when it has not reached it), size[c] its accounts, var[c * nages + k]
 * the variance of one account's value there (NULL: counts varying by chance
 * alone, the variance is the rate). out is laid out as rate; each cell is
 * judged against the up to `window` earlier cohorts at the same age that were
 * not abnormal: their pooled rate is expected, and the spread is what the
 * cohort's own accounts, the pooled rate's and the cohorts' differences
 * beyond chance (DerSimonian-Laird) make it. Cohorts under 20 accounts are
 * not judged. */
int kz_detect_cohorts(kz_point *out, const double *rate, const double *size, const double *var, size_t ncohorts,
                      size_t nages, size_t window, const kz_detect_opts *o);

/* A series at any regular interval (NaN: a gap): its period is the one of
 * candidates[0..ncand) whose lag explains the most of the series' changes
 * (autocorrelation of the first differences, at least 0.3; of those within
 * 85% of the best, the shortest: a day repeats within a week too), and
 * *period gets it (1: none); then each point is judged against the same
 * phase of the periods before it (or the points before it, with no period). */
int kz_detect_auto(kz_point *out, const double *x, size_t n, const size_t *candidates, size_t ncand, size_t *period,
                   const kz_detect_opts *o);

/* Points at times t[0..n) (seconds; increasing) with values v: the step (the
 * most common gap between neighbours) into *step, each point placed in its
 * slot of that step (a missing slot is a gap), the candidate periods from the
 * step (an hour, a day and a week; a year of months) and kz_detect_auto.
 * out[i] judges point i. KZ_EINVALID when two points fall in one slot
 * (*clash gets the second's index). */
int kz_detect_series(kz_point *out, const int64_t *t, const double *v, size_t n, int64_t *step, size_t *period,
                     size_t *clash, const kz_detect_opts *o);

/* The generalised ESD test (Rosner 1983): marks in out[0..n) (1) the up to
 * max_outliers points of r[0..n) that are outliers at significance alpha
 * (NaN values are left out). Returns how many. */
size_t kz_gesd(uint8_t *out, const double *r, size_t n, size_t max_outliers, double alpha);

/* Quantile p of Student's t distribution with df degrees of freedom. */
double kz_student_t_quantile(double p, double df);

#endif
