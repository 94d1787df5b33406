/*
 * rules_test.c - `kizuna rules` and `kizuna tasks`, the real binary on a
 * real database: backtests and runs of sequence and event rules (the honey
 * and help-article examples of docs/playbooks.md), modes, exactly-once
 * firings, tasks and timeline notes, webhooks (signed, Slack, retried) to a
 * loopback receiver, e-mails to a loopback SMTP server, bad input.
 *
 * Event times are relative to today, so the tests keep working as time
 * passes (`rules test` replays the last --days up to today).
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/time.h"
#include "rules/deliver.h"
#include "../support/loopback.h"
#include "../support/server.h"
#include "../support/support.h"

static char *dir;
static time_t t0; /* "now" of the test's dates: one clock for the events and what is expected of them */

static void setup(void)
{
    dir = kt_tmpdir();
    t0 = time(NULL);
    /* the configuration of the tests comes from --set only */
    const char *env[] = { "KIZUNA_SMTP_URL",  "KIZUNA_SMTP_FROM",      "KIZUNA_SMTP_USER",
                          "KIZUNA_SMTP_PASSWORD", "KIZUNA_SMTP_TLS", "KIZUNA_WEBHOOK_SECRET",
                          "KIZUNA_RULES_DIR", "KIZUNA_DELIVERY_TIMEOUT_SECONDS" };
    for (size_t i = 0; i < sizeof env / sizeof *env; i++)
        unsetenv(env[i]);
    cr_assert_eq(kz_deliver_init(), 0, "%s", kz_error_msg());
}

static void teardown(void)
{
    kt_rmrf(dir);
}

TestSuite(rules_cli, .init = setup, .fini = teardown, .timeout = 60);

/* ---- helpers ------------------------------------------------------------------------ */

/* kizuna --db k.db ARGS... in dir */
#define KZ(r, ...) kt_kizunav((r), dir, NULL, "--db", "k.db", __VA_ARGS__, NULL)

/* "YYYY-MM-DDTHH:MM:00Z" of the day days_ago days before today (UTC). */
static void when(char *out, size_t cap, int days_ago, int h, int m)
{
    time_t t = t0 - (time_t)days_ago * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:00Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, h, m);
}

/* "YYYY-MM-DD" of days_ago days before today (negative: after). */
static void day(char *out, size_t cap, int days_ago)
{
    time_t t = t0 - (time_t)days_ago * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* The events written so far (NDJSON). */
static char events[32768];
static size_t nevents;

/* One event at HH:MM of days_ago days before today; extra is more members
 * ("\"value\":150" or "\"properties\":{...}") or NULL. */
static void event(int days_ago, int h, int m, const char *account, const char *user, const char *name,
                  const char *extra)
{
    char ts[48];
    when(ts, sizeof ts, days_ago, h, m);
    int n = snprintf(events + nevents, sizeof events - nevents,
                     "{\"ts\":\"%s\",\"account_id\":\"%s\",\"user_id\":\"%s\",\"event\":\"%s\"%s%s}\n", ts, account,
                     user, name, extra ? "," : "", extra ? extra : "");
    cr_assert(n > 0 && (size_t)n < sizeof events - nevents, "the events do not fit");
    nevents += (size_t)n;
}

static void put_file(const char *name, const char *text)
{
    char *p = kt_path(dir, name);
    kt_write(p, text, (size_t)-1);
    free(p);
}

/* accounts a1 (Acme, alice) and a2 (Beta, bob) and the events written so far,
 * imported into dir/k.db. */
static void world(void)
{
    kt_run r;
    put_file("accounts.csv", "account_id,name,owner,industry,created_at\n"
                             "a1,Acme,alice,retail,2026-01-01\n"
                             "a2,Beta,bob,retail,2026-01-01\n");
    KZ(&r, "import", "accounts", "accounts.csv");
    cr_assert_eq(r.status, 0, "import accounts: %s\n%s", r.out, r.err);
    kt_run_free(&r);
    if (!nevents)
        return;
    put_file("events.ndjson", events);
    KZ(&r, "import", "events", "events.ndjson");
    cr_assert_eq(r.status, 0, "import events: %s\n%s", r.out, r.err);
    kt_run_free(&r);
}

/* The run's standard output as a JSON array; the run must have succeeded. */
static cJSON *json_rows(kt_run *r, const char *what)
{
    cr_assert_eq(r->status, 0, "%s: status %d: %s", what, r->status, r->err);
    cJSON *j = cJSON_Parse(r->out);
    cr_assert_not_null(j, "%s: not JSON: %s", what, r->out);
    cr_assert(cJSON_IsArray(j), "%s: not an array: %s", what, r->out);
    kt_run_free(r);
    return j;
}

static const char *str(const cJSON *row, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(row, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static double num(const cJSON *row, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(row, key);
    cr_assert(cJSON_IsNumber(it), "%s is not a number", key);
    return it->valuedouble;
}

/* 1 when a and b are both NULL or equal texts. */
static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* `kizuna rules run` (with the options before "rules"); its output. */
static char *run_rules(const char *set1, const char *set2, const char *set3)
{
    kt_run r;
    const char *args[16];
    size_t n = 0;
    args[n++] = "--db";
    args[n++] = "k.db";
    const char *sets[] = { set1, set2, set3 };
    for (int i = 0; i < 3; i++)
        if (sets[i]) {
            args[n++] = "--set";
            args[n++] = sets[i];
        }
    args[n++] = "rules";
    args[n++] = "run";
    args[n] = NULL;
    kt_kizuna(&r, dir, NULL, args);
    cr_assert_eq(r.status, 0, "rules run: %s\n%s", r.out, r.err);
    char *out = r.out;
    free(r.err);
    return out;
}

/* Loads file with --mode off and enables rule --since days_ago days ago. */
static void load_and_enable(const char *file, const char *rule, const char *how, int since_days_ago)
{
    kt_run r;
    char since[40];
    day(since, sizeof since, since_days_ago);
    KZ(&r, "rules", "load", file, "--mode", "off");
    cr_assert_eq(r.status, 0, "rules load %s: %s", file, r.err);
    kt_run_free(&r);
    if (!rule)
        return;
    KZ(&r, "rules", how, rule, "--since", since);
    cr_assert_eq(r.status, 0, "rules %s %s: %s", how, rule, r.err);
    kt_run_free(&r);
}

static cJSON *firings(const char *rule)
{
    kt_run r;
    if (rule)
        KZ(&r, "rules", "firings", "--rule", rule, "--format", "json");
    else
        KZ(&r, "rules", "firings", "--format", "json");
    return json_rows(&r, "rules firings");
}

/* `rules test RULE --days DAYS` as JSON: "account_id|window;" per firing, by time. */
static char *backtest(const char *rule, const char *days)
{
    kt_run r;
    KZ(&r, "rules", "test", rule, "--days", days, "--format", "json");
    cJSON *j = json_rows(&r, "rules test");
    char *out = calloc(1, 4096);
    cr_assert_not_null(out);
    const cJSON *row;
    cJSON_ArrayForEach(row, j)
    {
        size_t n = strlen(out);
        snprintf(out + n, 4096 - n, "%s|%s;", str(row, "account_id"), str(row, "window"));
    }
    cJSON_Delete(j);
    return out;
}

static cJSON *tasks(const char *opt, const char *val)
{
    kt_run r;
    if (opt && val)
        KZ(&r, "tasks", opt, val, "--format", "json");
    else if (opt)
        KZ(&r, "tasks", opt, "--format", "json");
    else
        KZ(&r, "tasks", "--format", "json");
    return json_rows(&r, "tasks");
}

static cJSON *deliveries(const char *state)
{
    kt_run r;
    if (state)
        KZ(&r, "rules", "deliveries", "--state", state, "--format", "json");
    else
        KZ(&r, "rules", "deliveries", "--format", "json");
    return json_rows(&r, "rules deliveries");
}

static int has_title(const cJSON *rows, const char *title)
{
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        if (same(str(row, "title"), title))
            return 1;
    }
    return 0;
}

/* ---- 1. the honey example --------------------------------------------------------------- */

static const char honey_rule[] =
    "{ \"id\": \"honey\", \"title\": \"Honey is unsafe for infants\", \"playbook\": \"risk-recovery\",\n"
    "  \"trigger\": { \"kind\": \"sequence\", \"per\": \"user\",\n"
    "    \"steps\": [ { \"event\": \"purchase\", \"where\": [ { \"field\": \"properties.category\", \"op\": \"=\", "
    "\"value\": \"baby\" } ] },\n"
    "               { \"event\": \"purchase\", \"where\": [ { \"field\": \"properties.category\", \"op\": \"=\", "
    "\"value\": \"honey\" } ] } ],\n"
    "    \"within\": \"30d\" },\n"
    "  \"actions\": [ { \"kind\": \"task\", \"title\": \"Warn {{user.id}} of {{account.name}} about honey\" },\n"
    "               { \"kind\": \"note\", \"text\": \"Sent the honey warning to {{user.id}}\" } ] }\n";

Test(rules_cli, honey_fires_once_for_ten_days_never_for_forty_and_never_again)
{
    /* u1: baby, then honey 10 days later; u2: 40 days apart */
    event(30, 10, 0, "a1", "u1", "purchase", "\"properties\":{\"category\":\"baby\"}");
    event(25, 9, 0, "a1", "u1", "login", NULL);
    event(20, 10, 0, "a1", "u1", "purchase", "\"properties\":{\"category\":\"honey\"}");
    event(60, 10, 0, "a2", "u2", "purchase", "\"properties\":{\"category\":\"baby\"}");
    event(20, 11, 0, "a2", "u2", "purchase", "\"properties\":{\"category\":\"honey\"}");
    world();
    put_file("honey.json", honey_rule);
    char honey_at[48];
    when(honey_at, sizeof honey_at, 20, 10, 0);

    /* the backtest: once, for u1, at the honey purchase */
    kt_run r;
    KZ(&r, "rules", "test", "honey.json", "--days", "200", "--format", "json");
    cr_assert(kt_contains(r.err, "it would have fired 1 time, for 1 user ("), "%s", r.err);
    cJSON *bt = json_rows(&r, "rules test");
    cr_assert_eq(cJSON_GetArraySize(bt), 1, "%s", cJSON_Print(bt));
    const cJSON *hit = cJSON_GetArrayItem(bt, 0);
    cr_assert_str_eq(str(hit, "user_id"), "u1");
    cr_assert_str_eq(str(hit, "account_id"), "a1");
    cr_assert_str_eq(str(hit, "at"), honey_at);
    /* the table form says the same */
    KZ(&r, "rules", "test", "honey.json", "--days", "200");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "account_id") && kt_contains(r.out, "u1") && !kt_contains(r.out, "u2"), "%s", r.out);
    kt_run_free(&r);

    /* loaded off: a run does nothing */
    load_and_enable("honey.json", NULL, NULL, 0);
    char *out = run_rules(NULL, NULL, NULL);
    cr_assert(kt_contains(out, "fired 0 "), "%s", out);
    free(out);
    cJSON *f = firings(NULL);
    cr_assert_eq(cJSON_GetArraySize(f), 0);
    cJSON_Delete(f);

    /* on since 100 days ago: one firing, one task for alice, one note */
    char since[40];
    day(since, sizeof since, 100);
    KZ(&r, "rules", "enable", "honey", "--since", since);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    out = run_rules(NULL, NULL, NULL);
    cr_assert(kt_contains(out, "fired 1 (dry runs 0)"), "%s", out);
    free(out);

    f = firings("honey");
    cr_assert_eq(cJSON_GetArraySize(f), 1, "%s", cJSON_Print(f));
    const cJSON *fr = cJSON_GetArrayItem(f, 0);
    cr_assert_str_eq(str(fr, "rule"), "honey");
    cr_assert_str_eq(str(fr, "subject"), "u1");
    cr_assert_str_eq(str(fr, "account_id"), "a1");
    cr_assert_str_eq(str(fr, "at"), honey_at);
    cr_assert_eq(num(fr, "dry_run"), 0);

    /* the backtest found what the run did: same subjects, accounts, times, windows */
    cr_assert_eq(cJSON_GetArraySize(bt), cJSON_GetArraySize(f));
    const cJSON *b;
    cJSON_ArrayForEach(b, bt)
    {
        int found = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, f)
        {
            found |= same(str(b, "at"), str(x, "at")) && same(str(b, "account_id"), str(x, "account_id")) &&
                     same(str(b, "user_id"), str(x, "subject")) && same(str(b, "window"), str(x, "window"));
        }
        cr_assert(found, "backtest hit %s not among the firings %s", cJSON_Print(b), cJSON_Print(f));
    }
    cJSON_Delete(f);
    cJSON_Delete(bt);

    cJSON *t = tasks(NULL, NULL);
    cr_assert_eq(cJSON_GetArraySize(t), 1, "%s", cJSON_Print(t));
    const cJSON *task = cJSON_GetArrayItem(t, 0);
    cr_assert_str_eq(str(task, "assignee"), "alice");
    cr_assert_str_eq(str(task, "account_id"), "a1");
    cr_assert_str_eq(str(task, "title"), "Warn u1 of Acme about honey");
    cr_assert_str_eq(str(task, "playbook"), "risk-recovery");
    cr_assert_str_eq(str(task, "source"), "rule:honey");
    cr_assert_str_eq(str(task, "status"), "open");
    cJSON_Delete(t);

    KZ(&r, "export", "activities");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(kt_lines(r.out), 2, "one note expected:\n%s", r.out);
    cr_assert(kt_contains(r.out, ",a1,"), "%s", r.out);
    cr_assert(kt_contains(r.out, ",note,"), "%s", r.out);
    cr_assert(kt_contains(r.out, "Sent the honey warning to u1"), "%s", r.out);
    cr_assert(kt_contains(r.out, ",kizuna"), "%s", r.out);
    kt_run_free(&r);

    /* again (a restart): nothing new */
    out = run_rules(NULL, NULL, NULL);
    cr_assert(kt_contains(out, "fired 0 "), "%s", out);
    cr_assert(kt_contains(out, "found again 1"), "%s", out);
    free(out);
    f = firings(NULL);
    cr_assert_eq(cJSON_GetArraySize(f), 1);
    cJSON_Delete(f);
    t = tasks("--status", "all");
    cr_assert_eq(cJSON_GetArraySize(t), 1);
    cJSON_Delete(t);
    KZ(&r, "export", "activities");
    cr_assert_eq(kt_lines(r.out), 2, "%s", r.out);
    kt_run_free(&r);
}

