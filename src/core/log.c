/*
 * log.c - the log writer of log.h. The level and format are part of the process
 * configuration, set once by kz_log_setup() before any thread starts.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/jsonw.h"
#include "core/time.h"

/* Set at start, and again when the server reloads its configuration (SIGHUP):
 * atomic, so that threads logging meanwhile read one value or the other. */
static _Atomic int min_level = KZ_LOG_INFO;
static _Atomic int json_format;

static const char *level_names[] = { "debug", "info", "warn", "error" };

void kz_log_setup(const char *level, const char *format)
{
    for (int i = 0; i < 4; i++)
        if (level && strcmp(level, level_names[i]) == 0)
            atomic_store(&min_level, i);
    atomic_store(&json_format, format && strcmp(format, "json") == 0);
}

int kz_log_enabled(kz_log_level lvl)
{
    return (int)lvl >= atomic_load_explicit(&min_level, memory_order_relaxed);
}

/* The key=value pairs of a logfmt tail as members of the JSON object being
 * written: quoted values (JSON string escapes) as strings, numbers as
 * numbers, other words as strings. A tail that is not logfmt goes whole
 * into "detail". */
static void tail_json(kz_jw *w, const char *t)
{
    kz_buf v;
    kz_buf_init(&v, 4096);
    const char *p = t;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *k = p;
        while (*p && *p != '=' && *p != ' ')
            p++;
        if (*p != '=' || p == k)
            break;
        size_t kn = (size_t)(p - k);
        p++;
        kz_buf_reset(&v);
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                char c = *p;
                if (c == '\\' && p[1]) {
                    p++;
                    c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p;
                }
                kz_buf_putc(&v, c);
            }
            if (*p != '"')
                break;
            p++;
            kz_jw_keyn(w, k, kn);
            kz_jw_strn(w, v.data ? v.data : "", v.len);
            continue;
        }
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        char num[64];
        size_t n = (size_t)(p - s);
        kz_jw_keyn(w, k, kn);
        if (n && n < sizeof num) {
            memcpy(num, s, n);
            num[n] = '\0';
            char *end;
            strtod(num, &end);
            if (*end == '\0' && (num[0] == '-' || (num[0] >= '0' && num[0] <= '9'))) {
                kz_jw_raw(w, num, n);
                continue;
            }
        }
        kz_jw_strn(w, s, n);
    }
    while (*p == ' ')
        p++;
    if (*p) {
        kz_jw_key(w, "detail");
        kz_jw_str(w, p);
    }
    kz_buf_free(&v);
}

void kz_log_write(kz_log_level lvl, const char *msg, const char *fmt, ...)
{
    char ts[KZ_TIME_BUF];
    char tail[2048];
    va_list ap;
    kz_buf b;

    kz_format_time(ts, kz_now());
    va_start(ap, fmt);
    vsnprintf(tail, sizeof tail, fmt, ap);
    va_end(ap);
    kz_buf_init(&b, 1 << 16);
    if (atomic_load_explicit(&json_format, memory_order_relaxed)) {
        kz_jw w;
        kz_jw_init(&w, &b);
        kz_jw_obj(&w);
        kz_jw_key(&w, "ts");
        kz_jw_str(&w, ts);
        kz_jw_key(&w, "level");
        kz_jw_str(&w, level_names[lvl]);
        kz_jw_key(&w, "msg");
        kz_jw_str(&w, msg);
        tail_json(&w, tail);
        kz_jw_end(&w);
    } else {
        kz_buf_printf(&b, "ts=%s level=%s msg=", ts, level_names[lvl]);
        kz_json_quote(&b, msg, strlen(msg));
        if (tail[0])
            kz_buf_printf(&b, " %s", tail);
    }
    kz_buf_putc(&b, '\n');
    fputs(kz_buf_cstr(&b), stderr);
    kz_buf_free(&b);
}
