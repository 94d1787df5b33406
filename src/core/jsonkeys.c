/*
 * jsonkeys.c - the keys a JSON object may have (jsonkeys.h).
 */
#include "core/jsonkeys.h"

#include <string.h>

const char *kz_json_unknown_key(const cJSON *obj, const char *allowed)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        size_t n = strlen(it->string);
        const char *p = allowed;
        int ok = 0;
        while (*p && !ok) {
            const char *bar = strchr(p, '|');
            size_t len = bar ? (size_t)(bar - p) : strlen(p);
            ok = len == n && memcmp(p, it->string, n) == 0;
            p += len + (bar != NULL);
        }
        if (!ok)
            return it->string;
    }
    return NULL;
}
