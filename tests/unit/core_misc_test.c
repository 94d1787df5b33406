/*
 * core_misc_test.c - buffers, arenas, the string map, writers and the
 * configuration table (src/core/).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/csvw.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/jsonw.h"
#include "core/rng.h"
#include "core/vec.h"
#include "../support/support.h"

Test(core_buf, cap_is_enforced_and_state_kept)
{
    kz_buf b;
    kz_buf_init(&b, 8);
    cr_assert_eq(kz_buf_puts(&b, "12345"), 0);
    cr_assert_eq(kz_buf_puts(&b, "6789"), KZ_ETOOBIG);
    cr_assert_str_eq(kz_buf_cstr(&b), "12345");
    cr_assert_eq(kz_buf_printf(&b, "%d", 678), 0);
    cr_assert_str_eq(kz_buf_cstr(&b), "12345678");
    cr_assert_eq(kz_buf_putc(&b, 'x'), KZ_ETOOBIG);
    kz_buf_free(&b);
}

Test(core_arena, many_allocations_aligned_and_big_ones)
{
    kz_arena *a = kz_arena_new(256);
    cr_assert_not_null(a);
    for (int i = 0; i < 1000; i++) {
        char *p = kz_arena_alloc(a, (size_t)(i % 37) + 1);
        cr_assert_not_null(p);
        cr_assert_eq((uintptr_t)p % 16, 0);
        memset(p, 'x', (size_t)(i % 37) + 1);
    }
    char *big = kz_arena_alloc(a, 100000);
    cr_assert_not_null(big);
    memset(big, 0, 100000);
    char *s = kz_arena_printf(a, "%s-%d", "k", 7);
    cr_assert_str_eq(s, "k-7");
    kz_arena_reset(a);
    cr_assert_eq(kz_arena_used(a), 0);
    cr_assert_null(kz_arena_alloc(a, SIZE_MAX));
    kz_arena_free(a);
    kz_arena_free(NULL);
}

Test(core_hash, strmap_inline_and_long_keys)
{
    kz_strmap *m = kz_strmap_new(4);
    char key[64];
    for (uint32_t i = 0; i < 50000; i++) {
        int n = snprintf(key, sizeof key, i % 3 ? "usr_%08u" : "a-much-longer-key-than-sixteen-bytes-%u", i);
        cr_assert_eq(kz_strmap_put(m, key, (size_t)n, i), 0);
    }
    cr_assert_eq(kz_strmap_count(m), 50000);
    for (uint32_t i = 0; i < 50000; i++) {
        int n = snprintf(key, sizeof key, i % 3 ? "usr_%08u" : "a-much-longer-key-than-sixteen-bytes-%u", i);
        cr_assert_eq(kz_strmap_get(m, key, (size_t)n), i);
    }
    cr_assert_eq(kz_strmap_get(m, "usr_0000000", 11), -1);
    cr_assert_eq(kz_strmap_get(m, "", 0), -1);
    /* keys that differ only past the 8th byte, and exactly 16 bytes long */
    cr_assert_eq(kz_strmap_put(m, "0123456789abcdef", 16, 1), 0);
    cr_assert_eq(kz_strmap_put(m, "0123456789abcdeg", 16, 2), 0);
    cr_assert_eq(kz_strmap_get(m, "0123456789abcdef", 16), 1);
    cr_assert_eq(kz_strmap_get(m, "0123456789abcdeg", 16), 2);
    cr_assert_eq(kz_strmap_put(m, "0123456789abcdef", 16, 9), 0);
    cr_assert_eq(kz_strmap_get(m, "0123456789abcdef", 16), 9);
    size_t it = 0, seen = 0, n;
    const char *k;
    uint32_t v;
    while (kz_strmap_next(m, &it, &k, &n, &v))
        seen++;
    cr_assert_eq(seen, kz_strmap_count(m));
    kz_strmap_free(m);
}

Test(core_vec, push_and_grow)
{
    KZ_VEC(int64_t) v = { 0 };
    for (int64_t i = 0; i < 10000; i++)
        cr_assert_eq(kz_vec_push(&v, i * 3), 0);
    cr_assert_eq(v.n, 10000);
    cr_assert_eq(v.v[9999], 29997);
    kz_vec_free(&v);
    cr_assert_null(v.v);
}

