/*
 * ingest_series_test.c - reading a time series from CSV (src/ingest/series.c)
 * for `kizuna anomaly scan`: ISO-8601 times (Z, an offset, a space for the T)
 * and seconds since 1970, any column names and extra columns; and every row
 * that cannot be read reported to on_error as "file:line: column: reason",
 * after which the read fails as invalid input with nothing in out.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/time.h"
#include "ingest/series.h"
#include "../support/support.h"

/* The messages on_error received. */
struct errors {
    int n;
    char *msg[16];
};

static void collect(void *ctx, const char *message)
{
    struct errors *e = ctx;
    cr_assert_lt(e->n, 16, "too many errors: %s", message);
    e->msg[e->n] = strdup(message);
    cr_assert_not_null(e->msg[e->n]);
    e->n++;
}

static void errors_free(struct errors *e)
{
    for (int i = 0; i < e->n; i++)
        free(e->msg[i]);
    e->n = 0;
}

/* Seconds since the epoch of an ISO time in UTC. */
static int64_t secs(const char *iso)
{
    kz_time t;
    cr_assert_eq(kz_parse_time(&t, NULL, iso, strlen(iso)), 0, "%s: %s", iso, kz_error_msg());
    return t / KZ_USEC_PER_SEC;
}

/* Writes content to dir/name and returns the path (malloc'd). */
static char *file(const char *dir, const char *name, const char *content)
{
    char *p = kt_path(dir, name);
    kt_write(p, content, (size_t)-1);
    return p;
}

/* Reads path, which must succeed with no error reported. */
static kz_series read_ok(const char *path, const char *tc, const char *vc)
{
    kz_series s;
    struct errors e = { 0 };
    int rc = kz_series_read(&s, path, tc, vc, collect, &e);
    cr_assert_eq(rc, KZ_OK, "%s: %s (first reported: %s)", path, kz_error_msg(), e.n ? e.msg[0] : "none");
    cr_assert_eq(e.n, 0, "%d errors reported reading %s", e.n, path);
    return s;
}

static void assert_point(const kz_series *s, size_t i, int64_t t, double v, int64_t line)
{
    cr_assert_lt(i, s->n, "point %zu of %zu", i, s->n);
    cr_assert_eq(s->t[i], t, "point %zu: time %lld, want %lld", i, (long long)s->t[i], (long long)t);
    cr_assert_float_eq(s->v[i], v, 1e-12, "point %zu: value %g, want %g", i, s->v[i], v);
    cr_assert_eq(s->line[i], line, "point %zu: line %lld, want %lld", i, (long long)s->line[i], (long long)line);
}

Test(ingest_series, iso_times_in_their_forms)
{
    char *dir = kt_tmpdir();
    char *p = file(dir, "s.csv",
                   "time,value\n"
                   "2026-01-01T00:00:00Z,1\n"
                   "2026-01-01T10:00:00+09:00,2.5\n" /* 01:00 UTC */
                   "2026-01-01 02:00:00,-3\n"
                   "2026-01-01T03:00:00-01:00,1e3\n" /* 04:00 UTC */
                   "2026-01-02,0\n");
    kz_series s = read_ok(p, "time", "value");
    cr_assert_eq(s.n, 5, "%zu points", s.n);
    assert_point(&s, 0, secs("2026-01-01T00:00:00Z"), 1, 2);
    assert_point(&s, 1, secs("2026-01-01T01:00:00Z"), 2.5, 3);
    assert_point(&s, 2, secs("2026-01-01T02:00:00Z"), -3, 4);
    assert_point(&s, 3, secs("2026-01-01T04:00:00Z"), 1000, 5);
    assert_point(&s, 4, secs("2026-01-02T00:00:00Z"), 0, 6);
    cr_assert_eq(s.t[0], 1767225600, "2026-01-01T00:00:00Z is %lld", (long long)s.t[0]);
    kz_series_free(&s);
    cr_assert_eq(s.n, 0);
    cr_assert_null(s.t);
    kt_rmrf(dir);
}

