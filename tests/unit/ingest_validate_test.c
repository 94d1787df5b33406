/*
 * ingest_validate_test.c - every field kind of the import contract
 * (src/ingest/schema.c), with values it must take and values it must refuse.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"
#include "ingest/schema.h"

struct vcase {
    kz_ftype type;
    const char *choices;
    size_t max_len;
    kz_jtype jtype;
    const char *in;
    int ok;              /* 1: accepted, 0: refused */
    kz_vkind kind;       /* when accepted */
    int64_t i;           /* KZ_VINT result */
    const char *text;    /* KZ_VTEXT result */
    const char *why;     /* when refused: part of the reason */
};

#define S KZ_JSTRING
#define N KZ_JNUMBER
#define B KZ_JBOOL
#define O KZ_JOBJECT
#define A KZ_JARRAY

static const struct vcase cases[] = {
    /* ids */
    { KZ_F_KEY, NULL, 16, S, "acc_001", 1, KZ_VTEXT, 0, "acc_001", NULL },
    { KZ_F_KEY, NULL, 16, N, "42", 1, KZ_VTEXT, 0, "42", NULL },
    { KZ_F_KEY, NULL, 16, S, "顧客-1", 1, KZ_VTEXT, 0, "顧客-1", NULL },
    { KZ_F_KEY, NULL, 16, S, " acc", 0, 0, 0, NULL, "white space" },
    { KZ_F_KEY, NULL, 16, S, "acc\t1", 0, 0, 0, NULL, "tabs or line breaks" },
    { KZ_F_KEY, NULL, 4, S, "toolong", 0, 0, 0, NULL, "longer than 4 bytes" },
    { KZ_F_KEY, NULL, 16, S, "a\x01", 0, 0, 0, NULL, "control character" },
    { KZ_F_KEY, NULL, 16, S, "a\xc3", 0, 0, 0, NULL, "invalid UTF-8" },
    { KZ_F_KEY, NULL, 16, B, "true", 0, 0, 0, NULL, "found a JSON boolean" },
    /* text */
    { KZ_F_TEXT, NULL, 100, S, "Line one\nline two\ttab", 1, KZ_VTEXT, 0, "Line one\nline two\ttab", NULL },
    { KZ_F_TEXT, NULL, 100, N, "3.5", 1, KZ_VTEXT, 0, "3.5", NULL },
    { KZ_F_TEXT, NULL, 100, O, "{}", 0, 0, 0, NULL, "found a JSON object" },
    { KZ_F_TEXT, NULL, 0, S, "uses the import.max_field_bytes limit", 0, 0, 0, NULL, "longer than 8 bytes" },
    /* references */
    { KZ_F_ACCOUNT, NULL, 16, S, "acc_1", 1, KZ_VINT, 7, NULL, NULL },
    { KZ_F_ACCOUNT, NULL, 16, S, "acc_x", 0, 0, 0, NULL, "account 'acc_x' does not exist" },
    { KZ_F_CONTACT, NULL, 16, S, "con_1", 1, KZ_VINT, 3, NULL, NULL },
    { KZ_F_CONTACT, NULL, 16, S, "con_2", 0, 0, 0, NULL, "import contacts first" },
    /* times, dates, months */
    { KZ_F_TIME, NULL, 64, S, "1970-01-01T00:00:01Z", 1, KZ_VINT, 1000000, NULL, NULL },
    { KZ_F_TIME, NULL, 64, S, "1970-01-01T09:00:00+09:00", 1, KZ_VINT, 0, NULL, NULL },
    { KZ_F_TIME, NULL, 64, S, "1970-01-02", 1, KZ_VINT, INT64_C(86400000000), NULL, NULL },
    { KZ_F_TIME, NULL, 64, S, "yesterday", 0, 0, 0, NULL, "expected a date" },
    { KZ_F_TIME, NULL, 64, N, "1700000000", 0, 0, 0, NULL, "found a JSON number" },
    { KZ_F_DATE, NULL, 64, S, "1970-01-03", 1, KZ_VINT, 2, NULL, NULL },
    { KZ_F_DATE, NULL, 64, S, "1970-01-03 10:00", 0, 0, 0, NULL, "without a time of day" },
    { KZ_F_DATE, NULL, 64, S, "2023-02-29", 0, 0, 0, NULL, "does not exist" },
    { KZ_F_MONTH, NULL, 16, S, "1970-02", 1, KZ_VINT, 1970 * 12 + 1, NULL, NULL },
    { KZ_F_MONTH, NULL, 16, S, "1970-2", 0, 0, 0, NULL, "YYYY-MM" },
    /* money and numbers */
    { KZ_F_MONEY, NULL, 64, S, "1234.5", 1, KZ_VINT, 12345000, NULL, NULL },
    { KZ_F_MONEY, NULL, 64, N, "0.0001", 1, KZ_VINT, 1, NULL, NULL },
    { KZ_F_MONEY, NULL, 64, S, "12.34567", 0, 0, 0, NULL, "more than 4 decimal places" },
    { KZ_F_MONEY, NULL, 64, S, "-1", 0, 0, 0, NULL, "must not be negative" },
    { KZ_F_MONEY, NULL, 64, S, "$12", 0, 0, 0, NULL, "expected a number" },
    { KZ_F_MONEY, NULL, 64, S, "1,200", 0, 0, 0, NULL, "expected a number" },
    { KZ_F_COUNT, NULL, 32, S, "25", 1, KZ_VINT, 25, NULL, NULL },
    { KZ_F_COUNT, NULL, 32, N, "25", 1, KZ_VINT, 25, NULL, NULL },
    { KZ_F_COUNT, NULL, 32, S, "2.5", 0, 0, 0, NULL, "expected an integer" },
    { KZ_F_COUNT, NULL, 32, S, "-1", 0, 0, 0, NULL, "out of range" },
    { KZ_F_SCORE, NULL, 8, S, "10", 1, KZ_VINT, 10, NULL, NULL },
    { KZ_F_SCORE, NULL, 8, S, "0", 1, KZ_VINT, 0, NULL, NULL },
    { KZ_F_SCORE, NULL, 8, S, "11", 0, 0, 0, NULL, "out of range (0 to 10)" },
    { KZ_F_NUMBER, NULL, 64, S, "-2.5e3", 1, KZ_VREAL, 0, NULL, NULL },
    { KZ_F_NUMBER, NULL, 64, S, "NaN", 0, 0, 0, NULL, "expected a number" },
    /* booleans and lists */
    { KZ_F_BOOL, NULL, 16, S, "Yes", 1, KZ_VINT, 1, NULL, NULL },
    { KZ_F_BOOL, NULL, 16, B, "false", 1, KZ_VINT, 0, NULL, NULL },
    { KZ_F_BOOL, NULL, 16, S, "sometimes", 0, 0, 0, NULL, "expected true or false" },
    { KZ_F_ENUM, "low|normal|high", 16, S, "HIGH", 1, KZ_VTEXT, 0, "high", NULL },
    { KZ_F_ENUM, "low|normal|high", 16, S, "hig", 0, 0, 0, NULL, "is not one of low|normal|high" },
    { KZ_F_ENUM, "low|normal|high", 16, S, "highest", 0, 0, 0, NULL, "is not one of" },
    /* addresses */
    { KZ_F_EMAIL, NULL, 254, S, "yui.sato@example.co.jp", 1, KZ_VTEXT, 0, "yui.sato@example.co.jp", NULL },
    { KZ_F_EMAIL, NULL, 254, S, "yui@", 0, 0, 0, NULL, "not an e-mail address" },
    { KZ_F_EMAIL, NULL, 254, S, "a@b@c.com", 0, 0, 0, NULL, "not an e-mail address" },
    { KZ_F_EMAIL, NULL, 254, S, "no-at-sign.com", 0, 0, 0, NULL, "not an e-mail address" },
    { KZ_F_DOMAIN, NULL, 253, S, "sakura.co.jp", 1, KZ_VTEXT, 0, "sakura.co.jp", NULL },
    { KZ_F_DOMAIN, NULL, 253, S, "http://a.com", 0, 0, 0, NULL, "looks like a URL" },
    { KZ_F_DOMAIN, NULL, 253, S, "localhost", 0, 0, 0, NULL, "not a domain name" },
    /* JSON objects */
    { KZ_F_JSON_OBJECT, NULL, 0, S, "{\"a\":[]}", 1, KZ_VTEXT, 0, "{\"a\":[]}", NULL },
    { KZ_F_JSON_OBJECT, NULL, 0, O, "{\"a\":1}", 1, KZ_VTEXT, 0, "{\"a\":1}", NULL },
    { KZ_F_JSON_OBJECT, NULL, 0, S, "[1,2]", 0, 0, 0, NULL, "not a JSON object" },
    { KZ_F_JSON_OBJECT, NULL, 0, S, "{\"a\":", 0, 0, 0, NULL, "not a JSON object" },
    { KZ_F_JSON_OBJECT, NULL, 0, A, "[1]", 0, 0, 0, NULL, "found a JSON array" },
};

