/*
 * ingest_ndjson_test.c - the flat JSON object scanner (src/ingest/ndjson.c).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "ingest/ndjson.h"

static kz_ndjson p;

static void setup(void)
{
    kz_ndjson_init(&p, 1 << 20);
}

static void teardown(void)
{
    kz_ndjson_free(&p);
}

static int parse(const char *s)
{
    return kz_ndjson_parse(&p, s, strlen(s));
}

static const kz_jpair *get(const char *key)
{
    for (size_t i = 0; i < p.n; i++)
        if (p.pairs[i].key_len == strlen(key) && memcmp(p.pairs[i].key, key, p.pairs[i].key_len) == 0)
            return &p.pairs[i];
    return NULL;
}

TestSuite(ingest_ndjson, .init = setup, .fini = teardown);

Test(ingest_ndjson, types)
{
    cr_assert_eq(parse(" {\"s\":\"x\", \"n\": -1.5e3, \"t\":true, \"f\":false, \"z\":null, \"o\":{\"a\":[1,{}]}, "
                       "\"a\":[\"]\"]} "),
                 0, "%s", kz_error_msg());
    cr_assert_eq(p.n, 7);
    cr_assert_eq(get("s")->type, KZ_JSTRING);
    cr_assert_eq(get("n")->type, KZ_JNUMBER);
    cr_assert_eq(get("n")->val_len, 6);
    cr_assert_eq(memcmp(get("n")->val, "-1.5e3", 6), 0);
    cr_assert_eq(get("t")->type, KZ_JBOOL);
    cr_assert_eq(get("z")->type, KZ_JNULL);
    cr_assert_eq(get("o")->type, KZ_JOBJECT);
    cr_assert_eq(memcmp(get("o")->val, "{\"a\":[1,{}]}", get("o")->val_len), 0);
    cr_assert_eq(get("a")->type, KZ_JARRAY);
    cr_assert_eq(parse("{}"), 0);
    cr_assert_eq(p.n, 0);
}

Test(ingest_ndjson, escapes_and_unicode)
{
    cr_assert_eq(parse("{\"k\\u00e9y\":\"a\\\"b\\\\c\\/d\\n\\t\\u65e5\\u672c\\ud83d\\ude00\",\"plain\":\"日本\"}"), 0,
                 "%s", kz_error_msg());
    const kz_jpair *k = get("k\xc3\xa9y");
    cr_assert_not_null(k);
    const char expect[] = "a\"b\\c/d\n\t日本\xf0\x9f\x98\x80";
    cr_assert_eq(k->val_len, sizeof expect - 1);
    cr_assert_eq(memcmp(k->val, expect, k->val_len), 0);
    cr_assert_eq(memcmp(get("plain")->val, "日本", 6), 0);
}

Test(ingest_ndjson, malformed_lines_say_where)
{
    const char *bad[] = {
        "[1,2]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":tru}",
        "{\"a\":\"x}", "{\"a\":\"\\x\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00x\"}", "{\"a\":{\"b\":}}",
        "{\"a\":1} x", "{\"a\":\"tab\there\"}", "{\"a\":1,\"a\":2}", "", "{", "{\"a\":[1,2}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(parse(bad[i]), KZ_EINVALID, "accepted: %s", bad[i]);
        cr_assert_neq(kz_error_msg()[0], '\0');
    }
    parse("{\"a\":1,}");
    cr_assert(strstr(kz_error_msg(), "column 8"), "%s", kz_error_msg());
    parse("{\"a\":1,\"a\":2}");
    cr_assert(strstr(kz_error_msg(), "'a' appears twice"), "%s", kz_error_msg());
}

Test(ingest_ndjson, many_keys_duplicate_check_stays_linear)
{
    char line[200000];
    size_t n = 0;
    line[n++] = '{';
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(line + n, sizeof line - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    n += (size_t)snprintf(line + n, sizeof line - n, ",\"k17\":0}");
    cr_assert_eq(kz_ndjson_parse(&p, line, n), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "k17"));
}
