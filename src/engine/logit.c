/*
 * logit.c - logistic regression by Newton's method (logit.h).
 *
 * On the standardised design z (a leading 1 for the intercept), each step
 * solves (Zᵀ W Z + Λ) δ = Zᵀ (y − μ) − Λ β with W = μ (1 − μ) and Λ the
 * penalty (0 for the intercept), by a Cholesky factorisation; a step that
 * does not lower the penalised deviance is halved. The objective is convex,
 * so this converges in a handful of steps from β = 0.
 */
#include "engine/logit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define MAX_STEPS 100
#define TOLERANCE 1e-10

/* log(1 + e^t) without overflow. */
static double log1pexp(double t)
{
    return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t));
}

static double sigmoid(double t)
{
    return t >= 0 ? 1.0 / (1.0 + exp(-t)) : exp(t) / (1.0 + exp(t));
}

/* The penalised deviance of beta (k = p + 1 values) on the standardised rows z. */
static double objective(const double *z, const uint8_t *y, size_t n, size_t k, const double *beta, double lambda,
                        const uint8_t *active, double *deviance)
{
    double dev = 0;
    for (size_t i = 0; i < n; i++) {
        const double *zi = z + i * k;
        double t = 0;
        for (size_t j = 0; j < k; j++)
            t += zi[j] * beta[j];
        dev += 2 * (log1pexp(t) - (y[i] ? t : 0));
    }
    double pen = 0;
    for (size_t j = 1; j < k; j++)
        if (active[j])
            pen += beta[j] * beta[j];
    *deviance = dev;
    return dev + lambda * pen;
}

/* Solves a x = b in place (a: k×k symmetric positive definite, overwritten by
 * its Cholesky factor; b becomes x). Returns 0, or -1 when a is not positive
 * definite. */
static int cholesky_solve(double *a, double *b, size_t k)
{
    for (size_t j = 0; j < k; j++) {
        double d = a[j * k + j];
        for (size_t m = 0; m < j; m++)
            d -= a[j * k + m] * a[j * k + m];
        if (!(d > 0))
            return -1;
        d = sqrt(d);
        a[j * k + j] = d;
        for (size_t i = j + 1; i < k; i++) {
            double s = a[i * k + j];
            for (size_t m = 0; m < j; m++)
                s -= a[i * k + m] * a[j * k + m];
            a[i * k + j] = s / d;
        }
    }
    for (size_t i = 0; i < k; i++) { /* L y = b */
        double s = b[i];
        for (size_t m = 0; m < i; m++)
            s -= a[i * k + m] * b[m];
        b[i] = s / a[i * k + i];
    }
    for (size_t i = k; i-- > 0;) { /* Lᵀ x = y */
        double s = b[i];
        for (size_t m = i + 1; m < k; m++)
            s -= a[m * k + i] * b[m];
        b[i] = s / a[i * k + i];
    }
    return 0;
}

void kz_logit_free(kz_logit *m)
{
    if (!m)
        return;
    free(m->coef);
    free(m->coef_std);
    free(m->mean);
    free(m->sd);
    free(m);
}

