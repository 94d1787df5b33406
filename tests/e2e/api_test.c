/*
 * api_test.c - the REST API's resources on the real server: rows of every
 * entity created, read, changed and deleted with validation that names the
 * field; who may write what (viewer, support, csm with their own accounts,
 * admin); posted imports; the account list (search, filters, sort, pages,
 * health trends, fields as columns) and one account's story (usage by event
 * type, renewal); and the engine following every change.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* One request; its status must be `status`, its body must hold `says` (may be NULL). */
static void expect(const kt_server *s, const struct caller *c, const char *method, const char *path, const char *body,
                   int status, const char *says)
{
    kt_http_resp r;
    kt_http(&r, s, method, path, body, c ? c->h : NULL);
    cr_assert_eq(r.status, status, "%s %s %s: %d %s", method, path, body ? body : "", r.status, r.body);
    if (says)
        cr_assert(kt_contains(r.body, says), "%s %s: expected '%s' in %s", method, path, says, r.body);
    kt_http_free(&r);
}

Test(api, rows_of_every_entity_validated_and_audited, .timeout = 120)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_fixture("reference/edges"));
    struct caller admin;
    caller_init(&admin, dir, "ann", "admin");
    kt_server s;
    kt_serve(&s, dir, NULL);

    /* accounts: created with a custom field, bad values named, no twins */
    expect(&s, &admin, "POST", "/api/v1/accounts", "{\"account_id\": \"n1\", \"name\": \"New One\", \"created_at\": \"soon\"}",
           400, "\"field\":\"created_at\"");
    expect(&s, &admin, "POST", "/api/v1/accounts", "[1, 2]", 400, "the body must be a JSON object");
    expect(&s, &admin, "POST", "/api/v1/accounts", "{\"name\": \"No Id\"}", 400, "\"field\":\"account_id\"");
    expect(&s, &admin, "POST", "/api/v1/accounts",
           "{\"account_id\": \"n1\", \"name\": \"New One\", \"owner\": \"cora\", \"tier\": \"gold\"}", 201,
           "{\"account_id\":\"n1\",\"name\":\"New One\",\"owner\":\"cora\",\"tier\":\"gold\"}");
    expect(&s, &admin, "POST", "/api/v1/accounts", "{\"account_id\": \"n1\"}", 409, "exists already");
    expect(&s, &admin, "PATCH", "/api/v1/accounts/n1", "{\"name\": \"New Uno\", \"tier\": null}", 200,
           "{\"account_id\":\"n1\",\"name\":\"New Uno\",\"owner\":\"cora\"}");
    expect(&s, &admin, "PATCH", "/api/v1/accounts/n1", "{\"account_id\": \"n2\"}", 400, "does not match the path");
    expect(&s, &admin, "PATCH", "/api/v1/accounts/zz", "{\"name\": \"x\"}", 404, "no account_id 'zz'");

    /* a subscription: the engine counts it at once */
    kt_http_resp before;
    kt_http(&before, &s, "GET", "/api/v1/metrics/mrr", NULL, admin.h);
    expect(&s, &admin, "POST", "/api/v1/subscriptions",
           "{\"subscription_id\": \"ns1\", \"account_id\": \"n1\", \"mrr\": \"lots\", \"start_date\": \"2024-05-01\"}", 400,
           "\"field\":\"mrr\"");
    expect(&s, &admin, "POST", "/api/v1/subscriptions",
           "{\"subscription_id\": \"ns1\", \"account_id\": \"nobody\", \"mrr\": 10, \"start_date\": \"2024-05-01\"}", 400,
           "account 'nobody' does not exist");
    expect(&s, &admin, "POST", "/api/v1/subscriptions",
           "{\"subscription_id\": \"ns1\", \"account_id\": \"n1\", \"mrr\": 75.5, \"start_date\": \"2024-05-01\", "
           "\"plan\": \"pro\"}",
           201, "\"mrr\":75.50");
    expect(&s, &admin, "PATCH", "/api/v1/subscriptions/ns1", "{\"end_date\": \"2024-04-01\"}", 400,
           "\"field\":\"end_date\"");
    kt_run cli;
    kt_kizunav(&cli, dir, NULL, "--db", "k.db", "metrics", "mrr", "--format", "json", NULL);
    cr_assert_eq(cli.status, 0, "%s", cli.err);
    kt_http_resp r;
    kt_http(&r, &s, "GET", "/api/v1/metrics/mrr", NULL, admin.h);
    cr_assert_str_eq(r.body, cli.out, "the server's MRR follows the new subscription");
    cr_assert_str_neq(r.body, before.body, "the subscription changed the MRR");
    kt_http_free(&r);
    kt_http_free(&before);
    kt_run_free(&cli);

    /* the other entities */
    expect(&s, &admin, "POST", "/api/v1/contacts",
           "{\"contact_id\": \"c1\", \"account_id\": \"n1\", \"email\": \"not-an-email\"}", 400, "\"field\":\"email\"");
    expect(&s, &admin, "POST", "/api/v1/contacts",
           "{\"contact_id\": \"c1\", \"account_id\": \"n1\", \"email\": \"kim@n1.example\", \"champion\": true}", 201,
           "\"champion\":true");
    expect(&s, &admin, "POST", "/api/v1/tickets",
           "{\"ticket_id\": \"t1\", \"account_id\": \"n1\", \"opened_at\": \"2024-06-01T09:00:00Z\", \"priority\": \"meh\"}",
           400, "\"field\":\"priority\"");
    expect(&s, &admin, "POST", "/api/v1/tickets",
           "{\"ticket_id\": \"t1\", \"account_id\": \"n1\", \"opened_at\": \"2024-06-01T09:00:00Z\", \"priority\": \"high\","
           " \"subject\": \"How do I export a report?\"}",
           201, "\"ticket_id\":\"t1\"");
    expect(&s, &admin, "POST", "/api/v1/nps", "{\"response_id\": \"rn1\", \"account_id\": \"n1\", \"ts\": \"2024-06-02\", \"score\": 11}",
           400, "\"field\":\"score\"");
    expect(&s, &admin, "POST", "/api/v1/nps", "{\"response_id\": \"rn1\", \"account_id\": \"n1\", \"ts\": \"2024-06-02\", \"score\": 4}",
           201, "\"score\":4");
    expect(&s, &admin, "POST", "/api/v1/activities",
           "{\"activity_id\": \"ac1\", \"account_id\": \"n1\", \"ts\": \"2024-06-03\", \"kind\": \"note\", "
           "\"body\": \"Kick-off held\"}",
           201, "\"kind\":\"note\"");
    expect(&s, &admin, "GET", "/api/v1/activities/ac1", NULL, 200, "Kick-off held");
    expect(&s, &admin, "POST", "/api/v1/spend", "{\"month\": \"2024-13\", \"amount\": 5}", 400, "\"field\":\"month\"");
    expect(&s, &admin, "POST", "/api/v1/spend", "{\"month\": \"2024-06\", \"channel\": \"ads\", \"amount\": 1200}", 201,
           "\"amount\":1200.00");
    expect(&s, &admin, "PATCH", "/api/v1/spend/2024-06?channel=ads", "{\"amount\": 900}", 200, "\"amount\":900.00");
    expect(&s, &admin, "GET", "/api/v1/spend", NULL, 200, "\"channel\":\"ads\",\"amount\":900.00");
    expect(&s, &admin, "DELETE", "/api/v1/spend/2024-06?channel=ads", NULL, 204, NULL);
    expect(&s, &admin, "DELETE", "/api/v1/spend/2024-06?channel=ads", NULL, 404, NULL);

    /* an account's story has its rows */
    kt_http(&r, &s, "GET", "/api/v1/accounts/n1", NULL, admin.h);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"subscriptions\":[{\"subscription_id\":\"ns1\""), "%s", r.body);
    cr_assert(kt_contains(r.body, "\"contacts\":[{\"contact_id\":\"c1\""), "%s", r.body);
    cr_assert(kt_contains(r.body, "\"tickets\":[{\"ticket_id\":\"t1\""), "%s", r.body);
    cr_assert(kt_contains(r.body, "\"category\":\"functional\""), "a ticket without a category is classified: %s",
              r.body);
    cr_assert(kt_contains(r.body, "\"nps\":[{\"response_id\":\"rn1\""), "%s", r.body);
    cr_assert(kt_contains(r.body, "\"activities\":[{\"activity_id\":\"ac1\""), "%s", r.body);
    cr_assert(kt_contains(r.body, "\"latest_nps\":4") && kt_contains(r.body, "\"open_urgent_tickets\":1"), "%s", r.body);
    kt_http_free(&r);
    expect(&s, &admin, "GET", "/api/v1/accounts/nope", NULL, 404, "no account 'nope'");
    expect(&s, &admin, "GET", "/api/v1/accounts/n1?days=3", NULL, 400, "\"field\":\"days\"");

    /* each kind of row: read, changed, deleted, gone */
    static const struct {
        const char *path, *patch, *says;
    } rows[] = {
        { "/api/v1/contacts/c1", "{\"role\": \"CTO\"}", "\"role\":\"CTO\"" },
        { "/api/v1/nps/rn1", "{\"comment\": \"better now\"}", "\"comment\":\"better now\"" },
        { "/api/v1/activities/ac1", "{\"direction\": \"outbound\"}", "\"direction\":\"outbound\"" },
        { "/api/v1/tickets/t1", "{\"resolved_at\": \"2024-06-02T10:00:00Z\"}", "\"resolved_at\":\"2024-06-02T10:00:00Z\"" },
        { "/api/v1/subscriptions/ns1", "{\"quantity\": 4}", "\"quantity\":4" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        expect(&s, &admin, "GET", rows[i].path, NULL, 200, NULL);
        expect(&s, &admin, "PATCH", rows[i].path, rows[i].patch, 200, rows[i].says);
        expect(&s, &admin, "GET", rows[i].path, NULL, 200, rows[i].says);
        expect(&s, &admin, "PATCH", rows[i].path, "{\"account_id\": \"nobody\"}", 400, "\"field\":\"account_id\"");
    }
    expect(&s, &admin, "DELETE", "/api/v1/contacts/c1", NULL, 204, NULL);
    expect(&s, &admin, "GET", "/api/v1/contacts/c1", NULL, 404, NULL);
    expect(&s, &admin, "DELETE", "/api/v1/nps/rn1", NULL, 204, NULL);
    expect(&s, &admin, "DELETE", "/api/v1/nps/rn1", NULL, 404, NULL);

    /* deleting an account takes its rows */
    expect(&s, &admin, "DELETE", "/api/v1/accounts/n1", NULL, 204, NULL);
    expect(&s, &admin, "GET", "/api/v1/tickets/t1", NULL, 404, NULL);
    expect(&s, &admin, "GET", "/api/v1/subscriptions/ns1", NULL, 404, NULL);
    kt_kizunav(&cli, dir, NULL, "--db", "k.db", "metrics", "mrr", "--format", "json", NULL);
    kt_http(&r, &s, "GET", "/api/v1/metrics/mrr", NULL, admin.h);
    cr_assert_str_eq(r.body, cli.out, "the server's MRR follows the deletion");
    kt_http_free(&r);
    kt_run_free(&cli);

    /* posted imports: good rows kept, bad ones by line; strict keeps nothing */
    expect(&s, &admin, "POST", "/api/v1/imports/tickets",
           "ticket_id,account_id,opened_at\nt5,a2,2024-06-01\nt6,ghost,2024-06-01\n", 200,
           "\"inserted\":1,\"updated\":0,\"unchanged\":0,\"rejected\":1,\"committed\":true,"
           "\"errors\":[{\"line\":3,\"field\":\"account_id\",\"message\":\"account_id: account 'ghost' does not exist");
    expect(&s, &admin, "POST", "/api/v1/imports/tickets?strict=1",
           "ticket_id,account_id,opened_at\nt7,a2,2024-06-01\nt8,ghost,2024-06-01\n", 400, "\"committed\":false");
    expect(&s, &admin, "GET", "/api/v1/tickets/t7", NULL, 404, NULL);
    expect(&s, &admin, "POST", "/api/v1/imports/tickets", "opened_at\n2024-06-01\n", 400,
           "required column 'ticket_id' is missing");
    expect(&s, &admin, "POST", "/api/v1/imports/planets", "x\n", 404, "no entity 'planets'");
    expect(&s, &admin, "POST", "/api/v1/imports/events?format=ndjson",
           "{\"ts\": \"2024-06-05\", \"account_id\": \"a2\", \"event\": \"login\"}\n", 200, "\"inserted\":1");

    /* every change is in the audit log */
    kt_http(&r, &s, "GET", "/api/v1/audit?limit=100", NULL, admin.h);
    static const char *const actions[] = { "accounts.add", "accounts.change", "subscriptions.add", "contacts.add",
                                           "tickets.add",  "nps.add",         "activities.add",    "spend.add",
                                           "spend.change", "spend.remove",    "accounts.remove",   "import" };
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "\"action\":\"%s\"", actions[i]);
        cr_assert(kt_contains(r.body, want), "audit lacks %s: %s", actions[i], r.body);
    }
    cr_assert(!kt_contains(r.body, "password"), "no secret in the audit log");
    kt_http_free(&r);
    cr_assert_eq(kt_serve_stop(&s), 0);
    kt_rmrf(dir);
}

