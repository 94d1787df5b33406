/*
 * health_api_test.c - health and churn through the server: the scores kept
 * fresh (computed after the start and again after a change, each with its
 * time), the same backtest and evaluation as the command line, the
 * predictions riskiest first, a new definition stored as a version and
 * scored with, and an account's recorded history.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/server.h"
#include "../support/support.h"

/* Polls path until its body holds `says` (10 s at most). */
static void wait_for(const kt_server *s, const char *const *h, const char *path, const char *says)
{
    for (int i = 0; i < 200; i++) {
        kt_http_resp r;
        kt_http(&r, s, "GET", path, NULL, h);
        int ok = kt_contains(r.body, says);
        kt_http_free(&r);
        if (ok)
            return;
        usleep(50 * 1000);
    }
    cr_assert_fail("%s never said '%s'", path, says);
}

Test(health_api, scores_backtest_evaluation_predictions_and_definitions, .timeout = 240)
{
    char *dir = kt_demo_world(300, 5);
    kt_run run;
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "churn", "train", NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    kt_run_free(&run);
    char *admin = kt_user_token(dir, "ann", "admin", "ann-password");
    char *viewer = kt_user_token(dir, "vic", "viewer", "vic-password");
    char ah[128], vh[128];
    snprintf(ah, sizeof ah, "Authorization: Bearer %s", admin);
    snprintf(vh, sizeof vh, "Authorization: Bearer %s", viewer);
    const char *as_admin[] = { ah, NULL }, *as_viewer[] = { vh, NULL };
    kt_server s;
    kt_serve(&s, dir, NULL);
    kt_http_resp r;

    /* the scores come after the start, with the stored model's predictions */
    wait_for(&s, as_viewer, "/api/v1/health", "\"scores\":{\"day\":");
    wait_for(&s, as_viewer, "/api/v1/churn/predictions?limit=5", "\"churn_probability\":");
    kt_http(&r, &s, "GET", "/api/v1/churn/predictions?limit=1000", NULL, as_viewer);
    double last = 2;
    int n = 0;
    for (const char *p = r.body; (p = strstr(p, "\"churn_probability\":")); p += 20, n++) {
        double v = strtod(p + 20, NULL);
        cr_assert(v <= last && v >= 0, "riskiest first: %g after %g", v, last);
        last = v;
    }
    cr_assert(n > 50, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"drivers\":[{\"feature\":"), "%s", r.body);
    cr_assert(kt_contains(r.body, ",\"says\":\""), "the drivers in words: %s", r.body);
    kt_http_free(&r);

    /* the server's scores (made on a copy of the recent weeks) are the command line's */
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "health", "score", "--format", "csv", NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    kt_http(&r, &s, "GET", "/api/v1/accounts?limit=1000&sort=account_id", NULL, as_viewer);
    int compared = 0;
    char *cur = run.out, *line = kt_next_line(&cur); /* the header */
    while ((line = kt_next_line(&cur))) {
        char *f[6];
        cr_assert(kt_fields(line, f, 6) >= 3, "%s", line);
        char want[160];
        snprintf(want, sizeof want, "{\"account_id\":\"%s\",", f[0]);
        const char *at = strstr(r.body, want);
        cr_assert_not_null(at, "%s is not in the list", f[0]);
        const char *h = strstr(at, "\"health\":{\"score\":");
        cr_assert_not_null(h, "%s has no score", f[0]);
        cr_assert_float_eq(strtod(h + 18, NULL), strtod(f[1], NULL), 1e-9, "%s: server %.60s, command line %s", f[0],
                           h, f[1]);
        compared++;
    }
    cr_assert(compared > 100, "%d", compared);
    kt_http_free(&r);
    kt_run_free(&run);
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "churn", "predict", "--format", "json", NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    kt_http(&r, &s, "GET", "/api/v1/churn/predictions?limit=5", NULL, as_viewer);
    for (const char *p = r.body; (p = strstr(p, "{\"account_id\":\"")); p++) {
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(strchr(p + 15, '"') - p - 15), p + 15);
        double mine = strtod(strstr(p, "\"churn_probability\":") + 20, NULL);
        char want[160];
        snprintf(want, sizeof want, "{\"account_id\":\"%s\",\"churn_probability\":", key);
        const char *c = strstr(run.out, want);
        cr_assert_not_null(c, "%s", key);
        cr_assert_float_eq(mine, strtod(c + strlen(want), NULL), 1e-4, "%s", key);
    }
    kt_http_free(&r);
    kt_run_free(&run);

    /* the same backtest and evaluation as the command line */
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "health", "backtest", "--format", "json", NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    kt_http(&r, &s, "GET", "/api/v1/health/backtest", NULL, as_viewer);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(r.body, run.out);
    cr_assert(kt_contains(r.body, "\"roc_auc\":0."), "%s", r.body);
    kt_http_free(&r);
    kt_run_free(&run);
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "churn", "evaluate", "--format", "json", NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    kt_http(&r, &s, "GET", "/api/v1/churn/evaluation", NULL, as_viewer);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(r.body, run.out);
    kt_http_free(&r);
    kt_run_free(&run);
    kt_http(&r, &s, "GET", "/api/v1/health/backtest?horizon=2000", NULL, as_viewer);
    cr_assert_eq(r.status, 409, "%s", r.body);
    cr_assert(kt_contains(r.body, "the history is too short"), "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/health/backtest?step=0", NULL, as_viewer);
    cr_assert_eq(r.status, 400, "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/churn/models", NULL, as_viewer);
    cr_assert(kt_contains(r.body, "\"logistic\":{\"model_id\":") && kt_contains(r.body, "\"xgboost\":{\"model_id\":"),
              "%s", r.body);
    cr_assert(kt_contains(r.body, "\"evaluation\":{\"roc_auc\":"), "%s", r.body);
    kt_http_free(&r);

    /* a new definition: validated, stored as a version, scored with */
    kt_http(&r, &s, "PUT", "/api/v1/health/definition", "{\"bands\": {\"green\": 70, \"yellow\": 90}}", as_admin);
    cr_assert_eq(r.status, 400, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"field\":\"bands.yellow\""), "the place is the field: %s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "PUT", "/api/v1/health/definition", "{\"bands\": ", as_admin);
    cr_assert(r.status == 400 && kt_contains(r.body, "\"field\":\"definition\""), "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "PUT", "/api/v1/health/definition", "{}", as_viewer);
    cr_assert_eq(r.status, 403, "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/health", NULL, as_viewer);
    char *def = strstr(r.body, "\"definition\":");
    cr_assert_not_null(def, "%s", r.body);
    def += 13;
    char *end = strstr(def, ",\"scores\":");
    cr_assert_not_null(end, "%s", r.body);
    *end = '\0';
    /* the same factors, other bands */
    char *changed = malloc(strlen(def) + 64);
    char *bands = strstr(def, "\"bands\":{\"green\":70,\"yellow\":40}");
    cr_assert_not_null(bands, "%s", def);
    snprintf(changed, strlen(def) + 64, "%.*s\"bands\":{\"green\":80,\"yellow\":50}%s", (int)(bands - def), def,
             bands + strlen("\"bands\":{\"green\":70,\"yellow\":40}"));
    kt_http_free(&r);
    kt_http(&r, &s, "PUT", "/api/v1/health/definition", changed, as_admin);
    cr_assert_eq(r.status, 201, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"definition_version\":1"), "%s", r.body);
    kt_http_free(&r);
    free(changed);
    /* at once, not a kept answer of the old one */
    kt_http(&r, &s, "GET", "/api/v1/health", NULL, as_viewer);
    cr_assert(kt_contains(r.body, "{\"definition_version\":1,") && kt_contains(r.body, "\"green\":80"),
              "the new definition at once: %.300s", r.body);
    kt_http_free(&r);
    wait_for(&s, as_viewer, "/api/v1/health", "\"version\":1,");
    kt_http(&r, &s, "GET", "/api/v1/accounts?limit=1&sort=health", NULL, as_viewer);
    const char *id = strstr(r.body, "{\"account_id\":\"");
    cr_assert_not_null(id, "%s", r.body);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/accounts/%.*s/health", (int)(strchr(id + 15, '"') - id - 15), id + 15);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", path, NULL, as_viewer);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"definition_version\":1,\"factors\":[{\"factor\":"), "the day's score, recorded: %s",
              r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/accounts/nobody/health", NULL, as_viewer);
    cr_assert_eq(r.status, 404, "%s", r.body);
    kt_http_free(&r);
    cr_assert_eq(kt_serve_stop(&s), 0);
    /* the command line sees the stored version */
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "health", "definition", NULL);
    cr_assert(kt_contains(run.out, "\"green\": 80") || kt_contains(run.out, "\"green\":80"), "%s", run.out);
    kt_run_free(&run);
    free(admin);
    free(viewer);
    kt_rmrf(dir);
}
