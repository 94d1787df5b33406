/*
 * playbooks_api_test.c - playbooks through the real server: rules created,
 * replaced, switched and removed by admins only, bad ones refused naming the
 * field with nothing stored, backtested as `kizuna rules test` does; their
 * firings and deliveries listed and paged (webhook URLs never shown whole);
 * tasks added, listed with every filter, paged and taken through their
 * lifecycle; an account's timeline in order and paged without gaps or
 * repeats, with health band changes as recorded and every item's facts as
 * data (absent ones null); playbook documents listed and rendered, their raw
 * HTML escaped.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/time.h"
#include "store/store.h"
#include "../support/server.h"
#include "../support/support.h"

struct caller {
    char bearer[128];
    const char *h[2];
};

static void caller_init(struct caller *c, const char *dir, const char *name, const char *role)
{
    char pw[64];
    snprintf(pw, sizeof pw, "%s-password", name);
    char *tok = kt_user_token(dir, name, role, pw);
    snprintf(c->bearer, sizeof c->bearer, "Authorization: Bearer %s", tok);
    c->h[0] = c->bearer;
    c->h[1] = NULL;
    free(tok);
}

/* One request; its status must be `status`, its body must hold `says` (may
 * be NULL). The answer's JSON, or NULL when it has none (caller frees). */
static cJSON *call(const kt_server *s, const struct caller *c, const char *method, const char *path, const char *body,
                   int status, const char *says)
{
    kt_http_resp r;
    kt_http(&r, s, method, path, body, c ? c->h : NULL);
    cr_assert_eq(r.status, status, "%s %s %s: %d %s", method, path, body ? body : "", r.status, r.body);
    if (says)
        cr_assert(kt_contains(r.body, says), "%s %s: expected '%s' in %s", method, path, says, r.body);
    cJSON *doc = r.len ? cJSON_Parse(r.body) : NULL;
    if (r.len)
        cr_assert_not_null(doc, "%s %s: not JSON: %s", method, path, r.body);
    kt_http_free(&r);
    return doc;
}

static void expect(const kt_server *s, const struct caller *c, const char *method, const char *path, const char *body,
                   int status, const char *says)
{
    cJSON_Delete(call(s, c, method, path, body, status, says));
}

static const cJSON *get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert_not_null(v, "no '%s' in %s", key, cJSON_PrintUnformatted(o));
    return v;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long num(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    cr_assert(cJSON_IsNumber(v), "'%s' is not a number", key);
    return (long)v->valuedouble;
}

static void users(const char *dir, struct caller *admin, struct caller *csm, struct caller *viewer)
{
    caller_init(admin, dir, "ann", "admin");
    caller_init(csm, dir, "cal", "csm");
    caller_init(viewer, dir, "vic", "viewer");
}

static const char EXPORTS[] =
    "{\"id\": \"exports\", \"title\": \"Report schedules\", \"playbook\": \"onboarding-kickoff\","
    " \"trigger\": {\"kind\": \"event\", \"event\": \"report.schedule\"},"
    " \"actions\": [{\"kind\": \"note\", \"text\": \"{{account.name}} scheduled a report\"},"
    "  {\"kind\": \"task\", \"title\": \"Ask {{account.name}} about their reports\", \"due_days\": 3},"
    "  {\"kind\": \"webhook\", \"url\": \"http://127.0.0.1:1/hooks/SECRETPATH?token=TOPSECRET\", \"text\": \"hi\"}]}";

/* ---- rules ------------------------------------------------------------------------------------- */

