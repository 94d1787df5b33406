/*
 * churn_model.c - a churn model that can be saved, loaded and used to score
 * accounts (churn.h): the algorithm, the feature names, for the logistic
 * regression its preprocessing and coefficients, for the trees XGBoost's own
 * JSON; as one JSON document:
 *
 *   {"format": "kizuna-churn-model", "version": 1, "algorithm": "logistic",
 *    "horizon_days": 90, "features": [...],
 *    "logistic": {"lambda", "intercept_std", "coef_std": [...], "mean": [...],
 *                 "sd": [...], "fill": [...], "indicator": [...]}}
 *   ... or "xgboost": "the model as XGBoost writes its JSON, as a string",
 *   and for a model of an analyst's table "table": {its encoding}}
 *
 * The logistic columns are the features then one "was missing" column per
 * feature with indicator 1, in order.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/jsonw.h"
#include "engine/churn.h"
#include "engine/churn_internal.h"
#include "engine/gbt.h"
#include "engine/logit.h"

#define FORMAT "kizuna-churn-model"

struct kz_churn_model {
    int algo;
    int horizon;
    size_t p;
    char **names;
    struct kz_churn_prep prep; /* logistic */
    kz_logit *logit;
    kz_gbt *gbt;
    char *table;               /* the encoding of an analyst's table, or NULL */
};

static const char *const algo_names[] = { [KZ_CHURN_LOGISTIC] = "logistic", [KZ_CHURN_XGBOOST] = "xgboost" };

const char *kz_churn_algo_name(int algo)
{
    return algo == KZ_CHURN_XGBOOST ? algo_names[KZ_CHURN_XGBOOST] : algo_names[KZ_CHURN_LOGISTIC];
}

void kz_churn_model_free(kz_churn_model *m)
{
    if (!m)
        return;
    for (size_t j = 0; m->names && j < m->p; j++)
        free(m->names[j]);
    free(m->names);
    kz_churn_prep_free(&m->prep);
    kz_logit_free(m->logit);
    kz_gbt_free(m->gbt);
    free(m->table);
    free(m);
}

const char *kz_churn_model_table(const kz_churn_model *m)
{
    return m->table;
}

int kz_churn_model_set_table(kz_churn_model *m, const char *encoding_json)
{
    char *c = encoding_json ? strdup(encoding_json) : NULL;
    if (encoding_json && !c)
        return kz_error_oom();
    free(m->table);
    m->table = c;
    return KZ_OK;
}

static int copy_names(kz_churn_model *m, char *const *names, size_t p)
{
    m->names = calloc(p ? p : 1, sizeof *m->names);
    if (!m->names)
        return kz_error_oom();
    for (m->p = 0; m->p < p; m->p++)
        if (!(m->names[m->p] = strdup(names[m->p])))
            return kz_error_oom();
    return KZ_OK;
}

int kz_churn_model_train(kz_churn_model **out, const kz_dataset *d, int algo, double lambda, int horizon)
{
    kz_churn_model *m = calloc(1, sizeof *m);
    size_t *all = malloc((d->n ? d->n : 1) * sizeof *all);
    double *x = NULL;
    float *xf = NULL, *yf = NULL;
    uint8_t *y = NULL;
    int rc = KZ_OK;
    *out = NULL;
    if (!m || !all) {
        rc = kz_error_oom();
        goto done;
    }
    m->algo = algo;
    m->horizon = horizon;
    if ((rc = copy_names(m, d->names, d->p)))
        goto done;
    size_t churned = 0;
    for (size_t i = 0; i < d->n; i++) {
        all[i] = i;
        churned += d->y[i];
    }
    if (!churned || churned == d->n) {
        rc = kz_error_set(KZ_EINVALID, "%zu rows of which %zu churned: nothing to learn from", d->n, churned);
        goto done;
    }
    if (algo == KZ_CHURN_LOGISTIC) {
        if ((rc = kz_churn_prep_fit(&m->prep, d, all, d->n)))
            goto done;
        x = malloc(d->n * m->prep.p_out * sizeof *x);
        y = malloc(d->n);
        if (!x || !y) {
            rc = kz_error_oom();
            goto done;
        }
        for (size_t i = 0; i < d->n; i++) {
            kz_churn_prep_row(&m->prep, d->x + i * d->p, x + i * m->prep.p_out);
            y[i] = d->y[i];
        }
        rc = kz_logit_fit(&m->logit, x, y, d->n, m->prep.p_out, lambda);
    } else {
        kz_gbt_params gp;
        kz_gbt_params_init(&gp);
        gp.threads = kz_gbt_threads(d->n);
        xf = kz_churn_as_float(d, NULL, d->n);
        yf = malloc((d->n ? d->n : 1) * sizeof *yf);
        if (!xf || !yf) {
            rc = KZ_ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < d->n; i++)
            yf[i] = d->y[i];
        rc = kz_gbt_fit(&m->gbt, xf, yf, d->n, d->p, &gp);
    }
done:
    free(all);
    free(x);
    free(y);
    free(xf);
    free(yf);
    if (rc) {
        kz_churn_model_free(m);
        return rc;
    }
    *out = m;
    return KZ_OK;
}

