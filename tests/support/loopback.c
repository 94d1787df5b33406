/*
 * loopback.c (tests) - the SMTP and HTTP loopback servers of loopback.h.
 *
 * Both share one skeleton: a listening socket on 127.0.0.1:0, a thread that
 * accepts and serves one connection at a time, and a pipe that wakes the
 * thread to stop it (every wait on the network also watches the pipe, so
 * stopping never hangs on a silent client). What they record is kept under
 * one mutex, with a condition variable for the _wait functions.
 */
#include "loopback.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONN_MAX ((size_t)64 << 20) /* one connection's input */

/* ---- the shared skeleton ------------------------------------------------------ */

struct conn {
    int fd, wake;
    char *buf;
    size_t len, off, cap;
};

struct srv {
    int fd, port;
    int wake[2];
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void (*serve)(struct srv *, struct conn *);
};

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    for (;;) {
        struct pollfd p[2] = { { s->fd, POLLIN, 0 }, { s->wake[0], POLLIN, 0 } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0)
            continue;
        struct conn c = { fd, s->wake[0], NULL, 0, 0, 0 };
        s->serve(s, &c);
        close(fd);
        free(c.buf);
    }
    return NULL;
}

static void srv_start(struct srv *s, void (*serve)(struct srv *, struct conn *))
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    s->serve = serve;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(s->fd >= 0, "socket: %s", strerror(errno));
    cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(s->fd, 16), 0, "listen: %s", strerror(errno));
    cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    cr_assert_eq(pipe(s->wake), 0);
    cr_assert_eq(pthread_mutex_init(&s->mu, NULL), 0);
    cr_assert_eq(pthread_cond_init(&s->cv, NULL), 0);
    cr_assert_eq(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
    ssize_t w;
    do
        w = write(s->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(s->th, NULL);
    close(s->fd);
    close(s->wake[0]);
    close(s->wake[1]);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

/* Waits until *count (read under the mutex) reaches want, or the time is up. */
static int srv_wait(struct srv *s, const int *count, int want, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    while (*count < want && rc == 0)
        rc = pthread_cond_timedwait(&s->cv, &s->mu, &until);
    int ok = *count >= want;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

/* Reads more input; 0 at the end of the stream, on an error, past
 * CONN_MAX or when the server stops. */
static int conn_fill(struct conn *c)
{
    if (c->off > 0) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    if (c->len + 4096 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8192;
        if (cap > CONN_MAX)
            return 0;
        char *b = realloc(c->buf, cap);
        if (!b)
            return 0;
        c->buf = b;
        c->cap = cap;
    }
    for (;;) {
        struct pollfd p[2] = { { c->fd, POLLIN, 0 }, { c->wake, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 0;
        }
        if (p[1].revents)
            return 0;
        ssize_t got = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        c->len += (size_t)got;
        return 1;
    }
}

/* The next line without its CRLF (or LF), NUL-terminated in the buffer,
 * valid until the next read; NULL at the end. */
static char *conn_line(struct conn *c, size_t *n)
{
    for (;;) {
        char *nl = c->len > c->off ? memchr(c->buf + c->off, '\n', c->len - c->off) : NULL;
        if (nl) {
            char *line = c->buf + c->off;
            size_t k = (size_t)(nl - line);
            c->off += k + 1;
            if (k > 0 && line[k - 1] == '\r')
                k--;
            line[k] = '\0';
            *n = k;
            return line;
        }
        if (!conn_fill(c))
            return NULL;
    }
}

static int conn_send(struct conn *c, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        s += w;
        n -= (size_t)w;
    }
    return 1;
}

/* A growable string for the servers (they cannot fail a test from their thread). */
struct str {
    char *p;
    size_t n, cap;
};

static int str_add(struct str *s, const char *p, size_t n)
{
    if (s->n + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->n + n + 1)
            cap *= 2;
        char *b = realloc(s->p, cap);
        if (!b)
            return 0;
        s->p = b;
        s->cap = cap;
    }
    memcpy(s->p + s->n, p, n);
    s->n += n;
    s->p[s->n] = '\0';
    return 1;
}

/* v (of *cap elements, n used) with room for one more: v itself, a larger
 * copy, or NULL when out of memory (v is then kept). */
static void *grow(void *v, size_t size, int *cap, int n)
{
    if (n < *cap)
        return v;
    int ncap = *cap * 2 + 4;
    void *p = realloc(v, size * (size_t)ncap);
    if (p)
        *cap = ncap;
    return p;
}

static char *dup_or_null(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s)
        cr_assert_not_null(d);
    return d;
}

/* ---- SMTP ---------------------------------------------------------------------- */

struct mail {
    char *data, *rcpt, *from;
};

struct kt_smtp {
    struct srv srv;
    struct mail *m;
    int n, cap;
    int fail;
};

static int verb(const char *line, const char *v)
{
    size_t k = strlen(v);
    return strncasecmp(line, v, k) == 0 && (line[k] == '\0' || line[k] == ' ' || line[k] == ':');
}

/* The address of "MAIL FROM:<a>" or "RCPT TO:<a> PARAMS": between the
 * brackets (or up to a space). Points into line, which it cuts. */
static char *path_arg(char *line)
{
    char *p = strchr(line, ':');
    if (!p)
        return NULL;
    p++;
    while (*p == ' ')
        p++;
    if (*p == '<') {
        char *e = strchr(++p, '>');
        if (!e)
            return NULL;
        *e = '\0';
    } else {
        p[strcspn(p, " ")] = '\0';
    }
    return p;
}

static void smtp_serve(struct srv *srv, struct conn *c)
{
    kt_smtp *s = (kt_smtp *)srv;
    struct str from = { 0 }, rcpt = { 0 }, data = { 0 };
    char *line;
    size_t n;
    if (!conn_send(c, "220 loopback ESMTP kizuna-test\r\n"))
        goto done;
    while ((line = conn_line(c, &n))) {
        const char *reply = "250 OK\r\n";
        if (verb(line, "EHLO")) {
            reply = "250-loopback\r\n250-8BITMIME\r\n250 SIZE 67108864\r\n";
        } else if (verb(line, "HELO")) {
            reply = "250 loopback\r\n";
        } else if (verb(line, "MAIL")) {
            char *a = path_arg(line);
            from.n = rcpt.n = 0;
            if (!a || !str_add(&from, a, strlen(a)))
                reply = "501 bad path\r\n";
        } else if (verb(line, "RCPT")) {
            char *a = path_arg(line);
            if (!a || (rcpt.n && !str_add(&rcpt, ",", 1)) || !str_add(&rcpt, a, strlen(a)))
                reply = "501 bad path\r\n";
        } else if (verb(line, "DATA")) {
            if (rcpt.n == 0) {
                reply = "503 no recipients\r\n";
            } else {
                int ended = 0;
                struct mail *more;
                if (!conn_send(c, "354 end with <CRLF>.<CRLF>\r\n"))
                    goto done;
                data.n = 0;
                if (!str_add(&data, "", 0))
                    goto done;
                while ((line = conn_line(c, &n))) {
                    if (n == 1 && line[0] == '.') {
                        ended = 1;
                        break;
                    }
                    const char *p = line[0] == '.' ? line + 1 : line; /* undo dot-stuffing */
                    if (!str_add(&data, p, n - (size_t)(p - line)) || !str_add(&data, "\r\n", 2))
                        goto done;
                }
                if (!ended)
                    goto done;
                pthread_mutex_lock(&srv->mu);
                if (s->fail > 0) {
                    s->fail--;
                    reply = "451 4.3.0 try again later\r\n";
                } else if (!(more = grow(s->m, sizeof *s->m, &s->cap, s->n))) {
                    reply = "452 out of memory\r\n";
                } else {
                    s->m = more;
                    struct mail *m = &s->m[s->n];
                    m->data = strdup(data.p);
                    m->rcpt = strdup(rcpt.p);
                    m->from = strdup(from.p ? from.p : "");
                    if (m->data && m->rcpt && m->from) {
                        s->n++;
                        pthread_cond_broadcast(&srv->cv);
                    } else {
                        free(m->data);
                        free(m->rcpt);
                        free(m->from);
                        reply = "452 out of memory\r\n";
                    }
                }
                pthread_mutex_unlock(&srv->mu);
                from.n = rcpt.n = 0;
            }
        } else if (verb(line, "RSET")) {
            from.n = rcpt.n = 0;
        } else if (verb(line, "NOOP")) {
            /* 250 */
        } else if (verb(line, "QUIT")) {
            conn_send(c, "221 bye\r\n");
            goto done;
        } else {
            reply = "502 command not implemented\r\n";
        }
        if (!conn_send(c, reply))
            goto done;
    }
done:
    free(from.p);
    free(rcpt.p);
    free(data.p);
}

kt_smtp *kt_smtp_start(void)
{
    kt_smtp *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    srv_start(&s->srv, smtp_serve);
    return s;
}

int kt_smtp_port(kt_smtp *s)
{
    return s->srv.port;
}

void kt_smtp_stop(kt_smtp *s)
{
    if (!s)
        return;
    srv_stop(&s->srv);
    for (int i = 0; i < s->n; i++) {
        free(s->m[i].data);
        free(s->m[i].rcpt);
        free(s->m[i].from);
    }
    free(s->m);
    free(s);
}

int kt_smtp_count(kt_smtp *s)
{
    pthread_mutex_lock(&s->srv.mu);
    int n = s->n;
    pthread_mutex_unlock(&s->srv.mu);
    return n;
}

static char *smtp_field(kt_smtp *s, int i, int which)
{
    char *r = NULL;
    pthread_mutex_lock(&s->srv.mu);
    if (i >= 0 && i < s->n)
        r = dup_or_null(which == 0 ? s->m[i].data : which == 1 ? s->m[i].rcpt : s->m[i].from);
    pthread_mutex_unlock(&s->srv.mu);
    return r;
}

char *kt_smtp_message(kt_smtp *s, int i)
{
    return smtp_field(s, i, 0);
}

char *kt_smtp_rcpt(kt_smtp *s, int i)
{
    return smtp_field(s, i, 1);
}

char *kt_smtp_sender(kt_smtp *s, int i)
{
    return smtp_field(s, i, 2);
}

int kt_smtp_wait(kt_smtp *s, int count, int timeout_ms)
{
    return srv_wait(&s->srv, &s->n, count, timeout_ms);
}

void kt_smtp_fail_next(kt_smtp *s, int n)
{
    pthread_mutex_lock(&s->srv.mu);
    s->fail = n;
    pthread_mutex_unlock(&s->srv.mu);
}

/* ---- HTTP ------------------------------------------------------------------------ */

struct req {
    char *line, *headers, *body; /* headers: the header lines, each ending in "\r\n" */
};

struct kt_hook {
    struct srv srv;
    struct req *r;
    int n, cap;
    int fail;
};

static const char *header_in(const char *headers, const char *name, size_t *vlen)
{
    size_t k = strlen(name);
    for (const char *p = headers; p && *p;) {
        const char *e = strstr(p, "\r\n");
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > k && p[k] == ':' && strncasecmp(p, name, k) == 0) {
            const char *v = p + k + 1;
            const char *end = p + len;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
            *vlen = (size_t)(end - v);
            return v;
        }
        p = e ? e + 2 : p + len;
    }
    return NULL;
}

