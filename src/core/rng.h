/*
 * rng.h - a seeded pseudo-random generator (xoshiro256**, seeded through
 * splitmix64) and the distributions the demo world draws from.
 *
 * Deterministic: the same seed gives the same sequence on every machine this
 * code builds on (the continuous distributions use libm's exp/log/sqrt/cos,
 * which glibc computes identically for the same inputs). Not for secrets.
 */
#ifndef KZ_CORE_RNG_H
#define KZ_CORE_RNG_H

#include <stdint.h>

typedef struct kz_rng {
    uint64_t s[4];
} kz_rng;

void kz_rng_seed(kz_rng *r, uint64_t seed);

/* A generator for a sub-stream: same parent seed and key, same stream, so that
 * one entity's draws do not shift when another entity draws more. */
void kz_rng_derive(kz_rng *out, uint64_t seed, uint64_t key);

uint64_t kz_rng_u64(kz_rng *r);

/* Uniform in [0, 1). */
double kz_rng_unif(kz_rng *r);

/* Uniform integer in [lo, hi] (hi >= lo). */
int64_t kz_rng_range(kz_rng *r, int64_t lo, int64_t hi);

/* Standard normal. */
double kz_rng_normal(kz_rng *r);

/* Exponential with the given mean. */
double kz_rng_exp(kz_rng *r, double mean);

/* Poisson with mean lambda (>= 0). */
int64_t kz_rng_poisson(kz_rng *r, double lambda);

/* 1 with probability p. */
int kz_rng_bern(kz_rng *r, double p);

/* An index in [0, n) drawn with the given non-negative weights (sum > 0). */
int kz_rng_pick(kz_rng *r, const double *weights, int n);

#endif
