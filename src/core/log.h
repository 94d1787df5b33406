/*
 * log.h - leveled logging to stderr, logfmt or JSON.
 *
 * KZ_LOG checks the level before it evaluates its arguments. The level and the
 * format are set once at start from the configuration. Never log secrets or
 * request bodies.
 */
#ifndef KZ_CORE_LOG_H
#define KZ_CORE_LOG_H

#include "core/error.h"

typedef enum { KZ_LOG_DEBUG, KZ_LOG_INFO, KZ_LOG_WARN, KZ_LOG_ERROR } kz_log_level;

/* Sets level and format from their configuration names ("info", "json"). */
void kz_log_setup(const char *level, const char *format);

int kz_log_enabled(kz_log_level lvl);

/* Writes one line: msg plus key=value pairs given as a printf-formatted tail
 * (for example "rows=%d file=%s"). */
void kz_log_write(kz_log_level lvl, const char *msg, const char *fmt, ...) KZ_PRINTF(3, 4);

#define KZ_LOG(lvl, msg, ...)                         \
    do {                                              \
        if (kz_log_enabled(lvl))                      \
            kz_log_write((lvl), (msg), __VA_ARGS__);  \
    } while (0)

#endif
