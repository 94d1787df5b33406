/*
 * server.c - the HTTP server on libmicrohttpd (server.h).
 *
 * A request's first call only sets up its state (answering then would make
 * libmicrohttpd close the connection: keep-alive needs the answer on a later
 * call); the body arrives in pieces, kept up to the limit; the last call
 * routes, authorises and runs the handler, and queues its answer.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/error.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/time.h"
#include "http/cache.h"
#include "http/static.h"

struct kz_server {
    struct MHD_Daemon *d;
    const kz_route *routes;
    size_t nroutes;
    void *app;
    kz_server_opts o;
    uint16_t port;
    pthread_mutex_t mu;
    pthread_cond_t idle;
    size_t inflight;
    kz_server_stats stats;
    struct route_stats *per_route; /* nroutes + 1 (the last: requests no route took) */
    kz_cache *cache;               /* NULL: none */
    pthread_mutex_t later_mu;      /* over the later answers' flags */
    _Atomic int quiesced;          /* no longer accepting connections (accept_policy) */
};

/* What GET /metrics tells of one route. */
struct route_stats {
    uint64_t by_class[6];
    uint64_t buckets[12];
    double seconds;
};

struct state;

struct kz_http_later {
    kz_server *s;
    struct MHD_Connection *c;
    struct state *st;
};

/* One request in flight. */
struct state {
    kz_http_later later;
    int deferred;       /* the handler answers later */
    int suspended;      /* the connection waits for that answer (under later_mu) */
    int answered;       /* the later answer is in `pending` (under later_mu) */
    kz_http_resp pending;
    kz_buf body;
    int too_big;
    double started;
    int status;
    size_t route;       /* index of the route that answered, nroutes when none */
    size_t sent;
    char method[16];
    char path[256];
    char client[64];
    char user[64];      /* who called (empty: nobody logged in) */
};

void kz_server_opts_init(kz_server_opts *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->threads = 2;
    o->max_body = (size_t)32 << 20;
    o->max_header = (size_t)64 << 10;
    o->max_connections = 1024;
    o->timeout_s = 30;
    o->log_access = 1;
}

/* ---- request accessors (http.h) ------------------------------------------------ */

const char *kz_req_query(const kz_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct all_ctx {
    const char *name;
    const char **out;
    size_t max, n;
};

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct all_ctx *c = cls;
    (void)kind;
    if (strcmp(key, c->name) == 0) {
        if (c->n < c->max)
            c->out[c->n] = value ? value : "";
        c->n++;
    }
    return MHD_YES;
}

size_t kz_req_query_all(const kz_http_req *r, const char *name, const char **out, size_t max)
{
    struct all_ctx c = { name, out, max, 0 };
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_arg, &c);
    return c.n;
}

const char *kz_req_header(const kz_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int kz_resp_header(kz_http_resp *resp, const char *name, const char *value)
{
    if (resp->nheaders >= KZ_HTTP_MAX_HEADERS)
        return kz_error_set(KZ_ETOOBIG, "too many response headers");
    char *v = strdup(value);
    if (!v)
        return kz_error_oom();
    resp->header_name[resp->nheaders] = name;
    resp->header_value[resp->nheaders++] = v;
    return KZ_OK;
}

kz_http_later *kz_req_later(kz_http_req *req)
{
    struct state *st = req->state;
    st->deferred = 1;
    return &st->later;
}

void kz_http_later_cancel(kz_http_later *l)
{
    l->st->deferred = 0;
}

void kz_http_later_answer(kz_http_later *l, kz_http_resp *resp)
{
    kz_server *s = l->s;
    struct state *st = l->st;
    pthread_mutex_lock(&s->later_mu);
    st->pending = *resp;
    memset(resp, 0, sizeof *resp);
    st->answered = 1;
    int resume = st->suspended;
    st->suspended = 0;
    if (resume)
        MHD_resume_connection(l->c);
    pthread_mutex_unlock(&s->later_mu);
}

void kz_resp_json(kz_http_resp *resp, int status)
{
    resp->status = status;
    resp->type = "application/json";
}

int kz_resp_json_end(kz_http_resp *resp, const kz_jw *w, int status)
{
    int rc = kz_jw_error(w);
    if (rc || (rc = kz_buf_putc(&resp->body, '\n')))
        return rc;
    kz_resp_json(resp, status);
    return KZ_OK;
}

int kz_resp_error(kz_http_resp *resp, int status, const char *field, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kz_jw w;
    resp->body.len = 0;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "error");
    kz_jw_obj(&w);
    kz_jw_key(&w, "status");
    kz_jw_int(&w, status);
    kz_jw_key(&w, "message");
    kz_jw_str(&w, msg);
    if (field) {
        kz_jw_key(&w, "field");
        kz_jw_str(&w, field);
    }
    kz_jw_end(&w);
    kz_jw_end(&w);
    kz_buf_putc(&resp->body, '\n');
    kz_resp_json(resp, status);
    return KZ_OK;
}