Test(playbooks_api, rules_checked_stored_switched_and_backtested, .timeout = 120)
{
    char *dir = kt_demo_world(100, 3);
    struct caller admin, csm, viewer;
    users(dir, &admin, &csm, &viewer);
    kt_server s;
    kt_serve(&s, dir, NULL);

    expect(&s, &viewer, "GET", "/api/v1/rules", NULL, 200, "{\"rules\":[]}");

    /* what is wrong is named, and nothing is stored */
    static const struct {
        const char *path, *body, *field, *says;
    } bad[] = {
        { "/api/v1/rules",
          "{\"id\": \"honey\", \"trigger\": {\"kind\": \"sequence\", \"steps\": [{\"event\": \"purchase\"}, {}],"
          " \"within\": \"30d\"}, \"actions\": [{\"kind\": \"note\", \"text\": \"x\"}]}",
          "trigger.steps[1].event", "rule 'honey': trigger.steps[1].event: missing" },
        { "/api/v1/rules",
          "{\"id\": \"renewal\", \"trigger\": {\"kind\": \"event\", \"event\": \"login\"},"
          " \"actions\": [{\"kind\": \"task\", \"title\": \"Call {{acount.name}}\"}]}",
          "actions[0].title", "unknown placeholder 'acount.name'" },
        { "/api/v1/rules", "{\"trigger\": {\"kind\": \"event\", \"event\": \"login\"}}", "id", "id" },
        { "/api/v1/rules",
          "{\"id\": \"f\", \"trigger\": {\"kind\": \"event\", \"event\": \"login\"},"
          " \"conditions\": {\"filters\": [\"colour=red\"]}, \"actions\": [{\"kind\": \"note\", \"text\": \"x\"}]}",
          "conditions.filters", "is not an attribute of accounts" },
        { "/api/v1/rules", "{\"id\": \"x\", \"colour\": 1, \"trigger\": {}, \"actions\": []}", "colour", "colour" },
        { "/api/v1/rules?mode=sometimes", EXPORTS, "mode", "mode" },
        { "/api/v1/rules", "not json", NULL, "not valid JSON" },
        { "/api/v1/rules", "[1, 2]", NULL, "must be an object" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *e = call(&s, &admin, "POST", bad[i].path, bad[i].body, 400, bad[i].says);
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(get(e, "error"), "field");
        if (bad[i].field)
            cr_assert(cJSON_IsString(f) && strcmp(f->valuestring, bad[i].field) == 0, "%s: field %s, wanted %s",
                      bad[i].body, cJSON_IsString(f) ? f->valuestring : "none", bad[i].field);
        cJSON_Delete(e);
    }
    /* only admins write rules */
    expect(&s, &viewer, "POST", "/api/v1/rules", EXPORTS, 403, NULL);
    expect(&s, &csm, "POST", "/api/v1/rules", EXPORTS, 403, NULL);
    expect(&s, NULL, "POST", "/api/v1/rules", EXPORTS, 401, NULL);
    expect(&s, &viewer, "GET", "/api/v1/rules", NULL, 200, "{\"rules\":[]}");
    expect(&s, &viewer, "GET", "/api/v1/rules/honey", NULL, 404, "no rule 'honey'");
    expect(&s, &viewer, "GET", "/api/v1/rules/exports", NULL, 404, NULL);

    /* created, then replaced with the mode of the query */
    cJSON *r = call(&s, &admin, "POST", "/api/v1/rules", EXPORTS, 201, NULL);
    cr_assert_str_eq(str(r, "name"), "exports");
    cr_assert_str_eq(str(r, "title"), "Report schedules");
    cr_assert_str_eq(str(r, "mode"), "on");
    cr_assert_str_eq(str(r, "trigger"), "event");
    cr_assert_str_eq(str(r, "per"), "account");
    cr_assert_str_eq(str(r, "source"), "api:ann");
    cr_assert_str_eq(str(r, "playbook"), "onboarding-kickoff");
    cr_assert_not_null(str(r, "enabled_at"));
    cr_assert_str_eq(str(get(r, "definition"), "id"), "exports");
    cr_assert_eq(cJSON_GetArraySize(get(get(r, "definition"), "actions")), 3);
    cJSON_Delete(r);
    r = call(&s, &admin, "POST", "/api/v1/rules?mode=dry-run", EXPORTS, 200, NULL);
    cr_assert_str_eq(str(r, "mode"), "dry-run");
    cJSON_Delete(r);
    r = call(&s, &viewer, "GET", "/api/v1/rules", NULL, 200, NULL);
    cr_assert_eq(cJSON_GetArraySize(get(r, "rules")), 1);
    cr_assert_str_eq(str(cJSON_GetArrayItem(get(r, "rules"), 0), "mode"), "dry-run");
    cJSON_Delete(r);
    expect(&s, &viewer, "GET", "/api/v1/rules/exports", NULL, 200, "\"name\":\"exports\"");

    /* modes */
    expect(&s, &admin, "PATCH", "/api/v1/rules/exports", "{\"mode\": \"sometimes\"}", 400, "\"field\":\"mode\"");
    expect(&s, &admin, "PATCH", "/api/v1/rules/exports", "{}", 400, "\"field\":\"mode\"");
    expect(&s, &admin, "PATCH", "/api/v1/rules/exports", "{\"mode\": \"off\", \"since\": \"2026-01-01\"}", 400,
           "\"field\":\"since\"");
    expect(&s, &admin, "PATCH", "/api/v1/rules/exports", "{\"mode\": \"on\", \"since\": \"soon\"}", 400,
           "\"field\":\"since\"");
    expect(&s, &admin, "PATCH", "/api/v1/rules/exports", "{\"mode\": \"on\", \"colour\": 1}", 400,
           "\"field\":\"colour\"");
    expect(&s, &admin, "PATCH", "/api/v1/rules/exports", "on", 400, "JSON object");
    expect(&s, &admin, "PATCH", "/api/v1/rules/nothing", "{\"mode\": \"on\"}", 404, "no rule 'nothing'");
    expect(&s, &viewer, "PATCH", "/api/v1/rules/exports", "{\"mode\": \"on\"}", 403, NULL);
    expect(&s, &viewer, "GET", "/api/v1/rules/exports", NULL, 200, "\"mode\":\"dry-run\"");
    r = call(&s, &admin, "PATCH", "/api/v1/rules/exports", "{\"mode\": \"off\"}", 200, NULL);
    cr_assert_str_eq(str(r, "mode"), "off");
    cr_assert(cJSON_IsNull(get(r, "enabled_at")));
    cJSON_Delete(r);
    r = call(&s, &admin, "PATCH", "/api/v1/rules/exports", "{\"mode\": \"on\", \"since\": \"2026-10-01\"}", 200, NULL);
    cr_assert_str_eq(str(r, "mode"), "on");
    cr_assert_str_eq(str(r, "enabled_at"), "2026-10-01T00:00:00Z");
    cJSON_Delete(r);

    /* the backtest: what `kizuna rules test` finds, firing for firing */
    r = call(&s, &viewer, "GET", "/api/v1/rules/exports/backtest?days=30&until=2026-10-31", NULL, 200, NULL);
    kt_run run;
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "rules", "test", "exports", "--days", "30", "--until", "2026-10-31",
               "--format", "json", NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cJSON *cli = cJSON_Parse(run.out);
    kt_run_free(&run);
    const cJSON *hits = get(r, "firings");
    cr_assert_gt(cJSON_GetArraySize(cli), 5);
    cr_assert_eq(num(r, "fired"), cJSON_GetArraySize(cli));
    cr_assert_eq(cJSON_GetArraySize(hits), cJSON_GetArraySize(cli));
    cr_assert_gt(num(r, "subjects"), 1);
    cr_assert_gt(num(r, "events"), 1000);
    cr_assert_str_eq(str(r, "to"), "2026-10-31T23:59:59.999999Z");
    cr_assert(cJSON_IsFalse(get(r, "truncated")));
    for (int i = 0; i < cJSON_GetArraySize(cli); i++) {
        /* the why as data is the API's (the command line writes the reason in words) */
        cJSON *why = cJSON_DetachItemFromObjectCaseSensitive(cJSON_GetArrayItem(hits, i), "why");
        cr_assert(cJSON_IsObject(why) && cJSON_IsObject(cJSON_GetObjectItem(why, "trigger")),
                  "firing %d: why %s", i, cJSON_PrintUnformatted(why));
        cr_assert(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(why, "trigger"), "kind")));
        cr_assert(cJSON_IsNull(cJSON_GetObjectItem(why, "facts")), "an event rule's facts: %s",
                  cJSON_PrintUnformatted(why));
        cJSON_Delete(why);
        char *a = cJSON_PrintUnformatted(cJSON_GetArrayItem(hits, i)),
             *c = cJSON_PrintUnformatted(cJSON_GetArrayItem(cli, i));
        cr_assert_str_eq(a, c, "firing %d", i);
        free(a);
        free(c);
    }
    cJSON_Delete(r);
    r = call(&s, &viewer, "GET", "/api/v1/rules/exports/backtest?days=30&until=2026-10-31&limit=2", NULL, 200, NULL);
    cr_assert_eq(cJSON_GetArraySize(get(r, "firings")), 2);
    cr_assert_eq(num(r, "fired"), cJSON_GetArraySize(cli));
    cr_assert(cJSON_IsTrue(get(r, "truncated")));
    cJSON_Delete(r);
    cJSON_Delete(cli);
    expect(&s, &viewer, "GET", "/api/v1/rules/exports/backtest?days=0", NULL, 400, "\"field\":\"days\"");
    expect(&s, &viewer, "GET", "/api/v1/rules/exports/backtest?until=2026-13-01", NULL, 400, "\"field\":\"until\"");
    expect(&s, &viewer, "GET", "/api/v1/rules/nothing/backtest", NULL, 404, "no rule 'nothing'");
    /* a threshold: every account scored as of each day; crossings, with what was crossed; nothing recorded */
    expect(&s, &admin, "POST", "/api/v1/rules",
           "{\"id\": \"low-health\", \"mode\": \"off\", \"trigger\": {\"kind\": \"threshold\", \"measure\": "
           "\"health\", \"op\": \"<\", \"value\": 40}, \"actions\": [{\"kind\": \"note\", \"text\": \"low\"}]}",
           201, "\"trigger\":\"threshold\"");
    r = call(&s, &viewer, "GET", "/api/v1/rules/low-health/backtest?days=20", NULL, 200, NULL);
    const cJSON *crossed = get(r, "firings");
    cr_assert_gt(cJSON_GetArraySize(crossed), 0, "the demo world has accounts below 40");
    cr_assert_eq(cJSON_GetArraySize(crossed), (int)get(r, "fired")->valuedouble);
    double prev = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, crossed)
    {
        cr_assert(kt_contains(get(h, "window")->valuestring, "crossing:"), "%s", get(h, "window")->valuestring);
        cr_assert(kt_contains(get(h, "reason")->valuestring, "health ") &&
                      kt_contains(get(h, "reason")->valuestring, " < 40"),
                  "%s", get(h, "reason")->valuestring);
        /* and as data: the trigger and the value crossed, as the reason says it */
        const cJSON *why = get(h, "why"), *v = get(get(why, "facts"), "value");
        cr_assert_str_eq(str(get(why, "trigger"), "measure"), "health");
        cr_assert_eq(get(get(why, "trigger"), "value")->valuedouble, 40);
        cr_assert(cJSON_IsNumber(v) && v->valuedouble < 40, "%s", cJSON_PrintUnformatted(why));
        char said[64];
        snprintf(said, sizeof said, "health %.4g <", v->valuedouble);
        cr_assert(kt_contains(get(h, "reason")->valuestring, said), "%s: %s", said, get(h, "reason")->valuestring);
        kz_time at;
        const char *t = get(h, "at")->valuestring;
        cr_assert_eq(kz_parse_time(&at, NULL, t, strlen(t)), 0);
        cr_assert_geq((double)at, prev, "by time");
        prev = (double)at;
    }
    cJSON_Delete(r);
    r = call(&s, &viewer, "GET", "/api/v1/firings?rule=low-health", NULL, 200, NULL);
    cr_assert_eq(cJSON_GetArraySize(get(r, "firings")), 0, "a backtest records nothing");
    cJSON_Delete(r);

    /* removed */
    expect(&s, &viewer, "DELETE", "/api/v1/rules/low-health", NULL, 403, NULL);
    expect(&s, &admin, "DELETE", "/api/v1/rules/low-health", NULL, 204, NULL);
    expect(&s, &admin, "DELETE", "/api/v1/rules/low-health", NULL, 404, NULL);
    expect(&s, &viewer, "GET", "/api/v1/rules/low-health", NULL, 404, NULL);
    r = call(&s, &viewer, "GET", "/api/v1/rules", NULL, 200, NULL);
    cr_assert_eq(cJSON_GetArraySize(get(r, "rules")), 1);
    cJSON_Delete(r);

    /* the CLI sees what the API stored */
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "rules", "list", "--format", "csv", NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert(kt_contains(run.out, "exports,on,event,Report schedules,2026-10-01T00:00:00Z"), "%s", run.out);
    cr_assert(!kt_contains(run.out, "low-health"), "%s", run.out);
    kt_run_free(&run);

    /* every change audited, the refused ones not */
    kt_http_resp a;
    kt_http(&a, &s, "GET", "/api/v1/audit?limit=100", NULL, admin.h);
    cr_assert(kt_contains(a.body, "\"action\":\"rule.put\",\"target\":\"rule/exports\",\"detail\":\"created, mode on\""),
              "%s", a.body);
    cr_assert(kt_contains(a.body, "\"detail\":\"replaced, mode dry-run\""), "%s", a.body);
    cr_assert(kt_contains(a.body, "\"action\":\"rule.mode\",\"target\":\"rule/exports\",\"detail\":\"on since 2026-10-01\""),
              "%s", a.body);
    cr_assert(kt_contains(a.body, "\"action\":\"rule.remove\",\"target\":\"rule/low-health\""), "%s", a.body);
    cr_assert(!kt_contains(a.body, "rule/honey") && !kt_contains(a.body, "rule/renewal"), "%s", a.body);
    kt_http_free(&a);
    cr_assert_eq(kt_serve_stop(&s), 0);
    kt_rmrf(dir);
    free(dir);
}

