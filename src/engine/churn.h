/*
 * churn.h - churn prediction from the history in the database: datasets of
 * (account, observation date) rows with the signals known that day and the
 * label "stopped paying within the horizon", a time-based split, and the
 * evaluation of a model on the later, held-out observation dates.
 *
 * No leakage: a row's features use only data up to its observation date
 * (signals.h), and the training rows are those whose label was known before
 * the first test date (observation date + horizon <= first test date), so
 * nothing the model learns comes from the period it is judged on.
 */
#ifndef KZ_ENGINE_CHURN_H
#define KZ_ENGINE_CHURN_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "engine/engine.h"
#include "engine/evaluate.h"
#include "engine/segment.h"

typedef struct kz_churn_opts {
    int horizon;     /* days ahead a churn counts (default 90) */
    int step;        /* days between observation dates (default 30) */
    double test_share; /* share of the observation dates held out, the latest (default 0.3) */
    double lambda;   /* penalty of the logistic regression; < 0 (the default): chosen on
                      * a validation split of the training period */
    const char *const *exclude; /* attributes left out of the features (--no-field), nexclude of them */
    size_t nexclude;
} kz_churn_opts;

void kz_churn_opts_init(kz_churn_opts *c);

typedef struct kz_dataset {
    size_t n, p;          /* rows, features */
    double *x;            /* n rows of p features; NaN where missing */
    uint8_t *y;           /* 1: churned within the horizon */
    kz_day *obs;          /* each row's observation date */
    uint32_t *acc;        /* each row's account index */
    char **names;         /* the p feature names (owned) */
    size_t ndates;
    kz_day *dates;        /* the observation dates, ascending */
} kz_dataset;

/* The dataset of every account paying on each observation date: dates every
 * c->step days back from (the observation date of o) − horizon, as long as
 * 56 days of events lie before them. o's mask, time zone and window apply.
 * Features: the signals, then the plan that day (one 0/1 column per common
 * plan), then the attributes (may be NULL): numbers as they are, dates as
 * days before the observation date, text as one 0/1 column per common value.
 * Caller frees with kz_dataset_free. KZ_EINVALID (with the reason) when the
 * history is too short for one labelled date. */
int kz_churn_dataset(kz_dataset **out, const kz_engine *e, const kz_metric_opts *o, const kz_churn_opts *c,
                     const kz_attrs *attrs);
void kz_dataset_free(kz_dataset *d);

/* The rows of every account (of o's mask) paying on day `at`, with the p
 * feature columns called `names` (as a dataset made them; a name that no
 * longer means anything, such as a deleted field, reads as missing), and y
 * 0: the input of a prediction. Caller frees with kz_dataset_free. */
int kz_churn_rows(kz_dataset **out, const kz_engine *e, const kz_metric_opts *o, kz_day at, char *const *names,
                  size_t p, const kz_attrs *attrs);

/* How a model did on the held-out dates. */
typedef struct kz_churn_eval {
    const char *model;                   /* "logistic" or "xgboost" */
    size_t train_rows, train_churned, test_rows, test_churned;
    kz_day train_first, train_last, test_first, test_last;
    double roc_auc, pr_auc, top_decile_lift;
    double lambda;                       /* the logistic regression's penalty (NaN for others) */
    kz_calib_bin calibration[10];
} kz_churn_eval;

#define KZ_CHURN_MODELS 2

/* Splits d by time (c->test_share of the dates, the latest, for testing;
 * training dates end a horizon before the first test date), fits both models
 * on the training rows, the logistic regression (out[0]) and gradient-boosted
 * trees (out[1]), and scores the test rows. KZ_EINVALID when a side has no
 * rows or no churn to learn from. */
int kz_churn_evaluate(kz_churn_eval out[KZ_CHURN_MODELS], const kz_dataset *d, const kz_churn_opts *c);

/* The part each row plays in an evaluation. */
enum {
    KZ_ROLE_TRAIN,      /* training, and in the penalty search */
    KZ_ROLE_TEST,       /* held out: the evaluation */
    KZ_ROLE_VALIDATE,   /* training; held out in the penalty search */
    KZ_ROLE_TRAIN_ONLY, /* training, not in the penalty search */
    KZ_ROLE_NONE,       /* left out */
};

/* The evaluation with the roles given per row (role[0..d->n-1]); the periods
 * of `periods` are copied into each result. */
int kz_churn_evaluate_roles(kz_churn_eval out[KZ_CHURN_MODELS], const kz_dataset *d, const kz_churn_opts *c,
                            const uint8_t *role, const kz_churn_eval *periods);

/* ---- a model to keep and use (churn_model.c) ---- */

enum { KZ_CHURN_LOGISTIC, KZ_CHURN_XGBOOST };
typedef struct kz_churn_model kz_churn_model;

/* "logistic" or "xgboost". */
const char *kz_churn_algo_name(int algo);

/* Fits algo on every row of d (lambda: the logistic penalty, >= 0). Caller
 * frees with kz_churn_model_free. KZ_EINVALID when d has no churn or only. */
int kz_churn_model_train(kz_churn_model **out, const kz_dataset *d, int algo, double lambda, int horizon);

/* The model as JSON (appended to out), and back (KZ_EINVALID, with the
 * reason, for anything that is not a model this program wrote). */
int kz_churn_model_save(const kz_churn_model *m, kz_buf *out);
int kz_churn_model_load(kz_churn_model **out, const char *json, size_t n);

int kz_churn_model_algo(const kz_churn_model *m);
int kz_churn_model_horizon(const kz_churn_model *m);
/* The feature names (p of them), borrowed from the model. */
char *const *kz_churn_model_features(const kz_churn_model *m, size_t *p);

/* For every row of rows (made with kz_churn_rows from the model's features):
 * the probability of churn within the horizon into prob, and when contrib is
 * not NULL each feature's push on the log-odds into contrib (n rows of p):
 * SHAP values for the trees, coefficient × standardised value for the
 * logistic regression. */
int kz_churn_model_score(const kz_churn_model *m, const kz_dataset *rows, double *prob, double *contrib);

void kz_churn_model_free(kz_churn_model *m);

/* The table encoding a model keeps when it was trained on an analyst's
 * table (NULL: none); set takes a copy. */
const char *kz_churn_model_table(const kz_churn_model *m);
int kz_churn_model_set_table(kz_churn_model *m, const char *encoding_json);

/* ---- an analyst's feature table (churn_table.c) ---- */

typedef struct kz_ftable kz_ftable;

/* Reads a CSV with a header, one row per customer: id_col (every id once,
 * none empty), label_col (yes/no, true/false, 1/0; NULL when predicting) and
 * the features. KZ_EINVALID names the file, line and column of anything
 * wrong. Caller frees with kz_ftable_free. */
int kz_ftable_read(kz_ftable **out, const char *path, const char *id_col, const char *label_col);
void kz_ftable_free(kz_ftable *t);
size_t kz_ftable_rows(const kz_ftable *t);
const char *kz_ftable_id(const kz_ftable *t, size_t i);
const char *kz_ftable_id_column(const kz_ftable *t);

/* The dataset of the table (row i is the table's row i, y its label). With
 * given NULL the encoding is learnt from the table, else given (JSON, as a
 * model keeps it) is applied; *encoding (may be NULL) gets a malloc'd copy of
 * the encoding used. */
int kz_ftable_dataset(kz_dataset **out, char **encoding, const kz_ftable *t, const char *given);

/* Roles for an evaluation without dates: by a stable hash of each id, about
 * test_share of the rows test and as many validate the penalty. */
int kz_ftable_roles(uint8_t *role, const kz_ftable *t, double test_share);

#endif
