/*
 * server.h - the HTTP server: libmicrohttpd with a pool of epoll threads,
 * a route table, limits, an access log, and a stop that lets requests in
 * flight finish.
 */
#ifndef KZ_HTTP_SERVER_H
#define KZ_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

typedef struct kz_server kz_server;

typedef struct kz_server_opts {
    const char *host;       /* an IPv4 address to listen on ("127.0.0.1") */
    uint16_t port;          /* 0: any free port (kz_server_port tells which) */
    unsigned threads;       /* worker threads (default 2) */
    size_t max_body;        /* bytes; a larger body is answered 413 */
    size_t max_header;      /* bytes of a request's header memory */
    unsigned max_connections;
    unsigned timeout_s;     /* an idle or slow connection is closed after this */
    int log_access;         /* 1: one log line per request */
    const char *web_root;   /* a folder whose files GET serves where no route matches (NULL: none) */
    /* Decides who calls: 0 to go on (req->user set, or NULL for anyone), or
     * an HTTP status (401, 403) to refuse with, its message in resp. */
    int (*authorize)(kz_http_req *req, const kz_route *route, kz_http_resp *resp);
    /* Frees what authorize put in req->user, after the handler. */
    void (*release)(kz_http_req *req);
    size_t cache_bytes;     /* answers of KZ_CACHE routes kept (0: none) */
    /* A token of the data's state: a kept answer is reused while it is the
     * same (may be NULL: nothing is kept). */
    uint64_t (*cache_token)(void *app);
    /* The name of who req->user is, for the access log (may be NULL). */
    const char *(*user_name)(const kz_http_req *req);
} kz_server_opts;

void kz_server_opts_init(kz_server_opts *o);

/* What the server counted (for GET /metrics). */
typedef struct kz_server_stats {
    uint64_t requests, by_class[6];    /* by status / 100 */
    uint64_t latency_us[12];           /* counts of requests under 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000 ms, more */
    uint64_t bytes_in, bytes_out;
} kz_server_stats;

/* Starts serving routes; app is handed to every handler (req->app).
 * KZ_EIO with the reason when it cannot listen. Caller stops it with
 * kz_server_stop. */
int kz_server_start(kz_server **out, const kz_server_opts *o, const kz_route *routes, size_t nroutes, void *app);

uint16_t kz_server_port(const kz_server *s);

/* The request counters by route and status class, and the latency histogram
 * by route, in Prometheus text format, appended to b. */
int kz_server_prometheus(kz_server *s, kz_buf *b);
void kz_server_stats_get(kz_server *s, kz_server_stats *out);

/* Stops accepting connections and waits (up to grace_s seconds) for the
 * requests in flight; the server still answers the connections it has. */
void kz_server_quiesce(kz_server *s, unsigned grace_s);

/* kz_server_quiesce, then closes everything and frees the server. */
void kz_server_stop(kz_server *s, unsigned grace_s);

#endif
