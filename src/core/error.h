/*
 * error.h - return codes and the per-thread error message.
 *
 * Functions that can fail return int: 0 (KZ_OK) on success, a negative KZ_E* code
 * otherwise, and leave a human-readable detail in a per-thread message set with
 * kz_error_set() at the place the failure happened. Callers print kz_error_msg()
 * or add context with kz_error_prefix(). Nothing here allocates.
 */
#ifndef KZ_CORE_ERROR_H
#define KZ_CORE_ERROR_H

enum {
    KZ_OK = 0,
    KZ_ERROR = -1,     /* anything not listed below */
    KZ_ENOTFOUND = -2, /* the thing asked for does not exist */
    KZ_EINVALID = -3,  /* input does not satisfy the contract */
    KZ_ECONFLICT = -4, /* the operation contradicts stored state */
    KZ_ETOOBIG = -5,   /* a size limit was reached */
    KZ_ENOMEM = -6,    /* allocation failed */
    KZ_EIO = -7,       /* reading or writing a file or the database failed */
    KZ_EUSAGE = -8     /* the command line is wrong */
};

#if defined(__GNUC__)
#define KZ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define KZ_PRINTF(a, b)
#endif

/* Sets the current thread's message (printf format) and returns code, so that
 * `return kz_error_set(KZ_EINVALID, "...")` reads naturally. Long messages are
 * truncated, never overflowed. */
int kz_error_set(int code, const char *fmt, ...) KZ_PRINTF(2, 3);

/* Prepends "<prefix>: " to the current message (printf format); returns code. */
int kz_error_prefix(int code, const char *fmt, ...) KZ_PRINTF(2, 3);

/* Sets "out of memory" and returns KZ_ENOMEM. */
int kz_error_oom(void);

/* The current thread's message; "" when none. Borrowed until the next kz_error_* call. */
const char *kz_error_msg(void);

/* The code passed to the last kz_error_set(); KZ_OK after kz_error_clear(). */
int kz_error_code(void);

void kz_error_clear(void);

/* A short English name for a code ("invalid input", "not found", ...). Static string. */
const char *kz_error_name(int code);

#endif
