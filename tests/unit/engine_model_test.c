/*
 * engine_model_test.c - model evaluation (ROC AUC, average precision, lift,
 * calibration) against values known from scikit-learn's documentation and by
 * hand, and the logistic regression against a case solved by hand and the
 * optimality condition of the penalised fit.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/buf.h"
#include "engine/evaluate.h"
#include "engine/churn.h"
#include "engine/gbt.h"
#include "engine/logit.h"

/* scikit-learn's examples: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
 * = 0.75; average_precision_score of the same = 0.8333... */
Test(engine_evaluate, auc_and_average_precision_of_a_known_case)
{
    const double s[] = { 0.1, 0.4, 0.35, 0.8 };
    const uint8_t y[] = { 0, 0, 1, 1 };
    cr_assert_float_eq(kz_eval_roc_auc(s, y, 4), 0.75, 1e-15);
    cr_assert_float_eq(kz_eval_pr_auc(s, y, 4), 5.0 / 6.0, 1e-15);
}

Test(engine_evaluate, ties_count_one_half_and_one_class_has_no_auc)
{
    const double same[] = { 0.3, 0.3, 0.3, 0.3 };
    const uint8_t y[] = { 1, 0, 1, 0 };
    cr_assert_float_eq(kz_eval_roc_auc(same, y, 4), 0.5, 1e-15);
    /* one threshold: precision 1/2 at recall 1 */
    cr_assert_float_eq(kz_eval_pr_auc(same, y, 4), 0.5, 1e-15);
    const double s[] = { 0.9, 0.1, 0.5 };
    const uint8_t ones[] = { 1, 1, 1 }, zeros[] = { 0, 0, 0 };
    cr_assert(isnan(kz_eval_roc_auc(s, ones, 3)));
    cr_assert(isnan(kz_eval_roc_auc(s, zeros, 3)));
    cr_assert(isnan(kz_eval_pr_auc(s, zeros, 3)));
    /* a perfect ranking and its reverse */
    const uint8_t z[] = { 1, 0, 0 };
    cr_assert_float_eq(kz_eval_roc_auc(s, z, 3), 1.0, 1e-15);
    const uint8_t w[] = { 0, 1, 0 };
    cr_assert_float_eq(kz_eval_roc_auc(s, w, 3), 0.0, 1e-15);
}

Test(engine_evaluate, lift_of_the_top_decile)
{
    double s[20];
    uint8_t y[20] = { 0 };
    for (int i = 0; i < 20; i++)
        s[i] = 1.0 - i / 20.0;
    y[0] = y[1] = y[10] = y[19] = 1; /* 4 of 20 = 0.2; the top 2 both positive */
    cr_assert_float_eq(kz_eval_lift(s, y, 20, 0.1), 5.0, 1e-15);
    y[1] = 0;
    y[2] = 1; /* top 2: one positive */
    cr_assert_float_eq(kz_eval_lift(s, y, 20, 0.1), 2.5, 1e-15);
    /* the cut rounds up: 10% of 15 rows is 2 */
    cr_assert_float_eq(kz_eval_lift(s, y, 15, 0.1), (1.0 / 2.0) / (3.0 / 15.0), 1e-15);
    uint8_t none[20] = { 0 };
    cr_assert(isnan(kz_eval_lift(s, none, 20, 0.1)));
    cr_assert(isnan(kz_eval_lift(s, y, 0, 0.1)));
}

