/*
 * evblock_test.c - event column blocks (src/store/evblock.c): round trips of
 * every column and encoding, stable sorting, and damaged blocks that must be
 * refused without a crash.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "store/evblock.h"

static void fill(kz_evcols *c, size_t n, int with_strings, int integral, uint64_t seed)
{
    kz_rng r;
    kz_rng_seed(&r, seed);
    cr_assert_eq(kz_evcols_reserve(c, n), 0);
    kz_time t = INT64_C(1700000000000000);
    for (size_t i = 0; i < n; i++) {
        char id[32], props[64];
        int idn = snprintf(id, sizeof id, "ev-%zu", i);
        int pn = snprintf(props, sizeof props, "{\"i\":%zu}", i);
        t += kz_rng_range(&r, 0, 5000000);
        double v = integral ? (double)kz_rng_range(&r, -1000, 100000) : kz_rng_unif(&r) * 100;
        if (i % 7 == 0)
            v = NAN;
        cr_assert_eq(kz_evcols_append(c, t, (uint32_t)kz_rng_range(&r, 1, 5000), (uint32_t)kz_rng_range(&r, 0, 60000),
                                      (uint32_t)kz_rng_range(&r, 1, 21), v, with_strings && i % 3 ? id : NULL,
                                      with_strings && i % 3 ? (size_t)idn : 0, with_strings && i % 5 == 0 ? props : NULL,
                                      with_strings && i % 5 == 0 ? (size_t)pn : 0),
                     0);
    }
}

static void same(const kz_evcols *a, size_t ai, const kz_evcols *b, size_t bi)
{
    size_t na, nb;
    cr_assert_eq(a->ts[ai], b->ts[bi]);
    cr_assert_eq(a->account[ai], b->account[bi]);
    cr_assert_eq(a->user[ai], b->user[bi]);
    cr_assert_eq(a->event[ai], b->event[bi]);
    if (isnan(a->value[ai]))
        cr_assert(isnan(b->value[bi]));
    else
        cr_assert_eq(a->value[ai], b->value[bi]);
    const char *sa = kz_strcol_get(&a->event_id, ai, &na), *sb = kz_strcol_get(&b->event_id, bi, &nb);
    cr_assert_eq(na, nb);
    cr_assert(na == 0 || memcmp(sa, sb, na) == 0);
    sa = kz_strcol_get(&a->props, ai, &na);
    sb = kz_strcol_get(&b->props, bi, &nb);
    cr_assert_eq(na, nb);
    cr_assert(na == 0 || memcmp(sa, sb, na) == 0);
}

static void round_trip(int with_strings, int integral)
{
    kz_evcols c, d;
    kz_buf b;
    memset(&c, 0, sizeof c);
    memset(&d, 0, sizeof d);
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    fill(&c, 50000, with_strings, integral, 7);
    cr_assert_eq(kz_evblock_encode(&c, &b, 1), 0);
    cr_assert_eq(kz_evblock_decode(&d, b.data, b.len), 0, "%s", kz_error_msg());
    cr_assert_eq(d.n, c.n);
    for (size_t i = 0; i < c.n; i++)
        same(&c, i, &d, i);
    /* decoding appends: a second copy follows the first */
    cr_assert_eq(kz_evblock_decode(&d, b.data, b.len), 0);
    cr_assert_eq(d.n, 2 * c.n);
    same(&c, 123, &d, c.n + 123);
    kz_evcols_free(&c);
    kz_evcols_free(&d);
    kz_buf_free(&b);
}

Test(evblock, round_trip_integral_values)
{
    round_trip(0, 1);
}

Test(evblock, round_trip_fractional_values_and_text_columns)
{
    round_trip(1, 0);
}

Test(evblock, blocks_with_and_without_text_columns_decode_into_one)
{
    kz_evcols a, b, all;
    kz_buf x, y;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&all, 0, sizeof all);
    kz_buf_init(&x, KZ_BUF_UNLIMITED);
    kz_buf_init(&y, KZ_BUF_UNLIMITED);
    fill(&a, 1000, 0, 1, 1);
    fill(&b, 1000, 1, 1, 2);
    cr_assert_eq(kz_evblock_encode(&a, &x, 1), 0);
    cr_assert_eq(kz_evblock_encode(&b, &y, 1), 0);
    cr_assert_eq(kz_evblock_decode(&all, x.data, x.len), 0);
    cr_assert_eq(kz_evblock_decode(&all, y.data, y.len), 0);
    cr_assert_eq(kz_evblock_decode(&all, x.data, x.len), 0);
    for (size_t i = 0; i < 1000; i++) {
        same(&a, i, &all, i);
        same(&b, i, &all, 1000 + i);
        same(&a, i, &all, 2000 + i);
    }
    kz_evcols_free(&a);
    kz_evcols_free(&b);
    kz_evcols_free(&all);
    kz_buf_free(&x);
    kz_buf_free(&y);
}