/* ---- 2. the help-article example ---------------------------------------------------------- */

Test(rules_cli, three_views_of_one_article_in_a_day_fire_on_the_third)
{
    /* u1 reads "billing" three times (and "sso" once in between) */
    event(5, 9, 0, "a1", "u1", "help_viewed", "\"properties\":{\"article\":\"billing\"}");
    event(5, 9, 30, "a1", "u1", "help_viewed", "\"properties\":{\"article\":\"billing\"}");
    event(5, 9, 45, "a1", "u1", "help_viewed", "\"properties\":{\"article\":\"sso\"}");
    event(5, 10, 15, "a1", "u1", "help_viewed", "\"properties\":{\"article\":\"billing\"}");
    /* u3 reads three different articles */
    event(5, 9, 0, "a2", "u3", "help_viewed", "\"properties\":{\"article\":\"a\"}");
    event(5, 9, 10, "a2", "u3", "help_viewed", "\"properties\":{\"article\":\"b\"}");
    event(5, 9, 20, "a2", "u3", "help_viewed", "\"properties\":{\"article\":\"c\"}");
    /* u4 reads one article three times, but over three days */
    event(8, 9, 0, "a2", "u4", "help_viewed", "\"properties\":{\"article\":\"billing\"}");
    event(7, 9, 0, "a2", "u4", "help_viewed", "\"properties\":{\"article\":\"billing\"}");
    event(6, 9, 0, "a2", "u4", "help_viewed", "\"properties\":{\"article\":\"billing\"}");
    world();
    put_file("help.json",
             "{ \"id\": \"help-stuck\", \"title\": \"Stuck in the help center\",\n"
             "  \"trigger\": { \"kind\": \"sequence\", \"per\": \"user\", \"within\": \"1d\", \"same\": "
             "\"properties.article\",\n"
             "               \"steps\": [ { \"event\": \"help_viewed\", \"count\": 3 } ] },\n"
             "  \"actions\": [ { \"kind\": \"task\", \"title\": \"{{user.id}} read one article 3 times\" } ] }\n");
    char third[48];
    when(third, sizeof third, 5, 10, 15);

    kt_run r;
    KZ(&r, "rules", "test", "help.json", "--days", "30", "--format", "json");
    cr_assert(kt_contains(r.err, "it would have fired 1 time, for 1 user ("), "%s", r.err);
    cJSON *bt = json_rows(&r, "rules test");
    cr_assert_eq(cJSON_GetArraySize(bt), 1, "%s", cJSON_Print(bt));
    cr_assert_str_eq(str(cJSON_GetArrayItem(bt, 0), "user_id"), "u1");
    cr_assert_str_eq(str(cJSON_GetArrayItem(bt, 0), "at"), third);
    cJSON_Delete(bt);

    load_and_enable("help.json", "help-stuck", "enable", 30);
    char *out = run_rules(NULL, NULL, NULL);
    cr_assert(kt_contains(out, "fired 1 "), "%s", out);
    free(out);
    cJSON *f = firings("help-stuck");
    cr_assert_eq(cJSON_GetArraySize(f), 1, "%s", cJSON_Print(f));
    cr_assert_str_eq(str(cJSON_GetArrayItem(f, 0), "subject"), "u1");
    cr_assert_str_eq(str(cJSON_GetArrayItem(f, 0), "at"), third);
    cJSON_Delete(f);
    cJSON *t = tasks(NULL, NULL);
    cr_assert_eq(cJSON_GetArraySize(t), 1, "%s", cJSON_Print(t));
    cr_assert_str_eq(str(cJSON_GetArrayItem(t, 0), "title"), "u1 read one article 3 times");
    cr_assert_str_eq(str(cJSON_GetArrayItem(t, 0), "assignee"), "alice");
    cJSON_Delete(t);
}

/* ---- 3. an event rule, modes, --since ------------------------------------------------------ */