Test(api, who_may_write_what, .timeout = 120)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_fixture("reference/edges"));
    struct caller admin, cora, carl, sue, vic;
    caller_init(&admin, dir, "ann", "admin");
    caller_init(&cora, dir, "cora", "csm");
    caller_init(&carl, dir, "carl", "csm");
    caller_init(&sue, dir, "sue", "support");
    caller_init(&vic, dir, "vic", "viewer");
    kt_server s;
    kt_serve(&s, dir, NULL);
    expect(&s, &admin, "PATCH", "/api/v1/accounts/a2", "{\"owner\": \"cora\"}", 200, "\"owner\":\"cora\"");

    /* a viewer reads, never writes */
    expect(&s, &vic, "GET", "/api/v1/accounts/a2", NULL, 200, NULL);
    expect(&s, &vic, "PATCH", "/api/v1/accounts/a2", "{\"name\": \"x\"}", 403, NULL);
    expect(&s, &vic, "POST", "/api/v1/events", "[]", 403, NULL);
    /* a csm writes their own accounts and their rows, not another's */
    expect(&s, &cora, "PATCH", "/api/v1/accounts/a2", "{\"industry\": \"Software\"}", 200, "\"industry\":\"Software\"");
    expect(&s, &carl, "PATCH", "/api/v1/accounts/a2", "{\"industry\": \"Mining\"}", 403, "belongs to 'cora'");
    expect(&s, &carl, "PATCH", "/api/v1/accounts/a3", "{\"industry\": \"Mining\"}", 403, "belongs to nobody");
    expect(&s, &cora, "PATCH", "/api/v1/accounts/a2", "{\"owner\": \"carl\"}", 403, "only an admin gives one");
    expect(&s, &cora, "POST", "/api/v1/activities",
           "{\"activity_id\": \"x1\", \"account_id\": \"a2\", \"ts\": \"2024-06-03\", \"kind\": \"call\"}", 201, NULL);
    expect(&s, &carl, "POST", "/api/v1/activities",
           "{\"activity_id\": \"x2\", \"account_id\": \"a2\", \"ts\": \"2024-06-03\", \"kind\": \"call\"}", 403, NULL);
    expect(&s, &carl, "PATCH", "/api/v1/activities/x1", "{\"body\": \"mine now\"}", 403, NULL);
    /* moving a row to an account of one's own needs both to be one's own */
    expect(&s, &admin, "PATCH", "/api/v1/accounts/a3", "{\"owner\": \"carl\"}", 200, NULL);
    expect(&s, &carl, "PATCH", "/api/v1/activities/x1", "{\"account_id\": \"a3\"}", 403, NULL);
    expect(&s, &cora, "PATCH", "/api/v1/activities/x1", "{\"account_id\": \"a3\"}", 403, "belongs to 'carl'");
    /* a csm's new account is theirs */
    expect(&s, &carl, "POST", "/api/v1/accounts", "{\"account_id\": \"c9\", \"name\": \"Carl's\"}", 201,
           "\"owner\":\"carl\"");
    expect(&s, &carl, "POST", "/api/v1/accounts", "{\"account_id\": \"c8\", \"owner\": \"cora\"}", 403, NULL);
    expect(&s, &carl, "DELETE", "/api/v1/accounts/c9", NULL, 403, "a csm may not do this");
    expect(&s, &carl, "POST", "/api/v1/spend", "{\"month\": \"2024-06\", \"amount\": 1}", 403, NULL);
    expect(&s, &carl, "POST", "/api/v1/imports/accounts", "account_id\nzz\n", 403, NULL);
    /* support: tickets of any account, nothing else */
    expect(&s, &sue, "POST", "/api/v1/tickets", "{\"ticket_id\": \"st1\", \"account_id\": \"a3\", \"opened_at\": \"2024-06-01\"}",
           201, NULL);
    expect(&s, &sue, "PATCH", "/api/v1/tickets/st1", "{\"resolved_at\": \"2024-06-02\"}", 200, NULL);
    expect(&s, &sue, "PATCH", "/api/v1/accounts/a3", "{\"name\": \"x\"}", 403, NULL);
    expect(&s, &sue, "POST", "/api/v1/activities",
           "{\"activity_id\": \"x3\", \"account_id\": \"a3\", \"ts\": \"2024-06-03\", \"kind\": \"note\"}", 403, NULL);
    /* a csm and tickets: their own accounts only */
    expect(&s, &cora, "POST", "/api/v1/tickets", "{\"ticket_id\": \"ct1\", \"account_id\": \"a3\", \"opened_at\": \"2024-06-01\"}",
           403, NULL);
    expect(&s, &cora, "POST", "/api/v1/tickets", "{\"ticket_id\": \"ct1\", \"account_id\": \"a2\", \"opened_at\": \"2024-06-01\"}",
           201, NULL);
    /* nobody without a token */
    expect(&s, NULL, "GET", "/api/v1/accounts", NULL, 401, NULL);
    cr_assert_eq(kt_serve_stop(&s), 0);
    kt_rmrf(dir);
}

