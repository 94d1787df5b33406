/*
 * funnel_test.c - `kizuna metrics funnel` and GET /api/v1/metrics/funnel on a
 * small world whose journeys are counted by hand: ordered steps, the window
 * after entering, the entry days, per account and per user, and bad options
 * named.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../support/server.h"
#include "../support/support.h"

static char *dir;

static void setup(void)
{
    dir = kt_tmpdir();
}

static void teardown(void)
{
    kt_rmrf(dir);
    free(dir);
}

TestSuite(funnel, .init = setup, .fini = teardown);

/*
 * a1 (users u1, u2): u1 signs up 1 Mar, creates a report 2 Mar, invites 3 Mar: all three steps;
 *     u2 creates a report before signing up (not in order) and signs up 5 Mar: step 1 only.
 * a2 (u3): signs up 2 Mar, creates a report 20 Mar: after the 14 days, step 1 only.
 * a3 (u4): invites, then signs up 4 Mar, creates a report 4 Mar 10:00, no invite after: steps 1-2.
 * a4 (u5): signs up 20 Mar (after the entry window of the --to test).
 * By account a1 enters 1 Mar 09:00 with u1 and reaches step 2 an hour later with u2's report (any
 * user of the account counts), step 3 on 3 Mar; a2 1; a3 2; a4 1.
 */
static void world(void)
{
    char *f = kt_path(dir, "w");
    cr_assert_eq(mkdir(f, 0755), 0);
    char *p = kt_path(f, "accounts.csv");
    kt_write(p, "account_id,name\na1,A1\na2,A2\na3,A3\na4,A4\n", (size_t)-1);
    free(p);
    p = kt_path(f, "events.csv");
    kt_write(p,
             "ts,account_id,user_id,event\n"
             "2026-03-01T09:00:00Z,a1,u1,signup\n"
             "2026-03-01T10:00:00Z,a1,u2,report_created\n"
             "2026-03-02T09:00:00Z,a1,u1,report_created\n"
             "2026-03-02T09:00:00Z,a2,u3,signup\n"
             "2026-03-03T09:00:00Z,a1,u1,invite_sent\n"
             "2026-03-03T12:00:00Z,a3,u4,invite_sent\n"
             "2026-03-04T09:00:00Z,a3,u4,signup\n"
             "2026-03-04T10:00:00Z,a3,u4,report_created\n"
             "2026-03-05T09:00:00Z,a1,u2,signup\n"
             "2026-03-20T09:00:00Z,a2,u3,report_created\n"
             "2026-03-20T09:00:00Z,a4,u5,signup\n",
             (size_t)-1);
    free(p);
    kt_import(dir, "w");
    free(f);
}

/* "subjects,conversion;" per step of a run's JSON. */
static char *steps_of(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    cr_assert(cJSON_IsArray(j), "%s", json);
    char *out = calloc(1, 512);
    const cJSON *row;
    cJSON_ArrayForEach(row, j)
    {
        size_t n = strlen(out);
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(row, "conversion");
        snprintf(out + n, 512 - n, "%s:%d,%.3f;", cJSON_GetObjectItemCaseSensitive(row, "event")->valuestring,
                 (int)cJSON_GetObjectItemCaseSensitive(row, "subjects")->valuedouble,
                 cJSON_IsNumber(c) ? c->valuedouble : -1.0);
    }
    cJSON_Delete(j);
    return out;
}

static char *funnel(const char *a, const char *b, const char *c, const char *d)
{
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "funnel", "--steps", "signup,report_created,invite_sent",
               "--format", "json", a, b, c, d, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    char *s = steps_of(r.out);
    kt_run_free(&r);
    return s;
}

