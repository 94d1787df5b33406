/*
 * vec.h - typed growable arrays.
 *
 *   KZ_VEC(int64_t) v = {0};
 *   if (kz_vec_push(&v, 42)) goto done;   // KZ_ENOMEM on failure, v unchanged
 *   ... v.v[i] for i < v.n ...
 *   kz_vec_free(&v);
 *
 * The element storage is owned by the vector and freed with kz_vec_free().
 */
#ifndef KZ_CORE_VEC_H
#define KZ_CORE_VEC_H

#include <stddef.h>

#include "core/error.h"

#define KZ_VEC(T)       \
    struct {            \
        T *v;           \
        size_t n, cap;  \
    }

/* Grows the array whose pointer is stored at *slot (a T **, passed as void *) to
 * hold at least need elements of elem bytes. 0 or KZ_ENOMEM (old array kept). */
int kz_vec_reserve_(void *slot, size_t *cap, size_t need, size_t elem);

#define kz_vec_reserve(vec, need)                                                   \
    ((need) <= (vec)->cap ? 0                                                       \
                          : kz_vec_reserve_(&(vec)->v, &(vec)->cap, (need), sizeof *(vec)->v))

#define kz_vec_push(vec, x) \
    (kz_vec_reserve((vec), (vec)->n + 1) ? KZ_ENOMEM : ((vec)->v[(vec)->n++] = (x), 0))

#define kz_vec_free(vec)          \
    do {                          \
        kz_vec_free_(&(vec)->v);  \
        (vec)->n = (vec)->cap = 0; \
    } while (0)

void kz_vec_free_(void *slot);

#endif
