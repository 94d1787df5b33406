/*
 * ingest_csv_test.c - the RFC 4180 reader (src/ingest/csv.c): every corner of
 * the format, broken input and its resynchronisation, and chunk boundaries.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ingest/csv.h"
#include "../support/support.h"

/* Reads all of text; appends one line per record ("L<line>:" then fields
 * separated by '|'), or "L<line>:ERROR <msg>" for a bad one. */
static char *dump(const char *text, size_t n, size_t max_record)
{
    kz_csv *r;
    kz_csv_rec rec;
    size_t cap = 65536, len = 0;
    char *out = calloc(1, cap);
    cr_assert_eq(kz_csv_open_mem(&r, text, n, max_record), 0);
    int rc;
    while ((rc = kz_csv_next(r, &rec)) != 0) {
        if (rc == KZ_EINVALID) {
            len += (size_t)snprintf(out + len, cap - len, "L%lld:ERROR %s\n", (long long)rec.line, kz_error_msg());
            continue;
        }
        cr_assert_eq(rc, 1);
        len += (size_t)snprintf(out + len, cap - len, "L%lld:", (long long)rec.line);
        for (size_t i = 0; i < rec.nfields; i++)
            len += (size_t)snprintf(out + len, cap - len, "%s%.*s", i ? "|" : "", (int)rec.f[i].n, rec.f[i].p);
        len += (size_t)snprintf(out + len, cap - len, "\n");
    }
    kz_csv_close(r);
    return out;
}

#define CHECK(text, expect)                                             \
    do {                                                                \
        char *got_ = dump(text, sizeof(text) - 1, 1 << 20);             \
        cr_assert_str_eq(got_, expect);                                 \
        free(got_);                                                     \
    } while (0)

Test(ingest_csv, plain_fields_and_line_ends)
{
    CHECK("a,b,c\n1,2,3\n", "L1:a|b|c\nL2:1|2|3\n");
    CHECK("a,b\r\n1,2\r\n", "L1:a|b\nL2:1|2\n");
    CHECK("a,b\r1,2\r", "L1:a|b\nL2:1|2\n");
    CHECK("a,b\n1,2", "L1:a|b\nL2:1|2\n");           /* no final line end */
    CHECK("a,,c\n,,\n", "L1:a||c\nL2:||\n");         /* empty fields */
}

Test(ingest_csv, byte_order_mark_is_skipped)
{
    CHECK("\xEF\xBB\xBFid,name\n1,x\n", "L1:id|name\nL2:1|x\n");
}

Test(ingest_csv, quoted_fields)
{
    CHECK("\"a,b\",c\n", "L1:a,b|c\n");
    CHECK("\"say \"\"hi\"\"\",x\n", "L1:say \"hi\"|x\n");
    CHECK("\"\",x\n", "L1:|x\n");
    CHECK("\"\"\"\"\n", "L1:\"\n");
    CHECK("x,\"end\"\n", "L1:x|end\n");
    CHECK("x,\"end\"", "L1:x|end\n");
}

Test(ingest_csv, line_breaks_inside_quotes_keep_line_numbers)
{
    CHECK("h\n\"one\ntwo\"\nnext\n", "L1:h\nL2:one\ntwo\nL4:next\n");
    CHECK("h\r\n\"a\r\nb\"\r\nz\r\n", "L1:h\nL2:a\r\nb\nL4:z\n");
}

Test(ingest_csv, blank_lines_are_skipped)
{
    CHECK("a\n\n\nb\n\n", "L1:a\nL4:b\n");
    CHECK("a\n\"\"\n", "L1:a\nL2:\n"); /* a quoted empty field is a record */
}

Test(ingest_csv, a_quote_inside_an_unquoted_field_is_an_error_and_the_next_line_is_read)
{
    char *got = dump("a,b\nx,ab\"c\ny,z\n", 15, 1 << 20);
    cr_assert(strstr(got, "L2:ERROR quote inside an unquoted field"), "%s", got);
    cr_assert(strstr(got, "L3:y|z\n"), "%s", got);
    free(got);
}

Test(ingest_csv, text_after_a_closing_quote_is_an_error)
{
    char *got = dump("\"ab\"c,d\nok,1\n", 13, 1 << 20);
    cr_assert(strstr(got, "L1:ERROR unexpected character 'c' after a closing quote"), "%s", got);
    cr_assert(strstr(got, "L2:ok|1\n"), "%s", got);
    free(got);
}