int kz_logit_fit(kz_logit **out, const double *x, const uint8_t *y, size_t n, size_t p, double lambda)
{
    size_t k = p + 1;
    double *z = NULL, *beta = NULL, *trial = NULL, *h = NULL, *g = NULL;
    uint8_t *active = NULL;
    kz_logit *m = NULL;
    int rc = KZ_OK;
    *out = NULL;
    if (n == 0)
        return kz_error_set(KZ_EINVALID, "no rows to fit");
    if (!(lambda >= 0) || !isfinite(lambda))
        return kz_error_set(KZ_EINVALID, "the penalty must be a finite number >= 0");
    if (k > SIZE_MAX / sizeof(double) / k || n > SIZE_MAX / sizeof(double) / k)
        return kz_error_set(KZ_ETOOBIG, "too many rows or features");
    for (size_t i = 0; i < n * p; i++)
        if (!isfinite(x[i]))
            return kz_error_set(KZ_EINVALID, "row %zu, feature %zu: not a finite number", i / p + 1, i % p + 1);
    m = calloc(1, sizeof *m);
    z = malloc(n * k * sizeof *z);
    beta = calloc(k, sizeof *beta);
    trial = malloc(k * sizeof *trial);
    h = malloc(k * k * sizeof *h);
    g = malloc(k * sizeof *g);
    active = calloc(k, 1);
    if (!m || !z || !beta || !trial || !h || !g || !active) {
        rc = kz_error_oom();
        goto done;
    }
    m->p = p;
    m->lambda = lambda;
    m->coef = calloc(p ? p : 1, sizeof *m->coef);
    m->coef_std = calloc(p ? p : 1, sizeof *m->coef_std);
    m->mean = calloc(p ? p : 1, sizeof *m->mean);
    m->sd = calloc(p ? p : 1, sizeof *m->sd);
    if (!m->coef || !m->coef_std || !m->mean || !m->sd) {
        rc = kz_error_oom();
        goto done;
    }
    /* standardise; a constant feature stays out of the fit */
    active[0] = 1;
    for (size_t j = 0; j < p; j++) {
        double s = 0, ss = 0;
        for (size_t i = 0; i < n; i++)
            s += x[i * p + j];
        double mean = s / (double)n;
        for (size_t i = 0; i < n; i++)
            ss += (x[i * p + j] - mean) * (x[i * p + j] - mean);
        m->mean[j] = mean;
        m->sd[j] = sqrt(ss / (double)n);
        active[j + 1] = m->sd[j] > 0;
    }
    for (size_t i = 0; i < n; i++) {
        z[i * k] = 1;
        for (size_t j = 0; j < p; j++)
            z[i * k + j + 1] = active[j + 1] ? (x[i * p + j] - m->mean[j]) / m->sd[j] : 0;
    }
    double dev, obj = objective(z, y, n, k, beta, lambda, active, &dev);
    for (m->iterations = 0; m->iterations < MAX_STEPS; m->iterations++) {
        /* gradient of the penalised log-likelihood and the (negated) Hessian */
        memset(g, 0, k * sizeof *g);
        memset(h, 0, k * k * sizeof *h);
        for (size_t i = 0; i < n; i++) {
            const double *zi = z + i * k;
            double t = 0;
            for (size_t j = 0; j < k; j++)
                t += zi[j] * beta[j];
            double mu = sigmoid(t), w = mu * (1 - mu), r = (y[i] ? 1.0 : 0.0) - mu;
            for (size_t a = 0; a < k; a++) {
                g[a] += zi[a] * r;
                double wa = w * zi[a];
                for (size_t b = 0; b <= a; b++)
                    h[a * k + b] += wa * zi[b];
            }
        }
        for (size_t a = 0; a < k; a++) {
            for (size_t b = 0; b < a; b++)
                h[b * k + a] = h[a * k + b];
            if (a > 0 && active[a]) {
                g[a] -= lambda * beta[a];
                h[a * k + a] += lambda;
            }
            if (!active[a]) { /* keep the system definite; the step stays 0 */
                memset(h + a * k, 0, k * sizeof *h);
                for (size_t b = 0; b < k; b++)
                    h[b * k + a] = 0;
                h[a * k + a] = 1;
                g[a] = 0;
            }
        }
        /* tiny ridge against a singular Hessian (collinear features, no penalty) */
        for (size_t a = 0; a < k; a++)
            h[a * k + a] += 1e-12 * (1 + h[a * k + a]);
        if (cholesky_solve(h, g, k) != 0)
            break; /* numerically singular: keep the last good beta */
        /* step, halved until the objective does not rise */
        double step = 1, tdev = dev, tobj = obj, biggest = 0;
        for (int half = 0; half < 30; half++) {
            for (size_t j = 0; j < k; j++)
                trial[j] = beta[j] + step * g[j];
            tobj = objective(z, y, n, k, trial, lambda, active, &tdev);
            if (tobj <= obj + 1e-12 * fabs(obj))
                break;
            step /= 2;
        }
        for (size_t j = 0; j < k; j++) {
            double d = fabs(trial[j] - beta[j]);
            biggest = d > biggest ? d : biggest;
        }
        memcpy(beta, trial, k * sizeof *beta);
        double gain = obj - tobj;
        obj = tobj;
        dev = tdev;
        if (biggest < TOLERANCE || gain <= TOLERANCE * (fabs(obj) + TOLERANCE)) {
            m->iterations++;
            m->converged = 1;
            break;
        }
    }
    m->deviance = dev;
    m->intercept_std = beta[0];
    m->intercept = beta[0];
    for (size_t j = 0; j < p; j++) {
        m->coef_std[j] = active[j + 1] ? beta[j + 1] : 0;
        m->coef[j] = active[j + 1] ? beta[j + 1] / m->sd[j] : 0;
        m->intercept -= m->coef[j] * m->mean[j];
    }
done:
    free(z);
    free(beta);
    free(trial);
    free(h);
    free(g);
    free(active);
    if (rc) {
        kz_logit_free(m);
        return rc;
    }
    *out = m;
    return KZ_OK;
}

double kz_logit_contributions(const kz_logit *m, const double *row, double *out)
{
    for (size_t j = 0; j < m->p; j++)
        out[j] = m->sd[j] > 0 ? m->coef_std[j] * (row[j] - m->mean[j]) / m->sd[j] : 0;
    return m->intercept_std;
}

double kz_logit_prob(const kz_logit *m, const double *row)
{
    double t = m->intercept_std;
    for (size_t j = 0; j < m->p; j++)
        if (m->sd[j] > 0)
            t += m->coef_std[j] * (row[j] - m->mean[j]) / m->sd[j];
    return sigmoid(t);
}

int kz_logit_from(kz_logit **out, size_t p, double intercept_std, const double *coef_std, const double *mean,
                  const double *sd, double lambda)
{
    kz_logit *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return kz_error_oom();
    m->p = p;
    m->lambda = lambda;
    m->converged = 1;
    m->coef = calloc(p ? p : 1, sizeof *m->coef);
    m->coef_std = calloc(p ? p : 1, sizeof *m->coef_std);
    m->mean = calloc(p ? p : 1, sizeof *m->mean);
    m->sd = calloc(p ? p : 1, sizeof *m->sd);
    if (!m->coef || !m->coef_std || !m->mean || !m->sd) {
        kz_logit_free(m);
        return kz_error_oom();
    }
    m->intercept_std = m->intercept = intercept_std;
    for (size_t j = 0; j < p; j++) {
        if (!isfinite(coef_std[j]) || !isfinite(mean[j]) || !(sd[j] >= 0) || !isfinite(sd[j])) {
            kz_logit_free(m);
            return kz_error_set(KZ_EINVALID, "coefficient %zu: not a finite number", j + 1);
        }
        m->mean[j] = mean[j];
        m->sd[j] = sd[j];
        m->coef_std[j] = sd[j] > 0 ? coef_std[j] : 0;
        m->coef[j] = sd[j] > 0 ? coef_std[j] / sd[j] : 0;
        m->intercept -= m->coef[j] * mean[j];
    }
    *out = m;
    return KZ_OK;
}