/* The account ids of a list answer, in order, comma-separated. */
static char *ids_of(const char *body)
{
    size_t cap = strlen(body) + 1, n = 0;
    char *out = calloc(cap, 1);
    for (const char *p = body; (p = strstr(p, "{\"account_id\":\"")); p++) {
        p += 15;
        const char *end = strchr(p, '"');
        n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "," : "", (int)(end - p), p);
    }
    return out;
}

Test(api, the_account_list_searches_filters_sorts_and_pages, .timeout = 120)
{
    char *dir = kt_demo_world(120, 3);
    struct caller vic;
    caller_init(&vic, dir, "vic", "viewer");
    kt_server s;
    kt_serve(&s, dir, NULL);
    kt_http_resp r;
    /* the scores arrive shortly after the start */
    int scored = 0;
    for (int i = 0; i < 100 && !scored; i++) {
        kt_http(&r, &s, "GET", "/api/v1/accounts?limit=1&sort=health", NULL, vic.h);
        scored = kt_contains(r.body, "\"health\":{\"score\":");
        kt_http_free(&r);
        if (!scored)
            usleep(100 * 1000);
    }
    cr_assert(scored, "health scores were computed after the start");

    /* pages put together are the whole list */
    kt_http(&r, &s, "GET", "/api/v1/accounts?sort=mrr&limit=1000", NULL, vic.h);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"total\":120,"), "%s", r.body);
    char *all = ids_of(r.body);
    kt_http_free(&r);
    char joined[8192] = "";
    for (int off = 0; off < 120; off += 10) { /* small pages: the first ones take the heap of the best */
        char path[128];
        snprintf(path, sizeof path, "/api/v1/accounts?sort=mrr&limit=10&offset=%d", off);
        kt_http(&r, &s, "GET", path, NULL, vic.h);
        char *page = ids_of(r.body);
        size_t n = strlen(joined);
        snprintf(joined + n, sizeof joined - n, "%s%s", n ? "," : "", page);
        free(page);
        kt_http_free(&r);
    }
    cr_assert_str_eq(joined, all, "the pages of the list");
    free(all);

    static const char *const sorts[] = { "name", "-name", "-account_id", "health", "-risk", "last_event" };
    for (size_t k = 0; k < sizeof sorts / sizeof sorts[0]; k++) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/accounts?sort=%s&limit=1000", sorts[k]);
        kt_http(&r, &s, "GET", path, NULL, vic.h);
        char *whole = ids_of(r.body);
        kt_http_free(&r);
        snprintf(path, sizeof path, "/api/v1/accounts?sort=%s&limit=7&offset=7", sorts[k]);
        kt_http(&r, &s, "GET", path, NULL, vic.h);
        char *page = ids_of(r.body);
        kt_http_free(&r);
        /* the second page of 7 is the 8th to 14th of the whole list */
        const char *p = whole;
        for (int skip = 0; skip < 7; skip++)
            p = strchr(p, ',') + 1;
        cr_assert(strncmp(p, page, strlen(page)) == 0 && p[strlen(page)] == ',', "sort=%s: page %s, whole %s", sorts[k],
                  page, whole);
        free(whole);
        free(page);
    }

    /* sorted by MRR: never increasing with '-' */
    kt_http(&r, &s, "GET", "/api/v1/accounts?sort=-mrr&limit=1000&paying=true", NULL, vic.h);
    double last = 1e18;
    int rows = 0;
    for (const char *p = r.body; (p = strstr(p, "\"mrr\":")); p += 6, rows++) {
        double v = strtod(p + 6, NULL);
        cr_assert(v <= last && v > 0, "MRR %g after %g", v, last);
        last = v;
    }
    cr_assert(rows > 10, "%s", r.body);
    kt_http_free(&r);

    /* risk first by default: the red band before the green */
    kt_http(&r, &s, "GET", "/api/v1/accounts?limit=1000", NULL, vic.h);
    const char *red = strstr(r.body, "\"band\":\"red\""), *green = strstr(r.body, "\"band\":\"green\"");
    cr_assert(red && green && red < green, "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/accounts?band=green&limit=1000", NULL, vic.h);
    cr_assert(!kt_contains(r.body, "\"band\":\"red\"") && !kt_contains(r.body, "\"band\":\"yellow\""), "%s", r.body);
    kt_http_free(&r);

    /* search by name and domain; filters by attribute */
    kt_http(&r, &s, "GET", "/api/v1/accounts?limit=1", NULL, vic.h);
    const char *nm = strstr(r.body, "\"name\":\"");
    cr_assert_not_null(nm, "%s", r.body);
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(strchr(nm + 8, '"') - nm - 8), nm + 8);
    kt_http_free(&r);
    char word[64], path[256];
    snprintf(word, sizeof word, "%.*s", (int)strcspn(name, " "), name);
    for (char *c = word; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a'); /* the search ignores case */
    snprintf(path, sizeof path, "/api/v1/accounts?q=%s&limit=1000", word);
    kt_http(&r, &s, "GET", path, NULL, vic.h);
    cr_assert(kt_contains(r.body, name), "'%s' finds %s: %s", word, name, r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/accounts?filter=plan%3Dnosuchplan", NULL, vic.h);
    cr_assert(kt_contains(r.body, "\"total\":0,"), "%s", r.body);
    kt_http_free(&r);

    /* renewals: within 90 days, soonest first, each within the window (an anniversary of a paying
     * account's first start, or its renewal_date field) */
    kt_http(&r, &s, "GET", "/api/v1/accounts?renewal_within=90&sort=renewal&limit=1000", NULL, vic.h);
    cr_assert_eq(r.status, 200, "%s", r.body);
    const char *asof = strstr(r.body, "\"as_of\":\"");
    cr_assert_not_null(asof, "%s", r.body);
    char first_ok[11], last_ok[11] = "";
    snprintf(first_ok, sizeof first_ok, "%.10s", asof + 9);
    int renewing = 0;
    for (const char *p = r.body; (p = strstr(p, "\"renewal\":")); p += 10, renewing++) {
        cr_assert(p[10] == '"', "a renewing account without a renewal day: %.60s", p);
        char day[11];
        snprintf(day, sizeof day, "%.10s", p + 11);
        cr_assert(strcmp(day, last_ok) >= 0, "renewal %s after %s", day, last_ok);
        cr_assert(strcmp(day, first_ok) >= 0, "renewal %s before the day %s", day, first_ok);
        snprintf(last_ok, sizeof last_ok, "%s", day);
    }
    cr_assert(renewing > 0, "nobody renews in 90 days: %s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/accounts?paying=false&limit=5", NULL, vic.h);
    cr_assert(!kt_contains(r.body, "\"renewal\":\"") || kt_contains(r.body, "\"total\":0,"),
              "an account that does not pay renews: %s", r.body);
    kt_http_free(&r);
    expect(&s, &vic, "GET", "/api/v1/accounts?renewal_within=99999", NULL, 400, "\"field\":\"renewal_within\"");

    /* bad arguments, named */
    expect(&s, &vic, "GET", "/api/v1/accounts?sort=colour", NULL, 400, "\"field\":\"sort\"");
    expect(&s, &vic, "GET", "/api/v1/accounts?limit=0", NULL, 400, "\"field\":\"limit\"");
    expect(&s, &vic, "GET", "/api/v1/accounts?band=blue", NULL, 400, "\"field\":\"band\"");
    expect(&s, &vic, "GET", "/api/v1/accounts?filter=colour%3Dred", NULL, 400, "\"field\":\"filter\"");
    expect(&s, &vic, "GET", "/api/v1/accounts?paying=maybe", NULL, 400, "\"field\":\"paying\"");

    /* the story: signals in words, usage per day, MRR by month */
    kt_http(&r, &s, "GET", "/api/v1/accounts?limit=1&paying=true", NULL, vic.h);
    const char *id = strstr(r.body, "{\"account_id\":\"");
    cr_assert_not_null(id, "%s", r.body);
    snprintf(path, sizeof path, "/api/v1/accounts/%.*s?days=30", (int)(strchr(id + 15, '"') - id - 15), id + 15);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", path, NULL, vic.h);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"signals\":{\"events\":{\"value\":"), "%s", r.body);
    cr_assert(kt_contains(r.body, "\"says\":\""), "%s", r.body);
    cr_assert(kt_contains(r.body, "\"factors\":[{\"factor\":"), "%s", r.body);
    cr_assert(kt_contains(r.body, "\"mrr_history\":[{\"month\":"), "%s", r.body);
    int days = 0;
    for (const char *p = strstr(r.body, "\"usage\":["); p && (p = strstr(p, "{\"day\":")); p++)
        days++;
    cr_assert_eq(days, 30, "%s", r.body);
    kt_http_free(&r);
    cr_assert_eq(kt_serve_stop(&s), 0);
    kt_rmrf(dir);
}

