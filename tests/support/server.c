/*
 * server.c (tests) - the real `kizuna serve` on a free loopback port, and an
 * HTTP client (libcurl) to speak to it.
 */
#include "server.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

void kt_serve(kt_server *s, const char *dir, const char *const *extra)
{
    const char *bin = getenv("KIZUNA_BIN");
    cr_assert_not_null(bin, "KIZUNA_BIN is not set (run through make test)");
    int out[2];
    cr_assert_eq(pipe(out), 0);
    snprintf(s->log, sizeof s->log, "%s/serve.log", dir);
    const char *argv[32] = { bin, "--db", "k.db" };
    size_t n = 3;
    for (size_t i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    argv[n++] = "serve";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (chdir(dir) != 0)
            _exit(126);
        FILE *log = fopen(s->log, "w");
        if (!log)
            _exit(126);
        dup2(out[1], 1);
        dup2(fileno(log), 2);
        close(out[0]);
        unsetenv("KIZUNA_DB");
        unsetenv("KIZUNA_CONFIG");
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    s->pid = pid;
    /* the first line says where it listens */
    char line[512];
    size_t len = 0;
    while (len + 1 < sizeof line) {
        ssize_t got = read(out[0], line + len, 1);
        if (got <= 0 || line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    s->out_fd = out[0];
    unsigned port = 0;
    const char *at = strstr(line, "127.0.0.1:");
    cr_assert(at && sscanf(at, "127.0.0.1:%u", &port) == 1, "serve did not start: '%s' (log: %s)", line,
              kt_read(s->log, NULL));
    s->port = (int)port;
}

int kt_serve_stop(kt_server *s)
{
    kill(s->pid, SIGTERM);
    int st;
    cr_assert_eq(waitpid(s->pid, &st, 0), s->pid);
    close(s->out_fd);
    char *log = kt_read(s->log, NULL);
    kt_no_sanitizer_report(log, "serve");
    free(log);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void kt_serve_kill(kt_server *s)
{
    kill(s->pid, SIGKILL);
    int st;
    waitpid(s->pid, &st, 0);
    close(s->out_fd);
}

static size_t sink(char *p, size_t size, size_t n, void *ctx)
{
    kt_http_resp *r = ctx;
    size_t add = size * n;
    char *b = realloc(r->body, r->len + add + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, add);
    r->len += add;
    b[r->len] = '\0';
    r->body = b;
    return add;
}

static size_t header_sink(char *p, size_t size, size_t n, void *ctx)
{
    kt_http_resp *r = ctx;
    size_t add = size * n;
    size_t have = r->headers ? strlen(r->headers) : 0;
    char *h = realloc(r->headers, have + add + 1);
    if (!h)
        return 0;
    memcpy(h + have, p, add);
    h[have + add] = '\0';
    r->headers = h;
    return add;
}

void kt_http(kt_http_resp *r, const kt_server *s, const char *method, const char *path, const char *body,
             const char *const *headers)
{
    char url[1024];
    memset(r, 0, sizeof *r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, path);
    CURL *c = curl_easy_init();
    cr_assert_not_null(c);
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_sink);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (hl)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    r->status = (int)status;
    if (!r->body)
        r->body = calloc(1, 1);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

void kt_http_free(kt_http_resp *r)
{
    free(r->body);
    free(r->headers);
}

char *kt_user_token(const char *dir, const char *name, const char *role, const char *password)
{
    kt_run r;
    char in[256];
    snprintf(in, sizeof in, "%s\n", password);
    kt_kizunav(&r, dir, in, "--db", "k.db", "user", "add", "--name", name, "--role", role, "--password-stdin", NULL);
    cr_assert_eq(r.status, 0, "user add: %s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "user", "token", "--name", name, NULL);
    cr_assert_eq(r.status, 0, "user token: %s", r.err);
    char *last = strstr(r.out, "kz_");
    cr_assert_not_null(last, "%s", r.out);
    char *tok = strndup(last, 67);
    kt_run_free(&r);
    return tok;
}
