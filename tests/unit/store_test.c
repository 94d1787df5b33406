/*
 * store_test.c - the store contract on the SQLite backend: round trips of
 * every entity, change detection, references, custom fields, dictionaries,
 * event blocks, and migrations from older schemas.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "store/backend.h"
#include "store/store.h"
#include "../support/support.h"

static char *dir;
static char *db;

static void setup(void)
{
    dir = kt_tmpdir();
    db = kt_path(dir, "t.db");
}

static void teardown(void)
{
    kt_rmrf(dir);
}

TestSuite(store, .init = setup, .fini = teardown);

#define TXT(s) kz_vtext(s, strlen(s))

static int64_t add_account(kz_store *st, const char *key, const char *name)
{
    kz_value row[KZ_ACCOUNT_NCOLS] = { TXT(key), TXT(name), kz_vnull(), kz_vnull(), kz_vnull(), kz_vint(0) };
    int64_t id = 0;
    kz_row_change ch;
    cr_assert_eq(kz_store_upsert(st, KZ_ENT_ACCOUNT, row, 0x3, 0, &id, &ch), 0, "%s", kz_error_msg());
    return id;
}

Test(store, open_needs_create_flag_and_rejects_foreign_files)
{
    kz_store *st;
    cr_assert_eq(kz_store_open(&st, db, 0), KZ_ENOTFOUND);
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    int cur, latest;
    cr_assert_eq(kz_store_schema_version(st, &cur, &latest), 0);
    cr_assert_eq(cur, latest);
    kz_store_close(st);
    /* a text file is not a database */
    char *txt = kt_path(dir, "notes.txt");
    kt_write(txt, "this is not sqlite\n", (size_t)-1);
    cr_assert_neq(kz_store_open(&st, txt, KZ_STORE_CREATE), 0);
    cr_assert(strstr(kz_error_msg(), "notes.txt"), "%s", kz_error_msg());
    /* another program's SQLite database is left alone */
    char *other = kt_path(dir, "other.db");
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(other, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(h, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    cr_assert_eq(kz_store_open(&st, other, KZ_STORE_CREATE), KZ_ECONFLICT);
    cr_assert(strstr(kz_error_msg(), "another program"), "%s", kz_error_msg());
}

Test(store, a_newer_schema_is_refused)
{
    kz_store *st;
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    kz_store_close(st);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(h, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    cr_assert_eq(kz_store_open(&st, db, 0), KZ_ECONFLICT);
    cr_assert(strstr(kz_error_msg(), "newer"), "%s", kz_error_msg());
}

Test(store, migrations_from_every_older_version_keep_the_data)
{
    int latest = 0, cur = 0;
    kz_store *st;
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    kz_store_schema_version(st, &cur, &latest);
    kz_store_close(st);
    for (int v = 1; v < latest; v++) {
        char name[32];
        snprintf(name, sizeof name, "v%d.db", v);
        char *path = kt_path(dir, name);
        cr_assert_eq(kz_sqlite_open_at_version(&st, path, v), 0, "%s", kz_error_msg());
        kz_store_schema_version(st, &cur, &latest);
        cr_assert_eq(cur, v);
        cr_assert_eq(kz_store_begin(st), 0);
        int64_t acc = add_account(st, "acc_old", "株式会社オールド");
        kz_value sub[KZ_SUB_NCOLS] = { TXT("s1"), kz_vint(acc), TXT("pro"), kz_vint(990000), kz_vint(3),
                                       kz_vint(19000), kz_vnull() };
        cr_assert_eq(kz_store_upsert(st, KZ_ENT_SUBSCRIPTION, sub, 0x7f, 0, NULL, NULL), 0);
        cr_assert_eq(kz_store_commit(st), 0);
        kz_store_close(st);
        /* a normal open migrates forward */
        cr_assert_eq(kz_store_open(&st, path, 0), 0, "%s", kz_error_msg());
        kz_store_schema_version(st, &cur, &latest);
        cr_assert_eq(cur, latest);
        kz_store_stats stats;
        cr_assert_eq(kz_store_stats_get(st, 19001, &stats), 0);
        cr_assert_eq(stats.rows[KZ_ENT_ACCOUNT], 1);
        cr_assert_eq(stats.mrr, 990000);
        cr_assert_eq(stats.paying_accounts, 1);
        kz_store_close(st);
    }
}

Test(store, read_only_open_migrates_an_old_schema_and_refuses_writes)
{
    kz_store *st;
    int cur, latest;
    cr_assert_eq(kz_sqlite_open_at_version(&st, db, 1), 0);
    kz_store_close(st);
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_READONLY), 0, "%s", kz_error_msg());
    cr_assert_eq(kz_store_schema_version(st, &cur, &latest), 0);
    cr_assert_eq(cur, latest);
    kz_value row[KZ_ACCOUNT_NCOLS] = { TXT("a"), kz_vnull(), kz_vnull(), kz_vnull(), kz_vnull(), kz_vnull() };
    cr_assert_eq(kz_store_upsert(st, KZ_ENT_ACCOUNT, row, 1, 0, NULL, NULL), KZ_EINVALID);
    kz_store_close(st);
}