Test(ingest_series, seconds_since_1970)
{
    char *dir = kt_tmpdir();
    char *p = file(dir, "s.csv",
                   "time,value\n"
                   "1767225600,10\n"
                   "1767229200,11\n"
                   "1767232800,12\n");
    kz_series s = read_ok(p, "time", "value");
    cr_assert_eq(s.n, 3);
    assert_point(&s, 0, secs("2026-01-01T00:00:00Z"), 10, 2);
    assert_point(&s, 1, secs("2026-01-01T01:00:00Z"), 11, 3);
    assert_point(&s, 2, secs("2026-01-01T02:00:00Z"), 12, 4);
    kz_series_free(&s);
    kt_rmrf(dir);
}

Test(ingest_series, custom_column_names_and_extra_columns)
{
    char *dir = kt_tmpdir();
    char *p = file(dir, "s.csv",
                   "id,region,when,note,signups,churned\n"
                   "a,eu,2026-03-01,first,120,4\n"
                   "b,us,2026-03-02,\"with, a comma\",131,5\n"
                   "c,eu,2026-03-03,,99,6\n");
    kz_series s = read_ok(p, "when", "signups");
    cr_assert_eq(s.n, 3);
    assert_point(&s, 0, secs("2026-03-01"), 120, 2);
    assert_point(&s, 1, secs("2026-03-02"), 131, 3);
    assert_point(&s, 2, secs("2026-03-03"), 99, 4);
    kz_series_free(&s);
    s = read_ok(p, "when", "churned");
    cr_assert_eq(s.n, 3);
    assert_point(&s, 2, secs("2026-03-03"), 6, 4);
    kz_series_free(&s);
    kt_rmrf(dir);
}

Test(ingest_series, quotes_blank_lines_and_crlf)
{
    char *dir = kt_tmpdir();
    char *p = file(dir, "s.csv",
                   "\"ts\",\"n\"\r\n"
                   "\"2026-01-01T00:00:00Z\",\"5\"\r\n"
                   "\r\n"
                   "2026-01-01T01:00:00Z,6\r\n");
    kz_series s = read_ok(p, "ts", "n");
    cr_assert_eq(s.n, 2, "%zu points", s.n);
    assert_point(&s, 0, secs("2026-01-01T00:00:00Z"), 5, 2);
    assert_point(&s, 1, secs("2026-01-01T01:00:00Z"), 6, 4);
    kz_series_free(&s);
    kt_rmrf(dir);
}

/* Reading path must fail as invalid with nothing in out. */
static void read_fails(const char *path, const char *tc, const char *vc, struct errors *e)
{
    kz_series s;
    memset(&s, 0xab, sizeof s);
    int rc = kz_series_read(&s, path, tc, vc, collect, e);
    cr_assert_eq(rc, KZ_EINVALID, "%s: rc %d (%s)", path, rc, kz_error_msg());
    cr_assert_eq(s.n, 0, "%zu points left in out after the error", s.n);
    cr_assert(s.t == NULL && s.v == NULL && s.line == NULL, "arrays left in out after the error");
    kz_series_free(&s); /* harmless on the empty series */
}

static void assert_msg(const struct errors *e, int i, const char *want)
{
    cr_assert_lt(i, e->n, "only %d errors reported, wanted one saying %s", e->n, want);
    cr_assert(strstr(e->msg[i], want), "error %d is \"%s\", not \"%s\"", i, e->msg[i], want);
}