/* ---- firings, deliveries, tasks ------------------------------------------------------------------ */

/* Every page of path (which ends in ? or &) with limit n, following the
 * answer's `next` into `arg`: the items of `list`, in order. */
static cJSON *all_pages(const kt_server *s, const struct caller *c, const char *path, const char *list, const char *next,
                        const char *arg, int n, int *pages)
{
    cJSON *all = cJSON_CreateArray();
    char url[2048], cursor[1200] = "";
    *pages = 0;
    for (;;) {
        if (cursor[0])
            snprintf(url, sizeof url, "%slimit=%d&%s=%s", path, n, arg, cursor);
        else
            snprintf(url, sizeof url, "%slimit=%d", path, n);
        cJSON *page = call(s, c, "GET", url, NULL, 200, NULL);
        const cJSON *items = get(page, list);
        cr_assert_leq(cJSON_GetArraySize(items), n);
        for (int i = 0; i < cJSON_GetArraySize(items); i++)
            cJSON_AddItemToArray(all, cJSON_Duplicate(cJSON_GetArrayItem(items, i), 1));
        (*pages)++;
        const cJSON *nx = get(page, next);
        if (cJSON_IsNull(nx)) {
            cJSON_Delete(page);
            break;
        }
        cr_assert_eq(cJSON_GetArraySize(items), n, "a page before the last is full");
        if (cJSON_IsNumber(nx))
            snprintf(cursor, sizeof cursor, "%ld", (long)nx->valuedouble);
        else
            snprintf(cursor, sizeof cursor, "%s", nx->valuestring);
        cJSON_Delete(page);
        cr_assert_lt(*pages, 1000);
    }
    return all;
}

static void same_lists(const cJSON *a, const cJSON *b, const char *what)
{
    cr_assert_eq(cJSON_GetArraySize(a), cJSON_GetArraySize(b), "%s: %d and %d items", what, cJSON_GetArraySize(a),
                 cJSON_GetArraySize(b));
    for (int i = 0; i < cJSON_GetArraySize(a); i++) {
        char *x = cJSON_PrintUnformatted(cJSON_GetArrayItem(a, i)), *y = cJSON_PrintUnformatted(cJSON_GetArrayItem(b, i));
        cr_assert_str_eq(x, y, "%s: item %d", what, i);
        free(x);
        free(y);
    }
}