Test(engine_evaluate, calibration_bins)
{
    const double p[] = { 0.05, 0.15, 0.12, 0.95, 1.0, -0.2, 1.7 };
    const uint8_t y[] = { 0, 1, 0, 1, 1, 0, 1 };
    kz_calib_bin b[10];
    cr_assert_eq(kz_eval_calibration(b, 10, p, y, 7), KZ_OK);
    cr_assert_eq(b[0].n, 2); /* 0.05 and -0.2 clamped to 0 */
    cr_assert_float_eq(b[0].mean_pred, 0.025, 1e-15);
    cr_assert_float_eq(b[0].observed, 0.0, 1e-15);
    cr_assert_eq(b[1].n, 2);
    cr_assert_float_eq(b[1].mean_pred, 0.135, 1e-15);
    cr_assert_float_eq(b[1].observed, 0.5, 1e-15);
    cr_assert_eq(b[9].n, 3); /* 0.95, 1.0 and 1.7 clamped: the last bin is closed */
    cr_assert_float_eq(b[9].observed, 1.0, 1e-15);
    cr_assert_eq(b[5].n, 0);
    cr_assert(isnan(b[5].mean_pred) && isnan(b[5].observed));
    cr_assert_float_eq(b[3].lo, 0.3, 1e-15);
    cr_assert_float_eq(b[3].hi, 0.4, 1e-15);
}

/* One binary feature: x = 0 in 4 rows (1 positive), x = 1 in 4 rows (3
 * positive). Without a penalty the fit reproduces the two rates: intercept
 * logit(1/4) = -ln 3, slope logit(3/4) - logit(1/4) = 2 ln 3. */
Test(engine_logit, unpenalised_fit_solved_by_hand)
{
    const double x[] = { 0, 0, 0, 0, 1, 1, 1, 1 };
    const uint8_t y[] = { 1, 0, 0, 0, 1, 1, 1, 0 };
    kz_logit *m;
    cr_assert_eq(kz_logit_fit(&m, x, y, 8, 1, 0.0), KZ_OK, "%s", kz_error_msg());
    cr_assert(m->converged);
    cr_assert_float_eq(m->intercept, -log(3.0), 1e-9);
    cr_assert_float_eq(m->coef[0], 2 * log(3.0), 1e-9);
    double zero = 0, one = 1;
    cr_assert_float_eq(kz_logit_prob(m, &zero), 0.25, 1e-9);
    cr_assert_float_eq(kz_logit_prob(m, &one), 0.75, 1e-9);
    /* the deviance: -2 × Σ log p = -2 × 2 × (ln 1/4 + 3 ln 3/4) */
    cr_assert_float_eq(m->deviance, -4 * (log(0.25) + 3 * log(0.75)), 1e-9);
    /* contributions: standardised x = ±1 (mean 1/2, sd 1/2) */
    double c;
    double base = kz_logit_contributions(m, &one, &c);
    cr_assert_float_eq(base + c, log(3.0), 1e-9);
    kz_logit_free(m);
}

/* Random data with a penalty: at the optimum the gradient of the penalised
 * log-likelihood is zero, Zᵀ (y − μ) = λ β on the standardised scale (none for
 * the intercept), and the same data give the same bits again. */
Test(engine_logit, penalised_fit_is_optimal_and_deterministic)
{
    enum { N = 400, P = 4 };
    static double x[N * P];
    static uint8_t y[N];
    kz_rng r;
    kz_rng_seed(&r, 11);
    for (int i = 0; i < N; i++) {
        double t = -0.5;
        for (int j = 0; j < P; j++) {
            x[i * P + j] = kz_rng_normal(&r) * (j + 1) + j;
            t += (j % 2 ? -0.7 : 0.4) * (x[i * P + j] - j) / (j + 1);
        }
        y[i] = kz_rng_unif(&r) < 1 / (1 + exp(-t));
    }
    const double lambda = 3.0;
    kz_logit *m, *again;
    cr_assert_eq(kz_logit_fit(&m, x, y, N, P, lambda), KZ_OK);
    cr_assert(m->converged);
    cr_assert_lt(m->iterations, 15);
    double g[P + 1] = { 0 };
    for (int i = 0; i < N; i++) {
        double mu = kz_logit_prob(m, &x[i * P]), res = y[i] - mu;
        g[0] += res;
        for (int j = 0; j < P; j++)
            g[j + 1] += res * (x[i * P + j] - m->mean[j]) / m->sd[j];
    }
    cr_assert_float_eq(g[0], 0.0, 1e-7);
    for (int j = 0; j < P; j++)
        cr_assert_float_eq(g[j + 1], lambda * m->coef_std[j], 1e-7, "feature %d", j);
    /* the signs of the truth */
    cr_assert_gt(m->coef[0], 0);
    cr_assert_lt(m->coef[1], 0);
    cr_assert_eq(kz_logit_fit(&again, x, y, N, P, lambda), KZ_OK);
    cr_assert_eq(memcmp(m->coef, again->coef, sizeof(double) * P), 0);
    cr_assert_eq(memcmp(&m->intercept, &again->intercept, sizeof(double)), 0);
    kz_logit_free(m);
    kz_logit_free(again);
}

