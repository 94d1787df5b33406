/*
 * vec.c - growth for vec.h. The array pointer is read and written through memcpy
 * so that one function serves every element type without aliasing games.
 */
#include "core/vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int kz_vec_reserve_(void *slot, size_t *cap, size_t need, size_t elem)
{
    void *old;
    size_t ncap = *cap ? *cap : 16;

    if (need <= *cap)
        return KZ_OK;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (elem && ncap > SIZE_MAX / elem)
        return kz_error_oom();
    memcpy(&old, slot, sizeof old);
    void *p = realloc(old, ncap * elem);
    if (!p)
        return kz_error_oom();
    memcpy(slot, &p, sizeof p);
    *cap = ncap;
    return KZ_OK;
}

void kz_vec_free_(void *slot)
{
    void *p;
    memcpy(&p, slot, sizeof p);
    free(p);
    p = NULL;
    memcpy(slot, &p, sizeof p);
}