static void hook_serve(struct srv *srv, struct conn *c)
{
    kt_hook *h = (kt_hook *)srv;
    struct str reqline = { 0 }, headers = { 0 }, body = { 0 };
    char *line;
    size_t n, vlen;
    if (!(line = conn_line(c, &n)) || !str_add(&reqline, line, n) || !str_add(&headers, "", 0) ||
        !str_add(&body, "", 0))
        goto done;
    while ((line = conn_line(c, &n)) && n > 0)
        if (!str_add(&headers, line, n) || !str_add(&headers, "\r\n", 2))
            goto done;
    if (!line)
        goto done;
    const char *cl = header_in(headers.p, "Content-Length", &vlen);
    size_t want = 0;
    if (cl) {
        char *end;
        unsigned long long v = strtoull(cl, &end, 10);
        if (end == cl || v > CONN_MAX)
            goto done;
        want = (size_t)v;
    }
    while (c->len - c->off < want)
        if (!conn_fill(c))
            goto done;
    if (!str_add(&body, c->buf + c->off, want))
        goto done;
    c->off += want;

    const char *reply = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                        "Connection: close\r\n\r\nok";
    pthread_mutex_lock(&srv->mu);
    struct req *more = grow(h->r, sizeof *h->r, &h->cap, h->n);
    if (!more) {
        pthread_mutex_unlock(&srv->mu);
        goto done;
    }
    h->r = more;
    if (h->fail > 0) {
        h->fail--;
        reply = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                "Connection: close\r\n\r\nerror";
    }
    h->r[h->n] = (struct req){ reqline.p, headers.p, body.p };
    reqline.p = headers.p = body.p = NULL;
    h->n++;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
    conn_send(c, reply);
    shutdown(c->fd, SHUT_WR);
done:
    free(reqline.p);
    free(headers.p);
    free(body.p);
}