Test(playbooks_api, firings_deliveries_and_tasks, .timeout = 120)
{
    char *dir = kt_demo_world(100, 3);
    /* the document tasks link to (playbooks.dir, relative to where the server runs) */
    char *pbdir = kt_path(dir, "playbooks"), *pbfile = kt_path(pbdir, "onboarding-kickoff.md");
    cr_assert_eq(mkdir(pbdir, 0755), 0);
    kt_write(pbfile, "# Onboarding kick-off\n\nThe first call.\n", (size_t)-1);
    free(pbfile);
    free(pbdir);
    struct caller admin, csm, viewer;
    users(dir, &admin, &csm, &viewer);
    kt_server s;
    kt_serve(&s, dir, NULL);
    expect(&s, &admin, "POST", "/api/v1/rules", EXPORTS, 201, NULL);
    expect(&s, &admin, "PATCH", "/api/v1/rules/exports", "{\"mode\": \"on\", \"since\": \"2026-10-01\"}", 200, NULL);
    expect(&s, &viewer, "GET", "/api/v1/firings", NULL, 200, "{\"firings\":[],\"next_before\":null}");
    kt_run run;
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "rules", "run", NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    kt_run_free(&run);

    /* firings: newest first, pages without gaps or repeats, filters */
    cJSON *fall = call(&s, &viewer, "GET", "/api/v1/firings?limit=1000", NULL, 200, "\"next_before\":null");
    const cJSON *firings = get(fall, "firings");
    int nf = cJSON_GetArraySize(firings);
    cr_assert_gt(nf, 10);
    for (int i = 1; i < nf; i++) {
        const cJSON *x = cJSON_GetArrayItem(firings, i - 1), *y = cJSON_GetArrayItem(firings, i);
        cr_assert_geq(strcmp(str(x, "at"), str(y, "at")), 0, "newest first");
        cr_assert_str_eq(str(y, "rule"), "exports");
        cr_assert(cJSON_IsFalse(get(y, "dry_run")));
    }
    int pages;
    cJSON *paged = all_pages(&s, &viewer, "/api/v1/firings?", "firings", "next_before", "before", 7, &pages);
    cr_assert_eq(pages, (nf + 6) / 7, "%d pages of %d firings", pages, nf);
    same_lists(paged, firings, "firings paged by 7");
    cJSON_Delete(paged);
    const char *acc = str(cJSON_GetArrayItem(firings, 0), "account_id");
    char path[256];
    snprintf(path, sizeof path, "/api/v1/firings?account=%s&rule=exports&limit=1000", acc);
    cJSON *mine = call(&s, &viewer, "GET", path, NULL, 200, NULL);
    int of_acc = 0;
    for (int i = 0; i < nf; i++)
        of_acc += strcmp(str(cJSON_GetArrayItem(firings, i), "account_id"), acc) == 0;
    cr_assert_eq(cJSON_GetArraySize(get(mine, "firings")), of_acc);
    cJSON_Delete(mine);
    expect(&s, &viewer, "GET", "/api/v1/firings?rule=nothing", NULL, 200, "{\"firings\":[],\"next_before\":null}");
    expect(&s, &viewer, "GET", "/api/v1/firings?rule=No!", NULL, 400, "\"field\":\"rule\"");
    expect(&s, &viewer, "GET", "/api/v1/firings?account=nobody", NULL, 400, "\"field\":\"account\"");
    expect(&s, &viewer, "GET", "/api/v1/firings?before=abc", NULL, 400, "\"field\":\"before\"");
    expect(&s, &viewer, "GET", "/api/v1/firings?limit=0", NULL, 400, "\"field\":\"limit\"");

    /* deliveries: one webhook a firing, tried once; the URL shown as its origin only */
    kt_http_resp dr;
    kt_http(&dr, &s, "GET", "/api/v1/deliveries?limit=1000", NULL, viewer.h);
    cr_assert_eq(dr.status, 200, "%s", dr.body);
    cr_assert(!kt_contains(dr.body, "SECRETPATH") && !kt_contains(dr.body, "TOPSECRET") && !kt_contains(dr.body, "/hooks"),
              "%s", dr.body);
    cJSON *dall = cJSON_Parse(dr.body);
    kt_http_free(&dr);
    const cJSON *dels = get(dall, "deliveries");
    cr_assert_eq(cJSON_GetArraySize(dels), nf);
    for (int i = 0; i < nf; i++) {
        const cJSON *d = cJSON_GetArrayItem(dels, i);
        cr_assert_str_eq(str(d, "kind"), "webhook");
        cr_assert_str_eq(str(d, "rule"), "exports");
        cr_assert_eq(num(d, "action"), 2);
        cr_assert_geq(num(d, "attempts"), 1);
        cr_assert_str_eq(str(get(d, "payload"), "url"), "http://127.0.0.1:1");
        cr_assert(kt_contains(str(get(d, "payload"), "body"), "\"rule\":\"exports\""));
        if (strcmp(str(d, "state"), "pending") == 0) {
            cr_assert_not_null(str(d, "next_at"));
            cr_assert_not_null(str(d, "last_error"), "a failed try says why");
        }
        if (i)
            cr_assert_lt(num(d, "id"), num(cJSON_GetArrayItem(dels, i - 1), "id"), "newest first");
    }
    long fid = num(cJSON_GetArrayItem(dels, 0), "firing_id");
    snprintf(path, sizeof path, "/api/v1/deliveries?firing=%ld", fid);
    expect(&s, &viewer, "GET", path, NULL, 200, "\"kind\":\"webhook\"");
    expect(&s, &viewer, "GET", "/api/v1/deliveries?state=done", NULL, 200, "{\"deliveries\":[]}");
    expect(&s, &viewer, "GET", "/api/v1/deliveries?state=lost", NULL, 400, "\"field\":\"state\"");
    expect(&s, &viewer, "GET", "/api/v1/deliveries?limit=5000", NULL, 400, "\"field\":\"limit\"");
    cJSON_Delete(dall);

    /* the rule's tasks, for the accounts' owners */
    cJSON *tall = call(&s, &viewer, "GET", "/api/v1/tasks?status=all&limit=1000", NULL, 200, "\"next_after\":null");
    const cJSON *tasks = get(tall, "tasks");
    int nt = cJSON_GetArraySize(tasks);
    cr_assert_eq(nt, nf, "one task a firing");
    for (int i = 0; i < nt; i++) {
        const cJSON *t = cJSON_GetArrayItem(tasks, i);
        cr_assert_str_eq(str(t, "source"), "rule:exports");
        cr_assert_str_eq(str(t, "status"), "open");
        cr_assert_gt(num(t, "firing_id"), 0);
        cr_assert(kt_contains(str(t, "title"), "Ask "), "%s", str(t, "title"));
        if (i)
            cr_assert_gt(num(t, "id"), num(cJSON_GetArrayItem(tasks, i - 1), "id"), "by id");
    }
    cJSON *tpaged = all_pages(&s, &viewer, "/api/v1/tasks?status=all&", "tasks", "next_after", "after", 6, &pages);
    same_lists(tpaged, tasks, "tasks paged by 6");
    cJSON_Delete(tpaged);
    snprintf(path, sizeof path, "/api/v1/tasks?account=%s", acc);
    cJSON *at = call(&s, &viewer, "GET", path, NULL, 200, NULL);
    cr_assert_eq(cJSON_GetArraySize(get(at, "tasks")), of_acc);
    cJSON_Delete(at);

    /* a task by hand: what is wrong is named, and nothing is stored */
    static const struct {
        const char *body, *field;
    } bad[] = {
        { "{}", "title" },
        { "{\"title\": \"\"}", "title" },
        { "{\"title\": 7}", "title" },
        { "{\"title\": \"two\\nlines\"}", "title" },
        { "{\"title\": \"x\", \"due\": \"tomorrow\"}", "due" },
        { "{\"title\": \"x\", \"account_id\": \"nobody\"}", "account_id" },
        { "{\"title\": \"x\", \"assignee\": \"\"}", "assignee" },
        { "{\"title\": \"x\", \"playbook\": \"../etc/passwd\"}", "playbook" },
        { "{\"title\": \"x\", \"playbook\": \"no-such-doc\"}", "playbook" },
        { "{\"title\": \"x\", \"colour\": \"red\"}", "colour" },
        { "[1]", NULL },
        { "title=x", NULL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "\"field\":\"%s\"", bad[i].field ? bad[i].field : "");
        expect(&s, &csm, "POST", "/api/v1/tasks", bad[i].body, 400, bad[i].field ? want : "JSON object");
    }
    expect(&s, &viewer, "POST", "/api/v1/tasks", "{\"title\": \"x\"}", 403, NULL);
    cJSON *again = call(&s, &viewer, "GET", "/api/v1/tasks?status=all&limit=1000", NULL, 200, NULL);
    cr_assert_eq(cJSON_GetArraySize(get(again, "tasks")), nt, "nothing stored");
    cJSON_Delete(again);

    /* the lifecycle */
    cJSON *t = call(&s, &csm, "POST", "/api/v1/tasks",
                    "{\"title\": \"Kick-off call\", \"account_id\": \"acc_00001\", \"assignee\": \"cal\","
                    " \"due\": \"2020-01-15\", \"playbook\": \"onboarding-kickoff\", \"body\": \"Agenda:\\n1. goals\"}",
                    201, NULL);
    long id = num(t, "id");
    cr_assert_str_eq(str(t, "title"), "Kick-off call");
    cr_assert_str_eq(str(t, "account_id"), "acc_00001");
    cr_assert_str_eq(str(t, "assignee"), "cal");
    cr_assert_str_eq(str(t, "due"), "2020-01-15");
    cr_assert_str_eq(str(t, "status"), "open");
    cr_assert_str_eq(str(t, "source"), "user:cal");
    cr_assert_str_eq(str(t, "playbook"), "onboarding-kickoff");
    cr_assert_str_eq(str(t, "body"), "Agenda:\n1. goals");
    cr_assert(cJSON_IsTrue(get(t, "overdue")));
    cr_assert(cJSON_IsNull(get(t, "closed_at")));
    cr_assert(cJSON_IsNull(get(t, "firing_id")));
    cJSON_Delete(t);
    cJSON *t2 = call(&s, &admin, "POST", "/api/v1/tasks", "{\"title\": \"Write the QBR deck\", \"assignee\": \"cal\"}", 201,
                     "\"account_id\":null");
    long id2 = num(t2, "id");
    cr_assert(cJSON_IsFalse(get(t2, "overdue")));
    cJSON_Delete(t2);
    char tpath[64];
    snprintf(tpath, sizeof tpath, "/api/v1/tasks/%ld", id);
    expect(&s, &viewer, "GET", tpath, NULL, 200, "\"title\":\"Kick-off call\"");

    cJSON *m = call(&s, &csm, "GET", "/api/v1/tasks?mine=1", NULL, 200, NULL);
    cr_assert_eq(cJSON_GetArraySize(get(m, "tasks")), 2);
    cr_assert_eq(num(cJSON_GetArrayItem(get(m, "tasks"), 0), "id"), id);
    cr_assert_eq(num(cJSON_GetArrayItem(get(m, "tasks"), 1), "id"), id2);
    cJSON_Delete(m);
    expect(&s, &admin, "GET", "/api/v1/tasks?mine=1", NULL, 200, "{\"tasks\":[],\"next_after\":null}");
    m = call(&s, &viewer, "GET", "/api/v1/tasks?assignee=cal&overdue=1", NULL, 200, NULL);
    cr_assert_eq(cJSON_GetArraySize(get(m, "tasks")), 1, "the one due in 2020");
    cr_assert_eq(num(cJSON_GetArrayItem(get(m, "tasks"), 0), "id"), id);
    cJSON_Delete(m);
    expect(&s, &csm, "GET", "/api/v1/tasks?mine=1&assignee=ann", NULL, 400, "\"field\":\"mine\"");
    expect(&s, &viewer, "GET", "/api/v1/tasks?status=finished", NULL, 400, "\"field\":\"status\"");
    expect(&s, &viewer, "GET", "/api/v1/tasks?account=nobody", NULL, 400, "\"field\":\"account\"");
    expect(&s, &viewer, "GET", "/api/v1/tasks?after=-1", NULL, 400, "\"field\":\"after\"");

    t = call(&s, &csm, "PATCH", tpath, "{\"status\": \"done\"}", 200, NULL);
    cr_assert_str_eq(str(t, "status"), "done");
    cr_assert_not_null(str(t, "closed_at"));
    cr_assert(cJSON_IsFalse(get(t, "overdue")), "a closed task is not overdue");
    cJSON_Delete(t);
    m = call(&s, &csm, "GET", "/api/v1/tasks?mine=1", NULL, 200, NULL);
    cr_assert_eq(cJSON_GetArraySize(get(m, "tasks")), 1, "open ones by default");
    cJSON_Delete(m);
    expect(&s, &csm, "GET", "/api/v1/tasks?mine=1&status=done", NULL, 200, "\"title\":\"Kick-off call\"");
    t = call(&s, &csm, "PATCH", tpath, "{\"status\": \"open\", \"due\": null, \"assignee\": \"ann\"}", 200, NULL);
    cr_assert_str_eq(str(t, "status"), "open");
    cr_assert(cJSON_IsNull(get(t, "closed_at")));
    cr_assert(cJSON_IsNull(get(t, "due")));
    cr_assert_str_eq(str(t, "assignee"), "ann");
    cJSON_Delete(t);
    expect(&s, &csm, "PATCH", tpath, "{\"due\": \"2030-02-01\"}", 200, "\"due\":\"2030-02-01\"");
    expect(&s, &csm, "PATCH", tpath, "{\"status\": \"cancelled\"}", 200, "\"status\":\"cancelled\"");
    expect(&s, &csm, "PATCH", tpath, "{\"status\": \"finished\"}", 400, "\"field\":\"status\"");
    expect(&s, &csm, "PATCH", tpath, "{\"status\": null}", 400, "\"field\":\"status\"");
    expect(&s, &csm, "PATCH", tpath, "{\"assignee\": null}", 400, "\"field\":\"assignee\"");
    expect(&s, &csm, "PATCH", tpath, "{\"due\": \"someday\"}", 400, "\"field\":\"due\"");
    expect(&s, &csm, "PATCH", tpath, "{\"title\": \"new\"}", 400, "\"field\":\"title\"");
    expect(&s, &csm, "PATCH", tpath, "{}", 400, "nothing to change");
    expect(&s, &viewer, "PATCH", tpath, "{\"status\": \"open\"}", 403, NULL);
    expect(&s, &csm, "PATCH", "/api/v1/tasks/999999", "{\"status\": \"done\"}", 404, "no task 999999");
    expect(&s, &viewer, "GET", "/api/v1/tasks/999999", NULL, 404, NULL);
    expect(&s, &viewer, "GET", "/api/v1/tasks/abc", NULL, 404, NULL);
    t = call(&s, &viewer, "GET", tpath, NULL, 200, NULL);
    cr_assert_str_eq(str(t, "status"), "cancelled", "the refused changes changed nothing");
    cr_assert_str_eq(str(t, "due"), "2030-02-01");
    cr_assert_str_eq(str(t, "assignee"), "ann");
    cJSON_Delete(t);

    /* the CLI sees them */
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "tasks", "--assignee", "cal", "--format", "csv", NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert(kt_contains(run.out, "Write the QBR deck") && !kt_contains(run.out, "Kick-off call"), "%s", run.out);
    kt_run_free(&run);

    kt_http_resp a;
    kt_http(&a, &s, "GET", "/api/v1/audit?limit=100", NULL, admin.h);
    snprintf(path, sizeof path, "\"action\":\"task.add\",\"target\":\"task/%ld\",\"detail\":\"Kick-off call\"", id);
    cr_assert(kt_contains(a.body, path), "%s", a.body);
    snprintf(path, sizeof path, "\"action\":\"task.change\",\"target\":\"task/%ld\",\"detail\":\"status=done\"", id);
    cr_assert(kt_contains(a.body, path), "%s", a.body);
    cr_assert(kt_contains(a.body, "\"detail\":\"status=open assignee=ann due=none\""), "%s", a.body);
    kt_http_free(&a);
    cJSON_Delete(tall);
    cJSON_Delete(fall);
    cr_assert_eq(kt_serve_stop(&s), 0);
    kt_rmrf(dir);
    free(dir);
}

