/*
 * churn_internal.h - what churn.c and churn_model.c share: the preprocessing
 * of features for the logistic regression, and rows as floats for XGBoost.
 */
#ifndef KZ_ENGINE_CHURN_INTERNAL_H
#define KZ_ENGINE_CHURN_INTERNAL_H

#include "engine/churn.h"

/* The preprocessing learnt from the training rows: the value that fills a
 * missing one (the training mean), and which features get a "was missing"
 * column after the p_in features (p_out in all). */
struct kz_churn_prep {
    size_t p_in, p_out;
    double *fill;       /* p_in */
    uint8_t *indicator; /* p_in */
};

/* Learns it from the rows `rows` (r of them) of d. Free with kz_churn_prep_free. */
int kz_churn_prep_fit(struct kz_churn_prep *pp, const kz_dataset *d, const size_t *rows, size_t r);
/* One row of p_in features into p_out columns. */
void kz_churn_prep_row(const struct kz_churn_prep *pp, const double *in, double *out);
void kz_churn_prep_free(struct kz_churn_prep *pp);

/* The rows `rows` (n of them; NULL: all of d) as floats, NaN kept; malloc'd,
 * or NULL when out of memory. */
float *kz_churn_as_float(const kz_dataset *d, const size_t *rows, size_t n);

#define KZ_CHURN_MAX_VALUES 10 /* one-hot columns of a categorical feature at most */

/* The common values among vals (n non-empty texts; the array is reordered),
 * by count then text, into out: at most KZ_CHURN_MAX_VALUES, each held by at
 * least 1 % of the n; none when there is a single value or they look like
 * identifiers (more than 50 values of which the common ones cover under
 * half). The pointers are those of vals. */
int kz_churn_common_values(const char **vals, size_t n, const char **out, size_t *nout);

#endif