Test(engine_logit, constant_and_separating_features)
{
    /* feature 1 is constant: it gets no coefficient; feature 0 separates the
     * classes: unpenalised, the coefficient runs away; penalised, it settles */
    const double x[] = { 0, 5, 1, 5, 2, 5, 3, 5 };
    const uint8_t y[] = { 0, 0, 1, 1 };
    kz_logit *m;
    cr_assert_eq(kz_logit_fit(&m, x, y, 4, 2, 0.0), KZ_OK);
    cr_assert_eq(m->coef[1], 0.0);
    cr_assert_eq(m->sd[1], 0.0);
    cr_assert_gt(m->coef[0], 5.0);
    cr_assert_lt(kz_logit_prob(m, (const double[]){ 0, 5 }), 0.01);
    kz_logit_free(m);
    cr_assert_eq(kz_logit_fit(&m, x, y, 4, 2, 1.0), KZ_OK);
    cr_assert(m->converged);
    cr_assert(isfinite(m->coef[0]) && m->coef[0] > 0 && m->coef[0] < 5.0);
    kz_logit_free(m);
}

Test(engine_logit, bad_input_is_refused)
{
    kz_logit *m = (kz_logit *)1;
    const double x[] = { 0, NAN };
    const uint8_t y[] = { 0, 1 };
    cr_assert_eq(kz_logit_fit(&m, x, y, 0, 1, 0.0), KZ_EINVALID);
    cr_assert_null(m);
    cr_assert_eq(kz_logit_fit(&m, x, y, 2, 1, 0.0), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "row 2, feature 1") != NULL, "%s", kz_error_msg());
    cr_assert_eq(kz_logit_fit(&m, x, y, 1, 1, -1.0), KZ_EINVALID);
    cr_assert_eq(kz_logit_fit(&m, x, y, 1, 1, NAN), KZ_EINVALID);
    kz_logit_free(NULL);
}

/* Boosted trees on a threshold no straight line in x0 alone explains well:
 * y = 1 when x0 > 0.5 and x1 < 0.3 (with 10 % noise), x2 pure noise, some
 * x1 missing. */
static void tree_data(float *x, float *y, int n)
{
    kz_rng r;
    kz_rng_seed(&r, 5);
    for (int i = 0; i < n; i++) {
        float a = (float)kz_rng_unif(&r), b = (float)kz_rng_unif(&r), c = (float)kz_rng_unif(&r);
        int label = a > 0.5f && b < 0.3f;
        if (kz_rng_unif(&r) < 0.1)
            label = !label;
        x[i * 3] = a;
        x[i * 3 + 1] = i % 17 == 0 ? NAN : b;
        x[i * 3 + 2] = c;
        y[i] = (float)label;
    }
}

