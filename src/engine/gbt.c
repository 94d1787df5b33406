/*
 * gbt.c - gradient-boosted trees through XGBoost's C API (gbt.h).
 */
#include "engine/gbt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <xgboost/c_api.h>

#include "core/error.h"

struct kz_gbt {
    BoosterHandle booster;
};

void kz_gbt_params_init(kz_gbt_params *p)
{
    p->rounds = 300;
    p->max_depth = 4;
    p->eta = 0.05;
    p->subsample = 0.8;
    p->colsample = 0.8;
    p->min_child_weight = 5;
    p->lambda = 1;
    p->seed = 1;
    p->threads = 2;
}

int kz_gbt_threads(size_t n)
{
    return n >= 100000 ? 2 : 1;
}

/* XGBoost's message for a failed call. */
static int xgb_error(const char *what)
{
    const char *m = XGBGetLastError();
    return kz_error_set(KZ_ERROR, "xgboost: %s: %s", what, m && *m ? m : "failed");
}

void kz_gbt_free(kz_gbt *m)
{
    if (!m)
        return;
    if (m->booster)
        XGBoosterFree(m->booster);
    free(m);
}

static int set(BoosterHandle b, const char *name, const char *value)
{
    return XGBoosterSetParam(b, name, value) ? xgb_error(name) : KZ_OK;
}

static int setf(BoosterHandle b, const char *name, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", v);
    return set(b, name, buf);
}

int kz_gbt_fit(kz_gbt **out, const float *x, const float *y, size_t n, size_t p, const kz_gbt_params *params)
{
    DMatrixHandle dm = NULL;
    kz_gbt *m = NULL;
    int rc = KZ_OK;
    *out = NULL;
    if (n == 0 || p == 0)
        return kz_error_set(KZ_EINVALID, "no rows or no features to fit");
    m = calloc(1, sizeof *m);
    if (!m)
        return kz_error_oom();
    if (XGDMatrixCreateFromMat(x, (bst_ulong)n, (bst_ulong)p, NAN, &dm)) {
        rc = xgb_error("creating the training matrix");
        goto done;
    }
    if (XGDMatrixSetFloatInfo(dm, "label", y, (bst_ulong)n)) {
        rc = xgb_error("setting the labels");
        goto done;
    }
    if (XGBoosterCreate(&dm, 1, &m->booster)) {
        rc = xgb_error("creating the booster");
        goto done;
    }
    if ((rc = set(m->booster, "objective", "binary:logistic")) || (rc = set(m->booster, "tree_method", "hist")) ||
        (rc = setf(m->booster, "max_depth", params->max_depth)) || (rc = setf(m->booster, "eta", params->eta)) ||
        (rc = setf(m->booster, "subsample", params->subsample)) ||
        (rc = setf(m->booster, "colsample_bytree", params->colsample)) ||
        (rc = setf(m->booster, "min_child_weight", params->min_child_weight)) ||
        (rc = setf(m->booster, "lambda", params->lambda)) || (rc = setf(m->booster, "seed", params->seed)) ||
        (rc = setf(m->booster, "nthread", params->threads)) || (rc = set(m->booster, "verbosity", "0")))
        goto done;
    for (int i = 0; i < params->rounds; i++)
        if (XGBoosterUpdateOneIter(m->booster, i, dm)) {
            rc = xgb_error("training");
            goto done;
        }
done:
    if (dm)
        XGDMatrixFree(dm);
    if (rc) {
        kz_gbt_free(m);
        return rc;
    }
    *out = m;
    return KZ_OK;
}

/* Runs a prediction of `type` (0: probability, 2: contributions) on n rows
 * and copies `per_row` values a row into out. */
static int predict(const kz_gbt *m, const float *x, size_t n, size_t p, int type, size_t per_row, double *out)
{
    DMatrixHandle dm = NULL;
    bst_ulong const *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    char config[160];
    int rc = KZ_OK;
    if (n == 0)
        return KZ_OK;
    snprintf(config, sizeof config,
             "{\"type\": %d, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
             "\"strict_shape\": false}",
             type);
    if (XGDMatrixCreateFromMat(x, (bst_ulong)n, (bst_ulong)p, NAN, &dm))
        return xgb_error("creating the matrix");
    if (XGBoosterPredictFromDMatrix(m->booster, dm, config, &shape, &dim, &res)) {
        rc = xgb_error("predicting");
        goto done;
    }
    bst_ulong total = 1;
    for (bst_ulong i = 0; i < dim; i++)
        total *= shape[i];
    if (total != (bst_ulong)(n * per_row)) {
        rc = kz_error_set(KZ_ERROR, "xgboost: %llu values for %zu rows of %zu", (unsigned long long)total, n, per_row);
        goto done;
    }
    for (size_t i = 0; i < n * per_row; i++)
        out[i] = res[i];
done:
    XGDMatrixFree(dm);
    return rc;
}

int kz_gbt_predict(const kz_gbt *m, const float *x, size_t n, size_t p, double *prob)
{
    return predict(m, x, n, p, 0, 1, prob);
}

int kz_gbt_contributions(const kz_gbt *m, const float *x, size_t n, size_t p, int exact, double *out)
{
    return predict(m, x, n, p, exact ? 2 : 3, p + 1, out);
}

int kz_gbt_save(const kz_gbt *m, kz_buf *out)
{
    bst_ulong len = 0;
    const char *raw = NULL;
    if (XGBoosterSaveModelToBuffer(m->booster, "{\"format\": \"json\"}", &len, &raw))
        return xgb_error("saving the model");
    return kz_buf_append(out, raw, (size_t)len);
}

int kz_gbt_load(kz_gbt **out, const char *json, size_t n)
{
    kz_gbt *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return kz_error_oom();
    if (XGBoosterCreate(NULL, 0, &m->booster) || XGBoosterLoadModelFromBuffer(m->booster, json, (bst_ulong)n)) {
        int rc = xgb_error("loading the model");
        kz_gbt_free(m);
        return rc;
    }
    *out = m;
    return KZ_OK;
}