Test(ingest_series, bad_rows_are_reported_by_line_and_column)
{
    char *dir = kt_tmpdir();
    char *p = file(dir, "bad.csv",
                   "time,value\n"
                   "2026-01-01T00:00:00Z,1\n"  /* 2 */
                   "yesterday,2\n"             /* 3: the time */
                   "2026-01-01T02:00:00Z,abc\n" /* 4: the value */
                   "2026-01-01T00:00:00Z,4\n"  /* 5: not after line 2 */
                   "2026-01-01T03:00:00Z,\n"   /* 6: no value */
                   "2026-01-01T04:00:00Z,7\n"  /* 7: good */
                   "2026-01-01T04:00:00Z,8\n"  /* 8: the same time again */
                   "2026-13-01T00:00:00Z,9\n"  /* 9: no such month */
                   "2026-01-01T05:00:00Z,nan\n" /* 10: not a finite number */
                   "2026-01-01T06:00:00Z,1\n"); /* 11: good */
    struct errors e = { 0 };
    read_fails(p, "time", "value", &e);
    char want[512];
    cr_assert_eq(e.n, 7, "%d errors reported, want 7 (first: %s)", e.n, e.n ? e.msg[0] : "none");
    snprintf(want, sizeof want, "%s:3: time: 'yesterday' is not a time", p);
    assert_msg(&e, 0, want);
    snprintf(want, sizeof want, "%s:4: value: 'abc' is not a number", p);
    assert_msg(&e, 1, want);
    snprintf(want, sizeof want, "%s:5: time: not after line 2", p);
    assert_msg(&e, 2, want);
    snprintf(want, sizeof want, "%s:6: value: '' is not a number", p);
    assert_msg(&e, 3, want);
    snprintf(want, sizeof want, "%s:8: time: not after line 7", p);
    assert_msg(&e, 4, want);
    snprintf(want, sizeof want, "%s:9: time: '2026-13-01T00:00:00Z' is not a time", p);
    assert_msg(&e, 5, want);
    snprintf(want, sizeof want, "%s:10: value: 'nan' is not a number", p);
    assert_msg(&e, 6, want);
    cr_assert(strstr(kz_error_msg(), "7 rows cannot be read"), "the error: %s", kz_error_msg());
    errors_free(&e);
    kt_rmrf(dir);
}

Test(ingest_series, a_row_missing_its_column_is_reported)
{
    char *dir = kt_tmpdir();
    char *p = file(dir, "short.csv",
                   "time,value\n"
                   "2026-01-01T00:00:00Z,1\n"
                   "2026-01-01T01:00:00Z\n"
                   "2026-01-01T02:00:00Z,3\n");
    struct errors e = { 0 };
    read_fails(p, "time", "value", &e);
    cr_assert_eq(e.n, 1, "%d errors reported", e.n);
    char want[512];
    snprintf(want, sizeof want, "%s:3: ", p);
    assert_msg(&e, 0, want);
    assert_msg(&e, 0, "value: missing");
    cr_assert(strstr(kz_error_msg(), "1 row cannot be read"), "the error: %s", kz_error_msg());
    errors_free(&e);
    kt_rmrf(dir);
}

Test(ingest_series, a_column_missing_from_the_header_is_named)
{
    char *dir = kt_tmpdir();
    char *p = file(dir, "s.csv",
                   "when,amount\n"
                   "2026-01-01,1\n");
    struct errors e = { 0 };
    char want[512];
    read_fails(p, "time", "amount", &e);
    snprintf(want, sizeof want, "%s:1: header: no column 'time'", p);
    cr_assert(strstr(kz_error_msg(), want), "the error \"%s\" does not hold \"%s\"", kz_error_msg(), want);
    read_fails(p, "when", "value", &e);
    snprintf(want, sizeof want, "%s:1: header: no column 'value'", p);
    cr_assert(strstr(kz_error_msg(), want), "the error \"%s\" does not hold \"%s\"", kz_error_msg(), want);
    /* the header is the file's problem, not a row's: it comes back as the error, not through on_error */
    cr_assert_eq(e.n, 0, "%d rows reported for a missing header column", e.n);
    /* column names are matched exactly */
    read_fails(p, "When", "amount", &e);
    errors_free(&e);
    kt_rmrf(dir);
}

Test(ingest_series, an_empty_file_and_a_missing_one)
{
    char *dir = kt_tmpdir();
    char *p = file(dir, "empty.csv", "");
    struct errors e = { 0 };
    read_fails(p, "time", "value", &e);
    cr_assert(strstr(kz_error_msg(), "empty"), "the error: %s", kz_error_msg());
    kz_series s;
    char *missing = kt_path(dir, "missing.csv");
    int rc = kz_series_read(&s, missing, "time", "value", collect, &e);
    cr_assert_eq(rc, KZ_EIO, "a missing file: rc %d (%s)", rc, kz_error_msg());
    cr_assert_eq(s.n, 0);
    /* a header only: a series of no points */
    char *hdr = file(dir, "header.csv", "time,value\n");
    s = read_ok(hdr, "time", "value");
    cr_assert_eq(s.n, 0);
    kz_series_free(&s);
    cr_assert_eq(e.n, 0);
    kt_rmrf(dir);
}
