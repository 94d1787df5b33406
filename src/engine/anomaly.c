/*
 * anomaly.c - the detectors of anomaly.h.
 */
#include "engine/anomaly.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define WEEKS 8          /* same-weekday points a daily expectation is fitted on */
#define MIN_SAME 6       /* fewer than this: not judged yet */
#define RECENT 56        /* points whose spreads make the floor of a new one's */
#define YEAR_SPAN 3      /* days on each side of last year's date */
#define YEAR_AROUND 21   /* days on each side of it that show how the weeks around it lay */
#define MONTHS_LEVEL 6   /* months the level of a monthly series is read from */
#define MIN_MONTHS 6     /* months a monthly level is read from for a full judgement */
#define MIN_EARLY 3      /* a young series: months a level is read from, at least */
#define MIN_RESID 4      /* a young series: earlier residuals before a month can be abnormal (the ESD test decides) */
#define MAD_SCALE 1.4826 /* MAD to the standard deviation of a normal distribution */
#define MIN_COHORT 20    /* a cohort of fewer accounts says too little */

void kz_detect_opts_init(kz_detect_opts *o)
{
    memset(o, 0, sizeof *o);
    o->threshold = 5;
    o->min_rel = 0.05;
}

/* ---- small robust statistics --------------------------------------------------- */

/* The k-th smallest of v[0..n) (0-based), v reordered around it
 * (quickselect, Hoare's partition; expected O(n)). */
static double kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (hi > lo) {
        double pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return v[k];
}

/* The median of v[0..n) (reordered); NaN when n = 0. */
static double median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    if (n <= 16) {
        /* small windows: an insertion sort beats the rest */
        for (size_t i = 1; i < n; i++) {
            double x = v[i];
            size_t j = i;
            for (; j > 0 && v[j - 1] > x; j--)
                v[j] = v[j - 1];
            v[j] = x;
        }
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    double hi = kth(v, n, n / 2);
    if (n % 2)
        return hi;
    /* the other middle one: the largest of the lower half */
    double lo = v[0];
    for (size_t i = 1; i < n / 2; i++)
        if (v[i] > lo)
            lo = v[i];
    return (lo + hi) / 2;
}

/* MAD_SCALE × the median absolute deviation of v[0..n) around c (v is overwritten). */
static double mad(double *v, size_t n, double c)
{
    for (size_t i = 0; i < n; i++)
        v[i] = fabs(v[i] - c);
    return MAD_SCALE * median(v, n);
}

/* ---- counts: the Poisson tail ------------------------------------------------------ */

/* The regularised incomplete gamma functions P(a, x) (upper 0) and
 * Q(a, x) = 1 - P(a, x) (upper 1), each computed directly where it is small
 * (the series for P below a + 1, the continued fraction for Q above), so
 * that far tails keep their precision. */
static double gamma_pq(double a, double x, int upper)
{
    if (x <= 0)
        return upper ? 1 : 0;
    double lead = -x + a * log(x) - lgamma(a);
    if (x < a + 1) {
        /* the series */
        double ap = a, sum = 1 / a, del = sum;
        for (int n = 0; n < 1000; n++) {
            ap += 1;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * 1e-15)
                break;
        }
        double p = sum * exp(lead);
        return upper ? 1 - p : p;
    }
    /* the continued fraction of Q (Lentz) */
    const double tiny = 1e-300;
    double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
    for (int i = 1; i < 1000; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < tiny)
            d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15)
            break;
    }
    double q = exp(lead) * h;
    return upper ? q : 1 - q;
}

/* The z of a standard normal with upper tail probability q (0 < q < 1):
 * Acklam's rational approximation of the quantile, then one Halley step on
 * erfc, good to about 1e-15. */
static double normal_upper_z(double q)
{
    static const double a[6] = { -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00 };
    static const double b[5] = { -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01,  -1.328068155288572e+01 };
    static const double c[6] = { -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00 };
    static const double d[4] = { 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00 };
    double p = q, x; /* x: the quantile of p, the lower tail; z = -x */
    if (p < 0.02425) {
        double r = sqrt(-2 * log(p));
        x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) /
            ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1);
    } else if (p <= 1 - 0.02425) {
        double u = p - 0.5, r = u * u;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * u /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        double r = sqrt(-2 * log(1 - p));
        x = -(((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) /
            ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1);
    }
    double e = 0.5 * erfc(-x / sqrt(2)) - p, u = e * sqrt(2 * M_PI) * exp(x * x / 2);
    x = x - u / (1 + x * u / 2);
    return -x;
}

