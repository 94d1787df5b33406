/*
 * support.c - test helpers (support.h).
 */
#define _XOPEN_SOURCE 700
#include "support.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>
#include <math.h>

#include "ingest/csv.h"

char *kt_tmpdir(void)
{
    char tmpl[] = "/tmp/kizuna-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    cr_assert_not_null(d, "mkdtemp: %s", strerror(errno));
    return strdup(d);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void kt_rmrf(const char *dir)
{
    if (dir)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *kt_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    cr_assert_not_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void kt_write(const char *path, const char *content, size_t n)
{
    if (n == (size_t)-1)
        n = strlen(content);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(content, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

char *kt_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    cr_assert_not_null(buf);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            cr_assert_not_null(buf);
        }
    }
    fclose(f);
    buf[len] = '\0';
    if (n)
        *n = len;
    return buf;
}

char *kt_fixture(const char *name)
{
    const char *dir = getenv("KIZUNA_FIXTURES");
    cr_assert_not_null(dir, "KIZUNA_FIXTURES is not set (run through make test)");
    return kt_path(dir, name);
}

void kt_no_sanitizer_report(const char *text, const char *what)
{
    /* under `make asan` the binary is built with the sanitizers: a report in
     * its standard error fails the test that ran it */
    if (text && (strstr(text, "ERROR: AddressSanitizer") || strstr(text, "ERROR: LeakSanitizer") ||
                 strstr(text, "runtime error:")))
        cr_assert_fail("kizuna %s: sanitizer report:\n%s", what ? what : "", text);
}

void kt_kizuna(kt_run *r, const char *cwd, const char *stdin_data, const char *const *args)
{
    const char *bin = getenv("KIZUNA_BIN");
    char out_path[] = "/tmp/kizuna-out-XXXXXX", err_path[] = "/tmp/kizuna-err-XXXXXX", in_path[] = "/tmp/kizuna-in-XXXXXX";
    cr_assert_not_null(bin, "KIZUNA_BIN is not set (run through make test)");
    int out = mkstemp(out_path), err = mkstemp(err_path), in = mkstemp(in_path);
    cr_assert(out >= 0 && err >= 0 && in >= 0);
    if (stdin_data) {
        size_t n = strlen(stdin_data);
        cr_assert_eq(write(in, stdin_data, n), (ssize_t)n);
        lseek(in, 0, SEEK_SET);
    }
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    const char **argv = calloc(nargs + 2, sizeof *argv);
    cr_assert_not_null(argv);
    argv[0] = bin;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = args[i];
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (cwd && chdir(cwd) != 0)
            _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        unsetenv("KIZUNA_DB");
        unsetenv("KIZUNA_CONFIG");
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    close(out);
    close(err);
    close(in);
    r->out = kt_read(out_path, NULL);
    r->err = kt_read(err_path, NULL);
    kt_no_sanitizer_report(r->err, args[0]);
    unlink(out_path);
    unlink(err_path);
    unlink(in_path);
    free(argv);
}

void kt_kizunav(kt_run *r, const char *cwd, const char *stdin_data, ...)
{
    const char *args[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, stdin_data);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 63)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    kt_kizuna(r, cwd, stdin_data, args);
}

void kt_run_free(kt_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

int kt_contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

int kt_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        if (*s == '\n')
            n++;
    return n;
}

void kt_unzstd(const char *src, const char *dst)
{
    size_t n;
    char *in = kt_read(src, &n);
    cr_assert_not_null(in, "cannot read %s", src);
    FILE *f = fopen(dst, "wb");
    cr_assert_not_null(f);
    ZSTD_DStream *z = ZSTD_createDStream();
    cr_assert_not_null(z);
    ZSTD_initDStream(z);
    ZSTD_inBuffer ib = { in, n, 0 };
    char out[1 << 16];
    while (ib.pos < ib.size) {
        ZSTD_outBuffer ob = { out, sizeof out, 0 };
        size_t r = ZSTD_decompressStream(z, &ob, &ib);
        cr_assert(!ZSTD_isError(r), "zstd: %s", ZSTD_getErrorName(r));
        cr_assert_eq(fwrite(out, 1, ob.pos, f), ob.pos);
    }
    ZSTD_freeDStream(z);
    fclose(f);
    free(in);
}

static int number(const char *s, size_t n, double *out)
{
    char tmp[64];
    char *end;
    if (n == 0 || n >= sizeof tmp)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, &end);
    return *end == '\0';
}

