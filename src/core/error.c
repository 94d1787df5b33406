/*
 * error.c - the per-thread error message behind error.h.
 */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MSG_CAP 4096

static _Thread_local char msg[MSG_CAP];
static _Thread_local int last_code;

int kz_error_set(int code, const char *fmt, ...)
{
    char tmp[MSG_CAP]; /* the arguments may be the message itself (kz_error_msg()) */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(msg, tmp, sizeof msg);
    last_code = code;
    return code;
}

int kz_error_prefix(int code, const char *fmt, ...)
{
    char old[MSG_CAP];
    va_list ap;

    memcpy(old, msg, sizeof old);
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    size_t used = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    if (old[0] != '\0' && used + 2 < sizeof msg) {
        size_t room = sizeof msg - used - 3; /* ": " and the NUL */
        size_t len = strlen(old);
        if (len > room)
            len = room;
        memcpy(msg + used, ": ", 2);
        memcpy(msg + used + 2, old, len);
        msg[used + 2 + len] = '\0';
    }
    last_code = code;
    return code;
}

int kz_error_oom(void)
{
    return kz_error_set(KZ_ENOMEM, "out of memory");
}

const char *kz_error_msg(void)
{
    return msg;
}

int kz_error_code(void)
{
    return last_code;
}

void kz_error_clear(void)
{
    msg[0] = '\0';
    last_code = KZ_OK;
}

const char *kz_error_name(int code)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        { KZ_OK, "ok" },
        { KZ_ERROR, "error" },
        { KZ_ENOTFOUND, "not found" },
        { KZ_EINVALID, "invalid input" },
        { KZ_ECONFLICT, "conflict" },
        { KZ_ETOOBIG, "too big" },
        { KZ_ENOMEM, "out of memory" },
        { KZ_EIO, "input/output error" },
        { KZ_EUSAGE, "usage error" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].code == code)
            return names[i].name;
    return "error";
}
