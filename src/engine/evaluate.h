/*
 * evaluate.h - how well a score foresees a binary outcome (churn): ROC AUC,
 * PR AUC (average precision), lift of the top fraction and a calibration
 * table. Pure functions over arrays; used by the health backtest and the
 * churn model evaluation. Ties of scores are handled the way scikit-learn
 * does, so figures can be compared with an analyst's notebook.
 */
#ifndef KZ_ENGINE_EVALUATE_H
#define KZ_ENGINE_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

/* The area under the ROC curve of score against label (1 positive, 0
 * negative): the probability that a random positive scores above a random
 * negative, ties counting one half. NaN when a class is missing; -1 when out
 * of memory (kz_error_msg says so). */
double kz_eval_roc_auc(const double *score, const uint8_t *label, size_t n);

/* Average precision: Σ (R_k − R_{k−1}) P_k over the distinct score
 * thresholds, highest first (tied scores form one threshold). NaN without
 * positives; -1 when out of memory. */
double kz_eval_pr_auc(const double *score, const uint8_t *label, size_t n);

/* The positive rate among the ceil(fraction × n) highest scores, over the
 * positive rate of all; ties at the cut are taken in index order. NaN
 * without positives or when n is 0; -1 when out of memory. */
double kz_eval_lift(const double *score, const uint8_t *label, size_t n, double fraction);

/* One bin of a calibration table. */
typedef struct kz_calib_bin {
    double lo, hi;      /* predicted probabilities in [lo, hi) ([lo, hi] for the last) */
    size_t n;           /* predictions in the bin */
    double mean_pred;   /* their mean predicted probability (NaN when n is 0) */
    double observed;    /* the share of them that were positive (NaN when n is 0) */
} kz_calib_bin;

/* Fills bins[0..nbins-1] (nbins >= 1) with equal-width bins of [0, 1];
 * probabilities outside it are clamped. KZ_OK or KZ_ENOMEM. */
int kz_eval_calibration(kz_calib_bin *bins, int nbins, const double *prob, const uint8_t *label, size_t n);

#endif