static cJSON *get_json(const kt_server *s, const struct caller *c, const char *path)
{
    kt_http_resp r;
    kt_http(&r, s, "GET", path, NULL, c->h);
    cr_assert_eq(r.status, 200, "GET %s: %d %s", path, r.status, r.body);
    cJSON *j = cJSON_Parse(r.body);
    cr_assert_not_null(j, "GET %s: not JSON: %s", path, r.body);
    kt_http_free(&r);
    return j;
}

Test(api, the_account_list_has_trends_and_fields_as_columns, .timeout = 120)
{
    char *dir = kt_demo_world(120, 5);
    struct caller vic;
    caller_init(&vic, dir, "vic", "viewer");
    kt_server s;
    kt_serve(&s, dir, NULL);
    cJSON *j = NULL;
    int scored = 0;
    for (int i = 0; i < 100 && !scored; i++) {
        j = get_json(&s, &vic, "/api/v1/accounts?limit=1&sort=health");
        cJSON *h = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "accounts"), 0), "health");
        scored = cJSON_IsObject(h);
        cJSON_Delete(j);
        if (!scored)
            usleep(100 * 1000);
    }
    cr_assert(scored, "health scores were computed after the start");

    /* the fields offered as columns: the demo world's custom ones with their types */
    j = get_json(&s, &vic, "/api/v1/accounts?limit=1");
    const char *want[][2] = { { "region", "text" }, { "employees", "number" }, { "strategic", "boolean" },
                              { "onboarded_at", "date" } };
    cJSON *avail = cJSON_GetObjectItem(j, "fields_available");
    for (size_t k = 0; k < 4; k++) {
        int found = 0;
        cJSON *f;
        cJSON_ArrayForEach(f, avail)
        {
            if (strcmp(cJSON_GetObjectItem(f, "name")->valuestring, want[k][0]) == 0) {
                cr_assert_str_eq(cJSON_GetObjectItem(f, "type")->valuestring, want[k][1], "%s", want[k][0]);
                found = 1;
            }
        }
        cr_assert(found, "fields_available lacks %s", want[k][0]);
    }
    cr_assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "accounts"), 0), "fields"),
                   "no fields asked for, none given");
    cJSON_Delete(j);

    /* asked for: each row has them, typed; sorted by one, largest first, the empty ones last */
    j = get_json(&s, &vic, "/api/v1/accounts?limit=1000&fields=employees,strategic,onboarded_at&sort=-field:employees");
    cJSON *a;
    double last = INFINITY;
    int rows = 0, empty_seen = 0;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(j, "accounts"))
    {
        cJSON *f = cJSON_GetObjectItem(a, "fields");
        cr_assert(cJSON_IsObject(f) && cJSON_GetArraySize(f) == 3, "fields of a row: %s", cJSON_PrintUnformatted(f));
        cJSON *emp = cJSON_GetObjectItem(f, "employees"), *st = cJSON_GetObjectItem(f, "strategic"),
              *on = cJSON_GetObjectItem(f, "onboarded_at");
        cr_assert(cJSON_IsNumber(emp) || cJSON_IsNull(emp));
        cr_assert(cJSON_IsBool(st) || cJSON_IsNull(st));
        cr_assert(cJSON_IsNull(on) || (cJSON_IsString(on) && strlen(on->valuestring) == 10), "a date: %s",
                  cJSON_PrintUnformatted(on));
        if (cJSON_IsNull(emp)) {
            empty_seen = 1;
        } else {
            cr_assert(!empty_seen, "an account with employees after one without");
            cr_assert(emp->valuedouble <= last, "employees %g after %g", emp->valuedouble, last);
            last = emp->valuedouble;
        }
        rows++;
    }
    cr_assert_eq(rows, 120);
    cJSON_Delete(j);

    /* a text field sorts by its text */
    j = get_json(&s, &vic, "/api/v1/accounts?limit=1000&fields=region&sort=field:region");
    const char *prev = "";
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(j, "accounts"))
    {
        cJSON *rg = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "fields"), "region");
        if (!cJSON_IsString(rg))
            continue;
        cr_assert(strcasecmp(prev, rg->valuestring) <= 0, "region %s after %s", rg->valuestring, prev);
        prev = rg->valuestring;
    }
    cr_assert(*prev, "no region at all");
    cJSON_Delete(j);

    /* the trend: the score's change over trend_days, and sorted by it */
    j = get_json(&s, &vic, "/api/v1/accounts?limit=1000&sort=-trend");
    last = INFINITY;
    int trends = 0;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(j, "accounts"))
    {
        cJSON *h = cJSON_GetObjectItem(a, "health");
        if (!cJSON_IsObject(h))
            continue;
        cr_assert_eq(cJSON_GetObjectItem(h, "trend_days")->valueint, 7);
        cJSON *tr = cJSON_GetObjectItem(h, "trend");
        if (cJSON_IsNull(tr))
            continue;
        cr_assert(tr->valuedouble <= last + 0.05, "trend %g after %g", tr->valuedouble, last);
        cr_assert(fabs(tr->valuedouble) <= 100);
        last = tr->valuedouble;
        trends++;
    }
    cr_assert(trends > 10, "too few accounts with a trend: %d", trends);
    cJSON_Delete(j);

    /* the segment of the health definition: the built-in one has every scored account */
    j = get_json(&s, &vic, "/api/v1/accounts?limit=1&segment=all%20accounts&band=none");
    cr_assert_eq(cJSON_GetObjectItem(j, "total")->valueint, 0, "an unscored account in a segment");
    cJSON_Delete(j);
    j = get_json(&s, &vic, "/api/v1/accounts?limit=1&segment=nosuchsegment");
    cr_assert_eq(cJSON_GetObjectItem(j, "total")->valueint, 0);
    cJSON_Delete(j);

    /* bad ones, named */
    expect(&s, &vic, "GET", "/api/v1/accounts?fields=employees,colour", NULL, 400, "'colour'");
    expect(&s, &vic, "GET", "/api/v1/accounts?fields=colour", NULL, 400, "\"field\":\"fields\"");
    expect(&s, &vic, "GET", "/api/v1/accounts?sort=field:colour", NULL, 400, "\"field\":\"sort\"");
    expect(&s, &vic, "GET", "/api/v1/accounts?sort=-field:", NULL, 400, "\"field\":\"sort\"");

    /* the story: its renewal as in the list, usage by event type adding up to usage by day */
    j = get_json(&s, &vic, "/api/v1/accounts?limit=1&sort=-mrr");
    cJSON *top = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "accounts"), 0);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/accounts/%s?days=30", cJSON_GetObjectItem(top, "account_id")->valuestring);
    cJSON *story = get_json(&s, &vic, path);
    cr_assert_str_eq(cJSON_GetObjectItem(story, "renewal")->valuestring,
                     cJSON_GetObjectItem(top, "renewal")->valuestring);
    cJSON_Delete(j);
    double by_day = 0, by_type = 0;
    cJSON *u;
    cJSON_ArrayForEach(u, cJSON_GetObjectItem(story, "usage"))
    by_day += cJSON_GetObjectItem(u, "events")->valuedouble;
    cJSON *ube = cJSON_GetObjectItem(story, "usage_by_event");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(ube, "weeks")), 5, "30 days are 5 weeks, the last short");
    double prev_n = INFINITY;
    cJSON_ArrayForEach(u, cJSON_GetObjectItem(ube, "events"))
    {
        double n = cJSON_GetObjectItem(u, "events")->valuedouble, weekly = 0;
        cr_assert(n <= prev_n && n > 0, "the most frequent first: %g after %g", n, prev_n);
        prev_n = n;
        cJSON *w;
        cJSON_ArrayForEach(w, cJSON_GetObjectItem(u, "by_week"))
        weekly += w->valuedouble;
        cr_assert_eq(weekly, n, "%s: weeks add up to %g, not %g", cJSON_GetObjectItem(u, "event")->valuestring,
                     weekly, n);
        by_type += n;
    }
    cr_assert(by_day > 0, "the richest account has no events in 30 days");
    cr_assert_eq(by_type, by_day, "events by type %g, by day %g", by_type, by_day);
    cJSON_Delete(story);
    cr_assert_eq(kt_serve_stop(&s), 0);
    kt_rmrf(dir);
}

