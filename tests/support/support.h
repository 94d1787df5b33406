/*
 * support.h - helpers for the tests: temporary folders, files, and running the
 * real kizuna binary (KIZUNA_BIN) with its output captured.
 *
 * Every function aborts the test (cr_assert) on failure, so tests read as
 * plain steps. Strings returned are malloc'd; tests free them or let the
 * process end (each Criterion test is its own process).
 */
#ifndef KZ_TEST_SUPPORT_H
#define KZ_TEST_SUPPORT_H

#include <stddef.h>

/* A new empty folder under /tmp. */
char *kt_tmpdir(void);

/* Removes a folder and everything in it. */
void kt_rmrf(const char *dir);

/* dir + "/" + name. */
char *kt_path(const char *dir, const char *name);

/* Writes content (n bytes; n = (size_t)-1 for a C string) to path. */
void kt_write(const char *path, const char *content, size_t n);

/* The whole file; *n receives its size (may be NULL). NULL when missing. */
char *kt_read(const char *path, size_t *n);

/* Decompresses a zstd file into dst. */
void kt_unzstd(const char *src, const char *dst);

/* Compares two CSV texts as ../shared/bench/compare.py does: same rows and
 * columns, each cell equal as text or as numbers within a relative 1e-9.
 * Returns NULL when they agree, else a malloc'd description of the first
 * difference. */
char *kt_csv_diff(const char *a, const char *b);

/* The path of a file in tests/fixtures. */
char *kt_fixture(const char *name);

typedef struct kt_run {
    int status; /* exit status, or 128 + signal */
    char *out;  /* standard output */
    char *err;  /* standard error */
} kt_run;

/* Runs the kizuna binary in cwd with the arguments (NULL-terminated), feeding
 * stdin_data (may be NULL) on standard input. */
void kt_kizuna(kt_run *r, const char *cwd, const char *stdin_data, const char *const *args);

/* Fails the test when text (a run's standard error) holds a sanitizer report. */
void kt_no_sanitizer_report(const char *text, const char *what);

/* Same with a NULL-terminated argument list. */
void kt_kizunav(kt_run *r, const char *cwd, const char *stdin_data, ...);

void kt_run_free(kt_run *r);

/* A new directory holding a demo world (730 days) of the given accounts and
 * seed in w/, imported into k.db. */
char *kt_demo_world(int accounts, int seed);

/* Imports folder into dir/k.db; the import must succeed. */
void kt_import(const char *dir, const char *folder);

/* Writes the small reference data (tests/fixtures/reference/bench: accounts,
 * subscriptions, events; with_tickets: tickets too) into dir/data and
 * returns that path (malloc'd, like kt_path). */
char *kt_reference_data(const char *dir, int with_tickets);

/* `kizuna --db k.db [--set set] metrics ARGS... --format csv` in dir, which
 * must succeed: its standard output (malloc'd; caller frees). args ends with
 * NULL; set may be NULL. */
char *kt_metrics_csv(const char *dir, const char *set, const char *const *args);
#define KT_METRICS_CSV(dir, set, ...) kt_metrics_csv(dir, set, (const char *const[]){ __VA_ARGS__, NULL })

/* Splits a CSV line without quotes in place at its commas into at most max
 * fields; returns their number. */
int kt_fields(char *line, char **f, int max);

/* The next line of the text at *cur, NUL-terminated in place (*cur moves
 * past it), or NULL at the end. */
char *kt_next_line(char **cur);

/* 1 when needle occurs in hay. */
int kt_contains(const char *hay, const char *needle);

/* Number of lines (newline-terminated) in s. */
int kt_lines(const char *s);

#endif
