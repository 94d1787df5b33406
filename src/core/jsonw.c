/*
 * jsonw.c - the streaming JSON writer of jsonw.h.
 */
#include "core/jsonw.h"

#include <math.h>
#include <string.h>

#include "core/text.h"
#include "core/time.h"

void kz_jw_init(kz_jw *w, kz_buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

static void fail(kz_jw *w, int rc)
{
    if (!w->err)
        w->err = rc;
}

static void put(kz_jw *w, const char *s, size_t n)
{
    if (w->err)
        return;
    int rc = kz_buf_append(w->out, s, n);
    if (rc)
        fail(w, rc);
}

static void indent(kz_jw *w)
{
    put(w, "\n", 1);
    for (int i = 0; i < w->depth; i++)
        put(w, "  ", 2);
}

/* Called before every value: the comma, and the check that a key came first. */
static void before_value(kz_jw *w)
{
    if (w->err)
        return;
    if (w->depth > 0) {
        int lvl = w->depth - 1;
        if (w->is_obj[lvl]) {
            if (!w->after_key) {
                fail(w, KZ_EINVALID);
                return;
            }
            w->after_key = 0;
            return;
        }
        if (!w->first[lvl])
            put(w, ",", 1);
        w->first[lvl] = 0;
        if (w->pretty)
            indent(w);
    }
}

static void open(kz_jw *w, char c, int obj)
{
    before_value(w);
    if (w->depth >= KZ_JW_MAX_DEPTH) {
        fail(w, KZ_EINVALID);
        return;
    }
    put(w, &c, 1);
    w->first[w->depth] = 1;
    w->is_obj[w->depth] = (unsigned char)obj;
    w->depth++;
}

void kz_jw_obj(kz_jw *w)
{
    open(w, '{', 1);
}

void kz_jw_arr(kz_jw *w)
{
    open(w, '[', 0);
}

void kz_jw_end(kz_jw *w)
{
    if (w->err)
        return;
    if (w->depth == 0 || w->after_key) {
        fail(w, KZ_EINVALID);
        return;
    }
    w->depth--;
    if (w->pretty && !w->first[w->depth])
        indent(w);
    put(w, w->is_obj[w->depth] ? "}" : "]", 1);
}

void kz_jw_keyn(kz_jw *w, const char *key, size_t n)
{
    if (w->err)
        return;
    if (w->depth == 0 || !w->is_obj[w->depth - 1] || w->after_key) {
        fail(w, KZ_EINVALID);
        return;
    }
    int lvl = w->depth - 1;
    if (!w->first[lvl])
        put(w, ",", 1);
    w->first[lvl] = 0;
    if (w->pretty)
        indent(w);
    int rc = kz_json_quote(w->out, key, n);
    if (rc)
        fail(w, rc);
    put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
    w->after_key = 1;
}

void kz_jw_key(kz_jw *w, const char *key)
{
    kz_jw_keyn(w, key, strlen(key));
}

void kz_jw_strn(kz_jw *w, const char *s, size_t n)
{
    before_value(w);
    if (w->err)
        return;
    int rc = kz_json_quote(w->out, s, n);
    if (rc)
        fail(w, rc);
}

void kz_jw_str(kz_jw *w, const char *s)
{
    if (!s)
        kz_jw_null(w);
    else
        kz_jw_strn(w, s, strlen(s));
}

void kz_jw_int(kz_jw *w, int64_t v)
{
    before_value(w);
    if (w->err)
        return;
    int rc = kz_buf_printf(w->out, "%lld", (long long)v);
    if (rc)
        fail(w, rc);
}

void kz_jw_double(kz_jw *w, double v)
{
    if (!isfinite(v)) {
        kz_jw_null(w);
        return;
    }
    char tmp[KZ_DOUBLE_BUF];
    size_t n = kz_format_double(tmp, v);
    before_value(w);
    put(w, tmp, n);
}

void kz_jw_bool(kz_jw *w, int v)
{
    before_value(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void kz_jw_null(kz_jw *w)
{
    before_value(w);
    put(w, "null", 4);
}

void kz_jw_raw(kz_jw *w, const char *json, size_t n)
{
    before_value(w);
    put(w, json, n);
}

int kz_jw_error(const kz_jw *w)
{
    if (w->err)
        return w->err;
    if (w->depth != 0 || w->after_key)
        return KZ_EINVALID;
    return KZ_OK;
}

int kz_json_quote(kz_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int rc = kz_buf_reserve(b, n + 2);
    if (rc)
        return rc;
    rc = kz_buf_putc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
            u[4] = hex[c >> 4]; u[5] = hex[c & 15];
            break;
        }
        rc = kz_buf_append(b, s + start, i - start);
        if (!rc)
            rc = esc ? kz_buf_puts(b, esc) : kz_buf_append(b, u, 6);
        start = i + 1;
    }
    if (!rc)
        rc = kz_buf_append(b, s + start, n - start);
    if (!rc)
        rc = kz_buf_putc(b, '"');
    return rc;
}

void kz_jw_date(kz_jw *w, int32_t day)
{
    char buf[KZ_DATE_BUF];
    if (day == INT32_MIN) {
        kz_jw_null(w);
        return;
    }
    size_t n = kz_format_date(buf, day);
    kz_jw_strn(w, buf, n);
}

void kz_jw_time(kz_jw *w, int64_t t)
{
    char buf[KZ_TIME_BUF];
    size_t n = kz_format_time(buf, t);
    kz_jw_strn(w, buf, n);
}

void kz_jw_fixed(kz_jw *w, int64_t v, int scale, int min_decimals)
{
    char buf[KZ_FIXED_BUF];
    size_t n = kz_format_fixed_min(buf, v, scale, min_decimals);
    kz_jw_raw(w, buf, n);
}
