/*
 * static.c - the dashboard's built files (server.web_root), read-only.
 *
 * A request path maps to a file under the root only after every check:
 * no "..", no backslash, no control character, no hidden segment; then the
 * real path (symbolic links resolved) must still lie inside the real root,
 * so nothing outside the folder is ever read. "/" and paths without a file
 * name extension that match no file are the single-page dashboard's
 * index.html; assets/ files (named by their content hash) may be cached for
 * a year, everything else is revalidated.
 */
#include "http/static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

#define MAX_FILE ((size_t)64 << 20)

static const struct {
    const char *ext, *type;
} types[] = {
    { ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" }, { ".svg", "image/svg+xml" }, { ".png", "image/png" },
    { ".jpg", "image/jpeg" }, { ".ico", "image/x-icon" }, { ".woff2", "font/woff2" },
    { ".txt", "text/plain; charset=utf-8" }, { ".map", "application/json" }, { ".webmanifest", "application/manifest+json" },
};

static const char *type_of(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

/* 1 when the request path may name a file at all. */
static int safe_path(const char *p)
{
    if (p[0] != '/' || strlen(p) > 1024)
        return 0;
    for (const char *c = p; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == '\\' || *c == 0x7f)
            return 0;
        if (c[0] == '/' && c[1] == '.')
            return 0; /* "..", "./" and hidden files */
        if (c[0] == '/' && c[1] == '/')
            return 0;
    }
    return 1;
}

/* Reads file (a real path inside root) into resp. */
static int read_into(const char *file, kz_http_resp *resp)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    if (fd < 0)
        return kz_error_set(KZ_ENOTFOUND, "no such file");
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (size_t)sb.st_size > MAX_FILE) {
        close(fd);
        return kz_error_set(KZ_ENOTFOUND, "not a file to serve");
    }
    int rc = kz_buf_reserve(&resp->body, (size_t)sb.st_size + 1);
    size_t got = 0;
    while (!rc && got < (size_t)sb.st_size) {
        ssize_t r = read(fd, resp->body.data + got, (size_t)sb.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = kz_error_set(KZ_EIO, "reading a static file: %s", r < 0 ? strerror(errno) : "it got shorter");
        else
            got += (size_t)r;
    }
    close(fd);
    if (!rc)
        resp->body.len = got;
    return rc;
}

int kz_static_serve(const char *root, const char *path, kz_http_resp *resp)
{
    char real_root[PATH_MAX], want[PATH_MAX], real[PATH_MAX];
    if (!root || !*root)
        return kz_error_set(KZ_ENOTFOUND, "no web root");
    if (!safe_path(path))
        return kz_error_set(KZ_ENOTFOUND, "not a path to a file");
    if (!realpath(root, real_root))
        return kz_error_set(KZ_ENOTFOUND, "the web root %s does not exist", root);
    int spa = 0;
    const char *rel = strcmp(path, "/") == 0 ? "/index.html" : path;
    if (snprintf(want, sizeof want, "%s%s", real_root, rel) >= (int)sizeof want)
        return kz_error_set(KZ_ENOTFOUND, "path too long");
    if (!realpath(want, real)) {
        /* a dashboard route ("/accounts/acc_1"): the page, which routes itself */
        const char *last = strrchr(path, '/');
        if (strchr(last, '.') || strncmp(path, "/assets/", 8) == 0)
            return kz_error_set(KZ_ENOTFOUND, "no such file");
        if (snprintf(want, sizeof want, "%s/index.html", real_root) >= (int)sizeof want || !realpath(want, real))
            return kz_error_set(KZ_ENOTFOUND, "no index.html");
        spa = 1;
    }
    size_t rl = strlen(real_root);
    if (strncmp(real, real_root, rl) != 0 || (real[rl] != '/' && real[rl] != '\0'))
        return kz_error_set(KZ_ENOTFOUND, "outside the web root"); /* a link that leads out */
    int rc = read_into(real, resp);
    if (rc)
        return rc;
    resp->status = 200;
    resp->type = spa ? "text/html; charset=utf-8" : type_of(real);
    int immutable = !spa && strncmp(path, "/assets/", 8) == 0;
    rc = kz_resp_header(resp, "Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
    if (!rc && strncmp(resp->type, "text/html", 9) == 0)
        rc = kz_resp_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    return rc;
}
