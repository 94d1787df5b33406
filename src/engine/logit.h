/*
 * logit.h - L2-regularised logistic regression, fitted exactly by Newton's
 * method (iteratively reweighted least squares) on standardised features.
 *
 * Small and deterministic: the same data give the same coefficients bit for
 * bit. Features are standardised (mean 0, standard deviation 1) before the
 * fit so that the penalty treats them alike and the contributions of
 * different features can be compared; the intercept is not penalised.
 * Coefficients are reported on both scales. Meant for tens of features and up
 * to a few hundred thousand rows; not for sparse text features.
 */
#ifndef KZ_ENGINE_LOGIT_H
#define KZ_ENGINE_LOGIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct kz_logit {
    size_t p;            /* features */
    double intercept;    /* on the original scale of the features */
    double *coef;        /* p coefficients on the original scale */
    double *coef_std;    /* p coefficients on the standardised scale */
    double intercept_std;
    double *mean, *sd;   /* per feature; sd is 0 for a constant feature (its coefficient is 0) */
    double lambda;       /* the penalty: lambda / 2 × Σ coef_std² */
    int iterations;      /* Newton steps taken */
    int converged;       /* 1 when the steps became negligible */
    double deviance;     /* -2 × log-likelihood at the fit */
} kz_logit;

/* Fits y (0/1) on the rows of x (n rows of p doubles, row-major, finite) with
 * penalty lambda >= 0. *out is the model (caller frees with kz_logit_free).
 * KZ_EINVALID for n = 0, non-finite values or a negative lambda; KZ_ENOMEM.
 * Without a penalty, data that one feature separates perfectly make the
 * coefficients grow without bound: the fit stops after its step limit with
 * converged = 0. */
int kz_logit_fit(kz_logit **out, const double *x, const uint8_t *y, size_t n, size_t p, double lambda);

/* The probability of y = 1 for one row of p features. */
double kz_logit_prob(const kz_logit *m, const double *row);

/* Each feature's contribution to the log-odds of one row: coef_std[j] ×
 * (row[j] − mean[j]) / sd[j] (0 for constant features), into out[0..p-1];
 * returns the base log-odds (intercept_std) they add to. */
double kz_logit_contributions(const kz_logit *m, const double *row, double *out);

/* A fitted model from its parts (as saved): p features, the intercept and
 * coefficients on the standardised scale, and the standardisation (an sd of
 * 0 marks a constant feature). Caller frees with kz_logit_free. */
int kz_logit_from(kz_logit **out, size_t p, double intercept_std, const double *coef_std, const double *mean,
                  const double *sd, double lambda);

void kz_logit_free(kz_logit *m);

#endif