Test(ingest_csv, an_unterminated_quote_costs_one_line_not_the_file)
{
    const char text[] = "h,i\n1,\"never closed\n2,b\n3,c\n";
    char *got = dump(text, sizeof text - 1, 1 << 20);
    cr_assert(strstr(got, "L2:ERROR unterminated quoted field"), "%s", got);
    cr_assert(strstr(got, "L3:2|b\n"), "%s", got);
    cr_assert(strstr(got, "L4:3|c\n"), "%s", got);
    free(got);
}

Test(ingest_csv, a_record_longer_than_the_limit_is_refused)
{
    char text[5000];
    memset(text, 'x', sizeof text);
    memcpy(text, "h\n", 2);
    text[4000] = '\n';
    memcpy(text + 4001, "ok\n", 3);
    char *got = dump(text, 4004, 1024);
    cr_assert(strstr(got, "L2:ERROR record longer than 1024 bytes"), "%s", got);
    cr_assert(strstr(got, "L3:ok\n"), "%s", got);
    free(got);
}

Test(ingest_csv, raw_bytes_are_the_record_as_written)
{
    const char text[] = "a,\"b,\"\"c\"\"\"\r\nnext\n";
    kz_csv *r;
    kz_csv_rec rec;
    cr_assert_eq(kz_csv_open_mem(&r, text, sizeof text - 1, 1 << 20), 0);
    cr_assert_eq(kz_csv_next(r, &rec), 1);
    cr_assert_eq(rec.raw_len, strlen("a,\"b,\"\"c\"\"\""));
    cr_assert_eq(memcmp(rec.raw, "a,\"b,\"\"c\"\"\"", rec.raw_len), 0);
    cr_assert_eq(rec.nfields, 2);
    cr_assert_eq(rec.f[1].n, 5);
    cr_assert_eq(memcmp(rec.f[1].p, "b,\"c\"", 5), 0);
    kz_csv_close(r);
}

Test(ingest_csv, lines_mode_for_ndjson)
{
    const char text[] = "\xEF\xBB\xBF{\"a\":1}\r\n\n  \n{\"b\":2}";
    kz_csv *r;
    kz_csv_rec rec;
    cr_assert_eq(kz_csv_open_mem(&r, text, sizeof text - 1, 1 << 20), 0);
    cr_assert_eq(kz_csv_next_line(r, &rec), 1);
    cr_assert_eq(rec.line, 1);
    cr_assert_eq(rec.f[0].n, 7);
    cr_assert_eq(kz_csv_next_line(r, &rec), 1);
    cr_assert_eq(rec.line, 4);
    cr_assert_eq(memcmp(rec.f[0].p, "{\"b\":2}", 7), 0);
    cr_assert_eq(kz_csv_next_line(r, &rec), 0);
    kz_csv_close(r);
}

/* Records that straddle the reader's 4 MiB chunks: quoted fields with commas,
 * quotes and line breaks, read from a real file, must come back intact. */
Test(ingest_csv, records_across_chunk_boundaries_from_a_file)
{
    char *dir = kt_tmpdir();
    char *path = kt_path(dir, "big.csv");
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs("id,text\n", f);
    const int n = 120000;
    for (int i = 0; i < n; i++)
        fprintf(f, "%d,\"row %d, with \"\"quotes\"\"\nand a second line %s\"\r\n", i, i,
                i % 1000 == 0 ? "padded padded padded padded padded padded padded padded" : "");
    fclose(f);
    kz_csv *r;
    kz_csv_rec rec;
    cr_assert_eq(kz_csv_open(&r, path, 1 << 20), 0);
    cr_assert_eq(kz_csv_next(r, &rec), 1);
    for (int i = 0; i < n; i++) {
        char expect[200];
        cr_assert_eq(kz_csv_next(r, &rec), 1, "record %d", i);
        cr_assert_eq(rec.line, 2 + 2 * i);
        int len = snprintf(expect, sizeof expect, "row %d, with \"quotes\"\nand a second line %s", i,
                           i % 1000 == 0 ? "padded padded padded padded padded padded padded padded" : "");
        cr_assert_eq(rec.f[1].n, (size_t)len, "record %d", i);
        cr_assert_eq(memcmp(rec.f[1].p, expect, (size_t)len), 0, "record %d", i);
    }
    cr_assert_eq(kz_csv_next(r, &rec), 0);
    cr_assert_eq(kz_csv_offset(r), kz_csv_size(r));
    kz_csv_close(r);
    kt_rmrf(dir);
}

Test(ingest_csv, missing_file_is_an_io_error)
{
    kz_csv *r;
    cr_assert_eq(kz_csv_open(&r, "/nonexistent/file.csv", 1024), KZ_EIO);
    cr_assert(strstr(kz_error_msg(), "/nonexistent/file.csv"));
}