Test(rules_cli, event_rule_with_a_condition_dry_run_off_and_since)
{
    event(10, 10, 0, "a1", "u1", "purchase", "\"value\":150");
    event(5, 10, 0, "a1", "u1", "purchase", "\"value\":50");
    event(3, 10, 0, "a2", "u2", "purchase", "\"value\":300");
    event(2, 10, 0, "a1", "u1", "purchase", "\"value\":120");
    event(2, 11, 0, "a1", "u1", "refund", "\"value\":999");
    world();
    /* three copies of one rule: one stays off, one in dry-run, one enabled since 7 days ago */
    static const char body[] =
        "\"trigger\": { \"kind\": \"event\", \"event\": \"purchase\", \"where\": [ { \"field\": \"value\", \"op\": "
        "\">=\", \"value\": 100 } ] },\n"
        "    \"actions\": [ { \"kind\": \"task\", \"title\": \"Big purchase at {{account.name}}: {{trigger.value}}\" "
        "} ] }";
    char text[4096];
    snprintf(text, sizeof text, "[ { \"id\": \"big-off\", %s,\n  { \"id\": \"big-dry\", %s,\n  { \"id\": \"big-since\", %s ]\n",
             body, body, body);
    put_file("big.json", text);
    load_and_enable("big.json", NULL, NULL, 0);

    kt_run r;
    KZ(&r, "rules", "list", "--format", "json");
    cJSON *l = json_rows(&r, "rules list");
    cr_assert_eq(cJSON_GetArraySize(l), 3);
    const cJSON *row;
    cJSON_ArrayForEach(row, l)
    {
        cr_assert_str_eq(str(row, "mode"), "off");
    }
    cJSON_Delete(l);

    /* all off: nothing */
    char *out = run_rules(NULL, NULL, NULL);
    cr_assert(kt_contains(out, "fired 0 "), "%s", out);
    free(out);
    cJSON *f = firings(NULL);
    cr_assert_eq(cJSON_GetArraySize(f), 0, "%s", cJSON_Print(f));
    cJSON_Delete(f);

    char d30[40], d7[40];
    day(d30, sizeof d30, 30);
    day(d7, sizeof d7, 7);
    KZ(&r, "rules", "dry-run", "big-dry", "--since", d30);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    KZ(&r, "rules", "enable", "big-since", "--since", d7);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    out = run_rules(NULL, NULL, NULL);
    /* dry: 150, 300, 120 (not 50, not the refund); since: 300 and 120 */
    cr_assert(kt_contains(out, "fired 5 (dry runs 3)"), "%s", out);
    free(out);

    f = firings("big-off");
    cr_assert_eq(cJSON_GetArraySize(f), 0, "an off rule fired: %s", cJSON_Print(f));
    cJSON_Delete(f);
    f = firings("big-dry");
    cr_assert_eq(cJSON_GetArraySize(f), 3, "%s", cJSON_Print(f));
    cJSON_ArrayForEach(row, f)
    {
        cr_assert_eq(num(row, "dry_run"), 1, "%s", cJSON_Print(row));
    }
    cJSON_Delete(f);
    f = firings("big-since");
    cr_assert_eq(cJSON_GetArraySize(f), 2, "%s", cJSON_Print(f));
    char d3[48], d2[48];
    when(d3, sizeof d3, 3, 10, 0);
    when(d2, sizeof d2, 2, 10, 0);
    int saw3 = 0, saw2 = 0;
    cJSON_ArrayForEach(row, f)
    {
        cr_assert_eq(num(row, "dry_run"), 0);
        saw3 |= same(str(row, "at"), d3) && same(str(row, "account_id"), "a2");
        saw2 |= same(str(row, "at"), d2) && same(str(row, "account_id"), "a1");
    }
    cr_assert(saw3 && saw2, "%s", cJSON_Print(f));
    cJSON_Delete(f);

    /* the tasks are big-since's only */
    cJSON *t = tasks("--status", "all");
    cr_assert_eq(cJSON_GetArraySize(t), 2, "%s", cJSON_Print(t));
    cJSON_ArrayForEach(row, t)
    {
        cr_assert_str_eq(str(row, "source"), "rule:big-since", "%s", cJSON_Print(row));
    }
    cr_assert(has_title(t, "Big purchase at Beta: 300"), "%s", cJSON_Print(t));
    cr_assert(has_title(t, "Big purchase at Acme: 120"), "%s", cJSON_Print(t));
    cJSON_Delete(t);

    /* switched off again: a new matching event does nothing */
    KZ(&r, "rules", "disable", "big-since");
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    KZ(&r, "rules", "disable", "big-dry");
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    nevents = 0;
    event(1, 10, 0, "a2", "u2", "purchase", "\"value\":700");
    put_file("more.ndjson", events);
    KZ(&r, "import", "events", "more.ndjson");
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    out = run_rules(NULL, NULL, NULL);
    cr_assert(kt_contains(out, "fired 0 "), "%s", out);
    free(out);
    t = tasks("--status", "all");
    cr_assert_eq(cJSON_GetArraySize(t), 2);
    cJSON_Delete(t);
}

/* ---- 4. webhooks ------------------------------------------------------------------------- */

static const char *const secret = "s3cr3t-for-tests";

/* A rule on a1's honey purchase with the given actions (JSON list items). */
static void honey_event_rule(const char *file, const char *id, const char *actions)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{ \"id\": \"%s\", \"title\": \"Honey bought\", \"playbook\": \"risk-recovery\",\n"
             "  \"trigger\": { \"kind\": \"event\", \"event\": \"purchase\", \"where\": [ { \"field\": "
             "\"properties.category\", \"op\": \"=\", \"value\": \"honey\" } ] },\n"
             "  \"actions\": [ %s ] }\n",
             id, actions);
    put_file(file, text);
}

/* Request i of h is signed with secret, at a time close to now. */
static void assert_signed(kt_hook *h, int i)
{
    char *body = kt_hook_body(h, i), *ts = kt_hook_header(h, i, "X-Kizuna-Timestamp"),
         *sig = kt_hook_header(h, i, "X-Kizuna-Signature");
    cr_assert_not_null(body);
    cr_assert_not_null(ts, "request %d has no X-Kizuna-Timestamp", i);
    cr_assert_not_null(sig, "request %d has no X-Kizuna-Signature", i);
    cr_assert_eq(kz_webhook_verify(secret, ts, body, strlen(body), sig), 0, "request %d: %s (ts %s, sig %s)", i,
                 kz_error_msg(), ts, sig);
    cr_assert_neq(kz_webhook_verify("another secret", ts, body, strlen(body), sig), 0);
    free(body);
    free(ts);
    free(sig);
}

static long long timestamp_of(kt_hook *h, int i)
{
    char *ts = kt_hook_header(h, i, "X-Kizuna-Timestamp");
    cr_assert_not_null(ts);
    long long v = strtoll(ts, NULL, 10);
    free(ts);
    return v;
}

Test(rules_cli, a_webhook_is_signed_and_names_the_rule_and_account_and_slack_gets_text)
{
    kt_hook *h = kt_hook_start(), *slack = kt_hook_start();
    event(2, 10, 0, "a1", "u1", "purchase", "\"properties\":{\"category\":\"honey\"}");
    event(2, 11, 0, "a2", "u2", "purchase", "\"properties\":{\"category\":\"baby\"}");
    world();
    char actions[512];
    snprintf(actions, sizeof actions,
             "{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook\"},\n"
             "{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:%d/slack\",\"format\":\"slack\",\"text\":\"{{account.name}} "
             "bought honey\"}",
             kt_hook_port(h), kt_hook_port(slack));
    honey_event_rule("hook.json", "honey-hook", actions);
    load_and_enable("hook.json", "honey-hook", "enable", 10);
    char set[128];
    snprintf(set, sizeof set, "rules.webhook_secret=%s", secret);
    char *out = run_rules(set, NULL, NULL);
    cr_assert(kt_contains(out, "fired 1 "), "%s", out);
    cr_assert(kt_contains(out, "deliveries sent 2, to retry 0, failed 0"), "%s", out);
    free(out);
    long long now = (long long)time(NULL);

    cr_assert(kt_hook_wait(h, 1, 5000));
    cr_assert_eq(kt_hook_count(h), 1);
    char *line = kt_hook_request_line(h, 0);
    cr_assert_str_eq(line, "POST /hook HTTP/1.1");
    free(line);
    char *ct = kt_hook_header(h, 0, "Content-Type");
    cr_assert(ct && kt_contains(ct, "application/json"), "%s", ct ? ct : "(none)");
    free(ct);
    assert_signed(h, 0);
    long long ts = timestamp_of(h, 0);
    cr_assert(ts > now - 300 && ts <= now + 5, "timestamp %lld, now %lld", ts, now);
    char *body = kt_hook_body(h, 0);
    cJSON *j = cJSON_Parse(body);
    cr_assert_not_null(j, "%s", body);
    cr_assert_str_eq(str(j, "rule"), "honey-hook");
    cr_assert_str_eq(str(j, "title"), "Honey bought");
    cr_assert_str_eq(str(j, "account_id"), "a1");
    cr_assert_str_eq(str(j, "account_name"), "Acme");
    cr_assert_str_eq(str(j, "owner"), "alice");
    cr_assert_str_eq(str(j, "playbook"), "risk-recovery");
    char at[48];
    when(at, sizeof at, 2, 10, 0);
    cr_assert_str_eq(str(j, "at"), at);
    cJSON_Delete(j);
    free(body);

    cr_assert(kt_hook_wait(slack, 1, 5000));
    cr_assert_eq(kt_hook_count(slack), 1);
    assert_signed(slack, 0);
    body = kt_hook_body(slack, 0);
    j = cJSON_Parse(body);
    cr_assert_not_null(j, "%s", body);
    cr_assert_eq(cJSON_GetArraySize(j), 1, "a Slack body is {\"text\": ...} only: %s", body);
    cr_assert_str_eq(str(j, "text"), "Acme bought honey");
    cJSON_Delete(j);
    free(body);

    cJSON *d = deliveries(NULL);
    cr_assert_eq(cJSON_GetArraySize(d), 2, "%s", cJSON_Print(d));
    const cJSON *row;
    cJSON_ArrayForEach(row, d)
    {
        cr_assert_str_eq(str(row, "state"), "done");
        cr_assert_str_eq(str(row, "kind"), "webhook");
        cr_assert_eq(num(row, "attempts"), 1);
    }
    cJSON_Delete(d);

    /* again: nothing sent twice */
    out = run_rules(set, NULL, NULL);
    cr_assert(kt_contains(out, "fired 0 "), "%s", out);
    free(out);
    cr_assert_eq(kt_hook_count(h), 1);
    cr_assert_eq(kt_hook_count(slack), 1);
    kt_hook_stop(h);
    kt_hook_stop(slack);
}

