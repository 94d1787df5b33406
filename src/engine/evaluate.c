/*
 * evaluate.c - ROC AUC, average precision, lift and calibration
 * (evaluate.h).
 */
#include "engine/evaluate.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"

struct item {
    double score;
    size_t index;
    uint8_t label;
};

/* Highest score first, then index order. */
static int cmp_desc(const void *x, const void *y)
{
    const struct item *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* The items sorted by cmp_desc (malloc'd; caller frees), or NULL. */
static struct item *sorted(const double *score, const uint8_t *label, size_t n)
{
    struct item *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        kz_error_oom();
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (struct item){ score[i], i, label[i] != 0 };
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_desc);
    return v;
}

double kz_eval_roc_auc(const double *score, const uint8_t *label, size_t n)
{
    struct item *v = sorted(score, label, n);
    if (!v)
        return -1;
    /* walking down the scores: each negative is beaten by the positives seen
     * above it, and ties with the positives of its own score group by half */
    double pairs = 0, pos = 0, neg = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double gp = 0, gn = 0;
        while (j < n && v[j].score == v[i].score) {
            gp += v[j].label;
            gn += !v[j].label;
            j++;
        }
        pairs += gn * pos + 0.5 * gn * gp;
        pos += gp;
        neg += gn;
        i = j;
    }
    free(v);
    if (pos == 0 || neg == 0)
        return NAN;
    return pairs / (pos * neg);
}

double kz_eval_pr_auc(const double *score, const uint8_t *label, size_t n)
{
    struct item *v = sorted(score, label, n);
    if (!v)
        return -1;
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i].label;
    double ap = 0, tp = 0, prev_recall = 0;
    for (size_t i = 0; i < n && total > 0;) {
        size_t j = i;
        while (j < n && v[j].score == v[i].score)
            tp += v[j++].label;
        double recall = tp / total, precision = tp / (double)j;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
        i = j;
    }
    free(v);
    return total > 0 ? ap : NAN;
}

double kz_eval_lift(const double *score, const uint8_t *label, size_t n, double fraction)
{
    if (n == 0)
        return NAN;
    struct item *v = sorted(score, label, n);
    if (!v)
        return -1;
    size_t k = (size_t)ceil(fraction * (double)n);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    double top = 0, all = 0;
    for (size_t i = 0; i < n; i++) {
        all += v[i].label;
        if (i < k)
            top += v[i].label;
    }
    free(v);
    if (all == 0)
        return NAN;
    return (top / (double)k) / (all / (double)n);
}

int kz_eval_calibration(kz_calib_bin *bins, int nbins, const double *prob, const uint8_t *label, size_t n)
{
    double *sum = calloc((size_t)nbins, sizeof *sum), *pos = calloc((size_t)nbins, sizeof *pos);
    if (!sum || !pos) {
        free(sum);
        free(pos);
        return kz_error_oom();
    }
    for (int b = 0; b < nbins; b++)
        bins[b] = (kz_calib_bin){ (double)b / nbins, (double)(b + 1) / nbins, 0, NAN, NAN };
    for (size_t i = 0; i < n; i++) {
        double p = prob[i] < 0 ? 0 : prob[i] > 1 ? 1 : prob[i];
        int b = (int)(p * nbins);
        if (b >= nbins)
            b = nbins - 1;
        bins[b].n++;
        sum[b] += p;
        pos[b] += label[i] != 0;
    }
    for (int b = 0; b < nbins; b++) {
        if (bins[b].n) {
            bins[b].mean_pred = sum[b] / (double)bins[b].n;
            bins[b].observed = pos[b] / (double)bins[b].n;
        }
    }
    free(sum);
    free(pos);
    return KZ_OK;
}