Test(funnel, ordered_steps_within_the_window_per_account_and_per_user)
{
    world();
    char *s = funnel(NULL, NULL, NULL, NULL);
    cr_assert_str_eq(s, "signup:4,1.000;report_created:2,0.500;invite_sent:1,0.250;", "per account");
    free(s);
    s = funnel("--per", "user", NULL, NULL);
    cr_assert_str_eq(s, "signup:5,1.000;report_created:2,0.400;invite_sent:1,0.200;", "per user: u2 out of order");
    free(s);
    /* a window of 1 day: the reports (an hour after entering) count, a1's invite (2 days after) not */
    s = funnel("--within", "1d", NULL, NULL);
    cr_assert_str_eq(s, "signup:4,1.000;report_created:2,0.500;invite_sent:0,0.000;");
    free(s);
    s = funnel("--within", "50m", NULL, NULL);
    cr_assert_str_eq(s, "signup:4,1.000;report_created:0,0.000;invite_sent:0,0.000;", "nothing within 50 minutes");
    free(s);
    s = funnel("--within", "1d", "--per", "user");
    cr_assert_str_eq(s, "signup:5,1.000;report_created:2,0.400;invite_sent:0,0.000;", "u1 a day after, u4 an hour");
    free(s);
    /* entering with the first signup on a day of [from, to]: a4 (20 Mar) left out, a1 enters on 5 Mar
     * (u2's signup) and goes no further */
    s = funnel("--from", "2026-03-02", "--to", "2026-03-10");
    cr_assert_str_eq(s, "signup:3,1.000;report_created:1,0.333;invite_sent:0,0.000;");
    free(s);

    /* the API answers the same, row for row */
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "funnel", "--steps", "signup,report_created,invite_sent",
               "--per", "user", "--format", "json", NULL);
    char *cli = strdup(r.out);
    kt_run_free(&r);
    char *token = kt_user_token(dir, "vic", "viewer", "vic-password");
    char bearer[256];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", token);
    const char *h[] = { bearer, NULL };
    kt_server srv;
    kt_serve(&srv, dir, NULL);
    kt_http_resp resp;
    kt_http(&resp, &srv, "GET", "/api/v1/metrics/funnel?steps=signup,report_created,invite_sent&per=user", NULL, h);
    cr_assert_eq(resp.status, 200, "%s", resp.body);
    char *a = steps_of(resp.body), *c = steps_of(cli);
    cr_assert_str_eq(a, c);
    free(a);
    free(c);
    kt_http_free(&resp);
    kt_http(&resp, &srv, "GET", "/api/v1/metrics/funnel?steps=signup", NULL, h);
    cr_assert_eq(resp.status, 400, "%s", resp.body);
    cr_assert(kt_contains(resp.body, "steps signup: give 2 to 10 event names"), "%s", resp.body);
    kt_http_free(&resp);
    kt_http(&resp, &srv, "GET", "/api/v1/metrics/funnel?steps=a,b&per=team", NULL, h);
    cr_assert_eq(resp.status, 400, "%s", resp.body);
    kt_http_free(&resp);
    cr_assert_eq(kt_serve_stop(&srv), 0);
    free(cli);
    free(token);
}

Test(funnel, bad_options_are_named)
{
    world();
    static const char *const bad[][4] = {
        { "funnel", "--within", "14d", "steps: missing" },
        { "funnel", "--steps", "a,,b", "step 2 is empty" },
        { "funnel", "--steps", "a,b,c,d,e,f,g,h,i,j,k", "give 2 to 10 event names" },
        { "mrr", "--steps", "a,b", "--steps: only the funnel report has it" },
        { "funnel", "--per", "team", "--steps: missing" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kt_run r;
        kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", bad[i][0], bad[i][1], bad[i][2], NULL);
        cr_assert_eq(r.status, 2, "%s %s %s: %d %s", bad[i][0], bad[i][1], bad[i][2], r.status, r.err);
        cr_assert(kt_contains(r.err, bad[i][3]), "%s: %s", bad[i][3], r.err);
        kt_run_free(&r);
    }
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "funnel", "--steps", "a,b", "--within", "2y", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(kt_contains(r.err, "--within 2y: a duration like 14d"), "%s", r.err);
    kt_run_free(&r);
    /* names no event has: a funnel of zeros, not an error */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "metrics", "funnel", "--steps", "nothing,never", "--format", "json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    char *s = steps_of(r.out);
    cr_assert_str_eq(s, "nothing:0,-1.000;never:0,-1.000;");
    free(s);
    kt_run_free(&r);
}