Test(rules_cli, a_webhook_answered_500_is_pending_then_deliver_all_sends_it)
{
    kt_hook *h = kt_hook_start();
    event(2, 10, 0, "a1", "u1", "purchase", "\"properties\":{\"category\":\"honey\"}");
    world();
    char actions[256];
    snprintf(actions, sizeof actions, "{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook\"}", kt_hook_port(h));
    honey_event_rule("hook.json", "honey-hook", actions);
    load_and_enable("hook.json", "honey-hook", "enable", 10);
    char set[128];
    snprintf(set, sizeof set, "rules.webhook_secret=%s", secret);
    kt_hook_fail_next(h, 1);
    char *out = run_rules(set, NULL, NULL);
    cr_assert(kt_contains(out, "deliveries sent 0, to retry 1, failed 0"), "%s", out);
    free(out);
    cr_assert_eq(kt_hook_count(h), 1, "the receiver saw the 500");

    cJSON *d = deliveries("pending");
    cr_assert_eq(cJSON_GetArraySize(d), 1, "%s", cJSON_Print(d));
    const cJSON *row = cJSON_GetArrayItem(d, 0);
    cr_assert_str_eq(str(row, "state"), "pending");
    cr_assert_eq(num(row, "attempts"), 1);
    cr_assert(kt_contains(str(row, "last_error"), "HTTP 500"), "%s", cJSON_Print(row));
    cr_assert(!kt_contains(str(row, "last_error"), "/hook"), "the path of a webhook URL is kept out of messages");
    cr_assert_not_null(str(row, "next_at"), "a pending delivery says when it is tried next");
    cJSON_Delete(d);

    /* not due yet: a plain deliver leaves it */
    kt_run r;
    KZ(&r, "--set", set, "rules", "deliver");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "deliveries sent 0, to retry 0, failed 0"), "%s", r.out);
    kt_run_free(&r);
    cr_assert_eq(kt_hook_count(h), 1);

    KZ(&r, "--set", set, "rules", "deliver", "--all");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "deliveries sent 1, to retry 0, failed 0"), "%s", r.out);
    kt_run_free(&r);
    cr_assert_eq(kt_hook_count(h), 2);
    assert_signed(h, 0);
    assert_signed(h, 1);
    char *b0 = kt_hook_body(h, 0), *b1 = kt_hook_body(h, 1);
    cr_assert_str_eq(b0, b1, "the retry sends the same body");
    free(b0);
    free(b1);

    d = deliveries(NULL);
    cr_assert_eq(cJSON_GetArraySize(d), 1);
    row = cJSON_GetArrayItem(d, 0);
    cr_assert_str_eq(str(row, "state"), "done");
    cr_assert_eq(num(row, "attempts"), 2);
    cJSON_Delete(d);
    kt_hook_stop(h);
}

/* `rules deliver --all` tries the waiting deliveries now: now is still now
 * (the signature's timestamp, the time of the next try). */
Test(rules_cli, deliver_all_keeps_the_real_clock)
{
    kt_hook *h = kt_hook_start();
    event(2, 10, 0, "a1", "u1", "purchase", "\"properties\":{\"category\":\"honey\"}");
    world();
    char actions[256];
    snprintf(actions, sizeof actions, "{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook\"}", kt_hook_port(h));
    honey_event_rule("hook.json", "honey-hook", actions);
    load_and_enable("hook.json", "honey-hook", "enable", 10);
    char set[128];
    snprintf(set, sizeof set, "rules.webhook_secret=%s", secret);
    kt_hook_fail_next(h, 2);
    free(run_rules(set, NULL, NULL));
    kt_run r;
    KZ(&r, "--set", set, "rules", "deliver", "--all");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "to retry 1"), "%s", r.out);
    kt_run_free(&r);
    cr_assert_eq(kt_hook_count(h), 2);
    long long now = (long long)time(NULL);
    long long ts = timestamp_of(h, 1);
    cr_assert(ts > now - 300 && ts <= now + 5,
              "the retry sent by `deliver --all` carries X-Kizuna-Timestamp %lld, now is %lld", ts, now);

    /* its next try is minutes away, not in another millennium */
    cJSON *d = deliveries("pending");
    cr_assert_eq(cJSON_GetArraySize(d), 1);
    const cJSON *row = cJSON_GetArrayItem(d, 0);
    cr_assert_eq(num(row, "attempts"), 2);
    const char *next = str(row, "next_at");
    char today[40], tomorrow[40];
    day(today, sizeof today, 0);
    day(tomorrow, sizeof tomorrow, -1);
    cr_assert(next && (strncmp(next, today, 10) == 0 || strncmp(next, tomorrow, 10) == 0),
              "next_at %s after a failed `deliver --all` (today is %s)", next ? next : "(none)", today);
    cJSON_Delete(d);

    /* and --all tries it again */
    KZ(&r, "--set", set, "rules", "deliver", "--all");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "deliveries sent 1"), "a second `deliver --all`: %s", r.out);
    kt_run_free(&r);
    cr_assert_eq(kt_hook_count(h), 3);
    kt_hook_stop(h);
}

/* ---- 5. e-mail ----------------------------------------------------------------------------- */

/* The header block of a message, one header unfolded. */
static char *mail_header(const char *msg, const char *name)
{
    const char *end = strstr(msg, "\r\n\r\n");
    cr_assert_not_null(end, "no blank line after the headers");
    size_t k = strlen(name);
    for (const char *p = msg; p < end + 2;) {
        const char *e = strstr(p, "\r\n");
        if (strncasecmp(p, name, k) == 0 && p[k] == ':') {
            const char *v = p + k + 1;
            while (*v == ' ')
                v++;
            while (e && (e[2] == ' ' || e[2] == '\t'))
                e = strstr(e + 2, "\r\n");
            char *out = strndup(v, (size_t)(e - v)), *w = out;
            for (char *q = out; *q; q++) {
                if (q[0] == '\r' && q[1] == '\n') {
                    q++;
                    continue;
                }
                *w++ = *q;
            }
            *w = 0;
            return out;
        }
        p = e + 2;
    }
    return NULL;
}

/* RFC 2047 "=?UTF-8?B?...?=" words decoded and joined (white space between
 * words dropped); other text as is. */
