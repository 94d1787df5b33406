/*
 * http.h - requests, responses and routes of the HTTP server (server.c,
 * router.c), independent of what the API does with them (src/api/).
 *
 * A handler gets a request whose method, path, path parameters ({id}),
 * query, headers and body it reads, and fills a response: a status, a content
 * type and a body (usually JSON, written with core/jsonw.h). Everything a
 * request hands out is borrowed for the duration of the handler.
 */
#ifndef KZ_HTTP_HTTP_H
#define KZ_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define KZ_HTTP_MAX_PARAMS 4
#define KZ_HTTP_MAX_HEADERS 8

typedef struct kz_http_req {
    const char *method;
    const char *path;                    /* without the query */
    const char *body;                    /* NUL-terminated copy of the body ("" when none) */
    size_t body_len;
    const char *client;                  /* the peer's address as text */
    const char *param_name[KZ_HTTP_MAX_PARAMS], *param[KZ_HTTP_MAX_PARAMS];
    size_t nparams;
    char param_buf[512];                 /* the parameters' text (longer ones do not match: 404) */
    void *conn;                          /* the server's connection (for queries and headers) */
    void *app;                           /* what the server was started with */
    void *user;                          /* set by authentication, for the handler */
    void *state;                         /* the server's (kz_req_later) */
} kz_http_req;

typedef struct kz_http_resp {
    int status;
    const char *type;                    /* content type (static) */
    kz_buf body;
    const char *header_name[KZ_HTTP_MAX_HEADERS];
    char *header_value[KZ_HTTP_MAX_HEADERS]; /* owned */
    size_t nheaders;
} kz_http_resp;

/* The path parameter called name ({name} in the route), or NULL. */
const char *kz_req_param(const kz_http_req *r, const char *name);

/* The first query argument called name (decoded), or NULL. */
const char *kz_req_query(const kz_http_req *r, const char *name);

/* Every query argument called name, in order, into out (at most max);
 * returns how many there are (may exceed max). */
size_t kz_req_query_all(const kz_http_req *r, const char *name, const char **out, size_t max);

/* A yes/no query argument: 1 for "1", "true", "yes" or an empty value. */
int kz_req_flag(const kz_http_req *r, const char *name);

/* The whole-number query argument name in [lo, hi] into *out (def when
 * absent): 0, or 1 when it is not one (resp then holds the 400 answer,
 * naming the argument). */
int kz_req_int(const kz_http_req *r, kz_http_resp *resp, const char *name, int64_t lo, int64_t hi, int64_t def,
               int64_t *out);

/* The date query argument name (YYYY-MM-DD) into *out (INT32_MIN when
 * absent): 0, or 1 with the 400 answer in resp. */
int kz_req_date(const kz_http_req *r, kz_http_resp *resp, const char *name, int32_t *out);

/* A request header (case-insensitive), or NULL. */
const char *kz_req_header(const kz_http_req *r, const char *name);

/* Adds a response header (value copied). KZ_ENOMEM, or KZ_ETOOBIG past KZ_HTTP_MAX_HEADERS. */
int kz_resp_header(kz_http_resp *resp, const char *name, const char *value);

/* A JSON error answer: {"error": {"status", "message", "field"?}}; field may
 * be NULL. Returns KZ_OK so a handler can `return kz_resp_error(...)`. */
int kz_resp_error(kz_http_resp *resp, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets a JSON body already written to resp->body, with status. */
void kz_resp_json(kz_http_resp *resp, int status);

/* Ends the JSON document w wrote into resp->body (every level closed): a
 * newline, then kz_resp_json with status. 0, or w's error (KZ_EINVALID when
 * a level is left open) or KZ_ENOMEM, and no status set. */
struct kz_jw;
int kz_resp_json_end(kz_http_resp *resp, const struct kz_jw *w, int status);

/* An answer given later, from another thread (a batch of events answered
 * when the writer has stored it): a handler takes one with kz_req_later,
 * returns KZ_OK leaving resp empty, and the server keeps the connection
 * (without holding a thread) until kz_http_later_answer. A handler that
 * then answers at once after all calls kz_http_later_cancel first. */
typedef struct kz_http_later kz_http_later;
kz_http_later *kz_req_later(kz_http_req *req);
void kz_http_later_cancel(kz_http_later *l);
/* Sends resp (its body and headers are taken: resp is left empty); l is
 * spent. Any thread. */
void kz_http_later_answer(kz_http_later *l, kz_http_resp *resp);

/* A handler: fills resp. A non-zero return is an internal error (500, the
 * message logged, not shown). */
typedef int (*kz_http_handler)(kz_http_req *req, kz_http_resp *resp);

/* Who may call a route. */
enum { KZ_ROLE_PUBLIC, KZ_ROLE_VIEWER, KZ_ROLE_SUPPORT, KZ_ROLE_CSM, KZ_ROLE_ADMIN };

typedef struct kz_route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/api/v1/accounts/{id}" */
    kz_http_handler fn;
    int role;            /* the least role that may call it */
    const char *summary; /* for the OpenAPI document */
    int cache;           /* KZ_CACHE: a GET whose answer depends only on the data (the server may reuse it) */
} kz_route;

#define KZ_CACHE 1

/* The route for method and path, its {params} put into req; NULL with
 * *status 404 (no such path) or 405 (the path, not that method). */
const kz_route *kz_route_match(const kz_route *routes, size_t n, const char *method, const char *path,
                               kz_http_req *req, int *status);

#endif