Test(core_jsonw, escapes_and_structure)
{
    kz_buf b;
    kz_jw w;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    kz_jw_init(&w, &b);
    kz_jw_obj(&w);
    kz_jw_key(&w, "s");
    kz_jw_str(&w, "a\"b\\c\n\x01日本");
    kz_jw_key(&w, "n");
    kz_jw_int(&w, -5);
    kz_jw_key(&w, "d");
    kz_jw_double(&w, 0.5);
    kz_jw_key(&w, "nan");
    kz_jw_double(&w, 0.0 / 0.0);
    kz_jw_key(&w, "a");
    kz_jw_arr(&w);
    kz_jw_bool(&w, 1);
    kz_jw_null(&w);
    kz_jw_end(&w);
    kz_jw_end(&w);
    cr_assert_eq(kz_jw_error(&w), 0);
    cr_assert_str_eq(kz_buf_cstr(&b),
                     "{\"s\":\"a\\\"b\\\\c\\n\\u0001日本\",\"n\":-5,\"d\":0.5,\"nan\":null,\"a\":[true,null]}");
    kz_buf_free(&b);
}

Test(core_jsonw, misuse_is_an_error)
{
    kz_buf b;
    kz_jw w;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    kz_jw_init(&w, &b);
    kz_jw_obj(&w);
    kz_jw_int(&w, 1); /* a value where a key is due */
    cr_assert_neq(kz_jw_error(&w), 0);
    kz_buf_free(&b);
}

Test(core_csvw, quoting)
{
    kz_buf b;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    const char *fields[] = { "plain", "a,b", "say \"hi\"", "two\nlines", " padded", NULL, "株式" };
    kz_csvw_record(&b, fields, 7);
    cr_assert_str_eq(kz_buf_cstr(&b), "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\" padded\",,株式\n");
    kz_buf_free(&b);
}

Test(core_rng, deterministic_and_in_range)
{
    kz_rng a, b;
    kz_rng_seed(&a, 42);
    kz_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(kz_rng_u64(&a), kz_rng_u64(&b));
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = kz_rng_unif(&a);
        cr_assert(u >= 0 && u < 1);
        int64_t r = kz_rng_range(&a, -3, 3);
        cr_assert(r >= -3 && r <= 3);
        sum += (double)kz_rng_poisson(&a, 4.0);
    }
    cr_assert(sum / 100000 > 3.9 && sum / 100000 < 4.1);
}

Test(core_config, defaults_file_env_and_flags)
{
    kz_config cfg;
    char *dir = kt_tmpdir();
    char *ini = kt_path(dir, "k.ini");
    kt_write(ini, "[db]\npath = /tmp/from-file.db\n[import]\nmax_errors = 7\n", (size_t)-1);
    unsetenv("KIZUNA_DB");
    cr_assert_eq(kz_config_load(&cfg, NULL), 0);
    cr_assert_str_eq(cfg.db_path, "kizuna.db");
    kz_config_free(&cfg);
    cr_assert_eq(kz_config_load(&cfg, ini), 0, "%s", kz_error_msg());
    cr_assert_str_eq(cfg.db_path, "/tmp/from-file.db");
    cr_assert_eq(cfg.import_max_errors, 7);
    kz_config_free(&cfg);
    setenv("KIZUNA_IMPORT_MAX_ERRORS", "9", 1);
    cr_assert_eq(kz_config_load(&cfg, ini), 0);
    cr_assert_eq(cfg.import_max_errors, 9);
    cr_assert_eq(kz_config_set(&cfg, "import.max_errors", "11", KZ_SRC_FLAG), 0);
    cr_assert_eq(cfg.import_max_errors, 11);
    cr_assert_eq(kz_config_set(&cfg, "import.max_errors", "-1", KZ_SRC_FLAG), KZ_EINVALID);
    cr_assert_eq(kz_config_set(&cfg, "no.such", "1", KZ_SRC_FLAG), KZ_ENOTFOUND);
    cr_assert_eq(kz_config_set(&cfg, "log.level", "loud", KZ_SRC_FLAG), KZ_EINVALID);
    kz_config_free(&cfg);
    unsetenv("KIZUNA_IMPORT_MAX_ERRORS");
    kt_write(ini, "[import]\nmax_errors = lots\n", (size_t)-1);
    cr_assert_eq(kz_config_load(&cfg, ini), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "k.ini:2"), "%s", kz_error_msg());
    kt_write(ini, "[import]\nbogus = 1\n", (size_t)-1);
    cr_assert_eq(kz_config_load(&cfg, ini), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "import.bogus"), "%s", kz_error_msg());
    kt_rmrf(dir);
}