/* The total of the accounts renewing, with filters of the list (and checks each row against the rule). */
static int renewing(const kt_server *s, const struct caller *c, const char *month, int risk, double *arr)
{
    char path[256];
    if (month) {
        int y, m;
        cr_assert_eq(sscanf(month, "%d-%d", &y, &m), 2, "%s", month);
        int last = m == 2 ? (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) ? 29 : 28)
                   : (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
        snprintf(path, sizeof path,
                 "/api/v1/accounts?renewal_within=365&renewal_from=%s-01&renewal_to=%s-%02d%s&limit=1000", month,
                 month, last, risk ? "&at_risk=true" : "");
    } else {
        snprintf(path, sizeof path, "/api/v1/accounts?renewal_within=365%s&limit=1000", risk ? "&at_risk=1" : "");
    }
    cJSON *j = get_json(s, c, path), *a;
    int n = 0;
    *arr = 0;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(j, "accounts"))
    {
        const char *r = cJSON_GetObjectItem(a, "renewal")->valuestring;
        cr_assert(!month || strncmp(r, month, 7) == 0, "%s: renews %s", path, r);
        cJSON *h = cJSON_GetObjectItem(a, "health"), *ch = cJSON_GetObjectItem(a, "churn");
        const char *band = cJSON_IsObject(h) ? cJSON_GetObjectItem(h, "band")->valuestring : "";
        double p = cJSON_IsObject(ch) ? cJSON_GetObjectItem(ch, "probability")->valuedouble : 0;
        int risky = strcmp(band, "red") == 0 || strcmp(band, "yellow") == 0 || p >= 0.5;
        cr_assert(!risk || risky, "%s: %s is not at risk", path, cJSON_GetObjectItem(a, "account_id")->valuestring);
        cr_assert_eq(cJSON_IsTrue(cJSON_GetObjectItem(a, "at_risk")), risky, "%s: %s's at_risk", path,
                     cJSON_GetObjectItem(a, "account_id")->valuestring);
        *arr += cJSON_GetObjectItem(a, "mrr")->valuedouble * 12;
        n++;
    }
    int total = cJSON_GetObjectItem(j, "total")->valueint;
    cr_assert_eq(n, total, "%s: every row on one page", path);
    cJSON_Delete(j);
    return total;
}