static void doubles(kz_jw *w, const char *key, const double *v, size_t n)
{
    kz_jw_key(w, key);
    kz_jw_arr(w);
    for (size_t i = 0; i < n; i++)
        kz_jw_double(w, v[i]);
    kz_jw_end(w);
}

int kz_churn_model_save(const kz_churn_model *m, kz_buf *out)
{
    kz_buf tree;
    kz_jw w;
    int rc = KZ_OK;
    kz_buf_init(&tree, KZ_BUF_UNLIMITED);
    if (m->algo == KZ_CHURN_XGBOOST && (rc = kz_gbt_save(m->gbt, &tree))) {
        kz_buf_free(&tree);
        return rc;
    }
    kz_jw_init(&w, out);
    kz_jw_obj(&w);
    kz_jw_key(&w, "format");
    kz_jw_str(&w, FORMAT);
    kz_jw_key(&w, "version");
    kz_jw_int(&w, 1);
    kz_jw_key(&w, "algorithm");
    kz_jw_str(&w, kz_churn_algo_name(m->algo));
    kz_jw_key(&w, "horizon_days");
    kz_jw_int(&w, m->horizon);
    kz_jw_key(&w, "features");
    kz_jw_arr(&w);
    for (size_t j = 0; j < m->p; j++)
        kz_jw_str(&w, m->names[j]);
    kz_jw_end(&w);
    if (m->table) {
        kz_jw_key(&w, "table");
        kz_jw_raw(&w, m->table, strlen(m->table));
    }
    if (m->algo == KZ_CHURN_LOGISTIC) {
        const kz_logit *l = m->logit;
        kz_jw_key(&w, "logistic");
        kz_jw_obj(&w);
        kz_jw_key(&w, "lambda");
        kz_jw_double(&w, l->lambda);
        kz_jw_key(&w, "intercept_std");
        kz_jw_double(&w, l->intercept_std);
        doubles(&w, "coef_std", l->coef_std, l->p);
        doubles(&w, "mean", l->mean, l->p);
        doubles(&w, "sd", l->sd, l->p);
        doubles(&w, "fill", m->prep.fill, m->prep.p_in);
        kz_jw_key(&w, "indicator");
        kz_jw_arr(&w);
        for (size_t j = 0; j < m->prep.p_in; j++)
            kz_jw_int(&w, m->prep.indicator[j]);
        kz_jw_end(&w);
        kz_jw_end(&w);
    } else {
        /* as a string: XGBoost's parser tells 1 from 1.0, which a JSON
         * library would not keep through a parse and print */
        kz_jw_key(&w, "xgboost");
        kz_jw_strn(&w, tree.data, tree.len);
    }
    kz_jw_end(&w);
    kz_buf_free(&tree);
    return kz_jw_error(&w);
}