Test(engine_gbt, learns_a_rule_explains_it_and_round_trips)
{
    enum { N = 2000 };
    static float x[N * 3], y[N];
    static double prob[N], again[N], contrib[N * 4];
    static uint8_t lab[N];
    tree_data(x, y, N);
    kz_gbt_params gp;
    kz_gbt_params_init(&gp);
    gp.rounds = 100;
    kz_gbt *m, *m2, *loaded;
    cr_assert_eq(kz_gbt_fit(&m, x, y, N, 3, &gp), KZ_OK, "%s", kz_error_msg());
    cr_assert_eq(kz_gbt_predict(m, x, N, 3, prob), KZ_OK);
    for (int i = 0; i < N; i++)
        lab[i] = y[i] > 0.5f;
    double auc = kz_eval_roc_auc(prob, lab, N);
    cr_assert_gt(auc, 0.85, "AUC %f", auc);
    /* the contributions add up to the log-odds; the noise feature matters least */
    cr_assert_eq(kz_gbt_contributions(m, x, N, 3, 1, contrib), KZ_OK);
    double mean_abs[3] = { 0 };
    for (int i = 0; i < N; i++) {
        double t = 0;
        for (int j = 0; j < 4; j++)
            t += contrib[i * 4 + j];
        cr_assert_float_eq(1 / (1 + exp(-t)), prob[i], 1e-4, "row %d", i);
        for (int j = 0; j < 3; j++)
            mean_abs[j] += fabs(contrib[i * 4 + j]) / N;
    }
    cr_assert_lt(mean_abs[2], mean_abs[0]);
    cr_assert_lt(mean_abs[2], mean_abs[1]);
    /* the fast path contributions add up the same way and agree on the noise */
    static double approx[N * 4];
    cr_assert_eq(kz_gbt_contributions(m, x, N, 3, 0, approx), KZ_OK);
    double approx_abs[3] = { 0 };
    for (int i = 0; i < N; i++) {
        double t = 0;
        for (int j = 0; j < 4; j++)
            t += approx[i * 4 + j];
        cr_assert_float_eq(1 / (1 + exp(-t)), prob[i], 1e-4, "row %d", i);
        for (int j = 0; j < 3; j++)
            approx_abs[j] += fabs(approx[i * 4 + j]) / N;
    }
    cr_assert_lt(approx_abs[2], approx_abs[0]);
    cr_assert_lt(approx_abs[2], approx_abs[1]);
    /* same data, same seed: the same model; saved and loaded: the same answers */
    cr_assert_eq(kz_gbt_fit(&m2, x, y, N, 3, &gp), KZ_OK);
    cr_assert_eq(kz_gbt_predict(m2, x, N, 3, again), KZ_OK);
    cr_assert_eq(memcmp(prob, again, sizeof prob), 0);
    kz_buf b;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    cr_assert_eq(kz_gbt_save(m, &b), KZ_OK);
    cr_assert(b.len > 100 && b.data[0] == '{');
    cr_assert_eq(kz_gbt_load(&loaded, b.data, b.len), KZ_OK, "%s", kz_error_msg());
    cr_assert_eq(kz_gbt_predict(loaded, x, N, 3, again), KZ_OK);
    cr_assert_eq(memcmp(prob, again, sizeof prob), 0);
    kz_buf_free(&b);
    kz_gbt_free(m);
    kz_gbt_free(m2);
    kz_gbt_free(loaded);
}

Test(engine_gbt, bad_input_is_refused)
{
    kz_gbt *m = (kz_gbt *)1;
    kz_gbt_params gp;
    kz_gbt_params_init(&gp);
    float x[1] = { 0 }, y[1] = { 0 };
    cr_assert_eq(kz_gbt_fit(&m, x, y, 0, 1, &gp), KZ_EINVALID);
    cr_assert_null(m);
    cr_assert_eq(kz_gbt_load(&m, "{not a model", 12), KZ_ERROR);
    cr_assert(strstr(kz_error_msg(), "xgboost") != NULL, "%s", kz_error_msg());
    cr_assert_null(m);
    kz_gbt_free(NULL);
}

