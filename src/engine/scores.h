/*
 * scores.h - what the CLI and the server share to score accounts now: the
 * health definition in use, scores at a date with the definition's
 * segments, a score's factors as JSON, the stored churn model to use, its
 * predictions with their drivers, and kz_scores, every account's current
 * health and churn risk in one value (what the server keeps fresh and the
 * account list sorts by).
 */
#ifndef KZ_ENGINE_SCORES_H
#define KZ_ENGINE_SCORES_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "engine/churn.h"
#include "engine/engine.h"
#include "engine/health.h"
#include "engine/segment.h"
#include "store/store.h"

/* The definition of version v (0: the built-in one) into *out. */
int kz_health_def_version(kz_health_def **out, kz_store *st, int64_t v);

/* The definition in use: the latest stored (*version its version), else the
 * built-in one (*version 0). */
int kz_health_def_current(kz_health_def **out, int64_t *version, kz_store *st);

/* Every paying account's score at day `at` by d, each account in the first
 * segment of d whose filters it passes (filters read at `at`). origin names
 * the definition in messages. Caller frees with kz_health_scores_free. */
int kz_health_score_at(kz_health_scores **out, const kz_health_def *d, const char *origin, kz_store *st,
                       const kz_engine *e, const kz_metric_opts *o, kz_day at, const kz_attrs *attrs);

/* Account a's factors as a JSON array of {factor, value, points, weight,
 * adds} (with says, also "says": the measure in words), appended to out. */
int kz_health_parts_json(kz_buf *out, const kz_health_def *d, const kz_health_scores *h, uint32_t a, int says);

/* The two factors that cost account a the most points, in words
 * ("usage -12: active users went from 42 to 17 ...; support -8: ..."),
 * appended to out (nothing when none costs half a point). */
int kz_health_weakest(kz_buf *out, const kz_health_def *d, const kz_health_scores *h, uint32_t a);

/* The stored churn model to predict with: algorithm "logistic" or
 * "xgboost", or "best" (the one whose evaluation had the higher ROC AUC).
 * KZ_ENOTFOUND when none is stored. Free with kz_model_rec_free. */
int kz_churn_model_pick(kz_model_rec **out, kz_store *st, const char *algorithm);

/* The features that push a row most towards churn (at most 3): JSON
 * [{feature, value, effect, says?}] into json, and "name value (+effect),
 * ..." into text; x the row's features, c their contributions; with
 * signals (the account's raw signals, KZ_NSIGNALS of them; may be NULL) a
 * driver that is a signal also says it in words ("3 open high or urgent
 * tickets"). */
int kz_churn_drivers(kz_buf *json, kz_buf *text, char *const *names, size_t p, const double *x, const double *c,
                     const double *signals);

/* An evaluation as JSON: {"features", "horizon_days", "step_days",
 * "models": {name: {roc_auc, pr_auc, top_decile_lift, lambda?, train_from,
 * train_to, test_from, test_to, train_rows, train_churned, test_rows,
 * test_churned, calibration: [...]}}} and a newline, appended to out. */
int kz_churn_eval_json(kz_buf *out, const kz_churn_eval *ev, size_t n, const kz_churn_opts *c, const kz_dataset *d);

/* Predictions of model m for every account paying on `at` (within o's
 * mask): per row of rows (the account is rows->acc[i]) the probability and
 * the drivers as JSON (in words too when signals, naccounts × KZ_NSIGNALS
 * raw signals at `at`, is given). Caller frees with kz_churn_preds_free. */
typedef struct kz_churn_preds {
    kz_dataset *rows;
    double *prob;
    char **drivers; /* per row, NUL-terminated JSON */
    char **text;    /* per row, the drivers as text */
} kz_churn_preds;

int kz_churn_predict_all(kz_churn_preds **out, const kz_churn_model *m, const kz_engine *e, const kz_metric_opts *o,
                         kz_day at, const kz_attrs *attrs, const double *signals);
void kz_churn_preds_free(kz_churn_preds *p);

/* ---- the score against real churn ---- */

