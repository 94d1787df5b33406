/*
 * router.c - matching a request to a route of a table (http.h).
 *
 * A pattern is literal segments and {name} segments; a {name} matches one
 * non-empty segment, which becomes a parameter of the request. The first
 * route that matches both path and method wins.
 */
#include <string.h>

#include "core/error.h"
#include "core/text.h"
#include "core/time.h"

#include "http/http.h"

/* Matches path against pattern, filling req's params; 1 on a match. */
static int match(const char *pattern, const char *path, kz_http_req *req)
{
    char *scratch = req->param_buf;
    size_t cap = sizeof req->param_buf;
    const char *p = pattern, *s = path;
    size_t used = 0, np = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *end = strchr(s, '/');
            size_t len = end ? (size_t)(end - s) : strlen(s);
            if (!close || len == 0 || np >= KZ_HTTP_MAX_PARAMS || used + len + 1 > cap)
                return 0;
            memcpy(scratch + used, s, len);
            scratch[used + len] = '\0';
            req->param[np] = scratch + used;
            req->param_name[np] = p + 1; /* up to the '}' : compared with its length below */
            np++;
            used += len + 1;
            p = close + 1;
            s += len;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    if (*p || *s)
        return 0;
    req->nparams = np;
    return 1;
}

const kz_route *kz_route_match(const kz_route *routes, size_t n, const char *method, const char *path,
                               kz_http_req *req, int *status)
{
    int path_found = 0;
    for (size_t i = 0; i < n; i++) {
        if (!match(routes[i].pattern, path, req))
            continue;
        path_found = 1;
        if (strcmp(routes[i].method, method) == 0)
            return &routes[i];
    }
    req->nparams = 0;
    *status = path_found ? 405 : 404;
    return NULL;
}

const char *kz_req_param(const kz_http_req *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->nparams; i++)
        if (strncmp(r->param_name[i], name, n) == 0 && r->param_name[i][n] == '}')
            return r->param[i];
    return NULL;
}

int kz_req_flag(const kz_http_req *r, const char *name)
{
    const char *v = kz_req_query(r, name);
    return v && (!*v || strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
}

int kz_req_int(const kz_http_req *r, kz_http_resp *resp, const char *name, int64_t lo, int64_t hi, int64_t def,
               int64_t *out)
{
    const char *v = kz_req_query(r, name);
    *out = def;
    if (!v)
        return 0;
    if (kz_parse_int(out, v, strlen(v), lo, hi)) {
        kz_resp_error(resp, 400, name, "%s: a whole number from %lld to %lld", name, (long long)lo, (long long)hi);
        return 1;
    }
    return 0;
}

int kz_req_date(const kz_http_req *r, kz_http_resp *resp, const char *name, int32_t *out)
{
    const char *v = kz_req_query(r, name);
    kz_day d;
    *out = INT32_MIN;
    if (!v)
        return 0;
    if (kz_parse_date(&d, v, strlen(v))) {
        kz_resp_error(resp, 400, name, "%s: %s", name, kz_error_msg());
        return 1;
    }
    *out = d;
    return 0;
}