/* ---- the timeline ---------------------------------------------------------------------------------- */

/* An account of our own, with a story told in rows of every kind. */
static void write_story(const char *dir)
{
    char *f = kt_path(dir, "tl");
    cr_assert_eq(mkdir(f, 0755), 0);
    kt_write(kt_path(f, "accounts.csv"), "account_id,name,owner\ntl1,Timeline Test Co,cal\n", (size_t)-1);
    kt_write(kt_path(f, "subscriptions.csv"),
             "subscription_id,account_id,plan,mrr,quantity,start_date,end_date\n"
             "s_tl1,tl1,starter,100,1,2024-01-01,2024-06-01\n"
             "s_tl2,tl1,pro,250,3,2024-06-01,2024-12-01\n",
             (size_t)-1);
    kt_write(kt_path(f, "tickets.csv"),
             "ticket_id,account_id,opened_at,first_response_at,resolved_at,category,priority,subject,body\n"
             "t_tl1,tl1,2024-02-10T09:00:00Z,2024-02-10T09:30:00Z,2024-02-12T10:00:00Z,functional,high,"
             "Cannot export,The export button does nothing\n",
             (size_t)-1);
    kt_write(kt_path(f, "nps.csv"), "response_id,account_id,contact_id,ts,score,comment\nn_tl1,tl1,,2024-03-05T12:00:00Z,3,Too slow\n",
             (size_t)-1);
    /* a long body in Japanese: cut on a character's boundary */
    char body[2048];
    size_t n = 0;
    while (n + 3 < 700)
        memcpy(body + n, "\xe3\x81\x82", 3), n += 3; /* あ */
    body[n] = '\0';
    char csv[4096];
    snprintf(csv, sizeof csv,
             "activity_id,account_id,ts,kind,direction,subject,body,author\n"
             "a_tl1,tl1,2024-02-11T15:00:00Z,call,outbound,Escalation call,%s,cal\n"
             "a_tl2,tl1,2024-07-01T08:00:00Z,note,,,Renewal looks safe,cal\n",
             body);
    kt_write(kt_path(f, "activities.csv"), csv, (size_t)-1);
    kt_import(dir, "tl");
}

/* The position of kind+ref in items, -1 when absent. */
static int find_item(const cJSON *items, const char *kind, const char *ref)
{
    for (int i = 0; i < cJSON_GetArraySize(items); i++) {
        const cJSON *it = cJSON_GetArrayItem(items, i);
        if (strcmp(str(it, "kind"), kind) == 0 && strcmp(str(it, "ref"), ref) == 0)
            return i;
    }
    return -1;
}

/* Newest first, strictly: by at, then kind, then ref, each descending. */
static void in_order(const cJSON *items)
{
    for (int i = 1; i < cJSON_GetArraySize(items); i++) {
        const cJSON *x = cJSON_GetArrayItem(items, i - 1), *y = cJSON_GetArrayItem(items, i);
        int c = strcmp(str(x, "at"), str(y, "at"));
        if (!c)
            c = strcmp(str(x, "kind"), str(y, "kind"));
        if (!c)
            c = strcmp(str(x, "ref"), str(y, "ref"));
        cr_assert_gt(c, 0, "item %d (%s %s %s) after item %d (%s %s %s)", i, str(y, "at"), str(y, "kind"), str(y, "ref"),
                     i - 1, str(x, "at"), str(x, "kind"), str(x, "ref"));
    }
}

/* The item of kind and ref (NULL: the first of the kind) in items; it must be there. */
static const cJSON *item_of(const cJSON *items, const char *kind, const char *ref)
{
    for (int i = 0; i < cJSON_GetArraySize(items); i++) {
        const cJSON *it = cJSON_GetArrayItem(items, i);
        if (strcmp(str(it, "kind"), kind) == 0 && (!ref || strcmp(str(it, "ref"), ref) == 0))
            return it;
    }
    cr_assert_fail("no item %s %s", kind, ref ? ref : "");
    return NULL;
}

/* The members of an item's data by its kind (the contract of docs/api.md): each
 * there, null when absent, never left out, and no other. */
static const struct {
    const char *kind; /* "activity." is every activity.* */
    const char *keys[9];
} DATA_KEYS[] = {
    { "subscription.start", { "plan", "mrr", "quantity" } },
    { "subscription.end", { "plan", "mrr", "quantity" } },
    { "subscription.change", { "from_plan", "to_plan", "from_mrr", "to_mrr", "from_quantity", "to_quantity" } },
    { "ticket.opened", { "subject", "priority", "category" } },
    { "ticket.resolved", { "subject", "priority", "category" } },
    { "nps", { "score", "group", "comment" } },
    { "activity.", { "activity", "subject", "body" } },
    { "rule.fired", { "rule", "dry_run", "reason", "why" } },
    { "task.created", { "title", "assignee", "due", "source" } },
    { "task.done", { "title" } },
    { "task.cancelled", { "title" } },
    { "health.band", { "from", "to", "score", "version" } },
    { "anomaly", { "anomaly_id", "series", "kind", "observed", "low", "high", "state", "message" } },
};