struct seen {
    int n;
    char name[64], domain[64];
};

static int each_account(void *ctx, int64_t rid, const kz_value *r)
{
    (void)rid;
    struct seen *s = ctx;
    s->n++;
    snprintf(s->name, sizeof s->name, "%.*s", (int)r[1].n, r[1].s);
    snprintf(s->domain, sizeof s->domain, "%.*s", (int)r[2].n, r[2].s);
    return 0;
}

Test(store, upsert_detects_new_changed_and_unchanged_and_keeps_absent_columns)
{
    kz_store *st;
    kz_row_change ch;
    int64_t id, id2;
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    cr_assert_eq(kz_store_begin(st), 0);
    kz_value row[KZ_ACCOUNT_NCOLS] = { TXT("acc_1"), TXT("Acme"), TXT("acme.com"), TXT("SaaS"), TXT("Emily"),
                                       kz_vint(1000) };
    cr_assert_eq(kz_store_upsert(st, KZ_ENT_ACCOUNT, row, 0x3f, 0, &id, &ch), 0);
    cr_assert_eq(ch, KZ_ROW_INSERTED);
    cr_assert_eq(kz_store_upsert(st, KZ_ENT_ACCOUNT, row, 0x3f, 0, &id2, &ch), 0);
    cr_assert_eq(ch, KZ_ROW_UNCHANGED);
    cr_assert_eq(id, id2);
    /* only the name column given: the others are kept */
    kz_value part[KZ_ACCOUNT_NCOLS] = { TXT("acc_1"), TXT("Acme Corp"), kz_vnull(), kz_vnull(), kz_vnull(), kz_vnull() };
    cr_assert_eq(kz_store_upsert(st, KZ_ENT_ACCOUNT, part, 0x3, 0, NULL, &ch), 0);
    cr_assert_eq(ch, KZ_ROW_UPDATED);
    cr_assert_eq(kz_store_commit(st), 0);
    struct seen seen = { 0, "", "" };
    cr_assert_eq(kz_store_each(st, KZ_ENT_ACCOUNT, each_account, &seen), 0);
    cr_assert_eq(seen.n, 1);
    cr_assert_str_eq(seen.name, "Acme Corp");
    cr_assert_str_eq(seen.domain, "acme.com");
    kz_store_close(st);
}

Test(store, references_must_exist_and_checks_hold)
{
    kz_store *st;
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    cr_assert_eq(kz_store_begin(st), 0);
    kz_value sub[KZ_SUB_NCOLS] = { TXT("s1"), kz_vint(12345), TXT("pro"), kz_vint(100), kz_vnull(), kz_vint(10),
                                   kz_vnull() };
    cr_assert_eq(kz_store_upsert(st, KZ_ENT_SUBSCRIPTION, sub, 0x7f, 0, NULL, NULL), KZ_EINVALID);
    int64_t acc = add_account(st, "a", "A");
    sub[1] = kz_vint(acc);
    sub[6] = kz_vint(5); /* ends before it starts */
    cr_assert_eq(kz_store_upsert(st, KZ_ENT_SUBSCRIPTION, sub, 0x7f, 0, NULL, NULL), KZ_EINVALID);
    sub[6] = kz_vint(40);
    cr_assert_eq(kz_store_upsert(st, KZ_ENT_SUBSCRIPTION, sub, 0x7f, 0, NULL, NULL), 0);
    cr_assert_eq(kz_store_rollback(st), 0);
    int64_t n;
    cr_assert_eq(kz_store_count(st, KZ_ENT_SUBSCRIPTION, &n), 0);
    cr_assert_eq(n, 0);
    kz_store_close(st);
}