Test(ingest_validate, every_field_kind_takes_and_refuses_what_it_should)
{
    kz_strmap *accounts = kz_strmap_new(4), *contacts = kz_strmap_new(4);
    kz_strmap_put(accounts, "acc_1", 5, 7);
    kz_strmap_put(contacts, "con_1", 5, 3);
    kz_vctx ctx = { accounts, contacts, 8 };
    int seen[KZ_F_NKINDS] = { 0 };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const struct vcase *c = &cases[k];
        kz_input_field f = { "f", c->type, 0, c->max_len, c->choices, 0, "" };
        kz_rawval v = { c->jtype, c->in, strlen(c->in) };
        kz_value out;
        kz_error_clear();
        int rc = kz_validate(&ctx, &f, &v, &out);
        seen[c->type] = 1;
        if (!c->ok) {
            cr_assert_eq(rc, KZ_EINVALID, "case %zu (%s): accepted", k, c->in);
            cr_assert(strstr(kz_error_msg(), c->why), "case %zu (%s): reason '%s' lacks '%s'", k, c->in,
                      kz_error_msg(), c->why);
            continue;
        }
        cr_assert_eq(rc, 0, "case %zu (%s): %s", k, c->in, kz_error_msg());
        cr_assert_eq(out.kind, c->kind, "case %zu (%s)", k, c->in);
        if (c->kind == KZ_VINT)
            cr_assert_eq(out.i, c->i, "case %zu (%s): %lld", k, c->in, (long long)out.i);
        if (c->kind == KZ_VTEXT) {
            cr_assert_eq(out.n, strlen(c->text), "case %zu (%s)", k, c->in);
            cr_assert_eq(memcmp(out.s, c->text, out.n), 0, "case %zu (%s)", k, c->in);
        }
    }
    for (int t = 0; t < KZ_F_NKINDS; t++)
        cr_assert(seen[t], "field kind %s has no case", kz_ftype_name((kz_ftype)t));
    kz_strmap_free(accounts);
    kz_strmap_free(contacts);
}

Test(ingest_validate, empty_values_are_null_and_required_ones_are_refused)
{
    kz_vctx ctx = { NULL, NULL, 64 };
    kz_input_field opt = { "plan", KZ_F_TEXT, 0, 10, NULL, 0, "" };
    kz_input_field req = { "account_id", KZ_F_KEY, 1, 10, NULL, 0, "" };
    kz_rawval empty = { KZ_JSTRING, "", 0 }, null = { KZ_JNULL, NULL, 0 };
    kz_value out;
    cr_assert_eq(kz_validate(&ctx, &opt, &empty, &out), 0);
    cr_assert_eq(out.kind, KZ_VNULL);
    cr_assert_eq(kz_validate(&ctx, &opt, &null, &out), 0);
    cr_assert_eq(kz_validate(&ctx, &req, &empty, &out), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "required"));
}
