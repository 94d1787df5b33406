/*
 * log.c - the log writer of log.h. The level and format are part of the process
 * configuration, set once by kz_log_setup() before any thread starts.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/jsonw.h"
#include "core/time.h"

static kz_log_level min_level = KZ_LOG_INFO;
static int json_format;

static const char *level_names[] = { "debug", "info", "warn", "error" };

void kz_log_setup(const char *level, const char *format)
{
    for (int i = 0; i < 4; i++)
        if (level && strcmp(level, level_names[i]) == 0)
            min_level = (kz_log_level)i;
    json_format = format && strcmp(format, "json") == 0;
}

int kz_log_enabled(kz_log_level lvl)
{
    return lvl >= min_level;
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
    if (json_format) {
        kz_jw w;
        kz_jw_init(&w, &b);
        kz_jw_obj(&w);
        kz_jw_key(&w, "ts");
        kz_jw_str(&w, ts);
        kz_jw_key(&w, "level");
        kz_jw_str(&w, level_names[lvl]);
        kz_jw_key(&w, "msg");
        kz_jw_str(&w, msg);
        if (tail[0]) {
            kz_jw_key(&w, "detail");
            kz_jw_str(&w, tail);
        }
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