static char *decode_words(const char *v)
{
    size_t cap = strlen(v) + 1, o = 0;
    char *out = calloc(1, cap);
    cr_assert_not_null(out);
    const char *p = v;
    while (*p) {
        if (strncasecmp(p, "=?UTF-8?B?", 10) == 0) {
            const char *b = p + 10, *e = strstr(b, "?=");
            cr_assert_not_null(e, "an encoded word without its end: %s", v);
            size_t got = 0;
            cr_assert_eq(sodium_base642bin((unsigned char *)out + o, cap - o - 1, b, (size_t)(e - b), NULL, &got, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0, "bad base64 in %s", v);
            o += got;
            p = e + 2;
            const char *q = p;
            while (*q == ' ' || *q == '\t')
                q++;
            if (strncasecmp(q, "=?UTF-8?B?", 10) == 0)
                p = q;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = 0;
    return out;
}

/* The body of a message, base64-decoded. */
static char *mail_body(const char *msg)
{
    const char *b = strstr(msg, "\r\n\r\n");
    cr_assert_not_null(b);
    b += 4;
    size_t n = strlen(b), got = 0;
    char *out = calloc(1, n + 1);
    cr_assert_not_null(out);
    cr_assert_eq(sodium_base642bin((unsigned char *)out, n, b, n, "\r\n", &got, NULL, sodium_base64_VARIANT_ORIGINAL), 0,
                 "the body is not base64: %s", b);
    out[got] = 0;
    return out;
}

static const char mail_actions[] =
    "{\"kind\":\"email\",\"to\":\"{{account.owner}}@example.com\",\"subject\":\"{{account.name}} 様: はちみつのご注意\","
    "\"body\":\"Dear {{account.name}},\\nhoney is not for infants under 12 months.\\n-- {{rule.title}}\\n\"}";

Test(rules_cli, an_email_arrives_rendered_with_a_japanese_subject)
{
    kt_smtp *s = kt_smtp_start();
    event(2, 10, 0, "a1", "u1", "purchase", "\"properties\":{\"category\":\"honey\"}");
    world();
    honey_event_rule("mail.json", "honey-mail", mail_actions);
    load_and_enable("mail.json", "honey-mail", "enable", 10);
    char url[64];
    snprintf(url, sizeof url, "smtp.url=smtp://127.0.0.1:%d", kt_smtp_port(s));
    char *out = run_rules(url, "smtp.tls=none", "smtp.from=cs@kizuna.example");
    cr_assert(kt_contains(out, "deliveries sent 1, to retry 0, failed 0"), "%s", out);
    free(out);
    cr_assert(kt_smtp_wait(s, 1, 5000));
    cr_assert_eq(kt_smtp_count(s), 1);
    char *rcpt = kt_smtp_rcpt(s, 0), *sender = kt_smtp_sender(s, 0), *msg = kt_smtp_message(s, 0);
    cr_assert_str_eq(rcpt, "alice@example.com");
    cr_assert_str_eq(sender, "cs@kizuna.example");
    char *subject = mail_header(msg, "Subject");
    cr_assert_not_null(subject, "%s", msg);
    char *dec = decode_words(subject);
    cr_assert_str_eq(dec, "Acme 様: はちみつのご注意", "Subject: %s", subject);
    char *body = mail_body(msg);
    cr_assert_str_eq(body, "Dear Acme,\r\nhoney is not for infants under 12 months.\r\n-- Honey bought\r\n");
    char *to = mail_header(msg, "To");
    cr_assert(to && kt_contains(to, "alice@example.com"), "%s", to ? to : "(none)");
    free(to);
    free(body);
    free(dec);
    free(subject);
    free(rcpt);
    free(sender);
    free(msg);

    cJSON *d = deliveries(NULL);
    cr_assert_eq(cJSON_GetArraySize(d), 1);
    cr_assert_str_eq(str(cJSON_GetArrayItem(d, 0), "state"), "done");
    cr_assert_str_eq(str(cJSON_GetArrayItem(d, 0), "kind"), "email");
    cr_assert_eq(num(cJSON_GetArrayItem(d, 0), "attempts"), 1);
    cJSON_Delete(d);
    kt_smtp_stop(s);
}

Test(rules_cli, an_email_without_a_mail_server_waits_visibly_and_goes_once_there_is_one)
{
    kt_smtp *s = kt_smtp_start();
    event(2, 10, 0, "a1", "u1", "purchase", "\"properties\":{\"category\":\"honey\"}");
    world();
    honey_event_rule("mail.json", "honey-mail", mail_actions);
    load_and_enable("mail.json", "honey-mail", "enable", 10);
    char *out = run_rules(NULL, NULL, NULL);
    cr_assert(kt_contains(out, "to retry 1"), "%s", out);
    free(out);
    cJSON *d = deliveries(NULL);
    cr_assert_eq(cJSON_GetArraySize(d), 1);
    const cJSON *row = cJSON_GetArrayItem(d, 0);
    cr_assert_str_eq(str(row, "state"), "pending");
    cr_assert_eq(num(row, "attempts"), 1);
    cr_assert(kt_contains(str(row, "last_error"), "no mail server"), "%s", cJSON_Print(row));
    cJSON_Delete(d);

    char url[64];
    snprintf(url, sizeof url, "smtp.url=smtp://127.0.0.1:%d", kt_smtp_port(s));
    kt_run r;
    KZ(&r, "--set", url, "--set", "smtp.tls=none", "rules", "deliver", "--all");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "deliveries sent 1"), "%s", r.out);
    kt_run_free(&r);
    cr_assert_eq(kt_smtp_count(s), 1);
    d = deliveries("done");
    cr_assert_eq(cJSON_GetArraySize(d), 1);
    cr_assert_eq(num(cJSON_GetArrayItem(d, 0), "attempts"), 2);
    cJSON_Delete(d);
    kt_smtp_stop(s);
}

Test(rules_cli, an_email_refused_eight_times_is_failed_for_good)
{
    kt_smtp *s = kt_smtp_start();
    event(2, 10, 0, "a1", "u1", "purchase", "\"properties\":{\"category\":\"honey\"}");
    world();
    honey_event_rule("mail.json", "honey-mail", mail_actions);
    load_and_enable("mail.json", "honey-mail", "enable", 10);
    kt_smtp_fail_next(s, 8);
    char url[64];
    snprintf(url, sizeof url, "smtp.url=smtp://127.0.0.1:%d", kt_smtp_port(s));
    kt_run r;
    KZ(&r, "rules", "run", "--no-deliver");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "fired 1 "), "%s", r.out);
    kt_run_free(&r);
    cJSON *d = deliveries("pending");
    cr_assert_eq(cJSON_GetArraySize(d), 1, "--no-deliver queues the e-mail");
    cr_assert_eq(num(cJSON_GetArrayItem(d, 0), "attempts"), 0);
    cJSON_Delete(d);
    for (int i = 1; i <= 8; i++) {
        KZ(&r, "--set", url, "--set", "smtp.tls=none", "rules", "deliver", "--all");
        cr_assert_eq(r.status, 0, "%s", r.err);
        kt_run_free(&r);
        d = deliveries(NULL);
        const cJSON *row = cJSON_GetArrayItem(d, 0);
        cr_assert_eq(num(row, "attempts"), i, "after `deliver --all` number %d: %s", i, cJSON_Print(row));
        cr_assert_str_eq(str(row, "state"), i < 8 ? "pending" : "failed", "after try %d", i);
        cr_assert(kt_contains(str(row, "last_error"), "451"), "%s", cJSON_Print(row));
        cJSON_Delete(d);
    }
    cr_assert_eq(kt_smtp_count(s), 0);
    d = deliveries("failed");
    cr_assert_eq(cJSON_GetArraySize(d), 1);
    cJSON_Delete(d);
    KZ(&r, "rules", "deliveries", "--state", "failed");
    cr_assert_eq(r.status, 0);
    cr_assert(kt_contains(r.out, "failed") && kt_contains(r.out, "email"), "%s", r.out);
    kt_run_free(&r);
    d = deliveries("pending");
    cr_assert_eq(cJSON_GetArraySize(d), 0);
    cJSON_Delete(d);
    /* failed is final: --all tries it no more (the server would accept now) */
    KZ(&r, "--set", url, "--set", "smtp.tls=none", "rules", "deliver", "--all");
    cr_assert(kt_contains(r.out, "deliveries sent 0, to retry 0, failed 0"), "%s", r.out);
    kt_run_free(&r);
    cr_assert_eq(kt_smtp_count(s), 0);
    kt_smtp_stop(s);
}

/* ---- 6. bad input -------------------------------------------------------------------------- */

static const char good_rule[] =
    "{\"id\":\"ok\",\"trigger\":{\"kind\":\"event\",\"event\":\"login\"},\"actions\":[{\"kind\":\"note\",\"text\":\"n\"}]}\n";
static const char bad_rule[] = "{\"id\":\"x\",\"trigger\":{\"kind\":\"sequence\",\"within\":\"1d\",\"steps\":[{\"count\":2}]},"
                               "\"actions\":[{\"kind\":\"note\",\"text\":\"n\"}]}\n";

static int stored_rules(void)
{
    kt_run r;
    KZ(&r, "rules", "list", "--format", "json");
    cJSON *l = json_rows(&r, "rules list");
    int n = cJSON_GetArraySize(l);
    cJSON_Delete(l);
    return n;
}

Test(rules_cli, a_bad_rule_is_refused_with_its_place_and_nothing_is_stored)
{
    world();
    char *rf = kt_path(dir, "rf");
    cr_assert_eq(mkdir(rf, 0755), 0);
    put_file("rf/a.json", good_rule);
    put_file("rf/b.json", bad_rule);
    put_file("bad.json", bad_rule);
    char both[1024];
    snprintf(both, sizeof both, "[%.*s, %s]", (int)strlen(good_rule) - 1, good_rule, bad_rule);
    put_file("both.json", both);

    kt_run r;
    KZ(&r, "rules", "load", "bad.json");
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(kt_contains(r.err, "bad.json: rule 'x': trigger.steps[0].event: missing"), "%s", r.err);
    kt_run_free(&r);
    cr_assert_eq(stored_rules(), 0);

    /* a folder whose second file is bad: neither is stored */
    KZ(&r, "rules", "load", "rf");
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(kt_contains(r.err, "rf/b.json: rule 'x': trigger.steps[0].event: missing"), "%s", r.err);
    kt_run_free(&r);
    cr_assert_eq(stored_rules(), 0, "the good file of the folder was stored");

    /* one file of two rules, the second bad: neither */
    KZ(&r, "rules", "load", "both.json");
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(kt_contains(r.err, "rule 'x': trigger.steps[0].event: missing"), "%s", r.err);
    kt_run_free(&r);
    cr_assert_eq(stored_rules(), 0);

    /* the good one alone loads (the list above could see it) */
    KZ(&r, "rules", "load", "rf/a.json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    cr_assert_eq(stored_rules(), 1);

    /* not JSON at all */
    put_file("broken.json", "{\"id\": \"y\",\n  \"trigger\": \n");
    KZ(&r, "rules", "load", "broken.json");
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(kt_contains(r.err, "broken.json: line"), "%s", r.err);
    kt_run_free(&r);
    cr_assert_eq(stored_rules(), 1);

    KZ(&r, "rules", "frobnicate");
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(kt_contains(r.err, "'frobnicate' is not a rules command"), "%s", r.err);
    kt_run_free(&r);
    KZ(&r, "rules", "show", "nope");
    cr_assert_eq(r.status, 1, "%s", r.err);
    cr_assert(kt_contains(r.err, "no rule 'nope'"), "%s", r.err);
    kt_run_free(&r);
    KZ(&r, "rules", "enable", "nope");
    cr_assert_eq(r.status, 1, "%s", r.err);
    cr_assert(kt_contains(r.err, "no rule 'nope'"), "%s", r.err);
    kt_run_free(&r);
    KZ(&r, "tasks", "done", "999");
    cr_assert_eq(r.status, 1, "%s", r.err);
    cr_assert(kt_contains(r.err, "no task 999"), "%s", r.err);
    kt_run_free(&r);
    KZ(&r, "tasks", "--status", "bogus");
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(kt_contains(r.err, "--status bogus"), "%s", r.err);
    kt_run_free(&r);
    KZ(&r, "rules", "deliveries", "--state", "lost");
    cr_assert_eq(r.status, 2, "%s", r.err);
    kt_run_free(&r);
    KZ(&r, "rules", "show");
    cr_assert_eq(r.status, 2, "%s", r.err);
    kt_run_free(&r);

    /* the stored rule is shown as JSON */
    KZ(&r, "rules", "show", "ok");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *j = cJSON_Parse(r.out);
    cr_assert_not_null(j, "%s", r.out);
    cr_assert_str_eq(str(j, "rule"), "ok");
    cr_assert_str_eq(str(j, "mode"), "on");
    cJSON_Delete(j);
    kt_run_free(&r);
    free(rf);
}

/* ---- 7. tasks -------------------------------------------------------------------------------- */

Test(rules_cli, tasks_by_hand_filtered_and_closed)
{
    world();
    char yesterday[40], later[40];
    day(yesterday, sizeof yesterday, 1);
    day(later, sizeof later, -5);
    kt_run r;
    KZ(&r, "tasks", "add", "--title", "Call Acme", "--account", "a1", "--assignee", "carol", "--due", yesterday);
    cr_assert_eq(r.status, 0, "%s", r.err);
    char id[32];
    long long task_id = strtoll(r.out, NULL, 10);
    cr_assert(task_id > 0, "tasks add prints the id: %s", r.out);
    snprintf(id, sizeof id, "%lld", task_id);
    kt_run_free(&r);
    KZ(&r, "tasks", "add", "--title", "Plan the QBR", "--account", "a2", "--assignee", "dave", "--due", later);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    KZ(&r, "tasks", "add", "--title", "Nobody's yet", "--account", "a1");
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    KZ(&r, "tasks", "add", "--title", "Ghost", "--account", "nope");
    cr_assert_eq(r.status, 1, "%s", r.err);
    cr_assert(kt_contains(r.err, "no account 'nope'"), "%s", r.err);
    kt_run_free(&r);
    KZ(&r, "tasks", "add", "--account", "a1");
    cr_assert_eq(r.status, 2, "a task needs a title: %s", r.err);
    kt_run_free(&r);

    cJSON *t = tasks("--assignee", "carol");
    cr_assert_eq(cJSON_GetArraySize(t), 1, "%s", cJSON_Print(t));
    const cJSON *row = cJSON_GetArrayItem(t, 0);
    cr_assert_str_eq(str(row, "title"), "Call Acme");
    cr_assert_str_eq(str(row, "account_id"), "a1");
    cr_assert_str_eq(str(row, "due"), yesterday);
    cr_assert(kt_contains(str(row, "source"), "user:"), "%s", cJSON_Print(row));
    cJSON_Delete(t);

    t = tasks("--overdue", NULL);
    cr_assert_eq(cJSON_GetArraySize(t), 1, "%s", cJSON_Print(t));
    cr_assert(has_title(t, "Call Acme"));
    cJSON_Delete(t);

    t = tasks("--account", "a1");
    cr_assert_eq(cJSON_GetArraySize(t), 2, "%s", cJSON_Print(t));
    cr_assert(has_title(t, "Call Acme") && has_title(t, "Nobody's yet") && !has_title(t, "Plan the QBR"));
    cJSON_Delete(t);

    KZ(&r, "tasks", "--account", "nope");
    cr_assert_eq(r.status, 1, "%s", r.err);
    kt_run_free(&r);

    KZ(&r, "tasks");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "Call Acme") && kt_contains(r.out, "Plan the QBR"), "%s", r.out);
    kt_run_free(&r);

    KZ(&r, "tasks", "done", id);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    t = tasks(NULL, NULL);
    cr_assert_eq(cJSON_GetArraySize(t), 2, "%s", cJSON_Print(t));
    cr_assert(!has_title(t, "Call Acme"), "a done task is not open: %s", cJSON_Print(t));
    cJSON_Delete(t);
    t = tasks("--status", "done");
    cr_assert_eq(cJSON_GetArraySize(t), 1, "%s", cJSON_Print(t));
    cr_assert(has_title(t, "Call Acme"));
    cr_assert_str_eq(str(cJSON_GetArrayItem(t, 0), "status"), "done");
    cJSON_Delete(t);
    t = tasks("--overdue", NULL);
    cr_assert_eq(cJSON_GetArraySize(t), 0, "a done task is not overdue: %s", cJSON_Print(t));
    cJSON_Delete(t);
    t = tasks("--status", "all");
    cr_assert_eq(cJSON_GetArraySize(t), 3);
    cJSON_Delete(t);

    KZ(&r, "tasks", "reopen", id);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    t = tasks("--assignee", "carol");
    cr_assert_eq(cJSON_GetArraySize(t), 1);
    cJSON_Delete(t);
}