Test(evblock, sort_is_by_time_and_stable)
{
    kz_evcols c;
    memset(&c, 0, sizeof c);
    cr_assert_eq(kz_evcols_reserve(&c, 100), 0);
    for (uint32_t i = 0; i < 100; i++) {
        char id[8];
        int n = snprintf(id, sizeof id, "%u", i);
        cr_assert_eq(kz_evcols_append(&c, (kz_time)(i % 10), i, 0, 1, i, id, (size_t)n, NULL, 0), 0);
    }
    cr_assert_eq(kz_evcols_sort(&c), 0);
    for (size_t i = 1; i < 100; i++) {
        cr_assert(c.ts[i - 1] <= c.ts[i]);
        if (c.ts[i - 1] == c.ts[i])
            cr_assert(c.account[i - 1] < c.account[i]); /* input order kept */
        size_t n;
        const char *id = kz_strcol_get(&c.event_id, i, &n);
        char expect[8];
        snprintf(expect, sizeof expect, "%u", c.account[i]);
        cr_assert_eq(n, strlen(expect));
        cr_assert_eq(memcmp(id, expect, n), 0);
    }
    kz_evcols_free(&c);
}

Test(evblock, damaged_blocks_are_errors_not_crashes)
{
    kz_evcols c, d;
    kz_buf b;
    memset(&c, 0, sizeof c);
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    fill(&c, 2000, 1, 0, 3);
    cr_assert_eq(kz_evblock_encode(&c, &b, 1), 0);
    kz_rng r;
    kz_rng_seed(&r, 99);
    int refused = 0;
    for (int trial = 0; trial < 400; trial++) {
        unsigned char *copy = malloc(b.len);
        memcpy(copy, b.data, b.len);
        size_t len = b.len;
        if (trial % 4 == 0)
            len = (size_t)kz_rng_range(&r, 0, (int64_t)b.len - 1); /* truncated */
        else
            for (int k = 0; k < 1 + trial % 5; k++)
                copy[kz_rng_range(&r, 0, (int64_t)b.len - 1)] ^= (unsigned char)(1 + kz_rng_range(&r, 0, 254));
        memset(&d, 0, sizeof d);
        int rc = kz_evblock_decode(&d, copy, len);
        if (rc) {
            cr_assert_eq(rc, KZ_EINVALID, "%s", kz_error_msg());
            refused++;
        }
        kz_evcols_free(&d);
        free(copy);
    }
    cr_assert_eq(refused, 400); /* the checksum catches every change */
    memset(&d, 0, sizeof d);
    cr_assert_eq(kz_evblock_decode(&d, "KZEB", 4), KZ_EINVALID);
    cr_assert_eq(kz_evblock_decode(&d, "nonsense-nonsense", 17), KZ_EINVALID);
    kz_evcols_free(&d);
    kz_evcols_free(&c);
    kz_buf_free(&b);
}

Test(evblock, identity_ignores_nothing_that_matters)
{
    kz_evcols c;
    memset(&c, 0, sizeof c);
    kz_evcols_reserve(&c, 4);
    kz_evcols_append(&c, 1, 2, 3, 4, NAN, NULL, 0, NULL, 0);
    kz_evcols_append(&c, 1, 2, 3, 4, NAN, NULL, 0, NULL, 0);
    kz_evcols_append(&c, 1, 2, 3, 4, 5.0, NULL, 0, NULL, 0);
    kz_evcols_append(&c, 1, 2, 3, 4, NAN, NULL, 0, "{}", 2);
    cr_assert_eq(kz_evcols_identity(&c, 0), kz_evcols_identity(&c, 1));
    cr_assert_neq(kz_evcols_identity(&c, 0), kz_evcols_identity(&c, 2));
    cr_assert_neq(kz_evcols_identity(&c, 0), kz_evcols_identity(&c, 3));
    kz_evcols_free(&c);
}