/* A dataset built by hand: p features, some missing. Freed with kz_dataset_free. */
static kz_dataset *synthetic(size_t n)
{
    kz_dataset *d = calloc(1, sizeof *d);
    cr_assert_not_null(d);
    d->n = n;
    d->p = 3;
    d->x = malloc(n * 3 * sizeof *d->x);
    d->y = malloc(n);
    d->obs = calloc(n, sizeof *d->obs);
    d->acc = calloc(n, sizeof *d->acc);
    d->names = calloc(3, sizeof *d->names);
    d->dates = calloc(1, sizeof *d->dates);
    d->ndates = 1;
    cr_assert(d->x && d->y && d->obs && d->acc && d->names && d->dates);
    d->names[0] = strdup("events");
    d->names[1] = strdup("nps_last");
    d->names[2] = strdup("region=JP");
    kz_rng r;
    kz_rng_seed(&r, 9);
    for (size_t i = 0; i < n; i++) {
        double a = kz_rng_normal(&r), b = kz_rng_unif(&r) * 10, c = kz_rng_unif(&r) < 0.3;
        d->x[i * 3] = a;
        d->x[i * 3 + 1] = i % 5 == 0 ? NAN : b;
        d->x[i * 3 + 2] = c;
        d->y[i] = kz_rng_unif(&r) < 1 / (1 + exp(-(-1.5 - 1.2 * a + 0.8 * c)));
    }
    return d;
}

Test(engine_churn_model, saved_and_loaded_it_scores_the_same)
{
    kz_dataset *d = synthetic(1500);
    for (int algo = KZ_CHURN_LOGISTIC; algo <= KZ_CHURN_XGBOOST; algo++) {
        kz_churn_model *m, *back;
        cr_assert_eq(kz_churn_model_train(&m, d, algo, 1.0, 90), KZ_OK, "%s", kz_error_msg());
        kz_buf b;
        kz_buf_init(&b, KZ_BUF_UNLIMITED);
        cr_assert_eq(kz_churn_model_save(m, &b), KZ_OK);
        cr_assert_eq(kz_churn_model_load(&back, b.data, b.len), KZ_OK, "%s", kz_error_msg());
        cr_assert_eq(kz_churn_model_algo(back), algo);
        cr_assert_eq(kz_churn_model_horizon(back), 90);
        size_t p;
        char *const *names = kz_churn_model_features(back, &p);
        cr_assert_eq(p, 3);
        cr_assert_str_eq(names[2], "region=JP");
        static double p1[1500], p2[1500], c1[1500 * 3], c2[1500 * 3];
        cr_assert_eq(kz_churn_model_score(m, d, p1, c1), KZ_OK);
        cr_assert_eq(kz_churn_model_score(back, d, p2, c2), KZ_OK);
        cr_assert_eq(memcmp(p1, p2, sizeof p1), 0, "%s: probabilities differ after a round trip",
                     kz_churn_algo_name(algo));
        cr_assert_eq(memcmp(c1, c2, sizeof c1), 0);
        /* the signs of the truth: more events, less churn; JP more */
        double mean0 = 0, mean2 = 0;
        for (int i = 0; i < 1500; i++) {
            mean0 += c1[i * 3] * (d->x[i * 3] > 0 ? 1 : -1) / 1500;
            mean2 += c1[i * 3 + 2] * (d->x[i * 3 + 2] > 0 ? 1 : -1) / 1500;
        }
        cr_assert_lt(mean0, 0, "%s", kz_churn_algo_name(algo));
        cr_assert_gt(mean2, 0, "%s", kz_churn_algo_name(algo));
        /* damaged or foreign: refused with a reason */
        kz_churn_model *bad;
        cr_assert_eq(kz_churn_model_load(&bad, "{\"format\":\"other\"}", 18), KZ_EINVALID);
        cr_assert_null(bad);
        cr_assert_eq(kz_churn_model_load(&bad, b.data, b.len / 2), KZ_EINVALID);
        cr_assert_null(bad);
        kz_buf_free(&b);
        kz_churn_model_free(m);
        kz_churn_model_free(back);
    }
    /* a model needs churn and stay both */
    memset(d->y, 0, d->n);
    kz_churn_model *none;
    cr_assert_eq(kz_churn_model_train(&none, d, KZ_CHURN_LOGISTIC, 1.0, 90), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "nothing to learn") != NULL, "%s", kz_error_msg());
    kz_dataset_free(d);
}
