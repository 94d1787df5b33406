/*
 * gbt.h - gradient-boosted trees for a binary outcome, through XGBoost's C
 * API (libxgboost): fit, predict probabilities, SHAP contributions, and the
 * model as JSON.
 *
 * Missing values are NaN and handled by the trees (each split learns where
 * they go), so no imputation is needed. Training is deterministic for a
 * given seed and thread count: the same data give the same model. The
 * caller's matrices are float, row-major.
 */
#ifndef KZ_ENGINE_GBT_H
#define KZ_ENGINE_GBT_H

#include <stddef.h>

#include "core/buf.h"

typedef struct kz_gbt kz_gbt;

typedef struct kz_gbt_params {
    int rounds;             /* boosting rounds (default 300) */
    int max_depth;          /* default 4 */
    double eta;             /* learning rate (default 0.05) */
    double subsample;       /* rows per tree (default 0.8) */
    double colsample;       /* features per tree (default 0.8) */
    double min_child_weight; /* default 5 */
    double lambda;          /* L2 penalty of leaf weights (default 1) */
    int seed;               /* default 1 */
    int threads;            /* default 2; see kz_gbt_threads */
} kz_gbt_params;

void kz_gbt_params_init(kz_gbt_params *p);

/* Threads worth using for n rows: one below 100,000 rows, where OpenMP's
 * barriers (whose threads spin while they wait) cost more than the second
 * core gives, especially beside other busy processes; two above. Servers
 * should run with OMP_WAIT_POLICY=PASSIVE. */
int kz_gbt_threads(size_t n);

/* Fits the trees on n rows of p features (x) and labels y (0 or 1). *out
 * is freed with kz_gbt_free. KZ_EINVALID for n or p of 0; KZ_ERROR with
 * XGBoost's message when it fails. */
int kz_gbt_fit(kz_gbt **out, const float *x, const float *y, size_t n, size_t p, const kz_gbt_params *params);

/* Probabilities of y = 1 for n rows into prob[0..n-1]. */
int kz_gbt_predict(const kz_gbt *m, const float *x, size_t n, size_t p, double *prob);

/* Contributions to the log-odds: n rows of p + 1 values into out (the last
 * of each row is the bias); a row's values add up to its log-odds. exact:
 * SHAP values (TreeSHAP: about 100 µs a row for 300 trees); else the path
 * contributions of each tree (Saabas; XGBoost's "approximate"), about 50x
 * faster and in practice the same top drivers. */
int kz_gbt_contributions(const kz_gbt *m, const float *x, size_t n, size_t p, int exact, double *out);

/* The model as XGBoost's JSON (appended to out), and back. */
int kz_gbt_save(const kz_gbt *m, kz_buf *out);
int kz_gbt_load(kz_gbt **out, const char *json, size_t n);

void kz_gbt_free(kz_gbt *m);

#endif