/* ---- 8. help --------------------------------------------------------------------------------- */

Test(rules_cli, rules_and_tasks_have_help_and_exit_zero)
{
    const char *cmds[] = { "rules", "tasks" };
    for (size_t i = 0; i < 2; i++) {
        char want[64];
        snprintf(want, sizeof want, "Usage: kizuna %s", cmds[i]);
        kt_run r;
        kt_kizunav(&r, dir, NULL, cmds[i], "--help", NULL);
        cr_assert_eq(r.status, 0, "%s --help: %s", cmds[i], r.err);
        cr_assert(kt_contains(r.out, want), "%s", r.out);
        kt_run_free(&r);
        kt_kizunav(&r, dir, NULL, "help", cmds[i], NULL);
        cr_assert_eq(r.status, 0, "help %s: %s", cmds[i], r.err);
        cr_assert(kt_contains(r.out, want), "%s", r.out);
        kt_run_free(&r);
    }
    kt_run r;
    kt_kizunav(&r, dir, NULL, "rules", "--help", NULL);
    cr_assert(kt_contains(r.out, "deliveries") && kt_contains(r.out, "--since"), "%s", r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--help", NULL);
    cr_assert(kt_contains(r.out, "rules") && kt_contains(r.out, "tasks"), "%s", r.out);
    kt_run_free(&r);
}

/* ---- 9. the scheduled triggers: tickets, NPS answers, thresholds ----------------------- */

/* The stored why of rule's firing (a JSON object; the only firing of the rule), parsed. */
static cJSON *stored_why(const char *rule)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    char *path = kt_path(dir, "k.db");
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    free(path);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT why FROM rule_firings WHERE rule = ?1", -1, &q, NULL), SQLITE_OK);
    sqlite3_bind_text(q, 1, rule, -1, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW, "no firing of %s", rule);
    cJSON *why = cJSON_Parse((const char *)sqlite3_column_text(q, 0));
    cr_assert_eq(sqlite3_step(q), SQLITE_DONE, "more than one firing of %s", rule);
    sqlite3_finalize(q);
    sqlite3_close(db);
    cr_assert(cJSON_IsObject(why), "%s: why is not an object", rule);
    return why;
}

Test(rules_cli, an_urgent_ticket_and_a_detractor_fire_once_each)
{
    kt_run r;
    char now[48], old[48];
    when(now, sizeof now, 0, 0, 5);
    when(old, sizeof old, 30, 9, 0);
    world();
    char csv[1024];
    snprintf(csv, sizeof csv,
             "ticket_id,account_id,opened_at,priority,category,subject\n"
             "T1,a1,%s,urgent,operational,Export fails\n"
             "T2,a2,%s,low,functional,How do I\n"
             "T3,a2,%s,urgent,operational,Before the rule was on\n",
             now, now, old);
    put_file("tickets.csv", csv);
    KZ(&r, "import", "tickets", "tickets.csv");
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    snprintf(csv, sizeof csv, "response_id,account_id,ts,score\nN1,a1,%s,3\nN2,a2,%s,9\n", now, now);
    put_file("nps.csv", csv);
    KZ(&r, "import", "nps", "nps.csv");
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    put_file("sched.json",
             "[{\"id\":\"urgent\",\"trigger\":{\"kind\":\"ticket\",\"priorities\":[\"high\",\"urgent\"]},"
             "\"actions\":[{\"kind\":\"task\",\"title\":\"Call {{account.name}}: {{trigger.reason}}\"}]},"
             "{\"id\":\"detractor\",\"trigger\":{\"kind\":\"nps\"},"
             "\"actions\":[{\"kind\":\"task\",\"title\":\"Detractor at {{account.name}}: {{trigger.value}}\"}]}]");
    load_and_enable("sched.json", "urgent", "enable", 2);
    KZ(&r, "rules", "enable", "detractor", "--since", old);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    free(run_rules(NULL, NULL, NULL));
    char *again = run_rules(NULL, NULL, NULL);
    cr_assert(kt_contains(again, "fired 0"), "a second run acts again: %s", again);
    free(again);
    cJSON *t = tasks(NULL, NULL);
    /* T1 only: T2 is low, T3 was opened before the rule was switched on */
    cr_assert(has_title(t, "Call Acme: ticket T1 opened (operational, urgent)"), "tasks");
    cr_assert(has_title(t, "Detractor at Acme: 3"), "tasks");
    cr_assert_eq(cJSON_GetArraySize(t), 2, "only the urgent ticket and the detractor");
    cJSON_Delete(t);
    /* what they fired on, as data: the rule's trigger and the ticket, the score */
    cJSON *why = stored_why("urgent");
    char *got = cJSON_PrintUnformatted(why);
    cr_assert_str_eq(got, "{\"trigger\":{\"kind\":\"ticket\",\"priorities\":[\"high\",\"urgent\"]},"
                          "\"facts\":{\"ticket\":\"T1\",\"category\":\"operational\",\"priority\":\"urgent\"}}");
    free(got);
    cJSON_Delete(why);
    why = stored_why("detractor");
    got = cJSON_PrintUnformatted(why);
    cr_assert_str_eq(got, "{\"trigger\":{\"kind\":\"nps\"},\"facts\":{\"score\":3}}");
    free(got);
    cJSON_Delete(why);
    /* the backtest: the same tickets and answers, over the window whatever the rule's start */
    char *b = backtest("urgent", "1");
    cr_assert_str_eq(b, "a1|ticket:T1;", "what the run fired");
    free(b);
    b = backtest("urgent", "40");
    cr_assert_str_eq(b, "a2|ticket:T3;a1|ticket:T1;", "T3 of 30 days ago too, by time");
    free(b);
    b = backtest("detractor", "40");
    cr_assert_str_eq(b, "a1|nps:N1;");
    free(b);
}

/* world() with a1 and a2 paying (pro, 100 and 200) for 200 days. */
static void paying_world(void)
{
    kt_run r;
    world();
    char start[40], csv[512];
    day(start, sizeof start, 200);
    snprintf(csv, sizeof csv,
             "subscription_id,account_id,plan,mrr,start_date\ns1,a1,pro,100,%s\ns2,a2,pro,200,%s\n", start, start);
    put_file("subs.csv", csv);
    KZ(&r, "import", "subscriptions", "subs.csv");
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
}

