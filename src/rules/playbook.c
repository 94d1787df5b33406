/*
 * playbook.c - playbook documents (playbook.h): names checked before any path
 * is built, files read whole with a size limit, titles found, Markdown turned
 * into HTML that is safe to show in the dashboard.
 *
 * Not for rules (rule.c) or for the text templates of actions (template.c).
 */
#include "rules/playbook.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <md4c-html.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/text.h"

#define LIST_MAX 1000
#define PATH_MAX_BYTES 8192

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int kz_playbook_name_ok(const char *name, size_t n)
{
    if (!name || n == 0 || n > KZ_PLAYBOOK_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!name_char(name[i]))
            return 0;
    return 1;
}

static int check_name(const char *name)
{
    if (!name)
        return kz_error_set(KZ_EINVALID, "playbook name missing");
    size_t n = strlen(name);
    /* only the start of a long or odd name goes into the message */
    int show = n > 80 ? 80 : (int)n;
    if (n == 0)
        return kz_error_set(KZ_EINVALID, "playbook name '': empty");
    if (n > KZ_PLAYBOOK_NAME_MAX)
        return kz_error_set(KZ_EINVALID, "playbook name '%.*s...': longer than %d bytes", show, name,
                            KZ_PLAYBOOK_NAME_MAX);
    if (!kz_playbook_name_ok(name, n))
        return kz_error_set(KZ_EINVALID, "playbook name '%.*s': only a-z, 0-9, '_' and '-' are allowed", show,
                            name);
    return KZ_OK;
}

void kz_playbook_free(kz_playbook *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->title);
    free(p->markdown);
    memset(p, 0, sizeof *p);
}

void kz_playbook_list_free(kz_playbook *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        kz_playbook_free(&v[i]);
    free(v);
}

/* 1 + the number of newlines before offset at. */
static size_t line_of(const char *s, size_t at)
{
    size_t line = 1;
    for (const char *p = s; (p = memchr(p, '\n', at - (size_t)(p - s))) != NULL; p++)
        line++;
    return line;
}

/* Reads the whole regular file at path into b (capped at KZ_PLAYBOOK_MAX_BYTES). */
static int read_file(kz_buf *b, const char *path, const char *name)
{
    char chunk[65536];
    struct stat st;
    int rc = KZ_OK;
    /* O_NONBLOCK: opening a FIFO that someone left in the folder must not hang */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return kz_error_set(KZ_ENOTFOUND, "playbook '%s': no file %s", name, path);
        return kz_error_set(KZ_EIO, "playbook '%s': cannot open %s: %s", name, path, strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        rc = kz_error_set(KZ_EIO, "playbook '%s': cannot stat %s: %s", name, path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = kz_error_set(KZ_EINVALID, "playbook '%s': %s is not a regular file", name, path);
        goto done;
    }
    if ((uintmax_t)st.st_size > KZ_PLAYBOOK_MAX_BYTES)
        goto too_big;
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = kz_error_set(KZ_EIO, "playbook '%s': cannot read %s: %s", name, path, strerror(errno));
            goto done;
        }
        if (got == 0)
            break;
        rc = kz_buf_append(b, chunk, (size_t)got);
        if (rc == KZ_ETOOBIG)
            goto too_big; /* it grew since fstat */
        if (rc)
            goto done;
    }
    goto done;
too_big:
    rc = kz_error_set(KZ_ETOOBIG, "playbook '%s': %s is larger than %zu bytes", name, path, KZ_PLAYBOOK_MAX_BYTES);
done:
    close(fd);
    return rc;
}

/* The first "# " heading outside fenced code blocks, trimmed, closing '#'s
 * removed: [*from, *to) of md, or from == to when there is none. */
static void find_title(const char *md, size_t n, size_t *from, size_t *to)
{
    size_t i = 0;
    char fence = 0;
    size_t fence_len = 0;
    *from = *to = 0;
    while (i < n) {
        const char *nl = memchr(md + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - md) : n, next = nl ? end + 1 : n, k = i;
        while (k < end && k - i < 3 && md[k] == ' ')
            k++;
        size_t run = 0;
        while (k + run < end && (md[k + run] == '`' || md[k + run] == '~') && md[k + run] == md[k])
            run++;
        if (fence) {
            if (run >= fence_len && md[k] == fence)
                fence = 0;
        } else if (run >= 3) {
            fence = md[k];
            fence_len = run;
        } else if (k + 1 < end && md[k] == '#' && (md[k + 1] == ' ' || md[k + 1] == '\t')) {
            size_t a = k + 2, b = end;
            while (a < b && (md[a] == ' ' || md[a] == '\t'))
                a++;
            while (b > a && (md[b - 1] == ' ' || md[b - 1] == '\t' || md[b - 1] == '\r'))
                b--;
            size_t h = b;
            while (h > a && md[h - 1] == '#')
                h--;
            if (h < b && (h == a || md[h - 1] == ' ' || md[h - 1] == '\t')) {
                b = h; /* "# Title ##": the closing sequence is not part of it */
                while (b > a && (md[b - 1] == ' ' || md[b - 1] == '\t'))
                    b--;
            }
            if (b > a) {
                *from = a;
                *to = b;
                return;
            }
        }
        i = next;
    }
}