/* The data of item it, checked against DATA_KEYS. */
static const cJSON *data_of(const cJSON *it)
{
    const char *kind = str(it, "kind");
    const cJSON *d = get(it, "data");
    cr_assert(cJSON_IsObject(d), "%s: data is not an object", kind);
    for (size_t i = 0; i < sizeof DATA_KEYS / sizeof DATA_KEYS[0]; i++) {
        size_t kl = strlen(DATA_KEYS[i].kind);
        if (DATA_KEYS[i].kind[kl - 1] == '.' ? strncmp(kind, DATA_KEYS[i].kind, kl) != 0
                                              : strcmp(kind, DATA_KEYS[i].kind) != 0)
            continue;
        int n = 0;
        for (; n < 9 && DATA_KEYS[i].keys[n]; n++)
            cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(d, DATA_KEYS[i].keys[n]), "%s: no '%s' in %s", kind,
                               DATA_KEYS[i].keys[n], cJSON_PrintUnformatted(d));
        cr_assert_eq(cJSON_GetArraySize(d), n, "%s: other members in %s", kind, cJSON_PrintUnformatted(d));
        return d;
    }
    cr_assert_fail("no data contract for the kind %s", kind);
    return NULL;
}

static int is_null(const cJSON *o, const char *key)
{
    return cJSON_IsNull(get(o, key));
}

static double dnum(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    cr_assert(cJSON_IsNumber(v), "'%s' is not a number in %s", key, cJSON_PrintUnformatted(o));
    return v->valuedouble;
}

static int on_first_id(void *ctx, int64_t id, const kz_value *row)
{
    (void)row;
    *(int64_t *)ctx = id;
    return 0;
}