kt_hook *kt_hook_start(void)
{
    kt_hook *h = calloc(1, sizeof *h);
    cr_assert_not_null(h);
    srv_start(&h->srv, hook_serve);
    return h;
}

int kt_hook_port(kt_hook *h)
{
    return h->srv.port;
}

void kt_hook_stop(kt_hook *h)
{
    if (!h)
        return;
    srv_stop(&h->srv);
    for (int i = 0; i < h->n; i++) {
        free(h->r[i].line);
        free(h->r[i].headers);
        free(h->r[i].body);
    }
    free(h->r);
    free(h);
}

void kt_hook_fail_next(kt_hook *h, int n)
{
    pthread_mutex_lock(&h->srv.mu);
    h->fail = n;
    pthread_mutex_unlock(&h->srv.mu);
}

int kt_hook_count(kt_hook *h)
{
    pthread_mutex_lock(&h->srv.mu);
    int n = h->n;
    pthread_mutex_unlock(&h->srv.mu);
    return n;
}

char *kt_hook_body(kt_hook *h, int i)
{
    char *r = NULL;
    pthread_mutex_lock(&h->srv.mu);
    if (i >= 0 && i < h->n)
        r = dup_or_null(h->r[i].body);
    pthread_mutex_unlock(&h->srv.mu);
    return r;
}

char *kt_hook_request_line(kt_hook *h, int i)
{
    char *r = NULL;
    pthread_mutex_lock(&h->srv.mu);
    if (i >= 0 && i < h->n)
        r = dup_or_null(h->r[i].line);
    pthread_mutex_unlock(&h->srv.mu);
    return r;
}

char *kt_hook_header(kt_hook *h, int i, const char *name)
{
    char *r = NULL;
    size_t vlen;
    pthread_mutex_lock(&h->srv.mu);
    const char *v = i >= 0 && i < h->n ? header_in(h->r[i].headers, name, &vlen) : NULL;
    if (v) {
        r = strndup(v, vlen);
        cr_assert_not_null(r);
    }
    pthread_mutex_unlock(&h->srv.mu);
    return r;
}

int kt_hook_wait(kt_hook *h, int count, int timeout_ms)
{
    return srv_wait(&h->srv, &h->n, count, timeout_ms);
}