/* ---- the request cycle ---------------------------------------------------------- */

static void client_address(struct MHD_Connection *c, char *buf, size_t n)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, n, "?");
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr, buf,
                  (socklen_t)n);
}

static enum MHD_Result answer(struct MHD_Connection *c, struct state *st, kz_http_resp *resp)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(resp->body.len, (void *)(uintptr_t)(resp->body.data ? resp->body.data : ""),
                                                             MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ok = MHD_NO;
    if (r) {
        int own_cache = 0;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->type ? resp->type : "application/json");
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        for (size_t i = 0; i < resp->nheaders; i++) {
            MHD_add_response_header(r, resp->header_name[i], resp->header_value[i]);
            own_cache |= strcasecmp(resp->header_name[i], "Cache-Control") == 0;
        }
        if (!own_cache)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        ok = MHD_queue_response(c, (unsigned)resp->status, r);
        MHD_destroy_response(r);
    }
    st->status = resp->status;
    st->sent = resp->body.len;
    return ok;
}

static void resp_free(kz_http_resp *resp)
{
    kz_buf_free(&resp->body);
    for (size_t i = 0; i < resp->nheaders; i++)
        free(resp->header_value[i]);
}

struct key_ctx {
    char *out;
    size_t cap, n;
    int ok;
};

static enum MHD_Result each_key_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct key_ctx *k = cls;
    (void)kind;
    int w = snprintf(k->out + k->n, k->cap - k->n, "%c%s=%s", k->n ? '&' : '?', key, value ? value : "");
    if (w < 0 || (size_t)w >= k->cap - k->n) {
        k->ok = 0;
        return MHD_NO;
    }
    k->n += (size_t)w;
    return MHD_YES;
}

/* The cache key of a request: its path and its query arguments in order
 * (0 when too long to keep). */