char *kt_csv_diff(const char *a, const char *b)
{
    kz_csv *ra, *rb;
    kz_csv_rec x, y;
    char *msg = malloc(512);
    cr_assert_not_null(msg);
    cr_assert_eq(kz_csv_open_mem(&ra, a, strlen(a), 1 << 20), 0);
    cr_assert_eq(kz_csv_open_mem(&rb, b, strlen(b), 1 << 20), 0);
    for (int row = 0;; row++) {
        int ga = kz_csv_next(ra, &x);
        /* the second reader's record is only valid until its next call: copy what we need */
        size_t nx = ga == 1 ? x.nfields : 0;
        char **fx = calloc(nx + 1, sizeof *fx);
        size_t *lx = calloc(nx + 1, sizeof *lx);
        for (size_t i = 0; i < nx; i++) {
            fx[i] = strndup(x.f[i].p, x.f[i].n);
            lx[i] = x.f[i].n;
        }
        int gb = kz_csv_next(rb, &y);
        int differs = 0;
        if (ga != gb) {
            snprintf(msg, 512, "row %d: one file has more rows", row);
            differs = 1;
        } else if (ga == 1 && x.nfields != y.nfields) {
            snprintf(msg, 512, "row %d: %zu columns vs %zu", row, nx, y.nfields);
            differs = 1;
        } else if (ga == 1) {
            for (size_t i = 0; i < nx && !differs; i++) {
                double u, v;
                if (lx[i] == y.f[i].n && memcmp(fx[i], y.f[i].p, lx[i]) == 0)
                    continue;
                if (number(fx[i], lx[i], &u) && number(y.f[i].p, y.f[i].n, &v) &&
                    fabs(u - v) <= 1e-9 * fmax(1.0, fmax(fabs(u), fabs(v))))
                    continue;
                snprintf(msg, 512, "row %d column %zu: '%s' vs '%.*s'", row, i + 1, fx[i], (int)y.f[i].n, y.f[i].p);
                differs = 1;
            }
        }
        for (size_t i = 0; i < nx; i++)
            free(fx[i]);
        free(fx);
        free(lx);
        if (differs || ga != 1) {
            kz_csv_close(ra);
            kz_csv_close(rb);
            if (differs)
                return msg;
            free(msg);
            return NULL;
        }
    }
}

void kt_import(const char *dir, const char *folder)
{
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "import", "--quiet", folder, NULL);
    cr_assert_eq(r.status, 0, "import %s: %s", folder, r.err);
    kt_run_free(&r);
}

char *kt_reference_data(const char *dir, int with_tickets)
{
    char *data = kt_path(dir, "data");
    cr_assert_eq(mkdir(data, 0755), 0, "mkdir %s: %s", data, strerror(errno));
    const char *files[] = { "accounts.csv", "subscriptions.csv", "tickets.csv" };
    for (size_t i = 0; i < (with_tickets ? 3u : 2u); i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "reference/bench/%s", files[i]);
        char *text = kt_read(kt_fixture(rel), NULL);
        cr_assert_not_null(text, "missing fixture %s", rel);
        kt_write(kt_path(data, files[i]), text, (size_t)-1);
        free(text);
    }
    kt_unzstd(kt_fixture("reference/bench/events.csv.zst"), kt_path(data, "events.csv"));
    return data;
}

char *kt_metrics_csv(const char *dir, const char *set, const char *const *args)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = "--db";
    argv[n++] = "k.db";
    if (set) {
        argv[n++] = "--set";
        argv[n++] = set;
    }
    argv[n++] = "metrics";
    for (size_t i = 0; args[i]; i++) {
        cr_assert_lt(n, sizeof argv / sizeof argv[0] - 3, "too many arguments");
        argv[n++] = args[i];
    }
    argv[n++] = "--format";
    argv[n++] = "csv";
    argv[n] = NULL;
    kt_run r;
    kt_kizuna(&r, dir, NULL, argv);
    cr_assert_eq(r.status, 0, "metrics %s: %s", args[0], r.err);
    char *out = strdup(r.out);
    cr_assert_not_null(out);
    kt_run_free(&r);
    return out;
}

int kt_fields(char *line, char **f, int max)
{
    int n = 0;
    for (char *p = line; n < max;) {
        f[n++] = p;
        p = strchr(p, ',');
        if (!p)
            break;
        *p++ = '\0';
    }
    return n;
}

char *kt_next_line(char **cur)
{
    if (!*cur || !**cur)
        return NULL;
    char *line = *cur, *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *cur = nl + 1;
    } else {
        *cur = line + strlen(line);
    }
    return line;
}

char *kt_demo_world(int accounts, int seed)
{
    char *dir = kt_tmpdir(), a[16], sd[16];
    snprintf(a, sizeof a, "%d", accounts);
    snprintf(sd, sizeof sd, "%d", seed);
    kt_run r;
    kt_kizunav(&r, dir, NULL, "demo", "--accounts", a, "--days", "730", "--seed", sd, "--out", "w", NULL);
    cr_assert_eq(r.status, 0, "demo: %s", r.err);
    kt_run_free(&r);
    kt_import(dir, "w");
    return dir;
}
