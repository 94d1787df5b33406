/*
 * import_test.c - importing files through kz_import (src/ingest/): good rows
 * kept and bad rows reported and set aside, --strict, --dry-run, idempotent
 * re-import, custom fields, duplicates, events de-duplication, classification.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "ingest/export.h"
#include "ingest/import.h"
#include "../support/support.h"

static char *dir;
static kz_store *st;

/* Collected reject messages of the last import. */
static char rejects[16384];
static int nrejects;

static void on_reject(void *ctx, const char *msg)
{
    (void)ctx;
    size_t len = strlen(rejects);
    snprintf(rejects + len, sizeof rejects - len, "%s\n", msg);
    nrejects++;
}

static void setup(void)
{
    dir = kt_tmpdir();
    char *db = kt_path(dir, "t.db");
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    free(db);
}

static void teardown(void)
{
    kz_store_close(st);
    kt_rmrf(dir);
}

TestSuite(import, .init = setup, .fini = teardown);

static char *file(const char *name, const char *content)
{
    char *p = kt_path(dir, name);
    kt_write(p, content, (size_t)-1);
    return p;
}

/* The rejects path of the last import (results are freed at once, so that the
 * sanitizer build sees no leaks of ours). */
static char last_rejects_path[1024];

static int run_opts(kz_import_kind kind, const char *path, kz_import_opts *o, kz_import_result *res)
{
    rejects[0] = '\0';
    nrejects = 0;
    o->kind = kind;
    o->on_reject = on_reject;
    int rc = kz_import(st, path, o, res);
    snprintf(last_rejects_path, sizeof last_rejects_path, "%s", res->rejects_path ? res->rejects_path : "");
    kz_import_result_free(res);
    res->rejects_path = last_rejects_path[0] ? last_rejects_path : NULL;
    return rc;
}

static kz_import_result run(kz_import_kind kind, const char *path)
{
    kz_import_opts o;
    kz_import_result res;
    kz_import_opts_init(&o);
    int rc = run_opts(kind, path, &o, &res);
    cr_assert_eq(rc, 0, "%s", kz_error_msg());
    return res;
}

static char *export_of(kz_import_kind kind, kz_format fmt)
{
    char *p = kt_path(dir, "export.out");
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(kz_export(st, kind, fmt, f), 0, "%s", kz_error_msg());
    fclose(f);
    char *s = kt_read(p, NULL);
    free(p);
    return s;
}

static const char *ACCOUNTS = "account_id,name,domain,industry,owner,created_at\n"
                              "acc_1,\"Acme, Inc.\",acme.com,SaaS,Emily Clark,2024-01-05\n"
                              "acc_2,株式会社さくらテック,sakura.co.jp,Manufacturing,佐藤 結衣,2024-02-01\n"
                              "acc_3,\"Quote \"\"Co\"\"\",quote.co,Retail,,2024-03-01T10:00:00+09:00\n";

Test(import, good_rows_commit_and_each_bad_row_is_reported_and_set_aside)
{
    char *p = file("accounts.csv", "account_id,name,domain,created_at\n"
                                   "a1,One,one.com,2024-01-01\n"
                                   "a2,Two,https://two.com,2024-01-01\n"
                                   "a3,Three,three.com,2024-02-30\n"
                                   "a4,\"Four\nwith a line break\",four.com,2024-01-01\n"
                                   " a5,Five,five.com,2024-01-01\n"
                                   "a6,Six,six.com\n"
                                   "a7,\"Se\"ven,seven.com,2024-01-01\n"
                                   "a8,Bad \xff UTF-8,eight.com,2024-01-01\n"
                                   "a9,Nine,nine.com,2024-01-09\n");
    kz_import_result res = run(KZ_IMP_ACCOUNTS, p);
    cr_assert_eq(res.rows, 9);
    cr_assert_eq(res.inserted, 3, "%s", rejects);
    cr_assert_eq(res.rejected, 6);
    cr_assert(res.committed);
    cr_assert(kt_contains(rejects, "accounts.csv:3: domain: 'https://two.com' looks like a URL"), "%s", rejects);
    cr_assert(kt_contains(rejects, "accounts.csv:4: created_at: day 30 does not exist in 2024-02"), "%s", rejects);
    cr_assert(kt_contains(rejects, "accounts.csv:7: account_id: ' a5' starts or ends with white space"), "%s", rejects);
    cr_assert(kt_contains(rejects, "accounts.csv:8: expected 4 fields (as in the header), found 3"), "%s", rejects);
    cr_assert(kt_contains(rejects, "accounts.csv:9: unexpected character 'v' after a closing quote"), "%s", rejects);
    cr_assert(kt_contains(rejects, "accounts.csv:10: name: invalid UTF-8 at byte 5"), "%s", rejects);
    /* the rejects file holds the header and the bad rows exactly as written */
    char *rp = kt_path(dir, "accounts.rejects.csv");
    cr_assert_str_eq(last_rejects_path, rp);
    char *rej = kt_read(rp, NULL);
    cr_assert_str_eq(rej, "account_id,name,domain,created_at\n"
                          "a2,Two,https://two.com,2024-01-01\n"
                          "a3,Three,three.com,2024-02-30\n"
                          " a5,Five,five.com,2024-01-01\n"
                          "a6,Six,six.com\n"
                          "a7,\"Se\"ven,seven.com,2024-01-01\n"
                          "a8,Bad \xff UTF-8,eight.com,2024-01-01\n");
    /* the multi-line name survived */
    char *ex = export_of(KZ_IMP_ACCOUNTS, KZ_FMT_CSV);
    cr_assert(kt_contains(ex, "a4,\"Four\nwith a line break\",four.com,,,2024-01-01\n"), "%s", ex);
    /* a clean re-import removes the stale rejects file */
    char *clean = file("accounts.csv", "account_id,name\na1,One\n");
    res = run(KZ_IMP_ACCOUNTS, clean);
    cr_assert_eq(res.rejected, 0);
    cr_assert_neq(access(rp, F_OK), 0);
}