static int request_key(struct MHD_Connection *c, const char *url, char *out, size_t cap)
{
    int w = snprintf(out, cap, "%s", url);
    if (w < 0 || (size_t)w >= cap)
        return 0;
    struct key_ctx k = { out + w, cap - (size_t)w, 0, 1 };
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, each_key_arg, &k);
    return k.ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    kz_server *s = cls;
    struct state *st = *con_cls;
    (void)version;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        kz_buf_init(&st->body, s->o.max_body + 1);
        st->started = kz_monotonic();
        snprintf(st->method, sizeof st->method, "%s", method);
        snprintf(st->path, sizeof st->path, "%s", url);
        st->route = s->nroutes;
        *con_cls = st;
        pthread_mutex_lock(&s->mu);
        s->inflight++;
        pthread_mutex_unlock(&s->mu);
        return MHD_YES;
    }
    if (st->deferred) {
        /* called again after the later answer resumed the connection */
        pthread_mutex_lock(&s->later_mu);
        int ready = st->answered;
        pthread_mutex_unlock(&s->later_mu);
        if (!ready)
            return MHD_YES;
        enum MHD_Result ok = answer(c, st, &st->pending);
        resp_free(&st->pending);
        memset(&st->pending, 0, sizeof st->pending);
        return ok;
    }
    if (*upload_size) {
        if (!st->too_big && (st->body.len + *upload_size > s->o.max_body ||
                             kz_buf_append(&st->body, upload, *upload_size)))
            st->too_big = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    kz_http_resp resp;
    memset(&resp, 0, sizeof resp);
    kz_buf_init(&resp.body, KZ_BUF_UNLIMITED);
    kz_http_req req;
    memset(&req, 0, sizeof req);
    char client[64];
    client_address(c, client, sizeof client);
    snprintf(st->client, sizeof st->client, "%s", client);
    req.method = method;
    req.path = url;
    req.conn = c;
    req.app = s->app;
    req.state = st;
    st->later = (kz_http_later){ s, c, st };
    req.client = client;
    if (kz_buf_putc(&st->body, '\0') == KZ_OK) {
        req.body = st->body.data;
        req.body_len = st->body.len - 1;
    } else {
        req.body = "";
    }
    int status = 0;
    const kz_route *route = NULL;
    if (st->too_big) {
        kz_resp_error(&resp, 413, NULL, "the body is larger than %zu bytes", s->o.max_body);
    } else if (!(route = kz_route_match(s->routes, s->nroutes, method, url, &req, &status))) {
        int served = 0;
        if (status == 404 && s->o.web_root && strcmp(method, "GET") == 0 && strncmp(url, "/api/", 5) != 0) {
            int src = kz_static_serve(s->o.web_root, url, &resp);
            served = src == KZ_OK;
            if (src && src != KZ_ENOTFOUND)
                KZ_LOG(KZ_LOG_ERROR, "http: static file", "path=\"%s\" reason=\"%s\"", url, kz_error_msg());
            if (!served) {
                resp.body.len = 0;
                for (size_t i = 0; i < resp.nheaders; i++)
                    free(resp.header_value[i]);
                resp.nheaders = 0;
            }
        }
        if (!served)
            kz_resp_error(&resp, status, NULL, status == 404 ? "no such resource: %s" : "%s does not take %s", url,
                          method);
    } else if ((st->route = (size_t)(route - s->routes)), s->o.authorize && (status = s->o.authorize(&req, route, &resp)) != 0) {
        if (!resp.body.len)
            kz_resp_error(&resp, status, NULL, status == 401 ? "log in first" : "not allowed");
    } else {
        /* a kept answer of the same data, or a new one (kept when it may be) */
        char key[2048];
        uint64_t token = 0;
        int cacheable = s->cache && route->cache && strcmp(method, "GET") == 0 && request_key(c, url, key, sizeof key);
        if (cacheable)
            token = s->o.cache_token(s->app);
        kz_time made_at = 0;
        if (!(cacheable && kz_cache_get(s->cache, key, token, &resp, &made_at))) {
            made_at = kz_now();
            int hrc = route->fn(&req, &resp);
            if (hrc == KZ_OK && st->deferred) {
                /* the answer comes later: keep the connection, free the thread */
                if (req.user && s->o.user_name)
                    snprintf(st->user, sizeof st->user, "%s", s->o.user_name(&req));
                if (s->o.release && req.user)
                    s->o.release(&req);
                pthread_mutex_lock(&s->later_mu);
                if (!st->answered) {
                    st->suspended = 1;
                    MHD_suspend_connection(c);
                    pthread_mutex_unlock(&s->later_mu);
                    resp_free(&resp);
                    return MHD_YES;
                }
                pthread_mutex_unlock(&s->later_mu);
                /* already answered: send it now */
                enum MHD_Result ok = answer(c, st, &st->pending);
                resp_free(&st->pending);
                memset(&st->pending, 0, sizeof st->pending);
                resp_free(&resp);
                return ok;
            }
            if (hrc != KZ_OK || resp.status == 0) {
                KZ_LOG(KZ_LOG_ERROR, "http: handler failed", "method=%s path=%s reason=\"%s\"", method, url,
                       kz_error_msg());
                for (size_t i = 0; i < resp.nheaders; i++)
                    free(resp.header_value[i]);
                resp.nheaders = 0;
                kz_resp_error(&resp, 500, NULL, "internal error");
            } else if (cacheable) {
                kz_cache_put(s->cache, key, token, &resp, made_at);
            }
        }
        /* an answer computed from the data says when (kept ones: when they were made) */
        if (route->cache && resp.status == 200 && strcmp(method, "GET") == 0) {
            char at[KZ_TIME_BUF];
            kz_format_time(at, made_at);
            if (kz_resp_header(&resp, "X-Kizuna-Computed-At", at))
                KZ_LOG(KZ_LOG_WARN, "http: no X-Kizuna-Computed-At", "path=%s", url);
        }
    }
    if (req.user && s->o.user_name)
        snprintf(st->user, sizeof st->user, "%s", s->o.user_name(&req));
    if (s->o.release && req.user)
        s->o.release(&req);
    enum MHD_Result ok = answer(c, st, &resp);
    resp_free(&resp);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    kz_server *s = cls;
    struct state *st = *con_cls;
    (void)c;
    if (!st)
        return;
    double ms = (kz_monotonic() - st->started) * 1000;
    static const double bounds[11] = { 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000 };
    int b = 0;
    while (b < 11 && ms > bounds[b])
        b++;
    pthread_mutex_lock(&s->mu);
    s->stats.requests++;
    s->stats.by_class[st->status / 100 < 6 ? st->status / 100 : 0]++;
    s->stats.latency_us[b]++;
    struct route_stats *rs = &s->per_route[st->route <= s->nroutes ? st->route : s->nroutes];
    rs->by_class[st->status / 100 < 6 ? st->status / 100 : 0]++;
    rs->buckets[b]++;
    rs->seconds += ms / 1000;
    s->stats.bytes_in += st->body.len;
    s->stats.bytes_out += st->sent;
    s->inflight--;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
    if (s->o.log_access && kz_log_enabled(KZ_LOG_INFO)) {
        /* the path and the user quoted (JSON escapes), so that a line always parses */
        kz_buf q, u;
        kz_buf_init(&q, 1024);
        kz_buf_init(&u, 256);
        kz_json_quote(&q, st->path, strlen(st->path));
        kz_json_quote(&u, st->user, strlen(st->user));
        KZ_LOG(KZ_LOG_INFO, "http", "method=%s path=%s status=%d ms=%.3f bytes=%zu client=%s user=%s%s", st->method,
               kz_buf_cstr(&q), st->status, ms, st->sent, st->client, kz_buf_cstr(&u),
               toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
        kz_buf_free(&q);
        kz_buf_free(&u);
    }
    kz_buf_free(&st->body);
    free(st);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    KZ_LOG(KZ_LOG_WARN, "http: libmicrohttpd", "reason=\"%s\"", msg);
}


/* New connections are taken until the server is quiesced. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
    kz_server *s = cls;
    (void)addr;
    (void)len;
    return atomic_load(&s->quiesced) ? MHD_NO : MHD_YES;
}

int kz_server_start(kz_server **out, const kz_server_opts *o, const kz_route *routes, size_t nroutes, void *app)
{
    kz_server *s = calloc(1, sizeof *s);
    struct sockaddr_in addr;
    *out = NULL;
    if (!s)
        return kz_error_oom();
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(o->port);
    if (inet_pton(AF_INET, o->host, &addr.sin_addr) != 1) {
        free(s);
        return kz_error_set(KZ_EINVALID, "'%s' is not an IPv4 address to listen on", o->host);
    }
    s->o = *o;
    s->routes = routes;
    s->nroutes = nroutes;
    s->per_route = calloc(nroutes + 1, sizeof *s->per_route);
    if (!s->per_route || (o->cache_bytes && o->cache_token && kz_cache_new(&s->cache, o->cache_bytes))) {
        free(s->per_route);
        free(s);
        return kz_error_oom();
    }
    s->app = app;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->later_mu, NULL);
    pthread_cond_init(&s->idle, NULL);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                                MHD_ALLOW_SUSPEND_RESUME, 0,
                            accept_policy, s, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                            MHD_OPTION_THREAD_POOL_SIZE, o->threads ? o->threads : 1, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
                            MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                            o->max_header, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (!s->d) {
        pthread_mutex_destroy(&s->mu);
        pthread_mutex_destroy(&s->later_mu);
        pthread_cond_destroy(&s->idle);
        kz_cache_free(s->cache);
        free(s->per_route);
        free(s);
        return kz_error_set(KZ_EIO, "cannot listen on %s:%u (in use, or not allowed)", o->host, (unsigned)o->port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    *out = s;
    return KZ_OK;
}

uint16_t kz_server_port(const kz_server *s)
{
    return s->port;
}

int kz_server_prometheus(kz_server *s, kz_buf *b)
{
    static const char *const le[12] = { "0.0005", "0.001", "0.002", "0.005", "0.01", "0.025",
                                        "0.05",   "0.1",   "0.25",  "0.5",   "1",    "+Inf" };
    size_t n = s->nroutes + 1;
    struct route_stats *copy = malloc(n * sizeof *copy);
    if (!copy)
        return kz_error_oom();
    pthread_mutex_lock(&s->mu);
    memcpy(copy, s->per_route, n * sizeof *copy);
    pthread_mutex_unlock(&s->mu);
    int rc = kz_buf_puts(b, "# HELP kizuna_http_requests_total Requests answered, by route and status class.\n"
                            "# TYPE kizuna_http_requests_total counter\n");
    for (size_t r = 0; r < n && !rc; r++)
        for (int c = 1; c < 6 && !rc; c++)
            if (copy[r].by_class[c])
                rc = kz_buf_printf(b, "kizuna_http_requests_total{route=\"%s%s%s\",code=\"%dxx\"} %llu\n",
                                   r < s->nroutes ? s->routes[r].method : "", r < s->nroutes ? " " : "",
                                   r < s->nroutes ? s->routes[r].pattern : "unmatched", c,
                                   (unsigned long long)copy[r].by_class[c]);
    if (!rc)
        rc = kz_buf_puts(b, "# HELP kizuna_http_request_duration_seconds Time to answer a request, by route.\n"
                            "# TYPE kizuna_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < n && !rc; r++) {
        uint64_t cum = 0;
        for (int i = 0; i < 12; i++)
            cum += copy[r].buckets[i];
        if (!cum)
            continue;
        char route[320];
        snprintf(route, sizeof route, "%s%s%s", r < s->nroutes ? s->routes[r].method : "", r < s->nroutes ? " " : "",
                 r < s->nroutes ? s->routes[r].pattern : "unmatched");
        uint64_t total = cum;
        cum = 0;
        for (int i = 0; i < 12 && !rc; i++) {
            cum += copy[r].buckets[i];
            rc = kz_buf_printf(b, "kizuna_http_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"} %llu\n", route,
                               le[i], (unsigned long long)cum);
        }
        if (!rc)
            rc = kz_buf_printf(b,
                               "kizuna_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                               "kizuna_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                               route, copy[r].seconds, route, (unsigned long long)total);
    }
    free(copy);
    if (!rc && s->cache) {
        uint64_t hits, misses;
        size_t bytes, entries;
        kz_cache_stats(s->cache, &hits, &misses, &bytes, &entries);
        rc = kz_buf_printf(b,
                           "# HELP kizuna_http_cache_hits_total Answers reused while the data was unchanged.\n"
                           "# TYPE kizuna_http_cache_hits_total counter\n"
                           "kizuna_http_cache_hits_total %llu\n"
                           "# HELP kizuna_http_cache_misses_total Answers made afresh.\n"
                           "# TYPE kizuna_http_cache_misses_total counter\n"
                           "kizuna_http_cache_misses_total %llu\n"
                           "# HELP kizuna_http_cache_bytes Bytes of the answers kept.\n"
                           "# TYPE kizuna_http_cache_bytes gauge\n"
                           "kizuna_http_cache_bytes %zu\n",
                           (unsigned long long)hits, (unsigned long long)misses, bytes);
        (void)entries;
    }
    return rc;
}

void kz_server_stats_get(kz_server *s, kz_server_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

void kz_server_quiesce(kz_server *s, unsigned grace_s)
{
    /* no new connections: refused by the accept policy. MHD_quiesce_daemon is
     * not used: with a thread pool on epoll, each worker takes the listening
     * socket out of its epoll set when it sees the daemon quiesced, racing the
     * caller's own removal, and the loser aborts the process ("Failed to
     * remove listen FD from epoll set", libmicrohttpd 0.9.75). */
    atomic_store(&s->quiesced, 1);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += grace_s;
    pthread_mutex_lock(&s->mu);
    while (s->inflight > 0 && pthread_cond_timedwait(&s->idle, &s->mu, &until) == 0)
        ;
    pthread_mutex_unlock(&s->mu);
}

void kz_server_stop(kz_server *s, unsigned grace_s)
{
    if (!s)
        return;
    kz_server_quiesce(s, grace_s);
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->later_mu);
    pthread_cond_destroy(&s->idle);
    kz_cache_free(s->cache);
    free(s->per_route);
    free(s);
}