/* n doubles of array `key` of obj into v (malloc'd when *v is NULL). */
static int read_doubles(const cJSON *obj, const char *key, size_t n, double **v)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key), *it;
    if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != n)
        return kz_error_set(KZ_EINVALID, "model: '%s' must be an array of %zu numbers", key, n);
    *v = malloc((n ? n : 1) * sizeof **v);
    if (!*v)
        return kz_error_oom();
    size_t i = 0;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsNumber(it)) {
            free(*v);
            *v = NULL;
            return kz_error_set(KZ_EINVALID, "model: '%s'[%zu] is not a number", key, i);
        }
        (*v)[i++] = it->valuedouble;
    }
    return KZ_OK;
}

static int load_logistic(kz_churn_model *m, const cJSON *l)
{
    const cJSON *lambda = cJSON_GetObjectItemCaseSensitive(l, "lambda");
    const cJSON *icpt = cJSON_GetObjectItemCaseSensitive(l, "intercept_std");
    double *ind = NULL, *coef = NULL, *mean = NULL, *sd = NULL;
    int rc;
    if (!cJSON_IsObject(l) || !cJSON_IsNumber(lambda) || !cJSON_IsNumber(icpt))
        return kz_error_set(KZ_EINVALID, "model: the logistic part is incomplete");
    m->prep.p_in = m->p;
    if ((rc = read_doubles(l, "fill", m->p, &m->prep.fill)) || (rc = read_doubles(l, "indicator", m->p, &ind)))
        goto done;
    m->prep.indicator = malloc(m->p ? m->p : 1);
    if (!m->prep.indicator) {
        rc = kz_error_oom();
        goto done;
    }
    m->prep.p_out = m->p;
    for (size_t j = 0; j < m->p; j++) {
        m->prep.indicator[j] = ind[j] != 0;
        m->prep.p_out += m->prep.indicator[j];
    }
    if ((rc = read_doubles(l, "coef_std", m->prep.p_out, &coef)) ||
        (rc = read_doubles(l, "mean", m->prep.p_out, &mean)) || (rc = read_doubles(l, "sd", m->prep.p_out, &sd)))
        goto done;
    rc = kz_logit_from(&m->logit, m->prep.p_out, icpt->valuedouble, coef, mean, sd, lambda->valuedouble);
done:
    free(ind);
    free(coef);
    free(mean);
    free(sd);
    return rc;
}

int kz_churn_model_load(kz_churn_model **out, const char *json, size_t n)
{
    cJSON *root = cJSON_ParseWithLength(json, n);
    kz_churn_model *m = calloc(1, sizeof *m);
    int rc = KZ_OK;
    *out = NULL;
    if (!m) {
        cJSON_Delete(root);
        return kz_error_oom();
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(root, "algorithm");
    const cJSON *hor = cJSON_GetObjectItemCaseSensitive(root, "horizon_days");
    const cJSON *feats = cJSON_GetObjectItemCaseSensitive(root, "features"), *f;
    if (!root || !cJSON_IsString(fmt) || strcmp(fmt->valuestring, FORMAT) != 0) {
        rc = kz_error_set(KZ_EINVALID, "not a Kizuna churn model");
        goto done;
    }
    if (!cJSON_IsNumber(ver) || ver->valueint != 1) {
        rc = kz_error_set(KZ_EINVALID, "churn model format version %d is not known to this program",
                          cJSON_IsNumber(ver) ? ver->valueint : -1);
        goto done;
    }
    if (!cJSON_IsString(alg) || !cJSON_IsNumber(hor) || !cJSON_IsArray(feats)) {
        rc = kz_error_set(KZ_EINVALID, "model: algorithm, horizon_days or features missing");
        goto done;
    }
    m->algo = strcmp(alg->valuestring, "xgboost") == 0 ? KZ_CHURN_XGBOOST : KZ_CHURN_LOGISTIC;
    if (strcmp(alg->valuestring, kz_churn_algo_name(m->algo)) != 0) {
        rc = kz_error_set(KZ_EINVALID, "model: unknown algorithm '%s'", alg->valuestring);
        goto done;
    }
    m->horizon = hor->valueint;
    size_t p = (size_t)cJSON_GetArraySize(feats);
    m->names = calloc(p ? p : 1, sizeof *m->names);
    if (!m->names) {
        rc = kz_error_oom();
        goto done;
    }
    cJSON_ArrayForEach(f, feats)
    {
        if (!cJSON_IsString(f) || !(m->names[m->p] = strdup(f->valuestring))) {
            rc = cJSON_IsString(f) ? kz_error_oom() : kz_error_set(KZ_EINVALID, "model: a feature name is not text");
            goto done;
        }
        m->p++;
    }
    const cJSON *table = cJSON_GetObjectItemCaseSensitive(root, "table");
    if (cJSON_IsObject(table) && !(m->table = cJSON_PrintUnformatted(table))) {
        rc = kz_error_oom();
        goto done;
    }
    if (m->algo == KZ_CHURN_LOGISTIC) {
        rc = load_logistic(m, cJSON_GetObjectItemCaseSensitive(root, "logistic"));
    } else {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "xgboost");
        if (!cJSON_IsString(t)) {
            rc = kz_error_set(KZ_EINVALID, "model: the xgboost part is missing");
            goto done;
        }
        rc = kz_gbt_load(&m->gbt, t->valuestring, strlen(t->valuestring));
    }
done:
    cJSON_Delete(root);
    if (rc) {
        kz_churn_model_free(m);
        return rc;
    }
    *out = m;
    return KZ_OK;
}