/* How far a count k lies from a Poisson expectation lambda, as the z of a
 * normal with the same tail: P(X >= k) above, P(X <= k) below. k need not be
 * whole (the tails' continuous extension: the quasi-Poisson counts of an
 * overdispersed series are scaled ones). */
static double poisson_z(double k, double lambda)
{
    if (lambda < 1)
        lambda = 1; /* an expectation below one is no surer than one */
    if (k < 0)
        k = 0;
    if (k > lambda) {
        double q = gamma_pq(k, lambda, 0); /* P(X >= k) */
        return q <= 0 ? 38 : normal_upper_z(q > 0.5 ? 0.5 : q);
    }
    double q = gamma_pq(k + 1, lambda, 1); /* P(X <= k) */
    return q <= 0 ? -38 : -normal_upper_z(q > 0.5 ? 0.5 : q);
}

/* The count at which poisson_z(., lambda) reaches z (signed): the edge of the
 * usual range, found by bisection; 0 when even no count is that far below. */
static double poisson_bound(double lambda, double z)
{
    double l = lambda < 1 ? 1 : lambda, sd = sqrt(l);
    double lo, hi;
    if (z < 0) {
        if (poisson_z(0, lambda) > z)
            return 0;
        lo = l + (z - 1) * sd;
        if (lo < 0)
            lo = 0;
        hi = l;
    } else {
        lo = l;
        hi = l + (z + 2) * sd * 2 + z * z + 5;
    }
    /* to a hundredth of the spread or finer */
    for (int i = 0; i < 16; i++) {
        double mid = (lo + hi) / 2;
        if (poisson_z(mid, lambda) < z)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

/* p's score from its z, and its verdict: abnormal from thr on, the way
 * direction asks, when the point matters (big enough, far enough). */
static void verdict(kz_point *p, double thr, int direction, int matters)
{
    double az = fabs(p->z);
    p->score = az / (az + thr);
    int way = direction == 0 || (direction > 0 && p->z > 0) || (direction < 0 && p->z < 0);
    p->flagged = way && az >= thr && matters;
}

/* Fills p from the expectation, the spread and the observed value. */
static void judge(kz_point *p, double x, double expected, double sigma, const kz_detect_opts *o)
{
    double thr = o->threshold > 0 ? o->threshold : 5;
    if (o->counts && expected < 0)
        expected = 0;
    double floor_rel = o->min_rel * fabs(expected), floor_cnt = o->counts ? sqrt(expected > 1 ? expected : 1) : 0;
    if (sigma < floor_rel)
        sigma = floor_rel;
    if (sigma < floor_cnt)
        sigma = floor_cnt;
    if (!(sigma > 0))
        sigma = 1e-9;
    p->scored = 1;
    p->expected = expected;
    p->low = expected - thr * sigma;
    p->high = expected + thr * sigma;
    if (o->counts && p->low < 0)
        p->low = 0;
    p->z = (x - expected) / sigma;
    /* a count that varies no more than chance: how unlikely it is by chance */
    int poisson = o->counts && sigma <= floor_cnt * 1.0000001;
    if (poisson)
        p->z = poisson_z(floor(x + 0.5), expected);
    verdict(p, thr, o->direction,
            expected >= o->min_expected &&
                (o->min_change <= 0 || fabs(x - expected) >= o->min_change * fabs(expected)));
    if (poisson && (p->flagged || o->exact_ranges)) {
        p->low = poisson_bound(expected, -thr);
        p->high = poisson_bound(expected, thr);
    }
}

static void unscored(kz_point *p)
{
    p->scored = 0;
    p->flagged = 0;
    p->expected = p->low = p->high = p->z = NAN;
    p->score = 0;
}

/* Theil-Sen fit of ys over positions pos (n <= WEEKS): the value at position
 * 0 into *at0 and the spread of the residuals into *spread. */
static void theil_sen(const double *ys, const double *pos, size_t n, double *at0, double *spread)
{
    double slopes[WEEKS * (WEEKS - 1) / 2], resid[WEEKS];
    size_t ns = 0;
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            slopes[ns++] = (ys[a] - ys[b]) / (pos[a] - pos[b]);
    double slope = median(slopes, ns);
    for (size_t i = 0; i < n; i++)
        resid[i] = ys[i] - slope * pos[i];
    double icpt = median(resid, n);
    for (size_t i = 0; i < n; i++)
        resid[i] = ys[i] - (icpt + slope * pos[i]);
    /* the spread of the points around the line, seen from a point one step
     * further on: the line's own uncertainty grows with the extrapolation */
    *spread = mad(resid, n, 0) * sqrt(1 + 1.0 / (double)n);
    *at0 = icpt;
}

/* The expectation of x[t] from the points at t - period, t - 2 period, ...
 * (at most WEEKS of them): 0 when there are too few. */
static int phase_fit(const double *x, size_t t, size_t period, double *expected, double *spread)
{
    double ys[WEEKS], pos[WEEKS];
    size_t n = 0;
    for (size_t j = 1; j <= WEEKS && j * period <= t; j++) {
        double v = x[t - j * period];
        if (isnan(v))
            continue;
        ys[n] = v;
        pos[n] = -(double)j;
        n++;
    }
    if (n < MIN_SAME)
        return 0;
    theil_sen(ys, pos, n, expected, spread);
    return 1;
}

/* The median of the recent relative spreads: a point's own spread, from a
 * few weeks, may be small by chance; it is not let fall far below what the
 * series has shown lately. */
struct spreads {
    double v[RECENT];      /* the ring, oldest at `at` once full */
    double sorted[RECENT]; /* the same values in order: the median in O(1), a new one in O(RECENT) */
    size_t n, at;
};

static void spreads_add(struct spreads *sp, double rel)
{
    size_t n = sp->n;
    if (n == RECENT) {
        /* the oldest leaves the order */
        double old = sp->v[sp->at];
        size_t i = 0;
        while (i < n && sp->sorted[i] != old && !(isnan(old) && isnan(sp->sorted[i])))
            i++;
        if (i < n) {
            memmove(&sp->sorted[i], &sp->sorted[i + 1], (n - i - 1) * sizeof *sp->sorted);
            n--;
        }
    }
    size_t j = n;
    while (j > 0 && sp->sorted[j - 1] > rel) {
        sp->sorted[j] = sp->sorted[j - 1];
        j--;
    }
    sp->sorted[j] = rel;
    sp->v[sp->at] = rel;
    sp->at = (sp->at + 1) % RECENT;
    if (sp->n < RECENT)
        sp->n++;
}

static double spreads_median(const struct spreads *sp)
{
    size_t n = sp->n;
    return n == 0 ? NAN : n % 2 ? sp->sorted[n / 2] : (sp->sorted[n / 2 - 1] + sp->sorted[n / 2]) / 2;
}

/* A point's spread, not let fall below 0.7 of the median relative spread
 * of the recent points (once a week of them is known); its own joins them. */
static double floored_spread(struct spreads *sp, double spread, double expected)
{
    if (!(expected > 0))
        return spread;
    double rel = spread / expected;
    if (sp->n >= 7) {
        double floor = 0.7 * spreads_median(sp) * expected;
        if (spread < floor)
            spread = floor;
    }
    spreads_add(sp, rel);
    return spread;
}

int kz_detect_daily(kz_point *out, const double *x, size_t n, kz_day day0, const kz_detect_opts *o)
{
    struct spreads sp = { { 0 }, { 0 }, 0, 0 };
    for (size_t t = 0; t < n; t++) {
        double expected, spread;
        if (isnan(x[t]) || !phase_fit(x, t, 7, &expected, &spread)) {
            unscored(&out[t]);
            continue;
        }
        spread = floored_spread(&sp, spread, expected);
        /* last year around the same date: how far it lay from its own
         * expectation, against how far the weeks around it lay (a level
         * that moved then, and was being learnt, is no season). A season
         * (the year-end break) moves the days around the date; a holiday
         * moves its own day, on the same date (4 July) or the same weekday
         * (Thanksgiving). Days found abnormal then are left out of both. */
        int y, m, d;
        kz_civil_from_days((int64_t)day0 + (int64_t)t, &y, &m, &d);
        int64_t last = kz_days_from_civil(y - 1, m, d == 29 && m == 2 ? 28 : d) - (int64_t)day0;
        double ratios[2 * YEAR_SPAN + 1], around[2 * YEAR_AROUND + 1];
        size_t nr = 0, na = 0, seen = 0;
        for (int64_t u = last - YEAR_AROUND; u <= last + YEAR_AROUND; u++) {
            if (u < 0 || (size_t)u >= t || !out[u].scored || !(out[u].expected > 0) || isnan(x[u]))
                continue;
            int near = u >= last - YEAR_SPAN && u <= last + YEAR_SPAN;
            seen += near;
            if (out[u].flagged)
                continue;
            if (near)
                ratios[nr++] = x[u] / out[u].expected;
            else
                around[na++] = x[u] / out[u].expected;
        }
        double base = na >= YEAR_AROUND ? median(around, na) : 1;
        if (!(base > 0))
            base = 1;
        double r = 1, rs = 0;
        if (nr >= 2 * YEAR_SPAN) {
            double copy[2 * YEAR_SPAN + 1];
            memcpy(copy, ratios, nr * sizeof *copy);
            double med = median(ratios, nr) / base;
            if (med > 0 && fabs(log(med)) > log(1.1)) {
                r = med;
                for (size_t i = 0; i < nr; i++)
                    copy[i] /= base;
                rs = mad(copy, nr, med);
            }
        }
        if (r == 1) {
            int64_t same_day[2] = { last, (int64_t)t - 364 };
            for (int k = 0; k < 2; k++) {
                int64_t u = same_day[k];
                if (u >= 0 && (size_t)u < t && out[u].scored && out[u].expected > 0 && !isnan(x[u]) &&
                    fabs(out[u].z) >= 3) {
                    r = x[u] / out[u].expected / base;
                    rs = 0.25 * fabs(1 - r); /* one day of evidence: not too sure of it */
                    break;
                }
            }
        }
        if (r != 1 && r > 0) {
            /* expect it again, a little less sure */
            expected *= r;
            spread = sqrt(spread * spread * r * r + (expected * rs) * (expected * rs));
        }
        judge(&out[t], x[t], expected, spread, o);
        if (o->holiday && o->holiday[t] && seen < 2 * YEAR_SPAN && out[t].z < 0)
            out[t].flagged = 0; /* a holiday not seen a year before: its quiet is no news */
    }
    return KZ_OK;
}

/* ---- monthly -------------------------------------------------------------------- */

/* The season of month m: in each year before with a value and neighbours,
 * x over the level of the twelve months around it (six each side, from
 * months before `now` only); their geometric mean, shrunk towards 1 as if
 * one more year had shown no season (one year of history is weak evidence).
 * 1 when there is none. */
static double season_of(const double *x, size_t m, size_t now)
{
    double logsum = 0;
    size_t years = 0;
    for (size_t back = 12; back <= m; back += 12) {
        size_t u = m - back;
        if (isnan(x[u]) || !(x[u] > 0))
            continue;
        double nb[12];
        size_t nn = 0;
        for (size_t k = 1; k <= 6; k++) {
            if (u >= k && !isnan(x[u - k]))
                nb[nn++] = x[u - k];
            if (u + k < now && !isnan(x[u + k]))
                nb[nn++] = x[u + k];
        }
        if (nn < 8)
            continue;
        double level = median(nb, nn);
        if (level > 0) {
            logsum += log(x[u] / level);
            years++;
        }
    }
    return years ? exp(logsum / (double)(years + 1)) : 1;
}

int kz_detect_monthly(kz_point *out, const double *x, size_t n, kz_month m0, const kz_detect_opts *o)
{
    double *season = malloc((n ? n : 1) * sizeof *season), *resid = malloc((n ? n : 1) * sizeof *resid);
    double *young = malloc((n ? n : 1) * sizeof *young), *work = malloc((n + 1) * sizeof *work);
    double *mixed = malloc((n ? n : 1) * sizeof *mixed);
    uint8_t *flag = malloc(n + 1);
    size_t nresid = 0, nyoung = 0;
    (void)m0;
    if (!season || !resid || !young || !work || !mixed || !flag) {
        free(season), free(resid), free(young), free(work), free(mixed), free(flag);
        return kz_error_oom();
    }
    double thr = o->threshold > 0 ? o->threshold : 5;
    for (size_t t = 0; t < n; t++) {
        season[t] = o->absolute ? 1 : season_of(x, t, t);
        /* the level: the median of the (deseasonalised) months before, up to a year */
        double lv[12];
        size_t nl = 0, nonzero = 0;
        for (size_t k = 1; k <= 12 && k <= t; k++)
            if (!isnan(x[t - k])) {
                lv[nl++] = x[t - k] / season[t - k];
                nonzero += x[t - k] != 0;
            }
        if (isnan(x[t]) || nl < MIN_EARLY || nonzero < MIN_EARLY) {
            unscored(&out[t]);
            continue;
        }
        /* a young series (a level of fewer than six months) is judged by the
         * ESD test on its few residuals alone; they are not kept for later */
        int full = nl >= MIN_MONTHS && nonzero >= MIN_MONTHS;
        double level = median(lv, nl), expected = o->absolute ? level : level * season[t];
        if (!o->absolute && !(fabs(expected) > 0)) {
            unscored(&out[t]);
            continue;
        }
        double r = o->absolute                 ? x[t] - expected
                   : x[t] > 0 && expected > 0 ? log(x[t] / expected)
                                               : (x[t] - expected) / fabs(expected);
        /* the spread of the months before: in log terms (relative), or in
         * the series' own units */
        /* the residuals it is judged against: the full months' once there are
         * six, else every earlier one (young ones too), the ESD test deciding */
        int grown = full && nresid >= MIN_MONTHS;
        double *past = grown ? resid : mixed;
        size_t np = grown ? nresid : nyoung + nresid;
        if (!grown) {
            memcpy(mixed, young, nyoung * sizeof *mixed);
            memcpy(mixed + nyoung, resid, nresid * sizeof *mixed);
        }
        double sig = NAN;
        if (np >= 3) {
            memcpy(work, past, np * sizeof *work);
            sig = mad(work, np, 0);
        }
        double floor = o->absolute ? (o->se && !isnan(o->se[t]) ? o->se[t] : 0) : o->min_rel > 0 ? o->min_rel : 0.05;
        if (!(sig >= floor))
            sig = floor;
        if (!(sig > 0))
            sig = 1e-9;
        kz_point *p = &out[t];
        kz_detect_opts lo = *o;
        lo.counts = 0;
        lo.min_rel = 0;
        lo.min_expected = 0;
        /* judged in log terms, shown in the series' own */
        judge(p, r, 0, sig, &lo);
        p->expected = expected;
        p->low = o->absolute ? expected - thr * sig : expected * exp(-thr * sig);
        p->high = o->absolute ? expected + thr * sig : expected * exp(thr * sig);
        if (np < (grown ? (size_t)MIN_MONTHS : (size_t)MIN_RESID))
            p->flagged = 0; /* too few months before it to know their spread */
        if (p->flagged && np < 12) {
            /* under a year of months: the ESD test on the residuals so far must agree */
            memcpy(work, past, np * sizeof *work);
            work[np] = r;
            size_t max_out = (np + 1) / 10 + 1;
            kz_gesd(flag, work, np + 1, max_out, 0.05);
            p->flagged = flag[np];
        }
        if (o->min_expected > 0 && fabs(expected) < o->min_expected && fabs(x[t]) < o->min_expected)
            p->flagged = 0;
        if (full)
            resid[nresid++] = r;
        else
            young[nyoung++] = r;
    }
    free(young);
    free(mixed);
    free(season);
    free(resid);
    free(work);
    free(flag);
    return KZ_OK;
}

/* ---- cohorts by age ---------------------------------------------------------------- */

int kz_detect_cohorts(kz_point *out, const double *rate, const double *size, const double *var, size_t ncohorts,
                      size_t nages, size_t window, const kz_detect_opts *o)
{
    /* the earlier cohorts at one age: their rates, sizes and variances */
    size_t w = window ? window : 1;
    double *r = malloc(w * sizeof *r), *nsz = malloc(w * sizeof *nsz), *vv = malloc(w * sizeof *vv);
    if (!r || !nsz || !vv) {
        free(r), free(nsz), free(vv);
        return kz_error_oom();
    }
    for (size_t c = 0; c < ncohorts; c++)
        for (size_t k = 0; k < nages; k++) {
            kz_point *p = &out[c * nages + k];
            double v = rate[c * nages + k];
            size_t np = 0;
            /* earlier cohorts that were not abnormal themselves; but a change
             * that lasted two cohorts or more is the new normal */
            for (size_t b = c; b-- > 0 && np < window;) {
                size_t i = b * nages + k;
                if (isnan(rate[i]) || size[b] < MIN_COHORT)
                    continue;
                if (out[i].flagged) {
                    int up = out[i].z > 0;
                    const kz_point *after = b + 1 < c ? &out[i + nages] : NULL, *before = b ? &out[i - nages] : NULL;
                    if (!(after && after->flagged && (after->z > 0) == up) &&
                        !(before && before->flagged && (before->z > 0) == up))
                        continue;
                }
                r[np] = rate[i];
                nsz[np] = size[b];
                vv[np] = var ? var[i] : rate[i];
                np++;
            }
            if (isnan(v) || size[c] < MIN_COHORT || np < 3) {
                unscored(p);
                continue;
            }
            /* the pooled rate and the pooled variance of one account's value */
            double total = 0, sum = 0, within = 0;
            for (size_t j = 0; j < np; j++) {
                total += nsz[j];
                sum += r[j] * nsz[j];
                within += vv[j] * (nsz[j] - 1);
            }
            double m = sum / total;
            within /= total - (double)np;
            if (within < m)
                within = m; /* counts vary at least as chance does (Poisson) */
            if (!(within > 0))
                within = 1e-9;
            /* cohorts differ by more than their accounts' chance (the season of
             * signups, the product of the time): DerSimonian-Laird's tau^2 */
            double q = 0, sw = 0, sw2 = 0;
            for (size_t j = 0; j < np; j++) {
                double wj = nsz[j] / within;
                q += wj * (r[j] - m) * (r[j] - m);
                sw += wj;
                sw2 += wj * wj;
            }
            double tau2 = q > (double)(np - 1) ? (q - (double)(np - 1)) / (sw - sw2 / sw) : 0;
            /* the cohort's count: expected m n, its variance from its accounts,
             * the pooled rate's uncertainty and the cohorts' differences; judged
             * as a quasi-Poisson count (the tail of a Poisson count scaled by
             * the overdispersion phi), whose lower tail is thinner than a
             * normal's */
            double n = size[c], mu = m * n;
            double varc = n * within + n * n * (within / total + tau2);
            double phi = mu > 0 && varc > mu ? varc / mu : 1;
            double thr = o->threshold > 0 ? o->threshold : 5;
            p->scored = 1;
            p->expected = m;
            p->z = poisson_z(v * n / phi, mu / phi);
            p->low = poisson_bound(mu / phi, -thr) * phi / n;
            p->high = poisson_bound(mu / phi, thr) * phi / n;
            verdict(p, thr, o->direction, mu >= o->min_expected);
        }
    free(r), free(nsz), free(vv);
    return KZ_OK;
}

/* ---- any series ---------------------------------------------------------------------- */

/* The autocorrelation at lag k of d, the first differences of a series (gaps skipped). */
static double autocorr(const double *d, size_t n, size_t k, double mean)
{
    double num = 0, den = 0;
    size_t used = 0;
    for (size_t i = 0; i + k < n; i++) {
        if (isnan(d[i]) || isnan(d[i + k]))
            continue;
        num += (d[i] - mean) * (d[i + k] - mean);
        used++;
    }
    for (size_t i = 0; i < n; i++)
        if (!isnan(d[i]))
            den += (d[i] - mean) * (d[i] - mean);
    return used > 8 && den > 0 ? num / den * (double)n / (double)used : 0;
}

int kz_detect_auto(kz_point *out, const double *x, size_t n, const size_t *candidates, size_t ncand, size_t *period,
                   const kz_detect_opts *o)
{
    size_t best = 1;
    double best_r = 0.3; /* a season must explain at least this much */
    double *d = malloc((n ? n : 1) * sizeof *d);
    if (!d)
        return kz_error_oom();
    /* differences take out the level and a smooth trend */
    double mean = 0;
    size_t nd = 0;
    d[0] = NAN;
    for (size_t i = 1; i < n; i++) {
        d[i] = isnan(x[i]) || isnan(x[i - 1]) ? NAN : x[i] - x[i - 1];
        if (!isnan(d[i])) {
            mean += d[i];
            nd++;
        }
    }
    mean = nd ? mean / (double)nd : 0;
    /* a spike makes two huge differences that would drown a season: the
     * differences are clipped at five robust spreads around their median */
    if (nd >= 8) {
        double *w = malloc(nd * sizeof *w);
        if (!w) {
            free(d);
            return kz_error_oom();
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (!isnan(d[i]))
                w[k++] = d[i];
        double med = median(w, k), spread = mad(w, k, med), lim = 5 * spread;
        free(w);
        if (lim > 0) {
            mean = 0;
            for (size_t i = 0; i < n; i++)
                if (!isnan(d[i])) {
                    if (d[i] > med + lim)
                        d[i] = med + lim;
                    else if (d[i] < med - lim)
                        d[i] = med - lim;
                    mean += d[i];
                }
            mean /= (double)nd;
        }
    }
    double *r = malloc((ncand ? ncand : 1) * sizeof *r);
    if (!r) {
        free(d);
        return kz_error_oom();
    }
    for (size_t c = 0; c < ncand; c++) {
        size_t k = candidates[c];
        r[c] = k < 2 || k * MIN_SAME >= n ? 0 : autocorr(d, n, k, mean); /* too long: not learnt from this series */
        if (r[c] > best_r)
            best_r = r[c];
    }
    /* the shortest period that explains nearly as much as the best: a day
     * repeats within a week too, and has seven times the points to learn from */
    for (size_t c = 0; c < ncand && best_r > 0.3; c++)
        if (r[c] >= 0.85 * best_r && (best == 1 || candidates[c] < best))
            best = candidates[c];
    free(r);
    free(d);
    *period = best;
    /* the spread: the fit's own, and not below what the recent forecasts
     * missed by (their errors relative to what they expected, robustly: a
     * fit on a few points explains them better than it foresees the next) */
    struct spreads sp = { { 0 }, { 0 }, 0, 0 }, miss = { { 0 }, { 0 }, 0, 0 };
    for (size_t t = 0; t < n; t++) {
        double expected, spread;
        if (isnan(x[t]) || !phase_fit(x, t, best, &expected, &spread)) {
            unscored(&out[t]);
            continue;
        }
        spread = floored_spread(&sp, spread, expected);
        if (fabs(expected) > 0) {
            if (miss.n >= 7) {
                double m = MAD_SCALE * spreads_median(&miss) * fabs(expected);
                if (spread < m)
                    spread = m;
            }
            spreads_add(&miss, fabs(x[t] - expected) / fabs(expected));
        }
        judge(&out[t], x[t], expected, spread, o);
    }
    return KZ_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int kz_detect_series(kz_point *out, const int64_t *t, const double *v, size_t n, int64_t *step, size_t *period,
                     size_t *clash, const kz_detect_opts *o)
{
    *step = 0;
    *period = 1;
    if (n < 2) {
        for (size_t i = 0; i < n; i++)
            unscored(&out[i]);
        return KZ_OK;
    }
    /* the step: the most common gap (the median of them is robust to gaps) */
    int64_t *gaps = malloc((n - 1) * sizeof *gaps);
    if (!gaps)
        return kz_error_oom();
    for (size_t i = 1; i < n; i++)
        gaps[i - 1] = t[i] - t[i - 1];
    qsort(gaps, n - 1, sizeof *gaps, cmp_i64);
    int64_t s = gaps[(n - 1) / 2];
    free(gaps);
    if (s <= 0)
        s = 1;
    *step = s;
    size_t slots = (size_t)((t[n - 1] - t[0] + s / 2) / s) + 1;
    if (slots > ((size_t)4 << 20) && slots > 2 * n)
        return kz_error_set(KZ_EINVALID, "the points span %zu steps of %lld seconds: too sparse a series", slots,
                            (long long)s);
    double *x = malloc(slots * sizeof *x);
    size_t *slot = malloc(n * sizeof *slot);
    kz_point *pts = malloc(slots * sizeof *pts);
    int rc = KZ_OK;
    if (!x || !slot || !pts) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t i = 0; i < slots; i++)
        x[i] = NAN;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)((t[i] - t[0] + s / 2) / s);
        if (k >= slots || !isnan(x[k])) {
            *clash = i;
            rc = kz_error_set(KZ_EINVALID, "two points in one step of %lld seconds", (long long)s);
            goto done;
        }
        x[k] = v[i];
        slot[i] = k;
    }
    /* the natural seasons of the step: a day of hours or minutes, a week of
     * days or hours, a year of months */
    size_t cand[8], nc = 0;
    static const int64_t spans[] = { 3600, 86400, 7 * 86400 };
    for (size_t k = 0; k < sizeof spans / sizeof spans[0]; k++)
        if (spans[k] % s == 0 && spans[k] / s >= 2)
            cand[nc++] = (size_t)(spans[k] / s);
    if (s >= 28 * 86400 && s <= 31 * 86400)
        cand[nc++] = 12;
    if (s >= 7 * 86400 - 3600 && s <= 7 * 86400 + 3600)
        cand[nc++] = 52;
    rc = kz_detect_auto(pts, x, slots, cand, nc, period, o);
    for (size_t i = 0; !rc && i < n; i++)
        out[i] = pts[slot[i]];
done:
    free(x);
    free(slot);
    free(pts);
    return rc;
}

/* ---- the generalised ESD test ------------------------------------------------------ */

/* The regularised incomplete beta function I_x(a, b) by its continued
 * fraction (Lentz), for the t distribution. */
static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        double m2 = 2 * m, aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-14)
            break;
    }
    return h;
}