Test(api, renewals_by_month_add_up_to_the_list, .timeout = 120)
{
    char *dir = kt_demo_world(120, 5);
    struct caller vic;
    caller_init(&vic, dir, "vic", "viewer");
    kt_server s;
    kt_serve(&s, dir, NULL);
    cJSON *j = NULL;
    for (int i = 0; i < 100; i++) {
        j = get_json(&s, &vic, "/api/v1/renewals?within=365");
        if (cJSON_IsString(cJSON_GetObjectItem(j, "computed_at")))
            break;
        cJSON_Delete(j);
        j = NULL;
        usleep(100 * 1000);
    }
    cr_assert_not_null(j, "the renewals say when the scores were computed");
    cr_assert_eq(cJSON_GetObjectItem(j, "within")->valueint, 365);
    double arr, risk_arr;
    int all = renewing(&s, &vic, NULL, 0, &arr), risky = renewing(&s, &vic, NULL, 1, &risk_arr);
    cr_assert(all > 10 && risky > 0, "the demo world renews %d accounts in a year, %d at risk", all, risky);
    cr_assert_eq(cJSON_GetObjectItem(j, "accounts")->valueint, all);
    cr_assert_eq(cJSON_GetObjectItem(j, "accounts_at_risk")->valueint, risky);
    cr_assert(fabs(cJSON_GetObjectItem(j, "arr")->valuedouble - arr) < 0.01 * all, "ARR %f, the list's %f",
              cJSON_GetObjectItem(j, "arr")->valuedouble, arr);
    cr_assert(fabs(cJSON_GetObjectItem(j, "arr_at_risk")->valuedouble - risk_arr) < 0.01 * risky);

    /* each month: its accounts as the list has them, the months in order, adding up */
    cJSON *m;
    int sum = 0, months = 0;
    char prev[8] = "";
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(j, "months"))
    {
        const char *mon = cJSON_GetObjectItem(m, "month")->valuestring;
        cr_assert(strcmp(prev, mon) < 0, "month %s after %s", mon, prev);
        snprintf(prev, sizeof prev, "%s", mon);
        int n = cJSON_GetObjectItem(m, "accounts")->valueint;
        cr_assert_eq(renewing(&s, &vic, mon, 0, &arr), n, "%s", mon);
        cr_assert(fabs(cJSON_GetObjectItem(m, "arr")->valuedouble - arr) < 0.01 * n, "%s", mon);
        cr_assert_eq(renewing(&s, &vic, mon, 1, &arr), cJSON_GetObjectItem(m, "accounts_at_risk")->valueint, "%s", mon);
        sum += n;
        months++;
    }
    cr_assert(months >= 12, "a year of renewals in %d months", months);
    cr_assert_eq(sum, all);
    cJSON_Delete(j);

    /* bad ones, named */
    expect(&s, &vic, "GET", "/api/v1/renewals?within=-1", NULL, 400, "\"field\":\"within\"");
    expect(&s, &vic, "GET", "/api/v1/accounts?at_risk=maybe", NULL, 400, "\"field\":\"at_risk\"");
    expect(&s, &vic, "GET", "/api/v1/accounts?renewal_from=2026-02-30", NULL, 400, "\"field\":\"renewal_from\"");
    expect(&s, &vic, "GET", "/api/v1/accounts?renewal_from=2026-03-01&renewal_to=2026-02-01", NULL, 400,
           "\"field\":\"renewal_from\"");
    cr_assert_eq(kt_serve_stop(&s), 0);
    kt_rmrf(dir);
}