static int each_ticket(void *ctx, int64_t id, const kz_value *r)
{
    (void)id;
    snprintf(ctx, 32, "%.*s", (int)r[KZ_TICKET_CATEGORY].n, r[KZ_TICKET_CATEGORY].s);
    return 0;
}

Test(store, defaults_apply_to_new_rows_only)
{
    kz_store *st;
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    cr_assert_eq(kz_store_begin(st), 0);
    int64_t acc = add_account(st, "a", "A");
    kz_value t[KZ_TICKET_NCOLS];
    for (int i = 0; i < KZ_TICKET_NCOLS; i++)
        t[i] = kz_vnull();
    t[KZ_TICKET_KEY] = TXT("t1");
    t[KZ_TICKET_ACCOUNT] = kz_vint(acc);
    t[KZ_TICKET_OPENED] = kz_vint(5);
    t[KZ_TICKET_CATEGORY] = TXT("operational");
    t[KZ_TICKET_CATEGORY_SOURCE] = TXT("imported");
    uint64_t present = 1 << KZ_TICKET_KEY | 1 << KZ_TICKET_ACCOUNT | 1 << KZ_TICKET_OPENED;
    uint64_t defaults = 1 << KZ_TICKET_CATEGORY | 1 << KZ_TICKET_CATEGORY_SOURCE;
    kz_row_change ch;
    cr_assert_eq(kz_store_upsert(st, KZ_ENT_TICKET, t, present | defaults, 0, NULL, &ch), 0);
    t[KZ_TICKET_CATEGORY] = TXT("functional");
    t[KZ_TICKET_CATEGORY_SOURCE] = TXT("classified");
    cr_assert_eq(kz_store_upsert(st, KZ_ENT_TICKET, t, present, defaults, NULL, &ch), 0);
    cr_assert_eq(ch, KZ_ROW_UNCHANGED);
    char cat[32] = "";
    cr_assert_eq(kz_store_each(st, KZ_ENT_TICKET, each_ticket, cat), 0);
    cr_assert_str_eq(cat, "operational");
    kz_store_close(st);
}

Test(store, custom_fields_typed_values_and_change_detection)
{
    kz_store *st;
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    cr_assert_eq(kz_store_begin(st), 0);
    int64_t acc = add_account(st, "a", "A");
    int64_t fnum, ftxt;
    cr_assert_eq(kz_store_field_define(st, "employees", KZ_FIELD_NUMBER, &fnum), 0);
    cr_assert_eq(kz_store_field_define(st, "region", KZ_FIELD_TEXT, &ftxt), 0);
    cr_assert_eq(kz_store_field_define(st, "region", KZ_FIELD_TEXT, NULL), KZ_ECONFLICT);
    int changed;
    kz_value v = kz_vreal(120);
    cr_assert_eq(kz_store_field_set(st, acc, fnum, &v, &changed), 0);
    cr_assert(changed);
    cr_assert_eq(kz_store_field_set(st, acc, fnum, &v, &changed), 0);
    cr_assert(!changed);
    kz_value t = TXT("関東");
    cr_assert_eq(kz_store_field_set(st, acc, ftxt, &t, &changed), 0);
    cr_assert_eq(kz_store_commit(st), 0);
    kz_field_def *defs;
    size_t n;
    cr_assert_eq(kz_store_fields(st, &defs, &n), 0);
    cr_assert_eq(n, 2);
    kz_value vals[2];
    cr_assert_eq(kz_store_field_values(st, acc, defs, n, vals), 0);
    cr_assert_eq(vals[0].kind, KZ_VREAL);
    cr_assert_float_eq(vals[0].d, 120, 0);
    cr_assert_eq(vals[1].kind, KZ_VTEXT);
    cr_assert_eq(memcmp(vals[1].s, "関東", vals[1].n), 0);
    free(defs);
    kz_store_close(st);
}