static double ibeta(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x);
    if (x < (a + 1) / (a + b + 2))
        return exp(lbt) * betacf(a, b, x) / a;
    return 1 - exp(lbt) * betacf(b, a, 1 - x) / b;
}

/* P(T <= t) for Student's t with df degrees of freedom. */
static double t_cdf(double t, double df)
{
    double x = df / (df + t * t), tail = 0.5 * ibeta(df / 2, 0.5, x);
    return t > 0 ? 1 - tail : tail;
}

double kz_student_t_quantile(double p, double df)
{
    if (!(p > 0 && p < 1) || !(df > 0))
        return NAN;
    double lo = -1e3, hi = 1e3;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (t_cdf(mid, df) < p)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

size_t kz_gesd(uint8_t *out, const double *r, size_t n, size_t max_outliers, double alpha)
{
    uint8_t *gone = calloc(n ? n : 1, 1);
    size_t *order = malloc((max_outliers ? max_outliers : 1) * sizeof *order);
    size_t found = 0, m = 0;
    memset(out, 0, n);
    if (!gone || !order) {
        free(gone);
        free(order);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        m += !isnan(r[i]);
    /* remove the most extreme point max_outliers times; the outliers are the
     * first i points whose statistic exceeds its critical value, for the
     * largest such i */
    for (size_t i = 0; i < max_outliers && m - i > 2; i++) {
        double sum = 0, sq = 0;
        size_t k = 0;
        for (size_t j = 0; j < n; j++)
            if (!gone[j] && !isnan(r[j])) {
                sum += r[j];
                k++;
            }
        double mean = sum / (double)k;
        for (size_t j = 0; j < n; j++)
            if (!gone[j] && !isnan(r[j]))
                sq += (r[j] - mean) * (r[j] - mean);
        double sd = sqrt(sq / (double)(k - 1));
        size_t far = SIZE_MAX;
        double dev = -1;
        for (size_t j = 0; j < n; j++)
            if (!gone[j] && !isnan(r[j]) && fabs(r[j] - mean) > dev) {
                dev = fabs(r[j] - mean);
                far = j;
            }
        if (far == SIZE_MAX || !(sd > 0))
            break;
        double stat = dev / sd, nn = (double)k;
        double pq = 1 - alpha / (2 * nn), tq = kz_student_t_quantile(pq, nn - 2);
        double lambda = (nn - 1) * tq / sqrt((nn - 2 + tq * tq) * nn);
        gone[far] = 1;
        order[i] = far;
        if (stat > lambda)
            found = i + 1;
    }
    for (size_t i = 0; i < found; i++)
        out[order[i]] = 1;
    free(gone);
    free(order);
    return found;
}