Test(import, strict_writes_nothing_when_a_row_is_bad)
{
    char *p = file("accounts.csv", "account_id,domain\na1,ok.com\na2,not a domain\n");
    kz_import_opts o;
    kz_import_result res;
    kz_import_opts_init(&o);
    o.strict = 1;
    cr_assert_eq(run_opts(KZ_IMP_ACCOUNTS, p, &o, &res), 0);
    cr_assert_eq(res.rejected, 1);
    cr_assert(!res.committed);
    int64_t n;
    cr_assert_eq(kz_store_count(st, KZ_ENT_ACCOUNT, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_str_neq(last_rejects_path, "");
}

Test(import, dry_run_validates_and_writes_nothing_at_all)
{
    char *p = file("accounts.csv", "account_id,domain\na1,ok.com\na2,not a domain\n");
    kz_import_opts o;
    kz_import_result res;
    kz_import_opts_init(&o);
    o.dry_run = 1;
    cr_assert_eq(run_opts(KZ_IMP_ACCOUNTS, p, &o, &res), 0);
    cr_assert_eq(res.inserted, 1);
    cr_assert_eq(res.rejected, 1);
    cr_assert(!res.committed);
    cr_assert_str_eq(last_rejects_path, "");
    int64_t n;
    cr_assert_eq(kz_store_count(st, KZ_ENT_ACCOUNT, &n), 0);
    cr_assert_eq(n, 0);
    char *rp = kt_path(dir, "accounts.rejects.csv");
    cr_assert_neq(access(rp, F_OK), 0);
}

Test(import, file_level_problems_stop_the_import_and_name_the_file)
{
    kz_import_opts o;
    kz_import_result res;
    kz_import_opts_init(&o);
    char *p = file("subs.csv", "subscription_id,account_id,mrr\ns1,a,10\n");
    cr_assert_eq(run_opts(KZ_IMP_SUBSCRIPTIONS, p, &o, &res), KZ_EINVALID);
    cr_assert(kt_contains(kz_error_msg(), "subs.csv:1: header: required column 'start_date' is missing"), "%s",
              kz_error_msg());
    p = file("tickets.csv", "ticket_id,account_id,opened_at,colour\nt,a,2024-01-01,red\n");
    cr_assert_eq(run_opts(KZ_IMP_TICKETS, p, &o, &res), KZ_EINVALID);
    cr_assert(kt_contains(kz_error_msg(), "column 'colour' is not a field of tickets"), "%s", kz_error_msg());
    p = file("dup.csv", "account_id,name,name\na,b,c\n");
    cr_assert_eq(run_opts(KZ_IMP_ACCOUNTS, p, &o, &res), KZ_EINVALID);
    cr_assert(kt_contains(kz_error_msg(), "appears twice"), "%s", kz_error_msg());
    p = file("empty.csv", "");
    cr_assert_eq(run_opts(KZ_IMP_ACCOUNTS, p, &o, &res), KZ_EINVALID);
    cr_assert(kt_contains(kz_error_msg(), "empty"), "%s", kz_error_msg());
    cr_assert_eq(run_opts(KZ_IMP_ACCOUNTS, "/no/such/file.csv", &o, &res), KZ_EIO);
    int64_t n;
    cr_assert_eq(kz_store_count(st, KZ_ENT_ACCOUNT, &n), 0);
    cr_assert_eq(n, 0);
}

Test(import, map_and_ignore_columns)
{
    kz_import_opts o;
    kz_import_result res;
    const char *from[] = { "id" }, *to[] = { "account_id" }, *ign[] = { "channel" };
    kz_import_opts_init(&o);
    o.map_from = from;
    o.map_to = to;
    o.nmap = 1;
    o.ignore = ign;
    o.nignore = 1;
    char *p = file("account.csv", "id,channel\n0,appstore\n1,web\n");
    cr_assert_eq(run_opts(KZ_IMP_ACCOUNTS, p, &o, &res), 0, "%s", kz_error_msg());
    cr_assert_eq(res.inserted, 2);
    kz_field_def *defs;
    size_t n;
    cr_assert_eq(kz_store_fields(st, &defs, &n), 0);
    cr_assert_eq(n, 0); /* ignored, not a custom field */
    free(defs);
}

Test(import, reimport_is_idempotent_and_reports_updates)
{
    char *p = file("accounts.csv", ACCOUNTS);
    kz_import_result res = run(KZ_IMP_ACCOUNTS, p);
    cr_assert_eq(res.inserted, 3);
    res = run(KZ_IMP_ACCOUNTS, p);
    cr_assert_eq(res.inserted, 0);
    cr_assert_eq(res.updated, 0);
    cr_assert_eq(res.unchanged, 3);
    char *q = file("changed.csv", "account_id,owner\nacc_3,Emily Clark\nacc_1,Emily Clark\n");
    res = run(KZ_IMP_ACCOUNTS, q);
    cr_assert_eq(res.updated, 1);
    cr_assert_eq(res.unchanged, 1);
    /* the columns the second file did not have are kept */
    char *ex = export_of(KZ_IMP_ACCOUNTS, KZ_FMT_CSV);
    cr_assert(kt_contains(ex, "acc_3,\"Quote \"\"Co\"\"\",quote.co,Retail,Emily Clark,2024-03-01T01:00:00Z\n"), "%s", ex);
}

Test(import, japanese_text_round_trips_through_export)
{
    char *p = file("accounts.csv", ACCOUNTS);
    run(KZ_IMP_ACCOUNTS, p);
    char *csv = export_of(KZ_IMP_ACCOUNTS, KZ_FMT_CSV);
    cr_assert_str_eq(csv, "account_id,name,domain,industry,owner,created_at\n"
                          "acc_1,\"Acme, Inc.\",acme.com,SaaS,Emily Clark,2024-01-05\n"
                          "acc_2,株式会社さくらテック,sakura.co.jp,Manufacturing,佐藤 結衣,2024-02-01\n"
                          "acc_3,\"Quote \"\"Co\"\"\",quote.co,Retail,,2024-03-01T01:00:00Z\n");
    /* the export imports back unchanged, as CSV and as NDJSON */
    char *again = file("again.csv", csv);
    kz_import_result res = run(KZ_IMP_ACCOUNTS, again);
    cr_assert_eq(res.unchanged, 3);
    char *nd = export_of(KZ_IMP_ACCOUNTS, KZ_FMT_NDJSON);
    cr_assert(kt_contains(nd, "{\"account_id\":\"acc_2\",\"name\":\"株式会社さくらテック\""), "%s", nd);
    char *ndp = file("again.ndjson", nd);
    res = run(KZ_IMP_ACCOUNTS, ndp);
    cr_assert_eq(res.rows, 3);
    cr_assert_eq(res.unchanged, 3, "%s", rejects);
}

Test(import, custom_fields_are_typed_by_their_values)
{
    char *p = file("accounts.csv", "account_id,region,employees,strategic,renewal,zip\n"
                                   "a,JP,120,true,2025-04-01,0123\n"
                                   "b,NA,7.5,no,2025-05-01T09:00:00Z,9876\n"
                                   "c,,,,,\n");
    kz_import_opts o;
    kz_import_result res;
    const char *tn[] = { "zip" };
    kz_field_type tt[] = { KZ_FIELD_TEXT };
    kz_import_opts_init(&o);
    o.type_names = tn;
    o.types = tt;
    o.ntypes = 1;
    cr_assert_eq(run_opts(KZ_IMP_ACCOUNTS, p, &o, &res), 0, "%s", kz_error_msg());
    cr_assert_eq(res.inserted, 3);
    cr_assert_eq(res.fields_defined, 5);
    kz_field_def *defs;
    size_t n;
    cr_assert_eq(kz_store_fields(st, &defs, &n), 0);
    cr_assert_eq(n, 5);
    const char *expect[][2] = { { "zip", "text" }, { "region", "text" }, { "employees", "number" },
                                { "strategic", "boolean" }, { "renewal", "date" } };
    for (size_t i = 0; i < 5; i++) {
        int found = 0;
        for (size_t k = 0; k < n; k++)
            if (strcmp(defs[k].name, expect[i][0]) == 0) {
                cr_assert_str_eq(kz_field_type_name(defs[k].type), expect[i][1], "%s", expect[i][0]);
                found = 1;
            }
        cr_assert(found, "%s", expect[i][0]);
    }
    free(defs);
    /* later files must fit the types; a bad value rejects its row only */
    char *q = file("more.csv", "account_id,employees,strategic\nd,lots,true\ne,3,maybe\nf,4,false\n");
    res = run(KZ_IMP_ACCOUNTS, q);
    cr_assert_eq(res.inserted, 1);
    cr_assert_eq(res.rejected, 2);
    cr_assert(kt_contains(rejects, "more.csv:2: employees: 'lots' is not a number"), "%s", rejects);
    cr_assert(kt_contains(rejects, "more.csv:3: strategic: 'maybe' is not true or false"), "%s", rejects);
    /* a changed custom value alone makes the row updated */
    char *r = file("upd.csv", "account_id,employees\na,121\nb,7.5\n");
    res = run(KZ_IMP_ACCOUNTS, r);
    cr_assert_eq(res.updated, 1);
    cr_assert_eq(res.unchanged, 1);
    char *ex = export_of(KZ_IMP_ACCOUNTS, KZ_FMT_CSV);
    cr_assert(kt_contains(ex, "a,,,,,,0123,JP,121,true,2025-04-01\n"), "%s", ex);
    cr_assert(kt_contains(ex, "b,,,,,,9876,NA,7.5,false,2025-05-01T09:00:00Z\n"), "%s", ex);
}

Test(import, repeated_ids_in_one_file)
{
    char *p = file("accounts.csv", "account_id,name\na,One\na,One\nb,Two\nb,Deux\n");
    kz_import_result res = run(KZ_IMP_ACCOUNTS, p);
    cr_assert_eq(res.inserted, 2);
    cr_assert_eq(res.unchanged, 1);
    cr_assert_eq(res.rejected, 1);
    cr_assert(kt_contains(rejects, "accounts.csv:5: account_id: 'b' appears again with different values (first at line 4)"),
              "%s", rejects);
}

Test(import, references_and_cross_field_rules)
{
    run(KZ_IMP_ACCOUNTS, file("accounts.csv", ACCOUNTS));
    char *c = file("contacts.csv", "contact_id,account_id,email,name,role,champion\n"
                                   "c1,acc_1,emily@acme.com,Emily,CTO,true\n"
                                   "c2,acc_2,yui@sakura.co.jp,結衣,部長,no\n"
                                   "c3,acc_9,x@y.com,X,,\n"
                                   "c4,acc_1,not-an-email,Y,,\n"
                                   "c5,acc_1,z@z.com,Z,,perhaps\n");
    kz_import_result res = run(KZ_IMP_CONTACTS, c);
    cr_assert_eq(res.inserted, 2);
    cr_assert(kt_contains(rejects, "contacts.csv:4: account_id: account 'acc_9' does not exist (import accounts first)"),
              "%s", rejects);
    cr_assert(kt_contains(rejects, "contacts.csv:5: email: 'not-an-email' is not an e-mail address"), "%s", rejects);
    cr_assert(kt_contains(rejects, "contacts.csv:6: champion:"), "%s", rejects);
    char *s = file("subscriptions.csv", "subscription_id,account_id,plan,mrr,quantity,start_date,end_date\n"
                                        "s1,acc_1,pro,1200.50,10,2024-01-10,\n"
                                        "s2,acc_1,pro,1200.50,10,2024-01-10,2024-01-10\n"
                                        "s3,acc_1,pro,-1,10,2024-01-10,\n"
                                        "s4,acc_1,pro,1.00001,10,2024-01-10,\n"
                                        "s5,acc_1,pro,10,-2,2024-01-10,\n"
                                        "s6,acc_1,pro,10,2,2024-01-10 10:00:00,\n");
    res = run(KZ_IMP_SUBSCRIPTIONS, s);
    cr_assert_eq(res.inserted, 1, "%s", rejects);
    cr_assert(kt_contains(rejects, ":3: end_date: must be after start_date"), "%s", rejects);
    cr_assert(kt_contains(rejects, ":4: mrr: must not be negative"), "%s", rejects);
    cr_assert(kt_contains(rejects, ":5: mrr: more than 4 decimal places"), "%s", rejects);
    cr_assert(kt_contains(rejects, ":6: quantity:"), "%s", rejects);
    cr_assert(kt_contains(rejects, ":7: start_date: expected a date without a time of day"), "%s", rejects);
    char *t = file("tickets.csv", "ticket_id,account_id,opened_at,first_response_at,resolved_at,category,priority\n"
                                  "t1,acc_1,2024-02-01T10:00:00Z,2024-02-01T09:00:00Z,,,\n"
                                  "t2,acc_1,2024-02-01T10:00:00Z,,2024-02-01T09:00:00Z,,\n"
                                  "t3,acc_1,2024-02-01T10:00:00Z,,,Functional,HIGH\n"
                                  "t4,acc_1,2024-02-01T10:00:00Z,,,billing,\n");
    res = run(KZ_IMP_TICKETS, t);
    cr_assert_eq(res.inserted, 1);
    cr_assert(kt_contains(rejects, ":2: first_response_at: before opened_at"), "%s", rejects);
    cr_assert(kt_contains(rejects, ":3: resolved_at: before opened_at"), "%s", rejects);
    cr_assert(kt_contains(rejects, ":5: category: 'billing' is not one of functional|operational"), "%s", rejects);
    char *n = file("nps.csv", "response_id,account_id,contact_id,ts,score,comment\n"
                              "n1,acc_1,c1,2024-03-01,9,great\n"
                              "n2,acc_2,c1,2024-03-01,3,\n"
                              "n3,acc_2,,2024-03-01,11,\n");
    res = run(KZ_IMP_NPS, n);
    cr_assert_eq(res.inserted, 1);
    cr_assert(kt_contains(rejects, ":3: contact_id: the contact belongs to another account"), "%s", rejects);
    cr_assert(kt_contains(rejects, ":4: score: 11 is out of range (0 to 10)"), "%s", rejects);
    char *a = file("activities.ndjson", "{\"activity_id\":\"x1\",\"account_id\":\"acc_1\",\"ts\":\"2024-03-01T10:00:00Z\",\"kind\":\"Meeting\",\"direction\":\"outbound\",\"subject\":\"QBR\"}\n"
                                        "{\"activity_id\":\"x2\",\"account_id\":\"acc_1\",\"ts\":\"2024-03-01\",\"kind\":\"fax\"}\n"
                                        "{\"activity_id\":\"x3\",\"account_id\":\"acc_1\",\"ts\":\"2024-03-01\"}\n"
                                        "{\"activity_id\":\"x4\",\"account_id\":\"acc_1\",\"ts\":\"2024-03-01\",\"kind\":\"note\",\"mood\":\"good\"}\n"
                                        "{\"activity_id\":\"x5\",\"account_id\":[1],\"ts\":\"2024-03-01\",\"kind\":\"note\"}\n"
                                        "not json\n");
    res = run(KZ_IMP_ACTIVITIES, a);
    cr_assert_eq(res.inserted, 1, "%s", rejects);
    cr_assert(kt_contains(rejects, ":2: kind: 'fax' is not one of email|call|meeting|note"), "%s", rejects);
    cr_assert(kt_contains(rejects, ":3: kind: required, but missing"), "%s", rejects);
    cr_assert(kt_contains(rejects, ":4: mood: not a field of activities"), "%s", rejects);
    cr_assert(kt_contains(rejects, ":5: account_id: expected a string or number, found a JSON array"), "%s", rejects);
    cr_assert(kt_contains(rejects, ":6: column 1: expected a JSON object"), "%s", rejects);
    char *sp = file("spend.csv", "month,channel,amount\n2024-01,ads,1000\n2024-01,,500.5\n2024-13,ads,1\n2024-02,ads,-1\n");
    res = run(KZ_IMP_SPEND, sp);
    cr_assert_eq(res.inserted, 2);
    cr_assert_eq(res.rejected, 2);
    res = run(KZ_IMP_SPEND, sp);
    cr_assert_eq(res.unchanged, 2);
}

Test(import, tickets_without_category_are_classified_and_stay_so)
{
    run(KZ_IMP_ACCOUNTS, file("accounts.csv", ACCOUNTS));
    char *t = file("tickets.csv", "ticket_id,account_id,opened_at,category,subject,body\n"
                                  "t1,acc_1,2024-02-01,,Export to CSV fails with an error,\n"
                                  "t2,acc_1,2024-02-01,,Rolling out to the sales team,which KPIs should we track?\n"
                                  "t3,acc_2,2024-02-01,,社内展開の進め方について相談,\n"
                                  "t4,acc_2,2024-02-01,,ログインできない,エラーが表示されます\n"
                                  "t5,acc_2,2024-02-01,operational,ログインできない,\n");
    kz_import_result res = run(KZ_IMP_TICKETS, t);
    cr_assert_eq(res.inserted, 5);
    char *ex = export_of(KZ_IMP_TICKETS, KZ_FMT_NDJSON);
    cr_assert(!kt_contains(ex, "\"ticket_id\":\"t1\",\"account_id\":\"acc_1\",\"opened_at\":\"2024-02-01\",\"category\""), "%s", ex);
    cr_assert(kt_contains(ex, "\"ticket_id\":\"t5\",\"account_id\":\"acc_2\",\"opened_at\":\"2024-02-01\",\"category\":\"operational\""), "%s", ex);
    /* the export imports back unchanged: classification is repeatable */
    res = run(KZ_IMP_TICKETS, file("again.ndjson", ex));
    cr_assert_eq(res.unchanged, 5, "%s", rejects);
}

Test(import, classifier_tells_functional_from_operational)
{
    cr_assert_str_eq(kz_classify_ticket("Export to CSV fails with an error", 33, NULL, 0), "functional");
    cr_assert_str_eq(kz_classify_ticket("How do I filter a report by date?", 33, NULL, 0), "functional");
    const char *ja1 = "社内展開の進め方", *ja2 = "エラーが表示される";
    cr_assert_str_eq(kz_classify_ticket(ja1, strlen(ja1), NULL, 0), "operational");
    cr_assert_str_eq(kz_classify_ticket(ja2, strlen(ja2), NULL, 0), "functional");
    cr_assert_str_eq(kz_classify_ticket("Which KPIs should we track for the rollout?", 43, NULL, 0), "operational");
    cr_assert_str_eq(kz_classify_ticket(NULL, 0, NULL, 0), "functional");
}

static const char *EVENTS_HDR = "ts,account_id,user_id,event,value\n";

Test(import, events_are_deduplicated_as_a_multiset_and_reimport_adds_nothing)
{
    run(KZ_IMP_ACCOUNTS, file("accounts.csv", ACCOUNTS));
    char buf[4096];
    snprintf(buf, sizeof buf, "%s%s", EVENTS_HDR,
             "2024-05-01T10:00:00Z,acc_1,u1,login,\n"
             "2024-05-01T10:00:00Z,acc_1,u1,login,\n" /* two identical clicks: both kept */
             "2024-05-01T09:00:00Z,acc_2,ユーザー,report.view,12.5\n"
             "2024-05-01T11:00:00Z,acc_9,u1,login,\n"
             "2024-05-01T11:00:00Z,acc_1,u1,,\n"
             "2024-05-01T11:00:00,acc_1,u2,x,abc\n");
    char *p = file("events.csv", buf);
    kz_import_result res = run(KZ_IMP_EVENTS, p);
    cr_assert_eq(res.inserted, 3, "%s", rejects);
    cr_assert_eq(res.rejected, 3);
    cr_assert(kt_contains(rejects, "events.csv:5: account_id: account 'acc_9' does not exist"), "%s", rejects);
    cr_assert(kt_contains(rejects, "events.csv:6: event: required, but empty"), "%s", rejects);
    cr_assert(kt_contains(rejects, "events.csv:7: value: expected a number"), "%s", rejects);
    res = run(KZ_IMP_EVENTS, p);
    cr_assert_eq(res.inserted, 0);
    cr_assert_eq(res.unchanged, 3);
    /* a file with three copies of the doubled event adds exactly one */
    snprintf(buf, sizeof buf, "%s%s", EVENTS_HDR,
             "2024-05-01T10:00:00Z,acc_1,u1,login,\n2024-05-01T10:00:00Z,acc_1,u1,login,\n"
             "2024-05-01T10:00:00Z,acc_1,u1,login,\n");
    res = run(KZ_IMP_EVENTS, file("three.csv", buf));
    cr_assert_eq(res.inserted, 1);
    cr_assert_eq(res.unchanged, 2);
    char *ex = export_of(KZ_IMP_EVENTS, KZ_FMT_CSV);
    cr_assert_str_eq(ex, "ts,account_id,user_id,event,value,event_id,properties\n"
                         "2024-05-01T09:00:00Z,acc_2,ユーザー,report.view,12.5,,\n"
                         "2024-05-01T10:00:00Z,acc_1,u1,login,,,\n"
                         "2024-05-01T10:00:00Z,acc_1,u1,login,,,\n"
                         "2024-05-01T10:00:00Z,acc_1,u1,login,,,\n");
}

Test(import, events_with_ids_are_deduplicated_by_id_and_keep_properties)
{
    run(KZ_IMP_ACCOUNTS, file("accounts.csv", ACCOUNTS));
    char *p = file("events.ndjson",
                   "{\"ts\":\"2024-05-01T10:00:00.250Z\",\"account_id\":\"acc_1\",\"event\":\"purchase\",\"value\":99.5,"
                   "\"event_id\":\"e1\",\"properties\":{\"sku\":\"honey\",\"qty\":2}}\n"
                   "{\"ts\":\"2024-05-02T10:00:00Z\",\"account_id\":\"acc_1\",\"event\":\"purchase\",\"event_id\":\"e1\"}\n"
                   "{\"ts\":\"2024-05-03T10:00:00Z\",\"account_id\":\"acc_1\",\"event\":\"purchase\",\"event_id\":\"e2\","
                   "\"properties\":\"not an object\"}\n"
                   "{\"ts\":\"2024-05-03T10:00:00Z\",\"account_id\":\"acc_1\",\"event\":\"purchase\",\"event_id\":\"e3\"}\n");
    kz_import_result res = run(KZ_IMP_EVENTS, p);
    cr_assert_eq(res.inserted, 2, "%s", rejects);
    cr_assert_eq(res.unchanged, 1); /* e1 again, with another time: the same event */
    cr_assert_eq(res.rejected, 1);
    cr_assert(kt_contains(rejects, "events.ndjson:3: properties: not a JSON object"), "%s", rejects);
    /* the same ids in a later file, at other times, are still duplicates */
    char *q = file("later.ndjson", "{\"ts\":\"2025-01-01\",\"account_id\":\"acc_2\",\"event\":\"x\",\"event_id\":\"e3\"}\n");
    res = run(KZ_IMP_EVENTS, q);
    cr_assert_eq(res.inserted, 0);
    cr_assert_eq(res.unchanged, 1);
    char *ex = export_of(KZ_IMP_EVENTS, KZ_FMT_NDJSON);
    cr_assert(kt_contains(ex, "{\"ts\":\"2024-05-01T10:00:00.250Z\",\"account_id\":\"acc_1\",\"event\":\"purchase\","
                              "\"value\":99.5,\"event_id\":\"e1\",\"properties\":{\"sku\":\"honey\",\"qty\":2}}\n"),
              "%s", ex);
}

Test(import, events_across_many_blocks_reimport_from_a_shifted_file)
{
    run(KZ_IMP_ACCOUNTS, file("accounts.csv", ACCOUNTS));
    /* 5000 events in blocks of 1024, imported twice, then a file that
     * overlaps the second half and adds 2500 more */
    char *path = kt_path(dir, "events.csv");
    char *path2 = kt_path(dir, "events2.csv");
    FILE *f = fopen(path, "wb"), *g = fopen(path2, "wb");
    fputs(EVENTS_HDR, f);
    fputs(EVENTS_HDR, g);
    for (int i = 0; i < 7500; i++) {
        char line[128];
        /* out of time order on purpose: each block is sorted on its own */
        int sec = (i * 7919) % 7500;
        snprintf(line, sizeof line, "2024-06-01T00:00:00Z,acc_%d,u%d,e%d,%d\n", 1 + i % 3, i % 50, i % 4, i);
        memcpy(line + 11, "00:00:00", 8);
        char t[16];
        snprintf(t, sizeof t, "%02d:%02d:%02d", sec / 3600, sec / 60 % 60, sec % 60);
        memcpy(line + 11, t, 8);
        if (i < 5000)
            fputs(line, f);
        if (i >= 2500)
            fputs(line, g);
    }
    fclose(f);
    fclose(g);
    kz_import_opts o;
    kz_import_result res;
    kz_import_opts_init(&o);
    o.block_events = 1024;
    cr_assert_eq(run_opts(KZ_IMP_EVENTS, path, &o, &res), 0);
    cr_assert_eq(res.inserted, 5000);
    cr_assert_eq(run_opts(KZ_IMP_EVENTS, path, &o, &res), 0);
    cr_assert_eq(res.inserted, 0);
    cr_assert_eq(res.unchanged, 5000);
    cr_assert_eq(run_opts(KZ_IMP_EVENTS, path2, &o, &res), 0);
    cr_assert_eq(res.inserted, 2500);
    cr_assert_eq(res.unchanged, 2500);
    kz_store_stats s;
    cr_assert_eq(kz_store_stats_get(st, 0, &s), 0);
    cr_assert_eq(s.events, 7500);
    cr_assert_eq(s.users, 50);
    cr_assert_eq(s.event_names, 4);
    /* the export is in time order */
    char *ex = export_of(KZ_IMP_EVENTS, KZ_FMT_CSV);
    char *line = strchr(ex, '\n') + 1, prev[32] = "";
    int rows = 0;
    while (*line) {
        cr_assert(strncmp(prev, line, 20) <= 0);
        memcpy(prev, line, 20);
        line = strchr(line, '\n') + 1;
        rows++;
    }
    cr_assert_eq(rows, 7500);
}

Test(import, limits_on_field_and_record_size)
{
    char *big = malloc(3000);
    memset(big, 'x', 2999);
    big[2999] = '\0';
    char *content = malloc(7000);
    snprintf(content, 7000, "account_id,name\na,%s\nb,ok\n", big);
    kz_import_opts o;
    kz_import_result res;
    kz_import_opts_init(&o);
    o.max_field = 1024;
    char *p = file("accounts.csv", content);
    cr_assert_eq(run_opts(KZ_IMP_ACCOUNTS, p, &o, &res), 0);
    cr_assert_eq(res.inserted, 1);
    cr_assert(kt_contains(rejects, "accounts.csv:2: name: longer than 1000 bytes"), "%s", rejects);
    o.max_record = 2048;
    cr_assert_eq(run_opts(KZ_IMP_ACCOUNTS, p, &o, &res), 0);
    cr_assert(kt_contains(rejects, "accounts.csv:2: record longer than 2048 bytes"), "%s", rejects);
    cr_assert_eq(res.unchanged, 1);
    free(big);
    free(content);
}

Test(import, standard_input_needs_a_format)
{
    kz_import_opts o;
    kz_import_result res;
    kz_import_opts_init(&o);
    cr_assert_eq(run_opts(KZ_IMP_ACCOUNTS, "-", &o, &res), KZ_EINVALID);
    cr_assert(kt_contains(kz_error_msg(), "--format"), "%s", kz_error_msg());
}

Test(import, rejects_path_names)
{
    char *p = kz_rejects_path("dir/accounts.csv", KZ_FMT_CSV);
    cr_assert_str_eq(p, "dir/accounts.rejects.csv");
    free(p);
    p = kz_rejects_path("a.b/events", KZ_FMT_NDJSON);
    cr_assert_str_eq(p, "a.b/events.rejects");
    free(p);
    p = kz_rejects_path("-", KZ_FMT_NDJSON);
    cr_assert_str_eq(p, "stdin.rejects.ndjson");
    free(p);
}

/* Imports path into a fresh database with the given split threshold and
 * returns the export of its events, the reject messages and the user
 * dictionary, joined. */
static char *import_events_with(const char *path, uint64_t parallel_min, const char *dbname, size_t hold)
{
    kz_store *saved = st;
    char *db = kt_path(dir, dbname);
    cr_assert_eq(kz_store_open(&st, db, KZ_STORE_CREATE), 0);
    run(KZ_IMP_ACCOUNTS, file("acc.csv", ACCOUNTS));
    kz_import_opts o;
    kz_import_result res;
    kz_import_opts_init(&o);
    o.parallel_min = parallel_min;
    o.parallel_hold = hold;
    o.block_events = 1000;
    o.rejects = kt_path(dir, "rej.csv");
    cr_assert_eq(run_opts(KZ_IMP_EVENTS, path, &o, &res), 0, "%s", kz_error_msg());
    char *ex = export_of(KZ_IMP_EVENTS, KZ_FMT_CSV);
    char **users;
    size_t nusers;
    cr_assert_eq(kz_store_dict_array(st, KZ_DICT_USERS, &users, &nusers), 0);
    size_t cap = strlen(ex) + strlen(rejects) + 100 + nusers * 16;
    char *all = malloc(cap);
    int n = snprintf(all, cap, "rows=%lld new=%lld rejected=%lld\n%s--\n%s--\n", (long long)res.rows,
                     (long long)res.inserted, (long long)res.rejected, rejects, ex);
    for (size_t i = 1; i < nusers; i++)
        n += snprintf(all + n, cap - (size_t)n, "%zu=%s\n", i, users[i] ? users[i] : "-");
    char *rej = kt_read(o.rejects, NULL);
    size_t used = strlen(all), rlen = rej ? strlen(rej) : 0;
    all = realloc(all, used + rlen + 1);
    memcpy(all + used, rej ? rej : "", rlen + 1);
    kz_store_dict_free(users);
    free(ex);
    free(rej);
    free((char *)o.rejects);
    free(db);
    kz_store_close(st);
    st = saved;
    return all;
}

static void write_events(const char *path, int straddle)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs("ts,account_id,user_id,event,value,properties\n", f);
    for (int i = 0; i < 6000; i++) {
        if (i == 3000 && straddle) {
            /* a record with a quoted field full of line breaks, across the middle */
            fputs("2024-06-01T12:00:00Z,acc_1,u_mid,big,1,\"{", f);
            for (int k = 0; k < 3000; k++)
                fputs("\n ", f);
            fputs("\"\"a\"\":1}\"\n", f);
            continue;
        }
        if (i % 997 == 5) {
            fprintf(f, "2024-06-01T%02d:00:00Z,acc_9,u%d,login,1,\n", i % 24, i); /* unknown account */
            continue;
        }
        /* users first met late in the file get their ids after the early ones */
        fprintf(f, "2024-06-%02dT%02d:%02d:00Z,acc_%d,u%d,e%d,%d,\n", 1 + i % 28, i % 24, i % 60, 1 + i % 3,
                i < 3000 ? i % 40 : 40 + i % 70, i % 5, i);
    }
    fclose(f);
}

Test(import, two_readers_give_exactly_the_one_reader_result)
{
    char *path = kt_path(dir, "events.csv");
    write_events(path, 0);
    char *one = import_events_with(path, 0, "one.db", 0);
    char *two = import_events_with(path, 1, "two.db", 0);
    cr_assert(kt_contains(one, "rejected=7"), "%.300s", one);
    cr_assert_str_eq(two, one);
    /* a second reader that stops after one block: the first reads on from there */
    char *held = import_events_with(path, 1, "held.db", 1);
    cr_assert_str_eq(held, one);
    free(one);
    free(two);
    free(held);
}

Test(import, a_quoted_field_across_the_split_point_falls_back_to_one_reader)
{
    char *path = kt_path(dir, "events.csv");
    write_events(path, 1);
    char *one = import_events_with(path, 0, "one.db", 0);
    char *two = import_events_with(path, 1, "two.db", 0);
    cr_assert(kt_contains(one, ",big,1,,\"{"), "the big record is missing");
    cr_assert_str_eq(two, one);
    free(one);
    free(two);
}