Test(store, dictionaries_and_blocks)
{
    kz_store *st;
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    cr_assert_eq(kz_store_begin(st), 0);
    int64_t acc = add_account(st, "a", "A");
    cr_assert_eq(kz_store_dict_add(st, KZ_DICT_USERS, 1, "u1", 2, acc), 0);
    cr_assert_eq(kz_store_dict_add(st, KZ_DICT_USERS, 2, "ユーザー", strlen("ユーザー"), acc), 0);
    cr_assert_eq(kz_store_dict_add(st, KZ_DICT_USERS, 1, "dup", 3, acc), KZ_EINVALID);
    cr_assert_eq(kz_store_dict_add(st, KZ_DICT_EVENT_NAMES, 1, "login", 5, 0), 0);
    kz_block_meta m = { 0, 100, 200, 3, 0, 0 };
    cr_assert_eq(kz_store_block_put(st, &m, "abc", 3, NULL), 0);
    kz_block_meta m2 = { 0, 150, 400, 1, 0, -1 };
    cr_assert_eq(kz_store_block_put(st, &m2, "de", 2, NULL), 0);
    cr_assert_eq(kz_store_commit(st), 0);
    kz_strmap *map = kz_strmap_new(4);
    uint32_t max;
    cr_assert_eq(kz_store_dict_load(st, KZ_DICT_USERS, map, &max), 0);
    cr_assert_eq(max, 2);
    cr_assert_eq(kz_strmap_get(map, "ユーザー", strlen("ユーザー")), 2);
    kz_strmap_free(map);
    char **arr;
    size_t n;
    cr_assert_eq(kz_store_dict_array(st, KZ_DICT_USERS, &arr, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_null(arr[0]);
    cr_assert_str_eq(arr[1], "u1");
    cr_assert_str_eq(arr[2], "ユーザー");
    kz_store_dict_free(arr);
    kz_block_meta *list;
    cr_assert_eq(kz_store_block_list(st, 300, 500, &list, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(list[0].n_events, 1);
    cr_assert_eq(list[0].n_ids, -1, "a block whose ids were not counted says so");
    free(list);
    cr_assert_eq(kz_store_block_list(st, INT64_MIN, INT64_MAX, &list, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(list[0].n_ids, 0);
    kz_buf b;
    kz_buf_init(&b, 100);
    cr_assert_eq(kz_store_block_get(st, list[0].id, &b), 0);
    cr_assert_str_eq(kz_buf_cstr(&b), "abc");
    cr_assert_eq(kz_store_block_get(st, 9999, &b), KZ_ENOTFOUND);
    kz_buf_free(&b);
    free(list);
    kz_store_stats s;
    cr_assert_eq(kz_store_stats_get(st, 0, &s), 0);
    cr_assert_eq(s.events, 4);
    cr_assert_eq(s.users, 2);
    cr_assert_eq(s.first_event, 100);
    cr_assert_eq(s.last_event, 400);
    kz_store_close(st);
}

Test(store, a_second_writer_waits_then_reports_the_lock)
{
    kz_store *a, *b;
    cr_assert_eq(kz_store_open(&a, db, KZ_STORE_CREATE), 0);
    cr_assert_eq(kz_store_open(&b, db, 0), 0);
    cr_assert_eq(kz_store_begin(a), 0);
    add_account(a, "x", "X");
    /* b reads the committed state meanwhile (WAL) */
    int64_t n = -1;
    cr_assert_eq(kz_store_count(b, KZ_ENT_ACCOUNT, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(kz_store_commit(a), 0);
    cr_assert_eq(kz_store_count(b, KZ_ENT_ACCOUNT, &n), 0);
    cr_assert_eq(n, 1);
    kz_store_close(a);
    kz_store_close(b);
}

static int collect(void *ctx, const char *key, const kz_prediction *p)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s:%.2f:%d:%s;", key, p->probability, (int)p->as_of, p->drivers);
    return KZ_OK;
}

Test(store, models_and_predictions)
{
    kz_store *st;
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    cr_assert_eq(kz_store_begin(st), 0);
    int64_t a = add_account(st, "acc_a", "A"), b = add_account(st, "acc_b", "B");
    cr_assert_eq(kz_store_commit(st), 0);
    kz_model_rec *m;
    cr_assert_eq(kz_store_model_latest(st, "churn", NULL, &m), KZ_ENOTFOUND);
    cr_assert(strstr(kz_error_msg(), "no churn model") != NULL, "%s", kz_error_msg());
    /* bodies are bytes: a NUL inside survives */
    static const char body1[] = { 'x', '\0', 'y' };
    kz_model_rec in = { 0, "churn", "logistic", 1000, 7, "{\"auc\":0.8}", (void *)body1, sizeof body1 };
    int64_t id1, id2;
    cr_assert_eq(kz_store_model_put(st, &in, &id1), 0, "%s", kz_error_msg());
    in.name = "xgboost";
    in.body = "{}";
    in.body_len = 2;
    cr_assert_eq(kz_store_model_put(st, &in, &id2), 0);
    cr_assert_gt(id2, id1);
    cr_assert_eq(kz_store_model_latest(st, "churn", "logistic", &m), 0);
    cr_assert_eq(m->id, id1);
    cr_assert_str_eq(m->meta, "{\"auc\":0.8}");
    cr_assert_eq(m->body_len, 3);
    cr_assert_eq(memcmp(m->body, body1, 3), 0);
    cr_assert_eq(m->data_version, 7);
    kz_model_rec_free(m);
    cr_assert_eq(kz_store_model_latest(st, "churn", NULL, &m), 0);
    cr_assert_str_eq(m->name, "xgboost");
    kz_model_rec_free(m);
    /* predictions: replaced whole, read back the riskiest first */
    kz_prediction p[2] = { { a, 100, 0.25, "[]" }, { b, 100, 0.75, "[\"x\"]" } };
    cr_assert_eq(kz_store_predictions_put(st, id1, p, 2, 5), 0, "%s", kz_error_msg());
    char got[512] = "";
    cr_assert_eq(kz_store_predictions_each(st, id1, collect, got), 0);
    cr_assert_str_eq(got, "acc_b:0.75:100:[\"x\"];acc_a:0.25:100:[];");
    p[0].probability = 0.5;
    cr_assert_eq(kz_store_predictions_put(st, id1, p, 1, 6), 0);
    got[0] = '\0';
    cr_assert_eq(kz_store_predictions_each(st, id1, collect, got), 0);
    cr_assert_str_eq(got, "acc_a:0.50:100:[];");
    /* a probability outside [0, 1] is refused and changes nothing */
    p[0].probability = 1.5;
    cr_assert_eq(kz_store_predictions_put(st, id1, p, 1, 7), KZ_EINVALID);
    got[0] = '\0';
    cr_assert_eq(kz_store_predictions_each(st, id1, collect, got), 0);
    cr_assert_str_eq(got, "acc_a:0.50:100:[];");
    kz_store_close(st);
    /* a read-only store refuses to write models */
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_READONLY), 0);
    cr_assert_neq(kz_store_model_put(st, &in, &id1), 0);
    cr_assert_eq(kz_store_model_latest(st, "churn", "xgboost", &m), 0);
    kz_model_rec_free(m);
    kz_store_close(st);
}

static int collect_health(void *ctx, const char *key, const kz_health_row *h)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s:%d:%.1f:%s:v%lld:%s;", key, (int)h->day, h->score, h->band, (long long)h->version,
             h->parts);
    return KZ_OK;
}

Test(store, health_definitions_and_scores)
{
    kz_store *st;
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    cr_assert_eq(kz_store_begin(st), 0);
    int64_t a = add_account(st, "acc_a", "A"), b = add_account(st, "acc_b", "B");
    cr_assert_eq(kz_store_commit(st), 0);
    int64_t v, v2;
    char *json;
    cr_assert_eq(kz_store_health_def_get(st, 0, &v, &json), KZ_ENOTFOUND);
    cr_assert_eq(kz_store_health_def_put(st, "{\"name\":\"one\"}", 1, &v), 0);
    cr_assert_eq(kz_store_health_def_put(st, "{\"name\":\"two\"}", 2, &v2), 0);
    cr_assert_eq(kz_store_health_def_get(st, 0, &v, &json), 0);
    cr_assert_eq(v, v2);
    cr_assert_str_eq(json, "{\"name\":\"two\"}");
    free(json);
    cr_assert_eq(kz_store_health_def_get(st, 1, &v, &json), 0);
    cr_assert_str_eq(json, "{\"name\":\"one\"}");
    free(json);
    kz_health_row rows[3] = { { a, 10, 55.5, "yellow", 1, "[]" }, { a, 11, 80, "green", 1, "[1]" },
                              { b, 10, 20, "red", 2, "[2]" } };
    cr_assert_eq(kz_store_health_put(st, rows, 3, 9), 0, "%s", kz_error_msg());
    rows[0].score = 60; /* the same account and day: replaced */
    cr_assert_eq(kz_store_health_put(st, rows, 1, 9), 0);
    char got[512] = "";
    cr_assert_eq(kz_store_health_each(st, 0, 0, 100, collect_health, got), 0);
    cr_assert_str_eq(got, "acc_a:10:60.0:yellow:v1:[];acc_a:11:80.0:green:v1:[1];acc_b:10:20.0:red:v2:[2];");
    got[0] = '\0';
    cr_assert_eq(kz_store_health_each(st, a, 11, 11, collect_health, got), 0);
    cr_assert_str_eq(got, "acc_a:11:80.0:green:v1:[1];");
    rows[0].score = 101;
    cr_assert_eq(kz_store_health_put(st, rows, 1, 9), KZ_EINVALID);
    kz_store_close(st);
}

static int count_users(void *ctx, const kz_user *u)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s:%s;", u->name, u->role);
    return KZ_OK;
}

static int collect_audit(void *ctx, const kz_audit *a)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s %s %s;", a->actor, a->action, a->target);
    return KZ_OK;
}

Test(store, users_tokens_sessions_and_audit)
{
    kz_store *st;
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    int64_t id, id2, tok, user, n;
    cr_assert_eq(kz_store_user_add(st, "ann", "admin", "hash1", 1, &id), 0);
    cr_assert_eq(kz_store_user_add(st, "bob", "viewer", NULL, 2, &id2), 0);
    cr_assert_eq(kz_store_user_add(st, "ann", "csm", NULL, 3, &id), KZ_ECONFLICT);
    cr_assert_eq(kz_store_user_add(st, "eve", "boss", NULL, 3, &id), KZ_EINVALID); /* not a role */
    kz_user u;
    cr_assert_eq(kz_store_user_get(st, "bob", 0, &u), 0);
    cr_assert_str_eq(u.role, "viewer");
    cr_assert_null(u.password_hash);
    kz_user_free(&u);
    cr_assert_eq(kz_store_user_set(st, "bob", "csm", "hash2"), 0);
    cr_assert_eq(kz_store_user_get(st, NULL, id2, &u), 0);
    cr_assert_str_eq(u.role, "csm");
    cr_assert_str_eq(u.password_hash, "hash2");
    kz_user_free(&u);
    cr_assert_eq(kz_store_user_set(st, "zed", "csm", NULL), KZ_ENOTFOUND);
    char got[256] = "";
    cr_assert_eq(kz_store_user_each(st, count_users, got), 0);
    cr_assert_str_eq(got, "ann:admin;bob:csm;");
    /* tokens: found until revoked */
    cr_assert_eq(kz_store_token_add(st, id2, "h-one", "abcd", 5, &tok), 0);
    cr_assert_eq(kz_store_token_add(st, id2, "h-two", "efgh", 5, &tok), 0);
    cr_assert_eq(kz_store_token_user(st, "h-one", &user), 0);
    cr_assert_eq(user, id2);
    cr_assert_eq(kz_store_token_revoke(st, id2, "abcd", 6, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(kz_store_token_user(st, "h-one", &user), KZ_ENOTFOUND);
    cr_assert_eq(kz_store_token_user(st, "h-two", &user), 0);
    cr_assert_eq(kz_store_token_revoke(st, id2, NULL, 6, &n), 0);
    cr_assert_eq(kz_store_token_user(st, "h-two", &user), KZ_ENOTFOUND);
    /* sessions: until they expire */
    char *csrf;
    cr_assert_eq(kz_store_session_add(st, "s1", id2, "c1", 10, 20), 0);
    cr_assert_eq(kz_store_session_get(st, "s1", 15, &user, &csrf), 0);
    cr_assert_str_eq(csrf, "c1");
    free(csrf);
    cr_assert_eq(kz_store_session_get(st, "s1", 20, &user, &csrf), KZ_ENOTFOUND);
    cr_assert_eq(kz_store_session_remove(st, "s1"), 0);
    /* removing a user takes its tokens and sessions */
    cr_assert_eq(kz_store_session_add(st, "s2", id2, "c2", 10, 99), 0);
    cr_assert_eq(kz_store_user_remove(st, "bob"), 0);
    cr_assert_eq(kz_store_session_get(st, "s2", 15, &user, &csrf), KZ_ENOTFOUND);
    cr_assert_eq(kz_store_user_remove(st, "bob"), KZ_ENOTFOUND);
    /* the audit log, newest first */
    kz_audit a1 = { 0, 1, "ann", "user.add", "bob", "{}", "127.0.0.1" };
    kz_audit a2 = { 0, 2, "ann", "user.remove", "bob", "{}", "127.0.0.1" };
    cr_assert_eq(kz_store_audit_add(st, &a1), 0);
    cr_assert_eq(kz_store_audit_add(st, &a2), 0);
    got[0] = '\0';
    cr_assert_eq(kz_store_audit_each(st, 0, 10, collect_audit, got), 0);
    cr_assert_str_eq(got, "ann user.remove bob;ann user.add bob;");
    got[0] = '\0';
    cr_assert_eq(kz_store_audit_each(st, 0, 1, collect_audit, got), 0);
    cr_assert_str_eq(got, "ann user.remove bob;");
    kz_store_close(st);
}

static int count_row(void *ctx, int64_t id, const kz_value *row)
{
    (void)id;
    (void)row;
    ++*(int *)ctx;
    return 0;
}

static int first_key(void *ctx, int64_t id, const kz_value *row)
{
    (void)id;
    char *out = ctx;
    if (!*out)
        snprintf(out, 64, "%.*s|%.*s", (int)row[0].n, row[0].s, (int)row[1].n, row[1].s);
    return 0;
}

Test(store, one_row_rows_of_an_account_and_deletes)
{
    kz_store *st;
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    cr_assert_eq(kz_store_begin(st), 0);
    int64_t a = add_account(st, "acc1", "One"), b = add_account(st, "acc2", "Two");
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof key, "t%d", i);
        kz_value t[KZ_TICKET_NCOLS];
        for (int c = 0; c < KZ_TICKET_NCOLS; c++)
            t[c] = kz_vnull();
        t[KZ_TICKET_KEY] = TXT(key);
        t[KZ_TICKET_ACCOUNT] = kz_vint(i < 2 ? a : b);
        t[KZ_TICKET_OPENED] = kz_vint(1000 + i);
        cr_assert_eq(kz_store_upsert(st, KZ_ENT_TICKET, t, (1 << KZ_TICKET_KEY) | (1 << KZ_TICKET_ACCOUNT) |
                                                               (1 << KZ_TICKET_OPENED), 0, NULL, NULL), 0, "%s", kz_error_msg());
    }
    cr_assert_eq(kz_store_commit(st), 0);
    char got[64] = "";
    kz_value key = TXT("t1");
    cr_assert_eq(kz_store_get(st, KZ_ENT_TICKET, &key, first_key, got), 0);
    cr_assert_str_eq(got, "t1|acc1", "the reference comes back as the account's key");
    key = TXT("t9");
    cr_assert_eq(kz_store_get(st, KZ_ENT_TICKET, &key, first_key, got), KZ_ENOTFOUND);
    got[0] = '\0';
    int n = 0;
    cr_assert_eq(kz_store_each_of_account(st, KZ_ENT_TICKET, a, 10, first_key, got), 0);
    cr_assert_str_eq(got, "t1|acc1", "the newest first");
    cr_assert_eq(kz_store_each_of_account(st, KZ_ENT_TICKET, a, 1, count_row, &n), 0);
    cr_assert_eq(n, 1, "at most the limit");
    cr_assert_eq(kz_store_each_of_account(st, KZ_ENT_SPEND, a, 1, count_row, &n), KZ_EINVALID);
    /* an account goes with its rows */
    key = TXT("acc1");
    cr_assert_eq(kz_store_begin(st), 0);
    cr_assert_eq(kz_store_delete(st, KZ_ENT_ACCOUNT, &key), 0);
    cr_assert_eq(kz_store_delete(st, KZ_ENT_ACCOUNT, &key), KZ_ENOTFOUND);
    cr_assert_eq(kz_store_commit(st), 0);
    int64_t tickets = 0;
    cr_assert_eq(kz_store_count(st, KZ_ENT_TICKET, &tickets), 0);
    cr_assert_eq(tickets, 1);
    kz_value sk[2] = { kz_vint(5), TXT("") };
    cr_assert_eq(kz_store_delete(st, KZ_ENT_SPEND, sk), KZ_ENOTFOUND);
    kz_store_close(st);
}

Test(store, block_replace_delete_count_and_a_read_snapshot)
{
    kz_store *st, *other;
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    cr_assert_eq(kz_store_open(&other, db, 0), 0);
    kz_block_meta m = { 0, 100, 200, 3, 0, -1 };
    int64_t id1, id2, count = 0;
    cr_assert_eq(kz_store_block_put(st, &m, "abc", 3, &id1), 0);
    cr_assert_eq(kz_store_block_put(st, &m, "def", 3, &id2), 0);
    cr_assert_eq(kz_store_event_count(st, &count), 0);
    cr_assert_eq(count, 6);
    /* a snapshot keeps seeing one state while another handle writes */
    int started = 0;
    cr_assert_eq(kz_store_snapshot_begin(other, &started), 0);
    cr_assert(started);
    kz_block_meta big = { 0, 100, 300, 6, 0, 2 };
    cr_assert_eq(kz_store_begin(st), 0);
    cr_assert_eq(kz_store_block_replace(st, id1, &big, "abcdef", 6), 0);
    cr_assert_eq(kz_store_block_delete(st, id2), 0);
    cr_assert_eq(kz_store_block_delete(st, id2), KZ_ENOTFOUND);
    cr_assert_eq(kz_store_commit(st), 0);
    kz_block_meta *list;
    size_t n;
    cr_assert_eq(kz_store_block_list(other, INT64_MIN, INT64_MAX, &list, &n), 0);
    cr_assert_eq(n, 2, "the snapshot still sees both blocks");
    free(list);
    cr_assert_eq(kz_store_begin(other), KZ_ECONFLICT, "no transaction inside a snapshot");
    kz_store_snapshot_end(other, started);
    cr_assert_eq(kz_store_block_list(other, INT64_MIN, INT64_MAX, &list, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(list[0].id, id1, "the merged block keeps the first one's id");
    cr_assert_eq(list[0].n_events, 6);
    cr_assert_eq(list[0].n_ids, 2);
    free(list);
    cr_assert_eq(kz_store_block_set_ids(st, id1, 0), 0);
    cr_assert_eq(kz_store_block_set_ids(st, id2, 0), KZ_ENOTFOUND);
    cr_assert_eq(kz_store_event_count(other, &count), 0);
    cr_assert_eq(count, 6);
    kz_store_close(other);
    kz_store_close(st);
}
