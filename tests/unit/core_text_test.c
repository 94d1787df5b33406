/*
 * core_text_test.c - UTF-8 checks and strict number parsing (src/core/text.c).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/text.h"

#define UTF8_OK(s) cr_assert_eq(kz_utf8_invalid_at(s, sizeof(s) - 1), sizeof(s) - 1, "%s", #s)
#define UTF8_BAD_AT(s, at) cr_assert_eq(kz_utf8_invalid_at(s, sizeof(s) - 1), (size_t)(at), "%s", #s)

Test(core_text, utf8_valid)
{
    UTF8_OK("plain ascii, long enough to use the word-at-a-time path");
    UTF8_OK("株式会社さくらテック");
    UTF8_OK("caf\xc3\xa9");
    UTF8_OK("\xf0\x9f\x98\x80 emoji");
    UTF8_OK("\xef\xbf\xbf");
    UTF8_OK("\xf4\x8f\xbf\xbf");
}

Test(core_text, utf8_invalid)
{
    UTF8_BAD_AT("abc\xff", 3);
    UTF8_BAD_AT("\xc0\xaf", 0);          /* overlong '/' */
    UTF8_BAD_AT("\xe0\x80\xaf", 0);      /* overlong */
    UTF8_BAD_AT("ab\xed\xa0\x80", 2);    /* surrogate */
    UTF8_BAD_AT("\xf4\x90\x80\x80", 0);  /* above U+10FFFF */
    UTF8_BAD_AT("xyz\xe3\x81", 3);       /* truncated */
    UTF8_BAD_AT("\x80", 0);              /* lone continuation */
    UTF8_BAD_AT("12345678\xc3(", 8);     /* bad continuation after the fast path */
}

Test(core_text, control_characters)
{
    cr_assert_eq(kz_control_at("a\tb\r\nc", 6), 6);
    cr_assert_eq(kz_control_at("a\x01", 2), 1);
    cr_assert_eq(kz_control_at("a\0b", 3), 1);
    cr_assert_eq(kz_control_at("a\x7f", 2), 1);
}

static int64_t fixed(const char *s)
{
    int64_t v = 0;
    cr_assert_eq(kz_parse_fixed(&v, s, strlen(s), 4), 0, "%s: %s", s, kz_error_msg());
    return v;
}

Test(core_text, fixed_point_is_exact)
{
    cr_assert_eq(fixed("1234.5"), 12345000);
    cr_assert_eq(fixed("0.0001"), 1);
    cr_assert_eq(fixed("-3"), -30000);
    cr_assert_eq(fixed("+7.25"), 72500);
    cr_assert_eq(fixed("1e3"), 10000000);
    cr_assert_eq(fixed("1.5E-2"), 150);
    cr_assert_eq(fixed("12.340000"), 123400);
    cr_assert_eq(fixed(".5"), 5000);
    cr_assert_eq(fixed("0"), 0);
    cr_assert_eq(fixed("900000000000000"), INT64_C(9000000000000000000));
    int64_t v;
    cr_assert_eq(kz_parse_fixed(&v, "0.00001", 7, 4), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "decimal places"));
    cr_assert_eq(kz_parse_fixed(&v, "1e-5", 4, 4), KZ_EINVALID);
    cr_assert_eq(kz_parse_fixed(&v, "1000000000000000", 16, 4), KZ_EINVALID);
    cr_assert_eq(kz_parse_fixed(&v, "1,000", 5, 4), KZ_EINVALID);
    cr_assert_eq(kz_parse_fixed(&v, "", 0, 4), KZ_EINVALID);
    cr_assert_eq(kz_parse_fixed(&v, "abc", 3, 4), KZ_EINVALID);
    cr_assert_eq(kz_parse_fixed(&v, "1.2.3", 5, 4), KZ_EINVALID);
    cr_assert_eq(kz_parse_fixed(&v, "NaN", 3, 4), KZ_EINVALID);
}

Test(core_text, fixed_point_formatting)
{
    char buf[KZ_FIXED_BUF];
    kz_format_fixed(buf, 12345000, 4, 2);
    cr_assert_str_eq(buf, "1234.50");
    kz_format_fixed_min(buf, 12345000, 4, 2);
    cr_assert_str_eq(buf, "1234.50");
    kz_format_fixed_min(buf, 12345678, 4, 2);
    cr_assert_str_eq(buf, "1234.5678");
    kz_format_fixed_min(buf, -5, 4, 0);
    cr_assert_str_eq(buf, "-0.0005");
    kz_format_fixed_min(buf, 30000, 4, 0);
    cr_assert_str_eq(buf, "3");
    kz_format_fixed(buf, INT64_C(9000000000000000000), 4, 4);
    cr_assert_str_eq(buf, "900000000000000.0000");
}

Test(core_text, integers)
{
    int64_t v;
    cr_assert_eq(kz_parse_int(&v, "42", 2, 0, 100), 0);
    cr_assert_eq(v, 42);
    cr_assert_eq(kz_parse_int(&v, "-9223372036854775808", 20, INT64_MIN, INT64_MAX), 0);
    cr_assert_eq(v, INT64_MIN);
    cr_assert_eq(kz_parse_int(&v, "9223372036854775808", 19, INT64_MIN, INT64_MAX), KZ_EINVALID);
    cr_assert_eq(kz_parse_int(&v, "11", 2, 0, 10), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "out of range"));
    cr_assert_eq(kz_parse_int(&v, "1.0", 3, 0, 10), KZ_EINVALID);
    cr_assert_eq(kz_parse_int(&v, "", 0, 0, 10), KZ_EINVALID);
    cr_assert_eq(kz_parse_int(&v, "-", 1, -10, 10), KZ_EINVALID);
}

Test(core_text, doubles)
{
    double d;
    cr_assert_eq(kz_parse_double(&d, "3.25", 4), 0);
    cr_assert_float_eq(d, 3.25, 0);
    cr_assert_eq(kz_parse_double(&d, "-1e-3", 5), 0);
    cr_assert_float_eq(d, -0.001, 1e-18);
    cr_assert_eq(kz_parse_double(&d, "inf", 3), KZ_EINVALID);
    cr_assert_eq(kz_parse_double(&d, "nan", 3), KZ_EINVALID);
    cr_assert_eq(kz_parse_double(&d, "1e400", 5), KZ_EINVALID);
    cr_assert_eq(kz_parse_double(&d, "0x10", 4), KZ_EINVALID);
    char buf[KZ_DOUBLE_BUF];
    double xs[] = { 0.1, 1.0 / 3, 123456789.125, 1e-300, 17 };
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        kz_format_double(buf, xs[i]);
        cr_assert_eq(kz_parse_double(&d, buf, strlen(buf)), 0);
        cr_assert_eq(d, xs[i], "%s", buf);
    }
    kz_format_double(buf, 17);
    cr_assert_str_eq(buf, "17");
}

Test(core_text, booleans)
{
    int b;
    const char *yes[] = { "true", "TRUE", "Yes", "1", "t", "Y" };
    const char *no[] = { "false", "False", "no", "0", "f", "N" };
    for (size_t i = 0; i < 6; i++) {
        cr_assert_eq(kz_parse_bool(&b, yes[i], strlen(yes[i])), 0);
        cr_assert_eq(b, 1);
        cr_assert_eq(kz_parse_bool(&b, no[i], strlen(no[i])), 0);
        cr_assert_eq(b, 0);
    }
    cr_assert_eq(kz_parse_bool(&b, "maybe", 5), KZ_EINVALID);
    cr_assert_eq(kz_parse_bool(&b, "truee", 5), KZ_EINVALID);
}