Test(rules_cli, a_threshold_fires_once_and_again_only_after_recovering)
{
    kt_run r;
    for (int d = 20; d >= 1; d--) {
        event(d, 10, 0, "a1", "u1", "login", NULL);
        event(d, 11, 0, "a2", "u2", "login", NULL);
    }
    paying_world();
    /* health is 0 to 100: "<= 100" holds for every scored account, "> 100" for none */
    static const char low[] = "{\"id\":\"low\",\"trigger\":{\"kind\":\"threshold\",\"measure\":\"health\",\"op\":\"<=\","
                              "\"value\":100},\"actions\":[{\"kind\":\"task\",\"title\":\"Health {{account.name}}\"}]}";
    static const char high[] = "{\"id\":\"low\",\"trigger\":{\"kind\":\"threshold\",\"measure\":\"health\",\"op\":\">\","
                               "\"value\":100},\"actions\":[{\"kind\":\"task\",\"title\":\"Health {{account.name}}\"}]}";
    put_file("low.json", low);
    put_file("high.json", high);
    load_and_enable("low.json", "low", "enable", 1);
    free(run_rules(NULL, NULL, NULL));
    cJSON *f = firings("low");
    cr_assert_eq(cJSON_GetArraySize(f), 2, "both accounts crossed");
    cJSON_Delete(f);
    char *again = run_rules(NULL, NULL, NULL);
    cr_assert(kt_contains(again, "fired 0"), "still below, fired again: %s", again);
    free(again);
    /* the condition stops holding (the accounts recover), then holds again: a new firing each */
    KZ(&r, "rules", "load", "high.json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    free(run_rules(NULL, NULL, NULL));
    KZ(&r, "rules", "load", "low.json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    free(run_rules(NULL, NULL, NULL));
    f = firings("low");
    cr_assert_eq(cJSON_GetArraySize(f), 4, "a second crossing after the recovery");
    cJSON_Delete(f);
}

Test(rules_cli, day_14_without_the_milestone_and_30_days_before_renewal)
{
    kt_run r;
    event(3, 10, 0, "a2", "u2", "report_created", NULL);
    event(2, 10, 0, "a1", "u1", "login", NULL);
    world();
    char s14[40], s335[40], csv[512];
    day(s14, sizeof s14, 14);
    day(s335, sizeof s335, 365 - 30);
    /* a1 and a2 signed up 14 days ago; a3's first year ends in 30 days */
    put_file("more.csv", "account_id,name,owner\na3,Gamma,carol\n");
    KZ(&r, "import", "accounts", "more.csv");
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    snprintf(csv, sizeof csv,
             "subscription_id,account_id,plan,mrr,start_date\ns1,a1,pro,100,%s\ns2,a2,pro,100,%s\n"
             "s3,a3,team,300,%s\n",
             s14, s14, s335);
    put_file("subs.csv", csv);
    KZ(&r, "import", "subscriptions", "subs.csv");
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    put_file("dates.json",
             "[{\"id\":\"onboarding\",\"trigger\":{\"kind\":\"date\",\"anchor\":\"signup\",\"offset_days\":14,"
             "\"unless_event\":\"report_created\"},\"actions\":[{\"kind\":\"task\",\"title\":\"Onboarding {{account.name}}\","
             "\"playbook\":\"onboarding-kickoff\"}]},"
             "{\"id\":\"renewal-30\",\"trigger\":{\"kind\":\"date\",\"anchor\":\"renewal\",\"offset_days\":-30},"
             "\"actions\":[{\"kind\":\"task\",\"title\":\"Renewal {{account.name}} {{trigger.reason}}\"}]}]");
    load_and_enable("dates.json", "onboarding", "enable", 2);
    char since[40];
    day(since, sizeof since, 2);
    KZ(&r, "rules", "enable", "renewal-30", "--since", since);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    free(run_rules(NULL, NULL, NULL));
    char *again = run_rules(NULL, NULL, NULL);
    cr_assert(kt_contains(again, "fired 0"), "a second run acts again: %s", again);
    free(again);
    cJSON *t = tasks(NULL, NULL);
    cr_assert(has_title(t, "Onboarding Acme"), "a1 has no report by day 14");
    cr_assert(!has_title(t, "Onboarding Beta"), "a2 created a report: no task");
    int renewal = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, t)
    {
        renewal += strncmp(str(row, "title"), "Renewal Gamma renewal on ", 25) == 0;
    }
    cr_assert_eq(renewal, 1, "a3's renewal in 30 days");
    cr_assert_eq(cJSON_GetArraySize(t), 2);
    cJSON_Delete(t);
    /* the backtest finds the same dates, by their anchors */
    char d14[40], dren[40], want[160];
    day(d14, sizeof d14, 14);
    day(dren, sizeof dren, -30);
    char *b = backtest("onboarding", "10");
    snprintf(want, sizeof want, "a1|date:%s;", d14);
    cr_assert_str_eq(b, want, "a1's day 14, not a2 (its report came by then)");
    free(b);
    b = backtest("renewal-30", "10");
    snprintf(want, sizeof want, "a3|date:%s;", dren);
    cr_assert_str_eq(b, want);
    free(b);
    cJSON *f = firings("renewal-30");
    cr_assert_eq(cJSON_GetArraySize(f), 1);
    snprintf(want, sizeof want, "date:%s", dren);
    cr_assert_str_eq(str(cJSON_GetArrayItem(f, 0), "window"), want, "what the backtest found");
    cJSON_Delete(f);
}

Test(rules_cli, a_threshold_backtest_finds_the_day_it_was_crossed_and_the_run_fires_the_same)
{
    kt_run r;
    /* a1 is active every day; a2 stopped 11 days ago */
    for (int d = 20; d >= 1; d--) {
        event(d, 10, 0, "a1", "u1", "login", NULL);
        if (d >= 11)
            event(d, 11, 0, "a2", "u2", "login", NULL);
    }
    paying_world();
    put_file("quiet.json",
             "{\"id\":\"quiet\",\"mode\":\"off\",\"trigger\":{\"kind\":\"threshold\",\"measure\":"
             "\"days_since_last_event\",\"op\":\">\",\"value\":5},"
             "\"actions\":[{\"kind\":\"task\",\"title\":\"Quiet {{account.name}}\"}]}");
    KZ(&r, "rules", "load", "quiet.json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    /* a2's sixth quiet day was 5 days ago: the day it crossed */
    KZ(&r, "rules", "test", "quiet", "--days", "15", "--format", "json");
    cJSON *j = json_rows(&r, "rules test");
    cr_assert_eq(cJSON_GetArraySize(j), 1, "one crossing");
    const cJSON *hit = cJSON_GetArrayItem(j, 0);
    char d5[40];
    day(d5, sizeof d5, 5);
    cr_assert_str_eq(str(hit, "account_id"), "a2");
    cr_assert(strncmp(str(hit, "at"), d5, 10) == 0, "crossed on %s, not %s", str(hit, "at"), d5);
    cr_assert_str_eq(str(hit, "window"), "crossing:1");
    cr_assert(kt_contains(str(hit, "reason"), "days_since_last_event 6 > 5"), "%s", str(hit, "reason"));
    cJSON_Delete(j);
    /* a window that starts after the crossing: a2 was quiet already, nothing new */
    char *b = backtest("quiet", "3");
    cr_assert_str_eq(b, "");
    free(b);
    /* switched on, the run fires for the same account, once */
    KZ(&r, "rules", "enable", "quiet");
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    free(run_rules(NULL, NULL, NULL));
    cJSON *f = firings("quiet");
    cr_assert_eq(cJSON_GetArraySize(f), 1);
    cr_assert_str_eq(str(cJSON_GetArrayItem(f, 0), "account_id"), "a2");
    cr_assert_str_eq(str(cJSON_GetArrayItem(f, 0), "window"), "crossing:1");
    cJSON_Delete(f);
}

/* ---- 10. the server: rules.dir at start, live events, a restart ------------------------- */

Test(rules_cli, the_server_acts_on_live_events_once_and_not_again_after_a_restart)
{
    kt_run r;
    world();
    kt_hook *h = kt_hook_start();
    char rule[1024];
    snprintf(rule, sizeof rule,
             "{\"id\":\"honey-live\",\"trigger\":{\"kind\":\"sequence\",\"per\":\"user\",\"within\":\"30d\","
             "\"steps\":[{\"event\":\"purchase\",\"where\":[{\"field\":\"properties.category\",\"op\":\"=\","
             "\"value\":\"baby\"}]},{\"event\":\"purchase\",\"where\":[{\"field\":\"properties.category\","
             "\"op\":\"=\",\"value\":\"honey\"}]}]},\"actions\":[{\"kind\":\"webhook\","
             "\"url\":\"http://127.0.0.1:%d/hook\"},{\"kind\":\"task\",\"title\":\"Honey {{user.id}}\"}]}",
             kt_hook_port(h));
    char *rd = kt_path(dir, "rules");
    cr_assert_eq(mkdir(rd, 0755), 0);
    put_file("rules/honey.json", rule);
    char *token = kt_user_token(dir, "cora", "csm", "cora-password");
    char bearer[256];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", token);
    const char *hdrs[] = { bearer, "Content-Type: application/json", NULL };
    const char *extra[] = { "--set", "rules.dir=rules", "--set", "scores.max_delay_seconds=1", NULL };
    kt_server s;
    kt_serve(&s, dir, extra);
    /* switched on at start: the events after it count (a second later, as the clock reads them) */
    char t1[48], t2[48], body[1024];
    usleep(1100 * 1000);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(t1, sizeof t1, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    gmtime_r(&now, &tm);
    snprintf(t2, sizeof t2, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(body, sizeof body,
             "[{\"ts\":\"%s\",\"account_id\":\"a1\",\"user_id\":\"u1\",\"event\":\"purchase\","
             "\"properties\":{\"category\":\"baby\"}},"
             "{\"ts\":\"%s\",\"account_id\":\"a1\",\"user_id\":\"u1\",\"event\":\"purchase\","
             "\"properties\":{\"category\":\"honey\"}}]",
             t1, t2);
    kt_http_resp resp;
    kt_http(&resp, &s, "POST", "/api/v1/events", body, hdrs);
    cr_assert_eq(resp.status, 200, "%s", resp.body);
    kt_http_free(&resp);
    if (!kt_hook_wait(h, 1, 20000)) {
        char *log = kt_read(s.log, NULL);
        cr_assert_fail("the webhook did not come: %s", log);
    }
    char *got = kt_hook_body(h, 0);
    cr_assert(kt_contains(got, "\"rule\":\"honey-live\""), "%s", got);
    free(got);
    cr_assert_eq(kt_serve_stop(&s), 0);
    /* a restart loads the rules again and runs them over the same events: nothing new */
    kt_serve(&s, dir, extra);
    sleep(3);
    cr_assert_eq(kt_serve_stop(&s), 0);
    cr_assert_eq(kt_hook_count(h), 1, "a restart fired again");
    cJSON *f = firings("honey-live");
    cr_assert_eq(cJSON_GetArraySize(f), 1);
    cJSON_Delete(f);
    cJSON *t = tasks(NULL, NULL);
    cr_assert(has_title(t, "Honey u1"));
    cr_assert_eq(cJSON_GetArraySize(t), 1);
    cJSON_Delete(t);
    (void)r;
    kt_hook_stop(h);
    free(rd);
    free(token);
}

/* The server's log, waited for until it holds needle (20 s at most). */
static char *log_with(const kt_server *s, const char *needle)
{
    for (int i = 0; i < 200; i++) {
        char *log = kt_read(s->log, NULL);
        if (log && kt_contains(log, needle))
            return log;
        free(log);
        usleep(100 * 1000);
    }
    char *log = kt_read(s->log, NULL);
    cr_assert_fail("the server never logged \"%s\": %s", needle, log ? log : "");
    return NULL;
}

static void post_views(const kt_server *s, const char *const *hdrs, const char *user, int n, int tag)
{
    char body[4096], ts[48];
    size_t len = 0;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    len += (size_t)snprintf(body + len, sizeof body - len, "[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(body + len, sizeof body - len,
                                "%s{\"ts\":\"%s\",\"account_id\":\"a1\",\"user_id\":\"%s\",\"event\":\"help_viewed\","
                                "\"event_id\":\"v-%d-%d\",\"properties\":{\"article\":\"sso\"}}",
                                i ? "," : "", ts, user, tag, i);
    snprintf(body + len, sizeof body - len, "]");
    kt_http_resp resp;
    kt_http(&resp, s, "POST", "/api/v1/events", body, hdrs);
    cr_assert_eq(resp.status, 200, "%s", resp.body);
    kt_http_free(&resp);
}

Test(rules_cli, the_server_matches_each_batch_once_and_replays_only_when_the_rules_change)
{
    world();
    char *rd = kt_path(dir, "rules");
    cr_assert_eq(mkdir(rd, 0755), 0);
    put_file("rules/stuck.json",
             "{\"id\":\"stuck\",\"trigger\":{\"kind\":\"sequence\",\"per\":\"user\",\"within\":\"1d\",\"same\":"
             "\"properties.article\",\"steps\":[{\"event\":\"help_viewed\",\"count\":3}]},"
             "\"actions\":[{\"kind\":\"task\",\"title\":\"Help {{user.id}}\"}]}");
    char *token = kt_user_token(dir, "ada", "admin", "ada-password");
    char bearer[256];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", token);
    const char *hdrs[] = { bearer, "Content-Type: application/json", NULL };
    const char *extra[] = { "--set", "rules.dir=rules", "--set", "scores.max_delay_seconds=1", NULL };
    kt_server s;
    kt_serve(&s, dir, extra);
    /* the first pass makes the matcher from the stored events */
    free(log_with(&s, "replayed=1"));
    usleep(1100 * 1000); /* after the second the rule was switched on in */
    /* two views in one batch, then the third in another: the matcher kept the two in memory
     * and looks only at what came since (events=1, no replay) */
    post_views(&s, hdrs, "u1", 2, 1);
    sleep(2); /* a pass of its own */
    post_views(&s, hdrs, "u1", 1, 2);
    char *log = log_with(&s, "fired=1");
    const char *line = strstr(log, "fired=1");
    while (line > log && line[-1] != '\n')
        line--;
    cr_assert(kt_contains(line, "events=1 replayed=0"), "the pass replayed or re-read the history: %s", log);
    free(log);
    /* a new rule over the API: the next pass replays, and finds nothing new for the old rule */
    kt_http_resp resp;
    kt_http(&resp, &s, "POST", "/api/v1/rules",
            "{\"id\":\"second\",\"trigger\":{\"kind\":\"event\",\"event\":\"report_exported\"},"
            "\"actions\":[{\"kind\":\"note\",\"text\":\"exported\"}]}",
            hdrs);
    cr_assert_eq(resp.status, 201, "%s", resp.body);
    kt_http_free(&resp);
    post_views(&s, hdrs, "u2", 1, 3); /* a change, so that the scorer runs */
    log = log_with(&s, "known=1");
    cr_assert(kt_contains(log, "replayed=1 fired=0 dry=0 known=1"), "%s", log);
    free(log);
    cr_assert_eq(kt_serve_stop(&s), 0);
    cJSON *f = firings("stuck");
    cr_assert_eq(cJSON_GetArraySize(f), 1, "fired again after the replay");
    cJSON_Delete(f);
    free(rd);
    free(token);
}

/* The server tries a failed webhook again by itself once its backoff has
 * passed (rules.retry_first_seconds, 2 s here; then 4 s), signed each time. */
Test(rules_cli, the_server_retries_a_webhook_answered_500_after_its_backoff)
{
    world();
    kt_hook *h = kt_hook_start();
    char rule[512];
    snprintf(rule, sizeof rule,
             "{\"id\":\"export-hook\",\"trigger\":{\"kind\":\"event\",\"event\":\"report_exported\"},"
             "\"actions\":[{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook\"}]}",
             kt_hook_port(h));
    char *rd = kt_path(dir, "rules");
    cr_assert_eq(mkdir(rd, 0755), 0);
    put_file("rules/hook.json", rule);
    char *token = kt_user_token(dir, "ada", "admin", "ada-password");
    char bearer[256], set[128];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", token);
    snprintf(set, sizeof set, "rules.webhook_secret=%s", secret);
    const char *hdrs[] = { bearer, "Content-Type: application/json", NULL };
    const char *extra[] = { "--set", "rules.dir=rules", "--set", "scores.max_delay_seconds=1", "--set",
                            "rules.retry_first_seconds=2", "--set", set, NULL };
    kt_server s;
    kt_serve(&s, dir, extra);
    usleep(1100 * 1000);
    kt_hook_fail_next(h, 2); /* a 500, another 500, then 200 */
    char body[256], ts[48];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body, "{\"ts\":\"%s\",\"account_id\":\"a1\",\"user_id\":\"u1\",\"event\":\"report_exported\"}",
             ts);
    kt_http_resp resp;
    kt_http(&resp, &s, "POST", "/api/v1/events", body, hdrs);
    cr_assert_eq(resp.status, 200, "%s", resp.body);
    kt_http_free(&resp);
    cr_assert(kt_hook_wait(h, 1, 20000), "the first try never came");
    double t1 = kz_monotonic();
    cr_assert(kt_hook_wait(h, 3, 30000), "the server did not try again by itself: %d tries", kt_hook_count(h));
    double t3 = kz_monotonic();
    cr_assert_geq(t3 - t1, 2 + 4 - 0.5, "the retries came before their backoff (%.1f s)", t3 - t1);
    for (int i = 0; i < 3; i++)
        assert_signed(h, i);
    /* done, after three tries, and seen so over the API */
    free(log_with(&s, "sent=1"));
    kt_http(&resp, &s, "GET", "/api/v1/deliveries?state=done", NULL, hdrs);
    cr_assert_eq(resp.status, 200, "%s", resp.body);
    cr_assert(kt_contains(resp.body, "\"attempts\":3"), "%s", resp.body);
    kt_http_free(&resp);
    cr_assert_eq(kt_serve_stop(&s), 0);
    cr_assert_eq(kt_hook_count(h), 3, "tried again after it was done");
    kt_hook_stop(h);
    free(rd);
    free(token);
}

Test(rules_cli, a_bad_rule_in_rules_dir_stops_the_server_from_starting)
{
    kt_run r;
    world();
    char *rd = kt_path(dir, "rules");
    cr_assert_eq(mkdir(rd, 0755), 0);
    put_file("rules/good.json", good_rule);
    put_file("rules/zz-bad.json", bad_rule);
    KZ(&r, "--set", "rules.dir=rules", "serve", "--listen", "127.0.0.1:0");
    cr_assert_neq(r.status, 0, "it started with a bad rule");
    cr_assert(kt_contains(r.err, "rules.dir: rules/zz-bad.json: rule 'x': trigger.steps[0].event: missing"), "%s", r.err);
    kt_run_free(&r);
    cr_assert_eq(stored_rules(), 0, "the good rule of the folder was stored all the same");
    free(rd);
}

Test(rules_cli, set_field_sets_a_custom_field_of_the_account)
{
    kt_run r;
    event(1, 9, 0, "a1", "u1", "cancel_clicked", NULL);
    world();
    put_file("field.json", "{\"id\":\"mark\",\"trigger\":{\"kind\":\"event\",\"event\":\"cancel_clicked\"},"
                           "\"actions\":[{\"kind\":\"set_field\",\"field\":\"stage\",\"value\":\"at-risk since {{trigger.date}}\"}]}");
    load_and_enable("field.json", "mark", "enable", 2);
    free(run_rules(NULL, NULL, NULL));
    char want[64], d[40];
    day(d, sizeof d, 1);
    snprintf(want, sizeof want, "at-risk since %s", d);
    KZ(&r, "export", "accounts");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "stage"), "the field is defined: %s", r.out);
    cr_assert(kt_contains(r.out, want), "a1's stage: %s", r.out);
    kt_run_free(&r);
}
