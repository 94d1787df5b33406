/*
 * fmt.h - number formatting for reports on a terminal.
 */
#ifndef KZ_CLI_FMT_H
#define KZ_CLI_FMT_H

#include <stddef.h>
#include <stdint.h>

#define KZ_GROUPED_BUF 48

/* "12,345,678" */
const char *kz_fmt_int(char buf[KZ_GROUPED_BUF], int64_t v);

/* Money in store units as "12,345.67" (two decimals, more when needed). */
const char *kz_fmt_money(char buf[KZ_GROUPED_BUF], int64_t units);

/* Bytes as "45.6 MB". */
const char *kz_fmt_bytes(char buf[KZ_GROUPED_BUF], int64_t bytes);

#endif