int kz_churn_model_algo(const kz_churn_model *m)
{
    return m->algo;
}

int kz_churn_model_horizon(const kz_churn_model *m)
{
    return m->horizon;
}

char *const *kz_churn_model_features(const kz_churn_model *m, size_t *p)
{
    *p = m->p;
    return m->names;
}

int kz_churn_model_score(const kz_churn_model *m, const kz_dataset *rows, double *prob, double *contrib)
{
    if (rows->p != m->p)
        return kz_error_set(KZ_EINVALID, "the rows have %zu features, the model %zu", rows->p, m->p);
    if (m->algo == KZ_CHURN_XGBOOST) {
        float *x = kz_churn_as_float(rows, NULL, rows->n);
        double *c = contrib ? malloc((rows->n ? rows->n : 1) * (m->p + 1) * sizeof *c) : NULL;
        int rc = !x || (contrib && !c) ? KZ_ENOMEM : KZ_OK;
        if (!rc && !contrib)
            rc = kz_gbt_predict(m->gbt, x, rows->n, m->p, prob);
        if (!rc && contrib && !(rc = kz_gbt_contributions(m->gbt, x, rows->n, m->p, 0, c)))
            for (size_t i = 0; i < rows->n; i++) {
                /* the contributions and the bias add up to the log-odds: one pass gives both */
                double t = 0;
                for (size_t j = 0; j <= m->p; j++)
                    t += c[i * (m->p + 1) + j];
                prob[i] = t >= 0 ? 1 / (1 + exp(-t)) : exp(t) / (1 + exp(t));
                memcpy(contrib + i * m->p, c + i * (m->p + 1), m->p * sizeof *c);
            }
        free(x);
        free(c);
        return rc;
    }
    const kz_logit *l = m->logit;
    double *z = malloc((m->prep.p_out ? m->prep.p_out : 1) * sizeof *z);
    double *cz = malloc((m->prep.p_out ? m->prep.p_out : 1) * sizeof *cz);
    if (!z || !cz) {
        free(z);
        free(cz);
        return kz_error_oom();
    }
    for (size_t i = 0; i < rows->n; i++) {
        kz_churn_prep_row(&m->prep, rows->x + i * rows->p, z);
        prob[i] = kz_logit_prob(l, z);
        if (!contrib)
            continue;
        kz_logit_contributions(l, z, cz);
        /* each feature's part, its "was missing" column added to it */
        double *c = contrib + i * m->p;
        size_t extra = m->p;
        for (size_t j = 0; j < m->p; j++) {
            c[j] = cz[j];
            if (m->prep.indicator[j])
                c[j] += cz[extra++];
        }
    }
    free(z);
    free(cz);
    return KZ_OK;
}