/* Every paying account's score on dates every `step` days back from the
 * observation date of o minus the horizon, with whether it churned within
 * the horizon: what a backtest and a suggestion of weights learn from. */
typedef struct kz_health_history {
    size_t n, cap, width, dates;
    double *risk;      /* 100 - score */
    uint8_t *y, *band;
    int *segment;
    kz_day *day;
    double *points;    /* n × width: each factor's points (0..1) */
} kz_health_history;

#define KZ_HEALTH_HISTORY_DAYS 56 /* as for churn: two usage windows before a backtest date */

/* Collects the history (hs is set up here; free it with
 * kz_health_history_free even on failure). KZ_EINVALID when there are no
 * events or too few days before the horizon. */
int kz_health_history_collect(kz_health_history *hs, const kz_health_def *d, const char *origin, kz_store *st,
                              const kz_engine *e, const kz_metric_opts *o, const kz_attrs *attrs, int horizon,
                              int step);
void kz_health_history_free(kz_health_history *hs);

/* How well the scores of hs foresaw churn. */
typedef struct kz_health_backtest {
    double roc_auc;         /* of 100 - score against churn; NaN without churn */
    double red_lift;        /* churn rate of the red band over the overall rate */
    const char *verdict;    /* in words: foresees churn, weakly, or not at all (static) */
    int horizon;
    size_t dates, rows, churned;
    size_t band_rows[3], band_churned[3]; /* by KZ_BAND_* */
} kz_health_backtest;

void kz_health_backtest_of(kz_health_backtest *out, const kz_health_history *hs, int horizon);

/* {"roc_auc", "verdict", "horizon_days", "dates", "rows", "churned",
 * "red_lift", "bands": {green|yellow|red: {rows, churned, churn_rate}}},
 * appended to out. */
int kz_health_backtest_json(kz_buf *out, const kz_health_backtest *b);

/* ---- every account's current scores ---- */

typedef struct kz_scores {
    size_t naccounts;        /* the engine's accounts, by index */
    kz_day at;               /* the date scored (KZ_DAY_NONE: nothing to score yet) */
    kz_time computed_at;
    int64_t health_version;  /* the definition's version (0: built-in) */
    double *health;          /* per account, 0-100; NaN when not scored (not paying) */
    double *health_before;   /* per account, the score by the same definition KZ_TREND_DAYS before
                              * `at`; NaN when it had none then */
    uint8_t *band;           /* KZ_BAND_* */
    const char **segment;    /* the definition's segment */
    const char **factors;    /* JSON of kz_health_parts_json with says */
    const char **weakest;    /* text of kz_health_weakest */
    double *signals;         /* naccounts × KZ_NSIGNALS (signals.h) at `at`; NULL when nothing was scored */
    int64_t model_id;        /* the churn model; 0 when none is stored */
    const char *model;       /* its algorithm */
    int horizon;             /* its horizon in days */
    double *churn;           /* per account; NaN when not predicted */
    const char **drivers;    /* JSON of kz_churn_drivers */
    int64_t *ids;            /* per account, the store's id (for kz_scores_remap) */
    kz_arena *arena;         /* holds the strings */
} kz_scores;

#define KZ_TREND_DAYS 7 /* a score's trend: its change over this many days */

/* Scores every account of e at its observation date (o's time zone and
 * window; the health definition in use and the best stored churn model).
 * Nothing to score (no events) gives at = KZ_DAY_NONE and every score NaN.
 * Caller frees with kz_scores_free. */
int kz_scores_compute(kz_scores **out, kz_store *st, const kz_engine *e, const kz_metric_opts *o);
void kz_scores_free(kz_scores *s);

/* Re-indexes s by the accounts of engine `to` (which replaced the one s was
 * computed on): the same account keeps its scores, a new one has none. 0 or
 * KZ_ENOMEM (s unchanged). */
int kz_scores_remap(kz_scores *s, const kz_engine *to);

/* Stores s: each scored account's health on s->at (replacing that day's
 * score: the daily history) and the model's predictions. */
int kz_scores_store(const kz_scores *s, kz_store *st);

#endif
