/*
 * engine_health_test.c - health definitions: the default is valid, every
 * mistake is named with its place, weights are shares of 100, a definition
 * reads back the same; and every signal has a sentence.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "engine/health.h"
#include "engine/signals.h"

static kz_health_def *parse_ok(const char *json)
{
    kz_health_def *d;
    cr_assert_eq(kz_health_def_parse(&d, json, strlen(json), "t.json"), KZ_OK, "%s", kz_error_msg());
    return d;
}

Test(engine_health, the_default_is_valid_and_reads_back_the_same)
{
    kz_health_def *d = parse_ok(kz_health_default_json());
    cr_assert_eq(kz_health_segments(d), 1);
    cr_assert_eq(kz_health_factors(d, 0), 7);
    double total = 0;
    for (size_t f = 0; f < 7; f++)
        total += kz_health_factor_weight(d, 0, f);
    cr_assert_float_eq(total, 100, 1e-9);
    cr_assert_eq(kz_health_factor_signal(d, 0, 0), kz_signal_find("users_trend", 11));
    kz_buf a, b;
    kz_buf_init(&a, KZ_BUF_UNLIMITED);
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    cr_assert_eq(kz_health_def_json(d, &a), 0);
    kz_health_def *again = parse_ok(a.data);
    cr_assert_eq(kz_health_def_json(again, &b), 0);
    cr_assert_str_eq(a.data, b.data);
    kz_buf_free(&a);
    kz_buf_free(&b);
    kz_health_def_free(d);
    kz_health_def_free(again);
}

Test(engine_health, weights_are_shares_of_100_per_segment)
{
    kz_health_def *d = parse_ok("{\"segments\": [{\"name\": \"big\", \"filter\": [\"plan=pro\"], \"factors\": ["
                                "{\"name\": \"a\", \"signal\": \"mau\", \"curve\": \"percentile\", \"weight\": 3},"
                                "{\"name\": \"b\", \"field\": \"employees\", \"curve\": \"linear\", \"zero\": 0,"
                                " \"full\": 100, \"weight\": 1}]},"
                                "{\"name\": \"rest\", \"factors\": [{\"name\": \"c\", \"signal\": \"nps_last\","
                                " \"curve\": \"steps\", \"steps\": [{\"at_least\": 9, \"points\": 100}], \"weight\": 7}]}]}");
    cr_assert_float_eq(kz_health_factor_weight(d, 0, 0), 75, 1e-9);
    cr_assert_float_eq(kz_health_factor_weight(d, 0, 1), 25, 1e-9);
    cr_assert_float_eq(kz_health_factor_weight(d, 1, 0), 100, 1e-9);
    cr_assert_eq(kz_health_factor_signal(d, 0, 1), -1);
    size_t n;
    const char *const *f = kz_health_segment_filters(d, 0, &n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(f[0], "plan=pro");
    kz_health_set_factor_weight(d, 0, 1, 3);
    cr_assert_float_eq(kz_health_factor_weight(d, 0, 1), 50, 1e-9);
    kz_health_def_free(d);
}

Test(engine_health, mistakes_are_named_with_their_place)
{
    static const struct {
        const char *json, *says;
    } bad[] = {
        { "[1]", "a health definition is a JSON object" },
        { "{\"segments\": [", "not JSON" },
        { "{\"segment\": []}", "t.json: segment: unknown key" },
        { "{\"segments\": []}", "segments: must be a non-empty list" },
        { "{\"bands\": {\"green\": 30, \"yellow\": 60}, \"segments\": [{\"name\": \"a\", \"factors\": []}]}",
          "bands.yellow: 60 is above green (30)" },
        { "{\"segments\": [{\"name\": \"a\", \"factors\": []}]}", "segments[0].factors: must be a non-empty list" },
        { "{\"segments\": [{\"name\": \"a\", \"factors\": [{\"name\": \"x\", \"signal\": \"logins\", \"curve\":"
          " \"percentile\", \"weight\": 1}]}]}",
          "segments[0].factors[0].signal: 'logins' is not a signal (one of: events," },
        { "{\"segments\": [{\"name\": \"a\", \"factors\": [{\"name\": \"x\", \"signal\": \"mau\", \"field\": \"y\","
          " \"curve\": \"percentile\", \"weight\": 1}]}]}",
          "segments[0].factors[0]: a factor measures one thing" },
        { "{\"segments\": [{\"name\": \"a\", \"factors\": [{\"name\": \"x\", \"signal\": \"mau\", \"curve\":"
          " \"linear\", \"zero\": 1, \"full\": 1, \"weight\": 1}]}]}",
          "segments[0].factors[0].full: must differ from 'zero'" },
        { "{\"segments\": [{\"name\": \"a\", \"factors\": [{\"name\": \"x\", \"signal\": \"mau\", \"curve\":"
          " \"steps\", \"steps\": [{\"at_most\": 1, \"points\": 150}], \"weight\": 1}]}]}",
          "segments[0].factors[0].steps[0].points: 150 is out of range (0 to 100)" },
        { "{\"segments\": [{\"name\": \"a\", \"factors\": [{\"name\": \"x\", \"signal\": \"mau\", \"curve\":"
          " \"spline\", \"weight\": 1}]}]}",
          "segments[0].factors[0].curve: must be \"linear\"" },
        { "{\"segments\": [{\"name\": \"a\", \"factors\": [{\"name\": \"x\", \"signal\": \"mau\", \"curve\":"
          " \"percentile\", \"wieght\": 1}]}]}",
          "segments[0].factors[0].wieght: unknown key" },
        { "{\"segments\": [{\"name\": \"a\", \"factors\": [{\"name\": \"x\", \"signal\": \"mau\", \"curve\":"
          " \"percentile\", \"weight\": 0}]}]}",
          "segments[0].factors: the weights add up to 0" },
        { "{\"segments\": [{\"name\": \"a\", \"factors\": [{\"name\": \"x\", \"signal\": \"mau\", \"curve\":"
          " \"percentile\", \"weight\": 1}]}, {\"name\": \"a\", \"factors\": [{\"name\": \"x\", \"signal\": \"mau\","
          " \"curve\": \"percentile\", \"weight\": 1}]}]}",
          "segments[1].name: 'a' names two segments" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kz_health_def *d = (kz_health_def *)1;
        cr_assert_eq(kz_health_def_parse(&d, bad[i].json, strlen(bad[i].json), "t.json"), KZ_EINVALID, "case %zu",
                     i);
        cr_assert_null(d);
        cr_assert(strstr(kz_error_msg(), bad[i].says) != NULL, "case %zu: %s", i, kz_error_msg());
    }
}

Test(engine_health, every_signal_reads_as_a_sentence)
{
    double row[KZ_NSIGNALS];
    for (int k = 0; k < KZ_NSIGNALS; k++)
        row[k] = 4;
    for (int k = 0; k < KZ_NSIGNALS; k++) {
        kz_buf b;
        kz_buf_init(&b, KZ_BUF_UNLIMITED);
        cr_assert_eq(kz_signal_describe(&b, k, row), 0);
        cr_assert(b.len > 5 && !strchr(b.data, '{'), "%s: '%s'", kz_signal_defs()[k].name, b.data ? b.data : "");
        kz_buf_free(&b);
    }
    row[kz_signal_find("nps_last", 8)] = NAN;
    kz_buf b;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    cr_assert_eq(kz_signal_describe(&b, kz_signal_find("nps_last", 8), row), 0);
    cr_assert_str_eq(b.data, "no NPS answer yet");
    kz_buf_free(&b);
    row[kz_signal_find("active_users_prev", 17)] = 42;
    row[kz_signal_find("active_users", 12)] = 17;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    cr_assert_eq(kz_signal_describe(&b, kz_signal_find("users_trend", 11), row), 0);
    cr_assert_str_eq(b.data, "active users went from 42 to 17 between the last two windows");
    kz_buf_free(&b);
}