Test(playbooks_api, timeline_in_order_and_paged, .timeout = 120)
{
    char *dir = kt_demo_world(100, 3);
    write_story(dir);
    kt_run run;
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "health", "record", "--from", "2026-07-01", "--to", "2026-10-31", NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    kt_run_free(&run);
    /* an anomaly of tl1's own series, and one of another account (not shown) */
    char *db = kt_path(dir, "k.db");
    kz_store *st;
    cr_assert_eq(kz_store_open(&st, db, 0), 0, "%s", kz_error_msg());
    kz_day aday;
    cr_assert_eq(kz_parse_date(&aday, "2024-08-15", 10), 0);
    kz_anomaly_rec an[2] = {
        { .series = "account/tl1", .kind = "account", .grain = "day", .day = aday, .until = aday, .observed = 2,
          .expected = 40, .low = 25, .high = 55, .score = 0.99, .unit = "count", .message = "tl1 went quiet" },
        { .series = "account/acc_00001", .kind = "account", .grain = "day", .day = aday, .until = aday,
          .observed = 2, .expected = 40, .low = 25, .high = 55, .score = 0.99, .unit = "count", .message = "other" },
    };
    cr_assert_eq(kz_store_anomalies_put(st, an, 2, kz_now(), NULL), 0, "%s", kz_error_msg());
    /* a rule's firing for tl1 (a dry run), after its subscription ended */
    int64_t tl1 = 0, fired = 0;
    kz_value tl1_key = kz_vtext("tl1", 3);
    cr_assert_eq(kz_store_get(st, KZ_ENT_ACCOUNT, &tl1_key, on_first_id, &tl1), 0, "%s", kz_error_msg());
    kz_time fat;
    cr_assert_eq(kz_parse_time(&fat, NULL, "2024-12-02T06:00:00Z", 20), 0);
    kz_firing_rec fr = { .rule = "renewal-lost", .subject_kind = "account", .subject = "tl1", .account_id = tl1,
                         .window_key = "2024-12-01", .at = fat, .fired_at = fat,
                         .reason = "subscription s_tl2 ended", .dry_run = 1 };
    cr_assert_eq(kz_store_firing_add(st, &fr, &fired), 0, "%s", kz_error_msg());
    cr_assert_gt(fired, 0);
    char fid[32];
    snprintf(fid, sizeof fid, "%lld", (long long)fired);
    kz_store_close(st);
    free(db);
    struct caller admin, csm, viewer;
    users(dir, &admin, &csm, &viewer);
    kt_server s;
    kt_serve(&s, dir, NULL);

    /* our account: every kind of row, in its place */
    cJSON *t = call(&s, &csm, "POST", "/api/v1/tasks", "{\"title\": \"Win them back\", \"account_id\": \"tl1\"}", 201, NULL);
    /* a task names its account as the list of accounts does */
    cr_assert_str_eq(str(t, "account_name"), "Timeline Test Co");
    char tid[32], tpath[64];
    snprintf(tid, sizeof tid, "%ld", num(t, "id"));
    snprintf(tpath, sizeof tpath, "/api/v1/tasks/%s", tid);
    cJSON_Delete(t);
    expect(&s, &csm, "PATCH", tpath, "{\"status\": \"done\"}", 200, NULL);
    cJSON *tl = call(&s, &viewer, "GET", "/api/v1/accounts/tl1/timeline?limit=1000", NULL, 200, "\"next_before\":null");
    /* money as the API writes it elsewhere: a decimal number with its cents */
    expect(&s, &viewer, "GET", "/api/v1/accounts/tl1/timeline?limit=1000", NULL, 200,
           "\"data\":{\"from_plan\":\"starter\",\"to_plan\":\"pro\",\"from_mrr\":100.00,\"to_mrr\":250.00,"
           "\"from_quantity\":1,\"to_quantity\":3}");
    cr_assert_str_eq(str(tl, "account_id"), "tl1");
    const cJSON *items = get(tl, "items");
    const struct {
        const char *kind, *ref, *at, *title;
    } want[] = {
        { "task.done", NULL, NULL, "Task done: Win them back" },
        { "task.created", NULL, NULL, "Task: Win them back" },
        { "rule.fired", fid, "2024-12-02T06:00:00Z", "Rule renewal-lost fired (dry run)" },
        { "subscription.end", "s_tl2", "2024-12-01T00:00:00Z", "Subscription ended" },
        { "anomaly", NULL, "2024-08-15T00:00:00Z", "Anomaly: tl1 went quiet" },
        { "activity.note", "a_tl2", "2024-07-01T08:00:00Z", "Note" },
        { "subscription.change", "s_tl2", "2024-06-01T00:00:00Z", "Subscription changed" },
        { "nps", "n_tl1", "2024-03-05T12:00:00Z", "NPS answer: 3 (detractor)" },
        { "ticket.resolved", "t_tl1", "2024-02-12T10:00:00Z", "Ticket resolved: Cannot export" },
        { "activity.call", "a_tl1", "2024-02-11T15:00:00Z", "Escalation call" },
        { "ticket.opened", "t_tl1", "2024-02-10T09:00:00Z", "Ticket opened: Cannot export" },
        { "subscription.start", "s_tl1", "2024-01-01T00:00:00Z", "Subscription started" },
    };
    size_t nw = sizeof want / sizeof want[0];
    cr_assert_eq(cJSON_GetArraySize(items), (int)nw, "%s", cJSON_PrintUnformatted(items));
    for (size_t i = 0; i < nw; i++) {
        const cJSON *it = cJSON_GetArrayItem(items, (int)i);
        cr_assert_str_eq(str(it, "kind"), want[i].kind, "item %zu", i);
        if (strcmp(want[i].kind, "anomaly") != 0)
            cr_assert_str_eq(str(it, "ref"), want[i].ref ? want[i].ref : tid, "item %zu", i);
        if (want[i].at)
            cr_assert_str_eq(str(it, "at"), want[i].at, "item %zu", i);
        cr_assert_str_eq(str(it, "title"), want[i].title, "item %zu", i);
    }
    in_order(items);
    cr_assert_str_eq(str(item_of(items, "anomaly", NULL), "detail"), "account 2, expected 25 to 55 (open)");
    cr_assert_str_eq(str(item_of(items, "subscription.change", "s_tl2"), "detail"),
                     "starter → pro, MRR 100.00 → 250.00, quantity 1 → 3");
    cr_assert_str_eq(str(item_of(items, "subscription.start", "s_tl1"), "detail"), "starter, MRR 100.00, quantity 1");
    cr_assert_str_eq(str(item_of(items, "nps", "n_tl1"), "detail"), "Too slow");
    cr_assert_str_eq(str(item_of(items, "ticket.opened", "t_tl1"), "detail"), "priority high, functional question");
    cr_assert_str_eq(str(item_of(items, "rule.fired", fid), "detail"), "subscription s_tl2 ended");
    cr_assert(cJSON_IsNull(get(item_of(items, "task.done", tid), "detail")));
    const char *cut = str(item_of(items, "activity.call", "a_tl1"), "detail");
    size_t cl = strlen(cut);
    cr_assert_leq(cl, 500 + 3);
    cr_assert_eq(memcmp(cut + cl - 3, "…", 3), 0, "%s", cut);
    cr_assert_eq((cl - 3) % 3, 0, "cut on a character's boundary");

    /* the facts of each item as data, for clients that say them in their own words */
    for (size_t i = 0; i < nw; i++)
        data_of(cJSON_GetArrayItem(items, (int)i));
    const cJSON *d = data_of(item_of(items, "ticket.opened", "t_tl1"));
    cr_assert_str_eq(str(d, "subject"), "Cannot export");
    cr_assert_str_eq(str(d, "priority"), "high");
    cr_assert_str_eq(str(d, "category"), "functional");
    d = data_of(item_of(items, "ticket.resolved", "t_tl1"));
    cr_assert_str_eq(str(d, "subject"), "Cannot export");
    cr_assert_str_eq(str(d, "priority"), "high");
    d = data_of(item_of(items, "subscription.change", "s_tl2"));
    cr_assert_str_eq(str(d, "from_plan"), "starter");
    cr_assert_str_eq(str(d, "to_plan"), "pro");
    cr_assert_float_eq(dnum(d, "from_mrr"), 100.0, 1e-9);
    cr_assert_float_eq(dnum(d, "to_mrr"), 250.0, 1e-9);
    cr_assert_eq(num(d, "from_quantity"), 1);
    cr_assert_eq(num(d, "to_quantity"), 3);
    d = data_of(item_of(items, "subscription.start", "s_tl1"));
    cr_assert_str_eq(str(d, "plan"), "starter");
    cr_assert_float_eq(dnum(d, "mrr"), 100.0, 1e-9);
    cr_assert_eq(num(d, "quantity"), 1);
    d = data_of(item_of(items, "subscription.end", "s_tl2"));
    cr_assert_str_eq(str(d, "plan"), "pro");
    cr_assert_float_eq(dnum(d, "mrr"), 250.0, 1e-9);
    cr_assert_eq(num(d, "quantity"), 3);
    d = data_of(item_of(items, "nps", "n_tl1"));
    cr_assert_eq(num(d, "score"), 3);
    cr_assert_str_eq(str(d, "group"), "detractor");
    cr_assert_str_eq(str(d, "comment"), "Too slow");
    d = data_of(item_of(items, "activity.note", "a_tl2"));
    cr_assert_str_eq(str(d, "activity"), "note");
    cr_assert(is_null(d, "subject"), "a note without a subject: %s", cJSON_PrintUnformatted(d));
    cr_assert_str_eq(str(d, "body"), "Renewal looks safe");
    d = data_of(item_of(items, "activity.call", "a_tl1"));
    cr_assert_str_eq(str(d, "activity"), "call");
    cr_assert_str_eq(str(d, "subject"), "Escalation call");
    cr_assert_str_eq(str(d, "body"), cut, "the body cut as the detail is");
    d = data_of(item_of(items, "task.created", tid));
    cr_assert_str_eq(str(d, "title"), "Win them back");
    cr_assert(is_null(d, "assignee") && is_null(d, "due"), "nobody, no day: %s", cJSON_PrintUnformatted(d));
    cr_assert_str_eq(str(d, "source"), "user:cal");
    d = data_of(item_of(items, "task.done", tid));
    cr_assert_str_eq(str(d, "title"), "Win them back");
    d = data_of(item_of(items, "rule.fired", fid));
    cr_assert_str_eq(str(d, "rule"), "renewal-lost");
    cr_assert(cJSON_IsTrue(get(d, "dry_run")));
    cr_assert_str_eq(str(d, "reason"), "subscription s_tl2 ended");
    const cJSON *ai = item_of(items, "anomaly", NULL);
    d = data_of(ai);
    cr_assert_eq(num(d, "anomaly_id"), strtol(str(ai, "ref"), NULL, 10));
    cr_assert_str_eq(str(d, "series"), "account/tl1");
    cr_assert_str_eq(str(d, "kind"), "account");
    cr_assert_float_eq(dnum(d, "observed"), 2.0, 1e-9);
    cr_assert_float_eq(dnum(d, "low"), 25.0, 1e-9);
    cr_assert_float_eq(dnum(d, "high"), 55.0, 1e-9);
    cr_assert_str_eq(str(d, "state"), "open");
    cr_assert_str_eq(str(d, "message"), "tl1 went quiet");
    /* pages of every size give the same stream */
    for (int n = 1; n <= 4; n++) {
        int pages;
        cJSON *paged = all_pages(&s, &viewer, "/api/v1/accounts/tl1/timeline?", "items", "next_before", "before", n, &pages);
        same_lists(paged, items, "the timeline of tl1 in pages");
        cr_assert_eq(pages, (int)((nw + (size_t)n - 1) / (size_t)n));
        cJSON_Delete(paged);
    }
    /* before a time: strictly before it */
    cJSON *b = call(&s, &viewer, "GET", "/api/v1/accounts/tl1/timeline?before=2024-06-01T00:00:00Z", NULL, 200, NULL);
    cr_assert_eq(cJSON_GetArraySize(get(b, "items")), 5);
    cr_assert_str_eq(str(cJSON_GetArrayItem(get(b, "items"), 0), "kind"), "nps");
    cJSON_Delete(b);
    b = call(&s, &viewer, "GET", "/api/v1/accounts/tl1/timeline?before=2024-06-01T00:00:00.000001Z&limit=2", NULL, 200, NULL);
    cr_assert_str_eq(str(cJSON_GetArrayItem(get(b, "items"), 0), "kind"), "subscription.change");
    cr_assert_not_null(str(b, "next_before"));
    cJSON_Delete(b);
    expect(&s, &viewer, "GET", "/api/v1/accounts/tl1/timeline?before=2000-01-01", NULL, 200,
           "\"items\":[],\"next_before\":null}");
    /* total: every item, whatever the page */
    cr_assert_eq(num(tl, "total"), (long)cJSON_GetArraySize(items));
    /* kinds: those asked for, or those under them, in the same order as in the whole list */
    static const char *const kinds[] = { "ticket", "ticket.opened,nps", "activity", "task.done", "tick" };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char kp[160];
        snprintf(kp, sizeof kp, "/api/v1/accounts/tl1/timeline?limit=1000&kind=%s", kinds[k]);
        cJSON *only = call(&s, &viewer, "GET", kp, NULL, 200, NULL);
        const cJSON *got = get(only, "items");
        cJSON *expected = cJSON_CreateArray();
        const cJSON *it;
        cJSON_ArrayForEach(it, items)
        {
            const char *kind = str(it, "kind");
            int wanted = 0;
            for (const char *p = kinds[k]; *p;) { /* the kinds of the list, or under them */
                size_t n = strcspn(p, ",");
                if (strncmp(kind, p, n) == 0 && (kind[n] == '\0' || kind[n] == '.'))
                    wanted = 1;
                p += n + (p[n] == ',');
            }
            if (wanted)
                cJSON_AddItemToArray(expected, cJSON_Duplicate(it, 1));
        }
        cr_assert(k == 4 || cJSON_GetArraySize(expected) > 0, "tl1 has no %s", kinds[k]);
        same_lists(got, expected, kinds[k]);
        cr_assert_eq(num(only, "total"), (long)cJSON_GetArraySize(expected), "%s", kinds[k]);
        cJSON_Delete(expected);
        cJSON_Delete(only);
    }
    expect(&s, &viewer, "GET", "/api/v1/accounts/tl1/timeline?kind=", NULL, 400, "\"field\":\"kind\"");
    expect(&s, &viewer, "GET", "/api/v1/accounts/tl1/timeline?before=cXYZ", NULL, 400, "\"field\":\"before\"");
    expect(&s, &viewer, "GET", "/api/v1/accounts/tl1/timeline?before=yesterday", NULL, 400, "\"field\":\"before\"");
    expect(&s, &viewer, "GET", "/api/v1/accounts/tl1/timeline?limit=0", NULL, 400, "\"field\":\"limit\"");
    expect(&s, &viewer, "GET", "/api/v1/accounts/nobody/timeline", NULL, 404, "no account 'nobody'");
    expect(&s, NULL, "GET", "/api/v1/accounts/tl1/timeline", NULL, 401, NULL);
    cJSON_Delete(tl);

    /* the demo's accounts: health band changes as recorded, every row, pages */
    int changes = 0;
    for (int k = 1; k <= 100 && changes < 3; k++) {
        char key[32], p[128];
        snprintf(key, sizeof key, "acc_%05d", k);
        snprintf(p, sizeof p, "/api/v1/accounts/%s/health", key);
        cJSON *h = call(&s, &viewer, "GET", p, NULL, 200, NULL);
        snprintf(p, sizeof p, "/api/v1/accounts/%s/timeline?limit=1000", key);
        cJSON *all = call(&s, &viewer, "GET", p, NULL, 200, "\"next_before\":null");
        const cJSON *its = get(all, "items"), *scores = get(h, "scores");
        in_order(its);
        int expected = 0, found = 0;
        for (int i = 1; i < cJSON_GetArraySize(scores); i++) {
            const cJSON *y = cJSON_GetArrayItem(scores, i - 1), *x = cJSON_GetArrayItem(scores, i);
            if (strcmp(str(x, "band"), str(y, "band")) == 0)
                continue;
            expected++;
            int at = find_item(its, "health.band", str(x, "day"));
            cr_assert_geq(at, 0, "%s: no band change on %s", key, str(x, "day"));
            char title[64];
            snprintf(title, sizeof title, "Health %s → %s", str(y, "band"), str(x, "band"));
            cr_assert_str_eq(str(cJSON_GetArrayItem(its, at), "title"), title);
            const cJSON *hd = data_of(cJSON_GetArrayItem(its, at));
            cr_assert_str_eq(str(hd, "from"), str(y, "band"));
            cr_assert_str_eq(str(hd, "to"), str(x, "band"));
            cr_assert_float_eq(dnum(hd, "score"), dnum(x, "score"), 1e-9, "%s %s", key, str(x, "day"));
            cr_assert_eq(num(hd, "version"), num(x, "definition_version"));
        }
        for (int i = 0; i < cJSON_GetArraySize(its); i++) {
            found += strcmp(str(cJSON_GetArrayItem(its, i), "kind"), "health.band") == 0;
            data_of(cJSON_GetArrayItem(its, i)); /* every kind of row, as data */
        }
        cr_assert_eq(found, expected, "%s: %d band changes, %d recorded", key, found, expected);
        if (expected) {
            changes++;
            /* the rows of the account's story are all there */
            snprintf(p, sizeof p, "/api/v1/accounts/%s?limit=1000", key);
            cJSON *story = call(&s, &viewer, "GET", p, NULL, 200, NULL);
            int acts = 0, opened = 0, answers = 0;
            for (int i = 0; i < cJSON_GetArraySize(its); i++) {
                const char *kind = str(cJSON_GetArrayItem(its, i), "kind");
                acts += strncmp(kind, "activity.", 9) == 0;
                opened += strcmp(kind, "ticket.opened") == 0;
                answers += strcmp(kind, "nps") == 0;
            }
            cr_assert_eq(acts, cJSON_GetArraySize(get(story, "activities")), "%s: activities", key);
            cr_assert_eq(opened, cJSON_GetArraySize(get(story, "tickets")), "%s: tickets", key);
            cr_assert_eq(answers, cJSON_GetArraySize(get(story, "nps")), "%s: answers", key);
            cJSON_Delete(story);
            int pages;
            snprintf(p, sizeof p, "/api/v1/accounts/%s/timeline?", key);
            cJSON *paged = all_pages(&s, &viewer, p, "items", "next_before", "before", 9, &pages);
            same_lists(paged, its, key);
            cr_assert_gt(pages, 1);
            cJSON_Delete(paged);
        }
        cJSON_Delete(all);
        cJSON_Delete(h);
    }
    cr_assert_gt(changes, 0, "no demo account changed band in the recorded days");
    cr_assert_eq(kt_serve_stop(&s), 0);
    kt_rmrf(dir);
    free(dir);
}

