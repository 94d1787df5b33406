/*
 * rng.c - xoshiro256** and distributions for rng.h.
 */
#include "core/rng.h"

#include <math.h>

#include "core/hash.h"

static uint64_t splitmix(uint64_t *x)
{
    *x += 0x9e3779b97f4a7c15ULL;
    return kz_mix64(*x);
}

void kz_rng_seed(kz_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&x);
}

void kz_rng_derive(kz_rng *out, uint64_t seed, uint64_t key)
{
    kz_rng_seed(out, kz_mix64(seed ^ kz_mix64(key + 0x632be59bd9b4e019ULL)));
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t kz_rng_u64(kz_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double kz_rng_unif(kz_rng *r)
{
    return (double)(kz_rng_u64(r) >> 11) * 0x1.0p-53;
}

int64_t kz_rng_range(kz_rng *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)(hi - lo) + 1;
    if (span == 0)
        return (int64_t)kz_rng_u64(r);
    /* rejection sampling for an unbiased draw */
    uint64_t limit = UINT64_MAX - UINT64_MAX % span;
    uint64_t x;
    do
        x = kz_rng_u64(r);
    while (x >= limit);
    return lo + (int64_t)(x % span);
}

double kz_rng_normal(kz_rng *r)
{
    /* Box-Muller; one of the pair is discarded to keep the generator stateless */
    double u1 = kz_rng_unif(r);
    double u2 = kz_rng_unif(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double kz_rng_exp(kz_rng *r, double mean)
{
    return -mean * log(1.0 - kz_rng_unif(r));
}

int64_t kz_rng_poisson(kz_rng *r, double lambda)
{
    if (lambda <= 0)
        return 0;
    if (lambda < 30) {
        /* multiplication method */
        double limit = exp(-lambda), p = 1.0;
        int64_t k = 0;
        for (;;) {
            p *= kz_rng_unif(r);
            if (p <= limit)
                return k;
            k++;
        }
    }
    /* normal approximation with continuity correction, adequate for large means */
    double x = floor(lambda + sqrt(lambda) * kz_rng_normal(r) + 0.5);
    return x < 0 ? 0 : (int64_t)x;
}

int kz_rng_bern(kz_rng *r, double p)
{
    return kz_rng_unif(r) < p;
}

int kz_rng_pick(kz_rng *r, const double *weights, int n)
{
    double total = 0;
    for (int i = 0; i < n; i++)
        total += weights[i];
    double x = kz_rng_unif(r) * total;
    for (int i = 0; i < n; i++) {
        if (x < weights[i])
            return i;
        x -= weights[i];
    }
    return n - 1;
}