int kz_playbook_load(kz_playbook *out, const char *dir, const char *name)
{
    kz_buf path, text;
    size_t bad, from, to;
    int rc;

    memset(out, 0, sizeof *out);
    kz_buf_init(&path, PATH_MAX_BYTES);
    kz_buf_init(&text, KZ_PLAYBOOK_MAX_BYTES);
    if ((rc = check_name(name)))
        goto done;
    if (!dir || !*dir)
        dir = ".";
    if (kz_buf_printf(&path, "%s/%s.md", dir, name)) {
        rc = kz_error_set(KZ_EINVALID, "playbook '%s': the folder's path is too long", name);
        goto done;
    }
    if ((rc = read_file(&text, path.data, name)))
        goto done;
    const char *md = kz_buf_cstr(&text);
    size_t len = text.len, skip = 0;
    if (len >= 3 && memcmp(md, "\xef\xbb\xbf", 3) == 0)
        skip = 3;
    if ((bad = kz_utf8_invalid_at(md, len)) < len) {
        rc = kz_error_set(KZ_EINVALID, "playbook '%s': %s: invalid UTF-8 at byte %zu (line %zu)", name, path.data,
                          bad, line_of(md, bad));
        goto done;
    }
    const char *nul = memchr(md, '\0', len);
    if (nul) {
        bad = (size_t)(nul - md);
        rc = kz_error_set(KZ_EINVALID, "playbook '%s': %s: NUL byte at byte %zu (line %zu)", name, path.data, bad,
                          line_of(md, bad));
        goto done;
    }
    find_title(md + skip, len - skip, &from, &to);
    out->name = strdup(name);
    out->title = from < to ? strndup(md + skip + from, to - from) : strdup(name);
    out->markdown = strndup(md + skip, len - skip);
    out->len = len - skip;
    if (!out->name || !out->title || !out->markdown) {
        rc = kz_error_oom();
        goto done;
    }
done:
    kz_buf_free(&path);
    kz_buf_free(&text);
    if (rc)
        kz_playbook_free(out);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The valid names of the regular NAME.md files of d, unsorted, into *names. */
static int scan_folder(char ***names, size_t *count, DIR *d, const char *dir)
{
    size_t cap = 0;
    struct dirent *e;
    kz_buf path;
    int rc = KZ_OK;

    kz_buf_init(&path, PATH_MAX_BYTES);
    for (;;) {
        errno = 0;
        if (!(e = readdir(d))) {
            if (errno)
                rc = kz_error_set(KZ_EIO, "playbooks: cannot read the folder %s: %s", dir, strerror(errno));
            break;
        }
        size_t n = strlen(e->d_name);
        if (n < 4 || memcmp(e->d_name + n - 3, ".md", 3) != 0 || !kz_playbook_name_ok(e->d_name, n - 3))
            continue;
        struct stat st;
        kz_buf_reset(&path);
        if ((rc = kz_buf_printf(&path, "%s/%s", dir, e->d_name)))
            break;
        if (stat(path.data, &st) != 0 || !S_ISREG(st.st_mode))
            continue; /* a dangling link or a folder named x.md is no document */
        if (*count == LIST_MAX) {
            rc = kz_error_set(KZ_ETOOBIG, "playbooks: more than %d documents in %s", LIST_MAX, dir);
            break;
        }
        if (*count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nv = realloc(*names, ncap * sizeof *nv);
            if (!nv) {
                rc = kz_error_oom();
                break;
            }
            *names = nv;
            cap = ncap;
        }
        if (!((*names)[*count] = strndup(e->d_name, n - 3))) {
            rc = kz_error_oom();
            break;
        }
        (*count)++;
    }
    kz_buf_free(&path);
    return rc;
}

int kz_playbook_list(kz_playbook **out, size_t *n, const char *dir)
{
    char **names = NULL;
    size_t count = 0, loaded = 0;
    kz_playbook *v = NULL;
    int rc = KZ_OK;

    *out = NULL;
    *n = 0;
    if (!dir || !*dir)
        dir = ".";
    DIR *d = opendir(dir);
    if (!d) {
        if (errno != ENOENT)
            rc = kz_error_set(KZ_EIO, "playbooks: cannot open the folder %s: %s", dir, strerror(errno));
        goto done;
    }
    rc = scan_folder(&names, &count, d, dir);
    closedir(d);
    if (rc || count == 0)
        goto done;
    qsort(names, count, sizeof *names, by_name);
    if (!(v = calloc(count, sizeof *v))) {
        rc = kz_error_oom();
        goto done;
    }
    for (; loaded < count; loaded++)
        if ((rc = kz_playbook_load(&v[loaded], dir, names[loaded])))
            goto done;
    *out = v;
    *n = count;
    v = NULL;
done:
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    kz_playbook_list_free(v, loaded);
    return rc;
}

struct sink {
    kz_buf *b;
    int rc;
};

static void sink_put(const MD_CHAR *s, MD_SIZE n, void *userdata)
{
    struct sink *k = userdata;
    if (!k->rc)
        k->rc = kz_buf_append(k->b, s, n);
}

/* 1 when the URL of a link or image may stay: no scheme (a relative path, a
 * fragment) or http, https, mailto. md4c writes '&' as "&amp;"; any other
 * character reference could hide a ':' from this check, so it does not pass. */
static int url_ok(const char *u, size_t n)
{
    static const char *const allowed[] = { "http", "https", "mailto" };
    if (n == 0)
        return 1;
    if ((unsigned char)u[0] <= 0x20)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (u[i] == '&' && (n - i < 5 || memcmp(u + i, "&amp;", 5) != 0))
            return 0;
    size_t k = 0;
    while (k < n && u[k] != ':' && u[k] != '/' && u[k] != '?' && u[k] != '#')
        k++;
    if (k == n || u[k] != ':')
        return 1;
    for (size_t a = 0; a < sizeof allowed / sizeof *allowed; a++)
        if (strlen(allowed[a]) == k && strncasecmp(u, allowed[a], k) == 0)
            return 1;
    return 0;
}

/* Copies md4c's HTML h[0..n) to out with unsafe href and src values replaced
 * by "#". With raw HTML off, every ' href="' and ' src="' in the output is
 * md4c's own: text and attribute values have their '"' written as &quot;. */
static int copy_safe(kz_buf *out, const char *h, size_t n)
{
    size_t i = 0, start = 0;
    int rc = KZ_OK;
    while (i < n && !rc) {
        size_t at = 0;
        if (n - i >= 7 && memcmp(h + i, " href=\"", 7) == 0)
            at = i + 7;
        else if (n - i >= 6 && memcmp(h + i, " src=\"", 6) == 0)
            at = i + 6;
        if (!at) {
            i++;
            continue;
        }
        const char *q = memchr(h + at, '"', n - at);
        size_t end = q ? (size_t)(q - h) : n;
        if (!url_ok(h + at, end - at)) {
            rc = kz_buf_append(out, h + start, at - start);
            if (!rc)
                rc = kz_buf_putc(out, '#');
            start = end;
        }
        i = end;
    }
    return rc ? rc : kz_buf_append(out, h + start, n - start);
}

int kz_playbook_html(kz_buf *out, const char *md, size_t n)
{
    kz_buf html;
    struct sink k;
    size_t start = out->len;
    int rc = KZ_OK;

    kz_buf_init(&html, out->max);
    k.b = &html;
    k.rc = KZ_OK;
    if (n > (MD_SIZE)-1) {
        rc = kz_error_set(KZ_ETOOBIG, "playbook: Markdown of %zu bytes is too large to render", n);
        goto done;
    }
    if (md_html(n ? md : "", (MD_SIZE)n, sink_put, &k, MD_DIALECT_GITHUB | MD_FLAG_NOHTML,
                MD_HTML_FLAG_SKIP_UTF8_BOM) != 0) {
        rc = k.rc ? k.rc : kz_error_set(KZ_EINVALID, "playbook: the Markdown could not be rendered");
        goto done;
    }
    if ((rc = k.rc))
        goto done;
    rc = copy_safe(out, kz_buf_cstr(&html), html.len);
done:
    kz_buf_free(&html);
    if (rc) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return rc;
}