/* ---- playbook documents ------------------------------------------------------------------------------ */

Test(playbooks_api, documents_listed_and_rendered_safely, .timeout = 60)
{
    char *dir = kt_tmpdir();
    struct caller admin, csm, viewer;
    users(dir, &admin, &csm, &viewer);
    char *pb = kt_path(dir, "playbooks");
    cr_assert_eq(mkdir(pb, 0755), 0);
    static const char *const shipped[] = { "onboarding-kickoff", "renewal-review", "risk-recovery" };
    char *risk = NULL;
    for (size_t i = 0; i < 3; i++) {
        char rel[128], name[64];
        snprintf(rel, sizeof rel, "../../playbooks/%s.md", shipped[i]);
        char *text = kt_read(kt_fixture(rel), NULL);
        cr_assert_not_null(text, "%s", rel);
        snprintf(name, sizeof name, "%s.md", shipped[i]);
        kt_write(kt_path(pb, name), text, (size_t)-1);
        if (i == 2)
            risk = text;
        else
            free(text);
    }
    kt_write(kt_path(pb, "escapes.md"),
             "# Escapes & <tests>\n\nHello <script>alert(1)</script> world.\n\n<b onclick=\"x()\">bold</b>\n\n"
             "[bad](javascript:alert(1)) and [good](https://example.com/a?b=1)\n",
             (size_t)-1);
    kt_write(kt_path(pb, "Notes.md"), "# skipped: not a valid name\n", (size_t)-1);
    kt_write(kt_path(pb, "readme.txt"), "skipped\n", (size_t)-1);
    kt_server s;
    kt_serve(&s, dir, NULL);

    cJSON *l = call(&s, &viewer, "GET", "/api/v1/playbooks", NULL, 200, NULL);
    const cJSON *docs = get(l, "playbooks");
    static const char *const names[] = { "escapes", "onboarding-kickoff", "renewal-review", "risk-recovery" };
    cr_assert_eq(cJSON_GetArraySize(docs), 4, "%s", cJSON_PrintUnformatted(l));
    for (int i = 0; i < 4; i++)
        cr_assert_str_eq(str(cJSON_GetArrayItem(docs, i), "name"), names[i]);
    cr_assert_str_eq(str(cJSON_GetArrayItem(docs, 0), "title"), "Escapes & <tests>");
    cr_assert_str_eq(str(cJSON_GetArrayItem(docs, 3), "title"), "Risk recovery (リスク対応・リカバリー)");
    cJSON_Delete(l);

    cJSON *d = call(&s, &viewer, "GET", "/api/v1/playbooks/risk-recovery", NULL, 200, NULL);
    cr_assert_str_eq(str(d, "name"), "risk-recovery");
    cr_assert_str_eq(str(d, "markdown"), risk);
    cr_assert(kt_contains(str(d, "html"), "<h1>Risk recovery (リスク対応・リカバリー)</h1>"), "%s", str(d, "html"));
    cJSON_Delete(d);
    free(risk);

    d = call(&s, &viewer, "GET", "/api/v1/playbooks/escapes", NULL, 200, NULL);
    const char *html = str(d, "html");
    cr_assert(kt_contains(html, "<h1>Escapes &amp; &lt;tests&gt;</h1>"), "%s", html);
    cr_assert(kt_contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"), "%s", html);
    cr_assert(kt_contains(html, "&lt;b onclick="), "%s", html);
    cr_assert(!kt_contains(html, "<script") && !kt_contains(html, "<b ") && !kt_contains(html, "javascript:"), "%s", html);
    cr_assert(kt_contains(html, "href=\"https://example.com/a?b=1\""), "%s", html);
    cJSON_Delete(d);

    expect(&s, &viewer, "GET", "/api/v1/playbooks/nothing", NULL, 404, "no playbook 'nothing'");
    expect(&s, &viewer, "GET", "/api/v1/playbooks/Notes", NULL, 400, "\"field\":\"name\"");
    expect(&s, &viewer, "GET", "/api/v1/playbooks/a.b", NULL, 400, "\"field\":\"name\"");
    expect(&s, NULL, "GET", "/api/v1/playbooks", NULL, 401, NULL);
    expect(&s, NULL, "GET", "/api/v1/playbooks/escapes", NULL, 401, NULL);

    /* a document that does not read is seen, not hidden */
    kt_write(kt_path(pb, "broken.md"), "# Broken\n\n\xff\xfe not UTF-8\n", (size_t)-1);
    expect(&s, &viewer, "GET", "/api/v1/playbooks", NULL, 500, "broken");
    expect(&s, &viewer, "GET", "/api/v1/playbooks/broken", NULL, 500, "invalid UTF-8");
    expect(&s, &viewer, "GET", "/api/v1/playbooks/escapes", NULL, 200, NULL);
    cr_assert_eq(kt_serve_stop(&s), 0);
    kt_rmrf(dir);
    free(dir);
}
