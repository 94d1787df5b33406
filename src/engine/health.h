/*
 * health.h - account health scores 0-100 from a definition that is data
 * (docs/health.md): segments of accounts, each with its factors; a factor
 * turns a measure (a signal of signals.h, or a numeric custom field) into
 * points (0-1) through a curve (linear between two values, steps, or the
 * percentile within the segment), and weighs them. The score is the weighted
 * share of the points, the band green / yellow / red by two thresholds.
 *
 * The definition is JSON (the dashboard will edit it); every mistake in it is
 * reported with its place ("segments[0].factors[2].curve: ...").
 */
#ifndef KZ_ENGINE_HEALTH_H
#define KZ_ENGINE_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "engine/engine.h"
#include "engine/segment.h"

typedef struct kz_health_def kz_health_def;

/* The definition Kizuna uses until another is given (JSON). */
const char *kz_health_default_json(void);

/* Parses and checks a definition; origin names it in messages. Caller frees
 * with kz_health_def_free. KZ_EINVALID with the place and the reason. */
int kz_health_def_parse(kz_health_def **out, const char *json, size_t n, const char *origin);
void kz_health_def_free(kz_health_def *d);

/* The definition as JSON, normalised (what a version stores). */
int kz_health_def_json(const kz_health_def *d, kz_buf *out);

size_t kz_health_segments(const kz_health_def *d);
const char *kz_health_segment_name(const kz_health_def *d, size_t s);
/* The filters of segment s ("plan=enterprise"; none: every account left). */
const char *const *kz_health_segment_filters(const kz_health_def *d, size_t s, size_t *n);
size_t kz_health_factors(const kz_health_def *d, size_t s);
const char *kz_health_factor_name(const kz_health_def *d, size_t s, size_t f);
/* The signal a factor measures (signals.h), or -1 for a custom field. */
int kz_health_factor_signal(const kz_health_def *d, size_t s, size_t f);
double kz_health_factor_weight(const kz_health_def *d, size_t s, size_t f);
void kz_health_set_factor_weight(kz_health_def *d, size_t s, size_t f, double w);
double kz_health_band_green(const kz_health_def *d);
double kz_health_band_yellow(const kz_health_def *d);

enum { KZ_BAND_RED, KZ_BAND_YELLOW, KZ_BAND_GREEN };
const char *kz_health_band_name(int band);

/* One factor of one account's score. */
typedef struct kz_health_part {
    double value;   /* the measure; NaN when it has none */
    double points;  /* 0..1 after the curve */
    double weight;  /* the factor's share of 100 */
    double score;   /* points × weight: what it adds to the score */
} kz_health_part;

/* The scores of every account at one date. */
typedef struct kz_health_scores {
    size_t naccounts, width;  /* width: parts per account (the most factors of a segment) */
    double *score;            /* per account; NaN when not scored (not paying, or left out) */
    uint8_t *band;
    int *segment;             /* -1 when not scored */
    kz_health_part *part;     /* naccounts × width */
    double *signals;          /* naccounts × KZ_NSIGNALS: the signals the scores came from */
} kz_health_scores;

/* Scores every account paying on the observation date of o (and within
 * o->mask) by definition d. masks[s] (may be NULL: everyone) selects the
 * accounts of segment s, usually kz_segments_build with the segment's
 * filters; an account takes the first segment that holds it. attrs gives
 * custom fields (may be NULL when no factor uses one). Caller frees with
 * kz_health_scores_free. */
int kz_health_compute(kz_health_scores **out, const kz_health_def *d, const uint8_t *const *masks,
                      const kz_engine *e, const kz_metric_opts *o, const kz_attrs *attrs);
void kz_health_scores_free(kz_health_scores *h);

/* Factor f of the account's segment in words: its measure as a sentence
 * (signals.h) or the field and its value; appended to out. */
int kz_health_describe(kz_buf *out, const kz_health_def *d, const kz_health_scores *h, uint32_t a, size_t f);

#endif
